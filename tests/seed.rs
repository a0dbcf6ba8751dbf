//! `ddb seed` and `ddb put-message` against DynamoDB Local: what lands in the table is read
//! back with the SDK and compared with the fixture file parsed here, not with ddb's own code.

mod common;

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue;
use common::invariant::{assert_invariant, carried};
use common::items::{message, Person};
use common::{put_message, run, s, Item, TestEnv, ANDREW, BAYKO, MAIN_GROUP};
use serde_json::Value;

const NOW_A: &str = "2026-03-04T12:00:00Z";
const NOW_B: &str = "2026-03-09T08:30:00.250000+00:00";

fn fixture_json() -> Value {
    let text = std::fs::read_to_string(common::repo_root().join("fixtures/seed.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn is_micro_timestamp(t: &str) -> bool {
    // 2026-03-04T05:06:07.123456+00:00
    t.len() == 32
        && t.ends_with("+00:00")
        && t.as_bytes()[19] == b'.'
        && chrono::DateTime::parse_from_rfc3339(t).is_ok()
}

fn is_uuid(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn key(item: &Item) -> (String, String) {
    (s(item, "pk"), s(item, "sk"))
}

/// Every MSG# item and both GRP# rows per conversation, checked against the fixture file.
fn assert_table_matches_fixture(env: &TestEnv, now: &str) {
    assert_table_matches_fixture_plus(env, now, 0);
}

/// `assert_table_matches_fixture`, with `extra` items of other conversations in the table.
fn assert_table_matches_fixture_plus(env: &TestEnv, now: &str, extra: usize) {
    let fx = fixture_json();
    let users: HashMap<&str, &Value> = fx["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["handle"].as_str().unwrap(), u))
        .collect();
    let now = chrono::DateTime::parse_from_rfc3339(now).unwrap();
    let mut expected_items = 0;
    let mut message_uuids = HashSet::new();
    for c in fx["conversations"].as_array().unwrap() {
        let group = c["message_group_uuid"].as_str().unwrap();
        let messages = c["messages"].as_array().unwrap();
        let items = env.query_pk(&format!("MSG#{group}"));
        assert_eq!(items.len(), messages.len(), "messages of {group}");
        // Fixture messages carry no explicit times, so they come back in fixture order.
        for (m, item) in messages.iter().zip(&items) {
            let user = users[m["handle"].as_str().unwrap()];
            assert_eq!(s(item, "message"), m["message"].as_str().unwrap());
            assert_eq!(s(item, "user_handle"), m["handle"].as_str().unwrap());
            assert_eq!(s(item, "user_uuid"), user["uuid"].as_str().unwrap());
            assert_eq!(
                s(item, "user_display_name"),
                user["display_name"].as_str().unwrap()
            );
            let sk = s(item, "sk");
            assert!(is_micro_timestamp(&sk), "sk {sk}");
            let at = chrono::DateTime::parse_from_rfc3339(&sk).unwrap();
            assert!(
                at < now && at > now - chrono::Duration::days(1),
                "{sk} placed near {now}"
            );
            let id = s(item, "message_uuid");
            assert!(is_uuid(&id), "{id}");
            assert!(message_uuids.insert(id), "message uuids are unique");
            // The model's attributes and the seed's marker (reseeds remove only what a seed
            // wrote).
            assert_eq!(item.get("seeded"), Some(&AttributeValue::Bool(true)));
            assert_eq!(item.len(), 8, "exactly the model's attributes: {item:?}");
        }
        let last = items.last().unwrap();
        let handles: Vec<&str> = c["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        for (owner, other) in [(handles[0], handles[1]), (handles[1], handles[0])] {
            let owner_uuid = users[owner]["uuid"].as_str().unwrap();
            let rows: Vec<Item> = env
                .query_pk(&format!("GRP#{owner_uuid}"))
                .into_iter()
                .filter(|r| s(r, "message_group_uuid") == group)
                .collect();
            assert_eq!(
                rows.len(),
                1,
                "one GRP row of {owner} for {group}: {rows:?}"
            );
            let row = &rows[0];
            assert_eq!(s(row, "sk"), s(last, "sk"), "sk = last message time");
            assert_eq!(s(row, "message"), s(last, "message"));
            assert_eq!(s(row, "user_uuid"), users[other]["uuid"].as_str().unwrap());
            assert_eq!(s(row, "user_handle"), other);
            assert_eq!(
                s(row, "user_display_name"),
                users[other]["display_name"].as_str().unwrap()
            );
            assert_eq!(row.len(), 7, "{row:?}");
        }
        expected_items += messages.len() + 2;
    }
    assert_eq!(
        env.count(),
        expected_items + extra,
        "nothing else in the table"
    );
}

fn fixture_item_count() -> u64 {
    let fx = fixture_json();
    fx["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["messages"].as_array().unwrap().len() as u64 + 2)
        .sum()
}

#[test]
fn seed_writes_exactly_the_fixture() {
    let env = TestEnv::with_table("seed-exact");
    let summary = run(env.ddb().args(["-o", "json", "seed", "--now", NOW_A])).json();
    assert_eq!(summary["items_written"], fixture_item_count());
    assert_eq!(summary["messages"], fixture_item_count() - 8);
    assert_eq!(summary["groups"], 4);
    assert_eq!(summary["failed_items"], 0);
    assert_eq!(summary["retries"], 0);
    assert!(summary["items_per_sec"].as_f64().unwrap() > 0.0);
    assert_table_matches_fixture(&env, NOW_A);
}

#[test]
fn reseed_replaces_instead_of_duplicating() {
    let env = TestEnv::with_table("seed-again");
    run(env.ddb().args(["seed", "--now", NOW_A])).ok();
    let first: HashSet<(String, String)> = env.scan_all().iter().map(key).collect();
    // A later "now" moves every timestamp: the old items must go.
    let out = run(env.ddb().args(["seed", "--now", NOW_B])).ok();
    assert!(out.contains("removed"), "{out}");
    assert_table_matches_fixture(&env, NOW_B);
    let second: Vec<Item> = env.scan_all();
    let second_keys: HashSet<(String, String)> = second.iter().map(key).collect();
    assert!(
        first.is_disjoint(&second_keys),
        "no item of the first run is left"
    );
    // Same "now" again: identical items, nothing removed.
    let out = run(env.ddb().args(["seed", "--now", NOW_B])).ok();
    assert!(!out.contains("removed"), "{out}");
    let mut again = env.scan_all();
    let mut second = second;
    again.sort_by_key(key);
    second.sort_by_key(key);
    assert_eq!(again, second);
    // Without --now (real now): still one run's worth.
    run(env.ddb().arg("seed")).ok();
    assert_eq!(env.count() as u64, fixture_item_count());
}

/// Issue 17, case 7: a reseed removes only what a seed wrote. Messages put-message and the
/// app wrote into a fixture conversation survive it, the rows settle on the newest existing
/// message, and the summary says what was removed and kept; `--reset` removes everything in
/// the fixture's conversations (and nothing else).
#[test]
fn reseed_removes_only_what_a_seed_wrote() {
    let env = TestEnv::with_table("seed-sync");
    run(env.ddb().args(["seed", "--now", NOW_A])).ok();
    let fixture_messages = fixture_item_count() - 8;
    let main = format!("MSG#{MAIN_GROUP}");
    let in_main = env.query_pk(&main).len();
    let put = put_message(MAIN_GROUP, "bayko");
    run(env.ddb().args(put).args(["--message", "extra"])).ok();
    // The app's own write: a random (v4) uuid, a timestamp without an offset.
    let andrew = Person {
        uuid: ANDREW,
        name: "Andrew Brown",
        handle: "andrewbrown",
    };
    let app_id = "6f1c2c8e-3b1a-4d2e-9f00-0123456789ab";
    let app = message(
        MAIN_GROUP,
        "2026-03-05T10:00:00.5",
        app_id,
        "from the app",
        andrew,
    );
    // A conversation the fixture does not have, consistent as the app leaves it.
    let other = "0e4d2a9c-1111-4222-8333-944445555666";
    let sk = "2026-01-01T00:00:00.000000+00:00";
    let bayko = Person {
        uuid: BAYKO,
        name: "Andrew Bayko",
        handle: "bayko",
    };
    let mut others = common::group_rows(other, ANDREW, BAYKO, sk);
    others.push(message(
        other,
        sk,
        app_id.replace("6f", "7f").as_str(),
        "hello",
        bayko,
    ));
    others.push(app);
    env.put_items(others);
    let before = env.count() as u64;
    assert_eq!(before, fixture_item_count() + 2 + 3);

    // Another "now": every message of the first seed is at another time and goes; the two
    // messages others wrote stay; the rows carry the newest message that exists (put-message's).
    let out = run(env.ddb().args(["-o", "json", "seed", "--now", NOW_B])).json();
    let texts: Vec<String> = env
        .query_pk(&main)
        .iter()
        .map(|m| s(m, "message"))
        .collect();
    assert!(texts.contains(&"extra".to_string()) && texts.contains(&"from the app".to_string()));
    assert_eq!(texts.len(), in_main + 2, "{texts:?}");
    assert_eq!(env.count() as u64, before);
    let rows = assert_invariant(&env, "after the reseed");
    assert_eq!(carried(&rows, MAIN_GROUP).1, "extra");
    assert_eq!(env.query_pk(&format!("MSG#{other}")).len(), 1);
    assert_eq!(out["removed_earlier_seed"], fixture_messages, "{out}");
    assert_eq!(out["kept_others"], 2, "{out}");
    assert_eq!(out["removed_reset"], 0, "{out}");

    // The same seed again: nothing removed, and the summary says why the others are there.
    let out = run(env.ddb().args(["seed", "--now", NOW_B])).ok();
    assert!(!out.contains("removed"), "{out}");
    assert!(
        out.contains(
            "kept 2 messages others wrote in these conversations (seed --reset removes them)"
        ),
        "{out}"
    );

    // --reset: everything in the fixture's conversations is the fixture's again; the other
    // conversation is not the seed's business.
    let out = run(env
        .ddb()
        .args(["-o", "json", "seed", "--reset", "--now", NOW_B]))
    .json();
    assert_eq!(out["removed_reset"], fixture_item_count() + 2, "{out}");
    assert_eq!(out["kept_others"], 0, "{out}");
    assert_table_matches_fixture_plus(&env, NOW_B, 3);
    assert_eq!(env.query_pk(&format!("MSG#{other}")).len(), 1);
    assert_invariant(&env, "after --reset");
}

/// Each bad fixture fails with exit code 8 and a message naming where, and writes nothing.
#[test]
fn invalid_fixtures_write_nothing() {
    let env = TestEnv::with_table("seed-invalid");
    let dir = tempfile::tempdir().unwrap();
    let good = fixture_json();
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        serde_json::to_string_pretty(&v).unwrap()
    };
    // A missing comma on line 4.
    let broken = "{\n  \"users\": [\n    {\"uuid\": \"90b5d8b4-3e0c-4a8f-8f3a-6b5a8e3c1f01\",\n     \"handle\": \"andrewbrown\" \"display_name\": \"A\"}\n  ],\n  \"conversations\": []\n}\n".to_string();
    let cases: Vec<(&str, String, &str)> = vec![
        ("syntax.json", broken, "syntax.json:4:30: expected `,` or `}`"),
        (
            "unknown-handle.json",
            edit(&|v| v["conversations"][1]["messages"][2]["handle"] = "ghost".into()),
            "conversations[1].messages[2].handle: unknown handle 'ghost' (known: andrewbrown, bayko,",
        ),
        (
            "duplicate-uuid.json",
            edit(&|v| {
                let id = "7d1e0c6a-0000-4000-8000-000000000001";
                v["conversations"][0]["messages"][3]["message_uuid"] = id.into();
                v["conversations"][2]["messages"][0]["message_uuid"] = id.into();
            }),
            "conversations[2].messages[0].message_uuid: duplicate uuid '7d1e0c6a-0000-4000-8000-000000000001'",
        ),
        (
            "empty-message.json",
            edit(&|v| v["conversations"][3]["messages"][4]["message"] = " \n".into()),
            "conversations[3].messages[4].message: empty message",
        ),
        (
            "bad-timestamp.json",
            edit(&|v| v["conversations"][0]["messages"][10]["created_at"] = "2026-13-01T00:00:00Z".into()),
            "conversations[0].messages[10].created_at: '2026-13-01T00:00:00Z' is not an RFC 3339 timestamp",
        ),
        (
            "too-big.json",
            edit(&|v| v["conversations"][2]["messages"][5]["message"] = "z".repeat(410 * 1024).into()),
            "conversations[2].messages[5].message: the message item would be",
        ),
    ];
    for (name, text, want) in cases {
        let path = common::write_temp(dir.path(), name, &text);
        let r = run(env.ddb().args(["seed", "--fixture"]).arg(&path));
        assert_eq!(r.code, 8, "{name}: exit code; stderr: {}", r.stderr);
        assert!(
            r.stderr.contains(want),
            "{name}: want {want:?} in stderr:\n{}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&*path.display().to_string()),
            "{name} names the file: {}",
            r.stderr
        );
        assert!(r.stdout.is_empty(), "{name}: {}", r.stdout);
        assert_eq!(env.count(), 0, "{name}: nothing written");
    }
    // A malformed option value is a usage error (2).
    let r = run(env.ddb().args(["seed", "--now", "yesterday"]));
    r.assert_exit(2, &["--now"]);
    assert_eq!(env.count(), 0);
}

#[test]
fn synthetic_counts_and_determinism() {
    let env = TestEnv::with_table("seed-synth");
    let args = [
        "-o",
        "json",
        "seed",
        "--synthetic",
        "300",
        "--groups",
        "7",
        "--users",
        "5",
    ];
    let summary = run(env.ddb().args(args)).json();
    assert_eq!(summary["items_written"], 314);
    assert_eq!(summary["messages"], 300);
    assert_eq!(summary["groups"], 7);
    assert_eq!(summary["failed_items"], 0);
    let items = env.scan_all();
    let msgs: Vec<&Item> = items
        .iter()
        .filter(|i| s(i, "pk").starts_with("MSG#"))
        .collect();
    let rows: Vec<&Item> = items
        .iter()
        .filter(|i| s(i, "pk").starts_with("GRP#"))
        .collect();
    assert_eq!((msgs.len(), rows.len()), (300, 14));
    let groups: HashSet<String> = msgs.iter().map(|m| s(m, "pk")[4..].to_string()).collect();
    assert_eq!(groups.len(), 7);
    // Each GRP row carries its conversation's newest message, and each group has two rows.
    for g in &groups {
        let newest = env.query_pk(&format!("MSG#{g}")).pop().unwrap();
        let mine: Vec<&&Item> = rows
            .iter()
            .filter(|r| &s(r, "message_group_uuid") == g)
            .collect();
        assert_eq!(mine.len(), 2, "{g}");
        for r in mine {
            assert_eq!(s(r, "sk"), s(&newest, "sk"));
            assert_eq!(s(r, "message"), s(&newest, "message"));
            assert_ne!(
                s(r, "pk"),
                format!("GRP#{}", s(r, "user_uuid")),
                "row names the other user"
            );
        }
    }
    // Same arguments again: same keys, no duplicates.
    run(env.ddb().args(args)).ok();
    assert_eq!(env.count(), 314);
    let r = run(env
        .ddb()
        .args(["seed", "--synthetic", "3", "--groups", "4"]));
    r.assert_exit(2, &["--groups"]);
}

#[test]
fn put_message_writes_one_message_and_no_group_rows() {
    let env = TestEnv::with_table("put-message");
    // The conversation's two rows, as seed or the app would have left them.
    let rows = common::group_rows(
        MAIN_GROUP,
        ANDREW,
        BAYKO,
        "2026-01-01T00:00:00.000000+00:00",
    );
    env.put_items(rows.clone());
    let before = chrono::Utc::now();
    let put = put_message(MAIN_GROUP, "bayko");
    let out = run(env
        .ddb()
        .args(["-o", "json"])
        .args(put)
        .args(["--message", "ping 🏓"]))
    .json();
    let items = env.query_pk(&format!("MSG#{MAIN_GROUP}"));
    assert_eq!(items.len(), 1, "one message: {items:?}");
    assert_eq!(env.count(), 3, "the message and the two rows, untouched");
    for row in &rows {
        assert_eq!(
            env.query_pk(&s(row, "pk")),
            vec![row.clone()],
            "rows untouched"
        );
    }
    let item = &items[0];
    assert_eq!(s(item, "pk"), format!("MSG#{MAIN_GROUP}"));
    assert_eq!(s(item, "message"), "ping 🏓");
    assert_eq!(s(item, "user_uuid"), BAYKO);
    assert_eq!(s(item, "user_handle"), "bayko");
    assert_eq!(s(item, "user_display_name"), "Andrew Bayko");
    let id = s(item, "message_uuid");
    assert!(is_uuid(&id) && &id[14..15] == "4", "a v4 uuid: {id}");
    let sk = s(item, "sk");
    assert!(is_micro_timestamp(&sk), "{sk}");
    let at = chrono::DateTime::parse_from_rfc3339(&sk).unwrap();
    assert!(
        at >= before - chrono::Duration::seconds(1) && at <= chrono::Utc::now(),
        "{sk}"
    );
    // What it printed is the item it wrote.
    for name in [
        "pk",
        "sk",
        "message_uuid",
        "message",
        "user_uuid",
        "user_handle",
        "user_display_name",
    ] {
        assert_eq!(out[name].as_str().unwrap(), s(item, name), "{name}");
    }
    // By uuid, too.
    run(env.ddb().args([
        "put-message",
        "--group",
        MAIN_GROUP,
        "--user-uuid",
        BAYKO,
        "--message",
        "again",
    ]))
    .ok();
    assert_eq!(env.query_pk(&format!("MSG#{MAIN_GROUP}")).len(), 2);
}

#[test]
fn put_message_rejects_bad_input_and_writes_nothing() {
    let env = TestEnv::with_table("put-bad");
    // Names absent from the fixture are invalid input (8); malformed values are usage (2).
    let cases: [(&[&str], &str, i32); 4] = [
        (&["--group", MAIN_GROUP, "--handle", "ghost", "--message", "x"],
         "unknown handle 'ghost' in the built-in fixture (known: andrewbrown, bayko, jinx, londo, mira, tomas)", 8),
        (&["--group", MAIN_GROUP, "--user-uuid", "00000000-0000-4000-8000-000000000000", "--message", "x"],
         "--user-uuid: '00000000-0000-4000-8000-000000000000' is not a user", 8),
        (&["--group", MAIN_GROUP, "--handle", "bayko", "--message", "   "], "for '--message <TEXT>': it is empty", 2),
        (&["--group", "not-a-group", "--handle", "bayko", "--message", "x"], "invalid value 'not-a-group' for '--group <UUID>': not a uuid", 2),
    ];
    for (args, want, code) in cases {
        let r = run(env.ddb().arg("put-message").args(args));
        assert_eq!(r.code, code, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(want),
            "{args:?}: want {want:?} in:\n{}",
            r.stderr
        );
    }
    assert_eq!(env.count(), 0);
}

#[test]
fn seed_without_a_table_says_how_to_make_one() {
    let env = TestEnv::new("seed-no-table");
    let r = run(env.ddb().arg("seed"));
    // The model check's DescribeTable finds it missing before any write.
    let missing = format!(
        "ResourceNotFoundException on DescribeTable: table '{}' not found",
        env.table
    );
    r.assert_exit(4, &[&missing, "schema-load"]);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(!env.table_exists());
}
