//! Differences as people and programs read them. People: `+ keys` (only on the right), `- keys`
//! (only on the left), `~ keys` with one indented line per changed attribute, all text
//! terminal-safe. Programs: one object per difference with DynamoDB-typed values. `--stat`:
//! counts per kind and per partition-key prefix (`MSG#`, `GRP#`: the text up to its first `#`).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::model::changes::{changes, show_change, show_value};
use crate::model::item::{item_to_typed, to_typed, Item};
use crate::term::output::Style;
use crate::term::safe::truncate;
use crate::transfer::diff::{Difference, KeyNames, Totals};

/// The key of an item for people: its key values, the partition key first.
fn shown_key(keys: &KeyNames, item: &Item) -> String {
    keys.0
        .iter()
        .filter_map(|k| item.get(k))
        .map(|v| match v {
            AttributeValue::S(s) => truncate(s, 80),
            other => show_value(other),
        })
        .collect::<Vec<_>>()
        .join("  ")
}

/// The lines of one difference for people.
pub fn lines(d: &Difference, keys: &KeyNames, ignore: &[String], style: &Style) -> Vec<String> {
    match d {
        Difference::Added(item) => vec![style.green(&format!("+ {}", shown_key(keys, item)))],
        Difference::Removed(item) => vec![style.red(&format!("- {}", shown_key(keys, item)))],
        Difference::Changed { left, right } => {
            let mut out = vec![style.yellow(&format!("~ {}", shown_key(keys, right)))];
            out.extend(
                changes(left, right, ignore)
                    .iter()
                    .map(|c| format!("    {}", show_change(c))),
            );
            out
        }
    }
}

/// One difference for programs: `{"kind": "added", "key": {...}, "right": {...}}`,
/// `"removed"` with `"left"`, `"changed"` with `"changes": [{"attribute", "left", "right"}]`
/// (a side without the attribute has no value). Values are DynamoDB-typed JSON.
pub fn object(d: &Difference, keys: &KeyNames, ignore: &[String], keys_only: bool) -> Value {
    let (kind, item) = match d {
        Difference::Added(i) => ("added", i),
        Difference::Removed(i) => ("removed", i),
        Difference::Changed { right, .. } => ("changed", right),
    };
    let mut out = Map::new();
    out.insert("kind".into(), json!(kind));
    out.insert("key".into(), item_to_typed(&keys.of(item)));
    match d {
        Difference::Added(i) if !keys_only => {
            out.insert("right".into(), item_to_typed(i));
        }
        Difference::Removed(i) if !keys_only => {
            out.insert("left".into(), item_to_typed(i));
        }
        Difference::Changed { left, right } => {
            let list: Vec<Value> = changes(left, right, ignore)
                .iter()
                .map(|c| {
                    let mut one = Map::new();
                    one.insert("attribute".into(), json!(c.name));
                    if let Some(v) = c.old {
                        one.insert("left".into(), to_typed(v));
                    }
                    if let Some(v) = c.new {
                        one.insert("right".into(), to_typed(v));
                    }
                    Value::Object(one)
                })
                .collect();
            out.insert("changes".into(), Value::Array(list));
        }
        _ => {}
    }
    Value::Object(out)
}

/// Differences counted by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.added + self.removed + self.changed
    }

    fn count(&mut self, d: &Difference) {
        match d {
            Difference::Added(_) => self.added += 1,
            Difference::Removed(_) => self.removed += 1,
            Difference::Changed { .. } => self.changed += 1,
        }
    }
}

/// `--stat`, and the summary line: counts by kind, overall and per partition-key prefix.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stat {
    #[serde(flatten)]
    pub all: Counts,
    pub unchanged: u64,
    pub left_items: u64,
    pub right_items: u64,
    pub by_prefix: BTreeMap<String, Counts>,
}

/// A partition key's prefix: its text up to and including the first `#` (`MSG#`), or the
/// whole value's type for a key without one (`(no #)`, `(N)`, `(B)`).
pub fn prefix(keys: &KeyNames, item: &Item) -> String {
    match item.get(keys.partition()) {
        Some(AttributeValue::S(s)) => match s.find('#') {
            Some(i) => truncate(&s[..=i], 40),
            None => "(no #)".into(),
        },
        Some(other) => format!("({})", crate::model::item::type_tag(other)),
        None => "(none)".into(),
    }
}

impl Stat {
    pub fn add(&mut self, d: &Difference, keys: &KeyNames) {
        self.all.count(d);
        let item = match d {
            Difference::Added(i) | Difference::Removed(i) => i,
            Difference::Changed { right, .. } => right,
        };
        self.by_prefix
            .entry(prefix(keys, item))
            .or_default()
            .count(d);
    }

    pub fn totals(&mut self, t: &Totals) {
        self.unchanged = t.same;
        self.left_items = t.left;
        self.right_items = t.right;
    }

    /// `3 added, 1 removed, 2 changed (1200 items left, 1202 right)`.
    pub fn summary(&self) -> String {
        format!(
            "{} added, {} removed, {} changed ({} items left, {} right)",
            self.all.added, self.all.removed, self.all.changed, self.left_items, self.right_items
        )
    }

    /// The `--stat` table for people.
    pub fn table(&self) -> Vec<String> {
        let width = self
            .by_prefix
            .keys()
            .map(|k| k.chars().count())
            .chain([6])
            .max()
            .unwrap_or(6);
        let row = |name: &str, c: &Counts| {
            format!(
                "{name:<width$} {:>9} {:>9} {:>9}",
                c.added, c.removed, c.changed
            )
        };
        let mut out = vec![format!(
            "{:<width$} {:>9} {:>9} {:>9}",
            "prefix", "added", "removed", "changed"
        )];
        out.extend(self.by_prefix.iter().map(|(p, c)| row(p, c)));
        out.push(row("total", &self.all));
        out.push(format!(
            "{} unchanged; {} items left, {} right",
            self.unchanged, self.left_items, self.right_items
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::output::OutputFormat;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn keys() -> KeyNames {
        KeyNames(vec!["pk".into(), "sk".into()])
    }

    #[test]
    fn a_change_for_people_and_for_programs() {
        let style = Style {
            format: OutputFormat::Table,
            color: false,
            stdout_tty: false,
            stderr_tty: false,
            columns: None,
        };
        let left = item(&[
            ("pk", s("MSG#g")),
            ("sk", s("t")),
            ("message", s("old")),
            ("n", s("x")),
        ]);
        let right = item(&[
            ("pk", s("MSG#g")),
            ("sk", s("t")),
            ("message", s("new")),
            ("e", AttributeValue::Bool(true)),
        ]);
        let d = Difference::Changed { left, right };
        assert_eq!(
            lines(&d, &keys(), &["n".into()], &style),
            [
                "~ MSG#g  t",
                "    + e: true",
                "    message: \"old\" → \"new\""
            ]
        );
        assert_eq!(
            object(&d, &keys(), &[], false),
            json!({"kind": "changed", "key": {"pk": {"S": "MSG#g"}, "sk": {"S": "t"}},
                   "changes": [{"attribute": "e", "right": {"BOOL": true}},
                               {"attribute": "message", "left": {"S": "old"}, "right": {"S": "new"}},
                               {"attribute": "n", "left": {"S": "x"}}]})
        );
        let added = Difference::Added(item(&[("pk", s("GRP#u")), ("sk", s("1")), ("x", s("y"))]));
        assert_eq!(lines(&added, &keys(), &[], &style), ["+ GRP#u  1"]);
        assert_eq!(
            object(&added, &keys(), &[], true),
            json!({"kind": "added", "key": {"pk": {"S": "GRP#u"}, "sk": {"S": "1"}}})
        );
    }

    #[test]
    fn stat_counts_per_prefix() {
        let mut stat = Stat::default();
        let one = |pk: &str| item(&[("pk", s(pk)), ("sk", s("1"))]);
        stat.add(&Difference::Added(one("MSG#a")), &keys());
        stat.add(&Difference::Removed(one("MSG#b")), &keys());
        stat.add(&Difference::Removed(one("plain")), &keys());
        assert_eq!(
            stat.all,
            Counts {
                added: 1,
                removed: 2,
                changed: 0
            }
        );
        assert_eq!(
            stat.by_prefix["MSG#"],
            Counts {
                added: 1,
                removed: 1,
                changed: 0
            }
        );
        assert_eq!(stat.by_prefix["(no #)"].removed, 1);
        assert_eq!(stat.table()[0], "prefix     added   removed   changed");
    }
}
