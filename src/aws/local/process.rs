//! The processes `ddb local` starts and stops: detached from the terminal (their own process
//! group, so Ctrl-C in the shell that started them does not reach them), output appended to a
//! log, signalled by pid. Unix only; elsewhere `ddb local` says so.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Start `cmd` in the background, its stdout and stderr appended to `log`; returns its pid.
pub fn spawn_detached(cmd: &mut Command, log: &Path) -> Result<u32> {
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let err = out.try_clone()?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(cmd, 0);
    let child = cmd.spawn()?;
    Ok(child.id())
}

/// The process runs (or exists and is not ours to signal).
#[cfg(unix)]
pub fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return !zombie(pid);
    }
    std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// A child of ours that ended but was not waited for counts as ended.
#[cfg(unix)]
fn zombie(pid: libc::pid_t) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

#[cfg(not(unix))]
pub fn alive(_pid: u32) -> bool {
    false
}

/// Ask the process and its group to end (SIGTERM), wait up to `grace`, then SIGKILL; true if
/// it had to be killed.
#[cfg(unix)]
pub fn stop(pid: u32, grace: Duration) -> bool {
    let Ok(p) = libc::pid_t::try_from(pid) else {
        return false;
    };
    signal(p, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while alive(pid) {
        if Instant::now() > deadline {
            signal(p, libc::SIGKILL);
            wait_gone(pid, Duration::from_secs(5));
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[cfg(not(unix))]
pub fn stop(_pid: u32, _grace: Duration) -> bool {
    false
}

/// The group first (the process leads its own), then the process alone if it has no group.
#[cfg(unix)]
fn signal(pid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: plain kill(2) calls on a pid we started; errors mean it is gone already.
    unsafe {
        if libc::kill(-pid, sig) != 0 {
            libc::kill(pid, sig);
        }
    }
}

fn wait_gone(pid: u32, limit: Duration) {
    let deadline = Instant::now() + limit;
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Something answers HTTP on the loopback port (DynamoDB Local answers a bare GET with 400).
pub fn answers_http(port: u16) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET / HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 12];
    matches!(s.read(&mut buf), Ok(n) if n >= 8 && buf.starts_with(b"HTTP/1."))
}

/// Something accepts connections on the loopback port (HTTP or not).
pub fn port_taken(port: u16) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

/// Hold an exclusive lock on `path` (created if missing) while `work` runs: parallel
/// installers take turns, and the second finds the work done.
#[cfg(unix)]
pub fn with_lock<T>(path: &Path, work: impl FnOnce() -> Result<T>) -> Result<T> {
    use std::os::fd::AsRawFd;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening lock {}", path.display()))?;
    // SAFETY: flock on a file descriptor we own; released when `file` is closed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("locking {}", path.display()));
    }
    let result = work();
    drop(file);
    result
}

#[cfg(not(unix))]
pub fn with_lock<T>(_path: &Path, work: impl FnOnce() -> Result<T>) -> Result<T> {
    work()
}

/// The program exists on PATH and runs with `args` (`java -version`); its combined output.
pub fn probe(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_that_ended_is_not_alive_and_a_running_one_is_stopped() {
        let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = sleeper.id();
        assert!(alive(pid));
        stop(pid, Duration::from_secs(5));
        sleeper.wait().unwrap();
        assert!(!alive(pid));
        assert!(!answers_http(1), "nothing listens on port 1");
    }
}
