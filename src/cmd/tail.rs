//! `ddb tail`: the table's stream as a live feed, one line per change for people or one
//! Lambda-shaped record per line (`-o ndjson`) that `simulate-stream --event` replays. Every
//! shard is read, children after their parents (the stream reader); nothing is written,
//! no checkpoint either.

use std::time::Duration;

use anyhow::Result;

use super::Ctx;
use crate::aws::table;
use crate::errors::Failure;
use crate::model::checked;
use crate::read::keys::TableKeys;
use crate::stream::event_json::lambda_record;
use crate::stream::shard::Rules;
use crate::stream::source::{Checkpoint, Next, ReadOptions, Reader, StartAt};
use crate::stream::tail::{self, Filter, Kind};
use crate::term::output::{self, OutputFormat};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Start at latest (the default) or trim-horizon (the default with --since)
    #[arg(long, value_enum, value_name = "POSITION")]
    pub from: Option<StartAt>,

    /// Stop after N records shown
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Only records whose partition key starts with PREFIX, e.g. MSG#
    #[arg(long, value_name = "PREFIX", value_parser = checked::non_empty)]
    pub pk_prefix: Option<String>,

    /// Only these kinds (TTL deletions are removes)
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KINDS")]
    pub events: Vec<Kind>,

    /// Only records not older than this, e.g. 10m or 1h30m
    #[arg(long, value_name = "DURATION", value_parser = checked::duration)]
    pub since: Option<Duration>,

    /// Pause between polls once caught up [default: 250 locally, 1000 on AWS]
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(10..=60_000), hide_short_help = true)]
    pub poll_interval: Option<u64>,
}

/// Polls of a caught-up stream on a local endpoint, and on AWS: DynamoDB Streams allows about
/// five GetRecords calls a second per shard, shared with the table's other readers (its Lambda).
const LOCAL_POLL_MS: u64 = 250;
const REMOTE_POLL_MS: u64 = 1000;

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let desc = table::describe_existing(&ctx.db).await?;
    let arn = tail::stream_arn(&ctx.db, &desc)?;
    let keys = TableKeys::from_description(&ctx.db.table, &desc)?.table;
    let key_names: Vec<String> = std::iter::once(keys.partition.name.clone())
        .chain(keys.sort.map(|s| s.name))
        .collect();
    let from = args.from.unwrap_or(match args.since {
        Some(_) => StartAt::TrimHorizon,
        None => StartAt::Latest,
    });
    let filter = Filter {
        kinds: args.events.clone(),
        pk_prefix: args.pk_prefix.clone(),
        not_before: args
            .since
            .map(|d| chrono::Utc::now().timestamp_millis() as f64 / 1000.0 - d.as_secs_f64()),
    };
    let poll = Duration::from_millis(args.poll_interval.unwrap_or(if ctx.db.target.local {
        LOCAL_POLL_MS
    } else {
        REMOTE_POLL_MS
    }));
    let opts = ReadOptions {
        initial: from,
        follow: true,
        max_batch: 1000,
        // One empty page is enough to wait: tail polls again anyway; and a trimmed shard
        // (24 h retention) goes on from its oldest record rather than ending the feed.
        rules: Rules {
            tip_pages: 1,
            restart_trimmed: true,
        },
    };
    // A checkpoint in memory only, never saved: tail leaves no trace.
    let fresh = Checkpoint {
        stream_arn: arn.clone(),
        ..Default::default()
    };
    let mut reader = Reader::new(&ctx.db, arn.clone(), fresh, opts);
    let mut out = Printer::new(ctx, &arn, key_names);
    let mut waiting_said = false;
    let wanted = args.count.unwrap_or(u64::MAX);
    let read = async {
        while out.shown < wanted && !ctx.db.cancelled() && !output::stdout_closed() {
            match reader.next().await? {
                Next::Batch(batch) => {
                    let partition = out.key_names[0].clone();
                    for rec in batch.records.iter().filter(|r| filter.keeps(r, &partition)) {
                        out.print(rec)?;
                        if out.shown >= wanted {
                            break;
                        }
                    }
                }
                Next::Idle => {
                    if !waiting_said {
                        // Every shard has its iterator: what is written from now on shows.
                        output::note(format!(
                            "ddb: following the stream of '{}' from {}; Ctrl-C stops",
                            ctx.db.table,
                            from_name(from)
                        ));
                        waiting_said = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(poll) => {}
                        _ = ctx.db.cancel.cancelled() => {}
                    }
                }
                Next::End => break,
            }
        }
        anyhow::Ok(())
    }
    .await;
    out.finish()?;
    if ctx.db.cancelled() {
        return Err(Failure::Interrupted(format!(
            "interrupted after {} shown",
            crate::term::plural(out.shown as u64, "record")
        ))
        .into());
    }
    read
}

fn from_name(from: StartAt) -> &'static str {
    match from {
        StartAt::TrimHorizon => "trim-horizon",
        StartAt::Latest => "latest",
    }
}

/// Records to stdout as they come, one line each (a JSON array for `-o json`).
struct Printer<'a> {
    ctx: &'a Ctx,
    stream_arn: &'a str,
    key_names: Vec<String>,
    shown: u64,
}

impl<'a> Printer<'a> {
    fn new(ctx: &'a Ctx, stream_arn: &'a str, key_names: Vec<String>) -> Printer<'a> {
        Printer {
            ctx,
            stream_arn,
            key_names,
            shown: 0,
        }
    }

    fn print(&mut self, rec: &crate::stream::record::StreamRecord) -> Result<()> {
        let text = match self.ctx.style.format {
            OutputFormat::Table => tail::line(rec, &self.key_names, &self.ctx.style),
            OutputFormat::Ndjson => lambda_record(rec, self.stream_arn).to_string(),
            OutputFormat::Json => {
                let open = if self.shown == 0 { "[\n" } else { ",\n" };
                let json = lambda_record(rec, self.stream_arn).to_string();
                output::with_stdout(|o| {
                    std::io::Write::write_all(o, format!("{open}{json}").as_bytes())
                })?;
                self.shown += 1;
                return Ok(());
            }
        };
        output::line(text)?;
        self.shown += 1;
        Ok(())
    }

    fn finish(&self) -> Result<()> {
        if self.ctx.style.format == OutputFormat::Json {
            output::line(if self.shown == 0 { "[]" } else { "\n]" })?;
        }
        Ok(())
    }
}
