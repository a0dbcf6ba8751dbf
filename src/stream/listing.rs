//! A DescribeStream listing merged into the shards being read, pure: which shards the reader
//! knows, where a new one starts, and the order shards are read in (parents before children).
//! `source.rs` lists the shards and hands the listing here.

use std::collections::{BTreeMap, HashMap};

use crate::stream::shard::{Position, Rules, Shard};

/// One shard as DescribeStream lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    pub parent: Option<String>,
    /// The listing shows an ending sequence number: the shard ends, and children follow.
    pub closed: bool,
}

/// Where shards the reader did not know start.
#[derive(Clone, Copy, Debug)]
pub struct Origins<'a> {
    /// The checkpoint's sequence number per shard.
    pub checkpoint: &'a BTreeMap<String, String>,
    /// This is the run's first listing.
    pub first: bool,
    /// Where the run was asked to start a shard without a checkpoint (first listing only).
    pub initial: &'a Position,
}

impl Origins<'_> {
    /// After its checkpoint; else from the start (TRIM_HORIZON) when it appeared after the run
    /// began or after the checkpoint was written (everything in it is new); else where the run
    /// was asked to start.
    fn of(&self, id: &str) -> Position {
        if let Some(seq) = self.checkpoint.get(id) {
            Position::After(seq.clone())
        } else if !self.first || !self.checkpoint.is_empty() {
            Position::TrimHorizon
        } else {
            self.initial.clone()
        }
    }
}

/// The shards to read after a listing: known shards keep their state (one that closed at its
/// tip is woken, to be read to its end), new ones join at their origin, shards no longer listed
/// are dropped; parents before children.
pub fn merge(
    known: Vec<Shard>,
    listed: &[Listed],
    origins: Origins<'_>,
    rules: &Rules,
) -> Vec<Shard> {
    let mut old: HashMap<String, Shard> = known.into_iter().map(|s| (s.id.clone(), s)).collect();
    let next = listed
        .iter()
        .map(|l| match old.remove(&l.id) {
            Some(mut shard) => {
                if l.closed && !shard.closed {
                    shard.closed = true;
                    shard.wake(rules); // read a shard that closed at its tip to its end
                }
                shard
            }
            None => Shard::new(&l.id, l.parent.as_deref(), l.closed, origins.of(&l.id)),
        })
        .collect();
    lineage_order(next)
}

/// Parents before children (a shard's records all precede its children's), otherwise in the
/// order DescribeStream gave.
fn lineage_order(shards: Vec<Shard>) -> Vec<Shard> {
    let index: HashMap<String, usize> = shards
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();
    let depth = |mut i: usize| {
        let mut d = 0;
        while let Some(p) = shards[i].parent.as_ref().and_then(|p| index.get(p)) {
            d += 1;
            i = *p;
            if d > shards.len() {
                break; // a cycle would be a broken listing; do not loop forever
            }
        }
        d
    };
    let mut keyed: Vec<(usize, usize)> = (0..shards.len()).map(|i| (depth(i), i)).collect();
    keyed.sort();
    let mut slots: Vec<Option<Shard>> = shards.into_iter().map(Some).collect();
    keyed
        .into_iter()
        .filter_map(|(_, i)| slots[i].take())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::shard::ShardState;

    fn cursor(id: &str, parent: Option<&str>) -> Shard {
        Shard::new(id, parent, false, Position::TrimHorizon)
    }

    fn listed(id: &str, parent: Option<&str>, closed: bool) -> Listed {
        Listed {
            id: id.into(),
            parent: parent.map(str::to_string),
            closed,
        }
    }

    #[test]
    fn parents_come_before_children() {
        let shards = vec![
            cursor("grandchild", Some("child")),
            cursor("child", Some("root")),
            cursor("orphan", Some("trimmed-away")),
            cursor("root", None),
        ];
        let ids: Vec<String> = lineage_order(shards).into_iter().map(|c| c.id).collect();
        assert_eq!(ids, ["orphan", "root", "child", "grandchild"]);
    }

    #[test]
    fn new_shards_start_after_their_checkpoint_or_where_asked_or_at_the_start() {
        let rules = Rules {
            tip_pages: 3,
            restart_trimmed: false,
        };
        let listing = [listed("a", None, false), listed("b", Some("a"), false)];
        let none = BTreeMap::new();
        let first = Origins {
            checkpoint: &none,
            first: true,
            initial: &Position::Latest,
        };
        let origins: Vec<Position> = merge(Vec::new(), &listing, first, &rules)
            .into_iter()
            .map(|s| s.origin)
            .collect();
        assert_eq!(origins, [Position::Latest, Position::Latest]);
        // A checkpoint: its shards resume after it, any other shard is new since it.
        let cp = BTreeMap::from([("a".to_string(), "42".to_string())]);
        let resumed = Origins {
            checkpoint: &cp,
            ..first
        };
        let origins: Vec<Position> = merge(Vec::new(), &listing, resumed, &rules)
            .into_iter()
            .map(|s| s.origin)
            .collect();
        assert_eq!(
            origins,
            [Position::After("42".into()), Position::TrimHorizon]
        );
        // A later listing: a shard that appeared since is read from its start.
        let later = Origins {
            first: false,
            ..first
        };
        let shards = merge(Vec::new(), &listing[..1], first, &rules);
        let shards = merge(shards, &listing, later, &rules);
        let origins: Vec<Position> = shards.into_iter().map(|s| s.origin).collect();
        assert_eq!(origins, [Position::Latest, Position::TrimHorizon]);
    }

    #[test]
    fn known_shards_keep_their_state_and_a_closing_one_is_read_to_its_end() {
        let rules = Rules {
            tip_pages: 3,
            restart_trimmed: false,
        };
        let none = BTreeMap::new();
        let origins = Origins {
            checkpoint: &none,
            first: false,
            initial: &Position::TrimHorizon,
        };
        let mut at_tip = cursor("a", None);
        at_tip.state = ShardState::AtTip {
            iterator: "it".into(),
        };
        let gone = cursor("trimmed", None);
        let shards = merge(
            vec![at_tip, gone],
            &[listed("a", None, true)],
            origins,
            &rules,
        );
        assert_eq!(shards.len(), 1, "a shard no longer listed is dropped");
        assert!(shards[0].closed);
        assert!(
            shards[0].readable(),
            "woken to read the rest: {:?}",
            shards[0].state
        );
    }
}
