//! The stream reader of `ddb simulate-stream` where real DynamoDB Streams and failures go:
//! checkpoints that never pass a failure, the dead-letter file, empty pages, expired and trimmed
//! iterators (through the fault proxy, since DynamoDB Local shows none of them), Ctrl-C, a
//! closed stdout, quiet output and batches gathered over several pages.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use common::items::{clashing_row, message, named, rounds, ts, Conversation, SOMEONE};
use common::proxy::Faults;
use common::records::{checkpoint, from_trim_horizon, reports as records, Records};
use common::{run, s, spawn, wait_while_running, write_temp, Item, TestEnv};
use serde_json::{json, Value};

/// Conversation `n` with both GRP# rows at `sk`, naming the other "Someone".
fn group(env: &TestEnv, n: u32, sk: &str) -> Conversation {
    let g = Conversation::numbered(n);
    env.put_items(g.rows(sk, "first words", SOMEONE));
    g
}

/// A message from a, its uuid `m-<group>-<sk>`.
fn msg(g: &Conversation, sk: &str, text: &str) -> Item {
    message(&g.id, sk, &format!("m-{}-{sk}", g.id), text, g.al())
}

/// Conversation 1, its rows at ts(0), and a row of another conversation that its first
/// participant already has at `sk`: a message of conversation 1 at `sk` can never move that
/// participant's row there (it would overwrite the other conversation's row), so its record
/// fails every time. (A message too big for a row no longer fails: it is carried as a preview.)
fn blocked(env: &TestEnv, sk: &str) -> Conversation {
    let big = Conversation::numbered(1);
    let mut items = big.rows(&ts(0), "first words", SOMEONE);
    items.push(clashing_row(
        &big.a,
        sk,
        "another conversation",
        ("Cy", "cy"),
    ));
    env.put_items(items);
    big
}

/// Many items quickly (BatchWriteItem, 25 at a time), in order.
fn put_many(env: &TestEnv, items: Vec<Item>) {
    env.block_on(async {
        for chunk in items.chunks(25) {
            let writes = chunk
                .iter()
                .map(|i| {
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(i.clone()))
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .collect();
            let out = env
                .client()
                .batch_write_item()
                .request_items(&env.table, writes)
                .send()
                .await
                .expect("batch_write_item");
            assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
        }
    })
}

/// Both GRP# rows of `g` show the message at `sk`, one row per participant.
fn assert_rows_at(env: &TestEnv, g: &Conversation, sk: &str) {
    for user in [&g.a, &g.b] {
        let rows = env.query_pk(&format!("GRP#{user}"));
        assert_eq!(rows.len(), 1, "one row per user: {rows:?}");
        assert_eq!(s(&rows[0], "sk"), sk, "{:?}", rows[0]);
    }
}

/// The whole stream with a checkpoint file.
fn stream(cmd: Command, cp: &Path) -> common::Run {
    from_trim_horizon(cmd, &["--checkpoint", cp.to_str().unwrap()])
}

fn json_of(r: &common::Run) -> Value {
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", r.stdout, r.stderr))
}

/// The single shard's checkpointed sequence number (DynamoDB Local gives a new table one shard).
fn checkpointed(path: &Path) -> Option<String> {
    let cp = checkpoint(path);
    let shards = cp["shards"].as_object().expect("shards").clone();
    assert!(shards.len() <= 1, "{cp}");
    shards
        .values()
        .next()
        .map(|v| v.as_str().unwrap().to_string())
}

/// Stream sequence numbers are decimal strings of varying length.
fn seq_lt(a: &str, b: &str) -> bool {
    (a.len(), a) < (b.len(), b)
}

#[test]
fn failed_records_are_not_checkpointed_and_a_rerun_fixes_every_row() {
    let env = TestEnv::with_table("faults-cp");
    let groups: Vec<Conversation> = (1..=8).map(|n| group(&env, n, &ts(0))).collect();
    env.put_items(rounds(&groups, 4, 100, msg));
    let dir = tempfile::tempdir().unwrap();
    let cp = dir.path().join("cp.json");

    // Run 1: a third of the row moves are refused for good, as while DynamoDB Local is down.
    let proxy = env.proxy(Faults {
        reject: 0.3,
        seed: 7,
        ..Faults::on(&["TransactWriteItems"])
    });
    let first = stream(proxy.ddb(), &cp);
    assert_eq!(first.code, 7, "{}", first.stderr);
    let out = json_of(&first);
    let recs = records(&out);
    let failed: Vec<&Value> = recs.iter().filter(|r| r["status"] == "failed").collect();
    assert!(proxy.stats().rejected > 0 && !failed.is_empty(), "{out:#}");
    assert_eq!(out["summary"]["failed"], failed.len() as u64);
    assert_eq!(
        out["batchItemFailures"].as_array().unwrap().len(),
        failed.len()
    );
    // The checkpoint is the record just before the first failure (Lambda's
    // ReportBatchItemFailures rule), however many records after it succeeded.
    let first_failed = recs.iter().position(|r| r["status"] == "failed").unwrap();
    let expected = first_failed
        .checked_sub(1)
        .map(|i| recs[i]["sequence_number"].as_str().unwrap().to_string());
    assert_eq!(checkpointed(&cp), expected, "{out:#}");
    assert_eq!(out["summary"]["held_shards"].as_array().unwrap().len(), 1);

    // Run 2, DynamoDB reachable again: it starts at the first failed record and fixes it all.
    let second = stream(env.ddb(), &cp);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let out2 = json_of(&second);
    assert_eq!(out2["summary"]["failed"], 0);
    assert_eq!(
        records(&out2)[0]["sequence_number"],
        recs[first_failed]["sequence_number"],
        "the rerun starts at the first failed record"
    );
    for (i, g) in groups.iter().enumerate() {
        assert_rows_at(&env, g, &ts(400 + i as u32));
    }
    // Everything is done now: a third run has nothing before its own moves' records.
    let third = stream(env.ddb(), &cp);
    assert_eq!(third.code, 0, "{}", third.stderr);
    let out3 = json_of(&third);
    assert!(
        records(&out3)
            .iter()
            .all(|r| r["pk"].as_str().unwrap().starts_with("GRP#")),
        "{out3:#}"
    );
}

#[test]
fn a_record_that_can_never_succeed_is_retried_then_dead_lettered() {
    let env = TestEnv::with_table("faults-dlq");
    let big = blocked(&env, &ts(10));
    let fine = group(&env, 2, &ts(0));
    env.put_items(vec![
        msg(&big, &ts(10), "blocked"),
        msg(&fine, &ts(11), "fine"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let cp = dir.path().join("cp.json");
    let dlq = dir.path().join("dead.ndjson");
    let big_pk = format!("MSG#{}", big.id);
    let failed_seqs = |out: &Value| -> Vec<String> {
        records(out)
            .iter()
            .filter(|r| r["status"] == "failed")
            .map(|r| r["sequence_number"].as_str().unwrap().to_string())
            .collect()
    };

    let first = stream(env.ddb(), &cp);
    assert_eq!(first.code, 7, "{}", first.stderr);
    let out1 = json_of(&first);
    let failed = failed_seqs(&out1);
    assert_eq!(failed.len(), 1, "{out1:#}");
    assert_rows_at(&env, &fine, &ts(11));

    // Run 2 retries it (not "processed 0 records"), and it fails again.
    let second = stream(env.ddb(), &cp);
    assert_eq!(second.code, 7, "{}", second.stderr);
    let out2 = json_of(&second);
    assert_eq!(failed_seqs(&out2), failed, "{out2:#}");
    assert!(seq_lt(&checkpointed(&cp).unwrap_or_default(), &failed[0]));

    // Run 3 with a dead-letter file moves past it, and says so.
    let third = run(env
        .ddb()
        .args(["simulate-stream", "--from", "trim-horizon", "--checkpoint"])
        .arg(&cp)
        .arg("--dead-letter")
        .arg(&dlq));
    assert_eq!(third.code, 7, "{}", third.stderr);
    let summary = third.stdout.lines().last().unwrap();
    assert!(summary.contains("1 FAILED (1 sent to"), "{}", third.stdout);
    assert!(third.stderr.contains("1 sent to"), "{}", third.stderr);
    let lines = common::read_lines(&dlq);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let entry: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(entry["sequence_number"], failed[0].as_str());
    assert_eq!(
        entry["record"]["dynamodb"]["Keys"]["pk"]["S"],
        big_pk.as_str()
    );
    assert!(
        entry["reason"]
            .as_str()
            .unwrap()
            .contains("for another conversation"),
        "{entry}"
    );
    assert!(!seq_lt(&checkpointed(&cp).unwrap(), &failed[0]));

    // Run 4: nothing left of it.
    let fourth = stream(env.ddb(), &cp);
    assert_eq!(fourth.code, 0, "{}", fourth.stderr);
    let out4 = json_of(&fourth);
    assert!(
        failed_seqs(&out4).is_empty() && records(&out4).iter().all(|r| r["pk"] != big_pk.as_str()),
        "{out4:#}"
    );
    // The dead-letter line is an event `--event` takes back (and it fails the same way).
    let event = json!({"Records": [entry["record"].clone()]}).to_string();
    let path = write_temp(dir.path(), "retry.json", &event);
    let retry = run(env
        .ddb()
        .args(["simulate-stream", "-o", "json", "--event"])
        .arg(path));
    assert_eq!(retry.code, 7, "{}", retry.stderr);
}

/// Rows far in the future: every message is "older than current", so the handler writes
/// nothing and the stream holds exactly the setup's records.
fn quiet_table(env: &TestEnv, messages: u32) -> (Conversation, u32) {
    let g = group(env, 1, &ts(80_000));
    let items: Vec<Item> = (1..=messages).map(|i| msg(&g, &ts(i), "old")).collect();
    put_many(env, items);
    (g, messages + 2)
}

fn seqs(out: &Value) -> Vec<String> {
    records(out)
        .iter()
        .map(|r| r["sequence_number"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn empty_pages_from_an_open_shard_do_not_end_the_run_early() {
    let env = TestEnv::with_table("faults-empty");
    let (_, total) = quiet_table(&env, 6);
    // Every GetRecords answers two empty pages (same iterator) before the real one.
    let proxy = env.proxy(Faults {
        empty_records: 1.0,
        max_consecutive: 2,
        ..Faults::on(&["GetRecords"])
    });
    let r = from_trim_horizon(proxy.ddb(), &["--batch-size", "2"]);
    let out = json_of(&r);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(out["summary"]["processed"], total, "{out:#}");
    let stats = proxy.stats();
    assert!(stats.empty_records >= 2, "{stats:?}");
    // Injected empty pages, plus the real ones that found the tip (3 in a row by default).
    let empty = out["summary"]["empty_pages"].as_u64().unwrap();
    assert!(empty > stats.empty_records, "{empty} vs {stats:?}");

    // With --tip-pages 2 the same faults look like the tip at once: nothing is read. The rule
    // is what decides, so it is an option.
    let r = from_trim_horizon(proxy.ddb(), &["--tip-pages", "2"]);
    assert_eq!(json_of(&r)["summary"]["processed"], 0, "{}", r.stdout);
}

#[test]
fn expired_iterators_resume_after_the_last_record_read_without_skips_or_repeats() {
    let env = TestEnv::with_table("faults-expired");
    let (_, total) = quiet_table(&env, 10);
    let clean = from_trim_horizon(env.ddb(), &[]);
    let want = seqs(&json_of(&clean));
    assert_eq!(want.len() as u32, total);

    // Every GetRecords expires twice in a row before one gets through.
    let proxy = env.proxy(Faults {
        expired_iterator: 1.0,
        max_consecutive: 2,
        ..Faults::on(&["GetRecords"])
    });
    let dir = tempfile::tempdir().unwrap();
    let cp = dir.path().join("cp.json");
    let cp_arg = cp.to_str().unwrap();
    let r = from_trim_horizon(proxy.ddb(), &["--batch-size", "3", "--checkpoint", cp_arg]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = json_of(&r);
    assert_eq!(seqs(&out), want, "every record once, in order");
    let stats = proxy.stats();
    assert!(stats.expired_iterators >= 8, "{stats:?}");
    assert_eq!(out["summary"]["iterators_renewed"], stats.expired_iterators);
    assert_eq!(
        checkpointed(&cp).as_deref(),
        want.last().map(String::as_str)
    );
}

#[test]
fn trimmed_data_is_reported_and_restarted_from_trim_horizon_only_when_asked() {
    let env = TestEnv::with_table("faults-trimmed");
    let (g, total) = quiet_table(&env, 4);
    let dir = tempfile::tempdir().unwrap();
    let cp = dir.path().join("cp.json");
    let first = stream(env.ddb(), &cp);
    assert_eq!(json_of(&first)["summary"]["processed"], total);
    let saved = checkpoint(&cp);
    env.put_items(vec![msg(&g, &ts(50), "old too")]);

    // The checkpoint's position is past the stream's retention: GetShardIterator says trimmed.
    let faults = Faults {
        trimmed: 1.0,
        max_consecutive: 1,
        ..Faults::on(&["GetShardIterator"])
    };
    let proxy = env.proxy(faults.clone());
    let r = stream(proxy.ddb(), &cp);
    r.assert_exit(5, &["TrimmedDataAccessException", "--restart-trimmed"]);
    assert_eq!(json_of(&r)["summary"]["processed"], 0);
    assert_eq!(checkpoint(&cp), saved, "a stopped run keeps the checkpoint");

    let proxy = env.proxy(faults);
    let cp_arg = cp.to_str().unwrap();
    let r = from_trim_horizon(proxy.ddb(), &["--restart-trimmed", "--checkpoint", cp_arg]);
    r.assert_exit(0, &["restarted from TRIM_HORIZON"]);
    let out = json_of(&r);
    assert_eq!(out["summary"]["trimmed_restarts"], 1);
    // DynamoDB Local trimmed nothing really, so the restart reads everything again.
    assert_eq!(out["summary"]["processed"], total + 1);
    assert_eq!(
        checkpointed(&cp).as_deref(),
        seqs(&out).last().map(String::as_str)
    );
}

#[test]
fn ctrl_c_without_follow_exits_130_and_checkpoints_only_what_is_done() {
    let env = TestEnv::with_table("faults-sigint");
    let g = group(&env, 1, &ts(0));
    env.put_items(vec![msg(&g, &ts(5), "new")]);
    // Every row move is throttled: the handler sits in its backoff when Ctrl-C comes.
    let proxy = env.proxy(Faults {
        throttle: 1.0,
        ..Faults::on(&["TransactWriteItems"])
    });
    let dir = tempfile::tempdir().unwrap();
    let cp = dir.path().join("cp.json");
    let mut child = spawn(
        proxy
            .ddb()
            .args(["simulate-stream", "--from", "trim-horizon", "-o", "json"])
            .arg("--checkpoint")
            .arg(&cp),
    );
    let throttled = || proxy.stats().throttled >= 2;
    wait_while_running(
        &mut child,
        Duration::from_secs(30),
        "the handler reaching the proxy",
        throttled,
    );
    let sent = Instant::now();
    let out = common::interrupt(child);
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "Ctrl-C waited for the backoff"
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON summary after Ctrl-C");
    assert_eq!(v["summary"]["interrupted"], true);
    let msg_seq = records(&v)
        .iter()
        .find(|r| r["pk"].as_str().unwrap().starts_with("MSG#"))
        .map(|r| r["sequence_number"].as_str().unwrap().to_string());
    // The two GRP# records before the message are done; the message is not.
    let cp_seq = checkpointed(&cp).expect("the records before the message are checkpointed");
    if let Some(m) = &msg_seq {
        assert!(seq_lt(&cp_seq, m), "{cp_seq} vs {m}");
    }
    // The rerun picks the message up.
    let again = stream(env.ddb(), &cp);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_rows_at(&env, &g, &ts(5));
}

#[test]
fn a_closed_stdout_neither_hides_a_failure_nor_skips_the_checkpoint() {
    let env = TestEnv::with_table("faults-pipe");
    let big = blocked(&env, &ts(20));
    let groups: Vec<Conversation> = (2..=5).map(|n| group(&env, n, &ts(0))).collect();
    for (i, g) in groups.iter().enumerate() {
        env.put_items(vec![msg(g, &ts(10 + i as u32), "fine")]);
    }
    env.put_items(vec![msg(&big, &ts(20), "blocked")]);
    let dir = tempfile::tempdir().unwrap();
    let cp = dir.path().join("cp.json");
    // `ddb ... | head -1`: the reader goes away after one line.
    let mut child = spawn(
        env.ddb()
            .args([
                "simulate-stream",
                "--from",
                "trim-horizon",
                "--batch-size",
                "1",
            ])
            .arg("--checkpoint")
            .arg(&cp),
    );
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    assert!(first_line.contains("updated 2 groups"), "{first_line}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("1 of"), "{stderr}");
    let cp_seq = checkpointed(&cp).expect("checkpoint saved");
    for g in &groups {
        assert_rows_at(
            &env,
            g,
            &ts(10 + groups.iter().position(|x| x.id == g.id).unwrap() as u32),
        );
    }
    // Saved up to the failure: the rerun starts with the big message.
    let again = stream(env.ddb(), &cp);
    let out = json_of(&again);
    assert_eq!(
        records(&out)[0]["pk"],
        format!("MSG#{}", big.id),
        "{out:#} (checkpoint {cp_seq})"
    );
}

#[test]
fn table_output_is_quiet_by_default_and_whole_under_verbose() {
    let env = TestEnv::with_table("faults-quiet");
    let g = group(&env, 1, &ts(0));
    let rec = |seq, name, image: &Item| Records::bare().record(seq, name, image);
    let m = msg(&g, &ts(9), "hello");
    let older = msg(&g, &ts(2), "older");
    // The handler applies only messages that exist, as they do when the stream delivers them.
    env.put_items(vec![m.clone(), older.clone()]);
    let event = json!({"Records": [
        rec(1, "INSERT", &g.rows(&ts(0), "first words", named("x"))[0]),
        rec(2, "INSERT", &m),
        rec(3, "REMOVE", &msg(&g, &ts(1), "gone")),
        rec(4, "INSERT", &older),
    ]});
    let dir = tempfile::tempdir().unwrap();
    let path = write_temp(dir.path(), "event.json", &event.to_string());
    let quiet = run(env.ddb().args(["simulate-stream", "--event"]).arg(&path)).ok();
    let lines: Vec<&str> = quiet.lines().collect();
    assert_eq!(lines.len(), 2, "{quiet}");
    assert!(lines[0].contains("updated 2 groups"), "{quiet}");
    assert!(
        lines[1].ends_with(": 1 message moved 2 rows, 3 needed nothing"),
        "{quiet}"
    );
    let verbose = run(env
        .ddb()
        .args(["simulate-stream", "-v", "--event"])
        .arg(&path))
    .ok();
    // Every record, the summary and its detail: the skips by reason.
    assert_eq!(verbose.lines().count(), 6, "{verbose}");
    assert!(
        verbose.contains("skipped: 1 already current, 1 not a message, 1 remove, 1 superseded"),
        "{verbose}"
    );
    let json = run(env
        .ddb()
        .args(["simulate-stream", "-o", "json", "--event"])
        .arg(&path))
    .json();
    assert_eq!(records(&json).len(), 4);
    assert_eq!(
        json["summary"]["skipped_by_reason"],
        json!({"not a message": 1, "already current": 1, "remove": 1, "superseded": 1}),
        "the message was applied by the first run: now the rows show it"
    );
}

#[test]
fn a_backlog_is_read_in_batches_of_several_pages() {
    let env = TestEnv::with_table("faults-backlog");
    let (_, total) = quiet_table(&env, 1_100);
    // 1,102 records: GetRecords gives at most 1,000 a page, so one batch spans two pages.
    let big = from_trim_horizon(env.ddb(), &["--batch-size", "5000"]).json();
    let sum = &big["summary"];
    assert_eq!(sum["processed"], total);
    assert_eq!(sum["batches"], 1, "{sum}");
    assert_eq!(sum["largest_batch"], total);
    assert!(sum["get_records_calls"].as_u64().unwrap() >= 2, "{sum}");
    let small = from_trim_horizon(env.ddb(), &["--batch-size", "100"]).json();
    assert_eq!(small["summary"]["processed"], total);
    assert_eq!(small["summary"]["batches"], 12);
    assert_eq!(small["summary"]["largest_batch"], 100);
    let distinct: BTreeSet<String> = seqs(&small).into_iter().collect();
    assert_eq!(seqs(&big), seqs(&small));
    assert_eq!(distinct.len() as u32, total);
}
