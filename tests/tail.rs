//! `ddb tail` against DynamoDB Local: exactly the writes made after it started, in order per
//! key, as lines for people or as Lambda-shaped records (checked against aws_lambda_events'
//! own type) that `simulate-stream --event` replays; the filters; a table without a stream.
//! Writes are made with the SDK, expected values written by hand.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use common::items::{ts, Conversation, Names};
use common::{item, run, s, wait_until, words, write_temp, Item, TestEnv};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

/// A running `ddb tail`, its stdout and stderr gathered line by line as they come.
struct Tail {
    child: Child,
    out: Arc<Mutex<Vec<String>>>,
    err: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

fn gather(
    pipe: impl std::io::Read + Send + 'static,
    into: Arc<Mutex<Vec<String>>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            into.lock().unwrap().push(line.expect("utf-8 line"));
        }
    })
}

impl Tail {
    /// `ddb tail ARGS`, returned once it says it follows the stream (every shard has its
    /// iterator: whatever is written from now on is shown).
    fn start(mut cmd: Command, args: &[&str]) -> Tail {
        let mut child = cmd
            .arg("tail")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ddb tail");
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            gather(child.stdout.take().unwrap(), out.clone()),
            gather(child.stderr.take().unwrap(), err.clone()),
        ];
        let deadline = Instant::now() + LIMIT;
        while !err
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("following the stream"))
        {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("tail ended ({status}): {:?}", err.lock().unwrap());
            }
            assert!(
                Instant::now() < deadline,
                "tail not following within {LIMIT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Tail {
            child,
            out,
            err,
            readers,
        }
    }

    fn stderr(&self) -> Vec<String> {
        self.err.lock().unwrap().clone()
    }

    /// Wait for the end (within LIMIT): exit code and stdout lines.
    fn finish(mut self) -> (i32, Vec<String>, Vec<String>) {
        let deadline = Instant::now() + LIMIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "tail did not end: {:?}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        for r in self.readers.drain(..) {
            r.join().unwrap();
        }
        let out = self.out.lock().unwrap().clone();
        (status.code().unwrap_or(-1), out, self.stderr())
    }
}

fn put(env: &TestEnv, item: Item) {
    env.put_items(vec![item]);
}

/// Set `message` of the item at (pk, sk) with UpdateItem: a MODIFY.
fn edit(env: &TestEnv, pk: &str, sk: &str, text: &str) {
    env.block_on(
        env.client()
            .update_item()
            .table_name(&env.table)
            .key("pk", AttributeValue::S(pk.into()))
            .key("sk", AttributeValue::S(sk.into()))
            .update_expression("SET message = :m")
            .expression_attribute_values(":m", AttributeValue::S(text.into()))
            .send(),
    )
    .expect("update_item");
}

/// (eventName, pk, sk) of Lambda-shaped records, each read with aws_lambda_events' own
/// `EventRecord`: what a Lambda function would be handed.
fn events(lines: &[String]) -> Vec<(String, String, String)> {
    lines
        .iter()
        .map(|l| {
            let r: aws_lambda_events::event::dynamodb::EventRecord = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not a Lambda record ({e}): {l}"));
            assert_eq!(r.event_source.as_deref(), Some("aws:dynamodb"));
            let keys = serde_json::to_value(&r.change.keys).unwrap();
            let key = |k: &str| keys[k]["S"].as_str().expect("string key").to_string();
            (r.event_name.clone(), key("pk"), key("sk"))
        })
        .collect()
}

fn triple(name: &str, pk: &str, sk: &str) -> (String, String, String) {
    (name.to_string(), pk.to_string(), sk.to_string())
}

#[test]
fn count_n_shows_exactly_the_writes_made_after_it_started_and_they_replay() {
    let env = TestEnv::with_table("tail-count");
    let g = Conversation::numbered(1);
    let names = Names {
        of_a: ("Al", "al"),
        of_b: ("Bea", "bea"),
    };
    // Before tail starts: the conversation's rows and an old message. Not shown.
    env.put_items(g.rows(&ts(0), "first words", names));
    put(&env, g.message(&ts(1), "before tail"));

    let tail = Tail::start(env.ddb(), &["-o", "ndjson", "--count", "5"]);
    let pk = format!("MSG#{}", g.id);
    put(&env, g.message(&ts(10), "ten"));
    put(&env, g.message(&ts(20), "twenty"));
    edit(&env, &pk, &ts(10), "ten, edited");
    env.delete_item(&pk, &ts(20));
    put(&env, g.message(&ts(5), "five"));
    let (code, lines, stderr) = tail.finish();
    assert_eq!(code, 0, "{stderr:?}");
    assert_eq!(
        events(&lines),
        [
            triple("INSERT", &pk, &ts(10)),
            triple("INSERT", &pk, &ts(20)),
            triple("MODIFY", &pk, &ts(10)),
            triple("REMOVE", &pk, &ts(20)),
            triple("INSERT", &pk, &ts(5)),
        ]
    );
    // The MODIFY carries the new text; the stream is NEW_IMAGE, so no old image.
    let modify: Value = serde_json::from_str(&lines[2]).unwrap();
    assert_eq!(
        modify["dynamodb"]["NewImage"]["message"]["S"],
        "ten, edited"
    );
    assert!(modify["dynamodb"].get("OldImage").is_none());

    // Replayed through the handler: the rows move to the newest message that still exists
    // (ts 10, edited), as the stream itself would have moved them.
    let dir = tempfile::tempdir().unwrap();
    let file = write_temp(dir.path(), "ev.ndjson", &(lines.join("\n") + "\n"));
    let out = run(env
        .ddb()
        .args(["simulate-stream", "-o", "json", "--event"])
        .arg(&file))
    .json();
    let replayed: Vec<(String, String)> = out["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["pk"].as_str().unwrap().into(),
                r["sk"].as_str().unwrap().into(),
            )
        })
        .collect();
    let written: Vec<(String, String)> = events(&lines)
        .into_iter()
        .map(|(_, pk, sk)| (pk, sk))
        .collect();
    assert_eq!(replayed, written);
    let rows = env.index_rows(&g.id);
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        assert_eq!(
            (s(row, "sk"), s(row, "message")),
            (ts(10), "ten, edited".to_string())
        );
    }
}

/// `schema-load --schema` of the shipped schema changed by `edit` (a table of `env`'s name).
fn load_schema(env: &TestEnv, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) {
    let text = std::fs::read_to_string(common::repo_root().join("fixtures/schema.json")).unwrap();
    let mut schema: Value = serde_json::from_str(&text).unwrap();
    edit(schema.as_object_mut().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = write_temp(dir.path(), "schema.json", &schema.to_string());
    run(env.ddb().arg("schema-load").arg("--schema").arg(&path)).ok();
}

/// A table like the shipped one but with a NEW_AND_OLD_IMAGES stream.
fn old_and_new_table(label: &str) -> TestEnv {
    let env = TestEnv::new(label);
    load_schema(&env, |s| {
        s["StreamSpecification"]["StreamViewType"] = "NEW_AND_OLD_IMAGES".into();
    });
    env
}

#[test]
fn people_read_one_line_per_change_with_old_to_new_per_attribute() {
    let env = old_and_new_table("tail-people");
    let tail = Tail::start(env.ddb(), &["--count", "3"]);
    put(
        &env,
        item(&[
            ("pk", "MSG#g"),
            ("sk", "t1"),
            ("message", "old"),
            ("extra", "x"),
        ]),
    );
    put(
        &env,
        item(&[
            ("pk", "MSG#g"),
            ("sk", "t1"),
            ("message", "new\u{1b}[2J"),
            ("more", "y"),
        ]),
    );
    env.delete_item("MSG#g", "t1");
    let (code, lines, stderr) = tail.finish();
    assert_eq!(code, 0, "{stderr:?}");
    // HH:MM:SS, then the rest.
    let rest: Vec<&str> = lines
        .iter()
        .map(|l| {
            let (time, rest) = l.split_at(8);
            assert!(time.chars().filter(|c| *c == ':').count() == 2, "{l}");
            rest
        })
        .collect();
    assert_eq!(
        rest,
        [
            r#" INSERT MSG#g t1  extra: "x", message: "old""#,
            r#" MODIFY MSG#g t1  - extra: "x", message: "old" → "new\u001b[2J", + more: "y""#,
            " REMOVE MSG#g t1",
        ]
    );
}

#[test]
fn filters_pick_kinds_prefixes_and_since_starts_at_the_oldest_record() {
    let env = TestEnv::with_table("tail-filters");
    put(
        &env,
        item(&[("pk", "MSG#a"), ("sk", "1"), ("message", "hi")]),
    );
    put(
        &env,
        item(&[("pk", "GRP#b"), ("sk", "1"), ("message", "hi")]),
    );
    edit(&env, "MSG#a", "1", "hello");
    env.delete_item("GRP#b", "1");
    let ndjson = |args: &str| {
        let out = run(env.ddb().args(["tail", "-o", "ndjson"]).args(words(args))).ok();
        let lines: Vec<String> = out.lines().map(str::to_string).collect();
        events(&lines)
    };
    assert_eq!(
        ndjson("--from trim-horizon --events modify,remove --count 2"),
        [
            triple("MODIFY", "MSG#a", "1"),
            triple("REMOVE", "GRP#b", "1")
        ]
    );
    assert_eq!(
        ndjson("--from trim-horizon --pk-prefix MSG# --count 2"),
        [
            triple("INSERT", "MSG#a", "1"),
            triple("MODIFY", "MSG#a", "1")
        ]
    );
    // --since reads from the oldest record kept, and these are all recent.
    assert_eq!(
        ndjson("--since 1h --count 4"),
        [
            triple("INSERT", "MSG#a", "1"),
            triple("INSERT", "GRP#b", "1"),
            triple("MODIFY", "MSG#a", "1"),
            triple("REMOVE", "GRP#b", "1"),
        ]
    );
}

#[test]
fn ctrl_c_ends_the_feed_and_nothing_is_written() {
    let env = TestEnv::with_table("tail-interrupt");
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = env.ddb();
    cmd.current_dir(dir.path());
    let tail = Tail::start(cmd, &[]);
    put(
        &env,
        item(&[("pk", "MSG#a"), ("sk", "1"), ("message", "hi")]),
    );
    wait_until(LIMIT, "the record shown", || {
        !tail.out.lock().unwrap().is_empty()
    });
    let sent = Command::new("kill")
        .args(["-INT", &tail.child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let (code, lines, stderr) = tail.finish();
    assert_eq!(code, 130, "{stderr:?}");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        stderr
            .iter()
            .any(|l| l.contains("interrupted after 1 record")),
        "{stderr:?}"
    );
    // No checkpoint or any other file.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_table_without_a_stream_exits_4_with_the_command_that_enables_one() {
    let env = TestEnv::new("tail-nostream");
    load_schema(&env, |s| {
        s.remove("StreamSpecification");
    });

    let out = run(env.ddb().args(["tail", "--count", "1"]));
    let command = format!(
        "aws dynamodb update-table --endpoint-url {} --region us-east-1 --table-name {} --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES",
        env.endpoint, env.table
    );
    out.assert_exit(
        4,
        &[&format!("table '{}' has no stream", env.table), &command],
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);

    // The command works as printed (the AWS CLI, dummy credentials for DynamoDB Local)...
    let mut words = command.split(' ');
    let status = Command::new(words.next().unwrap())
        .args(words)
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .stdout(Stdio::null())
        .status()
        .expect("run the AWS CLI");
    assert!(status.success());
    // ...and tail then follows the stream it made.
    let tail = Tail::start(env.ddb(), &["-o", "ndjson", "--count", "1"]);
    put(&env, item(&[("pk", "MSG#a"), ("sk", "1")]));
    let (code, lines, stderr) = tail.finish();
    assert_eq!(code, 0, "{stderr:?}");
    assert_eq!(events(&lines), [triple("INSERT", "MSG#a", "1")]);
    let record: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(record["dynamodb"]["StreamViewType"], "NEW_AND_OLD_IMAGES");
}
