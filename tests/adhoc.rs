//! Ad hoc reads against DynamoDB Local: get-item, query (table and GSI), sql (PartiQL) and
//! --explain. Data is written with the SDK, and every result is compared with the same read
//! made independently through the SDK.

mod common;

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use serde_json::{json, Value};

use common::items::{self, numbered_uuid, Person};
use common::{bare_ddb, run, Item, TestEnv, ANDREW, BAYKO};

const GROUP: &str = "3d1f9a7e-2b4c-4e6d-8f01-23456789abcd";
const BIG: &str = "7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098";
const INDEX: &str = "message-group-sk-index";

fn sv(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// An independent plain-JSON view of an item (S as strings, N as numbers, B as base64).
fn plain(item: &Item) -> Value {
    let mut keys: Vec<&String> = item.keys().collect();
    keys.sort();
    Value::Object(
        keys.into_iter()
            .map(|k| {
                let v = match &item[k] {
                    AttributeValue::S(s) => json!(s),
                    AttributeValue::N(n) => serde_json::from_str(n).unwrap(),
                    AttributeValue::B(b) => json!(b64(b.as_ref())),
                    other => panic!("unexpected attribute {other:?}"),
                };
                (k.clone(), v)
            })
            .collect(),
    )
}

/// Key order does not matter for comparison: sort each object's keys.
fn normalise(v: Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut pairs: Vec<(String, Value)> = o.into_iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(pairs.into_iter().map(|(k, v)| (k, normalise(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(normalise).collect()),
        other => other,
    }
}

fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn array(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.into_iter().map(normalise).collect(),
        other => panic!("expected a JSON array, got {other}"),
    }
}

fn ndjson(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| normalise(serde_json::from_str(l).unwrap()))
        .collect()
}

fn ts(day: usize, i: usize) -> String {
    // 2025-12-20 plus `day` days, with a microsecond tail so every sk is distinct.
    let date =
        chrono::NaiveDate::from_ymd_opt(2025, 12, 20).unwrap() + chrono::Days::new(day as u64);
    format!("{}T09:30:00.{i:06}+00:00", date.format("%Y-%m-%d"))
}

/// The user of `handle` (bayko, else andrewbrown's uuid), shown by the handle in capitals.
fn user(handle: &str) -> (&'static str, String) {
    let uuid = if handle == "bayko" { BAYKO } else { ANDREW };
    (uuid, handle.to_uppercase())
}

/// Message `i` of `group`, sent by `handle`.
fn message(group: &str, sk: &str, i: usize, handle: &str, body: &str) -> Item {
    let (uuid, name) = user(handle);
    let from = Person {
        uuid,
        name: &name,
        handle,
    };
    items::message(group, sk, &numbered_uuid(i), body, from)
}

/// `owner`'s GRP# row of `group` at `sk`, naming `other_handle` and showing "last".
fn group_row(owner: &str, sk: &str, group: &str, other_handle: &str) -> Item {
    let (uuid, name) = user(other_handle);
    let other = Person {
        uuid,
        name: &name,
        handle: other_handle,
    };
    items::group_row(owner, group, sk, "last", other)
}

/// 40 messages in GROUP one a day from 2025-12-20 (12 in 2025, 28 in 2026), handles
/// alternating; two GRP# rows for GROUP and two for another conversation.
fn small(env: &TestEnv) {
    let mut items: Vec<Item> = (0..40)
        .map(|i| {
            let handle = if i % 2 == 0 { "andrewbrown" } else { "bayko" };
            message(GROUP, &ts(i, i), i, handle, &format!("message {i}"))
        })
        .collect();
    items.push(group_row(ANDREW, &ts(39, 39), GROUP, "bayko"));
    items.push(group_row(BAYKO, &ts(39, 39), GROUP, "andrewbrown"));
    items.push(group_row(ANDREW, &ts(5, 5), BIG, "bayko"));
    items.push(group_row(BAYKO, &ts(6, 6), BIG, "andrewbrown"));
    env.put_items(items);
}

/// The SDK's Query with an explicit condition, every page, ascending unless `desc`.
fn sdk_query(
    env: &TestEnv,
    index: Option<&str>,
    condition: &str,
    values: &[(&str, AttributeValue)],
    filter: Option<&str>,
    desc: bool,
) -> Vec<Item> {
    env.block_on(async {
        let mut request = env
            .client()
            .query()
            .table_name(&env.table)
            .set_index_name(index.map(str::to_string))
            .key_condition_expression(condition)
            .set_filter_expression(filter.map(str::to_string))
            .scan_index_forward(!desc);
        for (k, v) in values {
            request = request.expression_attribute_values(*k, v.clone());
        }
        let mut pages = request.into_paginator().send();
        let mut items = Vec::new();
        while let Some(page) = pages.next().await {
            items.extend(page.expect("query").items().iter().cloned());
        }
        items
    })
}

fn plains(items: &[Item]) -> Vec<Value> {
    items.iter().map(plain).collect()
}

fn query_json(env: &TestEnv, args: &[&str]) -> Vec<Value> {
    array(run(env.ddb().arg("query").args(args).args(["-o", "json"])).json())
}

#[test]
fn every_sort_key_operator_matches_the_sdk() {
    let env = TestEnv::with_table("adhoc-sk");
    small(&env);
    let pk = format!("MSG#{GROUP}");
    let (a, b) = (ts(10, 10), ts(20, 20));
    type Case<'a> = (Vec<&'a str>, &'a str, Vec<(&'a str, AttributeValue)>);
    // A flag that takes `a`: its condition binds :a to it.
    let with_a = |flag, condition| -> Case { (vec![flag, &a], condition, vec![(":a", sv(&a))]) };
    let cases: Vec<Case> = vec![
        (vec![], "pk = :p", vec![]),
        with_a("--sk-eq", "pk = :p AND sk = :a"),
        with_a("--sk-lt", "pk = :p AND sk < :a"),
        with_a("--sk-le", "pk = :p AND sk <= :a"),
        with_a("--sk-gt", "pk = :p AND sk > :a"),
        with_a("--sk-ge", "pk = :p AND sk >= :a"),
        (
            vec!["--sk-between", &a, &b],
            "pk = :p AND sk BETWEEN :a AND :b",
            vec![(":a", sv(&a)), (":b", sv(&b))],
        ),
        (
            vec!["--sk-begins-with", "2025"],
            "pk = :p AND begins_with(sk, :a)",
            vec![(":a", sv("2025"))],
        ),
    ];
    let expected_counts = [40, 1, 10, 11, 29, 30, 11, 12];
    for ((flags, condition, mut values), count) in cases.into_iter().zip(expected_counts) {
        values.push((":p", sv(&pk)));
        let want = plains(&sdk_query(&env, None, condition, &values, None, false));
        assert_eq!(want.len(), count, "{flags:?}");
        let mut line = vec![pk.as_str()];
        line.extend(&flags);
        line.push("--all");
        assert_eq!(query_json(&env, &line), want, "{flags:?}");
        // Descending, and a limit: the first N of the same order.
        let desc = plains(&sdk_query(&env, None, condition, &values, None, true));
        line.pop();
        line.extend(["--desc", "--limit", "3"]);
        let n = count.min(3);
        assert_eq!(
            query_json(&env, &line),
            desc[..n],
            "{flags:?} --desc --limit 3"
        );
    }
    // The default limit is 100 items; the table output names the partition when empty.
    let out = run(env
        .ddb()
        .args(["query", "MSG#nobody", "--sk-begins-with", "2025"]))
    .ok();
    assert_eq!(
        out,
        "no items with pk = MSG#nobody in table '".to_string() + &env.table + "'\n"
    );
}

#[test]
fn gsi_queries_match_the_sdk() {
    let env = TestEnv::with_table("adhoc-gsi");
    small(&env);
    let values = [(":g", sv(GROUP))];
    let want = plains(&sdk_query(
        &env,
        Some(INDEX),
        "message_group_uuid = :g",
        &values,
        None,
        false,
    ));
    assert_eq!(want.len(), 2);
    assert_eq!(query_json(&env, &["--index", INDEX, GROUP]), want);
    let ndjson_out = run(env
        .ddb()
        .args(["query", "--index", INDEX, BIG, "--desc", "-o", "ndjson"]))
    .ok();
    let want = plains(&sdk_query(
        &env,
        Some(INDEX),
        "message_group_uuid = :g",
        &[(":g", sv(BIG))],
        None,
        true,
    ));
    assert_eq!(ndjson(&ndjson_out), want);
    assert_eq!(want.len(), 2);
    assert_eq!(want[0]["sk"], json!(ts(6, 6)), "newest first");

    let r = run(env.ddb().args(["query", "--index", "nope", GROUP]));
    r.assert_exit(4, &["index 'nope' not found", INDEX]);
}

/// 300 messages of 8 KB (2.4 MB, three pages or more) in BIG; every other one is by "needle"
/// (1.2 MB of matches: DynamoDB Local sizes a filtered page by what it returns, so the matches
/// alone must pass 1 MB for a filtered read to take several pages there).
fn big(env: &TestEnv) -> Vec<Item> {
    let items: Vec<Item> = (0..300)
        .map(|i| {
            let handle = if i % 2 == 1 { "needle" } else { "andrewbrown" };
            message(
                BIG,
                &ts(i / 50, i),
                i,
                handle,
                &format!("{i:03} {}", "x".repeat(8000)),
            )
        })
        .collect();
    env.put_items(items.clone());
    items
}

#[test]
fn filter_and_limit_count_matches_across_pages() {
    let env = TestEnv::with_table("adhoc-filter");
    big(&env);
    let pk = format!("MSG#{BIG}");
    let values = [(":p", sv(&pk)), (":h", sv("needle"))];
    let matches = plains(&sdk_query(
        &env,
        None,
        "pk = :p",
        &values,
        Some("user_handle = :h"),
        false,
    ));
    assert_eq!(matches.len(), 150);
    let filter = [
        "--filter",
        "user_handle = :h",
        "--values",
        r#"{":h": "needle"}"#,
    ];
    let mut line = vec![pk.as_str(), "--limit", "140"];
    line.extend(filter);
    let got = query_json(&env, &line);
    assert_eq!(
        got,
        matches[..140],
        "the first 140 matches: more than one page of them"
    );
    line[2] = "5";
    assert_eq!(query_json(&env, &line), matches[..5]);
    line[2] = "1000";
    assert_eq!(query_json(&env, &line), matches);
    // Pages are counted on stderr in table output.
    let r = run(env.ddb().arg("query").args(&line));
    assert!(r.stderr.contains("150 items from "), "{}", r.stderr);
    let pages: usize = r
        .stderr
        .split("from ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(
        pages >= 2,
        "1.2 MB of matches is at least two pages: {}",
        r.stderr
    );
    // A reserved word as an attribute name needs no # from the user.
    let got = query_json(
        &env,
        &[
            &pk,
            "--all",
            "--filter",
            "size(message) > :n AND attribute_exists(name) OR user_handle = :h",
            "--values",
            r#"{":n": 5, ":h": "needle"}"#,
        ],
    );
    assert_eq!(got, matches);

    // Malformed filters and values are usage errors (exit 2) before any request.
    for (bad, needle) in [
        (
            vec!["--filter", "user_handle = :h"],
            "--values does not define it",
        ),
        (vec!["--filter", "user_handle = 'x'"], "no quoted literals"),
        (
            vec!["--filter", "a = :a", "--values", "{not json"],
            "--values: not JSON",
        ),
    ] {
        let r = run(env.ddb().args(["query", &pk]).args(&bad));
        assert_eq!(r.code, 2, "{bad:?}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{bad:?}: {}", r.stderr);
        assert_eq!(r.stdout, "");
    }
}

#[test]
fn projection_matches_the_sdk() {
    let env = TestEnv::with_table("adhoc-select");
    small(&env);
    let pk = format!("MSG#{GROUP}");
    let want: Vec<Value> = env.block_on(async {
        let out = env
            .client()
            .query()
            .table_name(&env.table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", sv(&pk))
            .projection_expression("sk, user_handle")
            .send()
            .await
            .unwrap();
        out.items().iter().map(plain).collect()
    });
    assert_eq!(want.len(), 40);
    assert_eq!(query_json(&env, &[&pk, "--select", "sk,user_handle"]), want);
    assert_eq!(want[0].as_object().unwrap().len(), 2);

    let sk = ts(3, 3);
    let item = normalise(
        run(env
            .ddb()
            .args(["get-item", &pk, &sk, "--select", "message,sk", "-o", "json"]))
        .json(),
    );
    assert_eq!(item, json!({"message": "message 3", "sk": sk}));
}

#[test]
fn get_item_formats_and_missing_items() {
    let env = TestEnv::with_table("adhoc-get");
    small(&env);
    let pk = format!("MSG#{GROUP}");
    let sk = ts(7, 7);
    let want = env.block_on(async {
        env.client()
            .get_item()
            .table_name(&env.table)
            .key("pk", sv(&pk))
            .key("sk", sv(&sk))
            .send()
            .await
            .unwrap()
            .item
            .unwrap()
    });
    let got = normalise(
        run(env
            .ddb()
            .args(["get-item", &pk, &sk, "-o", "json", "--consistent"]))
        .json(),
    );
    assert_eq!(got, plain(&want));
    let raw = normalise(
        run(env
            .ddb()
            .args(["get-item", &pk, &sk, "--raw", "-o", "json"]))
        .json(),
    );
    assert_eq!(raw["message"], json!({"S": "message 7"}));
    assert_eq!(raw.as_object().unwrap().len(), 7);
    let table = run(env.ddb().args(["get-item", &pk, &sk])).ok();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines.len(),
        2 + 7,
        "header, rule, one row per attribute:\n{table}"
    );
    assert!(lines[2].contains("pk") && lines[2].contains(&pk), "{table}");
    assert!(lines[3].contains(&sk), "{table}");

    let r = run(env
        .ddb()
        .args(["get-item", &pk, "2000-01-01T00:00:00.000000+00:00"]));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.starts_with("error: no item with pk = MSG#"),
        "{}",
        r.stderr
    );
    let r = run(env.ddb().args(["get-item", &pk]));
    r.assert_exit(8, &["SK is missing"]);
}

/// A table of its own with a number partition key and a binary sort key.
fn numeric_binary_table(env: &TestEnv) {
    env.block_on(async {
        env.client()
            .create_table()
            .table_name(&env.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("id")
                    .attribute_type(ScalarAttributeType::N)
                    .build()
                    .unwrap(),
            )
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("bin")
                    .attribute_type(ScalarAttributeType::B)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("id")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("bin")
                    .key_type(KeyType::Range)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("create_table");
    });
    let item = |id: &str, bin: &[u8], note: &str| {
        Item::from([
            ("id".into(), AttributeValue::N(id.into())),
            ("bin".into(), AttributeValue::B(Blob::new(bin.to_vec()))),
            ("note".into(), sv(note)),
        ])
    };
    env.put_items(vec![
        item("7", &[1], "a"),
        item("7", &[1, 2], "b"),
        item("7", &[1, 2, 3], "c"),
        item("7", &[2], "d"),
        item("7", &[3, 0], "e"),
        item("8", &[1], "other"),
        item("-1.5", &[9], "negative"),
    ]);
}

#[test]
fn number_and_binary_keys() {
    let env = TestEnv::new("adhoc-nb");
    numeric_binary_table(&env);
    let n7 = AttributeValue::N("7".into());
    let all = plains(&sdk_query(
        &env,
        None,
        "id = :i",
        &[(":i", n7.clone())],
        None,
        false,
    ));
    assert_eq!(all.len(), 5);
    assert_eq!(query_json(&env, &["7"]), all);
    // AQ== is the byte 1: begins_with and ranges compare bytes.
    let b = |bytes: &[u8]| AttributeValue::B(Blob::new(bytes.to_vec()));
    let prefixed = plains(&sdk_query(
        &env,
        None,
        "id = :i AND begins_with(bin, :b)",
        &[(":i", n7.clone()), (":b", b(&[1]))],
        None,
        false,
    ));
    assert_eq!(prefixed.len(), 3);
    assert_eq!(
        query_json(&env, &["7", "--sk-begins-with", "AQ=="]),
        prefixed
    );
    let from_two = plains(&sdk_query(
        &env,
        None,
        "id = :i AND bin >= :b",
        &[(":i", n7), (":b", b(&[2]))],
        None,
        false,
    ));
    assert_eq!(from_two.len(), 2);
    assert_eq!(query_json(&env, &["7", "--sk-ge", "Ag=="]), from_two);
    assert_eq!(query_json(&env, &["-1.5"]).len(), 1);
    // --raw keeps the types.
    let raw = array(run(env.ddb().args(["query", "8", "--raw", "-o", "json"])).json());
    assert_eq!(
        raw,
        vec![json!({"bin": {"B": "AQ=="}, "id": {"N": "8"}, "note": {"S": "other"}})]
    );
    let got = normalise(run(env.ddb().args(["get-item", "7", "AQID", "-o", "json"])).json());
    assert_eq!(got, json!({"bin": "AQID", "id": 7, "note": "c"}));
    // The table output's key columns are this table's keys.
    let table = run(env.ddb().args(["query", "8"])).ok();
    assert!(
        table.lines().next().unwrap().contains("id") && table.contains("bin"),
        "{table}"
    );

    // Values that do not fit the key types: exit 8, nothing on stdout.
    for (args, needle) in [
        (
            vec!["query", "MSG#1"],
            "PK: 'MSG#1' does not fit key attribute 'id' of type N",
        ),
        (
            vec!["query", "7", "--sk-eq", "not base64!"],
            "--sk-eq: 'not base64!' does not fit key attribute 'bin' of type B",
        ),
        (
            vec!["get-item", "7", "%%"],
            "SK: '%%' does not fit key attribute 'bin' of type B",
        ),
        (vec!["get-item", "1e999999999x", "AQ=="], "of type N"),
    ] {
        let r = run(env.ddb().args(&args));
        assert_eq!(r.code, 8, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "");
    }
}

#[test]
fn partiql_select_reads_every_page() {
    let env = TestEnv::with_table("adhoc-sql");
    let items = big(&env);
    small(&env);
    let statement = format!("SELECT * FROM \"{}\" WHERE pk = ?", env.table);
    let pk = format!("MSG#{BIG}");
    let want = {
        let mut v = plains(&items);
        v.sort_by(|a, b| a["sk"].as_str().cmp(&b["sk"].as_str()));
        v
    };
    let out = run(env
        .ddb()
        .args(["sql", &statement, "--param", &pk, "-o", "ndjson"]))
    .ok();
    let mut got = ndjson(&out);
    got.sort_by(|a, b| a["sk"].as_str().cmp(&b["sk"].as_str()));
    assert_eq!(got.len(), 300);
    assert_eq!(got, want);
    let r = run(env.ddb().args(["sql", &statement, "--param", &pk]));
    assert!(r.stderr.contains("300 items from "), "{}", r.stderr);
    let pages: usize = r
        .stderr
        .split("from ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(pages >= 3, "{}", r.stderr);
    let limited = run(env.ddb().args([
        "sql", &statement, "--param", &pk, "--limit", "250", "-o", "ndjson",
    ]))
    .ok();
    assert_eq!(limited.lines().count(), 250);

    // A literal statement against the GRP# rows, as the README shows it.
    let grp = format!("SELECT * FROM \"{}\" WHERE pk = 'GRP#{ANDREW}'", env.table);
    let mut got = array(run(env.ddb().args(["sql", &grp, "-o", "json"])).json());
    got.sort_by(|a, b| a["sk"].as_str().cmp(&b["sk"].as_str()));
    assert_eq!(got, plains(&env.query_pk(&format!("GRP#{ANDREW}"))));
    assert_eq!(got.len(), 2);

    // Writes on a local target need no --yes; read back with the SDK.
    let insert = format!(
        "INSERT INTO \"{}\" VALUE {{'pk': ?, 'sk': ?, 'n': ?}}",
        env.table
    );
    let out = run(env.ddb().args([
        "sql", &insert, "--param", "X#1", "--param", "s", "--param", "42",
    ]))
    .ok();
    assert_eq!(out, "INSERT done\n");
    assert_eq!(
        plains(&env.query_pk("X#1")),
        vec![json!({"pk": "X#1", "sk": "s", "n": 42})]
    );
}

#[test]
fn partiql_errors_are_one_line() {
    let env = TestEnv::with_table("adhoc-sqlerr");
    for (statement, params, code, start) in [
        (
            "SELEC * FROM x",
            Vec::<&str>::new(),
            8,
            "error: ValidationException on ExecuteStatement: Statement wasn't well formed",
        ),
        (
            "SELECT * FROM \"no-such-table\"",
            vec![],
            4,
            "error: ResourceNotFoundException on ExecuteStatement:",
        ),
        (
            "SELECT * FROM t WHERE pk = ?",
            vec![],
            2,
            "error: the statement has 1 ? parameter but 0 --param values were given",
        ),
    ] {
        let r = run(env
            .ddb()
            .arg("sql")
            .arg(statement)
            .args(params.iter().copied()));
        assert_eq!(r.code, code, "{statement}: {}", r.stderr);
        assert!(r.stderr.starts_with(start), "{statement}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
        assert_eq!(r.stdout, "");
    }
}

/// Typed JSON (as --explain prints it) into an AttributeValue, independently of ddb's code.
fn typed(v: &Value) -> AttributeValue {
    let (tag, inner) = v.as_object().unwrap().iter().next().unwrap();
    match tag.as_str() {
        "S" => sv(inner.as_str().unwrap()),
        "N" => AttributeValue::N(inner.as_str().unwrap().into()),
        "B" => {
            let text = inner.as_str().unwrap();
            let bytes = (0..=255u8)
                .flat_map(|a| (0..=255u8).map(move |b| vec![a, b]))
                .chain((0..=255u8).map(|a| vec![a]))
                .find(|c| b64(c) == text)
                .expect("short binary");
            AttributeValue::B(Blob::new(bytes))
        }
        other => panic!("unexpected type {other}"),
    }
}

fn typed_map(v: &Value) -> HashMap<String, AttributeValue> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), typed(v)))
        .collect()
}

fn explain(env: &TestEnv, args: &[&str]) -> Value {
    let v = run(env.ddb().args(args).args(["--explain", "-o", "json"])).json();
    assert!(v["notes"].as_array().unwrap().iter().any(|n| n
        .as_str()
        .unwrap()
        .contains("later pages")
        || n.as_str().unwrap().contains("assumed")));
    v
}

/// Send the Query that --explain printed, as a user would with --cli-input-json.
fn send_explained_query(env: &TestEnv, request: &Value) -> Vec<Value> {
    let text = |k: &str| request.get(k).map(|v| v.as_str().unwrap().to_string());
    env.block_on(async {
        let out = env
            .client()
            .query()
            .table_name(text("TableName").unwrap())
            .set_index_name(text("IndexName"))
            .key_condition_expression(text("KeyConditionExpression").unwrap())
            .set_filter_expression(text("FilterExpression"))
            .set_projection_expression(text("ProjectionExpression"))
            .set_expression_attribute_names(request.get("ExpressionAttributeNames").map(|n| {
                n.as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect()
            }))
            .set_expression_attribute_values(
                request.get("ExpressionAttributeValues").map(typed_map),
            )
            .set_scan_index_forward(
                request
                    .get("ScanIndexForward")
                    .map(|v| v.as_bool().unwrap()),
            )
            .set_limit(request.get("Limit").map(|v| v.as_i64().unwrap() as i32))
            .send()
            .await
            .expect("the explained request is valid");
        assert!(out.last_evaluated_key.is_none() || request.get("Limit").is_some());
        out.items().iter().map(plain).collect()
    })
}

#[test]
fn explained_requests_reproduce_the_results() {
    let env = TestEnv::with_table("cruddur-messages-explain");
    small(&env);
    let pk = format!("MSG#{GROUP}");
    let filter = [
        "--filter",
        "user_handle = :h",
        "--values",
        r#"{":h": "bayko"}"#,
    ];
    // Each case with the Query a person would write by hand for it (the oracle), and how many
    // items it has: days 12..39 are in 2026; days 5..15 fall between 2025-12-25 and
    // 2026-01-05; odd messages are bayko's; the group index holds the two rows.
    let p = (":p", sv(&pk));
    let hand_between = sdk_query(
        &env,
        None,
        "pk = :p AND sk BETWEEN :a AND :b",
        &[
            p.clone(),
            (":a", sv("2025-12-25")),
            (":b", sv("2026-01-05")),
        ],
        None,
        false,
    );
    let projected: Vec<Value> = plains(&hand_between)
        .into_iter()
        .map(|v| json!({"sk": v["sk"], "message": v["message"]}))
        .collect();
    let cases: Vec<(Vec<&str>, Vec<Value>, usize)> = vec![
        (
            vec![&pk, "--sk-begins-with", "2026", "--desc", "--limit", "5"],
            plains(
                &sdk_query(
                    &env,
                    None,
                    "pk = :p AND begins_with(sk, :a)",
                    &[p.clone(), (":a", sv("2026"))],
                    None,
                    true,
                )[..5],
            ),
            5,
        ),
        (
            vec![
                &pk,
                "--sk-between",
                "2025-12-25",
                "2026-01-05",
                "--select",
                "sk,message",
            ],
            projected,
            11,
        ),
        (
            [vec![pk.as_str(), "--all"], filter.to_vec()].concat(),
            plains(&sdk_query(
                &env,
                None,
                "pk = :p",
                &[p.clone(), (":h", sv("bayko"))],
                Some("user_handle = :h"),
                false,
            )),
            20,
        ),
        (
            vec!["--index", INDEX, GROUP],
            plains(&sdk_query(
                &env,
                Some(INDEX),
                "message_group_uuid = :g",
                &[(":g", sv(GROUP))],
                None,
                false,
            )),
            2,
        ),
    ];
    for (args, want, count) in cases {
        assert_eq!(want.len(), count, "{args:?}");
        let e = explain(&env, &[&["query"], args.as_slice()].concat());
        assert_eq!(e["api"], "Query");
        assert_eq!(e["cli"], "aws dynamodb query --cli-input-json");
        assert_eq!(e["request"]["TableName"], json!(env.table));
        let want: Vec<Value> = want.into_iter().map(normalise).collect();
        let sent: Vec<Value> = send_explained_query(&env, &e["request"])
            .into_iter()
            .map(normalise)
            .collect();
        assert_eq!(sent, want, "the explained request: {args:?}");
        let got: Vec<Value> = query_json(&env, &args).into_iter().map(normalise).collect();
        assert_eq!(got, want, "ddb's own read: {args:?}");
    }

    // GetItem.
    let sk = ts(2, 2);
    let e = explain(&env, &["get-item", &pk, &sk]);
    assert_eq!(e["api"], "GetItem");
    let key = typed_map(&e["request"]["Key"]);
    let item = env.block_on(async {
        env.client()
            .get_item()
            .table_name(e["request"]["TableName"].as_str().unwrap())
            .set_key(Some(key))
            .send()
            .await
            .unwrap()
            .item
            .unwrap()
    });
    assert_eq!(
        normalise(run(env.ddb().args(["get-item", &pk, &sk, "-o", "json"])).json()),
        plain(&item)
    );

    // ExecuteStatement.
    let statement = format!("SELECT * FROM \"{}\" WHERE pk = ?", env.table);
    let e = explain(&env, &["sql", &statement, "--param", &pk]);
    assert_eq!(e["api"], "ExecuteStatement");
    assert_eq!(e["request"]["Statement"], json!(statement));
    let params: Vec<AttributeValue> = e["request"]["Parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(typed)
        .collect();
    let items: Vec<Value> = env.block_on(async {
        let out = env
            .client()
            .execute_statement()
            .statement(&statement)
            .set_parameters(Some(params))
            .send()
            .await
            .unwrap();
        out.items().iter().map(plain).collect()
    });
    assert_eq!(items.len(), 40);
    assert_eq!(
        array(
            run(env
                .ddb()
                .args(["sql", &statement, "--param", &pk, "-o", "json"]))
            .json()
        ),
        items
    );
}

#[test]
fn explain_sends_nothing_and_needs_no_target() {
    // No region, no credentials, an unreachable endpoint: explain still answers.
    for args in [
        vec!["query", "MSG#x", "--explain"],
        vec!["get-item", "MSG#x", "2026", "--explain"],
        vec!["sql", "DELETE FROM t WHERE pk = 'a'", "--explain"],
        vec![
            "--endpoint-url",
            "http://127.0.0.1:1",
            "query",
            "MSG#x",
            "--explain",
        ],
    ] {
        let r = run(bare_ddb().args(&args));
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(r.stdout.starts_with("API: "), "{}", r.stdout);
        assert!(r.stdout.contains("nothing was sent"), "{}", r.stdout);
    }
    let out = run(bare_ddb().args(["query", "GRP#u", "--explain"])).ok();
    assert!(
        out.contains("assumed: table 'cruddur-messages' is keyed pk (S) + sk (S)"),
        "{out}"
    );
    // A remote PartiQL write without --yes is refused before any request.
    let r = run(bare_ddb().args([
        "--region",
        "eu-west-1",
        "sql",
        "DELETE FROM t WHERE pk = 'a'",
    ]));
    r.assert_exit(6, &["--yes", "DELETE"]);
}

#[test]
fn explained_access_patterns_and_scan_reproduce_the_results() {
    let env = TestEnv::with_table("adhoc-patterns");
    small(&env);
    let sks = |values: &[Value], key: &str| -> Vec<String> {
        values
            .iter()
            .map(|v| v[key].as_str().unwrap().to_string())
            .collect()
    };
    // Pattern A: the explained Query, newest first, is the chat read backwards.
    let e = explain(&env, &["get-conversation", GROUP, "--limit", "6"]);
    let sent = send_explained_query(&env, &e["request"]);
    assert_eq!(sent.len(), 6);
    let chat = array(
        run(env
            .ddb()
            .args(["get-conversation", GROUP, "--limit", "6", "-o", "json"]))
        .json(),
    );
    let mut newest_first = sks(&chat, "created_at");
    newest_first.reverse();
    assert_eq!(sks(&sent, "sk"), newest_first);

    // Pattern B.
    let e = explain(&env, &["list-conversations", "--user-uuid", ANDREW]);
    let sent = send_explained_query(&env, &e["request"]);
    assert_eq!(sent.len(), 2);
    let rows = array(
        run(env
            .ddb()
            .args(["list-conversations", "--user-uuid", ANDREW, "-o", "json"]))
        .json(),
    );
    assert_eq!(sks(&sent, "sk"), sks(&rows, "created_at"));

    // Scan with a prefix, sequential: the explained request's one page is ddb's output.
    let e = explain(&env, &["scan", "--pk-prefix", "GRP#", "--segments", "1"]);
    assert_eq!(
        e["request"]["FilterExpression"],
        "begins_with(#pk, :prefix)"
    );
    let request = &e["request"];
    let sent: Vec<Value> = env.block_on(async {
        let out = env
            .client()
            .scan()
            .table_name(request["TableName"].as_str().unwrap())
            .filter_expression(request["FilterExpression"].as_str().unwrap())
            .expression_attribute_names(
                "#pk",
                request["ExpressionAttributeNames"]["#pk"].as_str().unwrap(),
            )
            .set_expression_attribute_values(Some(typed_map(&request["ExpressionAttributeValues"])))
            .send()
            .await
            .unwrap();
        assert!(out.last_evaluated_key.is_none());
        out.items().iter().map(plain).collect()
    });
    assert_eq!(sent.len(), 4);
    let got = ndjson(
        &run(env.ddb().args([
            "scan",
            "--pk-prefix",
            "GRP#",
            "--segments",
            "1",
            "-o",
            "ndjson",
        ]))
        .ok(),
    );
    assert_eq!(got, sent);
    // Without --segments on a local endpoint: 64 segments (docs/commands.md), said in the notes.
    let e = explain(&env, &["scan"]);
    assert_eq!(e["request"]["TotalSegments"], 64);
    assert!(
        e["notes"][0].as_str().unwrap().contains("local endpoint"),
        "{e}"
    );
    // The default (parallel) scan still returns every item exactly once.
    let mut all = ndjson(&run(env.ddb().args(["scan", "-o", "ndjson"])).ok());
    all.sort_by_key(|v| {
        (
            v["pk"].as_str().unwrap().to_string(),
            v["sk"].as_str().unwrap().to_string(),
        )
    });
    let mut want = plains(&env.scan_all());
    want.sort_by_key(|v| {
        (
            v["pk"].as_str().unwrap().to_string(),
            v["sk"].as_str().unwrap().to_string(),
        )
    });
    assert_eq!(all.len(), 44);
    assert_eq!(all, want);
}

/// A decimal number by value, written here from scratch: (negative, significant digits,
/// power of ten of the first digit); "1E+125" and "1" followed by 125 zeros are equal.
fn decimal(text: &str) -> (bool, String, i64) {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.trim_start_matches('+')),
    };
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().unwrap()),
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{int}{frac}");
    let first = all.find(|c| c != '0').expect("not zero");
    let digits = all[first..].trim_end_matches('0').to_string();
    (
        negative,
        digits,
        int.len() as i64 - 1 - first as i64 + exponent,
    )
}

/// Issue 17, case 2: numbers are decimal strings end to end. What the SDK reads back is what
/// DynamoDB holds (it answers 1E+125 and -1E-130 with every digit written out).
#[test]
fn numbers_keep_every_digit_end_to_end() {
    let env = TestEnv::with_table("adhoc-numbers");
    let digits = "12345678901234567890123456789012345678";
    let tenth = "0.1000000000000000055511151231257827";
    let big = format!("1{}", "0".repeat(125));
    let tiny = format!("-0.{}1", "0".repeat(129));
    let pk = "MSG#numbers";
    env.put_items(vec![common::item(&[("pk", pk), ("sk", "a")])]);
    let statement = format!("UPDATE \"{}\" SET n = ? WHERE pk = ? AND sk = ?", env.table);
    let update = |value: &str| {
        run(env
            .ddb()
            .args(["sql", &statement, "--param", value])
            .args(["--param", pk, "--param", "a"]))
    };
    let stored = || {
        env.block_on(async {
            let got = env.client().get_item().table_name(&env.table);
            let got = got.key("pk", sv(pk)).key("sk", sv("a")).send().await;
            got.unwrap().item.unwrap()["n"].clone()
        })
    };
    for (param, want) in [
        (digits, digits),
        ("1E+125", big.as_str()),
        ("-1E-130", tiny.as_str()),
        (tenth, tenth),
    ] {
        update(param).ok();
        let AttributeValue::N(held) = stored() else {
            panic!("not a number")
        };
        assert_eq!(decimal(&held), decimal(want), "--param {param}: {held}");
    }
    // A filter on the exact value finds the item, and prints it with every digit.
    update(digits).ok();
    let values = format!(r#"{{":n": {digits}}}"#);
    let found = query_json(&env, &[pk, "--filter", "n = :n", "--values", &values]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["n"].to_string(), digits);
    // --explain shows the value as it would be sent.
    let values = format!(r#"{{":n": {tenth}}}"#);
    let shown = explain(
        &env,
        &["query", pk, "--filter", "n = :n", "--values", &values],
    );
    assert_eq!(
        shown["request"]["ExpressionAttributeValues"][":n"],
        json!({ "N": tenth }),
        "{shown}"
    );
    // What DynamoDB cannot hold is refused before any request (a usage error), nothing sent.
    for bad in [
        "1e400",
        "1E+126",
        "-1E-131",
        "123456789012345678901234567890123456789",
    ] {
        update(bad).assert_exit(2, &["--param 1: "]);
        assert_eq!(stored(), AttributeValue::N(digits.into()), "{bad}");
        let values = format!(r#"{{":n": {bad}}}"#);
        let r = run(env
            .ddb()
            .args(["query", pk, "--filter", "n = :n", "--values", &values]));
        r.assert_exit(2, &["--values :n: "]);
    }
}

/// Issue 17, case 8: `scan -o table` on a table keyed by a number and a binary shows those
/// keys in its key columns (it showed pk and sk, empty).
#[test]
fn scan_as_a_table_shows_the_tables_own_keys() {
    let env = TestEnv::new("adhoc-scan-keys");
    numeric_binary_table(&env);
    let out = run(env.ddb().args(["scan", "--color", "never"])).ok();
    // A column per attribute, the table's own keys first (no pk, sk).
    let cells = |line: &str| -> Vec<String> {
        line.split('|')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect()
    };
    let header = out
        .lines()
        .next()
        .unwrap_or_else(|| panic!("a header in {out}"));
    assert_eq!(cells(header), ["id", "bin", "note"], "{out}");
    // Each item's row: its id in the key column.
    for (id, note) in [("-1.5", "negative"), ("8", "other"), ("7", "e")] {
        let row = out
            .lines()
            .map(cells)
            .find(|c| c.get(2).map(String::as_str) == Some(note))
            .unwrap_or_else(|| panic!("{note} in {out}"));
        assert_eq!(row[0], id, "{out}");
    }
}
