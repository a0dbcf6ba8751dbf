//! Every example in README.md and docs/ runs: each command of every ```` ```sh ```` block,
//! in order, exits 0, as a reader would type it — in a scratch folder with the binary as `ddb`
//! on the PATH, a DynamoDB Local of its own (started with `ddb local start --handler`, as the
//! README does), each document on a freshly seeded table, `$GROUP` and `$ANDREW` set to
//! seeded uuids (the convention docs/commands.md states), and the input files the examples
//! name. A command that runs until
//! Ctrl-C (`--follow`, `logs -f`) must say something first, then gets Ctrl-C (exit 0 or 130).
//! A command that needs the outside world (AWS, Docker, a clone, an installer, the inside of
//! AWS Lambda) is left out and counted; a block whose other commands depend on such a one is
//! marked ```` ```sh norun ````, and the test checks that each such block names one.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::records::{event, typed, Records};
use common::{run, wait_until, ANDREW, MAIN_GROUP};

/// Commands that need what a test cannot have: real AWS, Docker, a clone to build or an
/// installer, or to run inside AWS Lambda.
fn needs_outside(line: &str) -> bool {
    let starts = [
        "aws ", "sam ", "docker ", "pip ", "pipx ", "cargo ", "just ", "git ", "apt", "brew ",
    ];
    let line = line.trim_start();
    starts.iter().any(|s| line.starts_with(s))
        || line.contains("--region ")
        || line.contains("--profile ")
        || line.contains(" --docker")
        || line.split('#').next().unwrap_or("").trim() == "ddb lambda"
}

/// A runs-until-Ctrl-C command.
fn long_running(line: &str) -> bool {
    let words: Vec<&str> = line
        .split('#')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    words.contains(&"--follow") || (words.contains(&"logs") && words.contains(&"-f"))
}

struct Block {
    file: String,
    line: usize,
    norun: bool,
    /// Commands, continuation lines joined, comments and blank lines left to bash.
    commands: Vec<String>,
}

fn blocks(path: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(path).unwrap();
    let file = path
        .strip_prefix(common::repo_root())
        .unwrap_or(path)
        .display()
        .to_string();
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    let mut pending = String::new();
    for (i, raw) in text.lines().enumerate() {
        if let Some(block) = current.as_mut() {
            if raw.starts_with("```") {
                out.push(current.take().unwrap());
                continue;
            }
            if let Some(head) = raw.strip_suffix('\\') {
                pending.push_str(head);
                pending.push(' ');
                continue;
            }
            pending.push_str(raw);
            let command = std::mem::take(&mut pending);
            if !command.trim().is_empty() && !command.trim_start().starts_with('#') {
                block.commands.push(command);
            }
        } else if let Some(info) = raw.strip_prefix("```") {
            let words: Vec<&str> = info.split_whitespace().collect();
            if words.first() == Some(&"sh") {
                current = Some(Block {
                    file: file.clone(),
                    line: i + 1,
                    norun: words.contains(&"norun"),
                    commands: Vec::new(),
                });
            }
        }
    }
    out
}

/// README last: its daily loop ends with `ddb local stop`.
fn documents() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(common::repo_root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    docs.push(common::repo_root().join("README.md"));
    docs
}

/// The reader's machine: `ddb` on the PATH, its own home and port, a scratch folder.
struct Reader {
    home: tempfile::TempDir,
    scratch: tempfile::TempDir,
    bin: tempfile::TempDir,
    port: u16,
}

impl Reader {
    fn new() -> Reader {
        let bin = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_ddb"), bin.path().join("ddb")).unwrap();
        let scratch = tempfile::tempdir().unwrap();
        // Examples name the repository's fixtures, as from a clone.
        let fixtures = scratch.path().join("fixtures");
        std::fs::create_dir(&fixtures).unwrap();
        for name in ["schema.json", "seed.json"] {
            let from = common::repo_root().join("fixtures").join(name);
            std::fs::copy(from, fixtures.join(name)).unwrap();
        }
        Reader {
            home: tempfile::tempdir().unwrap(),
            scratch,
            bin,
            port: common::free_port(),
        }
    }

    fn bash(&self, script: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.args(["-euo", "pipefail", "-c", script]);
        self.environment(&mut cmd);
        cmd
    }

    fn environment(&self, cmd: &mut Command) {
        // Every test's environment (no AWS or ddb settings of the caller's, no real AWS files),
        // and none of the caller's XDG folders: `ddb local` keeps its files under this HOME.
        common::scrubbed(cmd);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("XDG_") {
                cmd.env_remove(&k);
            }
        }
        let path = format!(
            "{}:{}",
            self.bin.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let home = self.home.path();
        cmd.current_dir(self.scratch.path())
            .env("PATH", path)
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("DDB_LOCAL_JAR_DIR", common::jar_dir())
            .env("DDB_LOCAL_PORT", self.port.to_string())
            .env("GROUP", MAIN_GROUP)
            .env("ANDREW", ANDREW)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
    }

    fn ok(&self, script: &str, what: &str) {
        let r = run(&mut self.bash(script));
        assert_eq!(
            r.code, 0,
            "{what}: `{script}` exited {}:\n{}{}",
            r.code, r.stdout, r.stderr
        );
    }

    /// DynamoDB Local with the handler, the table and the seeded data, as the README starts.
    fn start(&self) {
        self.ok("ddb local start --handler", "setup");
    }

    /// Input files the examples name: a Lambda event with a seeded message, and a data file of
    /// `{"Item": …}` lines, both written from an SDK read of the seeded table.
    fn inputs(&self) {
        let env = common::TestEnv::on(
            &format!("http://127.0.0.1:{}", self.port),
            "cruddur-messages",
        );
        let messages = env.query_pk(&format!("MSG#{MAIN_GROUP}"));
        let newest = messages.last().expect("seeded messages");
        let lambda_event = event(vec![Records::lambda().record(1, "INSERT", newest)]);
        std::fs::write(
            self.scratch.path().join("event.json"),
            lambda_event.to_string(),
        )
        .unwrap();
        let file = std::fs::File::create(self.scratch.path().join("items.json.gz")).unwrap();
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        for item in &messages {
            writeln!(gz, "{}", serde_json::json!({ "Item": typed(item) })).unwrap();
        }
        gz.finish().unwrap();
    }

    /// A command that runs until Ctrl-C: it must print something first.
    fn until_interrupted(&self, script: &str, what: &str) {
        let mut child = self
            .bash(&format!("exec {script}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let said = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let said = said.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                    said.lock().unwrap().push_str(&(line + "\n"));
                }
            });
        }
        wait_until(Duration::from_secs(30), what, || {
            !said.lock().unwrap().is_empty() || child.try_wait().unwrap().is_some()
        });
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let status = child.wait().unwrap();
        assert!(
            matches!(status.code(), Some(0 | 130)),
            "{what}: `{script}` ended {status}:\n{}",
            said.lock().unwrap()
        );
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let _ = self.bash("ddb local stop").output();
    }
}

#[test]
fn every_example_in_the_readme_and_docs_runs() {
    let reader = Reader::new();
    reader.start();
    let (mut ran, mut not_run, mut outside_commands) = (0, 0, 0);
    for doc in documents() {
        // Each document starts from the README's state: a freshly seeded table.
        reader.ok(
            "ddb --local schema-load --recreate && ddb --local seed",
            "setup",
        );
        reader.inputs();
        for block in blocks(&doc) {
            let at = format!("{}:{}", block.file, block.line);
            let outside = block.commands.iter().filter(|c| needs_outside(c)).count();
            if block.norun {
                assert!(
                    outside > 0,
                    "{at}: a norun block with nothing outside: run it"
                );
                not_run += 1;
                continue;
            }
            // Assignments (G=…, SK=$(…)) hold for the rest of their block.
            let mut assignments = String::new();
            for command in &block.commands {
                if needs_outside(command) {
                    outside_commands += 1;
                    continue;
                }
                let script = format!("{assignments}{command}");
                let started = std::time::Instant::now();
                if long_running(command) {
                    reader.until_interrupted(&script, &at);
                } else {
                    reader.ok(&script, &at);
                }
                ran += 1;
                eprintln!("{at}: {:.1} s  {command}", started.elapsed().as_secs_f64());
                let first = command.split_whitespace().next().unwrap_or("");
                if first.contains('=') && !first.starts_with('-') {
                    assignments.push_str(command);
                    assignments.push('\n');
                }
                if command.contains("ddb local stop") && !doc.ends_with("README.md") {
                    reader.start();
                }
            }
        }
    }
    // Every command that ran exited 0; these bounds only guard the block reader (the docs
    // change with every feature, the counts with them).
    assert!(ran >= 60, "only {ran} commands ran");
    assert!(not_run >= 4, "{not_run} norun blocks");
    eprintln!(
        "docs: {ran} commands ran; outside-world commands left out: {outside_commands}, blocks: \
         {not_run}"
    );
}

#[test]
fn the_block_reader_joins_lines_and_sees_norun() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sample.md");
    std::fs::write(
        &path,
        "text\n```sh\nddb a \\\n  --b c\n# comment\n\nddb d\n```\n```sh norun\naws s3 ls\n```\n```text\nnot run\n```\n",
    )
    .unwrap();
    let b = blocks(&path);
    assert_eq!(b.len(), 2);
    assert_eq!(b[0].commands, ["ddb a    --b c", "ddb d"]);
    assert!(!b[0].norun && b[1].norun);
    assert!(needs_outside(&b[1].commands[0]));
    assert!(long_running(
        "ddb --local simulate-stream --from latest --follow # x"
    ));
    assert!(long_running("ddb local logs -f"));
    assert!(!long_running("ddb local logs -n 5"));
    assert!(needs_outside("ddb lambda      # inside Lambda only"));
    assert!(!needs_outside("ddb lambda template > ddb-stack.yaml"));
}

/// The README is for the first five minutes: at most 250 lines, its sections in a newcomer's
/// order, troubleshooting for what goes wrong first, and a link to every file of docs/.
#[test]
fn the_readme_is_for_the_first_five_minutes() {
    let readme = std::fs::read_to_string(common::repo_root().join("README.md")).unwrap();
    assert!(
        readme.lines().count() <= 250,
        "{} lines",
        readme.lines().count()
    );
    let mut at = 0;
    for section in [
        "## Install",
        "## Quick start",
        "## The daily loop",
        "## Commands",
        "## Troubleshooting",
        "## Documentation",
    ] {
        let found = readme[at..].find(section);
        assert!(found.is_some(), "no {section:?} after byte {at}");
        at += found.unwrap_or_default();
    }
    let troubleshooting = &readme[readme.find("## Troubleshooting").unwrap_or_default()..];
    for topic in [
        "Port 8000 is busy",
        "Java is not installed",
        "npm is not installed",
        "--docker",
        "pipx install rust-just",
        "externally-managed-environment",
    ] {
        assert!(
            troubleshooting.contains(topic),
            "troubleshooting lacks {topic:?}"
        );
    }
    for entry in std::fs::read_dir(common::repo_root().join("docs")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if name.ends_with(".md") {
            assert!(
                readme.contains(&format!("](docs/{name})")),
                "no link to {name}"
            );
        }
    }
}
