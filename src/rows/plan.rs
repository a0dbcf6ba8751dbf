//! The settle plan, pure: given a conversation's GRP# rows as read and the message they should
//! carry, what each participant's rows become. No I/O and no SDK call: `settle.rs` reads the
//! rows and messages, asks here, and sends the answer (`transaction.rs` turns it into one
//! guarded TransactWriteItems).
//!
//! Two modes: a new or edited message (`Forward`, the stream handler) only ever moves rows
//! forward, or rewrites them in place when the message they show was edited; the newest
//! existing message (`Exact`, seed, import and the handler after a REMOVE) puts rows exactly
//! there, back from a removed message too, with the template's participant attributes. Either
//! way a row carries the message's text, or as much of it as fits the item limit (`carrying`).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;

use crate::model::item::{get_s, Item};
use crate::model::{compare_sk, is_newer, parse_timestamp, wall_clock, GRP_PREFIX};
pub use crate::rows::preview::{carrying, whole_row_size, Target, TRUNCATED};

/// A sort key's instant is within this many hours of its wall-clock reading (offsets run from
/// -12:00 to +14:00; a day more covers a date written with a space instead of `T`).
const WALL_CLOCK_SLACK_HOURS: i64 = 48;

/// How a plan treats rows newer than the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A new or edited message: rows only ever move forward, or are rewritten in place when
    /// they are at the target's sk with another text (an edit of the message they show).
    Forward,
    /// The newest existing message: rows end exactly there (back from a removed message too),
    /// with the template's participant attributes when one is given.
    Exact,
}

/// What one owner's rows need.
#[derive(Clone, Debug, PartialEq)]
pub enum OwnerPlan {
    /// The newest row stays; these other rows of the owner (duplicates) are deleted.
    Stay { deletes: Vec<Item> },
    /// Put `row` (at the target); delete `from` (the newest row, when at another key) and the
    /// other rows. `back` is set when `from` shows a newer message than the target: the move
    /// is then guarded by that message being gone.
    Move {
        from: Option<Item>,
        row: Item,
        deletes: Vec<Item>,
        back: bool,
    },
}

impl OwnerPlan {
    pub fn is_noop(&self) -> bool {
        matches!(self, OwnerPlan::Stay { deletes } if deletes.is_empty())
    }
}

pub(crate) fn sk(row: &Item) -> &str {
    get_s(row, "sk").unwrap_or("")
}

/// The owner of a GRP# row (`GRP#<owner>`).
pub fn owner_of(row: &Item) -> Option<&str> {
    get_s(row, "pk").and_then(|pk| pk.strip_prefix(GRP_PREFIX))
}

/// Decide what one owner's rows of a conversation need to carry `target`. `rows` are the
/// owner's rows of this conversation (any number); `template` is the row as it should look
/// (seed), else the newest row is kept with the new sk and message.
pub fn plan_owner(
    rows: &[Item],
    target: &Target,
    template: Option<&Item>,
    mode: Mode,
) -> OwnerPlan {
    let best = rows.iter().max_by(|a, b| compare_sk(sk(a), sk(b)));
    let others = |keep: Option<&Item>| -> Vec<Item> {
        rows.iter()
            .filter(|r| Some(*r) != keep && sk(r) != target.sk)
            .cloned()
            .collect()
    };
    if let Some(best) = best {
        let stays = match mode {
            Mode::Forward => match compare_sk(&target.sk, sk(best)) {
                Ordering::Less => true,
                // The same message: it stays unless its text changed (an edit).
                Ordering::Equal => carrying(best, target) == *best,
                Ordering::Greater => false,
            },
            Mode::Exact => {
                sk(best) == target.sk && carrying(template.unwrap_or(best), target) == *best
            }
        };
        if stays {
            let deletes = rows.iter().filter(|r| *r != best).cloned().collect();
            return OwnerPlan::Stay { deletes };
        }
    }
    let Some(base) = template.or(best) else {
        return OwnerPlan::Stay {
            deletes: Vec::new(),
        };
    };
    let row = carrying(base, target);
    let from = best.filter(|b| sk(b) != target.sk).cloned();
    let back = from.as_ref().is_some_and(|f| is_newer(sk(f), &target.sk));
    OwnerPlan::Move {
        deletes: others(best),
        from,
        row,
        back,
    }
}

/// A conversation's rows (as the group index shows them) by owner, owners in order; rows that
/// are not GRP# rows are left out.
pub fn by_owner(rows: &[Item]) -> BTreeMap<&str, Vec<Item>> {
    let mut owners: BTreeMap<&str, Vec<Item>> = BTreeMap::new();
    for row in rows {
        if let Some(owner) = owner_of(row) {
            owners.entry(owner).or_default().push(row.clone());
        }
    }
    owners
}

/// A new message: each owner's rows move forward to it (never back), all in one plan.
pub fn forward(rows: &[Item], target: &Target) -> Vec<OwnerPlan> {
    by_owner(rows)
        .values()
        .map(|owned| plan_owner(owned, target, None, Mode::Forward))
        .collect()
}

/// The owners whose rows a settle reads: those the group index shows, and the template's.
pub fn owners(indexed: &[Item], template: &[Item]) -> BTreeSet<String> {
    indexed
        .iter()
        .chain(template)
        .filter_map(|r| owner_of(r).map(str::to_string))
        .collect()
}

/// Settle on the newest existing message: each owner's rows (read consistently) end exactly at
/// `target`. With a template (seed), rows are written as the template has them and rows of
/// owners outside it are deleted; an owner of the template without a row gets one.
pub fn exact(
    rows: &BTreeMap<String, Vec<Item>>,
    target: &Target,
    template: &[Item],
) -> Vec<OwnerPlan> {
    rows.iter()
        .map(|(owner, owned)| {
            let wanted = template
                .iter()
                .find(|t| owner_of(t) == Some(owner.as_str()));
            match wanted {
                None if !template.is_empty() => OwnerPlan::Stay {
                    deletes: owned.clone(),
                },
                _ => plan_owner(owned, target, wanted, Mode::Exact),
            }
        })
        .collect()
}

/// A conversation that had nothing before this writer's messages: each template row is put
/// carrying `target` (the newest of those messages), with no row to move or delete.
pub fn start(template: &[Item], target: &Target) -> Vec<OwnerPlan> {
    template
        .iter()
        .map(|t| plan_owner(&[], target, Some(t), Mode::Exact))
        .collect()
}

/// The newest of `best` and the messages of `items`, by instant with the string as tie-break.
pub fn newest(best: Option<Target>, items: &[Item]) -> Option<Target> {
    items.iter().fold(best, |best, item| {
        let at = sk(item);
        if best.as_ref().is_none_or(|b| is_newer(at, &b.sk)) {
            Some(Target {
                sk: at.to_string(),
                message: get_s(item, "message").unwrap_or("").to_string(),
            })
        } else {
            best
        }
    })
}

/// A newest-first read (by string) that has reached sort key `next` can stop: no message from
/// there on can hold an instant newer than `best`. Strings sort by wall-clock reading, and an
/// instant is within `WALL_CLOCK_SLACK_HOURS` of its reading.
pub fn read_past(best: Option<&Target>, next: &str) -> bool {
    let best_at = best.and_then(|b| parse_timestamp(&b.sk).ok());
    match (best_at, wall_clock(next)) {
        (Some(best_at), Some(reached)) => {
            reached.and_utc() + Duration::hours(WALL_CLOCK_SLACK_HOURS) < best_at
        }
        _ => false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    /// A GRP# row of `owner` in conversation `g`, at `at` showing `message`.
    pub(crate) fn row(owner: &str, at: &str, message: &str) -> Item {
        let s = |v: &str| AttributeValue::S(v.into());
        Item::from([
            ("pk".into(), s(&format!("GRP#{owner}"))),
            ("sk".into(), s(at)),
            ("message_group_uuid".into(), s("g")),
            ("message".into(), s(message)),
            ("user_uuid".into(), s("other")),
            ("user_display_name".into(), s("Other")),
            ("user_handle".into(), s("other")),
        ])
    }

    pub(crate) fn target(at: &str, message: &str) -> Target {
        Target {
            sk: at.into(),
            message: message.into(),
        }
    }

    pub(crate) const T1: &str = "2026-01-01T00:00:01.000000+00:00";
    pub(crate) const T2: &str = "2026-01-01T00:00:02.000000+00:00";
    pub(crate) const T3: &str = "2026-01-01T00:00:03.000000+00:00";

    fn message(at: &str, text: &str) -> Item {
        let s = |v: &str| AttributeValue::S(v.into());
        Item::from([
            ("pk".into(), s("MSG#g")),
            ("sk".into(), s(at)),
            ("message".into(), s(text)),
        ])
    }

    /// The parts of a move: (from, row, deletes, back).
    fn moved(plan: OwnerPlan) -> (Option<Item>, Item, Vec<Item>, bool) {
        match plan {
            OwnerPlan::Move {
                from,
                row,
                deletes,
                back,
            } => (from, row, deletes, back),
            other => panic!("expected a move, got {other:?}"),
        }
    }

    #[test]
    fn forward_moves_only_to_newer_messages_and_drops_duplicates() {
        let rows = [row("a", T1, "one"), row("a", T2, "two")];
        let (from, row, deletes, back) =
            moved(plan_owner(&rows, &target(T3, "three"), None, Mode::Forward));
        assert_eq!(from, Some(rows[1].clone()));
        assert_eq!(deletes, vec![rows[0].clone()]);
        assert_eq!(get_s(&row, "sk"), Some(T3));
        assert_eq!(get_s(&row, "message"), Some("three"));
        assert_eq!(get_s(&row, "user_uuid"), Some("other"));
        assert!(!back);
        // Older or equal: the newest row stays, the duplicate goes.
        assert_eq!(
            plan_owner(&rows, &target(T2, "two"), None, Mode::Forward),
            OwnerPlan::Stay {
                deletes: vec![rows[0].clone()]
            }
        );
        assert!(plan_owner(&rows[1..], &target(T1, "x"), None, Mode::Forward).is_noop());
        // An app timestamp without an offset, 1 µs after T2: newer by instant.
        let app = "2026-01-01T00:00:02.000001";
        moved(plan_owner(
            &rows[1..],
            &target(app, "app"),
            None,
            Mode::Forward,
        ));
    }

    #[test]
    fn forward_at_an_equal_sk_rewrites_an_edited_message_in_place() {
        // The same key is the same message: a replay of it leaves a current row alone...
        let here = [row("a", T2, "two")];
        assert!(plan_owner(&here, &target(T2, "two"), None, Mode::Forward).is_noop());
        // ...and an edit of it (a MODIFY with another text) rewrites the row where it is.
        let (from, put, deletes, back) = moved(plan_owner(
            &here,
            &target(T2, "edited"),
            None,
            Mode::Forward,
        ));
        assert_eq!(from, None, "same key: a Put over it, no Delete");
        assert!(deletes.is_empty() && !back);
        assert_eq!(get_s(&put, "message"), Some("edited"));
        assert_eq!(get_s(&put, "sk"), Some(T2));
        // Two spellings of one instant: the string breaks the tie, so `Z` (sorting after
        // `+00:00`) is newer and the row moves; the other way round it stays.
        let z = "2026-01-01T00:00:02.000000Z";
        let (_, _, _, back) = moved(plan_owner(&here, &target(z, "z"), None, Mode::Forward));
        assert!(!back);
        let at_z = [row("a", z, "z")];
        assert!(plan_owner(&at_z, &target(T2, "two"), None, Mode::Forward).is_noop());
    }

    #[test]
    fn a_fresh_conversation_starts_with_the_templates_rows() {
        let template = [row("a", T1, "t"), row("b", T1, "t")];
        let plans = start(&template, &target(T3, "three"));
        assert_eq!(plans.len(), 2);
        for (plan, owner) in plans.into_iter().zip(["GRP#a", "GRP#b"]) {
            let (from, put, deletes, back) = moved(plan);
            assert_eq!((from, deletes, back), (None, vec![], false));
            assert_eq!(get_s(&put, "pk"), Some(owner));
            assert_eq!(get_s(&put, "sk"), Some(T3));
            assert_eq!(get_s(&put, "message"), Some("three"));
        }
    }

    #[test]
    fn a_preview_already_carried_is_current() {
        let base = row("a", T1, "one");
        let over = "x".repeat(crate::model::item::MAX_ITEM_BYTES);
        let preview = carrying(&base, &target(T2, &over));
        assert_eq!(preview.get(TRUNCATED), Some(&AttributeValue::Bool(true)));
        assert!(plan_owner(&[preview], &target(T2, &over), None, Mode::Forward).is_noop());
    }

    #[test]
    fn exact_moves_back_from_a_removed_message_and_applies_the_template() {
        let rows = [row("a", T3, "removed")];
        let (from, _, _, back) = moved(plan_owner(&rows, &target(T2, "two"), None, Mode::Exact));
        assert_eq!(from, Some(rows[0].clone()));
        assert!(
            back,
            "moving back is guarded by the shown message being gone"
        );
        let here = [row("a", T2, "two")];
        assert!(plan_owner(&here, &target(T2, "two"), None, Mode::Exact).is_noop());
        // Same place, new display name from the fixture: rewritten in place.
        let mut t = row("a", T1, "whatever");
        t.insert(
            "user_display_name".into(),
            AttributeValue::S("Renamed".into()),
        );
        let (from, row, _, _) = moved(plan_owner(&here, &target(T2, "two"), Some(&t), Mode::Exact));
        assert_eq!(from, None);
        assert_eq!(get_s(&row, "user_display_name"), Some("Renamed"));
        assert_eq!(get_s(&row, "sk"), Some(T2));
        // No row yet (seed): created from the template.
        let (from, _, _, _) = moved(plan_owner(&[], &target(T2, "two"), Some(&t), Mode::Exact));
        assert_eq!(from, None);
    }

    #[test]
    fn exact_at_an_equal_sk_rewrites_an_edited_message_in_place() {
        let here = [row("a", T2, "before the edit")];
        let plan = plan_owner(&here, &target(T2, "after the edit"), None, Mode::Exact);
        let (from, row, deletes, back) = moved(plan);
        assert_eq!(from, None, "same key: a Put over it, no Delete");
        assert!(deletes.is_empty() && !back);
        assert_eq!(get_s(&row, "message"), Some("after the edit"));
    }

    #[test]
    fn a_missing_row_is_only_created_from_a_template() {
        // The handler never invents a row: without one to keep, there is nothing to move.
        assert!(plan_owner(&[], &target(T2, "two"), None, Mode::Forward).is_noop());
        assert!(plan_owner(&[], &target(T2, "two"), None, Mode::Exact).is_noop());
    }

    #[test]
    fn duplicate_rows_leave_one_row_per_owner() {
        // Three rows of one owner, one of them already at the target: it is kept (a Put over
        // it), the newest other one is the row moved from, and the third is deleted.
        let rows = [
            row("a", T1, "one"),
            row("a", T2, "two"),
            row("a", T3, "gone"),
        ];
        let (from, _, deletes, back) =
            moved(plan_owner(&rows, &target(T2, "two"), None, Mode::Exact));
        assert_eq!(from, Some(rows[2].clone()));
        assert_eq!(deletes, vec![rows[0].clone()]);
        assert!(back);
    }

    #[test]
    fn forward_plans_one_move_per_owner() {
        let rows = [
            row("a", T1, "one"),
            row("b", T1, "one"),
            message(T1, "not a row"),
        ];
        let plans = forward(&rows, &target(T2, "two"));
        assert_eq!(plans.len(), 2, "the MSG# item is not an owner's row");
        assert!(plans
            .iter()
            .all(|p| matches!(p, OwnerPlan::Move { back: false, .. })));
        // Newest already current for one owner: it stays, the other moves.
        let rows = [row("a", T2, "two"), row("b", T1, "one")];
        let plans = forward(&rows, &target(T2, "two"));
        assert!(plans[0].is_noop());
        assert!(matches!(plans[1], OwnerPlan::Move { .. }));
    }

    #[test]
    fn exact_with_a_template_deletes_strangers_and_creates_missing_rows() {
        let indexed = [row("a", T3, "gone"), row("x", T1, "one")];
        let template = [row("a", T1, "t"), row("b", T1, "t")];
        let owners = owners(&indexed, &template);
        assert_eq!(owners.iter().collect::<Vec<_>>(), ["a", "b", "x"]);
        let mut read: BTreeMap<String, Vec<Item>> = BTreeMap::new();
        read.insert("a".into(), vec![indexed[0].clone()]);
        read.insert("b".into(), Vec::new());
        read.insert("x".into(), vec![indexed[1].clone()]);
        let plans = exact(&read, &target(T2, "two"), &template);
        assert!(matches!(&plans[0], OwnerPlan::Move { back: true, .. }));
        assert!(matches!(&plans[1], OwnerPlan::Move { from: None, .. }));
        assert_eq!(
            plans[2],
            OwnerPlan::Stay {
                deletes: vec![indexed[1].clone()]
            },
            "a row of a user outside the template goes"
        );
        // Without a template nobody's rows are deleted for not being in it.
        let plans = exact(&read, &target(T2, "two"), &[]);
        assert!(plans[1].is_noop());
        assert!(matches!(&plans[2], OwnerPlan::Move { back: false, .. }));
    }

    #[test]
    fn the_newest_message_is_by_instant_and_the_read_stops_a_day_past_it() {
        assert_eq!(newest(None, &[]), None);
        // 01:00 at +02:00 sorts after T3 as text but is 23:00 the day before.
        let east = "2026-01-01T01:00:00.000000+02:00";
        let items = [
            message(east, "east"),
            message(T3, "three"),
            message(T1, "one"),
        ];
        assert_eq!(newest(None, &items), Some(target(T3, "three")));
        // An app timestamp without an offset (naive UTC) half a second later wins; an earlier
        // page's best is kept unless a newer one comes.
        let app = "2026-01-01T00:00:03.5";
        assert_eq!(
            newest(Some(target(T3, "three")), &[message(app, "app")]),
            Some(target(app, "app"))
        );
        assert_eq!(
            newest(Some(target(app, "app")), &[message(T2, "two")]),
            Some(target(app, "app"))
        );
        let best = target(T3, "three");
        assert!(!read_past(Some(&best), "2025-12-31T00:00:03"));
        assert!(read_past(Some(&best), "2025-12-29T00:00:03"));
        // A reading that is not a timestamp (or no best yet) never stops the read.
        assert!(!read_past(Some(&best), "not a time"));
        assert!(!read_past(None, "2020-01-01T00:00:00"));
    }
}
