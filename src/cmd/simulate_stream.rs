//! `ddb simulate-stream`: run the stream handler (src/stream/handler.rs) on a Lambda event file or on
//! the table's own stream, like a Lambda with partial batch responses: failed records are
//! reported by sequence number, the checkpoint never moves past one, and the exit code says so.
//! Output is `stream_report`; reading the stream is `stream_source`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::ArgGroup;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::Ctx;
use crate::errors::Failure;
use crate::stream::dead_letter::DeadLetter;
use crate::stream::handler::{Handler, Outcome};
use crate::stream::record::{self, StreamRecord};
use crate::stream::report::Report;
use crate::stream::shard::Rules;
use crate::stream::source::{self, Checkpoint, Next, ReadOptions, Reader, StartAt};
use crate::term::output;

#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("source").required(true).args(["event", "from"])))]
pub struct Args {
    /// A Lambda event file ({"Records": [...]}) or records one per line; '-': stdin
    #[arg(long, value_name = "FILE")]
    pub event: Option<String>,

    /// Read the table's stream from its start or from now
    ///
    /// trim-horizon: from its oldest record; latest: from now on.
    #[arg(long, value_enum, value_name = "POSITION")]
    pub from: Option<StartAt>,

    /// Keep reading new records until Ctrl-C
    ///
    /// Then save the checkpoint and summarise.
    #[arg(long, requires = "from")]
    pub follow: bool,

    /// Save how far it got in FILE, and go on from there
    ///
    /// Per shard, how far every record is done (never past a failure).
    #[arg(long, requires = "from", value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,

    /// Start over if the checkpoint is another stream's
    #[arg(long, requires = "checkpoint")]
    pub reset_checkpoint: bool,

    /// Append failed records to FILE and move past them
    ///
    /// ndjson: reason and record.
    #[arg(long, requires = "from", value_name = "FILE")]
    pub dead_letter: Option<PathBuf>,

    /// Records per handler batch at most (Lambda's BatchSize)
    ///
    /// With a backlog, several GetRecords pages (up to 1,000 records each) of one shard make
    /// one batch.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10000), value_name = "N")]
    pub batch_size: u32,

    /// Empty pages in a row after which a shard is caught up
    ///
    /// DynamoDB Streams reports no lag and may answer empty pages before records.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000), value_name = "N")]
    pub tip_pages: u32,

    /// Go on from the oldest record after trimmed data
    ///
    /// After TrimmedDataAccessException (the checkpoint is older than the stream's 24 h
    /// retention), go on from the oldest record still there instead of stopping.
    #[arg(long, requires = "from")]
    pub restart_trimmed: bool,

    /// Conversations handled at once within a batch
    ///
    /// One conversation's records stay in order.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64), value_name = "N")]
    pub concurrency: u16,

    /// With --follow: pause between polls when caught up
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub poll_interval: u64,
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let started = Instant::now();
    let handler = Handler::new(&ctx.db).concurrency(args.concurrency.into());
    let mut report = Report::new(ctx.style, ctx.verbose > 0, started);

    if let Some(path) = &args.event {
        // Everything is parsed and checked before the first write.
        let records = read_event(path, &ctx.db.table)?;
        crate::aws::table::check_model(&ctx.db, crate::model::schema::Needs::KeysAndGroupIndex)
            .await?;
        let results = handler.handle_batch(&records).await;
        for (rec, r) in records.iter().zip(&results) {
            if let Some(r) = r {
                report.record(rec, None, r, false)?;
            }
        }
        let interrupted = ctx.db.cancelled();
        report.finish(json!({"source": "event", "event": path}), interrupted)?;
        if interrupted {
            return Err(Failure::Interrupted(
                "interrupted before every record of the event was handled".into(),
            )
            .into());
        }
        return report.exit_status(None);
    }

    let from = args.from.unwrap_or(StartAt::TrimHorizon);
    // One DescribeTable serves the model check and finding the stream.
    let desc =
        crate::aws::table::check_model(&ctx.db, crate::model::schema::Needs::KeysAndGroupIndex)
            .await?;
    let arn = source::stream_of(&ctx.db, &desc)?;
    let checkpoint = open_checkpoint(&args, &arn)?;
    let mut dead_letter = args
        .dead_letter
        .as_deref()
        .map(DeadLetter::open)
        .transpose()?;
    let resumed = !checkpoint.shards.is_empty();
    if ctx.verbose > 0 {
        let at = if resumed {
            "the checkpoint"
        } else {
            from_name(from)
        };
        output::note(format!("ddb: reading stream {arn} from {at}"));
    }
    let opts = ReadOptions {
        initial: from,
        follow: args.follow,
        max_batch: args.batch_size as usize,
        rules: Rules {
            tip_pages: args.tip_pages,
            restart_trimmed: args.restart_trimmed,
        },
    };
    let mut reader = Reader::new(&ctx.db, arn.clone(), checkpoint, opts);
    // Whatever stops the run (the end, Ctrl-C, a failed call, a closed stdout), the
    // checkpoint is saved and the summary printed before the error is returned.
    let read = pump(
        &args,
        &handler,
        &mut reader,
        &mut report,
        dead_letter.as_mut(),
        &ctx.db.cancel,
    )
    .await;
    let saved = match &args.checkpoint {
        Some(path) => reader.progress.checkpoint.save(path),
        None => Ok(()),
    };
    let held: Vec<&str> = reader.progress.held().collect();
    let source = json!({
        "source": "stream",
        "stream_arn": arn,
        "from": if resumed { "checkpoint" } else { from_name(from) },
        "shards": reader.shard_count(),
        "checkpoint": args.checkpoint,
        "held_shards": held,
        "dead_letter": args.dead_letter,
        "get_records_calls": reader.stats.get_records_calls,
        "empty_pages": reader.stats.empty_pages,
        "iterators_renewed": reader.stats.iterators_renewed,
        "trimmed_restarts": reader.stats.trimmed_restarts,
        "read_retries": reader.stats.read_retries,
        "batches": reader.stats.batches,
        "largest_batch": reader.stats.largest_batch,
    });
    let interrupted = ctx.db.cancelled();
    report.finish(source, interrupted)?;
    if interrupted {
        if let Err(e) = &saved {
            output::note(format!("ddb: {e:#}"));
        }
        return Err(Failure::Interrupted("interrupted after the records in flight".into()).into());
    }
    read?;
    saved?;
    let dead = args.dead_letter.as_ref().map(|p| p.display().to_string());
    report.exit_status(dead.as_deref())
}

/// Read, handle and checkpoint batches until the stream ends (without `--follow`) or Ctrl-C.
async fn pump(
    args: &Args,
    handler: &Handler<'_>,
    reader: &mut Reader<'_>,
    report: &mut Report,
    mut dead_letter: Option<&mut DeadLetter>,
    cancel: &CancellationToken,
) -> Result<()> {
    let poll = Duration::from_millis(args.poll_interval);
    while !cancel.is_cancelled() {
        let batch = match reader.next().await? {
            Next::Batch(batch) => batch,
            Next::Idle => {
                report.waiting();
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = cancel.cancelled() => {}
                }
                continue;
            }
            Next::End => break,
        };
        let results = handler.handle_batch(&batch.records).await;
        let mut done = Vec::with_capacity(results.len());
        for (rec, r) in batch.records.iter().zip(&results) {
            // Not started (Ctrl-C) or failed: not done, unless the failure is dead-lettered.
            let Some(r) = r else {
                done.push(false);
                continue;
            };
            let dead = match (&r.outcome, dead_letter.as_deref_mut()) {
                (Outcome::Failed(reason), Some(dl)) => {
                    dl.write(rec, reason, &reader.stream_arn, &batch.shard_id)?;
                    true
                }
                _ => false,
            };
            report.record(rec, Some(&batch.shard_id), r, dead)?;
            done.push(dead || !matches!(r.outcome, Outcome::Failed(_)));
        }
        if let Some(dl) = dead_letter.as_deref_mut() {
            dl.sync()?; // on disk before the checkpoint moves past its records
        }
        if reader.settle(&batch, &done) {
            if let Some(path) = &args.checkpoint {
                reader.progress.checkpoint.save(path)?;
            }
        }
    }
    Ok(())
}

fn from_name(from: StartAt) -> &'static str {
    match from {
        StartAt::TrimHorizon => "trim-horizon",
        StartAt::Latest => "latest",
    }
}

/// Parse an event file (a Lambda event, or records one per line as `ddb tail -o ndjson`
/// writes them) and check every record addressed to `table` before the first write.
fn read_event(path: &str, table: &str) -> Result<Vec<StreamRecord>> {
    let (name, text) = if path == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("reading the event from stdin")?;
        ("<stdin>".to_string(), text)
    } else {
        let text = crate::model::jsonfile::read_text(std::path::Path::new(path), "event")?;
        (path.to_string(), text)
    };
    let records =
        record::parse_event_file(&text).map_err(|e| Failure::InvalidInput(e.in_file(&name)))?;
    for (place, rec) in &records {
        crate::stream::handler::classify_for(rec, table)
            .map_err(|e| Failure::InvalidInput(place.name(&name, &format!("dynamodb{e}"))))?;
    }
    Ok(records.into_iter().map(|(_, rec)| rec).collect())
}

fn open_checkpoint(args: &Args, arn: &str) -> Result<Checkpoint> {
    let fresh = Checkpoint {
        stream_arn: arn.to_string(),
        ..Default::default()
    };
    let Some(path) = &args.checkpoint else {
        return Ok(fresh);
    };
    match Checkpoint::load(path)? {
        None => Ok(fresh),
        Some(cp) if cp.stream_arn == arn => Ok(cp),
        Some(_) if args.reset_checkpoint => {
            output::note(format!(
                "ddb: checkpoint {} was for another stream; starting over",
                path.display()
            ));
            Ok(fresh)
        }
        Some(cp) => Err(Failure::Mismatch(format!(
            "checkpoint {} is for stream {} but the table's stream is now {arn} (table recreated or stream re-enabled); pass --reset-checkpoint to start over",
            path.display(),
            cp.stream_arn
        ))
        .into()),
    }
}
