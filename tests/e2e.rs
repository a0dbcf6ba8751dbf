//! The whole flow the app relies on, through the real binary only: seed the fixture, create a
//! message (pattern C), run the stream handler (pattern D), and read it back through the
//! conversation list (pattern B) and the conversation (pattern A).

mod common;

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{run, s, Item, TestEnv, ANDREW, BAYKO, MAIN_GROUP};
use serde_json::Value;

/// The GRP# rows of a group, read through the GSI with the SDK (not through ddb).
fn group_rows(env: &TestEnv, group: &str) -> Vec<Item> {
    env.block_on(async {
        env.client()
            .query()
            .table_name(&env.table)
            .index_name("message-group-sk-index")
            .key_condition_expression("message_group_uuid = :g")
            .expression_attribute_values(":g", AttributeValue::S(group.to_string()))
            .send()
            .await
            .expect("query gsi")
            .items()
            .iter()
            .filter(|i| s(i, "pk").starts_with("GRP#"))
            .cloned()
            .collect()
    })
}

/// Every item, keyed and with its attributes sorted, so two reads compare equal when the
/// table holds the same data.
fn snapshot(env: &TestEnv) -> BTreeMap<(String, String), BTreeMap<String, String>> {
    env.scan_all()
        .iter()
        .map(|i| {
            let attrs = i
                .iter()
                .map(|(k, v)| (k.clone(), format!("{v:?}")))
                .collect();
            ((s(i, "pk"), s(i, "sk")), attrs)
        })
        .collect()
}

#[test]
fn a_new_message_reaches_both_conversation_lists_through_the_stream() {
    let env = TestEnv::with_table("e2e");
    run(env.ddb().args(["seed", "--now", "2026-01-01T12:00:00Z"])).ok();

    let before = run(env.ddb().args([
        "list-conversations",
        "--handle",
        "andrewbrown",
        "-o",
        "json",
    ]))
    .json();
    let old_last = before[0]["message"].as_str().unwrap().to_string();
    assert_eq!(before[0]["uuid"], MAIN_GROUP);

    // Pattern C: put-message writes the MSG# item and leaves the GRP# rows alone.
    let put = run(env.ddb().args([
        "put-message",
        "--group",
        MAIN_GROUP,
        "--handle",
        "bayko",
        "--message",
        "Through the stream, end to end",
        "-o",
        "json",
    ]))
    .json();
    let new_sk = put["sk"]
        .as_str()
        .expect("put-message prints the item's sk")
        .to_string();
    let rows = group_rows(&env, MAIN_GROUP);
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter().all(|r| s(r, "message") == old_last),
        "put-message touched GRP# rows"
    );

    // Pattern D: the handler moves both rows to the new message.
    let out = run(env
        .ddb()
        .args(["simulate-stream", "--from", "trim-horizon", "-o", "json"]))
    .json();
    assert_eq!(out["summary"]["failed"], 0, "{out}");

    let rows = group_rows(&env, MAIN_GROUP);
    assert_eq!(
        rows.len(),
        2,
        "exactly one GRP# row per participant: {rows:?}"
    );
    let mut owners: Vec<String> = rows.iter().map(|r| s(r, "pk")).collect();
    owners.sort();
    let mut want = vec![format!("GRP#{ANDREW}"), format!("GRP#{BAYKO}")];
    want.sort();
    assert_eq!(owners, want);
    for r in &rows {
        assert_eq!(s(r, "sk"), new_sk);
        assert_eq!(s(r, "message"), "Through the stream, end to end");
        let other = if s(r, "pk").ends_with(ANDREW) {
            BAYKO
        } else {
            ANDREW
        };
        assert_eq!(
            s(r, "user_uuid"),
            other,
            "row must describe the other participant"
        );
    }

    // Pattern B, from both sides: the conversation is first, with the new last message.
    for (handle, other) in [("andrewbrown", "bayko"), ("bayko", "andrewbrown")] {
        let list = run(env
            .ddb()
            .args(["list-conversations", "--handle", handle, "-o", "json"]))
        .json();
        assert_eq!(list[0]["uuid"], MAIN_GROUP, "{handle}: {list}");
        assert_eq!(list[0]["handle"], other);
        assert_eq!(list[0]["message"], "Through the stream, end to end");
        assert_eq!(list[0]["created_at"], Value::String(new_sk.clone()));
    }

    // Pattern A: the newest message of the conversation is the one just written.
    let conv = run(env
        .ddb()
        .args(["get-conversation", MAIN_GROUP, "--limit", "1", "-o", "json"]))
    .json();
    assert_eq!(conv[0]["uuid"], put["message_uuid"]);
    assert_eq!(conv[0]["handle"], "bayko");

    // Replaying the whole stream (including the handler's own writes) changes nothing.
    let settled = snapshot(&env);
    run(env
        .ddb()
        .args(["simulate-stream", "--from", "trim-horizon", "-o", "json"]))
    .json();
    assert_eq!(snapshot(&env), settled, "a replay changed the table");
}

#[test]
fn reseeding_after_the_stream_ran_leaves_one_fixture_worth_of_items() {
    let env = TestEnv::with_table("e2e-reseed");
    let first = run(env
        .ddb()
        .args(["seed", "--now", "2026-01-01T12:00:00Z", "-o", "json"]))
    .json();
    let written = first["items_written"].as_u64().unwrap() as usize;
    run(env.ddb().args([
        "put-message",
        "--group",
        MAIN_GROUP,
        "--handle",
        "andrewbrown",
        "--message",
        "extra",
    ]))
    .ok();
    run(env
        .ddb()
        .args(["simulate-stream", "--from", "trim-horizon"]))
    .ok();
    run(env.ddb().args(["seed", "--now", "2026-02-01T12:00:00Z"])).ok();
    assert_eq!(env.count(), written, "reseed must replace, not add");
    assert_eq!(group_rows(&env, MAIN_GROUP).len(), 2);
}

#[test]
fn colour_follows_the_color_option() {
    let env = TestEnv::with_table("e2e-colour");
    run(env.ddb().args(["seed", "--now", "2026-01-01T12:00:00Z"])).ok();
    let chat = |args: &[&str]| {
        let mut cmd = env.ddb();
        cmd.args(["get-conversation", MAIN_GROUP, "--limit", "3"])
            .args(args);
        run(&mut cmd).ok()
    };
    assert!(
        chat(&["--color", "always"]).contains("\x1b["),
        "no ANSI with --color always"
    );
    assert!(
        !chat(&["--color", "never"]).contains('\x1b'),
        "ANSI with --color never"
    );
    // auto on a pipe: plain text, as scripts expect.
    assert!(
        !chat(&[]).contains('\x1b'),
        "ANSI on a pipe under --color auto"
    );
}
