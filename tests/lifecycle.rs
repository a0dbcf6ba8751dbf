//! The table waits (src/aws/table.rs) against a scripted endpoint: DynamoDB Local creates and
//! deletes tables at once, so a table that stays CREATING or DELETING, or an index that takes
//! its time, needs an endpoint that says so. The endpoint answers only the table-lifecycle
//! operations, with the JSON shapes DynamoDB uses, and counts what it was asked.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{bare_ddb, run};
use serde_json::{json, Value};

/// What the scripted endpoint does: table status per DescribeTable call (the last one
/// repeats), `None` meaning "not found".
struct Script {
    describes: Vec<Option<(&'static str, &'static str)>>,
    calls: Vec<String>,
}

struct Fake {
    endpoint: String,
    script: Arc<Mutex<Script>>,
}

impl Fake {
    /// `describes`: (table status, index status) per DescribeTable, or None for not found.
    fn start(describes: Vec<Option<(&'static str, &'static str)>>) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(Script {
            describes,
            calls: Vec::new(),
        }));
        let shared = script.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let script = shared.clone();
                std::thread::spawn(move || serve(conn, script));
            }
        });
        Fake { endpoint, script }
    }

    fn calls(&self) -> Vec<String> {
        self.script.lock().unwrap().calls.clone()
    }
}

fn table(status: &str, index_status: &str) -> Value {
    let key = |name: &str, t: &str| json!({"AttributeName": name, "KeyType": t});
    json!({
        "TableName": "lifecycle",
        "TableStatus": status,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "message_group_uuid", "AttributeType": "S"}
        ],
        "KeySchema": [key("pk", "HASH"), key("sk", "RANGE")],
        "GlobalSecondaryIndexes": [{
            "IndexName": "message-group-sk-index",
            "KeySchema": [key("message_group_uuid", "HASH"), key("sk", "RANGE")],
            "Projection": {"ProjectionType": "ALL"},
            "IndexStatus": index_status
        }],
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}
    })
}

fn serve(conn: TcpStream, script: Arc<Mutex<Script>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut target = String::new();
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                match k.to_ascii_lowercase().as_str() {
                    "x-amz-target" => target = v.trim().rsplit('.').next().unwrap().to_string(),
                    "content-length" => length = v.trim().parse().unwrap(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (status, answer) = {
            let mut s = script.lock().unwrap();
            s.calls.push(target.clone());
            match target.as_str() {
                "DescribeTable" => {
                    let next = if s.describes.len() > 1 {
                        s.describes.remove(0)
                    } else {
                        s.describes[0]
                    };
                    match next {
                        Some((t, i)) => (200, json!({"Table": table(t, i)})),
                        None => (
                            400,
                            json!({"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
                                   "message": "Requested resource not found"}),
                        ),
                    }
                }
                "CreateTable" => (
                    200,
                    json!({"TableDescription": table("CREATING", "CREATING")}),
                ),
                "DeleteTable" => (
                    200,
                    json!({"TableDescription": table("DELETING", "DELETING")}),
                ),
                other => (
                    400,
                    json!({"__type": "UnknownOperationException", "message": other}),
                ),
            }
        };
        let text = answer.to_string();
        let head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n",
            if status == 200 { "OK" } else { "Bad Request" },
            text.len()
        );
        if out.write_all(head.as_bytes()).is_err() || out.write_all(text.as_bytes()).is_err() {
            return;
        }
    }
}

fn ddb(fake: &Fake) -> std::process::Command {
    let mut cmd = bare_ddb();
    cmd.args(["--endpoint-url", &fake.endpoint, "--table", "lifecycle"]);
    cmd
}

#[test]
fn schema_load_waits_for_the_table_and_its_index() {
    let fake = Fake::start(vec![
        None,
        Some(("CREATING", "CREATING")),
        Some(("ACTIVE", "CREATING")),
        Some(("ACTIVE", "CREATING")),
        Some(("ACTIVE", "ACTIVE")),
    ]);
    let out = run(ddb(&fake).arg("schema-load")).ok();
    assert!(out.contains("table 'lifecycle' created: ACTIVE"), "{out}");
    assert!(out.contains("message-group-sk-index (ACTIVE)"), "{out}");
    assert_eq!(
        fake.calls(),
        [
            "DescribeTable",
            "CreateTable",
            "DescribeTable",
            "DescribeTable",
            "DescribeTable",
            "DescribeTable"
        ]
    );
}

#[test]
fn waits_give_up_after_the_timeout() {
    let fake = Fake::start(vec![Some(("DELETING", "DELETING"))]);
    let r = run(ddb(&fake).args(["drop", "--wait-timeout", "1"]));
    r.assert_exit(1, &["table 'lifecycle' still exists after 1s"]);

    let fake = Fake::start(vec![None, Some(("CREATING", "CREATING"))]);
    let r = run(ddb(&fake).args(["schema-load", "--wait-timeout", "1"]));
    let not_active = "table 'lifecycle' not ACTIVE after 1s (status CREATING; waiting for the table, index 'message-group-sk-index')";
    r.assert_exit(1, &[not_active]);
}

/// Ctrl-C during a wait ends it at once with exit 130.
#[test]
fn ctrl_c_ends_a_wait_with_130() {
    let fake = Fake::start(vec![Some(("DELETING", "DELETING"))]);
    let child = common::spawn(ddb(&fake).arg("drop"));
    // Wait until it is polling (DeleteTable done, at least two DescribeTable calls).
    let describes = || {
        fake.calls()
            .iter()
            .filter(|c| *c == "DescribeTable")
            .count()
    };
    common::wait_until(Duration::from_secs(30), "drop waiting", || describes() >= 2);
    let sent = Instant::now();
    let out = common::interrupt(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "took {:?}",
        sent.elapsed()
    );
    assert_eq!(
        fake.calls().iter().filter(|c| *c == "DeleteTable").count(),
        1
    );
}
