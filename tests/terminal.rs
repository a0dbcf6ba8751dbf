//! What reaches a person's terminal: text from the table never carries a raw control or escape
//! character (a sender must not retitle or clear the reader's terminal), `-o json` stays exact,
//! and at 80 columns the uuids and keys a person copies stay whole.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{put_message, run, TestEnv, ANDREW, MAIN_GROUP};

/// ESC ] 0 ; title BEL (retitle the terminal), ESC [ 2 J (clear it), and a one-byte C1 CSI.
const ATTACK: &str = "hello \u{1b}]0;pwned\u{7}\u{1b}[2J bye \u{9b}31m";
/// The same text as `safe::terminal_safe` shows it.
const SHOWN: &str = "hello \\e]0;pwned\\u{7}\\e[2J bye \\u{9b}31m";

fn assert_inert(what: &str, text: &str) {
    for (c, name) in [('\u{1b}', "ESC"), ('\u{7}', "BEL"), ('\u{9b}', "CSI")] {
        assert!(
            !text.contains(c),
            "{what}: a raw {name} reached the terminal:\n{text:?}"
        );
    }
}

#[test]
fn table_text_never_reaches_the_terminal_raw() {
    let env = TestEnv::with_table("term-safe");
    run(env.ddb().arg("seed")).ok();

    // put-message's echo.
    let put = put_message(MAIN_GROUP, "bayko");
    let out = run(env.ddb().args(put).args(["--message", ATTACK])).ok();
    assert_inert("put-message", &out);
    assert!(out.contains(SHOWN), "{out}");

    // An item whose keys carry escapes, written behind ddb's back.
    let evil_pk = format!("MSG#{ATTACK}");
    env.put_items(vec![[
        ("pk".to_string(), AttributeValue::S(evil_pk)),
        ("sk".to_string(), AttributeValue::S(ATTACK.to_string())),
        ("message".to_string(), AttributeValue::S(ATTACK.to_string())),
    ]
    .into_iter()
    .collect()]);

    let out = run(env.ddb().args(["get-conversation", MAIN_GROUP])).ok();
    assert_inert("get-conversation", &out);
    assert!(out.contains(SHOWN), "{out}");

    let out = run(env.ddb().args(["scan", "-o", "table"])).ok();
    assert_inert("scan -o table", &out);
    assert!(
        out.contains(&format!("MSG#{SHOWN}")),
        "the key is shown whole and escaped:\n{out}"
    );

    // The stream handler moves both GRP# rows to the message; its lines name the evil keys.
    let r = run(env
        .ddb()
        .args(["-v", "simulate-stream", "--from", "trim-horizon"]));
    assert!(r.code == 0 || r.code == 7, "{}", r.stderr);
    assert_inert("simulate-stream stdout", &r.stdout);
    assert_inert("simulate-stream stderr", &r.stderr);

    let out = run(env
        .ddb()
        .args(["list-conversations", "--handle", "andrewbrown"]))
    .ok();
    assert_inert("list-conversations", &out);
    assert!(out.contains("hello \\e]0;pwned"), "{out}");

    let out = run(env.ddb().args(["describe-table"])).ok();
    assert_inert("describe-table", &out);
    let out = run(env.ddb().args(["list-tables"])).ok();
    assert_inert("list-tables", &out);

    // Error lines quoting the input: an unknown handle.
    let r = run(env
        .ddb()
        .args(put_message(MAIN_GROUP, ATTACK))
        .args(["--message", "x"]));
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert_inert("an error line", &r.stderr);
    assert!(r.stderr.contains(SHOWN), "{}", r.stderr);

    // Programs get the exact text: JSON escapes it, and it parses back to the original.
    let rows: serde_json::Value =
        run(env
            .ddb()
            .args(["get-conversation", MAIN_GROUP, "-o", "json"]))
        .json();
    assert_eq!(rows.as_array().unwrap().last().unwrap()["message"], ATTACK);
    let out = run(env.ddb().args(["scan", "-o", "ndjson"])).ok();
    let exact = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["pk"] == format!("MSG#{ATTACK}").as_str())
        .count();
    assert_eq!(exact, 1, "{out}");
    let groups: serde_json::Value =
        run(env
            .ddb()
            .args(["list-conversations", "--user-uuid", ANDREW, "-o", "json"]))
        .json();
    assert!(
        groups
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["message"] == ATTACK),
        "{groups}"
    );
}

/// `script` gives ddb a real terminal; COLUMNS=80 sets its width.
fn at_80_columns(env: &TestEnv, args: &str) -> String {
    let cmd = format!(
        "COLUMNS=80 '{}' --endpoint-url {} --table {} --color never {args}",
        env!("CARGO_BIN_EXE_ddb"),
        env.endpoint,
        env.table
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(common::repo_root())
        .env("AWS_CONFIG_FILE", "/nonexistent/ddb-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/ddb-test-credentials",
        )
        .output()
        .expect("run script(1) (util-linux)");
    assert!(
        out.status.success(),
        "{args}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).replace('\r', "")
}

#[test]
fn uuids_and_keys_stay_whole_at_80_columns() {
    let env = TestEnv::with_table("term-80");
    run(env.ddb().arg("seed")).ok();
    let groups: serde_json::Value =
        run(env
            .ddb()
            .args(["list-conversations", "--user-uuid", ANDREW, "-o", "json"]))
        .json();
    let uuids: Vec<String> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["uuid"].as_str().unwrap().to_string())
        .collect();
    assert!(uuids.len() >= 2, "{groups}");

    let out = at_80_columns(&env, "list-conversations --handle andrewbrown");
    for uuid in &uuids {
        assert_eq!(
            out.lines().filter(|l| l.contains(uuid.as_str())).count(),
            1,
            "conversation {uuid} is not whole on one line:\n{out}"
        );
    }
    for line in out.lines() {
        assert!(line.chars().count() <= 80, "wider than 80: {line}\n{out}");
    }

    // scan: a message key is 40 + 32 characters; at 80 columns the sort key goes under the
    // partition key, each whole on its line.
    let out = at_80_columns(&env, "scan --pk-prefix MSG# --limit 5");
    let lines: Vec<&str> = out.lines().collect();
    let mut keys = 0;
    for (i, line) in lines.iter().enumerate() {
        assert!(line.chars().count() <= 80, "wider than 80: {line}\n{out}");
        let Some(at) = line.find("MSG#") else {
            continue;
        };
        let pk: String = line[at..].chars().take(40).collect();
        assert!(common_uuid(&pk[4..]), "pk cut: {line}\n{out}");
        let sk = lines[i + 1].trim_start_matches(['│', '|', ' ']);
        assert!(
            sk.len() > 32 && sk[..32].ends_with("+00:00"),
            "sk not whole under its pk: {}\n{out}",
            lines[i + 1]
        );
        keys += 1;
    }
    assert_eq!(keys, 5, "{out}");
}

fn common_uuid(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Rows of andrew's conversations with long last messages, written with the SDK.
fn long_conversations(env: &TestEnv) -> Vec<(String, String)> {
    let texts = [
        "The quick brown fox jumps over the lazy dog while the cat watches from the sill",
        "Another rather long message, which goes well past forty characters before it ends",
        "A third one: short handles, long words, and a sentence that does not stop early",
    ];
    let other = common::items::Person {
        uuid: common::BAYKO,
        name: "Andrew Bayko",
        handle: "a_rather_long_handle",
    };
    let mut expected = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let group = common::items::numbered_uuid(i + 1);
        let sk = common::items::ts(60 * i as u32);
        env.put_items(vec![common::items::group_row(
            ANDREW, &group, &sk, text, other,
        )]);
        expected.push((group, text.to_string()));
    }
    expected
}

/// The cells of a bordered table's header line (the line under the top border).
fn header_cells(table: &str) -> Vec<&str> {
    table
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split(['│', '┆'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

fn display_width(line: &str) -> usize {
    // The tests' texts are ASCII; the table's borders are one column each.
    line.chars().count()
}

#[test]
fn list_conversations_gives_the_message_the_width_at_80_columns() {
    let env = TestEnv::with_table("term-list");
    let expected = long_conversations(&env);
    let out = at_80_columns(&env, &format!("list-conversations --user-uuid {ANDREW}"));
    for (group, text) in &expected {
        let shown: String = text.chars().take(40).collect();
        assert!(
            out.contains(&shown),
            "fewer than 40 characters of {text:?}:\n{out}"
        );
        assert_eq!(
            out.lines().filter(|l| l.contains(group.as_str())).count(),
            1,
            "conversation {group} is not whole on one line:\n{out}"
        );
    }
    for line in out.lines() {
        assert!(display_width(line) <= 80, "wider than 80: {line}\n{out}");
    }
}

#[test]
fn item_tables_have_a_column_per_attribute_and_json_is_indented_only_on_a_terminal() {
    let env = TestEnv::with_table("term-items");
    long_conversations(&env);
    // --select: the columns it names, the sort key first; no empty pk column.
    let out = at_80_columns(
        &env,
        &format!("query GRP#{ANDREW} --select sk,user_handle,message"),
    );
    let header = header_cells(&out);
    assert_eq!(header, ["sk", "user_handle", "message"], "{out}");
    // Whole keys; the widest value (the message, last) is the one cut most.
    assert!(out.contains("2026-01-01T00:01:00.000000+00:00"), "{out}");
    assert!(out.contains("a_rather_long"), "{out}");
    assert!(out.contains("The quick brown fox jum"), "{out}");
    assert!(out.contains('…'), "{out}");
    for line in out.lines() {
        assert!(display_width(line) <= 80, "wider than 80: {line}\n{out}");
    }

    // Counts with their nouns: one item, one page.
    let r = run(env
        .ddb()
        .args(["query", &format!("GRP#{ANDREW}"), "--limit", "1"]));
    r.assert_exit(0, &["1 item from 1 page", "stopped at 1 item;"]);

    // scan -o json on a terminal: indented.
    let out = at_80_columns(&env, "scan -o json");
    assert!(out.starts_with("[\n  {\n    \""), "{out}");
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 3);
    // ...and compact on a pipe: one item per line.
    let piped = run(env.ddb().args(["scan", "-o", "json"])).ok();
    assert_eq!(piped.lines().count(), 3 + 2, "{piped}");
    assert!(!piped.contains("\n  "), "{piped}");
    // describe-table too.
    let piped = run(env.ddb().args(["describe-table", "-o", "json"])).ok();
    assert_eq!(piped.lines().count(), 1, "{piped}");
    let out = at_80_columns(&env, "describe-table -o json");
    assert!(out.starts_with("{\n  \""), "{out}");
}

/// get-item and sql at 80 columns: the keys first and whole, every line within 80 columns,
/// and what did not fit named.
#[test]
fn get_item_and_sql_tables_fit_80_columns_keys_first() {
    let env = TestEnv::with_table("term-get-sql");
    let expected = long_conversations(&env);
    let pk = format!("GRP#{ANDREW}");
    let sk = common::items::ts(0);

    // get-item: one row per attribute, pk and sk first, each whole.
    let out = at_80_columns(&env, &format!("get-item {pk} {sk}"));
    let names: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split(['│', '┆']).nth(1))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(names[..3], ["attribute", "pk", "sk"], "{out}");
    assert!(names.contains(&"message_group_uuid"), "{out}");
    assert!(out.contains(&pk) && out.contains(&sk), "{out}");
    assert!(out.contains(&expected[0].1[..40]), "{out}");
    for line in out.lines() {
        assert!(display_width(line) <= 80, "wider than 80: {line}\n{out}");
    }

    // sql: a column per attribute, the keys first; the rest named under the table.
    let statement = format!("SELECT * FROM \"{}\" WHERE pk = '{pk}'", env.table);
    let out = at_80_columns(&env, &format!("sql \"{}\"", statement.replace('"', "\\\"")));
    let header = header_cells(&out);
    assert!(header[0].starts_with("pk"), "{out}");
    assert!(header.contains(&"message"), "{out}");
    assert_eq!(out.matches(pk.as_str()).count(), 3, "{out}");
    for i in 0..3 {
        assert!(out.contains(&common::items::ts(60 * i)), "{out}");
    }
    assert!(out.contains("not shown:"), "{out}");
    assert!(out.contains("3 items from 1 page"), "{out}");
    for line in out.lines() {
        assert!(display_width(line) <= 80, "wider than 80: {line}\n{out}");
    }
}

/// Issue 17, case 8: an event's eventName comes from the event file as it is: `-v` shows it
/// terminal-safe, never raw.
#[test]
fn an_event_name_never_reaches_the_terminal_raw() {
    let env = TestEnv::with_table("term-event");
    let record = serde_json::json!({
        "eventID": "1", "eventName": ATTACK, "eventSource": "aws:dynamodb",
        "dynamodb": {"Keys": {"pk": {"S": "MSG#g"}, "sk": {"S": "2026-01-01T00:00:00Z"}},
                     "SequenceNumber": "1", "StreamViewType": "NEW_IMAGE"}
    });
    let dir = tempfile::tempdir().unwrap();
    let event = serde_json::json!({ "Records": [record] }).to_string();
    let path = common::write_temp(dir.path(), "event.json", &event);
    let r = run(env
        .ddb()
        .args(["simulate-stream", "-v", "--color", "never", "--event"])
        .arg(&path));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_inert("simulate-stream -v", &r.stdout);
    assert_inert("simulate-stream -v (stderr)", &r.stderr);
    assert!(r.stdout.contains(SHOWN), "{}", r.stdout);
}
