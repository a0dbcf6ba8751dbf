//! The exit-code table (docs/exit-codes.md), row by row: one case per row and per kind of bad value, each
//! asserting the exact code and that stderr is exactly one line (`error: …`) without Debug
//! dumps or credentials. The rule for bad values: a malformed option, argument or environment
//! value is a usage error (2), seen before any work; the contents of input files, and names
//! those files do not have, are invalid input (8).

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, KeySchemaElement, KeyType, ProvisionedThroughput, ScalarAttributeType,
};
use common::proxy::Faults;
use common::{bare_ddb, run, TestEnv, MAIN_GROUP};

/// A tiny HTTP server that is not DynamoDB: every request gets `status` with `content_type`
/// and `body`. Returns its endpoint; the thread lives as long as the test binary.
fn http_server(status: &'static str, content_type: &'static str, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            // Read the head and the body the request announces, then answer and close.
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&req).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if req.len() >= end + 4 + len {
                        break;
                    }
                }
            }
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    endpoint
}

struct Case {
    what: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    code: i32,
    /// Text the one line must contain.
    says: Vec<String>,
}

fn case(what: &'static str, code: i32, args: &[&str], says: &[&str]) -> Case {
    Case {
        what,
        args: args.iter().map(|s| s.to_string()).collect(),
        env: Vec::new(),
        code,
        says: says.iter().map(|s| s.to_string()).collect(),
    }
}

fn check(c: &Case) {
    let mut cmd = bare_ddb();
    cmd.args(&c.args);
    for (k, v) in &c.env {
        cmd.env(k, v);
    }
    let r = run(&mut cmd);
    assert_eq!(
        r.code, c.code,
        "{}: {:?}\nstderr: {}",
        c.what, c.args, r.stderr
    );
    if c.code == 0 {
        assert_eq!(r.stderr, "", "{}: nothing on stderr", c.what);
        return;
    }
    assert_eq!(
        r.stderr.lines().count(),
        1,
        "{}: stderr must be exactly one line:\n{}",
        c.what,
        r.stderr
    );
    assert!(
        r.stderr.starts_with("error: ") && r.stderr.ends_with('\n'),
        "{}: {}",
        c.what,
        r.stderr
    );
    for want in &c.says {
        assert!(
            r.stderr.contains(want.as_str()),
            "{}: want {want:?} in:\n{}",
            c.what,
            r.stderr
        );
    }
    for dump in [
        "Error {",
        "Request {",
        "SdkBody",
        "unhandled error",
        "interceptor",
    ] {
        assert!(
            !r.stderr.contains(dump),
            "{}: a Debug dump or SDK internals in:\n{}",
            c.what,
            r.stderr
        );
    }
    assert!(
        !r.stderr.contains("hunter2"),
        "{}: a password was printed:\n{}",
        c.what,
        r.stderr
    );
}

#[test]
fn every_exit_code_row_and_every_kind_of_bad_value() {
    let env = TestEnv::with_table("exit");
    let at = env.endpoint.clone();
    let table = env.table.clone();
    let on = |rest: &[&str]| -> Vec<String> {
        ["--endpoint-url", at.as_str(), "--table", table.as_str()]
            .iter()
            .chain(rest)
            .map(|s| s.to_string())
            .collect()
    };
    let with = |mut c: Case, args: Vec<String>| {
        c.args = args;
        c
    };

    // A table whose keys differ from the schema (pk only), made behind ddb's back.
    let other = format!("{table}-pk-only");
    env.block_on(
        env.client()
            .create_table()
            .table_name(&other)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .provisioned_throughput(
                ProvisionedThroughput::builder()
                    .read_capacity_units(1)
                    .write_capacity_units(1)
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .expect("create the pk-only table");

    let dir = tempfile::tempdir().unwrap();
    let broken = common::write_temp(dir.path(), "broken.json", "{\"users\": [\n");
    let broken = broken.to_str().unwrap();

    let validation = http_server(
        "400 Bad Request",
        "application/x-amz-json-1.0",
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"1 validation error detected: something the service disliked"}"#,
    );
    let html_404 = http_server("404 Not Found", "text/html", "<html>nothing here</html>");
    let html_200 = http_server(
        "200 OK",
        "text/html; charset=utf-8",
        "<html>a web app</html>",
    );
    let partial = env.proxy(Faults {
        unprocessed: 1.0,
        seed: 3,
        ..Faults::on(&["BatchWriteItem"])
    });

    let mut cases = vec![
        // 0: success.
        with(case("success", 0, &[], &[]), on(&["describe-table"])),
        // 1: a service error nothing else covers: its code and message, one line.
        case(
            "unclassified service error",
            1,
            &["--endpoint-url", &validation, "describe-table"],
            &[
                "ValidationException on DescribeTable: 1 validation error detected: something the service disliked",
            ],
        ),
        // 2: usage, the command line's shape.
        case("unknown option", 2, &["--bogus", "list-tables"], &["--bogus"]),
        case("unknown command", 2, &["bogus"], &["bogus"]),
        case(
            "missing argument",
            2,
            &["get-conversation"],
            &["<GROUP_UUID>", "ddb get-conversation --help"],
        ),
        case(
            "conflicting options",
            2,
            &["--local", "--endpoint-url", "http://127.0.0.1:1", "list-tables"],
            &["--local"],
        ),
        // 2: usage, a malformed value (each kind once).
        case(
            "empty endpoint",
            2,
            &["--endpoint-url", "", "list-tables"],
            &["--endpoint-url", "empty"],
        ),
        case(
            "endpoint without scheme",
            2,
            &["--endpoint-url", "localhost:8000", "list-tables"],
            &["'localhost:8000'", "http://"],
        ),
        case(
            "endpoint that does not parse",
            2,
            &["--endpoint-url", "http://[::1", "list-tables"],
            &["'http://[::1'", "']'"],
        ),
        case(
            "endpoint with a bad port",
            2,
            &["--endpoint-url", "http://localhost:99999", "list-tables"],
            &["99999"],
        ),
        case(
            "endpoint credentials never printed",
            2,
            &["--endpoint-url", "http://user:hunter2@[::1", "list-tables"],
            &["***@"],
        ),
        case(
            "region",
            2,
            &["--region", "garbage region!", "list-tables"],
            &["--region", "'garbage region!'", "not a region name"],
        ),
        case(
            "table name",
            2,
            &["--endpoint-url", "http://127.0.0.1:1", "--table", "bad name!", "describe-table"],
            &["--table", "'bad name!'"],
        ),
        case("output format", 2, &["-o", "xml", "list-tables"], &["'xml'", "ndjson"]),
        case(
            "number out of range",
            2,
            &["get-conversation", MAIN_GROUP, "--limit", "0"],
            &["--limit"],
        ),
        case(
            "uuid",
            2,
            &["get-conversation", "not-a-uuid"],
            &["'not-a-uuid'", "not a uuid"],
        ),
        case("year", 2, &["get-conversation", MAIN_GROUP, "--year", "26"], &["--year"]),
        case(
            "time",
            2,
            &["get-conversation", MAIN_GROUP, "--since", "yesterday"],
            &["--since", "'yesterday'"],
        ),
        case(
            "time window",
            2,
            &[
                "--endpoint-url",
                "http://127.0.0.1:1",
                "get-conversation",
                MAIN_GROUP,
                "--since",
                "2026-02-01T00:00:00Z",
                "--until",
                "2026-01-01T00:00:00Z",
            ],
            &["--since", "after"],
        ),
        case(
            "empty message",
            2,
            &["put-message", "--group", MAIN_GROUP, "--handle", "bayko", "--message", " "],
            &["--message"],
        ),
        case(
            "synthetic size",
            2,
            &["--endpoint-url", "http://127.0.0.1:1", "seed", "--synthetic", "10", "--groups", "0"],
            &["groups"],
        ),
        Case {
            env: vec![("AWS_ENDPOINT_URL", "not a url".into())],
            ..case("endpoint from the environment", 2, &["list-tables"], &["AWS_ENDPOINT_URL", "'not a url'"])
        },
        Case {
            env: vec![("AWS_REGION", "bad region".into())],
            ..case(
                "region from the environment",
                2,
                &["--endpoint-url", "http://192.0.2.1:8000", "list-tables"],
                &["'bad region'", "AWS_REGION"],
            )
        },
        Case {
            env: vec![("DDB_TABLE", "x".into())],
            ..case("table from the environment", 2, &["describe-table"], &["'x'", "3 to 255"])
        },
        // 3: DynamoDB cannot be reached, or is not what answers.
        case(
            "closed port",
            3,
            &["--endpoint-url", "http://127.0.0.1:1", "list-tables"],
            &["cannot reach DynamoDB at http://127.0.0.1:1"],
        ),
        case(
            "credentials in an unreachable endpoint",
            3,
            &["--endpoint-url", "http://user:hunter2@127.0.0.1:1", "list-tables"],
            &["http://***@127.0.0.1:1"],
        ),
        case(
            "an HTTP 404 page",
            3,
            &["--endpoint-url", &html_404, "list-tables"],
            &["HTTP 404", "text/html", "not a DynamoDB answer"],
        ),
        case(
            "an HTTP 200 web page",
            3,
            &["--endpoint-url", &html_200, "describe-table"],
            &["HTTP 200", "text/html", "not a DynamoDB answer"],
        ),
        case(
            "no region for a remote target",
            3,
            &["--endpoint-url", "http://192.0.2.1:8000", "list-tables"],
            &["no AWS region"],
        ),
        // 4: not found; the hint keeps the target and the table.
        Case {
            env: vec![("DDB_LOCAL_ENDPOINT", at.clone())],
            ..case(
                "missing table",
                4,
                &["--local", "--table", "nope", "describe-table"],
                &["table 'nope' not found", "`ddb --local --table nope schema-load`"],
            )
        },
        // 5: the table differs from the schema.
        case(
            "table differs",
            5,
            &["--endpoint-url", &at, "--table", &other, "schema-load"],
            &[&other],
        ),
        // 6: refused before any request.
        case(
            "remote drop without --yes",
            6,
            &["--endpoint-url", "http://192.0.2.1:8000", "--region", "us-east-1", "drop"],
            &["--yes"],
        ),
        // 7: some writes failed after retries.
        case(
            "partial write",
            7,
            &[
                "--endpoint-url",
                &partial.endpoint(),
                "--table",
                &table,
                "seed",
                "--synthetic",
                "30",
                "--groups",
                "2",
                "--max-attempts",
                "1",
            ],
            &["NOT written"],
        ),
        // 8: input files and the names in them.
        case(
            "broken fixture file",
            8,
            &["--endpoint-url", "http://127.0.0.1:1", "seed", "--fixture", broken],
            &["broken.json:"],
        ),
        case(
            "missing schema file",
            8,
            &["--endpoint-url", "http://127.0.0.1:1", "schema-load", "--schema", "/nonexistent/s.json"],
            &["/nonexistent/s.json"],
        ),
        case(
            "a handle the fixture does not have",
            8,
            &[
                "--endpoint-url",
                "http://127.0.0.1:1",
                "put-message",
                "--group",
                MAIN_GROUP,
                "--handle",
                "ghost",
                "--message",
                "x",
            ],
            &["unknown handle 'ghost'"],
        ),
    ];
    // Commands aimed at this env's table that need it to exist.
    cases.push(with(
        case(
            "drop of a missing table suggests nothing",
            4,
            &[],
            &["not found"],
        ),
        vec![
            "--endpoint-url".into(),
            at.clone(),
            "--table".into(),
            "nope-drop".into(),
            "drop".into(),
        ],
    ));
    let mut codes = std::collections::BTreeSet::new();
    for c in &cases {
        check(c);
        codes.insert(c.code);
    }
    // Every row of the exit-code table but 130 (its own test below) has a case.
    assert_eq!(
        codes.into_iter().collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4, 5, 6, 7, 8]
    );

    // drop never suggests creating the table it was asked to delete.
    let r = run(bare_ddb().args(["--endpoint-url", &at, "--table", "nope-drop", "drop"]));
    assert!(!r.stderr.contains("schema-load"), "{}", r.stderr);
}

#[test]
fn credentials_in_the_endpoint_are_never_printed_even_verbose() {
    let env = TestEnv::new("exit-secret");
    let url = env.endpoint.replace("http://", "http://user:hunter2@");
    for args in [vec!["describe-table"], vec!["list-tables"]] {
        let r = run(bare_ddb()
            .args(["-v", "--endpoint-url", &url, "--table", &env.table])
            .args(&args));
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(!all.contains("hunter2"), "{args:?}: {all}");
        assert!(r.stderr.contains("***@"), "{args:?}: {}", r.stderr);
    }
}

#[test]
fn ctrl_c_is_130_with_one_line() {
    let env = TestEnv::with_table("exit-int");
    // Every GetRecords answered empty at once (as DynamoDB Streams may): the proxy counts the
    // follower's polls, so the interrupt comes once it is really polling, not after a guess.
    let proxy = env.proxy(Faults {
        empty_records: 1.0,
        ..Faults::on(&["GetRecords"])
    });
    let mut child = common::spawn(
        proxy
            .ddb()
            .args(["simulate-stream", "--from", "latest", "--follow"])
            .args(["--poll-interval", "50"]),
    );
    let polled = || proxy.stats().empty_records >= 2;
    common::wait_while_running(&mut child, Duration::from_secs(60), "two polls", polled);
    let out = common::interrupt(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
}

/// Issue 17, case 8: an argument that is not UTF-8 is a usage error (exit 2, one line), not a
/// panic.
#[test]
fn a_non_utf8_argument_is_a_usage_error() {
    use std::os::unix::ffi::OsStrExt;
    let env = TestEnv::new("exit-utf8");
    let bad = std::ffi::OsStr::from_bytes(b"MSG#\xff");
    let r = run(env.ddb().args(["scan", "--pk-prefix"]).arg(bad));
    r.assert_exit(2, &["UTF-8"]);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}
