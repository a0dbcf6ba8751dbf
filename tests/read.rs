//! The read path against DynamoDB Local: get-conversation (pattern A), list-conversations
//! (pattern B) and scan. Data is written with the SDK directly and results are compared with
//! items read back independently.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};

use common::items::{group_row, message, numbered_uuid, Person};
use common::{run, s, Item, TestEnv, ANDREW, BAYKO};

const GROUP: &str = "0b7e2c9a-1d3f-4e5a-8b6c-7d8e9f0a1b2c";
const OTHER_GROUP: &str = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";
const ROW_KEYS: [&str; 5] = ["uuid", "display_name", "handle", "message", "created_at"];

/// The sort-key form: RFC 3339 UTC with microseconds and +00:00.
fn ts(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

/// Message `n` of `group`: from andrewbrown when `n` is even, from bayko when it is odd.
fn message_item(group: &str, created_at: &str, n: usize, body: &str) -> Item {
    let (uuid, handle, name) = if n.is_multiple_of(2) {
        (ANDREW, "andrewbrown", "Andrew Brown")
    } else {
        (BAYKO, "bayko", "Andrew Bayko")
    };
    let from = Person { uuid, name, handle };
    message(group, created_at, &numbered_uuid(n), body, from)
}

/// `owner`'s GRP# row of `group`; `other` is (uuid, handle, display name).
fn group_item(
    owner: &str,
    last_at: &str,
    group: &str,
    other: (&str, &str, &str),
    message: &str,
) -> Item {
    let (uuid, handle, name) = other;
    group_row(
        owner,
        group,
        last_at,
        message,
        Person { uuid, name, handle },
    )
}

/// 30 messages in GROUP, one a day from 2025-12-17 (15 in 2025, 15 in 2026), plus 3 in
/// OTHER_GROUP that must never show up.
fn small_conversation(env: &TestEnv) {
    let start = Utc.with_ymd_and_hms(2025, 12, 17, 9, 30, 0).unwrap();
    let mut items: Vec<Item> = (0..30)
        .map(|i| {
            let at = ts(start + Duration::days(i as i64) + Duration::microseconds(i as i64));
            message_item(
                GROUP,
                &at,
                i,
                &format!("message number {i} in the main group"),
            )
        })
        .collect();
    items.extend((0..3).map(|i| {
        message_item(
            OTHER_GROUP,
            &ts(start + Duration::hours(i as i64)),
            100 + i,
            "elsewhere",
        )
    }));
    env.put_items(items);
}

/// What get-conversation -o json must print for these items (given sk ascending).
fn message_rows(items: &[Item]) -> Vec<Value> {
    items
        .iter()
        .map(|i| {
            json!({
                "uuid": s(i, "message_uuid"),
                "display_name": s(i, "user_display_name"),
                "handle": s(i, "user_handle"),
                "message": s(i, "message"),
                "created_at": s(i, "sk"),
            })
        })
        .collect()
}

fn array(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        other => panic!("expected a JSON array, got {other}"),
    }
}

fn ndjson(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad ndjson line ({e}): {l}")))
        .collect()
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn get_conversation_json_is_the_latest_messages_in_chat_order() {
    let env = TestEnv::with_table("read-conv");
    small_conversation(&env);
    let all = env.query_pk(&format!("MSG#{GROUP}"));
    assert_eq!(all.len(), 30);
    let expected = message_rows(&all);

    let rows = array(run(env.ddb().args(["get-conversation", GROUP, "-o", "json"])).json());
    assert_eq!(
        rows,
        expected[10..],
        "default: the 20 most recent, oldest first"
    );
    assert_eq!(keys(&rows[0]), ROW_KEYS);

    let rows = array(
        run(env
            .ddb()
            .args(["get-conversation", GROUP, "--limit", "5", "-o", "json"]))
        .json(),
    );
    assert_eq!(rows, expected[25..]);

    let rows = array(
        run(env
            .ddb()
            .args(["get-conversation", GROUP, "--all", "-o", "json"]))
        .json(),
    );
    assert_eq!(rows, expected);

    let out = run(env
        .ddb()
        .args(["get-conversation", GROUP, "--limit", "7", "-o", "ndjson"]))
    .ok();
    let lines = ndjson(&out);
    assert_eq!(lines, expected[23..]);
    assert!(lines.iter().all(|l| keys(l) == ROW_KEYS));

    // --limit and --all together is a usage error.
    let r = run(env
        .ddb()
        .args(["get-conversation", GROUP, "--all", "--limit", "3"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn get_conversation_time_windows() {
    let env = TestEnv::with_table("read-window");
    small_conversation(&env);
    let all = env.query_pk(&format!("MSG#{GROUP}"));
    let rows = message_rows(&all);
    let get = |extra: &[&str]| {
        let mut cmd = env.ddb();
        cmd.args(["get-conversation", GROUP, "--all", "-o", "json"])
            .args(extra);
        array(run(&mut cmd).json())
    };
    let in_2025: Vec<Value> = rows
        .iter()
        .filter(|r| r["created_at"].as_str().unwrap().starts_with("2025"))
        .cloned()
        .collect();
    assert_eq!(in_2025.len(), 15);
    assert_eq!(get(&["--year", "2025"]), in_2025);
    assert_eq!(get(&["--year", "2026"]), rows[15..]);
    assert_eq!(get(&["--year", "2024"]), Vec::<Value>::new());
    // --year with --limit: the most recent of that year.
    let mut cmd = env.ddb();
    cmd.args([
        "get-conversation",
        GROUP,
        "--year",
        "2025",
        "--limit",
        "4",
        "-o",
        "json",
    ]);
    assert_eq!(array(run(&mut cmd).json()), in_2025[11..]);

    // Bounds are inclusive and normalised: give rows[5]'s time in another offset.
    let since = chrono::DateTime::parse_from_rfc3339(all[5].get("sk").unwrap().as_s().unwrap())
        .unwrap()
        .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).unwrap())
        .to_rfc3339();
    let until = s(&all[9], "sk").replace("+00:00", "Z");
    assert_eq!(get(&["--since", &since, "--until", &until]), rows[5..=9]);
    assert_eq!(get(&["--since", &since]), rows[5..]);
    assert_eq!(get(&["--until", &until]), rows[..=9]);

    let r = run(env.ddb().args([
        "get-conversation",
        GROUP,
        "--since",
        &until,
        "--until",
        &since,
    ]));
    assert_eq!(r.code, 2, "since after until: {}", r.stderr);
    assert!(
        r.stderr.contains("--since") && r.stderr.contains("after"),
        "{}",
        r.stderr
    );

    // Malformed values and conflicting options are usage errors (2) naming the option.
    for (bad, code) in [
        (vec!["--year", "25"], 2),
        (vec!["--year", "20x5"], 2),
        (vec!["--since", "yesterday"], 2),
        (vec!["--until", "2026-13-01T00:00:00Z"], 2),
        (vec!["--year", "2025", "--since", "2025-01-01T00:00:00Z"], 2),
        (vec!["--limit", "0"], 2),
    ] {
        let r = run(env.ddb().args(["get-conversation", GROUP]).args(&bad));
        assert_eq!(r.code, code, "{bad:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(bad[0]) && (bad.len() > 2 || r.stderr.contains(bad[1])),
            "{bad:?} should name the option (and the bad value): {}",
            r.stderr
        );
        assert_eq!(r.stdout, "");
    }
}

#[test]
fn get_conversation_table_reads_like_a_chat() {
    let env = TestEnv::with_table("read-chat");
    small_conversation(&env);
    let out = run(env.ddb().args(["get-conversation", GROUP, "--limit", "3"])).ok();
    let all = env.query_pk(&format!("MSG#{GROUP}"));
    let positions: Vec<usize> = all[27..]
        .iter()
        .map(|i| {
            out.find(&s(i, "message"))
                .unwrap_or_else(|| panic!("missing message in:\n{out}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "oldest first:\n{out}"
    );
    assert!(
        out.contains("andrewbrown") && out.contains("bayko"),
        "{out}"
    );
    // One message a day: a date line for each.
    assert_eq!(out.matches("── ").count(), 3, "{out}");
    assert!(
        !out.contains(&s(&all[26], "message")),
        "only 3 messages:\n{out}"
    );

    // A long message wraps to 80 columns when stdout is not a terminal.
    let long = "word ".repeat(100);
    env.put_items(vec![message_item(
        GROUP,
        "2026-02-01T00:00:00.000000+00:00",
        99,
        long.trim(),
    )]);
    let out = run(env.ddb().args(["get-conversation", GROUP, "--limit", "1"])).ok();
    assert!(out.lines().count() > 5, "wrapped:\n{out}");
    assert!(
        out.lines().all(|l| l.chars().count() <= 80),
        "fits 80 columns:\n{out}"
    );
}

#[test]
fn empty_results_are_not_errors() {
    let env = TestEnv::with_table("read-empty");
    let nobody = "11111111-2222-4333-8444-555555555555";
    let r = run(env.ddb().args(["get-conversation", GROUP]));
    assert_eq!(
        r.ok().trim(),
        format!("no messages in conversation {GROUP}")
    );
    let r = run(env.ddb().args(["get-conversation", GROUP, "-o", "json"]));
    assert_eq!(r.json(), json!([]));
    let r = run(env.ddb().args(["get-conversation", GROUP, "-o", "ndjson"]));
    assert_eq!(r.ok(), "");

    let r = run(env
        .ddb()
        .args(["list-conversations", "--user-uuid", nobody]));
    assert_eq!(r.ok().trim(), format!("no conversations for user {nobody}"));
    let r = run(env
        .ddb()
        .args(["list-conversations", "--user-uuid", nobody, "-o", "json"]));
    assert_eq!(r.json(), json!([]));

    let r = run(env.ddb().args(["scan"]));
    assert_eq!(r.ok().trim(), format!("no items in table {}", env.table));
    let r = run(env.ddb().args(["scan", "-o", "json"]));
    assert_eq!(r.json(), json!([]));
}

#[test]
fn missing_table_is_exit_4() {
    let env = TestEnv::new("read-missing");
    for args in [
        vec!["get-conversation", GROUP],
        vec!["list-conversations", "--user-uuid", ANDREW, "-o", "json"],
        vec!["scan", "-o", "ndjson"],
        vec!["scan", "--segments", "3"],
    ] {
        let r = run(env.ddb().args(&args));
        assert_eq!(r.code, 4, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(&env.table) && r.stderr.contains("not found"),
            "{}",
            r.stderr
        );
        assert_eq!(r.stdout, "", "{args:?}");
    }
}

#[test]
fn bad_uuids_are_usage_errors() {
    // No table: the check happens before any request.
    let env = TestEnv::new("read-baduuid");
    let r = run(env.ddb().args(["get-conversation", "not-a-uuid"]));
    r.assert_exit(
        2,
        &["invalid value 'not-a-uuid' for '<GROUP_UUID>': not a uuid"],
    );
    let r = run(env
        .ddb()
        .args(["list-conversations", "--user-uuid", "90b5d8b4"]));
    r.assert_exit(
        2,
        &["invalid value '90b5d8b4' for '--user-uuid <UUID>': not a uuid"],
    );
}

fn conversations(env: &TestEnv) {
    let londo = (
        "803d4ac8-c90f-4a01-9bd3-2ba3ae7f741d",
        "londo",
        "Londo Achterberg",
    );
    let jinx = (
        "23f8d56d-9ff3-4a2e-b274-19650aabcf6f",
        "jinx",
        "Jinx Alvarez",
    );
    let bayko = (BAYKO, "bayko", "Andrew Bayko");
    let andrew = (ANDREW, "andrewbrown", "Andrew Brown");
    env.put_items(vec![
        group_item(
            ANDREW,
            "2026-01-02T10:00:00.000000+00:00",
            GROUP,
            bayko,
            "with bayko",
        ),
        group_item(
            BAYKO,
            "2026-01-02T10:00:00.000000+00:00",
            GROUP,
            andrew,
            "with bayko",
        ),
        group_item(
            ANDREW,
            "2026-01-05T10:00:00.000000+00:00",
            OTHER_GROUP,
            londo,
            "with londo, the newest",
        ),
        group_item(
            ANDREW,
            "2025-11-30T10:00:00.000000+00:00",
            "3c2b1a09-8f7e-4d6c-9b5a-493827160504",
            jinx,
            "with jinx, the oldest",
        ),
    ]);
}

#[test]
fn list_conversations_newest_first_by_uuid_or_handle() {
    let env = TestEnv::with_table("read-list");
    conversations(&env);
    let mut rows_in: Vec<Item> = env.query_pk(&format!("GRP#{ANDREW}"));
    rows_in.reverse();
    assert_eq!(rows_in.len(), 3);
    let expected: Vec<Value> = rows_in
        .iter()
        .map(|i| {
            json!({
                "uuid": s(i, "message_group_uuid"),
                "display_name": s(i, "user_display_name"),
                "handle": s(i, "user_handle"),
                "message": s(i, "message"),
                "created_at": s(i, "sk"),
            })
        })
        .collect();
    assert_eq!(expected[0]["handle"], "londo");

    let list = |args: &[&str]| {
        let mut cmd = env.ddb();
        cmd.arg("list-conversations")
            .args(args)
            .args(["-o", "json"]);
        array(run(&mut cmd).json())
    };
    let by_uuid = list(&["--user-uuid", ANDREW]);
    assert_eq!(by_uuid, expected);
    assert_eq!(keys(&by_uuid[0]), ROW_KEYS);
    let by_handle = list(&["--handle", "andrewbrown"]);
    assert_eq!(by_handle, expected);
    let limited = list(&["--handle", "@andrewbrown", "--limit", "2"]);
    assert_eq!(limited, expected[..2]);
    let out = run(env.ddb().args([
        "list-conversations",
        "--user-uuid",
        ANDREW,
        "--all",
        "-o",
        "ndjson",
    ]))
    .ok();
    assert_eq!(ndjson(&out), expected);

    // Bayko sees andrewbrown as the other participant.
    let bayko = list(&["--handle", "bayko"]);
    assert_eq!(bayko.len(), 1);
    assert_eq!(bayko[0]["handle"], "andrewbrown");
    assert_eq!(bayko[0]["uuid"], GROUP);

    let table = run(env
        .ddb()
        .args(["list-conversations", "--handle", "andrewbrown"]))
    .ok();
    let (l, b, j) = (
        table.find("londo").unwrap(),
        table.find("bayko").unwrap(),
        table.find("jinx").unwrap(),
    );
    assert!(l < b && b < j, "newest first:\n{table}");
    assert!(
        table.contains("Londo Achterberg") && table.contains(OTHER_GROUP),
        "{table}"
    );
}

#[test]
fn list_conversations_handle_resolution() {
    let env = TestEnv::with_table("read-handle");
    let r = run(env.ddb().args(["list-conversations", "--handle", "nobody"]));
    r.assert_exit(8, &["unknown handle 'nobody'"]);
    for known in ["andrewbrown", "bayko", "londo"] {
        assert!(
            r.stderr.contains(known),
            "lists known handles: {}",
            r.stderr
        );
    }
    assert_eq!(r.stdout, "");

    // --fixture chooses the file the handle is looked up in.
    let dir = tempfile::tempdir().unwrap();
    let zed = "abcdefab-cdef-4abc-8def-abcdefabcdef";
    let path = common::write_temp(
        dir.path(),
        "users.json",
        &json!({"users": [{"uuid": zed, "handle": "zed", "display_name": "Zed"}], "conversations": []}).to_string(),
    );
    env.put_items(vec![group_item(
        zed,
        "2026-01-01T00:00:00.000000+00:00",
        GROUP,
        (ANDREW, "andrewbrown", "Andrew Brown"),
        "hi zed",
    )]);
    let rows = array(
        run(env
            .ddb()
            .args(["list-conversations", "--handle", "zed", "--fixture"])
            .arg(&path)
            .args(["-o", "json"]))
        .json(),
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["message"], "hi zed");
    let r = run(env
        .ddb()
        .args(["list-conversations", "--handle", "andrewbrown", "--fixture"])
        .arg(&path));
    r.assert_exit(8, &["known: zed"]);
}

fn key_of(v: &Value) -> (String, String) {
    let get = |k: &str| match &v[k] {
        Value::String(s) => s.clone(),
        Value::Object(o) => o["S"].as_str().unwrap().to_string(),
        other => panic!("bad key {other}"),
    };
    (get("pk"), get("sk"))
}

fn plain(item: &Item) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.as_s().unwrap().clone())))
            .collect(),
    )
}

fn sorted(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by_key(key_of);
    v
}

#[test]
fn scan_formats_filters_limits_and_segments() {
    let env = TestEnv::with_table("read-scan");
    small_conversation(&env);
    conversations(&env);
    let items = env.scan_all();
    assert_eq!(items.len(), 37);
    let expected = sorted(items.iter().map(plain).collect());

    let got = array(run(env.ddb().args(["scan", "-o", "json"])).json());
    for v in &got {
        // pk and sk first, then the other attributes sorted by name.
        let k = keys(v);
        assert_eq!(k[..2], ["pk", "sk"]);
        assert!(k[2..].windows(2).all(|w| w[0] < w[1]), "{k:?}");
    }
    assert_eq!(sorted(got), expected);

    let got = ndjson(&run(env.ddb().args(["scan", "-o", "ndjson"])).ok());
    assert_eq!(sorted(got), expected);

    // --raw: DynamoDB-typed JSON.
    let got = ndjson(&run(env.ddb().args(["scan", "--raw", "-o", "ndjson"])).ok());
    let typed: Vec<Value> = items
        .iter()
        .map(|i| {
            Value::Object(
                i.iter()
                    .map(|(k, v)| (k.clone(), json!({"S": v.as_s().unwrap()})))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(sorted(got), sorted(typed));

    let got = ndjson(
        &run(env
            .ddb()
            .args(["scan", "--pk-prefix", "MSG#", "-o", "ndjson"]))
        .ok(),
    );
    assert_eq!(got.len(), 33);
    assert!(got
        .iter()
        .all(|v| v["pk"].as_str().unwrap().starts_with("MSG#")));
    let got = ndjson(
        &run(env.ddb().args([
            "scan",
            "--pk-prefix",
            &format!("GRP#{ANDREW}"),
            "-o",
            "ndjson",
        ]))
        .ok(),
    );
    assert_eq!(got.len(), 3);

    let got = ndjson(&run(env.ddb().args(["scan", "--limit", "4", "-o", "ndjson"])).ok());
    assert_eq!(got.len(), 4);
    let got = array(
        run(env
            .ddb()
            .args(["scan", "--limit", "2", "--pk-prefix", "GRP#", "-o", "json"]))
        .json(),
    );
    assert_eq!(got.len(), 2);
    assert!(got
        .iter()
        .all(|v| v["pk"].as_str().unwrap().starts_with("GRP#")));

    for segments in ["2", "3", "5"] {
        let got = ndjson(
            &run(env
                .ddb()
                .args(["scan", "--segments", segments, "-o", "ndjson"]))
            .ok(),
        );
        assert_eq!(sorted(got), expected, "--segments {segments}");
    }
    let got = ndjson(
        &run(env
            .ddb()
            .args(["scan", "--segments", "3", "--limit", "10", "-o", "ndjson"]))
        .ok(),
    );
    assert_eq!(got.len(), 10);

    let r = run(env.ddb().args(["scan", "--limit", "5"]));
    let table = r.ok();
    // One column per attribute, the keys first (a pipe gets every column).
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or_default()
        .split('|')
        .map(str::trim)
        .collect();
    assert_eq!(&header[1..4], ["pk", "sk", "message"], "{table}");
    assert!(header.contains(&"user_handle"), "{table}");
    assert_eq!(
        table.matches("MSG#").count() + table.matches("GRP#").count(),
        5,
        "{table}"
    );

    let r = run(env.ddb().args(["scan", "--segments", "0"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// 60 messages of ~40 KB in one conversation: 2.4 MB, several 1 MB pages for Query and Scan.
#[test]
fn pages_past_one_megabyte() {
    let env = TestEnv::with_table("read-big");
    let start = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
    let items: Vec<Item> = (0..60)
        .map(|i| {
            let body = format!("{i:03} {}", "x".repeat(40_000));
            message_item(GROUP, &ts(start + Duration::seconds(i as i64)), i, &body)
        })
        .collect();
    env.put_items(items);
    let all = env.query_pk(&format!("MSG#{GROUP}"));
    assert_eq!(all.len(), 60);
    let expected = message_rows(&all);

    let r = run(env.ddb().args([
        "get-conversation",
        GROUP,
        "--all",
        "--capacity",
        "-o",
        "json",
    ]));
    let stderr = r.stderr.clone();
    assert_eq!(array(r.json()), expected);
    let pages: usize = stderr
        .split("over ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("capacity line on stderr: {stderr}"));
    assert!(pages >= 3, "2.4 MB needs at least 3 pages: {stderr}");
    assert!(
        stderr.contains("consumed capacity: ") && stderr.contains(" RCU"),
        "{stderr}"
    );

    // A limit beyond one page's worth keeps paging, then stops at the limit.
    let r = run(env.ddb().args([
        "get-conversation",
        GROUP,
        "--limit",
        "45",
        "--capacity",
        "-o",
        "json",
    ]));
    let stderr = r.stderr.clone();
    assert_eq!(array(r.json()), expected[15..]);
    assert!(
        !stderr.contains("over 1 page"),
        "45 x 40 KB is more than one page: {stderr}"
    );

    let items = env.scan_all();
    let want = sorted(items.iter().map(plain).collect());
    let got = ndjson(&run(env.ddb().args(["scan", "-o", "ndjson"])).ok());
    assert_eq!(sorted(got), want);
    let got = array(run(env.ddb().args(["scan", "--segments", "3", "-o", "json"])).json());
    let unique: HashSet<(String, String)> = got.iter().map(key_of).collect();
    assert_eq!(unique.len(), 60);
    assert_eq!(sorted(got), want);

    broken_pipe_exits_quietly(&env);
}

/// `ddb scan -o ndjson | head -1`: the reader goes away after one line; ddb must exit 0
/// without a panic or an error message.
fn broken_pipe_exits_quietly(env: &TestEnv) {
    for args in [
        vec!["scan", "-o", "ndjson"],
        vec!["scan", "-o", "json", "--segments", "2"],
    ] {
        let mut child = env
            .ddb()
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ddb");
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        assert!(first.starts_with('{') || first.starts_with('['), "{first}");
        drop(reader);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("error"),
            "{args:?}: {stderr}"
        );
    }
}
