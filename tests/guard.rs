//! Checked once, before anything is written (issue 9 item 7, issue 8 item 5): every command
//! that reads or writes the model refuses a table whose keys differ from it (exit 5, naming
//! the difference), and seed on a remote target needs --yes.

mod common;

use aws_sdk_dynamodb::types::ScalarAttributeType::{self, N, S};
use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType};
use common::{bare_ddb, put_message, run, TestEnv, MAIN_GROUP};

/// A table created behind ddb's back with these (name, type) keys, HASH first.
fn table_with_keys(label: &str, keys: &[(&str, ScalarAttributeType)]) -> TestEnv {
    let env = TestEnv::new(label);
    env.block_on(async {
        let mut req = env
            .client()
            .create_table()
            .table_name(&env.table)
            .billing_mode(BillingMode::PayPerRequest);
        for (i, (name, t)) in keys.iter().enumerate() {
            let key_type = if i == 0 {
                KeyType::Hash
            } else {
                KeyType::Range
            };
            req = req
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(*name)
                        .attribute_type(t.clone())
                        .build()
                        .unwrap(),
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(*name)
                        .key_type(key_type)
                        .build()
                        .unwrap(),
                );
        }
        req.send().await.expect("create_table");
    });
    env
}

/// The commands that find GRP# rows through the group index (seed, put-message, the
/// handler), with arguments that would otherwise work; `event` is an event file.
fn index_commands(event: &str) -> Vec<Vec<String>> {
    let put = put_message(MAIN_GROUP, "bayko");
    let cmds: Vec<Vec<&str>> = vec![
        vec!["seed"],
        vec!["seed", "--synthetic", "20", "--groups", "2"],
        [&put[..], &["--message", "hi"]].concat(),
        vec!["simulate-stream", "--event", event],
    ];
    cmds.into_iter()
        .map(|c| c.into_iter().map(str::to_string).collect())
        .collect()
}

/// Every command that reads or writes the model, with arguments that would otherwise work.
fn model_commands(dir: &std::path::Path) -> Vec<Vec<String>> {
    let event = common::write_temp(dir, "event.json", r#"{"Records": []}"#);
    let mut cmds = index_commands(event.to_str().unwrap());
    let put = put_message(MAIN_GROUP, "bayko");
    let more: [&[&str]; 4] = [
        &[&put[..], &["--message", "hi", "--force"]].concat(),
        &["get-conversation", MAIN_GROUP],
        &["list-conversations", "--handle", "andrewbrown"],
        &["simulate-stream", "--from", "trim-horizon"],
    ];
    cmds.extend(
        more.iter()
            .map(|c| c.iter().map(|s| s.to_string()).collect()),
    );
    cmds
}

fn every_command_refuses(env: &TestEnv, table_keys: &str) {
    let dir = tempfile::tempdir().unwrap();
    for args in model_commands(dir.path()) {
        let r = run(env.ddb().args(&args));
        assert_eq!(
            r.code, 5,
            "{args:?} on a [{table_keys}] table: {}",
            r.stderr
        );
        let want =
            format!("key schema: the model has [pk HASH S, sk RANGE S], table has [{table_keys}]");
        assert!(
            r.stderr.contains(&want),
            "{args:?}: want {want:?} in:\n{}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!("table '{}'", env.table)),
            "{args:?}: {}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "{args:?} printed: {}", r.stdout);
        assert_eq!(env.count(), 0, "{args:?} wrote into a mismatched table");
    }
}

#[test]
fn a_table_with_only_a_partition_key_is_refused_by_every_model_command() {
    let env = table_with_keys("guard-pk-only", &[("pk", S)]);
    every_command_refuses(&env, "pk HASH S");
}

#[test]
fn a_numeric_sort_key_is_refused_by_every_model_command() {
    let env = table_with_keys("guard-sk-n", &[("pk", S), ("sk", N)]);
    every_command_refuses(&env, "pk HASH S, sk RANGE N");
}

#[test]
fn other_key_names_are_refused_too() {
    let env = table_with_keys("guard-names", &[("PK", S), ("SK", S)]);
    let r = run(env
        .ddb()
        .args(["list-conversations", "--handle", "andrewbrown"]));
    r.assert_exit(5, &["table has [PK HASH S, SK RANGE S]"]);
}

/// Keys right but no group index: what needs the index (seed, put-message, the handler) is
/// refused; what only reads by key works, and put-message --force writes without the lookup.
#[test]
fn commands_that_find_rows_through_the_group_index_need_it() {
    let env = table_with_keys("guard-no-gsi", &[("pk", S), ("sk", S)]);
    let dir = tempfile::tempdir().unwrap();
    let event = common::write_temp(dir.path(), "event.json", r#"{"Records": []}"#);
    for args in index_commands(event.to_str().unwrap()) {
        let r = run(env.ddb().args(&args));
        assert_eq!(r.code, 5, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr
                .contains("index 'message-group-sk-index': in the model, missing from the table"),
            "{args:?}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("key schema"), "{args:?}: {}", r.stderr);
        assert_eq!(env.count(), 0, "{args:?} wrote");
    }
    run(env.ddb().args(["get-conversation", MAIN_GROUP])).ok();
    run(env
        .ddb()
        .args(["list-conversations", "--handle", "andrewbrown"]))
    .ok();
    let put = put_message(MAIN_GROUP, "bayko");
    run(env.ddb().args(put).args(["--message", "hi", "--force"])).ok();
    assert_eq!(env.count(), 1);
}

#[test]
fn describe_table_reports_the_same_differences_as_schema_load() {
    let env = table_with_keys("guard-describe", &[("pk", S), ("sk", N)]);
    let d = run(env.ddb().args(["describe-table", "-o", "json"])).json();
    let differences: Vec<String> = d["schema_differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        differences,
        [
            "key schema: the built-in schema has [pk HASH S, sk RANGE S], table has [pk HASH S, sk RANGE N]",
            "index 'message-group-sk-index': in the built-in schema, missing from the table",
            "stream: the built-in schema has NEW_IMAGE, table has off",
        ]
    );
    assert_eq!(d["key_schema"][1]["key_type"], "RANGE");
    assert_eq!(d["key_schema"][1]["attribute_type"], "N");
    assert_eq!(d["billing"]["mode"], "PAY_PER_REQUEST");
    // schema-load says the same, line for line, and exits 5.
    let r = run(env.ddb().arg("schema-load"));
    assert_eq!(r.code, 5, "{}", r.stderr);
    for line in &differences {
        assert!(
            r.stderr.contains(line.as_str()),
            "{line:?} not in {}",
            r.stderr
        );
    }
    // A table made by schema-load matches.
    let ok = TestEnv::with_table("guard-describe-ok");
    let d = run(ok.ddb().args(["describe-table", "-o", "json"])).json();
    assert_eq!(d["schema_differences"], serde_json::json!([]));
    let text = run(ok.ddb().arg("describe-table")).ok();
    assert!(
        text.contains("same keys, indexes and stream as the built-in schema"),
        "{text}"
    );
}

/// Seed overwrites and removes what earlier seeds wrote: a remote target needs --yes, refused
/// before any request (here there are no credentials at all, so any request would fail with
/// exit 3); --reset (everything in the seeded conversations) says so.
#[test]
fn remote_seed_refuses_without_yes_before_any_request() {
    for (args, what) in [
        (vec!["seed"], "removes messages earlier seeds wrote"),
        (
            vec!["seed", "--synthetic", "10"],
            "removes messages earlier seeds wrote",
        ),
        (
            vec!["seed", "--reset"],
            "remove EVERYTHING in the seeded conversations first",
        ),
    ] {
        let r = run(bare_ddb()
            .args(["--region", "eu-west-1", "--table", "prod-messages"])
            .args(&args));
        assert_eq!(r.code, 6, "{args:?}: {}", r.stderr);
        for needle in [
            "refusing to seed table 'prod-messages'",
            what,
            "region eu-west-1",
            "--yes",
        ] {
            assert!(
                r.stderr.contains(needle),
                "{args:?}: missing {needle:?} in {}",
                r.stderr
            );
        }
        assert!(r.stdout.is_empty());
    }
    // With --yes the guard lets it through to the first request, which finds no credentials.
    let remote = ["--region", "eu-west-1", "--table", "prod-messages"];
    let r = run(bare_ddb().args(remote).args(["seed", "--yes"]));
    r.assert_exit(3, &["no AWS credentials for DescribeTable"]);
}

/// Issue 17, case 8: sql's refusal of a remote write names the table the statement writes,
/// not --table's.
#[test]
fn a_remote_sql_write_is_refused_naming_the_statements_table() {
    let statement = r#"DELETE FROM "orders-prod" WHERE pk = 'a' AND sk = 'b'"#;
    let r = run(bare_ddb()
        .args(["--region", "eu-west-1", "--table", "prod-messages"])
        .args(["sql", statement]));
    r.assert_exit(
        6,
        &[
            "refusing to run a PartiQL DELETE on table 'orders-prod'",
            "table orders-prod (remote)",
        ],
    );
    assert!(!r.stderr.contains("prod-messages"), "{}", r.stderr);
}
