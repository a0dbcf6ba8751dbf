//! THE INVARIANT (each participant has exactly one GRP# row per conversation, carrying the
//! newest message of it that still exists), checked by one function (common/invariant.rs)
//! after every step of a mixed sequence, and the repros around it: replays of deleted
//! messages, synthetic reseeds, records that are not ours, request tokens and lost responses,
//! the app's own timestamps, REMOVE of the message a row shows, and coalescing.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use aws_sdk_dynamodb::types::AttributeValue;
use common::invariant::{assert_invariant, carried, count_rows};
use common::items::{clashing_row, ts as at, Conversation, SOMEONE};
use common::proxy::Faults;
use common::records::{self, event, from_trim_horizon, outcomes as texts, stream_arn, Records};
use common::{put_message, run, s, Item, TestEnv, MAIN_GROUP};
use serde_json::{json, Value};

fn fixture_groups() -> BTreeSet<String> {
    let text = std::fs::read_to_string(common::repo_root().join("fixtures/seed.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["message_group_uuid"].as_str().unwrap().to_string())
        .collect()
}

/// Conversations with GRP# rows that are not the fixture's (the synthetic ones).
fn synthetic_groups(env: &TestEnv) -> BTreeSet<String> {
    let fixture = fixture_groups();
    env.scan_all()
        .iter()
        .filter(|i| s(i, "pk").starts_with("GRP#"))
        .map(|i| s(i, "message_group_uuid"))
        .filter(|g| !fixture.contains(g))
        .collect()
}

/// The newest message item of a conversation by string (fine for ddb's own timestamps).
fn newest_message(env: &TestEnv, group: &str) -> Item {
    env.query_pk(&format!("MSG#{group}"))
        .into_iter()
        .max_by_key(|i| s(i, "sk"))
        .expect("a message")
}

fn stream(env: &TestEnv, extra: &[&str]) -> Value {
    from_trim_horizon(env.ddb(), extra).json()
}

fn seed(env: &TestEnv, args: &[&str]) -> Value {
    run(env.ddb().arg("seed").args(args).args(["-o", "json"])).json()
}

fn outcomes_for<'a>(out: &'a Value, pk: &str, sk: &str) -> Vec<&'a str> {
    out["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["pk"] == pk && r["sk"] == sk)
        .map(|r| r["outcome"].as_str().unwrap())
        .collect()
}

/// A copy of `template` (a message of the conversation) as another client writes it: at `sk`,
/// with `text`, its own random-looking (v4) uuid, no seed marker.
fn app_message(template: &Item, sk: &str, text: &str, n: u32) -> Item {
    let mut m = template.clone();
    m.remove("seeded");
    m.insert("sk".into(), AttributeValue::S(sk.into()));
    m.insert("message".into(), AttributeValue::S(text.into()));
    let id = format!("6f1c2c8e-3b1a-4d2e-9f00-{n:012}");
    m.insert("message_uuid".into(), AttributeValue::S(id));
    m
}

/// DynamoDB's size of an item of string attributes: names plus UTF-8 values.
fn string_item_size(item: &Item) -> usize {
    item.iter()
        .map(|(k, v)| match v {
            AttributeValue::S(s) => k.len() + s.len(),
            AttributeValue::Bool(_) => k.len() + 1,
            other => panic!("{other:?}"),
        })
        .sum()
}

/// "Done when" of issue 17: every writer ddb has, and the app's own writes, in one sequence;
/// the invariant (the fixed checker) after every step, once the handler has run.
#[test]
fn the_invariant_holds_after_every_step_of_a_mixed_sequence() {
    let env = TestEnv::with_table("inv-mixed");
    let dir = tempfile::tempdir().unwrap();
    let cp = dir.path().join("cp.json");
    let cp = cp.to_str().unwrap();
    let handler = |env: &TestEnv| {
        let out = stream(env, &["--checkpoint", cp]);
        assert_eq!(out["summary"]["failed"], 0, "{out:#}");
        out
    };
    let main_messages = |env: &TestEnv| env.query_pk(&format!("MSG#{MAIN_GROUP}"));

    seed(&env, &["--now", "2026-01-01T12:00:00Z"]);
    assert_invariant(&env, "1. fixture seed");
    seed(&env, &["--synthetic", "200", "--groups", "10"]);
    assert_invariant(&env, "2. synthetic 200 / 10");
    let synthetic = synthetic_groups(&env);
    assert_eq!(synthetic.len(), 10);
    assert_eq!(count_rows(&env, &synthetic), 20);

    // The app's own writes: a timestamp without an offset (UTC), and one with an offset that
    // is later by the clock though earlier as text.
    let template = newest_message(&env, MAIN_GROUP);
    let naive = app_message(&template, "2026-06-01T08:00:00.123456", "naive", 1);
    let offset = app_message(&template, "2026-06-01T05:00:00-04:00", "offset", 2);
    env.put_items(vec![naive, offset]);
    handler(&env);
    let rows = assert_invariant(&env, "3. app writes + handler");
    assert_eq!(
        carried(&rows, MAIN_GROUP),
        ("2026-06-01T05:00:00-04:00".into(), "offset".into())
    );

    let put = put_message(MAIN_GROUP, "bayko");
    let written = run(env
        .ddb()
        .args(put)
        .args(["--message", "X marks it", "-o", "json"]))
    .json();
    let x_sk = written["sk"].as_str().unwrap().to_string();
    handler(&env);
    let rows = assert_invariant(&env, "4. put-message + handler");
    assert_eq!(
        carried(&rows, MAIN_GROUP),
        (x_sk.clone(), "X marks it".into())
    );

    // An edit of the newest message: same keys, new text.
    let mut edited = newest_message(&env, MAIN_GROUP);
    assert_eq!(s(&edited, "sk"), x_sk);
    edited.insert("message".into(), AttributeValue::S("X, edited".into()));
    env.put_items(vec![edited]);
    handler(&env);
    let rows = assert_invariant(&env, "5. edit of the newest message + handler");
    assert_eq!(
        carried(&rows, MAIN_GROUP),
        (x_sk.clone(), "X, edited".into())
    );

    // The same edit through `ddb sql` (a PartiQL UPDATE of the message's text).
    let update = format!(
        "UPDATE \"{}\" SET message = ? WHERE pk = ? AND sk = ?",
        env.table
    );
    let pk = format!("MSG#{MAIN_GROUP}");
    let sql = ["sql", &update, "--param", "X, via sql", "--param", &pk];
    run(env.ddb().args(sql).args(["--param", &x_sk])).ok();
    handler(&env);
    let rows = assert_invariant(&env, "5b. sql UPDATE of the newest message + handler");
    assert_eq!(
        carried(&rows, MAIN_GROUP),
        (x_sk.clone(), "X, via sql".into())
    );

    let snap = dir.path().join("snap");
    run(env.ddb().arg("export").arg(&snap)).ok();
    assert_invariant(&env, "6. export");

    for text in ["newer 1", "newer 2"] {
        let put = put_message(MAIN_GROUP, "andrewbrown");
        run(env.ddb().args(put).args(["--message", text])).ok();
    }
    handler(&env);
    let rows = assert_invariant(&env, "7. newer messages + handler");
    assert_eq!(carried(&rows, MAIN_GROUP).1, "newer 2");

    let imported = run(env.ddb().args(["-o", "json", "import"]).arg(&snap)).json();
    assert_eq!(imported["rows_deleted"], 2, "{imported}");
    let rows = assert_invariant(&env, "8. import of the older export");
    assert_eq!(carried(&rows, MAIN_GROUP).1, "newer 2");
    handler(&env);
    assert_invariant(&env, "8b. import + handler");

    // A reseed at another time: the seed's own messages move, everyone else's stay.
    let before = main_messages(&env).len();
    let out = seed(&env, &["--now", "2026-02-01T12:00:00Z"]);
    assert_eq!(
        out["kept_others"], 5,
        "naive, offset, X, newer 1, newer 2: {out}"
    );
    assert_eq!(main_messages(&env).len(), before);
    let rows = assert_invariant(&env, "9. fixture reseed");
    assert_eq!(carried(&rows, MAIN_GROUP).1, "newer 2");
    handler(&env);
    assert_invariant(&env, "9b. reseed + handler");

    // Another client's message too big for the rows: carried as a marked preview.
    let g = synthetic.iter().next().unwrap().clone();
    let mut big = app_message(&newest_message(&env, &g), "2026-07-01T00:00:00Z", "", 3);
    let text = "z".repeat(409_600 - string_item_size(&big));
    big.insert("message".into(), AttributeValue::S(text));
    assert_eq!(string_item_size(&big), 409_600);
    env.put_items(vec![big]);
    handler(&env);
    let rows = assert_invariant(&env, "10. oversized message + handler");
    // Each row's preview is as long as its own other attributes leave room for.
    let sks: Vec<&str> = rows[&g].iter().map(|(_, sk, _)| sk.as_str()).collect();
    assert_eq!(sks, ["2026-07-01T00:00:00Z"; 2]);

    // Replays: the whole stream again, twice, with nothing to change.
    for n in 1..=2 {
        let out = stream(&env, &[]);
        assert_eq!(out["summary"]["failed"], 0, "{out:#}");
        let after = assert_invariant(&env, &format!("11. full replay {n}"));
        assert_eq!(after, rows, "a replay changes nothing");
    }

    // The newest message removed: the rows go back to the newest one left.
    let newest = newest_message(&env, MAIN_GROUP);
    env.delete_item(&s(&newest, "pk"), &s(&newest, "sk"));
    handler(&env);
    let rows = assert_invariant(&env, "12. REMOVE of the newest message + handler");
    assert_eq!(carried(&rows, MAIN_GROUP).1, "newer 1");
}

#[test]
fn repro2_a_replay_never_revives_a_deleted_message() {
    let env = TestEnv::with_table("inv-revive");
    seed(&env, &["--now", "2026-01-01T12:00:00Z"]);
    let args = put_message(MAIN_GROUP, "bayko");
    let put = run(env.ddb().args(args).args(["--message", "X", "-o", "json"])).json();
    let x_sk = put["sk"].as_str().unwrap().to_string();
    // X is deleted before the handler ever saw it.
    env.delete_item(&format!("MSG#{MAIN_GROUP}"), &x_sk);
    let out = stream(&env, &[]);
    assert_eq!(
        outcomes_for(&out, &format!("MSG#{MAIN_GROUP}"), &x_sk),
        [
            "skipped: message no longer exists",
            "skipped: REMOVE of a message no row shows"
        ],
        "{out:#}"
    );
    let rows = assert_invariant(&env, "after the replay");
    assert_ne!(carried(&rows, MAIN_GROUP).0, x_sk);
}

#[test]
fn repro3_synthetic_reseeds_keep_one_row_per_participant() {
    let env = TestEnv::with_table("inv-synth");
    seed(&env, &["--synthetic", "200", "--groups", "10"]);
    let second = seed(&env, &["--synthetic", "300", "--groups", "10"]);
    let groups = synthetic_groups(&env);
    assert_eq!(count_rows(&env, &groups), 20, "{second}");
    assert_invariant(&env, "synthetic 200 then 300");
    // The handler moves rows to an app message; reseeding (either size) keeps one row each.
    let g = groups.iter().next().unwrap();
    let mut app = newest_message(&env, g);
    app.insert(
        "sk".into(),
        AttributeValue::S("2026-03-01T00:00:00.5".into()),
    );
    env.put_items(vec![app]);
    stream(&env, &[]);
    assert_invariant(&env, "after the handler");
    seed(&env, &["--synthetic", "300", "--groups", "10"]);
    seed(&env, &["--synthetic", "200", "--groups", "10"]);
    assert_eq!(count_rows(&env, &groups), 20);
    let rows = assert_invariant(&env, "reseeded after the handler");
    assert_eq!(carried(&rows, g).0, "2026-03-01T00:00:00.5");
}

// --- Lambda events written by hand -----------------------------------------------------------

const T0: &str = "2026-01-01T00:00:00.000000+00:00";

fn conversation(n: u32) -> Conversation {
    Conversation::numbered(n)
}

/// Both GRP# rows and the first message at `sk`, as create-message-group writes them.
fn start(env: &TestEnv, c: &Conversation, sk: &str) {
    let mut items = c.rows(sk, "hello", SOMEONE);
    items.push(c.message(sk, "hello"));
    env.put_items(items);
}

/// Conversation `n` started at T0 and its message at `at(second)`, written.
fn with_message(env: &TestEnv, n: u32, second: u32, text: &str) -> (Conversation, Item) {
    let c = conversation(n);
    start(env, &c, T0);
    let m = c.message(&at(second), text);
    env.put_items(vec![m.clone()]);
    (c, m)
}

/// A record of the test table's stream, as Lambda delivers it.
fn record(env: &TestEnv, seq: u32, name: &str, image: &Item) -> Value {
    let arn = stream_arn(&env.table, records::STREAM_LABEL);
    Records::lambda().of_stream(arn).record(seq, name, image)
}

/// `ddb simulate-stream -o json --event FILE` on an event of `records`.
fn run_event(ddb: Command, records: &[Value]) -> common::Run {
    records::run_event(ddb, &event(records.to_vec()))
}

#[test]
fn repro4_records_that_are_not_ours_are_skipped_with_the_reason() {
    let env = TestEnv::with_table("inv-foreign");
    let (c, m) = with_message(&env, 1, 5, "ours");
    // AWS's documented sample record, from another table, with another key shape.
    let sample = json!({
        "eventID": "1", "eventName": "INSERT", "eventVersion": "1.0", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/ExampleTableWithStream/stream/2015-06-27T00:48:05.899",
        "dynamodb": {"Keys": {"Id": {"N": "101"}}, "NewImage": {"Message": {"S": "New item!"}, "Id": {"N": "101"}},
                     "SequenceNumber": "111", "SizeBytes": 26, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    });
    let mut other_table = record(&env, 2, "INSERT", &c.message(&at(50), "not ours"));
    other_table["eventSourceARN"] =
        json!("arn:aws:dynamodb:us-east-1:000000000000:table/someone-else/stream/x");
    let mut ttl = record(&env, 3, "REMOVE", &c.message(T0, "hello"));
    ttl["eventName"] = json!("UNKNOWN_TO_SDK_VERSION");
    let mut same_shape_our_table = sample.clone();
    same_shape_our_table["eventSourceARN"] = json!(format!(
        "arn:aws:dynamodb:us-east-1:000000000000:table/{}/stream/x",
        env.table
    ));
    let records = [
        sample,
        record(&env, 1, "INSERT", &m),
        other_table,
        ttl,
        same_shape_our_table,
    ];
    let r = run_event(env.ddb(), &records);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.stdout);
    let out: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        texts(&out),
        [
            "skipped: record of another table's stream (arn:aws:dynamodb:us-east-1:123456789012:table/ExampleTableWithStream/stream/2015-06-27T00:48:05.899)".to_string(),
            "updated 2 groups".to_string(),
            "skipped: record of another table's stream (arn:aws:dynamodb:us-east-1:000000000000:table/someone-else/stream/x)".to_string(),
            "skipped: unknown event name 'UNKNOWN_TO_SDK_VERSION'".to_string(),
            "skipped: keys of another shape (Id)".to_string(),
        ]
    );
    assert_eq!(out["batchItemFailures"], json!([]));
    let rows = assert_invariant(&env, "after foreign records");
    assert_eq!(carried(&rows, &c.id), (at(5), "ours".to_string()));
}

#[test]
fn repro6_a_later_identical_move_is_not_swallowed_by_an_old_token() {
    let env = TestEnv::with_table("inv-token");
    let (c, m) = with_message(&env, 2, 7, "seven");
    let out = run_event(env.ddb(), &[record(&env, 1, "INSERT", &m)]).json();
    assert_eq!(texts(&out), ["updated 2 groups"]);
    // The rows are put back where they were (as a restore would), then the same message is
    // delivered again within DynamoDB's 10-minute token window: the same move, again.
    for owner in [&c.a, &c.b] {
        env.delete_item(&format!("GRP#{owner}"), &at(7));
    }
    env.put_items(c.rows(T0, "hello", SOMEONE));
    let out = run_event(env.ddb(), &[record(&env, 2, "INSERT", &m)]).json();
    assert_eq!(texts(&out), ["updated 2 groups"]);
    let rows = assert_invariant(&env, "after the identical move");
    assert_eq!(
        carried(&rows, &c.id).0,
        at(7),
        "the second move was answered from the first one's token"
    );
}

#[test]
fn repro6_lost_responses_of_moves_are_answered_by_idempotency() {
    let env = TestEnv::with_table("inv-lost");
    let (convs, records): (Vec<Conversation>, Vec<Value>) = (0..6u32)
        .map(|n| {
            let (c, m) = with_message(&env, 10 + n, 10 + n, &format!("news {n}"));
            (c, record(&env, n + 1, "INSERT", &m))
        })
        .unzip();
    let proxy = env.proxy(Faults {
        drop_response: 0.5,
        max_consecutive: 2,
        seed: 7,
        ..Faults::on(&["TransactWriteItems"])
    });
    let out = run_event(proxy.ddb(), &records).json();
    let stats = proxy.stats();
    assert!(stats.responses_dropped > 0, "{stats:?}");
    // A lost response is retried with the same token and answered "done": every move counts
    // once, and every retry is one dropped response.
    assert_eq!(
        texts(&out),
        vec!["updated 2 groups"; convs.len()],
        "{out:#}"
    );
    assert_eq!(
        out["summary"]["retries"].as_u64(),
        Some(stats.responses_dropped),
        "{stats:?}"
    );
    assert_eq!(out["summary"]["rechecks"], 0);
    let rows = assert_invariant(&env, "after lost responses");
    for (n, c) in convs.iter().enumerate() {
        assert_eq!(carried(&rows, &c.id).0, at(10 + n as u32));
    }
}

#[test]
fn repro6_lost_responses_during_seed_leave_the_invariant() {
    let env = TestEnv::with_table("inv-seed-lost");
    seed(&env, &["--synthetic", "100", "--groups", "5"]);
    let proxy = env.proxy(Faults {
        drop_response: 0.3,
        max_consecutive: 2,
        seed: 11,
        ..Faults::on(&["TransactWriteItems", "BatchWriteItem"])
    });
    let args = ["seed", "--synthetic", "150", "--groups", "5", "-o", "json"];
    let out = run(proxy.ddb().args(args)).json();
    let stats = proxy.stats();
    assert!(stats.responses_dropped > 0, "{stats:?}");
    assert_eq!(
        out["retries"].as_u64(),
        Some(stats.responses_dropped),
        "{out} {stats:?}"
    );
    assert_eq!(out["failed_items"], 0);
    let groups = synthetic_groups(&env);
    assert_eq!(count_rows(&env, &groups), 10);
    assert_invariant(&env, "after a seed with lost responses");
}

#[test]
fn repro7_the_apps_own_timestamps_work_end_to_end() {
    let env = TestEnv::with_table("inv-app");
    // Cruddur's create-message-group: both rows and the first message at a local-offset time.
    let c = conversation(3);
    start(&env, &c, "2026-11-25T11:13:25.012737-04:00");
    // Its create-message: `sk = datetime.now().isoformat()`, no offset (UTC here).
    let newer = c.message("2026-11-25T15:20:00.5", "newer by the clock");
    // By string "…T15:10" sorts after "…T11:13", but 11:13-04:00 is 15:13 UTC: it is older.
    let older = c.message("2026-11-25T15:10:00", "older by the clock");
    env.put_items(vec![newer.clone(), older.clone()]);
    // By string "…T15:59:59" sorts after "…T12:00:00-04:00", but that is 16:00 UTC: the
    // app's first message stays the newest.
    let d = conversation(4);
    start(&env, &d, "2026-11-25T12:00:00-04:00");
    let only_older = d.message("2026-11-25T15:59:59", "older, no offset");
    env.put_items(vec![only_older.clone()]);
    let out = stream(&env, &[]);
    assert_eq!(out["summary"]["failed"], 0, "{out:#}");
    assert_eq!(
        outcomes_for(&out, &format!("MSG#{}", c.id), "2026-11-25T15:20:00.5"),
        ["updated 2 groups"]
    );
    assert_eq!(
        outcomes_for(&out, &format!("MSG#{}", d.id), "2026-11-25T15:59:59"),
        ["skipped: superseded by 2026-11-25T12:00:00-04:00"],
    );
    let rows = assert_invariant(&env, "after the handler on the app's items");
    assert_eq!(carried(&rows, &d.id).0, "2026-11-25T12:00:00-04:00");
    assert_eq!(
        carried(&rows, &c.id).0,
        "2026-11-25T15:20:00.5",
        "the sk is copied verbatim"
    );
    // The read commands show such times (not --:--) and list the conversation.
    let chat = run(env
        .ddb()
        .args(["get-conversation", &c.id, "--color", "never"]))
    .ok();
    assert!(!chat.contains("--:--"), "{chat}");
    assert!(chat.contains("newer by the clock"), "{chat}");
    let listed = run(env
        .ddb()
        .args(["list-conversations", "--user-uuid", &c.a, "-o", "json"]))
    .json();
    assert_eq!(listed[0]["created_at"], "2026-11-25T15:20:00.5");
    // A REMOVE of the shown message moves the rows back to the newest remaining one by
    // instant: 15:13:25 UTC (the -04:00 first message), not 15:10:00.
    env.delete_item(&format!("MSG#{}", c.id), "2026-11-25T15:20:00.5");
    stream(&env, &[]);
    let rows = assert_invariant(&env, "after the REMOVE");
    assert_eq!(carried(&rows, &c.id).0, "2026-11-25T11:13:25.012737-04:00");
}

#[test]
fn removing_the_last_message_keeps_the_rows() {
    let env = TestEnv::with_table("inv-empty");
    let c = conversation(5);
    start(&env, &c, T0);
    env.delete_item(&format!("MSG#{}", c.id), T0);
    let out = run_event(
        env.ddb(),
        &[record(&env, 1, "REMOVE", &c.message(T0, "hello"))],
    )
    .json();
    assert_eq!(
        texts(&out),
        ["skipped: no message of the conversation is left"]
    );
    let rows = assert_invariant(&env, "no messages left");
    assert_eq!(rows[&c.id].len(), 2);
}

/// The same records as one event (coalesced) and one event per record end in the same state.
#[test]
fn coalescing_changes_no_final_state() {
    let together = TestEnv::with_table("inv-coalesced");
    let apart = TestEnv::with_table("inv-apart");
    let mut finals = Vec::new();
    for (env, one_by_one) in [(&together, false), (&apart, true)] {
        let convs: Vec<Conversation> = (20..24).map(conversation).collect();
        let mut records = Vec::new();
        let mut seq = 0;
        for (n, c) in convs.iter().enumerate() {
            start(env, c, T0);
            // Out of order, a duplicate, a MODIFY, and a message deleted since.
            for (second, text) in [(30, "thirty"), (10, "ten"), (20, "twenty"), (30, "thirty")] {
                let m = c.message(&at(second + n as u32), text);
                env.put_items(vec![m.clone()]);
                seq += 1;
                records.push(record(
                    env,
                    seq,
                    if seq % 4 == 0 { "MODIFY" } else { "INSERT" },
                    &m,
                ));
            }
            let gone = c.message(&at(40 + n as u32), "deleted since");
            seq += 1;
            records.push(record(env, seq, "INSERT", &gone));
        }
        // The last conversation: its newest message is removed after being applied.
        let last = &convs[3];
        let shown = last.message(&at(50), "shown then removed");
        env.put_items(vec![shown.clone()]);
        records.push(record(env, seq + 1, "INSERT", &shown));
        records.push(record(env, seq + 2, "REMOVE", &shown));
        env.delete_item(&format!("MSG#{}", last.id), &at(50));
        if one_by_one {
            for r in &records {
                let out = run_event(env.ddb(), std::slice::from_ref(r)).json();
                assert_eq!(out["summary"]["failed"], 0, "{out:#}");
            }
        } else {
            let out = run_event(env.ddb(), &records).json();
            assert_eq!(out["summary"]["failed"], 0, "{out:#}");
            // Per conversation: the last record of 30 applied, the other three superseded,
            // 40 gone; the last conversation also has 50 (gone) and its REMOVE.
            let t = texts(&out);
            let count = |p: &dyn Fn(&String) -> bool| t.iter().filter(|o| p(o)).count();
            assert_eq!(t.len(), 22, "{t:?}");
            assert_eq!(count(&|o| o == "updated 2 groups"), 4, "{t:?}");
            assert_eq!(
                count(&|o| o.starts_with("skipped: superseded by")),
                12,
                "{t:?}"
            );
            assert_eq!(
                count(&|o| o == "skipped: message no longer exists"),
                5,
                "{t:?}"
            );
            assert_eq!(
                count(&|o| o == "skipped: REMOVE of a message no row shows"),
                1,
                "{t:?}"
            );
        }
        finals.push(assert_invariant(
            env,
            if one_by_one {
                "one by one"
            } else {
                "coalesced"
            },
        ));
    }
    assert_eq!(finals[0], finals[1]);
}

/// A conversation that fails makes every record of it in the batch fail (so a checkpoint or
/// Lambda retries them all); other conversations go on.
#[test]
fn a_failed_conversation_fails_all_its_records() {
    let env = TestEnv::with_table("inv-fail");
    let bad = conversation(30);
    let good = conversation(31);
    start(&env, &bad, T0);
    start(&env, &good, T0);
    // bad.a already has another conversation's row at the sk bad's newest message wants:
    // moving there would overwrite that conversation, so it must fail.
    let clash = clashing_row(&bad.a, &at(9), "another conversation", ("Cy", "cy"));
    env.put_items(vec![clash]);
    let older = bad.message(&at(3), "older");
    let newer = bad.message(&at(9), "collides");
    let fine = good.message(&at(8), "fine");
    env.put_items(vec![older.clone(), newer.clone(), fine.clone()]);
    let r = run_event(
        env.ddb(),
        &[
            record(&env, 1, "INSERT", &older),
            record(&env, 2, "INSERT", &fine),
            record(&env, 3, "INSERT", &newer),
        ],
    );
    assert_eq!(r.code, 7, "{}\n{}", r.stderr, r.stdout);
    let out: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        out["batchItemFailures"],
        json!([{"itemIdentifier": format!("{:021}", 1)}, {"itemIdentifier": format!("{:021}", 3)}])
    );
    let t = texts(&out);
    assert!(
        t[0].starts_with("failed: ") && t[0].contains("another conversation"),
        "{t:?}"
    );
    assert_eq!(t[0], t[2]);
    assert_eq!(t[1], "updated 2 groups");
    assert!(r.stderr.contains("2 of 3 records failed"), "{}", r.stderr);
}

// --- The checker itself ----------------------------------------------------------------------

/// Replace everything in the table with `items` (SDK only).
fn replace_all(env: &TestEnv, items: Vec<Item>) {
    for item in env.scan_all() {
        env.delete_item(&s(&item, "pk"), &s(&item, "sk"));
    }
    env.put_items(items);
}

/// The checker's verdict on the table: Err with its message when it finds a problem.
fn verdict(env: &TestEnv) -> Result<(), String> {
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert_invariant(env, "checker test");
    }));
    checked.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

#[test]
fn the_checker_catches_a_deleted_row_a_duplicate_a_stale_row_and_a_missing_conversation() {
    let env = TestEnv::with_table("inv-checker");
    let c = conversation(40);
    let hello = c.message(T0, "hello");
    let five = c.message(&at(5), "five");
    let good = || {
        let mut items = c.rows(&at(5), "five", SOMEONE);
        items.extend([hello.clone(), five.clone()]);
        items
    };
    replace_all(&env, good());
    assert_eq!(verdict(&env), Ok(()), "a conversation as it should be");
    let [row_a, row_b]: [Item; 2] = c.rows(&at(5), "five", SOMEONE).try_into().unwrap();
    let stale_b = c.rows(T0, "hello", SOMEONE).remove(1);
    let cases: Vec<(&str, Vec<Item>, &str)> = vec![
        (
            "a deleted row",
            vec![row_a.clone(), hello.clone(), five.clone()],
            "has 0 rows",
        ),
        (
            "a duplicate row",
            [good(), vec![c.rows(T0, "hello", SOMEONE).remove(0)]].concat(),
            "has 2 rows",
        ),
        (
            "a stale row",
            vec![row_a.clone(), stale_b, hello.clone(), five.clone()],
            "the newest existing message is",
        ),
        (
            "a stale text (the message was edited)",
            vec![
                row_a.clone(),
                row_b.clone(),
                hello.clone(),
                c.message(&at(5), "five, edited"),
            ],
            "the newest existing message is",
        ),
        (
            "a missing conversation (both rows deleted)",
            vec![hello.clone(), five.clone()],
            "exactly two participants",
        ),
    ];
    for (case, items, needle) in cases {
        replace_all(&env, items);
        let found = verdict(&env).expect_err(case);
        assert!(
            found.contains(&c.id) && found.contains(needle),
            "{case}: {found}"
        );
    }
}

// --- Issue 17: edits, oversized rows, odd sort keys -------------------------------------------

/// The two GRP# rows of `c`, read with the SDK, as (owner, sk, message, truncated marker).
fn rows_of(
    env: &TestEnv,
    c: &Conversation,
) -> Vec<(String, String, String, Option<AttributeValue>)> {
    let mut rows: Vec<_> = env
        .index_rows(&c.id)
        .iter()
        .map(|r| {
            (
                s(r, "pk"),
                s(r, "sk"),
                s(r, "message"),
                r.get("message_truncated").cloned(),
            )
        })
        .collect();
    rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    rows
}

/// Issue 17, case 3: a MODIFY of the newest message (same keys, new text) rewrites both rows;
/// a replay of its old INSERT afterwards never brings the old text back.
#[test]
fn an_edit_of_the_newest_message_reaches_the_rows() {
    let env = TestEnv::with_table("inv-edit");
    let (c, five) = with_message(&env, 50, 5, "five");
    let out = run_event(env.ddb(), &[record(&env, 1, "INSERT", &five)]).json();
    assert_eq!(texts(&out), ["updated 2 groups"]);
    let mut edited = five.clone();
    edited.insert("message".into(), AttributeValue::S("five, edited".into()));
    env.put_items(vec![edited.clone()]);
    let out = run_event(env.ddb(), &[record(&env, 2, "MODIFY", &edited)]).json();
    assert_eq!(texts(&out), ["updated 2 groups"], "{out:#}");
    let rows = assert_invariant(&env, "after the MODIFY");
    assert_eq!(carried(&rows, &c.id), (at(5), "five, edited".to_string()));
    // The old INSERT delivered again (a retried batch, a replay): the rows keep the text the
    // message has now, and the same MODIFY again changes nothing.
    let out = run_event(env.ddb(), &[record(&env, 1, "INSERT", &five)]).json();
    assert_eq!(texts(&out), ["skipped: the rows already show this message"]);
    let out = run_event(env.ddb(), &[record(&env, 2, "MODIFY", &edited)]).json();
    assert_eq!(texts(&out), ["skipped: the rows already show this message"]);
    let rows = assert_invariant(&env, "after the replays");
    assert_eq!(carried(&rows, &c.id), (at(5), "five, edited".to_string()));
}

/// A stale INSERT of a message edited since is applied with the text the message has now.
#[test]
fn a_record_older_than_its_messages_edit_carries_the_text_now() {
    let env = TestEnv::with_table("inv-edit-stale");
    let (c, six) = with_message(&env, 51, 6, "six");
    let mut edited = six.clone();
    edited.insert("message".into(), AttributeValue::S("six, edited".into()));
    env.put_items(vec![edited]);
    let out = run_event(env.ddb(), &[record(&env, 1, "INSERT", &six)]).json();
    assert_eq!(texts(&out), ["updated 2 groups"], "{out:#}");
    let rows = assert_invariant(&env, "after the stale INSERT");
    assert_eq!(carried(&rows, &c.id), (at(6), "six, edited".to_string()));
}

/// Issue 17, case 5 (the handler's side): a message another client wrote whose rows would
/// not fit in 400 KB moves the rows anyway, carrying a marked, truncated preview.
#[test]
fn a_message_too_big_for_its_rows_is_carried_as_a_preview() {
    let env = TestEnv::with_table("inv-big");
    let c = conversation(52);
    start(&env, &c, T0);
    // The message item at exactly 409,600 bytes (names plus UTF-8 values, as DynamoDB counts):
    // the rows hold a longer uuid attribute (message_group_uuid) and the other's names.
    let mut big = c.message(&at(9), "");
    let size = |item: &Item| -> usize {
        item.iter()
            .map(|(k, v)| {
                k.len()
                    + match v {
                        AttributeValue::S(s) => s.len(),
                        other => panic!("{other:?}"),
                    }
            })
            .sum()
    };
    let text = "é".repeat((409_600 - size(&big)) / 2);
    big.insert("message".into(), AttributeValue::S(text.clone()));
    assert!(size(&big) <= 409_600);
    env.put_items(vec![big.clone()]);
    let r = run_event(env.ddb(), &[record(&env, 1, "INSERT", &big)]);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.stdout);
    let out: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(texts(&out), ["updated 2 groups"]);
    let rows = rows_of(&env, &c);
    assert_eq!(rows.len(), 2);
    for (_, sk, shown, marker) in &rows {
        assert_eq!(sk, &at(9));
        assert_eq!(marker, &Some(AttributeValue::Bool(true)));
        assert!(text.starts_with(shown.as_str()) && shown.len() < text.len());
        assert!(shown.len() > 409_000, "as much as fits: {}", shown.len());
    }
    assert_invariant(&env, "a truncated preview");
    // A newer, small message: the rows move on and the marker goes.
    let small = c.message(&at(10), "small again");
    env.put_items(vec![small.clone()]);
    run_event(env.ddb(), &[record(&env, 2, "INSERT", &small)]).ok();
    let rows = assert_invariant(&env, "a small message after the preview");
    assert_eq!(carried(&rows, &c.id), (at(10), "small again".to_string()));
    let markers: Vec<_> = rows_of(&env, &c).into_iter().map(|r| r.3).collect();
    assert_eq!(markers, [None, None], "the marker goes");
}

/// Issue 17, case 8: a sort key with a leading space is not a timestamp (it sorts before every
/// one, where a newest-first read never looks): its record is refused, never applied.
#[test]
fn a_sort_key_with_a_leading_space_never_becomes_the_newest() {
    let env = TestEnv::with_table("inv-space");
    let (c, two) = with_message(&env, 53, 2, "two");
    let dir = tempfile::tempdir().unwrap();
    let cp = dir.path().join("cp.json");
    let cp = cp.to_str().unwrap();
    let out = stream(&env, &["--checkpoint", cp]);
    assert_eq!(out["summary"]["failed"], 0, "{out:#}");
    let spaced = c.message(&format!(" {}", at(20)), "leading space");
    env.put_items(vec![spaced.clone()]);
    // On the stream its record fails (to be retried or dead-lettered), the rows stay.
    let r = from_trim_horizon(env.ddb(), &["--checkpoint", cp]);
    let rows = assert_invariant(&env, "after a leading-space sort key");
    assert_eq!(carried(&rows, &c.id), (at(2), "two".to_string()));
    assert_eq!(r.code, 7, "{}", r.stderr);
    let out: Value = serde_json::from_str(&r.stdout).unwrap();
    let pk = format!("MSG#{}", c.id);
    let spaced_sk = format!(" {}", at(20));
    let outcome = outcomes_for(&out, &pk, &spaced_sk);
    assert_eq!(outcome.len(), 1, "{out:#}");
    assert!(
        outcome[0].starts_with("failed: invalid message record: dynamodb.NewImage.sk: ' 2026"),
        "{outcome:?}"
    );
    // An event file with it is refused whole before any write (exit 8).
    let r = run_event(env.ddb(), &[record(&env, 2, "INSERT", &spaced)]);
    r.assert_exit(8, &[".NewImage.sk: ' 2026-01-01T00:00:20"]);
    // A REMOVE of the newest message settles on the newest timestamped one left.
    env.delete_item(&pk, &at(2));
    run_event(env.ddb(), &[record(&env, 3, "REMOVE", &two)]).ok();
    let rows = assert_invariant(&env, "after the REMOVE");
    assert_eq!(carried(&rows, &c.id), (T0.to_string(), "hello".to_string()));
}
