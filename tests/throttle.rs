//! Reads under throttling, through the fault proxy: half of all Scan and Query calls are
//! answered ProvisionedThroughputExceededException, as a hot table on real AWS may answer them.
//! `scan` of a 20,000-item table and `get-conversation --all` of a conversation spanning many
//! pages must succeed with every item, and every injected fault must be one retry through the
//! run's counted Backoff: the retries ddb reports under `-v` equal the faults the proxy injected.
//!
//! The data is written here with the SDK, so the expected items come from the test, not from
//! ddb. The proxy's faults are random (seeded, but parallel segments arrive in any order): at
//! 50%, a page fails all of the default 10 attempts once in 1,024 pages, a flake rate the suite
//! cannot carry over ~30 pages, so these runs allow 30 attempts (2^-30 a page).

mod common;

use std::collections::HashSet;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures::StreamExt;

use common::proxy::{FaultProxy, Faults, Stats};
use common::{run, s, Item, Run, TestEnv};

const ITEMS: usize = 20_000;
/// Messages of the one conversation among them: 4 KB each, so its partition spans several of
/// DynamoDB's 1 MB Query pages.
const MESSAGES: usize = 1_200;
const GROUP: &str = "7d3c1a52-9b8e-4f61-a0d4-2e6f8b9c0d17";
const ATTEMPTS: &str = "30";

/// A proxy in front of `env`'s DynamoDB Local throttling `share` of the calls to `ops`.
fn throttling(env: &TestEnv, share: f64, ops: &[&str], seed: u64) -> FaultProxy {
    let targets = ops.iter().map(|op| op.to_string()).collect();
    let faults = Faults {
        throttle: share,
        targets,
        seed,
        ..Faults::default()
    };
    FaultProxy::start(&env.endpoint, faults)
}

/// `ddb -v --max-attempts 30 ARGS` through half-throttled Scan and Query calls: it must
/// succeed, and report exactly the retries the proxy injected (some). Its stdout, stderr and
/// the proxy's count of forwarded requests.
fn read_through_throttling(env: &TestEnv, seed: u64, args: &[&str]) -> (Run, Stats) {
    let proxy = throttling(env, 0.5, &["Scan", "Query"], seed);
    let r = run(env
        .ddb_via(&proxy.endpoint())
        .args(["-v", "--max-attempts", ATTEMPTS])
        .args(args));
    let stats = proxy.stats();
    assert_eq!(r.code, 0, "{args:?} failed ({stats:?}): {}", r.stderr);
    assert!(stats.throttled > 0, "faults were injected: {stats:?}");
    let retries = reported_retries(&r);
    assert_eq!(retries, stats.throttled, "{stats:?}\n{}", r.stderr);
    (r, stats)
}

/// The count in `-v`'s last line, "ddb: N attempts retried" ("1 attempt").
fn reported_retries(r: &Run) -> u64 {
    let line = r
        .stderr
        .lines()
        .rfind(|l| l.starts_with("ddb: ") && l.contains(" attempt") && l.ends_with(" retried"))
        .unwrap_or_else(|| panic!("no retries line under -v:\n{}", r.stderr));
    let count = line["ddb: ".len()..].split(' ').next().unwrap_or_default();
    count.parse().unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn message(i: usize) -> Item {
    let text = |v: String| AttributeValue::S(v);
    [
        ("pk", text(format!("MSG#{GROUP}"))),
        // One message a minute from 2026-01-01T00:00Z, in the sort-key form ddb writes.
        (
            "sk",
            text(format!(
                "2026-01-{:02}T{:02}:{:02}:00.000000+00:00",
                1 + i / 1440,
                i / 60 % 24,
                i % 60
            )),
        ),
        (
            "message_uuid",
            text(format!("00000000-0000-4000-8000-{i:012}")),
        ),
        ("message", text(format!("{i:04} {}", "m".repeat(4_000)))),
        ("user_uuid", text(common::ANDREW.into())),
        ("user_display_name", text("Andrew Brown".into())),
        ("user_handle", text("andrewbrown".into())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn filler(i: usize) -> Item {
    common::item(&[
        ("pk", &format!("ITEM#{}", i % 500)),
        ("sk", &format!("{i:06}")),
    ])
}

/// Write `items` with the SDK's BatchWriteItem straight to DynamoDB Local, 8 calls in flight.
fn write_all(env: &TestEnv, items: Vec<Item>) {
    let batches: Vec<Vec<WriteRequest>> = items
        .chunks(25)
        .map(|chunk| {
            chunk
                .iter()
                .map(|item| {
                    let put = PutRequest::builder().set_item(Some(item.clone())).build();
                    WriteRequest::builder()
                        .put_request(put.expect("item set"))
                        .build()
                })
                .collect()
        })
        .collect();
    env.block_on(async {
        let writes = futures::stream::iter(batches).map(|mut batch| async move {
            while !batch.is_empty() {
                let out = env
                    .client()
                    .batch_write_item()
                    .request_items(&env.table, batch)
                    .send()
                    .await
                    .expect("batch_write_item");
                batch = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&env.table))
                    .unwrap_or_default();
            }
        });
        writes.buffer_unordered(8).collect::<Vec<()>>().await;
    });
}

#[test]
fn reads_succeed_through_half_throttled_scans_and_queries_and_count_every_retry() {
    let env = TestEnv::with_table("throttle-reads");
    let mut written: HashSet<(String, String)> = HashSet::new();
    let mut items: Vec<Item> = (0..MESSAGES).map(message).collect();
    items.extend((MESSAGES..ITEMS).map(filler));
    for item in &items {
        written.insert((s(item, "pk"), s(item, "sk")));
    }
    assert_eq!(written.len(), ITEMS, "the test writes distinct keys");
    write_all(&env, items);

    // scan: every item once, in ndjson.
    let (r, stats) = read_through_throttling(&env, 16, &["-o", "ndjson", "scan"]);
    let seen: Vec<(String, String)> = r
        .stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("an ndjson line");
            let text = |k: &str| v[k].as_str().expect("string key").to_string();
            (text("pk"), text("sk"))
        })
        .collect();
    assert_eq!(seen.len(), ITEMS, "items printed");
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), written);
    // Many pages, about half of their calls throttled (each retried and counted once).
    assert!(stats.forwarded > 8, "more pages than segments: {stats:?}");

    // get-conversation --all: every message, across several Query pages.
    let args = [
        "-o",
        "json",
        "get-conversation",
        GROUP,
        "--all",
        "--capacity",
    ];
    let (r, stats) = read_through_throttling(&env, 23, &args);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&r.stdout).expect("a JSON array");
    let uuids: HashSet<String> = rows
        .iter()
        .map(|row| row["uuid"].as_str().expect("uuid").to_string())
        .collect();
    let expected: HashSet<String> = (0..MESSAGES)
        .map(|i| s(&message(i), "message_uuid"))
        .collect();
    assert_eq!(rows.len(), MESSAGES);
    assert_eq!(uuids, expected);
    let pages: usize = r
        .stderr
        .lines()
        .find_map(|l| {
            l.split(" over ")
                .nth(1)?
                .trim_end_matches('s')
                .strip_suffix(" page")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no page count:\n{}", r.stderr));
    assert!(pages >= 4, "the conversation spans {pages} pages");
    // Forwarded: one Query per page, and the DescribeTable of the model check.
    assert_eq!(stats.forwarded, pages as u64 + 1, "{stats:?}");
}

/// A read out of attempts fails with one line naming the budget, and each of its attempts went
/// to DynamoDB exactly once: `--max-attempts` bounds reads as it bounds writes.
#[test]
fn a_read_out_of_attempts_says_so_and_made_exactly_that_many() {
    let env = TestEnv::with_table("throttle-budget");
    env.put_items(vec![filler(1)]);
    let proxy = throttling(&env, 1.0, &["Scan"], 0);
    let r = run(env.ddb_via(&proxy.endpoint()).args([
        "-v",
        "--max-attempts",
        "3",
        "scan",
        "--segments",
        "1",
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    assert!(
        errors[0].starts_with(
            "error: Scan gave up after 3 attempts: ProvisionedThroughputExceededException on Scan"
        ),
        "{}",
        errors[0]
    );
    assert_eq!(proxy.stats().throttled, 3, "{:?}", proxy.stats());
    assert_eq!(reported_retries(&r), 2);

    let r = run(env.ddb().args(["--max-attempts", "0", "scan"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--max-attempts"), "{}", r.stderr);
}
