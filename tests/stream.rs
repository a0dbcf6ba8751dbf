//! `ddb simulate-stream` against DynamoDB Local: the handler moves both GRP# rows of a
//! conversation to its newest message, from the table's real stream or from Lambda event files,
//! and never lets an older message win. Setup writes items with the SDK directly.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::items::{clashing_row, rounds, ts, Conversation, Names, OTHER_GROUP};
use common::proxy::Faults;
use common::records::{
    self, event_of, from_trim_horizon, new_images, reports, stream_arn, Records,
};
use common::{run, s, spawn, wait_while_running, write_temp, Item, TestEnv};
use serde_json::{json, Value};

/// The rows of this file's conversations: a's row names b "Bea", b's row names a "Al".
const AL_AND_BEA: Names = Names {
    of_a: ("Al", "al"),
    of_b: ("Bea", "bea"),
};

/// Conversation `n` with both GRP# rows at `sk`, showing "first words".
fn group(env: &TestEnv, n: u32, sk: &str) -> Conversation {
    let g = Conversation::numbered(n);
    env.put_items(g.rows(sk, "first words", AL_AND_BEA));
    g
}

/// Exactly one row per participant, both at `sk` with `text`, participants kept.
fn assert_group_at(env: &TestEnv, g: &Conversation, sk: &str, text: &str) {
    let rows = env.index_rows(&g.id);
    assert_eq!(
        rows.len(),
        2,
        "expected two GRP# rows for {}: {rows:?}",
        g.id
    );
    for row in &rows {
        assert_eq!(s(row, "sk"), sk, "{row:?}");
        assert_eq!(s(row, "message"), text, "{row:?}");
        let owner = s(row, "pk");
        let other = if owner == format!("GRP#{}", g.a) {
            &g.b
        } else {
            &g.a
        };
        assert_eq!(
            &s(row, "user_uuid"),
            other,
            "participant attributes changed: {row:?}"
        );
    }
    for user in [&g.a, &g.b] {
        assert_eq!(
            env.query_pk(&format!("GRP#{user}")).len(),
            1,
            "one row per user"
        );
    }
}

/// A stream record as Lambda delivers it.
fn record(seq: u32, name: &str, image: &Item) -> Value {
    Records::lambda().record(seq, name, image)
}

/// A Lambda event of `records`, their eventSourceARN naming `env`'s table.
fn event(env: &TestEnv, records: Vec<Value>) -> String {
    let event = event_of(&stream_arn(&env.table, "x"), records);
    serde_json::to_string_pretty(&event).unwrap()
}

/// `ddb simulate-stream --event FILE -o json` on an event made of `records`.
fn run_event(env: &TestEnv, records: Vec<Value>) -> common::Run {
    let event = event_of(&stream_arn(&env.table, "x"), records);
    records::run_event(env.ddb(), &event)
}

/// `run_event` on messages that exist (written first, as the app writes them before the
/// stream reports them).
fn deliver(env: &TestEnv, records: Vec<Value>) -> common::Run {
    env.put_items(new_images(&records));
    run_event(env, records)
}

/// (pk, outcome) of every record.
fn outcomes(out: &Value) -> Vec<(String, String)> {
    reports(out)
        .iter()
        .map(|r| {
            (
                r["pk"].as_str().unwrap().to_string(),
                r["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn outcome_of_pk<'a>(out: &'a Value, pk: &str) -> Vec<&'a str> {
    reports(out)
        .iter()
        .filter(|r| r["pk"] == pk)
        .map(|r| r["outcome"].as_str().unwrap())
        .collect()
}

#[test]
fn a_new_message_reaches_both_group_rows_and_a_replay_changes_nothing() {
    let env = TestEnv::with_table("stream-new");
    let g = group(&env, 1, &ts(0));
    env.put_items(vec![g.message(&ts(5), "the newest words")]);

    let out = from_trim_horizon(env.ddb(), &[]).json();
    let msg_pk = format!("MSG#{}", g.id);
    assert_eq!(
        outcome_of_pk(&out, &msg_pk),
        ["updated 2 groups"],
        "{out:#}"
    );
    let sum = &out["summary"];
    assert_eq!(
        (sum["updated"].as_u64(), sum["rows_updated"].as_u64()),
        (Some(1), Some(2)),
        "{sum}"
    );
    assert_eq!(sum["failed"], 0);
    assert_eq!(sum["messages"], 1);
    assert_eq!(out["batchItemFailures"], json!([]));
    assert_group_at(&env, &g, &ts(5), "the newest words");

    // The whole stream again, now including the handler's own GRP# writes: no-ops. The
    // message is the one the rows show (same sk): said so, not "older than current".
    let before = env.snapshot();
    let out = from_trim_horizon(env.ddb(), &[]).json();
    assert_eq!(
        outcome_of_pk(&out, &msg_pk),
        ["skipped: the rows already show this message"],
        "{out:#}"
    );
    assert_eq!(out["summary"]["updated"], 0);
    // The rows as written at first, then the first run's delete and put of both: six records.
    let rows_records: Vec<_> = outcomes(&out)
        .into_iter()
        .filter(|(pk, _)| pk.starts_with("GRP#"))
        .collect();
    assert_eq!(rows_records.len(), 6, "{out:#}");
    assert!(rows_records
        .iter()
        .all(|(_, o)| o.starts_with("skipped: not a message")));
    assert_eq!(env.snapshot(), before, "a replay changed the table");
    assert_group_at(&env, &g, &ts(5), "the newest words");
}

#[test]
fn out_of_order_records_end_with_the_newest_message() {
    let env = TestEnv::with_table("stream-order");
    let g = group(&env, 2, &ts(0));
    let out = deliver(
        &env,
        vec![
            record(1, "INSERT", &g.message(&ts(3), "three")),
            record(2, "INSERT", &g.message(&ts(9), "nine")),
            record(3, "INSERT", &g.message(&ts(5), "five")),
            record(4, "MODIFY", &g.message(&ts(9), "nine")),
        ],
    )
    .json();
    let got: Vec<String> = outcomes(&out).into_iter().map(|(_, o)| o).collect();
    assert_eq!(
        got,
        [
            format!("skipped: superseded by {}", ts(9)),
            format!("skipped: superseded by {}", ts(9)),
            format!("skipped: superseded by {}", ts(9)),
            "updated 2 groups".to_string(),
        ],
        "{out:#}"
    );
    assert_group_at(&env, &g, &ts(9), "nine");
}

#[test]
fn several_records_in_one_event_all_apply_and_others_are_skipped_with_reasons() {
    let env = TestEnv::with_table("stream-many");
    let groups: Vec<Conversation> = (10..13).map(|n| group(&env, n, &ts(1))).collect();
    let grp_image = groups[0].rows(&ts(1), "first words", AL_AND_BEA).remove(0);
    let mut records: Vec<Value> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            record(
                10 + i as u32,
                "INSERT",
                &g.message(&ts(20 + i as u32), &format!("hi {i}")),
            )
        })
        .collect();
    records.push(record(20, "REMOVE", &groups[0].message(&ts(30), "gone")));
    records.push(record(21, "INSERT", &grp_image));
    let mut no_image = record(22, "MODIFY", &groups[1].message(&ts(31), "x"));
    no_image["dynamodb"]
        .as_object_mut()
        .unwrap()
        .remove("NewImage");
    records.push(no_image);

    env.put_items(new_images(&records));
    // Through stdin, in table mode with -v: one line per record (skips too), then the summary.
    let mut child = env
        .ddb()
        .args(["simulate-stream", "-v", "--event", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        event(&env, records).as_bytes(),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 8, "{stdout}");
    for (line, want) in lines.iter().zip([
        "updated 2 groups",
        "updated 2 groups",
        "updated 2 groups",
        "skipped: REMOVE",
        "skipped: not a message (GRP#",
        "skipped: no NewImage",
    ]) {
        assert!(line.contains(want), "expected '{want}' in: {line}");
    }
    assert!(
        lines[0].starts_with("000000000000000000010  INSERT  MSG#"),
        "{}",
        lines[0]
    );
    // The summary in plain words, then (-v) its detail.
    assert!(
        lines[6].starts_with("read 6 records in ")
            && lines[6].ends_with(": 3 messages moved 6 rows, 3 needed nothing"),
        "{}",
        lines[6]
    );
    assert!(
        lines[7].starts_with(
            "6 records (3 messages); skipped: 1 no new image, 1 not a message, 1 remove; 0 retries"
        ),
        "{}",
        lines[7]
    );
    for (i, g) in groups.iter().enumerate() {
        assert_group_at(&env, g, &ts(20 + i as u32), &format!("hi {i}"));
    }
}

#[test]
fn remove_and_group_records_change_nothing() {
    let env = TestEnv::with_table("stream-skip");
    let g = group(&env, 3, &ts(1));
    let before = env.snapshot();
    let out = run_event(
        &env,
        vec![
            record(1, "REMOVE", &g.message(&ts(40), "deleted")),
            record(2, "INSERT", &g.rows(&ts(50), "first words", AL_AND_BEA)[0]),
        ],
    )
    .json();
    let got: Vec<String> = outcomes(&out).into_iter().map(|(_, o)| o).collect();
    assert_eq!(
        got,
        [
            "skipped: REMOVE of a message no row shows".to_string(),
            format!("skipped: not a message (GRP#{})", g.a)
        ]
    );
    assert_eq!(out["summary"]["skipped"], 2);
    assert_eq!(env.snapshot(), before);
}

#[test]
fn malformed_event_files_write_nothing() {
    let env = TestEnv::with_table("stream-bad");
    let g = group(&env, 4, &ts(1));
    let before = env.snapshot();
    let dir = tempfile::tempdir().unwrap();
    let good = record(1, "INSERT", &g.message(&ts(8), "valid and first"));

    let mut missing = g.message(&ts(9), "x");
    missing.remove("message");
    let mut wrong_type = record(3, "INSERT", &g.message(&ts(10), "x"));
    wrong_type["dynamodb"]["NewImage"]["sk"] = json!({"N": "12"});
    let mut bad_name = good.clone();
    bad_name["eventName"] = json!(7);

    let cases = [
        (
            "syntax",
            "{\"Records\": [\n  {\"eventName\": \"INSERT\",}\n]}".to_string(),
            "event.json:2:26: trailing comma",
        ),
        (
            "missing",
            event(&env, vec![good.clone(), record(2, "INSERT", &missing)]),
            "event.json: Records[1].dynamodb.NewImage.message: missing",
        ),
        (
            "wrong type",
            event(&env, vec![good.clone(), good.clone(), wrong_type]),
            "event.json: Records[2].dynamodb.NewImage.sk: expected a string (S), got N",
        ),
        (
            "event name",
            event(&env, vec![good.clone(), bad_name]),
            "event.json: Records[1].eventName: expected a string, got 7",
        ),
        (
            "not an event",
            "[1, 2]".to_string(),
            "event.json: expected an object with a \"Records\" array",
        ),
    ];
    for (what, text, want) in cases {
        let path = write_temp(dir.path(), "event.json", &text);
        let r = run(env.ddb().arg("simulate-stream").arg("--event").arg(&path));
        assert_eq!(r.code, 8, "{what}: expected exit 8, stderr: {}", r.stderr);
        let expected = format!("{}/{want}", dir.path().display());
        assert!(
            r.stderr.contains(&expected),
            "{what}: expected '{expected}' in: {}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "{what}: {}", r.stdout);
        assert_eq!(env.snapshot(), before, "{what}: something was written");
    }
}

#[test]
fn a_checkpoint_resumes_after_the_last_processed_record() {
    let env = TestEnv::with_table("stream-cp");
    let g = group(&env, 5, &ts(0));
    env.put_items(vec![g.message(&ts(10), "before the checkpoint")]);
    let dir = tempfile::tempdir().unwrap();
    let cp = dir.path().join("cp.json");
    let cp_arg = cp.to_str().unwrap();
    let stream = |env: &TestEnv| from_trim_horizon(env.ddb(), &["--checkpoint", cp_arg]).json();

    let first = stream(&env);
    assert_eq!(
        outcome_of_pk(&first, &format!("MSG#{}", g.id)),
        ["updated 2 groups"]
    );
    let saved = records::checkpoint(&cp);
    assert_eq!(saved["stream_arn"], first["summary"]["stream_arn"]);
    let shards = saved["shards"].as_object().expect("shards map");
    let last_first = reports(&first).last().unwrap()["sequence_number"].clone();
    assert!(
        shards.values().any(|v| *v == last_first),
        "{saved} vs {last_first}"
    );

    env.put_items(vec![g.message(&ts(20), "after the checkpoint")]);
    let second = stream(&env);
    assert_eq!(second["summary"]["from"], "checkpoint");
    let msgs: Vec<&str> = reports(&second)
        .iter()
        .filter(|r| r["pk"].as_str().unwrap().starts_with("MSG#"))
        .map(|r| r["sk"].as_str().unwrap())
        .collect();
    assert_eq!(msgs, [ts(20).as_str()], "only the new message: {second:#}");
    let seen: BTreeSet<&str> = reports(&first)
        .iter()
        .map(|r| r["sequence_number"].as_str().unwrap())
        .collect();
    for r in reports(&second) {
        assert!(
            !seen.contains(r["sequence_number"].as_str().unwrap()),
            "record processed twice: {r}"
        );
    }
    assert_group_at(&env, &g, &ts(20), "after the checkpoint");

    // Nothing new: nothing processed.
    let third = stream(&env);
    assert_eq!(third["summary"]["processed"], 0, "{third:#}");

    // A checkpoint of another stream is refused, not mixed in.
    std::fs::write(&cp, json!({"stream_arn": "arn:aws:dynamodb:ddblocal:000000000000:table/old/stream/x", "shards": {"shardId-1": "5"}}).to_string()).unwrap();
    let r = run(env
        .ddb()
        .args(["simulate-stream", "--from", "trim-horizon", "--checkpoint"])
        .arg(&cp));
    r.assert_exit(5, &["--reset-checkpoint", "table/old/stream/x"]);
    let r = run(env
        .ddb()
        .args([
            "simulate-stream",
            "--from",
            "trim-horizon",
            "--reset-checkpoint",
            "-o",
            "json",
            "--checkpoint",
        ])
        .arg(&cp));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        records::checkpoint(&cp)["stream_arn"],
        first["summary"]["stream_arn"]
    );
}

#[test]
fn a_record_that_fails_is_reported_and_the_rest_go_on() {
    let env = TestEnv::with_table("stream-partial");
    let g1 = group(&env, 6, &ts(0));
    let g2 = group(&env, 7, &ts(0));
    // g1's participant A already has another conversation's row at the sk the message wants:
    // moving A's row there would overwrite that conversation, so the record must fail.
    env.put_items(vec![clashing_row(
        &g1.a,
        &ts(7),
        "first words",
        ("Cy", "cy"),
    )]);
    let r = deliver(
        &env,
        vec![
            record(1, "INSERT", &g1.message(&ts(7), "collides")),
            record(2, "INSERT", &g2.message(&ts(8), "fine")),
        ],
    );
    assert_eq!(r.code, 7, "stderr: {}\nstdout: {}", r.stderr, r.stdout);
    let out: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        out["batchItemFailures"],
        json!([{"itemIdentifier": format!("{:021}", 1)}])
    );
    let first = &reports(&out)[0];
    assert_eq!(first["status"], "failed");
    assert!(
        first["outcome"]
            .as_str()
            .unwrap()
            .contains("another conversation"),
        "{first}"
    );
    assert!(r.stderr.contains("1 of 2 records failed"), "{}", r.stderr);
    assert_group_at(&env, &g2, &ts(8), "fine");
    // The other conversation's row is intact.
    let a_rows = env.query_pk(&format!("GRP#{}", g1.a));
    assert!(a_rows
        .iter()
        .any(|r| s(r, "message_group_uuid") == OTHER_GROUP && s(r, "sk") == ts(7)));
}

#[test]
fn conflicts_and_throttling_are_retried_and_counted() {
    let env = TestEnv::with_table("stream-faults");
    let groups: Vec<Conversation> = (20..24).map(|n| group(&env, n, &ts(0))).collect();
    env.put_items(rounds(&groups, 3, 10, Conversation::message));
    let proxy = env.proxy(Faults {
        transaction_conflict: 0.5,
        throttle: 0.3,
        max_consecutive: 3,
        seed: 42,
        ..Faults::on(&["TransactWriteItems", "Query"])
    });
    let out = from_trim_horizon(proxy.ddb(), &[]).json();
    let stats = proxy.stats();
    let sum = &out["summary"];
    assert_eq!(sum["failed"], 0, "{out:#}");
    assert!(stats.conflicts > 0 && stats.throttled > 0, "{stats:?}");
    // Every injected fault is one retry of ours (the SDK's own retries are off for these calls).
    assert_eq!(
        sum["retries"].as_u64(),
        Some(stats.conflicts + stats.throttled),
        "{sum} vs {stats:?}"
    );
    for (i, g) in groups.iter().enumerate() {
        assert_group_at(&env, g, &ts(30 + i as u32), "round 3");
    }
}

#[test]
fn follow_stops_cleanly_on_ctrl_c_and_saves_the_checkpoint() {
    let env = TestEnv::with_table("stream-follow");
    let g = group(&env, 8, &ts(0));
    let dir = tempfile::tempdir().unwrap();
    let cp = dir.path().join("cp.json");
    let follow = ["--follow", "--poll-interval", "100", "-o", "json"];
    // Some GetRecords answered empty at once (as DynamoDB Streams may): the proxy counts the
    // follower's polls, so the message below is written once it is really polling.
    let proxy = env.proxy(Faults {
        empty_records: 0.5,
        max_consecutive: 2,
        seed: 4,
        ..Faults::on(&["GetRecords"])
    });
    let mut child = spawn(
        proxy
            .ddb()
            .args(["simulate-stream", "--from", "trim-horizon"])
            .args(follow)
            .arg("--checkpoint")
            .arg(&cp),
    );
    let polling = || proxy.stats().empty_records >= 1;
    wait_while_running(&mut child, Duration::from_secs(30), "a poll", polling);
    // A message written while it runs reaches the rows.
    env.put_items(vec![g.message(&ts(33), "while following")]);
    let picked_up = || !env.index_rows(&g.id).iter().any(|r| s(r, "sk") != ts(33));
    let limit = Duration::from_secs(30);
    wait_while_running(
        &mut child,
        limit,
        "the follower picking up the message",
        picked_up,
    );
    // Ctrl-C is exit 130 everywhere, --follow included; the summary and checkpoint still come.
    let out = common::interrupt(child);
    let out: Value = serde_json::from_slice(&out.stdout).expect("JSON summary after Ctrl-C");
    assert_eq!(out["summary"]["interrupted"], true);
    assert_eq!(
        outcome_of_pk(&out, &format!("MSG#{}", g.id)),
        ["updated 2 groups"]
    );
    assert!(records::checkpoint(&cp)["shards"]
        .as_object()
        .is_some_and(|m| !m.is_empty()));
    assert_group_at(&env, &g, &ts(33), "while following");
}

#[test]
fn concurrent_handlers_never_let_an_older_message_win() {
    let env = TestEnv::with_table("stream-race");
    let g = group(&env, 9, &ts(0));
    let dir = tempfile::tempdir().unwrap();
    // Four handlers on one conversation at once, each delivering every fourth message one
    // record per event (a batch of one cannot coalesce), so they keep moving the same two rows
    // past each other. Rows are only ever re-read when a guard showed that another handler
    // moved them (or the index showed a row mid-move): with one handler there are none. So
    // re-reads > 0 proves a race happened; rounds repeat (at most 5) until one did.
    let mut rechecks = 0;
    for round in 0..5u32 {
        let base = 100 + round * 100;
        let messages: Vec<Item> = (1..=60u32)
            .map(|i| g.message(&ts(base + i), &format!("m{}", base + i)))
            .collect();
        env.put_items(messages.clone());
        let handlers: Vec<_> = (0..4u32)
            .map(|k| {
                let events: Vec<_> = (1..=60u32)
                    .filter(|i| i % 4 == k)
                    .map(|i| {
                        let rec = record(base + i, "INSERT", &messages[i as usize - 1]);
                        write_temp(
                            dir.path(),
                            &format!("r{round}-{i}.json"),
                            &event(&env, vec![rec]),
                        )
                    })
                    .collect();
                let mut cmds: Vec<Command> = events
                    .iter()
                    .map(|path| {
                        let mut c = env.ddb();
                        c.args(["simulate-stream", "-o", "json", "--event"])
                            .arg(path);
                        c
                    })
                    .collect();
                std::thread::spawn(move || {
                    cmds.iter_mut()
                        .map(|c| {
                            let out = c.output().unwrap();
                            assert!(
                                out.status.success(),
                                "{}",
                                String::from_utf8_lossy(&out.stderr)
                            );
                            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
                            assert_eq!(v["summary"]["failed"], 0, "{v:#}");
                            v["summary"]["rechecks"].as_u64().unwrap()
                        })
                        .sum::<u64>()
                })
            })
            .collect();
        for h in handlers {
            rechecks += h.join().unwrap();
        }
        let newest = base + 60;
        assert_group_at(&env, &g, &ts(newest), &format!("m{newest}"));
        if rechecks > 0 {
            break;
        }
    }
    eprintln!("rows re-read after a lost race, across the four handlers: {rechecks}");
    assert!(
        rechecks > 0,
        "no race happened in 5 rounds of 4 concurrent handlers"
    );
}

#[test]
fn latest_starts_after_what_is_already_in_the_stream() {
    let env = TestEnv::with_table("stream-latest");
    let g = group(&env, 30, &ts(0));
    env.put_items(vec![g.message(&ts(3), "already there")]);
    let out = run(env
        .ddb()
        .args(["simulate-stream", "--from", "latest", "-o", "json"]))
    .json();
    assert_eq!(out["summary"]["processed"], 0, "{out:#}");
    assert_group_at(&env, &g, &ts(0), "first words");
}

#[test]
fn a_missing_source_or_table_is_reported() {
    let env = TestEnv::new("stream-usage");
    let r = run(env.ddb().arg("simulate-stream"));
    r.assert_exit(2, &["--event", "--from"]);
    let r = run(env
        .ddb()
        .args(["simulate-stream", "--event", "x.json", "--from", "latest"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    // A table that does not exist: named, exit 4.
    let r = run(env
        .ddb()
        .args(["simulate-stream", "--from", "trim-horizon"]));
    r.assert_exit(4, &[&env.table]);
}

#[test]
fn a_conversation_missing_rows_is_read_again_then_handled_as_found() {
    let env = TestEnv::with_table("stream-short");
    let g = Conversation::numbered(40);
    // Only one participant's row exists; another conversation has none at all.
    env.put_items(g.rows(&ts(0), "first words", AL_AND_BEA)[..1].to_vec());
    let lonely = Conversation {
        a: "a".into(),
        b: "b".into(),
        ..Conversation::numbered(41)
    };
    let out = deliver(
        &env,
        vec![
            record(1, "INSERT", &g.message(&ts(4), "to the one row")),
            record(2, "INSERT", &lonely.message(&ts(5), "to nobody")),
        ],
    )
    .json();
    let recs = reports(&out);
    assert_eq!(recs[0]["outcome"], "updated 1 group", "{out:#}");
    assert_eq!(
        recs[1]["outcome"],
        format!("skipped: no GRP# rows for group {}", lonely.id)
    );
    // The index is read again (twice) before settling for fewer rows than participants.
    assert_eq!(recs[0]["rechecks"], 2);
    assert_eq!(recs[1]["rechecks"], 2);
    let rows = env.index_rows(&g.id);
    assert_eq!(rows.len(), 1);
    assert_eq!(s(&rows[0], "sk"), ts(4));
}

/// `--follow` says on stderr, each time it has caught up, that it waits and how many records
/// it has read: a person sees it is alive before any record arrives.
#[test]
fn follow_says_it_is_waiting_and_how_far_it_has_read() {
    let env = TestEnv::with_table("stream-wait");
    // Five messages of a conversation without rows and without a message_uuid: five INSERT
    // records, each failing.
    let message = |i: u32| {
        common::item(&[
            ("pk", "MSG#00000000-0000-4000-8000-000000000077"),
            ("sk", &ts(i)),
            ("message", "hi"),
        ])
    };
    env.put_items((0..5).map(message).collect());
    let mut child =
        spawn(
            env.ddb()
                .args(["simulate-stream", "--from", "trim-horizon", "--follow"]),
        );
    let stderr = child.stderr.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = seen.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let mut text = sink.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
    let has = |needle: &str| seen.lock().unwrap().contains(needle);
    let limit = Duration::from_secs(30);
    let first = "caught up: 5 records read, waiting for new ones (Ctrl-C stops)";
    wait_while_running(&mut child, limit, first, || has(first));
    env.put_items(vec![message(9)]);
    let second = "caught up: 6 records read, waiting";
    wait_while_running(&mut child, limit, second, || has(second));
    let out = common::interrupt(child);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("read 6 records in ") && stdout.contains(": no rows moved, 6 FAILED"),
        "{stdout}"
    );
}
