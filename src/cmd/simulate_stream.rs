//! `ddb simulate-stream`: run the stream handler (src/handler.rs) on a Lambda event file or on
//! the table's own stream, one line per record and a summary, like a Lambda with partial batch
//! responses: failed records are reported by sequence number and the exit code says so.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::ArgGroup;
use serde::Serialize;
use serde_json::{json, Value};

use super::Ctx;
use crate::errors::Failure;
use crate::handler::{Handler, Outcome, RecordResult};
use crate::output::OutputFormat;
use crate::output::{self, Style};
use crate::stream_record::{self, StreamRecord};
use crate::stream_source::{self, Checkpoint, Next, Reader, StartAt};

#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("source").required(true).args(["event", "from"])))]
pub struct Args {
    /// A Lambda DynamoDB Streams event ({"Records": [...]}); '-' reads stdin
    #[arg(long, value_name = "FILE")]
    pub event: Option<String>,

    /// Read the table's stream from its oldest record (trim-horizon) or from now on (latest)
    #[arg(long, value_enum, value_name = "POSITION")]
    pub from: Option<StartAt>,

    /// Keep polling for new records until Ctrl-C (then save the checkpoint and summarise)
    #[arg(long, requires = "from")]
    pub follow: bool,

    /// Keep the last processed sequence number per shard in FILE and continue after it
    #[arg(long, requires = "from", value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,

    /// Start over (from --from) when the checkpoint belongs to another stream
    #[arg(long, requires = "checkpoint")]
    pub reset_checkpoint: bool,

    /// Records per GetRecords call, i.e. per handler batch (Lambda's default is 100)
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i32).range(1..=1000), value_name = "N")]
    pub batch_size: i32,

    /// Conversations handled at once within a batch; one conversation's records stay in order
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64), value_name = "N")]
    pub concurrency: u16,

    /// With --follow: pause between polls of a caught-up stream
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub poll_interval: u64,
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let started = Instant::now();
    let cancel = ctx.db.cancel.clone();
    let handler = Handler::new(&ctx.db).concurrency(args.concurrency.into());
    let mut report = Report::new(ctx.style, started);

    if let Some(path) = &args.event {
        // Everything is parsed and checked before the first write.
        let records = read_event(path)?;
        crate::table::check_model(&ctx.db, crate::schema::Needs::KeysAndGroupIndex).await?;
        let results = handler.handle_batch(&records).await;
        for (rec, r) in records.iter().zip(&results) {
            if let Some(r) = r {
                report.record(rec, None, r)?;
            }
        }
        let interrupted = cancel.is_cancelled();
        report.finish(json!({"source": "event", "event": path}), interrupted)?;
        if interrupted {
            return Err(Failure::Interrupted(
                "interrupted before every record of the event was handled".into(),
            )
            .into());
        }
        return report.exit_status();
    }

    let from = args.from.unwrap_or(StartAt::TrimHorizon);
    crate::table::check_model(&ctx.db, crate::schema::Needs::KeysAndGroupIndex).await?;
    let arn = stream_source::find_stream(&ctx.db).await?;
    let checkpoint = open_checkpoint(&args, &arn)?;
    let resumed = !checkpoint.shards.is_empty();
    if ctx.verbose > 0 {
        let at = if resumed {
            "the checkpoint"
        } else {
            from_name(from)
        };
        output::note(format!("ddb: reading stream {arn} from {at}"));
    }
    let mut reader = Reader::new(
        &ctx.db,
        arn.clone(),
        checkpoint,
        from,
        args.follow,
        args.batch_size,
    );
    let poll = Duration::from_millis(args.poll_interval);
    loop {
        if cancel.is_cancelled() {
            break;
        }
        match reader.next().await? {
            Next::Batch(batch) => {
                let results = handler.handle_batch(&batch.records).await;
                for (rec, r) in batch.records.iter().zip(&results) {
                    if let Some(r) = r {
                        report.record(rec, Some(&batch.shard_id), r)?;
                    }
                }
                // Checkpoint the prefix that is done; anything handled after a gap (Ctrl-C in
                // the middle of a batch) is replayed next time, which changes nothing.
                let done = results.iter().take_while(|r| r.is_some()).count();
                if done > 0 {
                    reader.commit(&batch.shard_id, &batch.records[done - 1].sequence_number);
                    if let Some(path) = &args.checkpoint {
                        reader.checkpoint.save(path)?;
                    }
                }
            }
            Next::Idle => {
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = cancel.cancelled() => {}
                }
            }
            Next::End => break,
        }
    }
    if let Some(path) = &args.checkpoint {
        reader.checkpoint.save(path)?;
    }
    let source = json!({
        "source": "stream",
        "stream_arn": arn,
        "from": if resumed { "checkpoint" } else { from_name(from) },
        "shards": reader.shard_count(),
        "get_records_calls": reader.get_records_calls,
        "checkpoint": args.checkpoint,
    });
    let interrupted = cancel.is_cancelled();
    report.finish(source, interrupted)?;
    if interrupted {
        return Err(Failure::Interrupted("interrupted after the records in flight".into()).into());
    }
    report.exit_status()
}

fn from_name(from: StartAt) -> &'static str {
    match from {
        StartAt::TrimHorizon => "trim-horizon",
        StartAt::Latest => "latest",
    }
}

fn read_event(path: &str) -> Result<Vec<StreamRecord>> {
    let (name, text) = if path == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("reading the event from stdin")?;
        ("<stdin>".to_string(), text)
    } else {
        let text = crate::jsonfile::read_text(std::path::Path::new(path), "event")?;
        (path.to_string(), text)
    };
    let records =
        stream_record::parse_event(&text).map_err(|e| Failure::InvalidInput(e.in_file(&name)))?;
    for (i, rec) in records.iter().enumerate() {
        crate::handler::classify(rec)
            .map_err(|e| Failure::InvalidInput(format!("{name}: Records[{i}].dynamodb{e}")))?;
    }
    Ok(records)
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

#[derive(Debug, Default, Serialize)]
struct Totals {
    processed: u64,
    messages: u64,
    updated: u64,
    rows_updated: u64,
    skipped: u64,
    failed: u64,
    retries: u64,
    rechecks: u64,
}

/// Per-record lines as they happen (table, ndjson) or collected (json), then the summary.
struct Report {
    style: Style,
    started: Instant,
    totals: Totals,
    records: Vec<Value>,
    failures: Vec<String>,
}

impl Report {
    fn new(style: Style, started: Instant) -> Report {
        Report {
            style,
            started,
            totals: Totals::default(),
            records: Vec::new(),
            failures: Vec::new(),
        }
    }

    fn record(&mut self, rec: &StreamRecord, shard: Option<&str>, r: &RecordResult) -> Result<()> {
        let t = &mut self.totals;
        t.processed += 1;
        t.messages += u64::from(r.is_message);
        t.retries += u64::from(r.retries);
        t.rechecks += u64::from(r.rechecks);
        match &r.outcome {
            Outcome::Updated(n) => {
                t.updated += 1;
                t.rows_updated += *n as u64;
            }
            Outcome::Skipped(_) => t.skipped += 1,
            Outcome::Failed(_) => {
                t.failed += 1;
                self.failures.push(rec.sequence_number.clone());
            }
        }
        let value = json!({
            "sequence_number": rec.sequence_number,
            "event_id": rec.event_id,
            "event_name": rec.event_name.as_str(),
            "shard_id": shard,
            "pk": rec.pk(),
            "sk": rec.sk(),
            "status": r.outcome.status(),
            "outcome": r.outcome.text(),
            "rows_updated": match r.outcome { Outcome::Updated(n) => n, _ => 0 },
            "retries": r.retries,
            "rechecks": r.rechecks,
        });
        match self.style.format {
            OutputFormat::Json => self.records.push(value),
            OutputFormat::Ndjson => output::print_json(OutputFormat::Ndjson, &value)?,
            OutputFormat::Table => output::line(self.line(rec, r))?,
        }
        Ok(())
    }

    fn line(&self, rec: &StreamRecord, r: &RecordResult) -> String {
        let text = r.outcome.text();
        let outcome = match r.outcome {
            Outcome::Updated(_) => self.style.green(&text),
            Outcome::Skipped(_) => self.style.dim(&text),
            Outcome::Failed(_) => self.style.yellow(&text),
        };
        let retries = match r.retries {
            0 => String::new(),
            1 => " (1 retry)".to_string(),
            n => format!(" ({n} retries)"),
        };
        format!(
            "{}  {:<6}  {} {}  {outcome}{retries}",
            self.style.dim(&rec.sequence_number),
            rec.event_name.as_str(),
            rec.pk(),
            rec.sk()
        )
    }

    fn finish(&mut self, source: Value, interrupted: bool) -> Result<()> {
        let elapsed = self.started.elapsed().as_secs_f64();
        let t = &self.totals;
        let per_s = |n: u64| {
            if elapsed > 0.0 {
                (n as f64 / elapsed * 10.0).round() / 10.0
            } else {
                0.0
            }
        };
        let mut summary = serde_json::to_value(t)?;
        let extra = json!({
            "elapsed_s": (elapsed * 1000.0).round() / 1000.0,
            "records_per_s": per_s(t.processed),
            "messages_per_s": per_s(t.messages),
            "interrupted": interrupted,
        });
        for part in [extra, source] {
            if let Value::Object(m) = part {
                for (k, v) in m {
                    summary[k.as_str()] = v;
                }
            }
        }
        let failures: Vec<Value> = self
            .failures
            .iter()
            .map(|s| json!({"itemIdentifier": s}))
            .collect();
        match self.style.format {
            OutputFormat::Json => output::print_json(
                OutputFormat::Json,
                &json!({"records": self.records, "summary": summary, "batchItemFailures": failures}),
            )?,
            OutputFormat::Ndjson => output::print_json(
                OutputFormat::Ndjson,
                &json!({"summary": summary, "batchItemFailures": failures}),
            )?,
            OutputFormat::Table => output::line(self.style.bold(&format!(
                "processed {} records ({} messages): updated {} ({} rows), skipped {}, failed {}, retries {}; {:.2} s, {} records/s{}",
                t.processed,
                t.messages,
                t.updated,
                t.rows_updated,
                t.skipped,
                t.failed,
                t.retries,
                elapsed,
                per_s(t.processed),
                if interrupted { " (interrupted)" } else { "" }
            )))?,
        }
        Ok(())
    }

    /// Exit 7 when any record failed, naming them like a partial batch response.
    fn exit_status(&self) -> Result<()> {
        if self.failures.is_empty() {
            return Ok(());
        }
        Err(Failure::Partial(format!(
            "{} of {} records failed (batchItemFailures: {})",
            self.failures.len(),
            self.totals.processed,
            self.failures.join(", ")
        ))
        .into())
    }
}
