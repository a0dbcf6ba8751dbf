//! The deployed function as the tests run it: the binary started as `bootstrap` with no
//! arguments, configured the way the provided.al2023 runtime configures it, serving the
//! Runtime API emulator (`runtime_api.rs`) against DynamoDB Local or a proxy in front of it;
//! the template it deploys with; and the events, records and rows the Lambda tests share.
//!
//! `DDB_LAMBDA_BOOTSTRAP=/path/to/binary` runs the function and prints the template with another
//! build (the one in the deployment zip: `just lambda-check`; an older build, to show a test
//! fails on it).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::items::{ts, Conversation, SOMEONE};
use super::records::{event_of, new_images, stream_arn, Records, STREAM_LABEL};
use super::runtime_api::{Answer, RuntimeApi};
use super::{bare, run, s, wait_until, Item, TestEnv};

/// The binary under test: `$DDB_LAMBDA_BOOTSTRAP`, or this build's `ddb`.
pub fn binary() -> PathBuf {
    std::env::var_os("DDB_LAMBDA_BOOTSTRAP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ddb")))
}

/// `ddb -o json lambda template ARGS` of the binary under test, parsed; `global` goes before
/// the subcommand (`--table`, say).
pub fn template(global: &[&str], args: &[&str]) -> Value {
    let mut cmd = bare(&binary());
    cmd.args(global)
        .args(["-o", "json", "lambda", "template"])
        .args(args);
    run(&mut cmd).json()
}

/// Conversation `n` with both GRP# rows at `sk`, showing "first words".
pub fn group(env: &TestEnv, n: u32, sk: &str) -> Conversation {
    let g = Conversation::numbered(n);
    env.put_items(g.rows(sk, "first words", SOMEONE));
    g
}

/// Sequence number `n` as the records carry it.
pub fn seq(n: u32) -> String {
    format!("{n:021}")
}

/// A stream record as Lambda delivers it (with ApproximateCreationDateTime, SizeBytes 120).
pub fn record(n: u32, name: &str, image: &Item) -> Value {
    let records = Records::lambda().size_bytes(120).created(1767225600);
    records.record(n, name, image)
}

/// The event Lambda delivers for `records` of `table`'s stream (the handler skips records of
/// other tables' streams).
pub fn event(table: &str, records: Vec<Value>) -> Value {
    event_of(&stream_arn(table, STREAM_LABEL), records)
}

/// Both rows of the conversation, read back through the index independently of ddb.
pub fn rows_of(env: &TestEnv, g: &Conversation) -> Vec<(String, String, String)> {
    let rows = env.index_rows(&g.id);
    let mut rows: Vec<_> = rows
        .iter()
        .map(|i| (s(i, "pk"), s(i, "sk"), s(i, "message")))
        .collect();
    rows.sort();
    rows
}

pub fn assert_group_at(env: &TestEnv, g: &Conversation, sk: &str, text: &str) {
    let want = vec![
        (format!("GRP#{}", g.a), sk.to_string(), text.to_string()),
        (format!("GRP#{}", g.b), sk.to_string(), text.to_string()),
    ];
    assert_eq!(rows_of(env, g), want, "conversation {}", g.id);
}

/// Both rows still at `ts(0)`, showing "first words".
pub fn assert_group_untouched(env: &TestEnv, g: &Conversation) {
    assert_group_at(env, g, &ts(0), "first words");
}

/// The sequence numbers a partial batch response reports.
pub fn failures(resp: &Value) -> Vec<&str> {
    resp["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("no batchItemFailures in {resp}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect()
}

/// The function process and the emulator it serves.
pub struct Function<'a> {
    env: &'a TestEnv,
    child: Child,
    pub api: RuntimeApi,
    stdout: Arc<Mutex<Vec<String>>>,
}

impl<'a> Function<'a> {
    /// The function, its DynamoDB calls going to `env`'s DynamoDB Local.
    pub fn start(env: &'a TestEnv) -> Function<'a> {
        Function::start_via(env, &env.endpoint)
    }

    /// The function, its DynamoDB calls going to `endpoint` (a proxy in front of `env`'s).
    pub fn start_via(env: &'a TestEnv, endpoint: &str) -> Function<'a> {
        let api = RuntimeApi::start();
        let dir = tempfile::tempdir().unwrap().keep();
        let bootstrap = dir.join("bootstrap");
        std::os::unix::fs::symlink(binary(), &bootstrap).expect("symlink bootstrap");
        let mut cmd = Command::new(&bootstrap)
            .env_clear()
            .envs(lambda_env(env, endpoint, &api))
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
    pub fn batch(&self, records: Vec<Value>) -> Value {
        let messages: Vec<Item> = new_images(&records)
            .into_iter()
            .filter(|i| s(i, "pk").starts_with("MSG#"))
            .collect();
        if !messages.is_empty() {
            self.env.put_items(messages);
        }
        self.invoke(records)
    }

    /// Invoke with `records` as they are, writing nothing first (a replay of a message deleted
    /// since, say); the partial batch response.
    pub fn invoke(&self, records: Vec<Value>) -> Value {
        match self.api.invoke(&event(&self.env.table, records)) {
            Answer::Response(v) => v,
            Answer::Error(e) => panic!("expected a response, got the error {e}"),
        }
    }

    /// The JSON log lines written so far.
    pub fn logs(&self) -> Vec<Value> {
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

    /// The log lines of records.
    pub fn record_logs(&self) -> Vec<Value> {
        self.logs()
            .into_iter()
            .filter(|l| l.get("sequence_number").is_some())
            .collect()
    }

    /// The Embedded Metric Format lines, once there are `n` (one per invocation, written last:
    /// every other line of those invocations has been read by then).
    pub fn metric_lines(&self, n: usize) -> Vec<Value> {
        let lines = || -> Vec<Value> {
            let logs = self.logs().into_iter();
            logs.filter(|l| l.get("_aws").is_some()).collect()
        };
        wait_until(
            Duration::from_secs(10),
            &format!("{n} metrics lines"),
            || lines().len() >= n,
        );
        lines()
    }
}

impl Drop for Function<'_> {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The name the function runs under (AWS_LAMBDA_FUNCTION_NAME).
pub const FUNCTION_NAME: &str = "ddb-test";

/// What Lambda sets for a provided.al2023 function, pointed at the emulator and `endpoint`.
fn lambda_env(env: &TestEnv, endpoint: &str, api: &RuntimeApi) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = [
        ("AWS_LAMBDA_RUNTIME_API", api.addr.as_str()),
        ("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME),
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
    vars.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint.to_string()));
    vars.push(("DDB_TABLE".into(), env.table.clone()));
    vars.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
    vars
}
