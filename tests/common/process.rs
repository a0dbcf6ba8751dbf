//! Running the real binary: capture a finished run and check its exit, start one that keeps
//! running, wait on a condition while it runs (never a fixed sleep), and interrupt it.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A finished run, everything captured.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run a command to its end with no stdin; panics only if it cannot be spawned.
pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.stdin(Stdio::null()).output().expect("spawn ddb");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Run {
    /// Assert success and return stdout; the message shows stderr.
    pub fn ok(self) -> String {
        assert_eq!(
            self.code, 0,
            "expected success, stderr:\n{}\nstdout:\n{}",
            self.stderr, self.stdout
        );
        self.stdout
    }

    pub fn json(self) -> serde_json::Value {
        let out = self.ok();
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{out}"))
    }

    /// Assert exit `code` and that stderr contains every one of `needles`.
    pub fn assert_exit(&self, code: i32, needles: &[&str]) {
        assert_eq!(self.code, code, "stderr: {}", self.stderr);
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "missing {needle:?} in stderr: {}",
                self.stderr
            );
        }
    }
}

/// Start `cmd` with no stdin and stdout and stderr captured.
pub fn spawn(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ddb")
}

/// Poll `done` until it holds; fails after `limit` with "`what` within …".
pub fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what} not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `wait_until` while `child` runs: fails at once, with its stderr, if it ends first.
pub fn wait_while_running(
    child: &mut Child,
    limit: Duration,
    what: &str,
    mut done: impl FnMut() -> bool,
) {
    wait_until(limit, what, || {
        if let Some(status) = child.try_wait().expect("try_wait") {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
            }
            panic!("ddb ended ({status}) before {what}: {stderr}");
        }
        done()
    })
}

/// Ctrl-C (SIGINT) to a running ddb, then its output, checked to be exit 130: every command
/// stops after the work in flight and exits 130 on Ctrl-C.
pub fn interrupt(child: Child) -> Output {
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let out = child.wait_with_output().expect("wait for ddb");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    out
}
