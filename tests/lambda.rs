//! Lambda mode: the binary started as `bootstrap` (no arguments, configured by the Lambda
//! environment only) serves DynamoDB Streams events from a Runtime API emulator and moves
//! GRP# rows in DynamoDB Local; and the CloudFormation template read back.
//!
//! `DDB_LAMBDA_BOOTSTRAP=/path/to/bootstrap` runs these against another build of the binary
//! (the one in the deployment zip: `just lambda-check`).

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::items::{clashing_row, ts, Conversation, OTHER_GROUP, SOMEONE};
use common::records::{event_of, new_images, stream_arn, Records, STREAM_LABEL};
use common::runtime_api::{Answer, RuntimeApi};
use common::{bare_ddb, run, s, Item, TestEnv};
use serde_json::{json, Value};

/// Conversation `n` with both GRP# rows at `sk`, showing "first words".
fn group(env: &TestEnv, n: u32, sk: &str) -> Conversation {
    let g = Conversation::numbered(n);
    env.put_items(g.rows(sk, "first words", SOMEONE));
    g
}

fn seq(n: u32) -> String {
    format!("{n:021}")
}

/// A stream record as Lambda delivers it (with ApproximateCreationDateTime, SizeBytes 120).
fn record(n: u32, name: &str, image: &Item) -> Value {
    let records = Records::lambda().size_bytes(120).created(1767225600);
    records.record(n, name, image)
}

/// The event Lambda delivers for `records` of `table`'s stream (the handler skips records of
/// other tables' streams).
fn event(table: &str, records: Vec<Value>) -> Value {
    event_of(&stream_arn(table, STREAM_LABEL), records)
}

/// Both rows of the conversation, read back through the index independently of ddb.
fn rows_of(env: &TestEnv, g: &Conversation) -> Vec<(String, String, String)> {
    let rows = env.index_rows(&g.id);
    let mut rows: Vec<_> = rows
        .iter()
        .map(|i| (s(i, "pk"), s(i, "sk"), s(i, "message")))
        .collect();
    rows.sort();
    rows
}

fn assert_group_at(env: &TestEnv, g: &Conversation, sk: &str, text: &str) {
    let want = vec![
        (format!("GRP#{}", g.a), sk.to_string(), text.to_string()),
        (format!("GRP#{}", g.b), sk.to_string(), text.to_string()),
    ];
    assert_eq!(rows_of(env, g), want, "conversation {}", g.id);
}

/// The function process: the binary as `bootstrap` with no arguments, configured the way the
/// provided.al2023 runtime configures it (plus the endpoint of DynamoDB Local).
struct Function<'a> {
    env: &'a TestEnv,
    child: Child,
    api: RuntimeApi,
    stdout: Arc<Mutex<Vec<String>>>,
}

impl<'a> Function<'a> {
    fn start(env: &'a TestEnv) -> Function<'a> {
        let api = RuntimeApi::start();
        let dir = tempfile::tempdir().unwrap().keep();
        let bootstrap = dir.join("bootstrap");
        let binary = std::env::var_os("DDB_LAMBDA_BOOTSTRAP")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ddb")));
        std::os::unix::fs::symlink(&binary, &bootstrap).expect("symlink bootstrap");
        let mut cmd = Command::new(&bootstrap)
            .env_clear()
            .envs(lambda_env(env, &api))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .stdin(Stdio::null())
            .spawn()
            .expect("start bootstrap");
        let out = cmd.stdout.take().unwrap();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let lines = stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        Function {
            env,
            child: cmd,
            api,
            stdout,
        }
    }

    /// Invoke and return the partial batch response (panics on an error response).
    /// The messages of INSERT/MODIFY records are written first, as they are in the table when
    /// the stream delivers their records (the handler applies only messages that exist).
    fn batch(&self, records: Vec<Value>) -> Value {
        let messages: Vec<Item> = new_images(&records)
            .into_iter()
            .filter(|i| s(i, "pk").starts_with("MSG#"))
            .collect();
        if !messages.is_empty() {
            self.env.put_items(messages);
        }
        match self.api.invoke(&event(&self.env.table, records)) {
            Answer::Response(v) => v,
            Answer::Error(e) => panic!("expected a response, got the error {e}"),
        }
    }

    /// The JSON log lines written so far.
    fn logs(&self) -> Vec<Value> {
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l}"))
            })
            .collect()
    }

    fn record_logs(&self) -> Vec<Value> {
        self.logs()
            .into_iter()
            .filter(|l| l.get("sequence_number").is_some())
            .collect()
    }
}

impl Drop for Function<'_> {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What Lambda sets for a provided.al2023 function, pointed at the emulator and DynamoDB Local.
fn lambda_env(env: &TestEnv, api: &RuntimeApi) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = [
        ("AWS_LAMBDA_RUNTIME_API", api.addr.as_str()),
        ("AWS_LAMBDA_FUNCTION_NAME", "ddb-test"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/ddb-test"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]0"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_SESSION_TOKEN", "test"),
        ("AWS_CONFIG_FILE", "/nonexistent/ddb-test-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/ddb-test-credentials",
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("TZ", ":UTC"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    vars.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), env.endpoint.clone()));
    vars.push(("DDB_TABLE".into(), env.table.clone()));
    vars.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
    vars
}

fn failures(resp: &Value) -> Vec<&str> {
    resp["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("no batchItemFailures in {resp}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect()
}

#[test]
fn a_multi_record_event_moves_both_group_rows_and_a_replay_changes_nothing() {
    let env = TestEnv::with_table("lambda-batch");
    let g1 = group(&env, 1, &ts(0));
    let g2 = group(&env, 2, &ts(0));
    let f = Function::start(&env);
    let records = vec![
        record(1, "INSERT", &g1.message(&ts(3), "newest of g1")),
        record(2, "INSERT", &g2.message(&ts(4), "only of g2")),
        record(3, "INSERT", &g1.message(&ts(2), "older of g1")),
        record(4, "INSERT", &g1.rows(&ts(3), "first words", SOMEONE)[0]),
        record(5, "REMOVE", &g2.message(&ts(1), "gone")),
    ];
    let resp = f.batch(records.clone());
    assert_eq!(resp, json!({"batchItemFailures": []}));
    assert_group_at(&env, &g1, &ts(3), "newest of g1");
    assert_group_at(&env, &g2, &ts(4), "only of g2");
    let logs = f.record_logs();
    assert_eq!(logs.len(), 5, "one log line per record: {logs:?}");
    let outcome = |n: u32| {
        logs.iter()
            .find(|l| l["sequence_number"] == seq(n))
            .map(|l| {
                (
                    l["status"].as_str().unwrap().to_string(),
                    l["retried"].clone(),
                )
            })
            .unwrap()
    };
    assert_eq!(outcome(1), ("updated".into(), json!(false)));
    assert_eq!(outcome(2), ("updated".into(), json!(false)));
    assert_eq!(outcome(3), ("skipped".into(), json!(false)));
    assert_eq!(outcome(4), ("skipped".into(), json!(false)));
    assert_eq!(outcome(5), ("skipped".into(), json!(false)));
    // Five record lines and one summary line for the invocation.
    let summary: Vec<Value> = f
        .logs()
        .into_iter()
        .filter(|l| l.get("request_id").is_some())
        .collect();
    assert_eq!(summary.len(), 1, "{summary:?}");
    assert_eq!(summary[0]["records"], 5);

    // The same event again (Lambda redelivers after a lost response): nothing changes.
    let before = env.scan_all().len();
    let rows = (rows_of(&env, &g1), rows_of(&env, &g2));
    let resp = f.batch(records);
    assert_eq!(resp, json!({"batchItemFailures": []}));
    assert_eq!((rows_of(&env, &g1), rows_of(&env, &g2)), rows);
    assert_eq!(env.scan_all().len(), before);
    let replayed = &f.record_logs()[5..];
    assert_eq!(replayed.len(), 5);
    assert!(
        replayed.iter().all(|l| l["status"] == "skipped"),
        "a replay updates nothing: {replayed:?}"
    );
}

#[test]
fn a_failed_record_and_everything_after_it_is_reported_then_retried_from_there() {
    let env = TestEnv::with_table("lambda-partial");
    let g1 = group(&env, 11, &ts(0));
    let g2 = group(&env, 12, &ts(0));
    let g3 = group(&env, 13, &ts(0));
    // g2's participant A already has another conversation's row at the sk g2's message wants:
    // moving A's row there would overwrite that conversation, so the record fails.
    let blocker = clashing_row(&g2.a, &ts(7), "first words", ("Someone", "someone"));
    env.put_items(vec![blocker.clone()]);
    let f = Function::start(&env);
    let records = vec![
        record(1, "INSERT", &g1.message(&ts(5), "fine before")),
        record(2, "INSERT", &g2.message(&ts(7), "collides")),
        record(3, "INSERT", &g3.message(&ts(8), "fine after")),
    ];
    let resp = f.batch(records.clone());
    // Lambda checkpoints at the lowest reported record and delivers everything after it again.
    assert_eq!(failures(&resp), [seq(2), seq(3)]);
    assert_group_at(&env, &g1, &ts(5), "fine before");
    // g3 was handled (conversations run concurrently) yet reported: its redelivery is harmless.
    assert_group_at(&env, &g3, &ts(8), "fine after");
    // The other conversation's row is intact, and A's row of g2 did not move.
    let a_rows: Vec<(String, String)> = env
        .query_pk(&format!("GRP#{}", g2.a))
        .iter()
        .map(|r| (s(r, "sk"), s(r, "message_group_uuid")))
        .collect();
    assert_eq!(
        a_rows,
        [(ts(0), g2.id.clone()), (ts(7), OTHER_GROUP.to_string())]
    );
    let logs = f.record_logs();
    assert_eq!(logs.len(), 3);
    let failed = logs
        .iter()
        .find(|l| l["sequence_number"] == seq(2))
        .unwrap();
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["outcome"]
            .as_str()
            .unwrap()
            .contains("another conversation"),
        "{failed}"
    );
    let retried: Vec<_> = logs
        .iter()
        .filter(|l| l["retried"] == true)
        .map(|l| l["sequence_number"].clone())
        .collect();
    assert_eq!(retried, [json!(seq(2)), json!(seq(3))]);

    // The blocker goes; Lambda delivers the batch again from the checkpoint.
    env.delete_item(&s(&blocker, "pk"), &s(&blocker, "sk"));
    let resp = f.batch(records[1..].to_vec());
    assert_eq!(resp, json!({"batchItemFailures": []}));
    assert_group_at(&env, &g2, &ts(7), "collides");
    assert_group_at(&env, &g3, &ts(8), "fine after");
}

#[test]
fn a_bad_event_is_an_error_response_and_the_function_keeps_serving() {
    let env = TestEnv::with_table("lambda-bad");
    let g = group(&env, 21, &ts(0));
    let f = Function::start(&env);
    let before = env.scan_all().len();

    let mut broken = record(2, "INSERT", &g.message(&ts(9), "x"));
    broken["dynamodb"]["Keys"]["sk"] = json!({"N": "not a number"});
    let answer = f.api.invoke(&event(
        &env.table,
        vec![record(1, "INSERT", &g.message(&ts(8), "y")), broken],
    ));
    let Answer::Error(e) = answer else {
        panic!("expected an error response, got {answer:?}");
    };
    assert_eq!(e["errorType"], "InvalidEvent", "{e}");
    let message = e["errorMessage"].as_str().unwrap();
    assert!(message.contains("Records[1].dynamodb.Keys.sk"), "{message}");

    let answer = f
        .api
        .invoke(&json!({"detail": "an EventBridge event, not a stream"}));
    assert!(
        matches!(&answer, Answer::Error(e) if e["errorMessage"].as_str().unwrap().contains("Records")),
        "{answer:?}"
    );

    let answer = f
        .api
        .invoke_raw(b"not json at all", Duration::from_secs(60));
    assert!(matches!(answer, Answer::Error(_)), "{answer:?}");

    // Nothing was written, and the same process still serves the next event.
    assert_eq!(env.scan_all().len(), before);
    assert_group_at(&env, &g, &ts(0), "first words");
    let resp = f.batch(vec![record(
        3,
        "INSERT",
        &g.message(&ts(10), "after the bad ones"),
    )]);
    assert_eq!(resp, json!({"batchItemFailures": []}));
    assert_group_at(&env, &g, &ts(10), "after the bad ones");
}

#[test]
fn records_not_started_before_the_deadline_are_reported_not_lost() {
    let env = TestEnv::with_table("lambda-deadline");
    let g1 = group(&env, 31, &ts(0));
    let g2 = group(&env, 32, &ts(0));
    let f = Function::start(&env);
    let records = vec![
        record(1, "INSERT", &g1.message(&ts(5), "one")),
        record(2, "INSERT", &g2.message(&ts(6), "two")),
    ];
    // Less time than the function keeps in reserve: it starts nothing and answers at once,
    // reporting every record, instead of being timed out with its work half done.
    let answer = f.api.invoke_with_deadline(
        event(&env.table, records.clone()).to_string().as_bytes(),
        Duration::from_secs(60),
        Duration::from_secs(2),
    );
    let Answer::Response(resp) = answer else {
        panic!("expected a response, got {answer:?}");
    };
    assert_eq!(failures(&resp), [seq(1), seq(2)]);
    assert_group_at(&env, &g1, &ts(0), "first words");
    assert_group_at(&env, &g2, &ts(0), "first words");
    let logs = f.record_logs();
    assert_eq!(logs.len(), 2);
    assert!(
        logs.iter()
            .all(|l| l["outcome"] == "not handled" && l["retried"] == true),
        "{logs:?}"
    );
    // Delivered again with time to spare, both apply.
    assert_eq!(f.batch(records), json!({"batchItemFailures": []}));
    assert_group_at(&env, &g1, &ts(5), "one");
    assert_group_at(&env, &g2, &ts(6), "two");
}

#[test]
fn outside_lambda_it_says_so_in_one_line() {
    let r = run(bare_ddb().arg("lambda"));
    assert_eq!(r.code, 2, "stderr: {}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("error: `ddb lambda` runs inside AWS Lambda"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("AWS_LAMBDA_RUNTIME_API"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

// ---- the template ----

fn template(args: &[&str]) -> Value {
    let out = run(bare_ddb().args(["lambda", "template"]).args(args)).ok();
    serde_norway::from_str(&out).unwrap_or_else(|e| panic!("not YAML ({e}):\n{out}"))
}

/// Every IAM policy statement in the template (inline policies and trust policies).
fn statements(t: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::Array(st)) = m.get("Statement") {
                    out.extend(st.iter().cloned());
                }
                m.values().for_each(|v| walk(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(t, &mut out);
    out
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Object(m) => m.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn the_template_wires_the_stream_to_the_handler_with_least_privilege() {
    let t = template(&[]);
    let res = &t["Resources"];
    let mapping = &res["StreamMapping"]["Properties"];
    assert_eq!(
        res["StreamMapping"]["Type"],
        "AWS::Lambda::EventSourceMapping"
    );
    assert_eq!(
        mapping["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(mapping["StartingPosition"], "LATEST");
    assert_eq!(mapping["BisectBatchOnFunctionError"], true);
    let retries = mapping["MaximumRetryAttempts"].as_i64().unwrap();
    assert!((0..=100).contains(&retries), "bounded retries: {retries}");
    assert_eq!(
        mapping["EventSourceArn"],
        json!({"Fn::GetAtt": ["MessagesTable", "StreamArn"]})
    );
    assert_eq!(
        mapping["DestinationConfig"]["OnFailure"]["Destination"],
        json!({"Fn::GetAtt": ["FailureQueue", "Arn"]})
    );
    assert_eq!(res["FailureQueue"]["Type"], "AWS::SQS::Queue");
    let filters = mapping["FilterCriteria"]["Filters"].as_array().unwrap();
    assert_eq!(filters.len(), 1);
    let pattern: Value = serde_json::from_str(filters[0]["Pattern"].as_str().unwrap()).unwrap();
    assert_eq!(
        pattern,
        json!({"eventName": ["INSERT", "MODIFY"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "MSG#"}]}}}})
    );

    let func = &res["Function"]["Properties"];
    assert_eq!(func["Runtime"], "provided.al2023");
    assert_eq!(func["Architectures"], json!(["x86_64"]));
    assert_eq!(
        func["Environment"]["Variables"]["DDB_TABLE"],
        json!({"Ref": "MessagesTable"})
    );

    // The table is the shipped schema's, with the stream, protection and backups on.
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo_root().join("fixtures/schema.json")).unwrap(),
    )
    .unwrap();
    let table = &res["MessagesTable"]["Properties"];
    assert_eq!(table["KeySchema"], schema["KeySchema"]);
    assert_eq!(
        table["AttributeDefinitions"],
        schema["AttributeDefinitions"]
    );
    assert_eq!(
        table["GlobalSecondaryIndexes"],
        schema["GlobalSecondaryIndexes"]
    );
    assert_eq!(
        table["StreamSpecification"],
        json!({"StreamViewType": "NEW_IMAGE"})
    );
    assert_eq!(table["DeletionProtectionEnabled"], true);
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(t["Parameters"]["TableName"]["Default"], schema["TableName"]);

    // Least privilege: no statement grants "*" (or a wildcard service) as action or resource.
    let st = statements(&t);
    assert_eq!(st.len(), 6, "{st:?}");
    for s in &st {
        for key in ["Action", "Resource"] {
            for v in strings(&s[key]) {
                assert!(v != "*" && !v.ends_with(":*"), "{key} {v} in {s}");
            }
        }
    }
    let actions: Vec<String> = st.iter().flat_map(|s| strings(&s["Action"])).collect();
    for a in [
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetRecords",
        "sqs:SendMessage",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} missing from {actions:?}"
        );
    }
    assert!(!actions
        .iter()
        .any(|a| a == "dynamodb:Scan" || a == "dynamodb:DeleteTable"));
    for out in ["TableArn", "StreamArn", "FunctionArn", "FailureQueueArn"] {
        assert!(t["Outputs"][out]["Value"].is_object(), "output {out}");
    }

    // The YAML is the template exactly: it reads back equal to `-o json`.
    let json_out = run(bare_ddb().args(["-o", "json", "lambda", "template"])).json();
    assert_eq!(t, json_out);

    let arm = template(&["--arch", "arm64"]);
    assert_eq!(
        arm["Resources"]["Function"]["Properties"]["Architectures"],
        json!(["arm64"])
    );
}

#[test]
fn a_schema_without_the_stream_is_refused_for_the_template() {
    let dir = tempfile::tempdir().unwrap();
    let mut schema: Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo_root().join("fixtures/schema.json")).unwrap(),
    )
    .unwrap();
    schema
        .as_object_mut()
        .unwrap()
        .remove("StreamSpecification");
    let path = common::write_temp(dir.path(), "schema.json", &schema.to_string());
    let r = run(bare_ddb()
        .args(["lambda", "template", "--schema"])
        .arg(&path));
    r.assert_exit(8, &["no stream"]);
    assert!(r.stdout.is_empty(), "nothing half-written: {}", r.stdout);
}
