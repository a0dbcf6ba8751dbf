//! The command line itself: help snapshots, completions, safety refusals and errors that need
//! no database (they happen before any request).

mod common;

use std::path::PathBuf;

use common::{bare_ddb, run};

const SUBCOMMANDS: &[&str] = &[
    "schema-load",
    "list-tables",
    "describe-table",
    "drop",
    "seed",
    "put-message",
    "get-conversation",
    "list-conversations",
    "scan",
    "get-item",
    "query",
    "sql",
    "simulate-stream",
    "tail",
    "diff",
    "lambda",
    "lambda template",
    "defaults",
    "export",
    "import",
    "completions",
    "local",
    "local start",
    "local stop",
    "local status",
    "local logs",
    "local handler",
    "local wait",
    "local install",
];

fn snapshot_path(name: &str) -> PathBuf {
    common::repo_root()
        .join("tests/snapshots")
        .join(format!("{name}.txt"))
}

/// Compare with the stored snapshot; UPDATE_SNAPSHOTS=1 rewrites it instead.
fn assert_snapshot(name: &str, actual: &str) {
    let path = snapshot_path(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {}; run with UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    assert_eq!(
        expected, actual,
        "help text of '{name}' changed; if intended, run UPDATE_SNAPSHOTS=1 cargo test --test cli"
    );
}

#[test]
fn help_text_snapshots() {
    let top = run(bare_ddb().arg("--help")).ok();
    assert_snapshot("help", &top);
    for sub in SUBCOMMANDS {
        let out = run(bare_ddb().args(sub.split(' ')).arg("--help")).ok();
        assert_snapshot(&format!("help-{}", sub.replace(' ', "-")), &out);
    }
}

#[test]
fn every_command_names_its_api_and_has_an_example() {
    for sub in SUBCOMMANDS {
        let out = run(bare_ddb().args(sub.split(' ')).arg("--help")).ok();
        assert!(
            out.contains("[API: "),
            "{sub} --help does not name its API:\n{out}"
        );
        let examples = out.split("Examples:\n").nth(1).unwrap_or_default();
        assert!(
            examples.lines().any(|l| l.starts_with("  ddb ")),
            "{sub} --help has no example:\n{out}"
        );
    }
    let top = run(bare_ddb().arg("--help")).ok();
    for sub in SUBCOMMANDS.iter().filter(|s| !s.contains(' ')) {
        assert!(top.contains(sub), "top-level help does not list {sub}");
    }
}

/// `-h` at 80 columns: each command's own options and examples in at most 40 lines, the
/// global options only in `ddb -h` (a command's `-h` points there), no line wider than 80
/// (so no example wraps); `--help` has the whole text, global options included.
#[test]
fn short_help_fits_40_lines_of_80_columns() {
    let help = |args: &[&str]| run(bare_ddb().env("COLUMNS", "80").args(args)).ok();
    let globals = ["--endpoint-url", "--max-attempts", "--profile"];
    let top = help(&["-h"]);
    for g in globals {
        assert!(top.contains(g), "ddb -h lacks {g}:\n{top}");
    }
    for sub in SUBCOMMANDS {
        let words: Vec<&str> = sub.split(' ').collect();
        let short = help(&[&words[..], &["-h"]].concat());
        let lines = short.lines().count();
        assert!(lines <= 40, "{sub} -h is {lines} lines:\n{short}");
        for g in globals {
            assert!(!short.contains(g), "{sub} -h repeats {g}:\n{short}");
        }
        assert!(
            short.contains("ddb -h"),
            "{sub} -h does not point to ddb -h"
        );
        let long = help(&[&words[..], &["--help"]].concat());
        assert!(
            long.contains("--endpoint-url"),
            "{sub} --help lacks the globals"
        );
        for text in [&short, &long, &top] {
            for line in text.lines() {
                assert!(
                    line.chars().count() <= 80,
                    "{sub}: wider than 80 columns: {line}"
                );
            }
        }
    }
}

#[test]
fn global_options_work_after_the_subcommand_too() {
    // Parses and fails on the unreachable endpoint, not on the option position.
    let r = run(bare_ddb().args([
        "describe-table",
        "--endpoint-url",
        "http://127.0.0.1:1",
        "--table",
        "later",
        "-o",
        "json",
    ]));
    r.assert_exit(3, &["http://127.0.0.1:1"]);
}

#[test]
fn completions_cover_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(bare_ddb().args(["completions", shell])).ok();
        for sub in [
            "schema-load",
            "get-conversation",
            "simulate-stream",
            "tail",
            "diff",
        ] {
            assert!(out.contains(sub), "{shell} completions lack {sub}");
        }
        for option in ["since", "events", "exit-code", "right-profile"] {
            let spelled = match shell {
                "fish" => format!("-l {option}"),
                _ => format!("--{option}"),
            };
            assert!(out.contains(&spelled), "{shell} completions lack {spelled}");
        }
    }
    let r = run(bare_ddb().args(["completions", "tcsh"]));
    assert_eq!(r.code, 2, "unknown shell is a usage error");
}

#[test]
fn remote_drop_refuses_without_yes_and_names_the_target() {
    let r = run(bare_ddb().args(["--region", "eu-west-1", "--table", "prod-messages", "drop"]));
    let target = [
        "AWS DynamoDB (eu-west-1)",
        "region eu-west-1",
        "prod-messages",
    ];
    r.assert_exit(6, &[&["refusing", "--yes"][..], &target].concat());
    assert!(r.stdout.is_empty());
}

#[test]
fn remote_recreate_refuses_without_yes() {
    let r = run(bare_ddb().args([
        "--endpoint-url",
        "https://dynamodb.eu-west-1.amazonaws.com",
        "--region",
        "eu-west-1",
        "schema-load",
        "--recreate",
    ]));
    r.assert_exit(
        6,
        &[
            "drop and recreate table 'cruddur-messages'",
            "https://dynamodb.eu-west-1.amazonaws.com",
        ],
    );
}

#[test]
fn closed_port_names_the_endpoint_and_suggests_local_start() {
    let port = common::free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let r = run(bare_ddb().args(["--endpoint-url", &endpoint, "list-tables"]));
    assert_eq!(r.code, 3, "stderr: {}", r.stderr);
    assert!(
        r.stderr.starts_with("error: cannot reach DynamoDB at "),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(&endpoint), "{}", r.stderr);
    assert!(r.stderr.contains("ddb local start"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
}

#[test]
fn local_flag_honours_ddb_local_endpoint() {
    let port = common::free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let r =
        run(bare_ddb()
            .env("DDB_LOCAL_ENDPOINT", &endpoint)
            .args(["--local", "-v", "list-tables"]));
    let target = format!("endpoint {endpoint}, region us-east-1");
    r.assert_exit(3, &[&target, "(local)"]);
}

#[test]
fn table_comes_from_ddb_table_env() {
    let r = run(bare_ddb().env("DDB_TABLE", "from-env").args([
        "--endpoint-url",
        "http://127.0.0.1:1",
        "-v",
        "describe-table",
    ]));
    assert!(r.stderr.contains("table from-env"), "{}", r.stderr);
}

/// `schema-load --schema PATH` against a closed port: validation happens before any request,
/// so an unreachable endpoint is fine.
fn schema_load_offline(path: &std::path::Path) -> common::Run {
    let offline = ["--endpoint-url", "http://127.0.0.1:1"];
    run(bare_ddb()
        .args(offline)
        .args(["schema-load", "--schema"])
        .arg(path))
}

#[test]
fn broken_schema_file_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_temp(
        dir.path(),
        "schema.json",
        "{\n  \"TableName\": \"x\",\n  \"KeySchema\": [\n}\n",
    );
    let r = schema_load_offline(&path);
    assert_eq!(r.code, 8, "stderr: {}", r.stderr);
    let want = format!("error: {}:4:1: ", path.display());
    assert!(r.stderr.starts_with(&want), "want {want:?} in {}", r.stderr);
}

#[test]
fn invalid_schema_definition_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(common::repo_root().join("fixtures/schema.json"))
        .unwrap()
        .replace(
            "\"ProjectionType\": \"ALL\"",
            "\"ProjectionType\": \"SOME\"",
        );
    let path = common::write_temp(dir.path(), "schema.json", &text);
    let r = schema_load_offline(&path);
    // Typed values: serde names the file, line and column of the bad name.
    let bad_name =
        "schema.json:19:46: unknown variant `SOME`, expected one of `ALL`, `KEYS_ONLY`, `INCLUDE`";
    r.assert_exit(8, &[bad_name]);
}

#[test]
fn bad_endpoint_url_is_a_clear_error() {
    let r = run(bare_ddb().args(["--endpoint-url", "localhost:8000", "list-tables"]));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("invalid value 'localhost:8000' for '--endpoint-url <URL>'"),
        "{}",
        r.stderr
    );
}

#[test]
fn local_and_endpoint_url_conflict() {
    let r = run(bare_ddb().args([
        "--local",
        "--endpoint-url",
        "http://127.0.0.1:1",
        "list-tables",
    ]));
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn interactive_remote_drop_asks_for_the_table_name() {
    // `script` gives ddb a terminal; a wrong answer must refuse before any request is sent.
    let cmd = format!(
        "{} --region eu-west-1 --table prod-messages drop",
        env!("CARGO_BIN_EXE_ddb")
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` is needed for this test");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"prod\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(
        text.contains("Type the table name (prod-messages) to continue"),
        "{text}"
    );
    assert!(text.contains("not confirmed; nothing was done"), "{text}");
}

#[test]
fn missing_credentials_and_region_are_one_actionable_line() {
    // bare_ddb points the AWS config files nowhere and disables IMDS: nothing is configured.
    let r = run(bare_ddb().args(["--region", "eu-west-1", "list-tables"]));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(
        r.stderr.lines().count(),
        1,
        "one line, no SDK dump: {}",
        r.stderr
    );
    assert!(
        r.stderr
            .starts_with("error: no AWS credentials for ListTables at AWS DynamoDB (eu-west-1)"),
        "{}",
        r.stderr
    );

    let r = run(bare_ddb().args([
        "--profile",
        "nope",
        "--region",
        "eu-west-1",
        "describe-table",
    ]));
    r.assert_exit(3, &["profile 'nope' has none or does not exist"]);

    let r = run(bare_ddb().arg("list-tables"));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("error: no AWS region configured"),
        "{}",
        r.stderr
    );
}

#[test]
fn unreadable_input_files_are_invalid_input() {
    for args in [
        vec!["seed", "--fixture", "/nonexistent/fixture.json"],
        vec!["schema-load", "--schema", "/nonexistent/schema.json"],
        vec!["simulate-stream", "--event", "/nonexistent/event.json"],
    ] {
        // Read before any request, so the closed endpoint is never reached.
        let r = run(bare_ddb()
            .args(["--endpoint-url", "http://127.0.0.1:1"])
            .args(&args));
        assert_eq!(r.code, 8, "{args:?}: {}", r.stderr);
        assert!(r.stderr.starts_with("error: cannot read "), "{}", r.stderr);
        assert!(r.stderr.contains("/nonexistent/"), "{}", r.stderr);
    }
}
