//! The whole flow the app relies on, through the real binary only: seed the fixture, create a
//! message (pattern C), run the stream handler (pattern D), and read it back through the
//! conversation list (pattern B) and the conversation (pattern A).

mod common;

use common::{put_message, run, s, TestEnv, ANDREW, BAYKO, MAIN_GROUP};
use serde_json::Value;

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
    let message = ["--message", "Through the stream, end to end", "-o", "json"];
    let put = run(env
        .ddb()
        .args(put_message(MAIN_GROUP, "bayko"))
        .args(message))
    .json();
    let new_sk = put["sk"]
        .as_str()
        .expect("put-message prints the item's sk")
        .to_string();
    let rows = env.index_rows(MAIN_GROUP);
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

    let rows = env.index_rows(MAIN_GROUP);
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
    let settled = env.snapshot();
    run(env
        .ddb()
        .args(["simulate-stream", "--from", "trim-horizon", "-o", "json"]))
    .json();
    assert_eq!(env.snapshot(), settled, "a replay changed the table");
}

#[test]
fn reseeding_after_the_stream_ran_replaces_the_seeds_items_and_keeps_the_apps() {
    let env = TestEnv::with_table("e2e-reseed");
    let first = run(env
        .ddb()
        .args(["seed", "--now", "2026-01-01T12:00:00Z", "-o", "json"]))
    .json();
    let written = first["items_written"].as_u64().unwrap() as usize;
    let put = put_message(MAIN_GROUP, "andrewbrown");
    run(env.ddb().args(put).args(["--message", "extra"])).ok();
    run(env
        .ddb()
        .args(["simulate-stream", "--from", "trim-horizon"]))
    .ok();
    run(env.ddb().args(["seed", "--now", "2026-02-01T12:00:00Z"])).ok();
    // The seed's own items are replaced; the message put-message wrote (not the seed's) stays,
    // and being the newest, both rows carry it.
    assert_eq!(env.count(), written + 1, "reseed must replace, not add");
    let rows = env.index_rows(MAIN_GROUP);
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(common::s(row, "message"), "extra", "{row:?}");
    }
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
