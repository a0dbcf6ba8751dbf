//! What an import wrote to each conversation of the messages table, pure: the conversation's
//! newest message among the items written and the GRP# rows written. Import settles the rows
//! of the conversations it touched; into a table that was empty before, a conversation whose
//! written rows already carry its newest written message (one row per owner) is as it should
//! be and needs no reads at all. Texts are kept as hashes: memory stays small per
//! conversation, however long its messages.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::ids::hash;
use crate::model::item::{get_s, Item};
use crate::model::{is_newer, GRP_PREFIX, MSG_PREFIX};

/// A sort key and a hash of the text at it.
type Seen = (String, u64);

/// One conversation as the import wrote it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// The newest message written (by instant, the string as tie-break).
    newest: Option<Seen>,
    /// The GRP# rows written, by owner.
    rows: BTreeMap<String, Vec<Seen>>,
}

impl Written {
    /// The owners of the rows written (the group index may not show them yet).
    pub fn owners(&self) -> BTreeSet<String> {
        self.rows.keys().cloned().collect()
    }

    /// Every owner has exactly one row, at the newest message with its whole text: nothing to
    /// settle when these items are all the conversation has.
    pub fn consistent(&self) -> bool {
        let Some(newest) = &self.newest else {
            return false;
        };
        !self.rows.is_empty()
            && self
                .rows
                .values()
                .all(|rows| rows == std::slice::from_ref(newest))
    }
}

/// Every conversation an import wrote to.
#[derive(Clone, Debug, Default)]
pub struct Touched {
    pub conversations: BTreeMap<String, Written>,
}

fn text_hash(item: &Item) -> u64 {
    hash(&[get_s(item, "message").unwrap_or("").as_bytes()], 17)
}

impl Touched {
    /// Note an item written: a message (`MSG#<g>`) or a GRP# row (its `message_group_uuid`). A
    /// row carrying a truncated preview is never counted consistent (its text is not the
    /// message's).
    pub fn note(&mut self, item: &Item) {
        let (Some(pk), Some(sk)) = (get_s(item, "pk"), get_s(item, "sk")) else {
            return;
        };
        let seen = (sk.to_string(), text_hash(item));
        if let Some(group) = pk.strip_prefix(MSG_PREFIX) {
            let written = self.conversations.entry(group.to_string()).or_default();
            if written
                .newest
                .as_ref()
                .is_none_or(|(at, _)| is_newer(sk, at))
            {
                written.newest = Some(seen);
            }
        } else if let (Some(owner), Some(group)) = (
            pk.strip_prefix(GRP_PREFIX),
            get_s(item, "message_group_uuid"),
        ) {
            let written = self.conversations.entry(group.to_string()).or_default();
            let seen = if item.contains_key("message_truncated") {
                (seen.0, seen.1 ^ 1)
            } else {
                seen
            };
            written
                .rows
                .entry(owner.to_string())
                .or_default()
                .push(seen);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    fn item(pairs: &[(&str, &str)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
            .collect()
    }

    const T1: &str = "2026-01-01T00:00:01Z";
    const T2: &str = "2026-01-01T00:00:02Z";

    fn message(at: &str, text: &str) -> Item {
        item(&[("pk", "MSG#g"), ("sk", at), ("message", text)])
    }

    fn row(owner: &str, at: &str, text: &str) -> Item {
        let pk = format!("GRP#{owner}");
        item(&[
            ("pk", &pk),
            ("sk", at),
            ("message", text),
            ("message_group_uuid", "g"),
        ])
    }

    fn written(items: &[Item]) -> Written {
        let mut t = Touched::default();
        for i in items {
            t.note(i);
        }
        t.conversations.remove("g").unwrap_or_default()
    }

    #[test]
    fn rows_at_the_newest_message_with_its_text_are_consistent() {
        let good = [
            row("a", T2, "two"),
            message(T1, "one"),
            message(T2, "two"),
            row("b", T2, "two"),
        ];
        let w = written(&good);
        assert!(w.consistent());
        assert_eq!(w.owners(), ["a".to_string(), "b".to_string()].into());
        // A stale row, a duplicate, another text, no rows, a preview: not.
        let stale = [message(T1, "one"), message(T2, "two"), row("a", T1, "one")];
        assert!(!written(&stale).consistent());
        let twice = [message(T2, "two"), row("a", T2, "two"), row("a", T1, "one")];
        assert!(!written(&twice).consistent());
        let edited = [message(T2, "two, edited"), row("a", T2, "two")];
        assert!(!written(&edited).consistent());
        assert!(!written(&[message(T2, "two")]).consistent());
        let mut preview = row("a", T2, "two");
        preview.insert("message_truncated".into(), AttributeValue::Bool(true));
        assert!(!written(&[message(T2, "two"), preview]).consistent());
        assert!(
            !written(&[row("a", T2, "two")]).consistent(),
            "no message written"
        );
    }
}
