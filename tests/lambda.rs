//! Lambda mode: the binary started as `bootstrap` (no arguments, configured by the Lambda
//! environment only) serves DynamoDB Streams events from a Runtime API emulator, moves GRP#
//! rows in DynamoDB Local, and writes one metrics line (CloudWatch's Embedded Metric Format) per
//! invocation. The template it deploys with, and what it may do on AWS: tests/deploy.rs.
//!
//! `DDB_LAMBDA_BOOTSTRAP=/path/to/bootstrap` runs these against another build of the binary
//! (the one in the deployment zip: `just lambda-check`).

mod common;

use std::time::Duration;

use common::items::{clashing_row, ts, OTHER_GROUP, SOMEONE};
use common::lambda::{
    assert_group_at, event, failures, group, record, rows_of, seq, Function, FUNCTION_NAME,
};
use common::runtime_api::Answer;
use common::{bare_ddb, run, s, TestEnv};
use serde_json::{json, Value};

/// CloudWatch's metric units, as the CloudWatch API reference lists them (MetricDatum.Unit).
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

fn now_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.unwrap().as_millis() as u64
}

/// `line` is an Embedded Metric Format document as CloudWatch's specification defines it, made
/// between `from` and `to` (ms since the epoch); returns its metrics by name with their units.
/// Written from the specification: `_aws` holds a Timestamp and CloudWatchMetrics directives,
/// each with a Namespace (not `AWS/`), DimensionSets of at most 30 keys naming string members
/// of the root, and at most 100 Metrics naming number members of the root, with valid units.
fn emf_metrics(line: &Value, from: u64, to: u64) -> Vec<(String, String)> {
    let aws = &line["_aws"];
    let at = aws["Timestamp"]
        .as_u64()
        .expect("Timestamp: ms since the epoch");
    assert!(
        (from..=to).contains(&at),
        "Timestamp {at} not in {from}..={to}"
    );
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .expect("CloudWatchMetrics");
    assert!(!directives.is_empty());
    let mut out = Vec::new();
    for d in directives {
        let ns = d["Namespace"].as_str().expect("Namespace");
        assert!(
            (1..=1024).contains(&ns.len()) && !ns.starts_with("AWS/"),
            "{ns}"
        );
        for set in d["Dimensions"].as_array().expect("Dimensions") {
            let keys = set.as_array().expect("a DimensionSet");
            assert!(keys.len() <= 30);
            for k in keys {
                let k = k.as_str().expect("a dimension key");
                assert!(line[k].is_string(), "dimension {k} is not a string member");
            }
        }
        let metrics = d["Metrics"].as_array().expect("Metrics");
        assert!(!metrics.is_empty() && metrics.len() <= 100);
        for m in metrics {
            let name = m["Name"].as_str().expect("Name");
            assert!(
                line[name].is_number(),
                "metric {name} is not a number member"
            );
            let unit = m["Unit"].as_str().unwrap_or("None");
            assert!(UNITS.contains(&unit), "unit {unit}");
            out.push((name.to_string(), unit.to_string()));
        }
    }
    out
}

/// The invocation's metrics line, checked against the specification, with exactly these counts
/// of records, conversations moved, records skipped and records failed.
fn assert_metrics(line: &Value, from: u64, to: u64, counts: [u64; 4]) {
    let want = ["Records", "ConversationsMoved", "Skipped", "Failed"]
        .into_iter()
        .zip(counts);
    let metrics = emf_metrics(line, from, to);
    let names: Vec<&str> = metrics.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Records",
            "ConversationsMoved",
            "Skipped",
            "Failed",
            "Duration"
        ]
    );
    assert!(metrics.contains(&("Duration".into(), "Milliseconds".into())));
    for (name, n) in want {
        assert_eq!(line[name], n, "{name} in {line}");
    }
    let duration = line["Duration"].as_u64().expect("Duration");
    assert!(
        duration <= to - from,
        "{duration} ms for an invocation of {} ms",
        to - from
    );
    assert_eq!(line["FunctionName"], FUNCTION_NAME);
}

#[test]
fn a_multi_record_event_moves_both_group_rows_and_a_replay_changes_nothing() {
    let env = TestEnv::with_table("lambda-batch");
    let g1 = group(&env, 1, &ts(0));
    let g2 = group(&env, 2, &ts(0));
    let f = Function::start(&env);
    let records = vec![
        record(1, "INSERT", &g1.message(&ts(3), "newest of g1")),
        record(2, "INSERT", &g2.message(&ts(4), "only of g2")),
        record(3, "INSERT", &g1.message(&ts(2), "older of g1")),
        record(4, "INSERT", &g1.rows(&ts(3), "first words", SOMEONE)[0]),
        record(5, "REMOVE", &g2.message(&ts(1), "gone")),
    ];
    let from = now_ms();
    let resp = f.batch(records.clone());
    let to = now_ms();
    assert_eq!(resp, json!({"batchItemFailures": []}));
    assert_group_at(&env, &g1, &ts(3), "newest of g1");
    assert_group_at(&env, &g2, &ts(4), "only of g2");
    let metrics = f.metric_lines(1);
    let logs = f.record_logs();
    assert_eq!(logs.len(), 5, "one log line per record: {logs:?}");
    let outcome = |n: u32| {
        logs.iter()
            .find(|l| l["sequence_number"] == seq(n))
            .map(|l| {
                (
                    l["status"].as_str().unwrap().to_string(),
                    l["retried"].clone(),
                )
            })
            .unwrap()
    };
    assert_eq!(outcome(1), ("updated".into(), json!(false)));
    assert_eq!(outcome(2), ("updated".into(), json!(false)));
    assert_eq!(outcome(3), ("skipped".into(), json!(false)));
    assert_eq!(outcome(4), ("skipped".into(), json!(false)));
    assert_eq!(outcome(5), ("skipped".into(), json!(false)));
    // Five record lines and one metrics line for the invocation: two conversations moved, by
    // records 1 and 2; 3 is superseded by 1, 4 is a GRP# row, 5 removes a message no row shows.
    assert_eq!(metrics.len(), 1, "{metrics:?}");
    assert_eq!(f.logs().len(), 6);
    assert_metrics(&metrics[0], from, to, [5, 2, 3, 0]);
    assert_eq!(metrics[0]["batch_item_failures"], 0);

    // The same event again (Lambda redelivers after a lost response): nothing changes.
    let before = env.scan_all().len();
    let rows = (rows_of(&env, &g1), rows_of(&env, &g2));
    let from = now_ms();
    let resp = f.batch(records);
    let to = now_ms();
    assert_eq!(resp, json!({"batchItemFailures": []}));
    assert_eq!((rows_of(&env, &g1), rows_of(&env, &g2)), rows);
    assert_eq!(env.scan_all().len(), before);
    let metrics = f.metric_lines(2);
    let replayed = &f.record_logs()[5..];
    assert_eq!(replayed.len(), 5);
    assert!(
        replayed.iter().all(|l| l["status"] == "skipped"),
        "a replay updates nothing: {replayed:?}"
    );
    assert_eq!(metrics.len(), 2);
    assert_metrics(&metrics[1], from, to, [5, 0, 5, 0]);
}

#[test]
fn a_failed_record_and_everything_after_it_is_reported_then_retried_from_there() {
    let env = TestEnv::with_table("lambda-partial");
    let g1 = group(&env, 11, &ts(0));
    let g2 = group(&env, 12, &ts(0));
    let g3 = group(&env, 13, &ts(0));
    // g2's participant A already has another conversation's row at the sk g2's message wants:
    // moving A's row there would overwrite that conversation, so the record fails.
    let blocker = clashing_row(&g2.a, &ts(7), "first words", ("Someone", "someone"));
    env.put_items(vec![blocker.clone()]);
    let f = Function::start(&env);
    let records = vec![
        record(1, "INSERT", &g1.message(&ts(5), "fine before")),
        record(2, "INSERT", &g2.message(&ts(7), "collides")),
        record(3, "INSERT", &g3.message(&ts(8), "fine after")),
    ];
    let from = now_ms();
    let resp = f.batch(records.clone());
    let to = now_ms();
    // Lambda checkpoints at the lowest reported record and delivers everything after it again.
    assert_eq!(failures(&resp), [seq(2), seq(3)]);
    // One record failed; two are reported for retry (the metric counts the failure, the
    // line says how many go round again).
    let metrics = f.metric_lines(1);
    assert_metrics(&metrics[0], from, to, [3, 2, 0, 1]);
    assert_eq!(metrics[0]["batch_item_failures"], 2);
    assert_group_at(&env, &g1, &ts(5), "fine before");
    // g3 was handled (conversations run concurrently) yet reported: its redelivery is harmless.
    assert_group_at(&env, &g3, &ts(8), "fine after");
    // The other conversation's row is intact, and A's row of g2 did not move.
    let a_rows: Vec<(String, String)> = env
        .query_pk(&format!("GRP#{}", g2.a))
        .iter()
        .map(|r| (s(r, "sk"), s(r, "message_group_uuid")))
        .collect();
    assert_eq!(
        a_rows,
        [(ts(0), g2.id.clone()), (ts(7), OTHER_GROUP.to_string())]
    );
    let logs = f.record_logs();
    assert_eq!(logs.len(), 3);
    let failed = logs
        .iter()
        .find(|l| l["sequence_number"] == seq(2))
        .unwrap();
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["outcome"]
            .as_str()
            .unwrap()
            .contains("another conversation"),
        "{failed}"
    );
    let retried: Vec<_> = logs
        .iter()
        .filter(|l| l["retried"] == true)
        .map(|l| l["sequence_number"].clone())
        .collect();
    assert_eq!(retried, [json!(seq(2)), json!(seq(3))]);

    // The blocker goes; Lambda delivers the batch again from the checkpoint.
    env.delete_item(&s(&blocker, "pk"), &s(&blocker, "sk"));
    let resp = f.batch(records[1..].to_vec());
    assert_eq!(resp, json!({"batchItemFailures": []}));
    assert_group_at(&env, &g2, &ts(7), "collides");
    assert_group_at(&env, &g3, &ts(8), "fine after");
}

#[test]
fn a_bad_event_is_an_error_response_and_the_function_keeps_serving() {
    let env = TestEnv::with_table("lambda-bad");
    let g = group(&env, 21, &ts(0));
    let f = Function::start(&env);
    let before = env.scan_all().len();

    let mut broken = record(2, "INSERT", &g.message(&ts(9), "x"));
    broken["dynamodb"]["Keys"]["sk"] = json!({"N": "not a number"});
    let answer = f.api.invoke(&event(
        &env.table,
        vec![record(1, "INSERT", &g.message(&ts(8), "y")), broken],
    ));
    let Answer::Error(e) = answer else {
        panic!("expected an error response, got {answer:?}");
    };
    assert_eq!(e["errorType"], "InvalidEvent", "{e}");
    let message = e["errorMessage"].as_str().unwrap();
    assert!(message.contains("Records[1].dynamodb.Keys.sk"), "{message}");

    let answer = f
        .api
        .invoke(&json!({"detail": "an EventBridge event, not a stream"}));
    assert!(
        matches!(&answer, Answer::Error(e) if e["errorMessage"].as_str().unwrap().contains("Records")),
        "{answer:?}"
    );

    let answer = f
        .api
        .invoke_raw(b"not json at all", Duration::from_secs(60));
    assert!(matches!(answer, Answer::Error(_)), "{answer:?}");

    // A metrics line for each event that reached the handler, bad ones too: every record of
    // the first (two) will be delivered again, the second holds none. The text that is not
    // JSON is refused by the runtime library before the handler sees it.
    let metrics = f.metric_lines(2);
    let failed: Vec<(&Value, &Value)> = metrics
        .iter()
        .map(|m| (&m["Records"], &m["Failed"]))
        .collect();
    assert_eq!(failed, [(&json!(2), &json!(2)), (&json!(0), &json!(0))]);

    // Nothing was written, and the same process still serves the next event.
    assert_eq!(env.scan_all().len(), before);
    assert_group_at(&env, &g, &ts(0), "first words");
    let resp = f.batch(vec![record(
        3,
        "INSERT",
        &g.message(&ts(10), "after the bad ones"),
    )]);
    assert_eq!(resp, json!({"batchItemFailures": []}));
    assert_group_at(&env, &g, &ts(10), "after the bad ones");
}

#[test]
fn records_not_started_before_the_deadline_are_reported_not_lost() {
    let env = TestEnv::with_table("lambda-deadline");
    let g1 = group(&env, 31, &ts(0));
    let g2 = group(&env, 32, &ts(0));
    let f = Function::start(&env);
    let records = vec![
        record(1, "INSERT", &g1.message(&ts(5), "one")),
        record(2, "INSERT", &g2.message(&ts(6), "two")),
    ];
    // Less time than the function keeps in reserve: it starts nothing and answers at once,
    // reporting every record, instead of being timed out with its work half done.
    let answer = f.api.invoke_with_deadline(
        event(&env.table, records.clone()).to_string().as_bytes(),
        Duration::from_secs(60),
        Duration::from_secs(2),
    );
    let Answer::Response(resp) = answer else {
        panic!("expected a response, got {answer:?}");
    };
    assert_eq!(failures(&resp), [seq(1), seq(2)]);
    assert_group_at(&env, &g1, &ts(0), "first words");
    assert_group_at(&env, &g2, &ts(0), "first words");
    let metrics = f.metric_lines(1);
    let logs = f.record_logs();
    assert_eq!(logs.len(), 2);
    assert!(
        logs.iter()
            .all(|l| l["outcome"] == "not handled" && l["retried"] == true),
        "{logs:?}"
    );
    assert_eq!(
        (&metrics[0]["Records"], &metrics[0]["Failed"]),
        (&json!(2), &json!(2))
    );
    // Delivered again with time to spare, both apply.
    assert_eq!(f.batch(records), json!({"batchItemFailures": []}));
    assert_group_at(&env, &g1, &ts(5), "one");
    assert_group_at(&env, &g2, &ts(6), "two");
}

#[test]
fn outside_lambda_it_says_so_in_one_line() {
    let r = run(bare_ddb().arg("lambda"));
    assert_eq!(r.code, 2, "stderr: {}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("error: `ddb lambda` runs inside AWS Lambda"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("AWS_LAMBDA_RUNTIME_API"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}
