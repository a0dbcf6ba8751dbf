//! drop and schema-load --recreate. A test binary of its own: dropping a stream-enabled table
//! slows every later write on that DynamoDB Local instance, so these never share an instance
//! with the data tests.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{run, TestEnv};

#[test]
fn drop_deletes_the_table_and_waits() {
    let env = TestEnv::with_table("drop");
    let out = run(env.ddb().arg("drop")).ok();
    assert!(
        out.contains(&format!("dropped table '{}'", env.table)),
        "{out}"
    );
    assert!(!env.table_exists(), "table still there after drop returned");
}

#[test]
fn drop_of_a_missing_table_is_not_found_unless_if_exists() {
    let env = TestEnv::new("drop-missing");
    let r = run(env.ddb().arg("drop"));
    r.assert_exit(4, &[&format!("table '{}' not found", env.table)]);
    let r = run(env.ddb().args(["drop", "--if-exists"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn recreate_drops_data_and_keeps_the_definition() {
    let env = TestEnv::with_table("recreate");
    env.put_items(vec![[
        ("pk".to_string(), AttributeValue::S("MSG#x".into())),
        (
            "sk".to_string(),
            AttributeValue::S("2026-01-01T00:00:00.000000+00:00".into()),
        ),
    ]
    .into_iter()
    .collect()]);
    assert_eq!(env.count(), 1);
    let v = run(env.ddb().args(["schema-load", "--recreate", "-o", "json"])).json();
    assert_eq!(v["outcome"], "recreated");
    assert_eq!(env.count(), 0, "recreate kept old items");
    let d = run(env.ddb().args(["describe-table", "-o", "json"])).json();
    assert_eq!(d["status"], "ACTIVE");
    assert_eq!(d["stream"]["view_type"], "NEW_IMAGE");
    assert_eq!(
        d["global_secondary_indexes"][0]["name"],
        "message-group-sk-index"
    );
}
