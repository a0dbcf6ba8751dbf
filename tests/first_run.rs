//! A new user's first run: `just demo`'s own commands survive a recreated table and a fresh
//! in-memory instance, and `local-up` needs neither npm nor Java when DynamoDB Local already
//! answers (Docker's amazon/dynamodb-local, say).

mod common;

use std::process::Command;

use common::start_private_local;

/// The `ddb` lines of the justfile's `demo` recipe, as bash commands for this binary, with
/// `local_dir` (where the recipe could keep state) in `state`.
fn demo_commands(state: &std::path::Path) -> Vec<String> {
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
                .replace("{{local_dir}}", &state.display().to_string())
        })
        .collect();
    assert!(body.len() >= 5, "demo recipe not found in the justfile");
    body
}

fn run_demo(endpoint: &str, state: &std::path::Path, round: &str) {
    for line in demo_commands(state) {
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &line])
            .current_dir(common::repo_root())
            .env("DDB_LOCAL_ENDPOINT", endpoint)
            .env_remove("DDB_TABLE")
            .env("AWS_CONFIG_FILE", "/nonexistent/ddb-test-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/ddb-test-credentials",
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{round}: `{line}` failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if line.contains("simulate-stream") {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.contains("updated 2 groups"),
                "{round}: the demo's message moved both rows:\n{text}"
            );
        }
        if line.contains("list-conversations") {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("Demo ping"), "{round}:\n{text}");
        }
    }
}

#[test]
fn the_demo_survives_a_recreated_table_and_a_restarted_instance() {
    // A private instance: recreating a stream-enabled table slows every later write on it.
    let state = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(state.path().join("data")).unwrap();
    let first = start_private_local();
    run_demo(&first.endpoint, state.path(), "first run");
    let recreate = Command::new(env!("CARGO_BIN_EXE_ddb"))
        .args(["--local", "schema-load", "--recreate"])
        .env("DDB_LOCAL_ENDPOINT", &first.endpoint)
        .output()
        .unwrap();
    assert!(
        recreate.status.success(),
        "{}",
        String::from_utf8_lossy(&recreate.stderr)
    );
    run_demo(
        &first.endpoint,
        state.path(),
        "after schema-load --recreate",
    );
    drop(first);
    // A restarted in-memory instance (as `docker run amazon/dynamodb-local` gives): empty.
    let second = start_private_local();
    run_demo(
        &second.endpoint,
        state.path(),
        "on a fresh in-memory instance",
    );
}

/// `just demo` and `just local-up` must not run `local-install` (npm) first: their recipe
/// headers name no such dependency, and the script below decides.
#[test]
fn local_up_uses_what_answers_without_npm_or_java() {
    let justfile = std::fs::read_to_string(common::repo_root().join("justfile")).unwrap();
    for recipe in ["demo:", "local-up:"] {
        let header = justfile
            .lines()
            .find(|l| l.starts_with(recipe))
            .unwrap_or_else(|| panic!("no {recipe} recipe"));
        assert!(!header.contains("local-install"), "{header}");
    }

    let local = common::local();
    let empty = tempfile::tempdir().unwrap();
    // A PATH with the basic tools but without npm and java.
    let bin = tempfile::tempdir().unwrap();
    for tool in [
        "bash", "curl", "cat", "dirname", "mkdir", "seq", "sleep", "kill", "rm",
    ] {
        let found = Command::new("bash")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
        if !path.is_empty() {
            std::os::unix::fs::symlink(&path, bin.path().join(tool)).unwrap();
        }
    }
    let out = Command::new(bin.path().join("bash"))
        .arg(common::repo_root().join("scripts/local.sh"))
        .arg("up")
        .env("PATH", bin.path())
        .env("DDB_LOCAL_PORT", local.port.to_string())
        .env("DDB_LOCAL_JAR_DIR", empty.path())
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
