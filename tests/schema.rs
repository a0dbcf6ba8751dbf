//! schema-load, describe-table and list-tables against DynamoDB Local.

mod common;

use common::{run, TestEnv};

/// A table with string keys (HASH, then RANGE) and nothing else, made with the SDK directly.
async fn create_bare_table(env: &TestEnv, name: &str, keys: &[&str]) {
    use aws_sdk_dynamodb::types::*;
    let mut req = env
        .client()
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (i, key) in keys.iter().enumerate() {
        let key_type = if i == 0 {
            KeyType::Hash
        } else {
            KeyType::Range
        };
        req = req
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(*key)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(*key)
                    .key_type(key_type)
                    .build()
                    .unwrap(),
            );
    }
    req.send().await.expect("create_table");
}

#[test]
fn schema_load_creates_the_table_with_gsi_and_stream() {
    let env = TestEnv::new("schema-create");
    let out = run(env.ddb().arg("schema-load")).ok();
    assert!(
        out.contains(&format!("table '{}' created: ACTIVE", env.table)),
        "{out}"
    );

    // describe-table -o json reports what DynamoDB itself holds.
    let d = run(env.ddb().args(["describe-table", "-o", "json"])).json();
    assert_eq!(d["table"], env.table.as_str());
    assert_eq!(d["status"], "ACTIVE");
    assert_eq!(d["key_schema"][0]["attribute"], "pk");
    assert_eq!(d["key_schema"][0]["key_type"], "HASH");
    assert_eq!(d["key_schema"][1]["attribute"], "sk");
    assert_eq!(d["key_schema"][1]["key_type"], "RANGE");
    let gsi = &d["global_secondary_indexes"][0];
    assert_eq!(gsi["name"], "message-group-sk-index");
    assert_eq!(gsi["key_schema"][0]["attribute"], "message_group_uuid");
    assert_eq!(gsi["key_schema"][1]["attribute"], "sk");
    assert_eq!(gsi["projection"], "ALL");
    assert_eq!(d["stream"]["enabled"], true);
    assert_eq!(d["stream"]["view_type"], "NEW_IMAGE");
    assert!(d["stream"]["arn"].as_str().unwrap().contains(&env.table));
    assert_eq!(d["billing"]["mode"], "PROVISIONED");
    assert_eq!(d["billing"]["read_capacity_units"], 5);

    // Cross-check with the SDK directly.
    let desc = env
        .block_on(env.client().describe_table().table_name(&env.table).send())
        .unwrap();
    let t = desc.table.unwrap();
    assert_eq!(t.global_secondary_indexes().len(), 1);
    assert_eq!(
        t.stream_specification()
            .unwrap()
            .stream_view_type()
            .unwrap()
            .as_str(),
        "NEW_IMAGE"
    );
}

#[test]
fn schema_load_is_idempotent() {
    let env = TestEnv::with_table("schema-again");
    let r = run(env.ddb().args(["schema-load", "-o", "json"]));
    let v = r.json();
    assert_eq!(v["outcome"], "exists");
    assert_eq!(v["table"], env.table.as_str());
    let out = run(env.ddb().arg("schema-load")).ok();
    assert!(
        out.contains("already exists, same keys and indexes"),
        "{out}"
    );
}

#[test]
fn schema_load_reports_a_different_table_and_fails() {
    let env = TestEnv::new("schema-mismatch");
    // Same keys, but no GSI and no stream: created behind ddb's back.
    env.block_on(create_bare_table(&env, &env.table, &["pk", "sk"]));
    let r = run(env.ddb().arg("schema-load"));
    r.assert_exit(
        5,
        &[
            &format!("table '{}' exists", env.table),
            "index 'message-group-sk-index': in the built-in schema, missing from the table",
            "stream: the built-in schema has NEW_IMAGE, table has off",
            "--recreate",
        ],
    );
}

#[test]
fn table_flag_overrides_the_schema_files_name() {
    let env = TestEnv::with_table("schema-override");
    let names = run(env.ddb().args(["list-tables", "-o", "json"])).json();
    let names: Vec<&str> = names
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(names.contains(&env.table.as_str()), "{names:?}");
    assert!(
        !names.contains(&"cruddur-messages"),
        "the file's TableName was used: {names:?}"
    );
}

#[test]
fn list_tables_reads_every_page() {
    // ListTables returns at most 100 names a page; make sure there are more than that.
    let env = TestEnv::new("many");
    let before = run(env.ddb().args(["list-tables", "-o", "json"])).json();
    let mut made = Vec::new();
    let need = 101usize.saturating_sub(before.as_array().unwrap().len());
    env.block_on(async {
        for i in 0..need {
            let name = format!("{}-{i}", env.table);
            create_bare_table(&env, &name, &["pk"]).await;
            made.push(name);
        }
    });
    let all = run(env.ddb().args(["list-tables", "-o", "json"])).json();
    let all: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(all.len() > 100, "only {} names", all.len());
    for name in &made {
        assert!(all.contains(name), "{name} missing");
    }
    let table = run(env.ddb().arg("list-tables")).ok();
    assert_eq!(
        table.lines().filter(|l| l.contains(&env.table)).count(),
        made.len()
    );
}

#[test]
fn describe_missing_table_names_table_and_endpoint() {
    let env = TestEnv::new("missing");
    let r = run(env.ddb().arg("describe-table"));
    assert_eq!(r.code, 4, "stderr: {}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        format!(
            "error: ResourceNotFoundException on DescribeTable: table '{t}' not found at {e}; create it with `ddb --endpoint-url {e} --table {t} schema-load`",
            t = env.table,
            e = env.endpoint
        )
    );
}

#[test]
fn describe_table_shows_a_readable_summary() {
    let env = TestEnv::with_table("describe");
    let out = run(env.ddb().arg("describe-table")).ok();
    for needle in [
        "ACTIVE",
        "pk (HASH, S), sk (RANGE, S)",
        "message-group-sk-index",
        "NEW_IMAGE",
        "PROVISIONED, 5 RCU / 5 WCU",
    ] {
        assert!(out.contains(needle), "missing {needle:?}:\n{out}");
    }
}

#[test]
fn verbose_shows_the_target_and_the_sdk_detail() {
    let env = TestEnv::new("verbose");
    let r = run(env.ddb().args(["-v", "describe-table"]));
    assert_eq!(r.code, 4);
    let mut lines = r.stderr.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "ddb: endpoint {}, region us-east-1, table {} (local)",
            env.endpoint, env.table
        )
    );
    assert!(lines
        .next()
        .unwrap()
        .starts_with("error: ResourceNotFoundException on DescribeTable"));
    assert!(
        r.stderr
            .contains("Cannot do operations on a non-existent table"),
        "SDK detail missing: {}",
        r.stderr
    );
}

/// A schema file keyed `id` (N), named `name`.
fn number_schema(name: &str) -> String {
    serde_json::json!({
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "N"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST"
    })
    .to_string()
}

/// Issue 17, case 1: `schema-load --schema num.json --recreate` without --table works on the
/// file's table (numtab) and never drops the default one (cruddur-messages).
#[test]
fn recreate_without_table_uses_the_schema_files_table_name() {
    // Its own DynamoDB Local: the default table name is shared by every test otherwise.
    let local = common::start_private_local();
    let ddb = || {
        let mut cmd = common::bare_ddb();
        cmd.args(["--endpoint-url", &local.endpoint]);
        cmd
    };
    let default = TestEnv::on(&local.endpoint, "cruddur-messages");
    run(ddb().arg("schema-load")).ok();
    run(ddb().args(["seed", "--now", "2026-01-01T12:00:00Z"])).ok();
    let before = default.count();
    assert!(before > 0);
    let dir = tempfile::tempdir().unwrap();
    let file = common::write_temp(dir.path(), "num.json", &number_schema("numtab"));
    for _ in 0..2 {
        // The second time the file's table exists: it is the one dropped and recreated.
        let out = run(ddb()
            .arg("schema-load")
            .arg("--schema")
            .arg(&file)
            .arg("--recreate"))
        .ok();
        assert!(out.contains("numtab"), "{out}");
    }
    assert_eq!(default.count(), before, "cruddur-messages kept every item");
    let keys = |name: &str| {
        default.block_on(async {
            let d = default
                .client()
                .describe_table()
                .table_name(name)
                .send()
                .await;
            let t = d.expect("describe").table.expect("table");
            t.key_schema()
                .iter()
                .map(|k| k.attribute_name().to_string())
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(keys("numtab"), ["id"]);
    assert_eq!(keys("cruddur-messages"), ["pk", "sk"]);
    // --table still wins over the file's name.
    let out = run(ddb()
        .args(["--table", "other-numtab", "schema-load", "--schema"])
        .arg(&file))
    .ok();
    assert!(out.contains("other-numtab"), "{out}");
    assert_eq!(keys("other-numtab"), ["id"]);
}

/// A schema mismatch is one line: its differences separated by "; ", no escaped newline.
#[test]
fn schema_differences_are_one_line() {
    let env = TestEnv::new("schema-oneline");
    env.block_on(create_bare_table(&env, &env.table, &["pk", "sk"]));
    let r = run(env.ddb().arg("schema-load"));
    r.assert_exit(
        5,
        &["missing from the table", "; stream: the built-in schema"],
    );
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(!r.stderr.contains("\\n"), "{}", r.stderr);
}
