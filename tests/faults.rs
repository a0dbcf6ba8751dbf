//! `ddb seed` through the fault-injecting proxy: throttling, 5xx, dropped connections and
//! UnprocessedItems on BatchWriteItem. Every item must land exactly once, every injected
//! fault must show up as a counted retry, and when the retry budget runs out the exact number
//! of unwritten items is reported with exit code 7.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::proxy::{Faults, Proxied};
use common::{run, s, spawn, wait_while_running, words, Run, TestEnv};

/// Start a proxy that injects `faults` into BatchWriteItem only, and run
/// `ddb -o json seed ARGS` through it.
fn seed_through<'a>(env: &'a TestEnv, faults: Faults, args: &[&str]) -> (Proxied<'a>, Run) {
    let proxy = env.proxy(Faults {
        targets: vec!["BatchWriteItem".into()],
        ..faults
    });
    let r = run(proxy.ddb().args(["-o", "json", "seed"]).args(args));
    (proxy, r)
}

/// Seed through a proxy throttling BatchWriteItem, and interrupt it once `ready` holds.
fn interrupted_seed(
    env: &TestEnv,
    faults: Faults,
    args: &[&str],
    ready: impl Fn(&Proxied) -> bool,
) -> std::process::Output {
    let proxy = env.proxy(Faults {
        targets: vec!["BatchWriteItem".into()],
        ..faults
    });
    let mut child = spawn(proxy.ddb().args(["-o", "json"]).args(args));
    let limit = Duration::from_secs(60);
    wait_while_running(&mut child, limit, "the interrupt", || ready(&proxy));
    common::interrupt(child)
}

fn injected(p: &Proxied) -> u64 {
    let st = p.stats();
    st.throttled + st.server_errors + st.dropped + st.unprocessed_requests
}

#[test]
fn every_item_lands_once_through_faults_and_retries_are_counted() {
    let env = TestEnv::with_table("faults-synth");
    let (proxy, r) = seed_through(
        &env,
        Faults {
            throttle: 0.2,
            server_error: 0.2,
            drop_connection: 0.2,
            unprocessed: 0.4,
            seed: 11,
            max_consecutive: 3,
            ..Faults::default()
        },
        &["--synthetic", "300", "--groups", "6", "--concurrency", "4"],
    );
    let summary = r.json();
    let faults = injected(&proxy);
    eprintln!("proxy {:?}\nsummary {summary}", proxy.stats());
    let st = proxy.stats();
    assert!(
        st.throttled > 0 && st.server_errors > 0 && st.dropped > 0 && st.unprocessed_requests > 0,
        "every kind of fault was injected: {st:?}"
    );
    assert_eq!(summary["items_written"], 312, "{summary}");
    assert_eq!(summary["failed_items"], 0, "{summary}");
    // Each injected fault costs exactly one counted retry of that batch (or its leftovers).
    let retries = summary["retries"].as_u64().unwrap();
    assert_eq!(
        retries,
        faults,
        "retries vs injected faults: {:?}",
        proxy.stats()
    );

    // Read back directly from DynamoDB Local, not through the proxy, and compared with the
    // same seed run without faults on a table of its own (what the data set is, observed, not
    // taken from ddb's generator): the faults changed nothing.
    let items = env.scan_all();
    let calm = TestEnv::with_table("faults-synth-calm");
    run(calm
        .ddb()
        .args(["seed", "--synthetic", "300", "--groups", "6"]))
    .ok();
    let keys = |items: &[common::Item]| -> HashSet<(String, String)> {
        items.iter().map(|i| (s(i, "pk"), s(i, "sk"))).collect()
    };
    let expected = calm.scan_all();
    assert_eq!(items.len(), 312);
    assert_eq!(expected.len(), 312);
    assert_eq!(
        keys(&items),
        keys(&expected),
        "exactly the keys of a run without faults"
    );
    assert_eq!(
        keys(&items)
            .iter()
            .filter(|(pk, _)| pk.starts_with("GRP#"))
            .count(),
        12,
        "two rows for each of the 6 conversations"
    );
    let uuids: HashSet<String> = items
        .iter()
        .filter(|i| s(i, "pk").starts_with("MSG#"))
        .map(|i| s(i, "message_uuid"))
        .collect();
    assert_eq!(uuids.len(), 300, "no message written twice");
}

#[test]
fn fixture_seed_survives_faults() {
    let env = TestEnv::with_table("faults-fixture");
    let (proxy, r) = seed_through(
        &env,
        Faults {
            throttle: 0.2,
            server_error: 0.2,
            drop_connection: 0.1,
            unprocessed: 0.4,
            seed: 3,
            max_consecutive: 4,
            ..Faults::default()
        },
        &["--now", "2026-03-04T12:00:00Z"],
    );
    let summary = r.json();
    let faults = injected(&proxy);
    eprintln!("proxy {:?}\nsummary {summary}", proxy.stats());
    assert!(faults > 0, "{:?}", proxy.stats());
    assert_eq!(
        summary["retries"].as_u64().unwrap(),
        faults,
        "{summary} vs {:?}",
        proxy.stats()
    );
    assert_eq!(summary["failed_items"], 0);
    let written = summary["items_written"].as_u64().unwrap();
    assert_eq!(env.count() as u64, written);
    let keys: HashSet<(String, String)> = env
        .scan_all()
        .iter()
        .map(|i| (s(i, "pk"), s(i, "sk")))
        .collect();
    assert_eq!(keys.len() as u64, written);
}

#[test]
fn throttled_beyond_the_budget_exits_7_with_nothing_written() {
    let env = TestEnv::with_table("faults-budget");
    let (proxy, r) = seed_through(
        &env,
        Faults {
            throttle: 1.0,
            seed: 5,
            ..Faults::default()
        },
        &words("--synthetic 100 --groups 4 --max-attempts 2 --concurrency 1"),
    );
    assert_eq!(r.code, 7, "stderr: {}", r.stderr);
    let summary: serde_json::Value = serde_json::from_str(&r.stdout).expect("summary on stdout");
    assert_eq!(summary["items_written"], 0);
    assert_eq!(summary["failed_items"], 108);
    assert!(
        r.stderr.contains("108 of 108 items were NOT written"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("ProvisionedThroughputExceededException"),
        "{}",
        r.stderr
    );
    assert_eq!(env.count(), 0);
    // One batch at a time: the first is tried exactly twice, then the run stops sending.
    assert_eq!(proxy.stats().throttled, 2, "{:?}", proxy.stats());
    assert_eq!(summary["retries"], 1, "{summary}");
}

/// Ctrl-C while every batch sits in its retry pause: the pause ends at once and the run is
/// interrupted (exit 130), not failed (exit 7), with the exact count of what was not written.
#[test]
fn ctrl_c_during_a_backoff_exits_130() {
    let env = TestEnv::with_table("faults-backoff-int");
    let faults = Faults {
        throttle: 1.0,
        seed: 8,
        ..Faults::default()
    };
    let args = words("seed --synthetic 100 --groups 4 --max-attempts 100");
    let out = interrupted_seed(&env, faults, &args, |p| p.stats().throttled >= 10);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(summary["items_written"], 0, "{summary}");
    assert_eq!(summary["failed_items"], 108, "{summary}");
    assert!(
        stderr.contains("interrupted: 0 of 108 items written"),
        "{stderr}"
    );
    assert_eq!(env.count(), 0);
}

/// Every BatchWriteItem withholds about half its items: after three attempts some items of
/// every batch are still unwritten. The report must match what is really in the table.
#[test]
fn partial_write_reports_exactly_what_is_missing() {
    let env = TestEnv::with_table("faults-partial");
    let (_proxy, r) = seed_through(
        &env,
        Faults {
            unprocessed: 1.0,
            seed: 9,
            ..Faults::default()
        },
        &words("--synthetic 150 --groups 3 --max-attempts 3 --concurrency 2"),
    );
    assert_eq!(r.code, 7, "stderr: {}", r.stderr);
    let summary: serde_json::Value = serde_json::from_str(&r.stdout).expect("summary on stdout");
    let written = summary["items_written"].as_u64().unwrap();
    let failed = summary["failed_items"].as_u64().unwrap();
    assert!(written > 0 && failed > 0, "{summary}");
    assert_eq!(written + failed, 156, "{summary}");
    assert_eq!(
        env.count() as u64,
        written,
        "the table holds exactly what was reported written"
    );
    assert!(
        r.stderr
            .contains(&format!("{failed} of 156 items were NOT written")),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("unprocessed"), "{}", r.stderr);
}

/// Ctrl-C mid-seed: the batches in flight finish, nothing new is sent, the summary counts
/// exactly what is in the table, and running the same seed again completes it without
/// duplicates. Throttling through the proxy keeps the run slow enough to interrupt.
#[test]
fn ctrl_c_reports_exactly_what_was_written() {
    let env = TestEnv::with_table("faults-interrupt");
    let faults = Faults {
        throttle: 0.5,
        seed: 21,
        max_consecutive: 3,
        ..Faults::default()
    };
    let args = ["seed", "--synthetic", "2000", "--groups", "10"];
    let with_concurrency = [&args[..], &["--concurrency", "1"]].concat();
    let out = interrupted_seed(&env, faults, &with_concurrency, |_| env.count() >= 25);
    assert_eq!(out.status.code(), Some(130));
    env.assert_interrupted_write(&out, 2020);

    // The same seed again, straight to DynamoDB Local, finishes the job.
    run(env.ddb().args(args)).ok();
    assert_eq!(env.count(), 2020);
}
