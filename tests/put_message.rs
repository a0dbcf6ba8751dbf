//! `ddb put-message`: at most one message per run even when responses are lost (issue 8,
//! repro 6), the conversation and sender checks with `--force`, and `--message-file` up to
//! and over DynamoDB's 400 KB item limit (issue 9, item 4).

mod common;

use std::io::Write;
use std::process::Stdio;

use common::proxy::Faults;
use common::{group_rows, put_message, run, s, TestEnv, ANDREW, BAYKO, MAIN_GROUP};

/// A table with the main conversation's two GRP# rows (andrewbrown and bayko).
fn with_conversation(label: &str) -> TestEnv {
    let env = TestEnv::with_table(label);
    env.put_items(group_rows(
        MAIN_GROUP,
        ANDREW,
        BAYKO,
        "2026-01-01T00:00:00.000000+00:00",
    ));
    env
}

fn messages(env: &TestEnv, group: &str) -> Vec<common::Item> {
    env.query_pk(&format!("MSG#{group}"))
}

/// PutItem commits, its response is lost `lost` times in a row; ddb must end with exactly one
/// message, the one it printed.
fn lost_responses(lost: u32) {
    let env = with_conversation(&format!("put-lost-{lost}"));
    let proxy = env.proxy(Faults {
        drop_response: 1.0,
        max_consecutive: lost,
        ..Faults::on(&["PutItem"])
    });
    let put = put_message(MAIN_GROUP, "bayko");
    let r = run(proxy
        .ddb()
        .args(["-o", "json"])
        .args(put)
        .args(["--message", "exactly once"]));
    // The count first: the bug this guards against is a second message, whatever the exit.
    let stored = messages(&env, MAIN_GROUP);
    assert_eq!(
        stored.len(),
        1,
        "lost responses wrote more than one message (exit {}: {}): {stored:?}",
        r.code,
        r.stderr
    );
    let out = r.json();
    let stats = proxy.stats();
    assert_eq!(stats.responses_dropped, u64::from(lost), "{stats:?}");
    assert_eq!(s(&stored[0], "message"), "exactly once");
    assert_eq!(
        out["message_uuid"].as_str(),
        Some(s(&stored[0], "message_uuid").as_str())
    );
    assert_eq!(out["sk"].as_str(), Some(s(&stored[0], "sk").as_str()));
    // The GRP# rows are the handler's business: still the two seeded ones.
    assert_eq!(env.count(), 3);
}

#[test]
fn a_lost_put_response_never_writes_a_second_message() {
    lost_responses(1);
}

#[test]
fn lost_responses_in_a_row_still_write_one_message() {
    lost_responses(3);
}

#[test]
fn the_conversation_must_exist_and_the_sender_take_part() {
    let env = with_conversation("put-guard");
    let stranger_group = "0e4d2a9c-1111-4222-8333-944445555666";
    let to_stranger = put_message(stranger_group, "bayko");
    let void = ["--message", "into the void"];
    let r = run(env.ddb().args(to_stranger).args(void));
    let no_rows = format!(
        "conversation {stranger_group} has no GRP# rows in table '{}'",
        env.table
    );
    r.assert_exit(4, &[&no_rows, "--force"]);
    // jinx is a fixture user, but not one of the main conversation's two participants.
    let jinx = put_message(MAIN_GROUP, "jinx");
    let hi = ["--message", "hi from a stranger"];
    let r = run(env.ddb().args(jinx).args(hi));
    let not_a_participant = format!(
        "jinx (23f8d56d-9ff3-4a2e-b274-19650aabcf6f) is not a participant of conversation {MAIN_GROUP}"
    );
    r.assert_exit(8, &[&not_a_participant, ANDREW, BAYKO]);
    assert!(messages(&env, MAIN_GROUP).is_empty());
    assert!(messages(&env, stranger_group).is_empty());
    assert_eq!(env.count(), 2, "only the two rows");

    // Both participants may write, and --force writes deliberate test data anyway.
    for handle in ["andrewbrown", "bayko"] {
        let put = put_message(MAIN_GROUP, handle);
        run(env.ddb().args(put).args(["--message", "hi"])).ok();
    }
    run(env.ddb().args(jinx).args(["--message", "test", "--force"])).ok();
    run(env
        .ddb()
        .args(to_stranger)
        .args(["--message", "t", "--force"]))
    .ok();
    assert_eq!(messages(&env, MAIN_GROUP).len(), 3);
    assert_eq!(messages(&env, stranger_group).len(), 1);
    assert_eq!(env.count(), 6);
}

#[test]
fn message_file_and_stdin_carry_long_messages() {
    let env = with_conversation("put-file");
    let dir = tempfile::tempdir().unwrap();
    // 300 KB of text with a line break inside and the usual newline at the end of the file.
    let long = format!("{}\nsecond line", "x".repeat(300_000));
    let path = common::write_temp(dir.path(), "long.txt", &format!("{long}\n"));
    let from_file = [&put_message(MAIN_GROUP, "bayko")[..], &["--message-file"]].concat();
    run(env.ddb().args(&from_file).arg(&path)).ok();
    let stored = messages(&env, MAIN_GROUP);
    assert_eq!(stored.len(), 1);
    assert_eq!(
        s(&stored[0], "message"),
        long,
        "one trailing newline dropped, the rest kept"
    );

    // From stdin.
    let mut child = env
        .ddb()
        .args(put_message(MAIN_GROUP, "andrewbrown"))
        .args(["--message-file", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from a pipe\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let texts: Vec<String> = messages(&env, MAIN_GROUP)
        .iter()
        .map(|m| s(m, "message"))
        .collect();
    assert!(texts.contains(&"from a pipe".to_string()), "{texts:?}");
    assert_eq!(texts.len(), 2);
}

#[test]
fn a_message_over_400_kb_exits_8_and_writes_nothing() {
    let env = with_conversation("put-too-big");
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_temp(dir.path(), "huge.txt", &"y".repeat(400 * 1024));
    let from_file = [&put_message(MAIN_GROUP, "bayko")[..], &["--message-file"]].concat();
    let r = run(env.ddb().args(&from_file).arg(&path));
    let too_big = "over DynamoDB's 400 KB (409600 bytes) item limit";
    r.assert_exit(8, &["--message-file: the item would be", too_big]);
    assert!(messages(&env, MAIN_GROUP).is_empty());
    assert_eq!(env.count(), 2);

    let missing = dir.path().join("nope.txt");
    let r = run(env.ddb().args(&from_file).arg(&missing));
    r.assert_exit(8, &["--message-file: cannot read"]);
    let both = ["--message", "a", "--message-file", "-"];
    let r = run(env.ddb().args(put_message(MAIN_GROUP, "bayko")).args(both));
    assert_eq!(
        r.code, 2,
        "--message and --message-file together: {}",
        r.stderr
    );
    assert_eq!(env.count(), 2);
}

/// Issue 17, case 5: a message whose item fits but whose GRP# rows would not (they hold a
/// longer uuid attribute and the other participant's names) is refused before any write.
#[test]
fn a_message_whose_rows_would_not_fit_exits_8_and_writes_nothing() {
    let env = with_conversation("put-rows-too-big");
    // The message item's size without its text, as DynamoDB counts (names plus UTF-8 values):
    // pk MSG#<36>, sk of 32 characters, message_uuid, user_uuid, bayko's names (Andrew Bayko,
    // bayko).
    let names: usize = ["pk", "sk", "message_uuid", "message", "user_uuid"]
        .iter()
        .chain(&["user_display_name", "user_handle"])
        .map(|n| n.len())
        .sum();
    let values = 40 + 32 + 36 + 36 + "Andrew Bayko".len() + "bayko".len();
    let text = "m".repeat(409_600 - names - values);
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_temp(dir.path(), "fits-alone.txt", &text);
    let from_file = [&put_message(MAIN_GROUP, "bayko")[..], &["--message-file"]].concat();
    let r = run(env.ddb().args(&from_file).arg(&path));
    r.assert_exit(
        8,
        &[
            "a GRP# row carrying this message would be",
            "nothing was written",
        ],
    );
    assert!(messages(&env, MAIN_GROUP).is_empty());
    assert_eq!(env.count(), 2);
    // A few bytes less for the rows' extra: written.
    let path = common::write_temp(dir.path(), "fits.txt", &text[40..]);
    run(env.ddb().args(&from_file).arg(&path)).ok();
    assert_eq!(messages(&env, MAIN_GROUP).len(), 1);
}

/// Issue 17, case 8: `--user-uuid` of a participant the fixture does not have: the
/// conversation's rows name them, so the message is theirs (with or without --force).
#[test]
fn user_uuid_takes_a_participant_named_by_the_rows() {
    let env = TestEnv::with_table("put-participant");
    let group = "0e4d2a9c-2222-4333-8444-955556666777";
    let xena = "5a5a5a5a-0000-4000-8000-00000000000a";
    let sk = "2026-01-01T00:00:00.000000+00:00";
    let person = |uuid, name, handle| common::items::Person { uuid, name, handle };
    env.put_items(vec![
        common::items::group_row(ANDREW, group, sk, "hello", person(xena, "Xena Q", "xena")),
        common::items::group_row(
            xena,
            group,
            sk,
            "hello",
            person(ANDREW, "Andrew Brown", "andrewbrown"),
        ),
    ]);
    for (text, force) in [("from xena", false), ("from xena, forced", true)] {
        let mut cmd = env.ddb();
        cmd.args([
            "put-message",
            "--group",
            group,
            "--user-uuid",
            xena,
            "--message",
            text,
        ]);
        if force {
            cmd.arg("--force");
        }
        run(&mut cmd).ok();
    }
    let stored = messages(&env, group);
    assert_eq!(stored.len(), 2);
    for m in &stored {
        assert_eq!(
            (
                s(m, "user_uuid"),
                s(m, "user_handle"),
                s(m, "user_display_name")
            ),
            (xena.to_string(), "xena".to_string(), "Xena Q".to_string())
        );
    }
    // Nobody knows this one: not in the fixture, not in the conversation.
    let nobody = "5a5a5a5a-0000-4000-8000-0000000000ff";
    let r = run(env
        .ddb()
        .args(["put-message", "--group", group, "--user-uuid", nobody])
        .args(["--message", "who?", "--force"]));
    r.assert_exit(8, &[nobody, "nor a participant of conversation"]);
    assert_eq!(messages(&env, group).len(), 2);
}
