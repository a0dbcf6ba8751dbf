//! What changed between two versions of an item, attribute by attribute, and how a change reads
//! for people (`message: "old" → "new"`). Pure; shared by `ddb diff` (two sides of a key) and
//! `ddb tail` (a MODIFY's old and new images).
//!
//! Values are compared as `AttributeValue`s, never as printed text: string sets, number sets
//! and binary sets compare as sets (DynamoDB keeps no order in them), maps by their entries,
//! lists element by element, numbers by their digits as DynamoDB returned them.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::model::item::{to_plain, Item};
use crate::term::safe::truncate;

/// One attribute that differs: only on the left (`new` is `None`), only on the right (`old`
/// is `None`), or on both with different values.
#[derive(Clone, Debug, PartialEq)]
pub struct Change<'a> {
    pub name: &'a str,
    pub old: Option<&'a AttributeValue>,
    pub new: Option<&'a AttributeValue>,
}

/// The attributes that differ from `old` to `new`, by name, skipping `ignore`d names.
pub fn changes<'a>(old: &'a Item, new: &'a Item, ignore: &[String]) -> Vec<Change<'a>> {
    let names: BTreeSet<&'a str> = old.keys().chain(new.keys()).map(String::as_str).collect();
    names
        .into_iter()
        .filter(|name| !ignore.iter().any(|i| i == name))
        .filter_map(|name| {
            let (o, n) = (old.get(name), new.get(name));
            let same = match (o, n) {
                (Some(a), Some(b)) => same_value(a, b),
                _ => false,
            };
            (!same).then_some(Change {
                name,
                old: o,
                new: n,
            })
        })
        .collect()
}

/// DynamoDB's equality of two values: sets without order, maps by entries, lists in order.
pub fn same_value(a: &AttributeValue, b: &AttributeValue) -> bool {
    use AttributeValue as V;
    match (a, b) {
        (V::Ss(x), V::Ss(y)) | (V::Ns(x), V::Ns(y)) => same_set(x.iter(), y.iter()),
        (V::Bs(x), V::Bs(y)) => {
            same_set(x.iter().map(|b| b.as_ref()), y.iter().map(|b| b.as_ref()))
        }
        (V::L(x), V::L(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b)),
        (V::M(x), V::M(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, a)| y.get(k).is_some_and(|b| same_value(a, b)))
        }
        _ => a == b,
    }
}

fn same_set<T: Ord>(x: impl Iterator<Item = T>, y: impl Iterator<Item = T>) -> bool {
    let x: BTreeSet<T> = x.collect();
    let y: BTreeSet<T> = y.collect();
    x == y
}

/// Two items are the same apart from the `ignore`d attributes.
pub fn same_item(a: &Item, b: &Item, ignore: &[String]) -> bool {
    changes(a, b, ignore).is_empty()
}

/// Characters of one value shown for people before it is cut with `…`.
pub const SHOWN_VALUE: usize = 60;

/// A value for people: compact plain JSON (`"text"`, `42`, `["a","b"]`), one terminal-safe
/// line of at most `SHOWN_VALUE` characters.
pub fn show_value(v: &AttributeValue) -> String {
    truncate(&to_plain(v).to_string(), SHOWN_VALUE)
}

/// A change for people: `name: "old" → "new"`, `+ name: "new"`, `- name: "old"`.
pub fn show_change(c: &Change<'_>) -> String {
    let name = truncate(c.name, SHOWN_VALUE);
    match (c.old, c.new) {
        (Some(o), Some(n)) => format!("{name}: {} → {}", show_value(o), show_value(n)),
        (None, Some(n)) => format!("+ {name}: {}", show_value(n)),
        (Some(o), None) => format!("- {name}: {}", show_value(o)),
        (None, None) => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;
    use AttributeValue as V;

    fn item(pairs: &[(&str, V)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn changed_added_and_removed_attributes_in_name_order() {
        let old = item(&[
            ("pk", V::S("MSG#1".into())),
            ("message", V::S("old".into())),
            ("gone", V::N("1".into())),
            ("at", V::S("t".into())),
        ]);
        let new = item(&[
            ("pk", V::S("MSG#1".into())),
            ("message", V::S("new".into())),
            ("edited", V::Bool(true)),
            ("at", V::S("t".into())),
        ]);
        let shown: Vec<String> = changes(&old, &new, &[]).iter().map(show_change).collect();
        assert_eq!(
            shown,
            ["+ edited: true", "- gone: 1", "message: \"old\" → \"new\""]
        );
        let ignore = ["message".to_string(), "edited".to_string()];
        let left: Vec<&str> = changes(&old, &new, &ignore)
            .iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(left, ["gone"]);
        assert!(same_item(&old, &old, &[]));
    }

    #[test]
    fn sets_compare_without_order_lists_with_order() {
        let ab = V::Ss(vec!["a".into(), "b".into()]);
        let ba = V::Ss(vec!["b".into(), "a".into()]);
        assert!(same_value(&ab, &ba));
        assert!(!same_value(&ab, &V::Ss(vec!["a".into()])));
        assert!(same_value(
            &V::Bs(vec![Blob::new(vec![1]), Blob::new(vec![2])]),
            &V::Bs(vec![Blob::new(vec![2]), Blob::new(vec![1])])
        ));
        let l1 = V::L(vec![V::S("a".into()), V::S("b".into())]);
        let l2 = V::L(vec![V::S("b".into()), V::S("a".into())]);
        assert!(!same_value(&l1, &l2));
        let m1 = V::M(item(&[("k", ba.clone()), ("n", V::N("2".into()))]));
        let m2 = V::M(item(&[("n", V::N("2".into())), ("k", ab.clone())]));
        assert!(same_value(&m1, &m2));
        // A string "1" is not the number 1.
        assert!(!same_value(&V::S("1".into()), &V::N("1".into())));
    }

    #[test]
    fn values_for_people_are_one_safe_line() {
        assert_eq!(
            show_value(&V::S("a\u{1b}[2Jb\nc".into())),
            "\"a\\u001b[2Jb\\nc\""
        );
        let long = V::S("x".repeat(100));
        assert_eq!(show_value(&long).chars().count(), SHOWN_VALUE);
        assert!(show_value(&long).ends_with('…'));
    }
}
