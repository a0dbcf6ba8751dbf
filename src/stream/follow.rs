//! The handler running like production on DynamoDB Local (`ddb local handler`): it follows the
//! table's stream for as long as it runs, so any client's writes move the GRP# rows within
//! about a second, as the deployed Lambda would. It waits for the table to exist, starts a
//! new stream from its beginning (a table created or recreated after it started), keeps a
//! checkpoint in the data folder so a restart goes on where it stopped, and writes its state
//! (`Follower`: pid, how far, counts) for `ddb local status`. Lines for people go to stdout,
//! which is the handler's log when it runs in the background.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::aws::db::Db;
use crate::aws::local::{self, process, Dirs};
use crate::aws::table;
use crate::stream::handler::{Handler, Outcome};
use crate::stream::outcome::RecordResult;
use crate::stream::record::StreamRecord;
use crate::stream::shard::Rules;
use crate::stream::source::{self, Checkpoint, Next, ReadOptions, Reader, StartAt};
use crate::term::plural;
use crate::term::safe::terminal_safe;

/// Pause between polls of a caught-up stream: a new record is seen within about this long.
pub const POLL: Duration = Duration::from_millis(250);
/// State written at most this often while nothing happens.
const QUIET_WRITE: Duration = Duration::from_secs(1);

/// What `ddb local status` reads about a handler: written by the handler itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Follower {
    pub pid: u32,
    pub table: String,
    pub endpoint: String,
    pub started_at: String,
    /// "starting", "waiting for the table", "following", "retrying: <why>", "stopped".
    pub state: String,
    pub stream_arn: Option<String>,
    /// Every record written before this moment has been handled: the start of the last
    /// pass over the shards that read each of them to its tip.
    pub caught_up_at: Option<String>,
    pub records: u64,
    /// Messages that moved rows, the rows moved, records that failed.
    pub messages: u64,
    pub rows: u64,
    pub failed: u64,
    /// When the last record was handled.
    pub last_record_at: Option<String>,
    pub updated_at: String,
}

impl Follower {
    /// The handler of `table`, if its process runs.
    pub fn running(dirs: &Dirs, table: &str) -> Option<Follower> {
        Follower::read(dirs, table).filter(|f| process::alive(f.pid))
    }

    /// A handler runs for `table` on the DynamoDB Local at `endpoint` (any loopback name of
    /// the same port).
    pub fn follows(dirs: &Dirs, endpoint: &str, table: &str) -> bool {
        Follower::running(dirs, table)
            .is_some_and(|f| local::port_of(&f.endpoint) == local::port_of(endpoint))
    }

    /// Its last state, running or not.
    pub fn read(dirs: &Dirs, table: &str) -> Option<Follower> {
        local::read_json(&dirs.handler_file(table, "json"))
    }
}

/// Start the handler of `table` in the background (this binary, `local handler --foreground`)
/// unless one runs; waits until it has written its state. Returns it and whether it was new.
pub fn start_background(dirs: &Dirs, endpoint: &str, table: &str) -> Result<(Follower, bool)> {
    if let Some(running) = Follower::running(dirs, table) {
        if running.endpoint == endpoint {
            return Ok((running, false));
        }
        // It follows another endpoint (DynamoDB Local moved to another port).
        stop(dirs, table);
    }
    std::fs::create_dir_all(&dirs.data)?;
    let log = dirs.handler_file(table, "log");
    rotate(&log);
    let _ = std::fs::remove_file(dirs.handler_file(table, "json"));
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.args([
        "--endpoint-url",
        endpoint,
        "--table",
        table,
        "--color",
        "never",
    ])
    .args(["local", "handler", "--foreground"]);
    let pid = process::spawn_detached(&mut cmd, &log)?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(f) = Follower::read(dirs, table).filter(|f| f.pid == pid) {
            return Ok((f, true));
        }
        if !process::alive(pid) {
            bail!("the handler exited at once: {}", local::tail(&log, 2));
        }
        if Instant::now() > deadline {
            bail!(
                "the handler did not start within 15 s; see {}",
                log.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Wait until the handler of `table` has handled every record written before this call, or
/// `limit` passes (false), or it is not running (an error).
pub fn wait_caught_up(dirs: &Dirs, table: &str, limit: Duration) -> Result<bool> {
    let asked = chrono::Utc::now();
    let deadline = Instant::now() + limit;
    loop {
        let Some(f) = Follower::running(dirs, table) else {
            bail!("no handler is running for table {table} (start one: ddb local handler)");
        };
        let caught_up = f
            .caught_up_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| t > asked);
        if caught_up {
            return Ok(true);
        }
        if Instant::now() > deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stop the handler of `table` if it runs; its pid when it did.
pub fn stop(dirs: &Dirs, table: &str) -> Option<u32> {
    let f = Follower::running(dirs, table)?;
    process::stop(f.pid, Duration::from_secs(10));
    Some(f.pid)
}

/// Keep the log under 10 MB: the older half goes to `.log.1`.
fn rotate(log: &std::path::Path) {
    if std::fs::metadata(log).is_ok_and(|m| m.len() > 10 << 20) {
        let _ = std::fs::rename(log, log.with_extension("log.1"));
    }
}

/// Follow the table's stream until the run is cancelled (Ctrl-C, SIGTERM).
pub async fn run(db: &Db, dirs: &Dirs) -> Result<()> {
    std::fs::create_dir_all(&dirs.data)?;
    let mut me = Follower {
        pid: std::process::id(),
        table: db.table.clone(),
        endpoint: db.target.endpoint.clone().unwrap_or_default(),
        started_at: now(),
        state: "starting".into(),
        ..Follower::default()
    };
    let path = dirs.handler_file(&db.table, "json");
    let checkpoint_path = dirs.handler_file(&db.table, "checkpoint.json");
    say(&format!(
        "handler for table {} at {} started {} (pid {})",
        db.table,
        me.endpoint,
        chrono::Local::now().format("%Y-%m-%d"),
        me.pid
    ));
    save(&path, &mut me);
    let mut pause = Duration::from_millis(500);
    while !db.cancelled() {
        let outcome = follow_stream(db, &path, &checkpoint_path, &mut me).await;
        match outcome {
            Ok(()) => pause = Duration::from_millis(500),
            Err(e) => {
                let why = terminal_safe(&crate::errors::causes(&*e)).into_owned();
                say(&format!(
                    "error: {why}; trying again in {} s",
                    pause.as_secs_f32()
                ));
                me.state = format!("retrying: {why}");
                save(&path, &mut me);
                sleep(db, pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
            }
        }
    }
    me.state = "stopped".into();
    save(&path, &mut me);
    say("handler stopped");
    Ok(())
}

/// Wait for the table, then read its stream until the run ends or the stream changes (Ok), or
/// a call fails (Err: the caller pauses and comes back).
async fn follow_stream(
    db: &Db,
    path: &Path,
    checkpoint_path: &Path,
    me: &mut Follower,
) -> Result<()> {
    let Some(desc) = table::describe(db).await? else {
        if me.state != "waiting for the table" {
            say(&format!("waiting for table {} to be created", db.table));
            me.state = "waiting for the table".into();
            me.stream_arn = None;
            save(path, me);
        }
        sleep(db, POLL * 4).await;
        return Ok(());
    };
    let arn = source::stream_of(db, &desc)?;
    let checkpoint = match Checkpoint::load(checkpoint_path) {
        Ok(Some(cp)) if cp.stream_arn == arn => {
            say(&format!(
                "following the stream of {} from the checkpoint",
                db.table
            ));
            cp
        }
        _ => {
            say(&format!(
                "following the stream of {} from its start",
                db.table
            ));
            Checkpoint {
                stream_arn: arn.clone(),
                ..Checkpoint::default()
            }
        }
    };
    me.stream_arn = Some(arn.clone());
    me.state = "following".into();
    save(path, me);
    let opts = ReadOptions {
        initial: StartAt::TrimHorizon,
        follow: true,
        max_batch: 1000,
        rules: Rules {
            tip_pages: 1,
            restart_trimmed: true,
        },
    };
    let handler = Handler::new(db).concurrency(4);
    let mut reader = Reader::new(db, arn.clone(), checkpoint, opts);
    let mut written = Instant::now();
    // When the current pass over the shards began: every GetRecords of it came later.
    let mut pass_started = now();
    while !db.cancelled() {
        match reader.next().await? {
            Next::Batch(batch) => {
                let results = handler.handle_batch(&batch.records).await;
                let done = log_batch(&batch.records, &results, me);
                if reader.settle(&batch, &done) {
                    reader.progress.checkpoint.save(checkpoint_path)?;
                }
                save(path, me);
                written = Instant::now();
            }
            Next::Idle => {
                // Caught up only on the table's current stream: a table dropped or recreated
                // since has another one, read from its start.
                let latest = table::describe(db).await?;
                let same = latest
                    .as_ref()
                    .and_then(|t| t.latest_stream_arn())
                    .is_some_and(|a| a == arn);
                if !same {
                    say(&format!(
                        "table {} was dropped or recreated: its stream changed",
                        db.table
                    ));
                    return Ok(());
                }
                me.caught_up_at = Some(pass_started.clone());
                if written.elapsed() > QUIET_WRITE {
                    save(path, me);
                    written = Instant::now();
                }
                sleep(db, POLL).await;
                pass_started = now();
            }
            Next::End => return Ok(()),
        }
    }
    Ok(())
}

/// One line per message that moved rows and per record that failed, one for the messages
/// that needed nothing (the rows' own records, written by the handler, are not counted);
/// counts into `me`. Returns which records are done (for the checkpoint).
fn log_batch(
    records: &[StreamRecord],
    results: &[Option<RecordResult>],
    me: &mut Follower,
) -> Vec<bool> {
    let mut done = Vec::with_capacity(records.len());
    let mut quiet = 0;
    for (rec, r) in records.iter().zip(results) {
        let Some(r) = r else {
            done.push(false);
            continue;
        };
        me.records += 1;
        let group = rec.pk().strip_prefix("MSG#").unwrap_or(rec.pk());
        match &r.outcome {
            Outcome::Updated(rows) => {
                me.messages += 1;
                me.rows += *rows as u64;
                say(&format!(
                    "message in {}: {} moved",
                    terminal_safe(group),
                    plural(*rows as u64, "row")
                ));
            }
            Outcome::Failed(why) => {
                me.failed += 1;
                say(&format!(
                    "{} {} {}: failed: {}",
                    rec.event_name.as_str(),
                    terminal_safe(rec.pk()),
                    terminal_safe(rec.sk()),
                    terminal_safe(why)
                ));
            }
            Outcome::Skipped(_) => quiet += u64::from(r.is_message),
        }
        done.push(!matches!(r.outcome, Outcome::Failed(_)));
    }
    if quiet > 0 {
        let (n, verb) = if quiet == 1 {
            ("message", "s")
        } else {
            ("messages", "")
        };
        say(&format!(
            "{quiet} older {n} need{verb} nothing: the rows show a newer one"
        ));
    }
    me.last_record_at = Some(now());
    done
}

fn save(path: &Path, me: &mut Follower) {
    me.updated_at = now();
    if let Err(e) = local::write_json(path, me) {
        say(&format!("error: {e:#}"));
    }
}

/// A line of the log: local time, then the text (the start line gives the date).
fn say(text: &str) {
    let time = chrono::Local::now().format("%H:%M:%S");
    let _ = crate::term::output::line(format!("{time}  {text}"));
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn sleep(db: &Db, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = db.cancel.cancelled() => {}
    }
}
