//! Starting and stopping DynamoDB Local: Java in the background (installed on first use), or
//! Docker's `amazon/dynamodb-local` with `--docker`; `-sharedDb`, so every client sees the
//! same tables whatever its credentials and region; the tables kept in the data folder unless
//! in memory. Idempotent: starting a running instance, or stopping a stopped one, says so.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::{install, process, tail, Dirs, Instance};
use crate::errors::Failure;

/// The Docker container `--docker` runs, and its image.
pub const CONTAINER: &str = "ddb-dynamodb-local";
pub const IMAGE: &str = "amazon/dynamodb-local";
/// How long DynamoDB Local may take to answer after starting (a cold JVM on a busy laptop).
const START_LIMIT: Duration = Duration::from_secs(90);

#[derive(Clone, Copy, Debug)]
pub struct StartOptions {
    pub port: u16,
    pub in_memory: bool,
    pub docker: bool,
}

#[derive(Debug)]
pub enum Started {
    /// It was already running (started by ddb).
    Already(Instance),
    /// Something else already answers HTTP on the port (Docker, another DynamoDB Local):
    /// the caller checks that it is DynamoDB, then `adopt`s it.
    Foreign,
    New(Instance),
}

/// Start DynamoDB Local unless it runs; `say` hears the slow steps (installing, waiting).
pub fn start(dirs: &Dirs, opts: StartOptions, say: impl Fn(&str)) -> Result<Started> {
    if let Some(running) = Instance::running(dirs) {
        if running.port != opts.port {
            return Err(Failure::Mismatch(format!(
                "DynamoDB Local already runs on port {} (started by ddb); stop it first \
                 (ddb local stop) to start it on port {}",
                running.port, opts.port
            ))
            .into());
        }
        return Ok(Started::Already(running));
    }
    if process::answers_http(opts.port) {
        return Ok(Started::Foreign);
    }
    if process::port_taken(opts.port) {
        return Err(Failure::Unreachable(format!(
            "port {} is taken by something that does not speak HTTP; choose another with --port",
            opts.port
        ))
        .into());
    }
    std::fs::create_dir_all(&dirs.data)
        .with_context(|| format!("creating {}", dirs.data.display()))?;
    let data = (!opts.in_memory).then(|| dirs.tables());
    if let Some(d) = &data {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let log = dirs.instance_log();
    // A fresh log per start: `ddb local logs --dynamodb` shows this run.
    let _ = std::fs::remove_file(&log);
    let (pid, container) = if opts.docker {
        (None, Some(docker_run(opts, data.as_deref())?))
    } else {
        install::check_java()?;
        install::ensure(&dirs.jar, &say)?;
        (Some(java(dirs, opts, data.as_deref(), &log)?), None)
    };
    let instance = Instance {
        port: opts.port,
        pid,
        container,
        in_memory: opts.in_memory,
        data,
        started_at: chrono::Utc::now().to_rfc3339(),
        external: false,
    };
    super::write_json(&dirs.instance_file(), &instance)?;
    if let Err(e) = wait_until_answering(&instance, &log) {
        let _ = stop(dirs);
        return Err(e);
    }
    Ok(Started::New(instance))
}

/// Remember the DynamoDB Local that answers on `port` without ddb, so that `--local`, the
/// handler and `status` find it; `stop` leaves it running.
pub fn adopt(dirs: &Dirs, port: u16) -> Result<Instance> {
    std::fs::create_dir_all(&dirs.data)
        .with_context(|| format!("creating {}", dirs.data.display()))?;
    let instance = Instance {
        port,
        pid: None,
        container: None,
        in_memory: false,
        data: None,
        started_at: chrono::Utc::now().to_rfc3339(),
        external: true,
    };
    super::write_json(&dirs.instance_file(), &instance)?;
    Ok(instance)
}

fn java(dirs: &Dirs, opts: StartOptions, data: Option<&Path>, log: &Path) -> Result<u32> {
    let mut cmd = Command::new("java");
    cmd.arg(format!(
        "-Djava.library.path={}",
        dirs.jar.join(install::LIB).display()
    ))
    .arg("-jar")
    .arg(dirs.jar.join(install::JAR))
    .arg("-sharedDb");
    match data {
        Some(d) => cmd.arg("-dbPath").arg(d),
        None => cmd.arg("-inMemory"),
    };
    cmd.args(["-port", &opts.port.to_string(), "-disableTelemetry"])
        // It writes a metadata file into its working folder.
        .current_dir(&dirs.data);
    process::spawn_detached(&mut cmd, log).context("starting java")
}

fn docker_run(opts: StartOptions, data: Option<&Path>) -> Result<String> {
    if process::probe("docker", &["--version"]).is_none() {
        bail!("Docker is not installed (--docker runs {IMAGE}); without it, drop --docker");
    }
    // A container of ours left from an earlier run (stopped, or the engine restarted).
    let _ = Command::new("docker")
        .args(["rm", "-f", CONTAINER])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let mut cmd = Command::new("docker");
    cmd.args(["run", "-d", "--name", CONTAINER, "-p"])
        .arg(format!("127.0.0.1:{}:8000", opts.port));
    if let Some(d) = data {
        cmd.arg("-v")
            .arg(format!("{}:/home/dynamodblocal/data", d.display()))
            .args(["--user", &user_and_group()]);
    }
    cmd.args([IMAGE, "-jar", "DynamoDBLocal.jar", "-sharedDb"]);
    match data {
        Some(_) => cmd.args(["-dbPath", "./data"]),
        None => cmd.arg("-inMemory"),
    };
    let out = cmd
        .args(["-disableTelemetry"])
        .stdin(Stdio::null())
        .output()
        .context("running docker")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!(
            "docker run {IMAGE} failed: {}",
            err.lines().last().unwrap_or("").trim()
        );
    }
    Ok(CONTAINER.to_string())
}

/// The container writes the mounted data folder as the user who owns it.
fn user_and_group() -> String {
    #[cfg(unix)]
    {
        // SAFETY: getuid and getgid cannot fail.
        let (u, g) = unsafe { (libc::getuid(), libc::getgid()) };
        format!("{u}:{g}")
    }
    #[cfg(not(unix))]
    {
        "1000:1000".to_string()
    }
}

fn wait_until_answering(instance: &Instance, log: &Path) -> Result<()> {
    let deadline = Instant::now() + START_LIMIT;
    loop {
        if process::answers_http(instance.port) {
            return Ok(());
        }
        if let Some(pid) = instance.pid {
            if !process::alive(pid) {
                bail!(
                    "DynamoDB Local exited before answering on port {}: {}",
                    instance.port,
                    tail(log, 3)
                );
            }
        }
        if Instant::now() > deadline {
            bail!(
                "DynamoDB Local did not answer on port {} within {} s; see {}",
                instance.port,
                START_LIMIT.as_secs(),
                log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What `stop` found.
#[derive(Debug)]
pub enum Stopped {
    NotRunning,
    /// Adopted, not started by ddb: left running.
    External(Instance),
    Stopped {
        instance: Instance,
        killed: bool,
    },
}

/// Stop the DynamoDB Local ddb started (its process group, or its container) and forget it.
pub fn stop(dirs: &Dirs) -> Result<Stopped> {
    let Some(instance) = super::read_json::<Instance>(&dirs.instance_file()) else {
        return Ok(Stopped::NotRunning);
    };
    if instance.external {
        let _ = std::fs::remove_file(dirs.instance_file());
        return Ok(Stopped::External(instance));
    }
    let mut killed = false;
    let mut was_running = false;
    if let Some(pid) = instance.pid {
        was_running = process::alive(pid);
        if was_running {
            killed = process::stop(pid, Duration::from_secs(10));
        }
    }
    if let Some(container) = &instance.container {
        let out = Command::new("docker")
            .args(["rm", "-f", container])
            .stdin(Stdio::null())
            .output();
        was_running = out.is_ok_and(|o| o.status.success());
    }
    let _ = std::fs::remove_file(dirs.instance_file());
    Ok(if was_running {
        Stopped::Stopped { instance, killed }
    } else {
        Stopped::NotRunning
    })
}
