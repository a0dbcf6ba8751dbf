//! A new user's first run: `just demo`'s own commands survive a recreated table and a fresh
//! in-memory instance, and `ddb local start` needs neither npm nor Java when DynamoDB Local
//! already answers (Docker's amazon/dynamodb-local, say).

mod common;

use std::path::Path;
use std::process::Command;

use common::start_private_local;

/// The `ddb` lines of the justfile's `demo` recipe, as bash commands for this binary on `port`.
fn demo_commands(port: u16) -> Vec<String> {
    let justfile = std::fs::read_to_string(common::repo_root().join("justfile")).unwrap();
    let body: Vec<String> = justfile
        .lines()
        .skip_while(|l| !l.starts_with("demo:"))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .map(str::trim)
        .filter(|l| l.starts_with("{{ddb}}"))
        .map(|l| {
            l.replace("{{ddb}}", env!("CARGO_BIN_EXE_ddb"))
                .replace("{{local_port}}", &port.to_string())
        })
        .collect();
    assert!(body.len() >= 5, "demo recipe not found in the justfile");
    body
}

/// The user's machine: `home` holds the XDG folders (where `ddb local` keeps its state).
fn user(home: &Path) -> Command {
    let mut cmd = common::bare_ddb();
    cmd.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("DDB_LOCAL_JAR_DIR", common::jar_dir());
    cmd
}

fn run_demo(port: u16, home: &Path, round: &str) {
    for line in demo_commands(port) {
        let mut bash = Command::new("bash");
        bash.args(["-euo", "pipefail", "-c", &line])
            .current_dir(common::repo_root())
            .env_remove("DDB_TABLE")
            .env_remove("DDB_LOCAL_ENDPOINT")
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("DDB_LOCAL_JAR_DIR", common::jar_dir())
            .env("AWS_CONFIG_FILE", "/nonexistent/ddb-test-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/ddb-test-credentials",
            );
        let out = bash.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{round}: `{line}` failed ({}):\n{text}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        if line.contains("list-conversations") {
            assert!(text.contains("Demo ping"), "{round}:\n{text}");
        }
    }
}

/// The user's home; whatever the test did, the handler the demo started is stopped.
struct Home(tempfile::TempDir);

impl Drop for Home {
    fn drop(&mut self) {
        let _ = user(self.0.path()).args(["local", "stop"]).output();
    }
}

#[test]
fn the_demo_survives_a_recreated_table_and_a_restarted_instance() {
    // A private instance, as Docker would run it: `ddb local start` uses what answers.
    let guard = Home(tempfile::tempdir().unwrap());
    let home = &guard.0;
    let first = start_private_local();
    run_demo(first.port, home.path(), "first run");
    let recreate = user(home.path())
        .args([
            "--endpoint-url",
            &first.endpoint,
            "schema-load",
            "--recreate",
        ])
        .output()
        .unwrap();
    assert!(
        recreate.status.success(),
        "{}",
        String::from_utf8_lossy(&recreate.stderr)
    );
    run_demo(first.port, home.path(), "after schema-load --recreate");
    drop(first);
    // A restarted in-memory instance (as `docker run amazon/dynamodb-local` gives): empty.
    let second = start_private_local();
    run_demo(second.port, home.path(), "on a fresh in-memory instance");
    let out = user(home.path()).args(["local", "stop"]).output().unwrap();
    assert!(out.status.success());
    drop(guard);
}

/// `just demo` and `just local-up` must not install DynamoDB Local (npm) before `ddb local
/// start` decides: their recipe headers name no `local-install`.
#[test]
fn local_start_uses_what_answers_without_npm_or_java() {
    let justfile = std::fs::read_to_string(common::repo_root().join("justfile")).unwrap();
    for recipe in ["demo:", "local-up:"] {
        let header = justfile
            .lines()
            .find(|l| l.starts_with(recipe))
            .unwrap_or_else(|| panic!("no {recipe} recipe"));
        assert!(!header.contains("local-install"), "{header}");
    }

    let local = common::local();
    let home = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    // A PATH without npm and java.
    let bin = tempfile::tempdir().unwrap();
    let out = user(home.path())
        .env("PATH", bin.path())
        .env("DDB_LOCAL_JAR_DIR", empty.path().join("jar"))
        .args(["local", "start", "--port", &local.port.to_string()])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("already answers"), "{text}");
    assert!(
        std::fs::read_dir(empty.path()).unwrap().next().is_none(),
        "nothing was installed: {text}"
    );
}
