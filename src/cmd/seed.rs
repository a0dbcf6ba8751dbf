//! `ddb seed`: write the fixture's (or a synthetic data set's) conversations, each one's
//! messages, then its GRP# rows settled on its newest existing message by the stream
//! handler's guarded primitive, conversations pipelined (src/transfer/seeding.rs). The fixture
//! path is a sync of what seeds wrote: messages an earlier seed wrote that this one does not
//! (its times) are removed; messages others wrote (the app, put-message) stay, unless
//! `--reset` empties the conversations first.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::builder::TypedValueParser as _;
use serde::Serialize;

use super::Ctx;
use crate::aws::table;
use crate::errors::{causes, Failure};
use crate::model::fixture;
use crate::model::schema::Needs;
use crate::model::seed_plan::{self, SeedConversation};
use crate::model::synthetic::Spec;
use crate::term::output;
use crate::term::{plural, plural_of};
use crate::transfer::seeding::{self, Earlier, SeedReport};
use crate::transfer::write::{self, WriteOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Fixture file [default: the built-in one]
    ///
    /// Default: $DDB_FIXTURE, else the built-in fixture (`ddb defaults fixture`).
    #[arg(long, value_name = "FILE", conflicts_with = "synthetic")]
    pub fixture: Option<PathBuf>,

    /// Place timestamps relative to this RFC 3339 time
    ///
    /// Instead of now (fixture) or 2026-01-01T00:00:00Z (synthetic), for reproducible data.
    #[arg(long, value_name = "TIMESTAMP")]
    pub now: Option<String>,

    /// Write N generated messages instead of the fixture
    ///
    /// Deterministic: the same arguments write the same items.
    #[arg(long, value_name = "N")]
    pub synthetic: Option<u64>,

    /// Synthetic conversations [default: N/100, 1 to 1000]
    #[arg(long, value_name = "G", requires = "synthetic")]
    pub groups: Option<u64>,

    /// Synthetic users [default: 50]
    #[arg(long, value_name = "U", requires = "synthetic")]
    pub users: Option<u64>,

    /// Seed of the synthetic generator
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub rng_seed: u64,

    /// BatchWriteItem calls in flight
    #[arg(long, value_name = "N", default_value_t = write::DEFAULT_CONCURRENCY,
          value_parser = clap::value_parser!(u16).range(1..=256).map(usize::from))]
    pub concurrency: usize,

    /// Remove everything in the seeded conversations first
    ///
    /// Messages others wrote included (asks on a terminal).
    #[arg(long)]
    pub reset: bool,

    /// Confirm seeding a remote (non-loopback) target
    ///
    /// Also confirms --reset without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// The end-of-run summary; other tools read these exact keys from `-o json`.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Messages written and GRP# rows put.
    pub items_written: u64,
    pub messages: u64,
    pub groups: u64,
    pub retries: u64,
    pub failed_items: u64,
    /// The whole run: writes, removals and rows.
    pub elapsed_ms: u64,
    /// Items written per second of the whole run.
    pub items_per_sec: f64,
    /// Messages an earlier seed wrote that this one does not (its times), removed.
    pub removed_earlier_seed: u64,
    /// Items removed by --reset before writing.
    pub removed_reset: u64,
    /// Messages others wrote into the seeded conversations, kept.
    pub kept_others: u64,
}

/// The sizes of what a seed writes, for the summary.
struct Sizes {
    messages: u64,
    groups: u64,
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let now = args.now.as_deref().map(parse_now).transpose()?;
    let opts = WriteOptions {
        concurrency: args.concurrency,
        // The run's pace and budget (--max-attempts).
        backoff: ctx.db.backoff,
    };
    match args.synthetic {
        Some(n) => {
            let mut spec = Spec::new(n, args.groups, args.users, args.rng_seed);
            if let Some(now) = now {
                spec.end = now;
            }
            spec.validate().map_err(|e| Failure::Usage(e.to_string()))?;
            guard(ctx, &args).await?;
            let sizes = Sizes {
                messages: spec.messages,
                groups: spec.groups,
            };
            let earlier = if args.reset {
                Earlier::Everything
            } else {
                Earlier::Keep
            };
            seed(ctx, spec.conversations(), &sizes, earlier, &opts).await
        }
        None => {
            let (fixture, name) = fixture::load_chosen(args.fixture.clone())?;
            let plan = seed_plan::plan(&fixture, now.unwrap_or_else(Utc::now))
                .map_err(|msg| Failure::InvalidInput(format!("{name}: {msg}")))?;
            guard(ctx, &args).await?;
            let sizes = Sizes {
                messages: plan.message_count() as u64,
                groups: plan.conversations.len() as u64,
            };
            let earlier = if args.reset {
                Earlier::Everything
            } else {
                Earlier::SeedOnly
            };
            seed(ctx, plan.seed_conversations(), &sizes, earlier, &opts).await
        }
    }
}

/// Before the first write: a remote target needs `--yes` (seed overwrites, and removes what
/// earlier seeds left), `--reset` is asked on a terminal, and the table must have the model's
/// keys.
async fn guard(ctx: &Ctx, args: &Args) -> Result<()> {
    let table = &ctx.db.table;
    if args.reset {
        ctx.confirm_on_terminal(
            &format!("seed table '{table}' with --reset: remove EVERYTHING in the seeded conversations first, messages others wrote included"),
            args.yes,
        )?;
    } else {
        ctx.confirm_destructive(
            &format!(
                "seed table '{table}' (overwrites its items, removes messages earlier seeds wrote)"
            ),
            args.yes,
        )?;
    }
    table::check_model(&ctx.db, Needs::KeysAndGroupIndex).await?;
    Ok(())
}

fn parse_now(s: &str) -> Result<DateTime<Utc>> {
    crate::model::parse_timestamp(s.trim())
        .map_err(|e| Failure::Usage(format!("--now: {e:#}")).into())
}

/// Write every conversation (its messages, removals, its rows), with a progress bar; then
/// the summary, and how the run ended.
async fn seed(
    ctx: &Ctx,
    conversations: impl Iterator<Item = SeedConversation>,
    sizes: &Sizes,
    earlier: Earlier,
    opts: &WriteOptions,
) -> Result<()> {
    let start = Instant::now();
    let total = sizes.messages + 2 * sizes.groups;
    let bar = ctx.style.progress(total, "items");
    let report = seeding::seed_all(&ctx.db, conversations, sizes.groups, earlier, opts, &|n| {
        bar.inc(n)
    })
    .await;
    bar.finish_and_clear();
    let summary = summarize(&report, sizes, start);
    // Ctrl-C first: a batch stopped in its retry pause reports an error too, but the run
    // was interrupted, not failed (exit 130, with exactly what landed).
    if report.cancelled {
        print_summary(ctx, &summary, earlier)?;
        return Err(Failure::Interrupted(format!(
            "interrupted: {} of {total} items written to '{}', {} not written; run the same seed again to finish (it never duplicates)",
            summary.items_written, ctx.db.table, summary.failed_items
        ))
        .into());
    }
    if let Some(err) = report.error {
        if summary.items_written == 0 && !report.exhausted {
            return Err(err.context(format!(
                "seeding table '{}': no items written",
                ctx.db.table
            )));
        }
        print_summary(ctx, &summary, earlier)?;
        return Err(Failure::Partial(format!(
            "{} of {total} items were NOT written to '{}' ({} written, {} retries): {}",
            summary.failed_items,
            ctx.db.table,
            summary.items_written,
            summary.retries,
            causes(err.as_ref())
        ))
        .into());
    }
    print_summary(ctx, &summary, earlier)?;
    if report.rows.failed_count > 0 {
        return Err(Failure::Partial(format!(
            "the GRP# rows of {} of {} conversations could not be settled on their newest message ({})",
            report.rows.failed_count,
            sizes.groups,
            report.rows.reasons()
        ))
        .into());
    }
    Ok(())
}

fn summarize(report: &SeedReport, sizes: &Sizes, start: Instant) -> Summary {
    let elapsed = start.elapsed();
    let secs = elapsed.as_secs_f64();
    let written = report.messages.written + report.rows.rows_put;
    // Messages never confirmed, and two rows of every conversation whose rows were not
    // settled (a failed settle, or never reached).
    let unsettled = sizes.groups - report.rows.conversations;
    Summary {
        items_written: written,
        messages: sizes.messages,
        groups: sizes.groups,
        retries: report.messages.retries + report.removal_retries + report.rows.retries,
        failed_items: (sizes.messages - report.messages.written) + 2 * unsettled,
        elapsed_ms: elapsed.as_millis() as u64,
        items_per_sec: if secs > 0.0 {
            (written as f64 / secs * 10.0).round() / 10.0
        } else {
            0.0
        },
        removed_earlier_seed: report.removed_seed,
        removed_reset: report.removed_reset,
        kept_others: report.kept_others,
    }
}

fn print_summary(ctx: &Ctx, s: &Summary, earlier: Earlier) -> Result<()> {
    if ctx.style.is_json() {
        return output::print_json(ctx.style.format, s);
    }
    // The rate is in -o json; people get the counts and the time.
    let mut line = format!(
        "wrote {} ({}, {}) to {} in {:.2} s",
        plural(s.items_written, "item"),
        plural(s.messages, "message"),
        plural(s.groups, "conversation"),
        ctx.db.table,
        s.elapsed_ms as f64 / 1000.0,
    );
    if s.retries > 0 {
        line.push_str(&format!(", {}", plural_of(s.retries, "retry", "retries")));
    }
    if s.failed_items > 0 {
        line.push_str(&format!(", {} NOT written", plural(s.failed_items, "item")));
    }
    output::line(ctx.style.bold(&line))?;
    if s.removed_reset > 0 || earlier == Earlier::Everything {
        output::line(format!(
            "removed {} first (--reset: everything in these conversations)",
            plural(s.removed_reset, "item")
        ))?;
    }
    if s.removed_earlier_seed > 0 {
        output::line(format!(
            "removed {} an earlier seed wrote at other times",
            plural(s.removed_earlier_seed, "message")
        ))?;
    }
    if s.kept_others > 0 {
        output::line(format!(
            "kept {} others wrote in these conversations (seed --reset removes them)",
            plural(s.kept_others, "message")
        ))?;
    }
    Ok(())
}
