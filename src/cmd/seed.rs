//! `ddb seed`: write the fixture's (or a synthetic data set's) messages with the batch writer.
//! The fixture path is a sync: after writing, messages of the fixture's conversations that the
//! fixture no longer produces (an earlier run's timestamps) are deleted. Then every seeded
//! conversation's GRP# rows are settled on its newest existing message by the stream handler's
//! guarded primitive (src/rows/seeded.rs), so reseeding never duplicates a row.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use clap::builder::TypedValueParser as _;
use serde::Serialize;

use super::Ctx;
use crate::aws::pages::Pages;
use crate::aws::table;
use crate::errors::Failure;
use crate::model::fixture;
use crate::model::item::{get_s, Item};
use crate::model::msg_pk;
use crate::model::schema::Needs;
use crate::model::seed_plan::{self, Plan};
use crate::model::synthetic::Spec;
use crate::rows::seeded::{self, RowsReport};
use crate::term::output;
use crate::transfer::write::{self, WriteOptions, WriteOutcome, WriteReport};

/// Pages read per conversation when looking for stale items; a fixture conversation has far
/// fewer items than this many pages can hold.
const MAX_PAGES: usize = 1_000;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Fixture file [default: $DDB_FIXTURE, else the built-in fixture (`ddb defaults fixture`)]
    #[arg(long, value_name = "FILE", conflicts_with = "synthetic")]
    pub fixture: Option<PathBuf>,

    /// Place timestamps relative to this time (RFC 3339) instead of now (fixture) or
    /// 2026-01-01T00:00:00Z (synthetic), for reproducible data
    #[arg(long, value_name = "TIMESTAMP")]
    pub now: Option<String>,

    /// Write N generated messages instead of the fixture (deterministic; same arguments, same items)
    #[arg(long, value_name = "N")]
    pub synthetic: Option<u64>,

    /// Synthetic conversations [default: N/100, between 1 and 1000]
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

    /// Confirm seeding a remote (non-loopback) target: seed overwrites items and deletes stale
    /// items of earlier seeds
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// The end-of-run summary; other tools read these exact keys from `-o json`.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub items_written: u64,
    pub messages: u64,
    pub groups: u64,
    pub retries: u64,
    pub failed_items: u64,
    pub elapsed_ms: u64,
    pub items_per_sec: f64,
    #[serde(skip)]
    stale_deleted: u64,
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
            guard(ctx, args.yes).await?;
            seed_synthetic(ctx, &spec, &opts).await
        }
        None => {
            let (fixture, name) = fixture::load_chosen(args.fixture)?;
            let plan = seed_plan::plan(&fixture, now.unwrap_or_else(Utc::now))
                .map_err(|msg| Failure::InvalidInput(format!("{name}: {msg}")))?;
            guard(ctx, args.yes).await?;
            seed_fixture(ctx, &plan, &opts).await
        }
    }
}

/// Before the first write: a remote target needs `--yes` (seed overwrites, and deletes stale
/// items of earlier seeds), and the table must have the model's keys.
async fn guard(ctx: &Ctx, yes: bool) -> Result<()> {
    ctx.confirm_destructive(
        &format!(
            "seed table '{}' (overwrites items and deletes stale items of earlier seeds)",
            ctx.db.table
        ),
        yes,
    )?;
    table::check_model(&ctx.db, Needs::KeysAndGroupIndex).await?;
    Ok(())
}

fn parse_now(s: &str) -> Result<DateTime<Utc>> {
    crate::model::parse_timestamp(s.trim()).map_err(|e| Failure::Usage(format!("--now: {e:#}")).into())
}

async fn seed_fixture(ctx: &Ctx, plan: &Plan, opts: &WriteOptions) -> Result<()> {
    let start = Instant::now();
    let total = plan.item_count() as u64;
    let messages = plan.message_count() as u64;
    let outcome = write_with_progress(ctx, messages, plan.messages().map(write::put), opts).await;
    let mut summary = summarize(
        &outcome.report,
        plan.message_count() as u64,
        plan.conversations.len() as u64,
        start.elapsed(),
    );
    // The rows come after the messages: a run that stops here wrote none of them.
    if outcome.cancelled || outcome.error.is_some() {
        summary.failed_items += total - messages;
    }
    // Ctrl-C first: a batch stopped in its retry pause reports an error too, but the run
    // was interrupted, not failed (exit 130, with exactly what landed).
    if outcome.cancelled {
        return interrupted(ctx, &summary, total);
    }
    if let Some(err) = outcome.error {
        return fail(
            ctx,
            &summary,
            total,
            err,
            outcome.report.written == 0 && !outcome.exhausted,
        );
    }
    // Only now that every new message is in place: remove what earlier runs left behind.
    let stale = match stale_keys(ctx, plan).await {
        Ok(stale) => stale,
        // Ctrl-C while looking (the lookup's reads stop at once): say what landed, exit 130.
        Err(_) if ctx.db.cancelled() => {
            print_summary(ctx, &summary)?;
            return Err(Failure::Interrupted(format!(
                "interrupted: all {} items were written, but stale items from an earlier seed were not looked for; run the same seed again to remove them",
                summary.items_written
            ))
            .into());
        }
        Err(e) => return Err(e),
    };
    if !stale.is_empty() {
        let n = stale.len() as u64;
        let deleted =
            write::write_all(&ctx.db, stale.into_iter().map(write::delete), opts, &|_| {}).await;
        summary.retries += deleted.report.retries;
        summary.stale_deleted = deleted.report.written;
        if let Some(err) = deleted.error.filter(|_| !deleted.cancelled) {
            print_summary(ctx, &summary)?;
            return Err(Failure::Partial(format!(
                "all {} items were written, but {} of {n} stale items from an earlier seed could not be deleted: {err:#}",
                summary.items_written, deleted.report.not_written
            ))
            .into());
        }
        if deleted.cancelled {
            print_summary(ctx, &summary)?;
            return Err(Failure::Interrupted(format!(
                "interrupted: all {} items were written, but {} of {n} stale items from an earlier seed are still there; run the same seed again to remove them",
                summary.items_written, deleted.report.not_written
            ))
            .into());
        }
    }
    let rows = settle_with_progress(ctx, plan.row_templates(), total - messages, opts).await;
    finish_rows(ctx, &mut summary, rows)
}

/// Settle the seeded conversations' GRP# rows (src/rows/seeded.rs), with a progress bar.
async fn settle_with_progress(
    ctx: &Ctx,
    conversations: impl Iterator<Item = (String, Vec<Item>)>,
    rows: u64,
    opts: &WriteOptions,
) -> RowsReport {
    let bar = ctx.style.progress(rows, "GRP# rows");
    let report =
        seeded::settle_all(&ctx.db, conversations, opts.concurrency, &|n| bar.inc(n)).await;
    bar.finish_and_clear();
    report
}

/// Add the rows' work to the summary; Ctrl-C or conversations left unsettled end the run
/// (130 or 7) after the summary.
fn finish_rows(ctx: &Ctx, summary: &mut Summary, rows: RowsReport) -> Result<()> {
    summary.items_written += rows.rows_put;
    summary.stale_deleted += rows.rows_deleted;
    summary.retries += rows.retries;
    if rows.cancelled {
        summary.failed_items += 2 * (summary.groups - rows.conversations - rows.failed_count);
        print_summary(ctx, summary)?;
        return Err(Failure::Interrupted(format!(
            "interrupted: the messages were written, but the GRP# rows of {} of {} conversations were not settled; run the same seed again to finish",
            summary.groups - rows.conversations,
            summary.groups
        ))
        .into());
    }
    if rows.failed_count > 0 {
        print_summary(ctx, summary)?;
        let reasons: Vec<String> = rows
            .failed
            .iter()
            .map(|(g, why)| format!("group {g}: {why}"))
            .collect();
        return Err(Failure::Partial(format!(
            "the GRP# rows of {} of {} conversations could not be settled on their newest message ({})",
            rows.failed_count,
            summary.groups,
            reasons.join("; ")
        ))
        .into());
    }
    print_summary(ctx, summary)
}

async fn seed_synthetic(ctx: &Ctx, spec: &Spec, opts: &WriteOptions) -> Result<()> {
    let start = Instant::now();
    let total = spec.total_items();
    let outcome = write_with_progress(
        ctx,
        spec.messages,
        spec.message_items().map(write::put),
        opts,
    )
    .await;
    let mut summary = summarize(&outcome.report, spec.messages, spec.groups, start.elapsed());
    if outcome.cancelled || outcome.error.is_some() {
        summary.failed_items += total - spec.messages;
    }
    if outcome.cancelled {
        return interrupted(ctx, &summary, total);
    }
    if let Some(err) = outcome.error {
        return fail(
            ctx,
            &summary,
            total,
            err,
            outcome.report.written == 0 && !outcome.exhausted,
        );
    }
    let rows = settle_with_progress(ctx, spec.row_templates(), 2 * spec.groups, opts).await;
    finish_rows(ctx, &mut summary, rows)
}

async fn write_with_progress(
    ctx: &Ctx,
    total: u64,
    requests: impl Iterator<Item = aws_sdk_dynamodb::types::WriteRequest>,
    opts: &WriteOptions,
) -> WriteOutcome {
    let bar = ctx.style.progress(total, "items");
    let outcome = write::write_all(&ctx.db, requests, opts, &|n| bar.inc(n)).await;
    bar.finish_and_clear();
    outcome
}

/// Ctrl-C: the batches in flight were finished; say exactly what landed (exit 130).
fn interrupted(ctx: &Ctx, summary: &Summary, total: u64) -> Result<()> {
    print_summary(ctx, summary)?;
    Err(Failure::Interrupted(format!(
        "interrupted: {} of {total} items written to '{}', {} not written; run the same seed again to finish (it never duplicates)",
        summary.items_written, ctx.db.table, summary.failed_items
    ))
    .into())
}

/// A run that stopped: print what was done, then fail naming how many items are missing. An
/// error before anything was written (no table, bad credentials) keeps its own kind and exit
/// code; anything else is a partial write (exit 7).
fn fail(
    ctx: &Ctx,
    summary: &Summary,
    total: u64,
    err: anyhow::Error,
    nothing_written: bool,
) -> Result<()> {
    if nothing_written {
        return Err(err.context(format!(
            "seeding table '{}': no items written",
            ctx.db.table
        )));
    }
    print_summary(ctx, summary)?;
    Err(Failure::Partial(format!(
        "{} of {total} items were NOT written to '{}' ({} written, {} retries): {err:#}",
        summary.failed_items, ctx.db.table, summary.items_written, summary.retries
    ))
    .into())
}

fn summarize(report: &WriteReport, messages: u64, groups: u64, elapsed: Duration) -> Summary {
    let secs = elapsed.as_secs_f64();
    Summary {
        items_written: report.written,
        messages,
        groups,
        retries: report.retries,
        failed_items: report.not_written,
        elapsed_ms: elapsed.as_millis() as u64,
        items_per_sec: if secs > 0.0 {
            (report.written as f64 / secs * 10.0).round() / 10.0
        } else {
            0.0
        },
        stale_deleted: 0,
    }
}

fn print_summary(ctx: &Ctx, s: &Summary) -> Result<()> {
    if ctx.style.is_json() {
        return output::print_json(ctx.style.format, s);
    }
    let mut line = format!(
        "wrote {} items ({} messages, {} conversations) to '{}' in {:.2} s: {} items/s, {} retries",
        s.items_written,
        s.messages,
        s.groups,
        ctx.db.table,
        s.elapsed_ms as f64 / 1000.0,
        s.items_per_sec.round(),
        s.retries
    );
    if s.stale_deleted > 0 {
        line.push_str(&format!(
            ", removed {} stale items of an earlier seed",
            s.stale_deleted
        ));
    }
    if s.failed_items > 0 {
        line.push_str(&format!(", {} items NOT written", s.failed_items));
    }
    output::line(ctx.style.bold(&line))
}

/// Messages in the fixture's conversations that this plan does not write (an earlier run's
/// timestamps, or messages added since). GRP# rows are settled afterwards, not listed here.
async fn stale_keys(ctx: &Ctx, plan: &Plan) -> Result<Vec<Item>> {
    let mut stale = Vec::new();
    for c in &plan.conversations {
        let group = &c.message_group_uuid;
        let keep: HashSet<&str> = c.messages.iter().map(|m| m.created_at.as_str()).collect();
        for key in query_keys(ctx, None, "pk", &msg_pk(group)).await? {
            if get_s(&key, "sk").is_some_and(|sk| !keep.contains(sk)) {
                stale.push(key);
            }
        }
    }
    Ok(stale)
}

/// The table keys (pk, sk) of every item with `attr = value`, on the table or an index.
async fn query_keys(ctx: &Ctx, index: Option<&str>, attr: &str, value: &str) -> Result<Vec<Item>> {
    let db = &ctx.db;
    let query = db
        .dynamodb
        .query()
        .table_name(&db.table)
        .set_index_name(index.map(str::to_string))
        .key_condition_expression("#k = :v")
        .expression_attribute_names("#k", attr)
        .expression_attribute_names("#pk", "pk")
        .expression_attribute_names("#sk", "sk")
        .expression_attribute_values(":v", AttributeValue::S(value.to_string()))
        .projection_expression("#pk, #sk");
    let mut pages = Pages::new(db, query).max_pages(MAX_PAGES);
    if let Some(index) = index {
        pages = pages.on_index(index);
    }
    let mut keys = Vec::new();
    while let Some(page) = pages
        .next()
        .await
        .with_context(|| format!("looking for stale items of an earlier seed ({attr} = {value})"))?
    {
        keys.extend(page.items.unwrap_or_default());
    }
    if pages.more() {
        anyhow::bail!("more than {MAX_PAGES} pages of items for {attr} = {value}; stopped looking for stale items")
    }
    Ok(keys)
}
