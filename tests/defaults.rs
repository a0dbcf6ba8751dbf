//! Built-in defaults (issue 9 item 1): the schema and the seed fixture are compiled into the
//! binary, so an installed ddb works from any folder; files given by flag or environment
//! override them; `ddb defaults` prints them.

mod common;

use std::process::Command;

use common::{bare_ddb, put_message, run, s, TestEnv, ANDREW, MAIN_GROUP};
use serde_json::Value;

fn shipped(name: &str) -> String {
    std::fs::read_to_string(common::repo_root().join("fixtures").join(name)).unwrap()
}

/// The fixture's item count: its messages plus two GRP# rows per conversation.
fn fixture_items(fixture: &Value) -> usize {
    fixture["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["messages"].as_array().unwrap().len() + 2)
        .sum()
}

/// `env.ddb()` run from `dir` instead of the repository.
fn ddb_in(env: &TestEnv, dir: &std::path::Path) -> Command {
    let mut cmd = env.ddb();
    cmd.current_dir(dir);
    cmd
}

#[test]
fn an_installed_ddb_works_from_an_empty_folder() {
    let env = TestEnv::new("defaults-anywhere");
    let empty = tempfile::tempdir().unwrap();
    let out = run(ddb_in(&env, empty.path()).arg("schema-load")).ok();
    assert!(
        out.contains(&format!("table '{}' created", env.table)),
        "{out}"
    );
    let d = run(ddb_in(&env, empty.path()).args(["describe-table", "-o", "json"])).json();
    assert_eq!(d["stream"]["view_type"], "NEW_IMAGE");
    assert_eq!(
        d["global_secondary_indexes"][0]["name"],
        "message-group-sk-index"
    );

    let v = run(ddb_in(&env, empty.path()).args(["-o", "json", "seed"])).json();
    let fixture: Value = serde_json::from_str(&shipped("seed.json")).unwrap();
    let want = fixture_items(&fixture);
    assert_eq!(v["items_written"], want as u64);
    assert_eq!(env.count(), want);

    let put = run(ddb_in(&env, empty.path())
        .args(["-o", "json"])
        .args(put_message(MAIN_GROUP, "bayko"))
        .args(["--message", "from anywhere"]))
    .json();
    assert_eq!(put["user_handle"], "bayko");
    assert_eq!(env.count(), want + 1);

    let list = run(ddb_in(&env, empty.path()).args([
        "-o",
        "json",
        "list-conversations",
        "--handle",
        "andrewbrown",
    ]))
    .json();
    let rows = list.as_array().unwrap();
    let in_fixture = fixture["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["participants"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == "andrewbrown")
        })
        .count();
    assert_eq!(rows.len(), in_fixture, "{list}");
    assert_eq!(env.query_pk(&format!("GRP#{ANDREW}")).len(), in_fixture);
    // Nothing was written into the empty folder.
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
}

#[test]
fn defaults_prints_the_built_in_files_byte_for_byte() {
    let schema = run(bare_ddb().args(["defaults", "schema"])).ok();
    assert_eq!(schema, shipped("schema.json"));
    let fixture = run(bare_ddb().args(["defaults", "fixture"])).ok();
    assert_eq!(fixture, shipped("seed.json"));
    let r = run(bare_ddb().args(["defaults", "nope"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// A team's own files, started from `ddb defaults`, win over the built-in ones: by flag and by
/// environment variable.
#[test]
fn files_override_the_built_in_schema_and_fixture() {
    let dir = tempfile::tempdir().unwrap();
    // A schema without a stream, from the printed default.
    let mut schema: Value =
        serde_json::from_str(&run(bare_ddb().args(["defaults", "schema"])).ok()).unwrap();
    schema
        .as_object_mut()
        .unwrap()
        .remove("StreamSpecification");
    let schema_path = common::write_temp(dir.path(), "schema.json", &schema.to_string());
    // A fixture with andrewbrown renamed and only the first conversation.
    let mut fixture: Value =
        serde_json::from_str(&run(bare_ddb().args(["defaults", "fixture"])).ok()).unwrap();
    let text = fixture.to_string().replace("\"andrewbrown\"", "\"andy\"");
    fixture = serde_json::from_str(&text).unwrap();
    let first = fixture["conversations"][0].clone();
    fixture["conversations"] = Value::Array(vec![first]);
    let fixture_path = common::write_temp(dir.path(), "seed.json", &fixture.to_string());

    // By flag.
    let env = TestEnv::new("defaults-flag");
    run(env
        .ddb()
        .args(["schema-load", "--schema"])
        .arg(&schema_path))
    .ok();
    let d = run(env.ddb().args(["describe-table", "-o", "json"])).json();
    assert_eq!(d["stream"]["enabled"], false);
    run(env.ddb().args(["seed", "--fixture"]).arg(&fixture_path)).ok();
    assert_eq!(env.count(), fixture_items(&fixture));
    let list = run(env
        .ddb()
        .args([
            "-o",
            "json",
            "list-conversations",
            "--handle",
            "andy",
            "--fixture",
        ])
        .arg(&fixture_path))
    .json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");

    // By environment, from an empty folder.
    let env = TestEnv::new("defaults-env");
    let empty = tempfile::tempdir().unwrap();
    let with_env = |args: &[&str]| {
        let mut cmd = ddb_in(&env, empty.path());
        cmd.env("DDB_SCHEMA", &schema_path)
            .env("DDB_FIXTURE", &fixture_path)
            .args(args);
        run(&mut cmd)
    };
    with_env(&["schema-load"]).ok();
    // describe-table compares with $DDB_SCHEMA: no differences although there is no stream.
    let d = with_env(&["describe-table", "-o", "json"]).json();
    assert_eq!(d["stream"]["enabled"], false);
    assert_eq!(d["schema_differences"], serde_json::json!([]));
    with_env(&["seed"]).ok();
    assert_eq!(env.count(), fixture_items(&fixture));
    let list = with_env(&["-o", "json", "list-conversations", "--handle", "andy"]).json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let r = with_env(&["list-conversations", "--handle", "andrewbrown"]);
    let unknown = format!("unknown handle 'andrewbrown' in {}", fixture_path.display());
    r.assert_exit(8, &[&unknown]);
    let rows = env.query_pk(&format!("GRP#{ANDREW}"));
    assert_eq!(rows.len(), 1);
    assert_eq!(
        s(&rows[0], "message_group_uuid"),
        fixture["conversations"][0]["message_group_uuid"]
            .as_str()
            .unwrap()
    );

    // A schema file that does not exist is bad input, not a silent fallback.
    let r = run(env
        .ddb()
        .args(["schema-load", "--schema", "/nonexistent/schema.json"]));
    r.assert_exit(8, &["cannot read schema /nonexistent/schema.json"]);
}
