//! THE INVARIANT, checked from outside: the whole table is read with the test's own SDK client
//! (not ddb's code) and every conversation is held to it exactly.
//!
//! - A conversation is every `message_group_uuid` that has a `MSG#<group>` item or a GRP# row.
//! - Its participants are known from its messages and its rows both: every sender
//!   (`user_uuid` of a message), every row's owner (`GRP#<owner>`) and the other participant
//!   a row names (`user_uuid`). So a conversation whose rows were all deleted still has its
//!   senders as participants, and is caught.
//! - A conversation that has messages is between exactly two participants, and each has
//!   exactly one GRP# row of it, which names the other participant (never its owner).
//! - Each row carries the newest message of the conversation that still exists: its sk is that
//!   message's sk verbatim and its `message` that message's text; or, for a text too big for a
//!   row, a shorter prefix of it and `message_truncated` = BOOL true. Newest compares instants
//!   (a timestamp without an offset is UTC; only a value that is exactly a timestamp counts as
//!   one), with the string as the tie-break; a value that is not a timestamp is older than
//!   every timestamp.
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

/// The instant of a sort key written exactly as a timestamp: RFC 3339 (`T` or a space), or
/// ISO 8601 without an offset (UTC).
fn instant(s: &str) -> Option<DateTime<Utc>> {
    if !s.starts_with(|c: char| c.is_ascii_digit()) || s.ends_with(' ') {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| t.and_utc())
}

fn newer_first(a: &str, b: &str) -> Ordering {
    (instant(b), b).cmp(&(instant(a), a))
}

/// What is wrong with the table's conversations (empty when the invariant holds), and the
/// rows of every conversation. Pure: `assert_invariant` reads the table and calls this.
pub fn problems(items: &[Item]) -> (Vec<String>, Rows) {
    let mut messages: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    let mut rows: BTreeMap<String, Vec<Item>> = BTreeMap::new();
    let mut problems = Vec::new();
    for item in items {
        let pk = text(item, "pk").unwrap_or_default();
        if let Some(group) = pk.strip_prefix("MSG#") {
            let sk = text(item, "sk").unwrap_or_default();
            let body = text(item, "message").unwrap_or_default();
            let sender = text(item, "user_uuid").unwrap_or_default();
            messages
                .entry(group.to_string())
                .or_default()
                .push((sk, body, sender));
        } else if pk.starts_with("GRP#") {
            match text(item, "message_group_uuid") {
                Some(group) => rows.entry(group).or_default().push(item.clone()),
                None => problems.push(format!("GRP# row without message_group_uuid: {item:?}")),
            }
        }
    }
    let groups: BTreeSet<&String> = messages.keys().chain(rows.keys()).collect();
    let mut out = Rows::new();
    for group in groups {
        let mut msgs = messages.get(group).cloned().unwrap_or_default();
        msgs.sort_by(|a, b| newer_first(&a.0, &b.0));
        let newest = msgs.first();
        let its_rows = rows.get(group).cloned().unwrap_or_default();
        let mut participants: BTreeSet<String> = msgs.iter().map(|m| m.2.clone()).collect();
        for row in &its_rows {
            let owner = text(row, "pk").unwrap()["GRP#".len()..].to_string();
            let other = text(row, "user_uuid").unwrap_or_default();
            if other == owner {
                problems.push(format!("{group}: the row of {owner} names its owner"));
            }
            participants.insert(owner);
            participants.insert(other);
        }
        if newest.is_some() && participants.len() != 2 {
            problems.push(format!(
                "{group}: has messages, so exactly two participants, but {} are known from its messages and rows: {participants:?}",
                participants.len()
            ));
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
                let others: Vec<&String> = participants.iter().filter(|o| *o != p).collect();
                let named = text(row, "user_uuid").unwrap_or_default();
                if others.len() == 1 && &named != others[0] {
                    problems.push(format!(
                        "{group}: the row of {p} names {named}, not the other participant {}",
                        others[0]
                    ));
                }
                if let Some((newest_sk, newest_text, _)) = newest {
                    let truncated =
                        row.get("message_truncated") == Some(&AttributeValue::Bool(true));
                    let carries = if truncated {
                        newest_text.starts_with(&body) && body.len() < newest_text.len()
                    } else {
                        &body == newest_text && !row.contains_key("message_truncated")
                    };
                    if &sk != newest_sk || !carries {
                        let shown: String = body.chars().take(60).collect();
                        let newest: String = newest_text.chars().take(60).collect();
                        problems.push(format!(
                            "{group}: the row of {p} shows {sk} {shown:?}{}, the newest existing message is {newest_sk} {newest:?}",
                            if truncated { " (truncated)" } else { "" }
                        ));
                    }
                }
                listed.push((p.clone(), sk, body));
            }
        }
        listed.sort();
        out.insert(group.clone(), listed);
    }
    (problems, out)
}

/// Read the whole table and assert the invariant for every conversation; returns the rows of
/// every conversation for comparisons between runs. `step` names the step in failures.
pub fn assert_invariant(env: &TestEnv, step: &str) -> Rows {
    let (problems, rows) = problems(&env.scan_all());
    assert!(
        problems.is_empty(),
        "{step}: the invariant does not hold ({} problems):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
    rows
}

/// GRP# rows of the given conversations, counted from a scan.
pub fn count_rows(env: &TestEnv, groups: &BTreeSet<String>) -> usize {
    env.scan_all()
        .iter()
        .filter(|i| text(i, "pk").is_some_and(|pk| pk.starts_with("GRP#")))
        .filter(|i| text(i, "message_group_uuid").is_some_and(|g| groups.contains(&g)))
        .count()
}

/// The one (sk, message) both rows of `group` carry, as the checker listed them: exactly two
/// rows, at the same message.
pub fn carried(rows: &Rows, group: &str) -> (String, String) {
    let listed = rows
        .get(group)
        .unwrap_or_else(|| panic!("no conversation {group} in {rows:?}"));
    assert_eq!(listed.len(), 2, "{group}: {listed:?}");
    let (_, sk, text) = &listed[0];
    assert_eq!(
        (&listed[1].1, &listed[1].2),
        (sk, text),
        "{group}: {listed:?}"
    );
    (sk.clone(), text.clone())
}
