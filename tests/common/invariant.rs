//! THE INVARIANT, checked from outside: the whole table is read with the test's own SDK client
//! (not ddb's code) and every conversation is held to it exactly.
//!
//! - A conversation is every `message_group_uuid` that has a `MSG#<group>` item or a GRP# row.
//! - Its participants are known from its GRP# rows only (the messages name senders, not both
//!   participants): every row's owner (`GRP#<owner>`) and the other participant it names
//!   (`user_uuid`). A conversation with messages but no rows has no known participants.
//! - Each participant has exactly one GRP# row of the conversation, which names the other
//!   participant (never its owner).
//! - Each row carries the newest message of the conversation that still exists: its sk is that
//!   message's sk verbatim and its `message` that message's text. Newest compares instants (a
//!   timestamp without an offset is UTC), with the string as the tie-break.
//! - A conversation with no messages left keeps exactly one row per participant (the rows are
//!   the only record of who the participants are); which message they name is not checked.
//!
//! The timestamp parsing here is written independently of src/model/message.rs on purpose.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDateTime, Utc};

use super::{Item, TestEnv};

/// Per conversation, its rows as (owner, sk, message), sorted: comparable across runs.
pub type Rows = BTreeMap<String, Vec<(String, String, String)>>;

fn text(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    }
}

fn instant(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

fn newer_first(a: &str, b: &str) -> Ordering {
    (instant(b), b).cmp(&(instant(a), a))
}

/// Read the whole table and assert the invariant for every conversation; returns the rows of
/// every conversation for comparisons between runs. `step` names the step in failures.
pub fn assert_invariant(env: &TestEnv, step: &str) -> Rows {
    let items = env.scan_all();
    let mut messages: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut rows: BTreeMap<String, Vec<Item>> = BTreeMap::new();
    for item in &items {
        let pk = text(item, "pk").unwrap_or_default();
        if let Some(group) = pk.strip_prefix("MSG#") {
            let sk = text(item, "sk").unwrap_or_default();
            let body = text(item, "message").unwrap_or_default();
            messages
                .entry(group.to_string())
                .or_default()
                .push((sk, body));
        } else if pk.starts_with("GRP#") {
            let group = text(item, "message_group_uuid")
                .unwrap_or_else(|| panic!("{step}: GRP# row without message_group_uuid: {item:?}"));
            rows.entry(group).or_default().push(item.clone());
        }
    }
    let groups: BTreeSet<&String> = messages.keys().chain(rows.keys()).collect();
    let mut problems = Vec::new();
    let mut out = Rows::new();
    for group in groups {
        let mut msgs = messages.get(group).cloned().unwrap_or_default();
        msgs.sort_by(|a, b| newer_first(&a.0, &b.0));
        let newest = msgs.first();
        let its_rows = rows.get(group).cloned().unwrap_or_default();
        let mut participants: BTreeSet<String> = BTreeSet::new();
        for row in &its_rows {
            let owner = text(row, "pk").unwrap()["GRP#".len()..].to_string();
            let other = text(row, "user_uuid").unwrap_or_default();
            if other == owner {
                problems.push(format!("{group}: the row of {owner} names its owner"));
            }
            participants.insert(owner);
            participants.insert(other);
        }
        let mut listed = Vec::new();
        for p in &participants {
            let mine: Vec<&Item> = its_rows
                .iter()
                .filter(|r| text(r, "pk").as_deref() == Some(&format!("GRP#{p}")))
                .collect();
            if mine.len() != 1 {
                let sks: Vec<String> = mine.iter().filter_map(|r| text(r, "sk")).collect();
                problems.push(format!(
                    "{group}: participant {p} has {} rows (sk {sks:?})",
                    mine.len()
                ));
            }
            for row in mine {
                let sk = text(row, "sk").unwrap_or_default();
                let body = text(row, "message").unwrap_or_default();
                if let Some((newest_sk, newest_text)) = newest {
                    if &sk != newest_sk || &body != newest_text {
                        problems.push(format!(
                            "{group}: the row of {p} shows {sk} {body:?}, the newest existing message is {newest_sk} {newest_text:?}"
                        ));
                    }
                }
                listed.push((p.clone(), sk, body));
            }
        }
        listed.sort();
        out.insert(group.clone(), listed);
    }
    assert!(
        problems.is_empty(),
        "{step}: the invariant does not hold ({} problems):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
    out
}

/// GRP# rows of the given conversations, counted from a scan.
pub fn count_rows(env: &TestEnv, groups: &BTreeSet<String>) -> usize {
    env.scan_all()
        .iter()
        .filter(|i| text(i, "pk").is_some_and(|pk| pk.starts_with("GRP#")))
        .filter(|i| text(i, "message_group_uuid").is_some_and(|g| groups.contains(&g)))
        .count()
}
