//! `ddb diff` against DynamoDB Local: two sides with a known set of added, removed and changed
//! items (and a change only in an ignored attribute, and a set written in another order) give
//! exactly that set, table↔table, table↔export and export↔export; identical sides print
//! nothing. Items are written by hand (typed JSON lines, put with the SDK or laid out as an
//! AWS export by tests/common/exports.rs), the expected output too.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::types::AttributeValue;
use common::exports::{data_file, line, write_export};
use common::proxy::Faults;
use common::{run, Item, TestEnv};
use serde_json::{json, Value};

/// The left side: (pk, sk, the other attributes as typed JSON, each with a leading comma).
const LEFT: &[(&str, &str, &str)] = &[
    ("MSG#g1", "t1", r#","message":{"S":"one"}"#),
    ("MSG#g1", "t2", r#","message":{"S":"two"}"#),
    ("MSG#g1", "t3", r#","message":{"S":"three"}"#),
    ("MSG#g2", "t2", r#","message":{"S":"2"}"#),
    ("MSG#g2", "t3", r#","message":{"S":"3"},"n":{"N":"10"}"#),
    ("MSG#g2", "t4", r#","tags":{"SS":["a","b"]}"#),
    (
        "GRP#u1",
        "t6",
        r#","message":{"S":"three"},"user_display_name":{"S":"Al"}"#,
    ),
    (
        "GRP#u2",
        "t6",
        r#","message":{"S":"three"},"user_display_name":{"S":"Bea"}"#,
    ),
];

/// The right side: two removed, two changed, one changed only in user_display_name, one set
/// in another order, three added.
const RIGHT: &[(&str, &str, &str)] = &[
    ("MSG#g1", "t2", r#","message":{"S":"two"}"#),
    (
        "MSG#g1",
        "t3",
        r#","message":{"S":"three!"},"edited":{"BOOL":true}"#,
    ),
    ("MSG#g2", "t3", r#","message":{"S":"3"},"n":{"N":"11"}"#),
    ("MSG#g2", "t4", r#","tags":{"SS":["b","a"]}"#),
    ("MSG#g2", "t5", r#","message":{"S":"5"}"#),
    ("MSG#g3", "t1", r#","message":{"S":"new"}"#),
    (
        "GRP#u1",
        "t6",
        r#","message":{"S":"three"},"user_display_name":{"S":"Albert"}"#,
    ),
    (
        "GRP#u2",
        "t6",
        r#","message":{"S":"three"},"user_display_name":{"S":"Bea"}"#,
    ),
    ("GRP#u3", "t1", r#","message":{"S":"new"}"#),
];

/// What `diff LEFT RIGHT --ignore user_display_name` prints, in key order.
const EXPECTED: &str = r#"+ GRP#u3  t1
- MSG#g1  t1
~ MSG#g1  t3
    + edited: true
    message: "three" → "three!"
- MSG#g2  t2
~ MSG#g2  t3
    n: 10 → 11
+ MSG#g2  t5
+ MSG#g3  t1
"#;

const SUMMARY: &str = "3 added, 2 removed, 2 changed (8 items left, 9 right)";

fn lines_of(side: &[(&str, &str, &str)]) -> Vec<String> {
    side.iter()
        .map(|(pk, sk, extra)| line(pk, sk, extra))
        .collect()
}

/// A typed JSON value as the SDK's (the few types these tests write).
fn value(v: &Value) -> AttributeValue {
    let (tag, inner) = v.as_object().unwrap().iter().next().unwrap();
    match tag.as_str() {
        "S" => AttributeValue::S(inner.as_str().unwrap().into()),
        "N" => AttributeValue::N(inner.as_str().unwrap().into()),
        "BOOL" => AttributeValue::Bool(inner.as_bool().unwrap()),
        "SS" => AttributeValue::Ss(
            inner
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect(),
        ),
        other => panic!("no {other} in these tests"),
    }
}

fn items_of(side: &[(&str, &str, &str)]) -> Vec<Item> {
    lines_of(side)
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let item: HashMap<String, AttributeValue> = v["Item"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), value(v)))
                .collect();
            item
        })
        .collect()
}

/// A table holding `side`, put with the SDK.
fn table(label: &str, side: &[(&str, &str, &str)]) -> TestEnv {
    let env = TestEnv::with_table(label);
    env.put_items(items_of(side));
    env
}

/// An AWS-layout export of `side` under `root`, its lines spread over two data files in an
/// order of their own.
fn export(root: &Path, side: &[(&str, &str, &str)]) -> PathBuf {
    let mut lines = lines_of(side);
    lines.reverse();
    let (first, second) = lines.split_at(lines.len() / 2);
    write_export(root, &[data_file(first), data_file(second)])
}

fn diff(env: &TestEnv, left: &str, right: &str, extra: &[&str]) -> common::Run {
    run(env.ddb().args(["diff", left, right]).args(extra))
}

#[test]
fn table_to_table_prints_exactly_the_known_differences() {
    let left = table("diff-left", LEFT);
    let right = table("diff-right", RIGHT);
    let out = diff(
        &left,
        &left.table,
        &right.table,
        &["--ignore", "user_display_name"],
    );
    assert_eq!(out.stdout, EXPECTED);
    assert_eq!(out.stderr.trim_end(), SUMMARY);
    assert_eq!(out.code, 0);

    // Without --ignore, the display name's change is one more.
    let out = diff(&left, &left.table, &right.table, &[]);
    let shown = format!("~ GRP#u1  t6\n    user_display_name: \"Al\" → \"Albert\"\n{EXPECTED}");
    assert_eq!(out.stdout, shown);

    // One typed object per difference.
    let out = diff(
        &left,
        &left.table,
        &right.table,
        &["--ignore", "user_display_name", "-o", "ndjson"],
    );
    let objects: Vec<Value> = out
        .ok()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let key = |pk: &str, sk: &str| json!({"pk": {"S": pk}, "sk": {"S": sk}});
    assert_eq!(objects.len(), 7);
    assert_eq!(
        objects[0],
        json!({"kind": "added", "key": key("GRP#u3", "t1"),
               "right": {"pk": {"S": "GRP#u3"}, "sk": {"S": "t1"}, "message": {"S": "new"}}})
    );
    assert_eq!(
        objects[1],
        json!({"kind": "removed", "key": key("MSG#g1", "t1"),
               "left": {"pk": {"S": "MSG#g1"}, "sk": {"S": "t1"}, "message": {"S": "one"}}})
    );
    assert_eq!(
        objects[2],
        json!({"kind": "changed", "key": key("MSG#g1", "t3"), "changes": [
            {"attribute": "edited", "right": {"BOOL": true}},
            {"attribute": "message", "left": {"S": "three"}, "right": {"S": "three!"}}]})
    );
    assert_eq!(
        objects[4],
        json!({"kind": "changed", "key": key("MSG#g2", "t3"), "changes": [
            {"attribute": "n", "left": {"N": "10"}, "right": {"N": "11"}}]})
    );
    let kinds: Vec<&str> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["added", "removed", "changed", "removed", "changed", "added", "added"]
    );

    // --keys-only: which keys exist; --pk-prefix: one part of the table.
    let out = diff(&left, &left.table, &right.table, &["--keys-only"]);
    assert_eq!(
        out.stdout,
        "+ GRP#u3  t1\n- MSG#g1  t1\n- MSG#g2  t2\n+ MSG#g2  t5\n+ MSG#g3  t1\n"
    );
    let out = diff(
        &left,
        &left.table,
        &right.table,
        &["--keys-only", "--pk-prefix", "GRP#"],
    );
    assert_eq!(out.stdout, "+ GRP#u3  t1\n");
    assert_eq!(
        out.stderr.trim_end(),
        "1 added, 0 removed, 0 changed (2 items left, 3 right)"
    );

    // --stat: counts only.
    let out = diff(
        &left,
        &left.table,
        &right.table,
        &["--stat", "--ignore", "user_display_name"],
    );
    assert_eq!(
        out.ok(),
        "prefix     added   removed   changed\n\
         GRP#           1         0         0\n\
         MSG#           2         2         2\n\
         total          3         2         2\n\
         4 unchanged; 8 items left, 9 right\n"
    );
    let out = diff(&left, &left.table, &right.table, &["--stat", "-o", "json"]).json();
    assert_eq!(
        out,
        json!({"added": 3, "removed": 2, "changed": 3, "unchanged": 3, "left_items": 8,
               "right_items": 9, "by_prefix": {"GRP#": {"added": 1, "removed": 0, "changed": 1},
               "MSG#": {"added": 2, "removed": 2, "changed": 2}}})
    );

    // --exit-code: 1 when they differ, the differences still printed, no error line.
    let out = diff(
        &left,
        &left.table,
        &right.table,
        &["--exit-code", "--ignore", "user_display_name"],
    );
    assert_eq!((out.code, out.stdout.as_str()), (1, EXPECTED));
    assert_eq!(out.stderr.trim_end(), SUMMARY);
}

#[test]
fn a_table_against_an_export_and_two_exports() {
    let left = table("diff-export", LEFT);
    let dir = tempfile::tempdir().unwrap();
    let right = export(&dir.path().join("right"), RIGHT);
    let right = right.to_str().unwrap();
    let out = diff(
        &left,
        &left.table,
        right,
        &["--ignore", "user_display_name"],
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, EXPECTED),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.trim_end(), SUMMARY);

    let left_export = export(&dir.path().join("left"), LEFT);
    let left_export = left_export.to_str().unwrap();
    let out = diff(
        &left,
        left_export,
        right,
        &["--ignore", "user_display_name"],
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, EXPECTED),
        "{}",
        out.stderr
    );
    // The other way round, additions are removals.
    let out = diff(&left, right, left_export, &["--keys-only"]);
    assert_eq!(
        out.stdout,
        "- GRP#u3  t1\n+ MSG#g1  t1\n+ MSG#g2  t2\n- MSG#g2  t5\n- MSG#g3  t1\n"
    );
    // A lone data file is a side too (AWS's layout, gzip JSON lines).
    let data = std::fs::read_dir(Path::new(left_export).join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .next()
        .unwrap();
    let out = diff(
        &left,
        data.to_str().unwrap(),
        left_export,
        &["--stat", "-o", "json"],
    )
    .json();
    assert_eq!(
        (out["added"].as_u64(), out["removed"].as_u64()),
        (Some(4), Some(0))
    );
}

#[test]
fn identical_sides_print_nothing_and_exit_0_with_exit_code() {
    let left = table("diff-same-l", LEFT);
    let right = table("diff-same-r", LEFT);
    let dir = tempfile::tempdir().unwrap();
    let exported = export(dir.path(), LEFT);
    for (a, b) in [
        (left.table.as_str(), right.table.as_str()),
        (left.table.as_str(), exported.to_str().unwrap()),
    ] {
        let out = diff(&left, a, b, &["--exit-code"]);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (0, "", "")
        );
    }
    let out = diff(&left, &left.table, &right.table, &["-o", "json"]);
    assert_eq!(out.ok(), "[]\n");
}

#[test]
fn sides_on_other_targets_each_use_their_own_endpoint() {
    let left = table("diff-target-l", LEFT);
    let right = table("diff-target-r", RIGHT);
    // The right table through a proxy that throttles some Scans: retried, counted, same result.
    let proxy = right.proxy(Faults {
        throttle: 0.5,
        max_consecutive: 2,
        seed: 7,
        ..Faults::on(&["Scan"])
    });
    // The global target answers nothing: each side names its own.
    let out = run(common::bare_ddb()
        .args([
            "--endpoint-url",
            "http://127.0.0.1:9",
            "diff",
            &left.table,
            &right.table,
        ])
        .args(["--left-endpoint-url", &left.endpoint])
        .args(["--right-endpoint-url", &proxy.endpoint()])
        .args(["--segments", "2", "--ignore", "user_display_name"]));
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, EXPECTED),
        "{}",
        out.stderr
    );
    let stats = proxy.stats();
    // DescribeTable and two segments' Scan (each one page), plus the throttled attempts.
    assert_eq!(stats.forwarded, 3, "{stats:?}");
    assert!(stats.throttled > 0, "no Scan was throttled: {stats:?}");
    assert_eq!(stats.requests, 3 + stats.throttled, "{stats:?}");
}

#[test]
fn bad_sides_are_named() {
    let env = TestEnv::new("diff-bad");
    let out = diff(&env, "no/such/folder", "x.json", &[]);
    out.assert_exit(
        2,
        &["'no/such/folder' is no file or folder, nor a table name"],
    );
    let out = diff(&env, &env.table, "table:nope-none", &[]);
    out.assert_exit(4, &[&env.table]);
    // An export holding one key twice.
    let dir = tempfile::tempdir().unwrap();
    let twice = [LEFT[0], LEFT[0]];
    let exported = write_export(dir.path(), &[data_file(&lines_of(&twice))]);
    let out = diff(
        &env,
        exported.to_str().unwrap(),
        exported.to_str().unwrap(),
        &[],
    );
    out.assert_exit(8, &["holds the same key twice"]);
}
