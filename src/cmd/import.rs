//! `ddb import PATH`: load an export in AWS's export-to-S3 layout (or one data file of
//! `{"Item": …}` lines) into the table. Two streaming passes: the first checks everything and
//! writes nothing if anything is wrong; the second writes with the batch writer. Then, on the
//! messages table, the GRP# rows of every conversation the import touched are settled on its
//! newest existing message with seed's primitive (an older export's rows are stale once newer
//! messages exist).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::builder::TypedValueParser as _;
use serde::Serialize;

use super::Ctx;
use crate::aws::table;
use crate::errors::{causes, Failure};
use crate::rows::seeded::{self, RowsReport};
use crate::term::output;
use crate::term::{plural, plural_of};
use crate::transfer::export_read::{self, Checked, ItemStream};
use crate::transfer::import_check::ItemRules;
use crate::transfer::touched::Touched;
use crate::transfer::write::{self, WriteOptions, WriteReport};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// An export folder as downloaded (holding AWSDynamoDB/<ExportId>/, or that folder itself),
    /// or one data file of {"Item": …} lines (.json or .json.gz)
    #[arg(value_name = "PATH")]
    pub path: PathBuf,

    /// Check everything and write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Write to a remote (non-local) table without asking
    #[arg(long)]
    pub yes: bool,

    /// BatchWriteItem calls in flight
    #[arg(long, value_name = "N", default_value_t = write::DEFAULT_CONCURRENCY,
          value_parser = clap::value_parser!(u16).range(1..=256).map(usize::from))]
    pub concurrency: usize,
}

/// The end-of-run summary; other tools read these exact keys from `-o json`.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Items in the export (all checked).
    pub items: u64,
    pub files: usize,
    pub items_written: u64,
    pub retries: u64,
    pub failed_items: u64,
    pub dry_run: bool,
    /// The checking pass.
    pub check_ms: u64,
    /// The whole command, both passes.
    pub elapsed_ms: u64,
    /// Items written per second of the whole command.
    pub items_per_sec: f64,
    /// Conversations written to (messages table only).
    pub conversations: u64,
    /// Of those, the ones whose GRP# rows were settled after the write (the rest, imported
    /// into an empty table, already carried their newest message).
    pub conversations_settled: u64,
    /// GRP# rows put, and removed, by settling them.
    pub rows_put: u64,
    pub rows_deleted: u64,
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let start = Instant::now();
    let source = export_read::open(&args.path).map_err(nothing_written)?;
    if !args.dry_run {
        // Before any request: a refusal costs nothing.
        let what = format!("import {} into the table", args.path.display());
        ctx.confirm_destructive(&what, args.yes)?;
    }
    let desc = table::describe_existing(&ctx.db).await?;
    let rules =
        ItemRules::from_table(&desc).with_context(|| format!("table '{}'", ctx.db.table))?;

    let checked = check(ctx, &source, &rules)?;
    let check_time = start.elapsed();
    if args.dry_run {
        let summary = summarize(&checked, &WriteReport::default(), true, check_time, start);
        return print_summary(ctx, &summary);
    }

    let opts = WriteOptions {
        concurrency: args.concurrency,
        // The run's pace and budget (--max-attempts).
        backoff: ctx.db.backoff,
    };
    let messages_table = rules.is_message_table();
    // Into a table that was empty, a conversation whose rows the export carries at its newest
    // message is already as it should be; into any other, every conversation written to is
    // settled (an older export's rows are stale there).
    let was_empty = messages_table && table::is_empty(&ctx.db).await?;
    let bar = ctx.style.progress(checked.items, "items");
    let mut items = ItemStream::new(&source);
    let mut touched = Touched::default();
    // Stop reading at Ctrl-C: the writer counts what it was not given by draining the
    // iterator, and the summary counts from the checked total instead.
    let requests = items
        .by_ref()
        .take_while(|_| !ctx.db.cancelled())
        .inspect(|item| {
            if messages_table {
                touched.note(item);
            }
        })
        .map(write::put);
    let outcome = write::write_all(&ctx.db, requests, &opts, &|n| bar.inc(n)).await;
    bar.finish_and_clear();
    let mut summary = summarize(&checked, &outcome.report, false, check_time, start);
    let total = checked.items;
    // Ctrl-C first: a batch stopped in its retry pause reports an error too, but the run was
    // interrupted, not failed (exit 130, with exactly what landed).
    if outcome.cancelled {
        print_summary(ctx, &summary)?;
        return Err(Failure::Interrupted(format!(
            "interrupted: {} of {total} items written to '{}', {} not written; run the same import again to finish (it puts the same items)",
            summary.items_written, ctx.db.table, summary.failed_items
        ))
        .into());
    }
    if let Some(err) = outcome.error {
        if outcome.report.written == 0 && !outcome.exhausted {
            return Err(err.context(format!(
                "importing into '{}': no items written",
                ctx.db.table
            )));
        }
        print_summary(ctx, &summary)?;
        return Err(Failure::Partial(format!(
            "{} of {total} items were NOT written to '{}' ({} written, {} retries): {}; importing again is safe (it puts the same items)",
            summary.failed_items, ctx.db.table, summary.items_written, summary.retries,
            causes(err.as_ref())
        ))
        .into());
    }
    if let Some(e) = items.error {
        print_summary(ctx, &summary)?;
        return Err(Failure::Partial(format!(
            "{e}: {} of {total} items written to '{}'",
            summary.items_written, ctx.db.table
        ))
        .into());
    }
    summary.conversations = touched.conversations.len() as u64;
    let to_settle: Vec<(String, BTreeSet<String>)> = touched
        .conversations
        .into_iter()
        .filter(|(_, written)| !(was_empty && written.consistent()))
        .map(|(group, written)| (group, written.owners()))
        .collect();
    let conversations = to_settle.len() as u64;
    let rows = settle(ctx, to_settle, args.concurrency).await;
    summary.conversations_settled = rows.conversations;
    summary.rows_put = rows.rows_put;
    summary.rows_deleted = rows.rows_deleted;
    summary.retries += rows.retries;
    // The whole command: both passes and the rows.
    let elapsed = start.elapsed();
    summary.elapsed_ms = elapsed.as_millis() as u64;
    summary.items_per_sec =
        (summary.items_written as f64 / elapsed.as_secs_f64().max(1e-9) * 10.0).round() / 10.0;
    print_summary(ctx, &summary)?;
    if rows.cancelled {
        return Err(Failure::Interrupted(format!(
            "interrupted: all {total} items were imported, but the GRP# rows of {} of {conversations} conversations were not settled; run the same import again to finish",
            conversations - rows.conversations
        ))
        .into());
    }
    if rows.failed_count > 0 {
        return Err(Failure::Partial(format!(
            "all {total} items were imported, but the GRP# rows of {} of {conversations} conversations could not be settled on their newest message ({})",
            rows.failed_count,
            rows.reasons()
        ))
        .into());
    }
    Ok(())
}

/// Settle the rows of every conversation the import touched, with a progress bar.
async fn settle(
    ctx: &Ctx,
    touched: Vec<(String, BTreeSet<String>)>,
    concurrency: usize,
) -> RowsReport {
    let bar = ctx.style.progress(touched.len() as u64, "conversations");
    let conversations = touched.into_iter();
    let report = seeded::settle_touched(&ctx.db, conversations, concurrency, &|| bar.inc(1)).await;
    bar.finish_and_clear();
    report
}

/// The first pass, with a spinner; any problem is invalid input and nothing has been written.
fn check(ctx: &Ctx, source: &export_read::Source, rules: &ItemRules) -> Result<Checked> {
    let bar = ctx.style.spinner(format!(
        "checking {} against table '{}'",
        plural(source.files.len() as u64, "data file"),
        ctx.db.table
    ));
    let result = export_read::validate(source, rules, &|n| bar.inc(n), &|| ctx.db.cancelled());
    bar.finish_and_clear();
    result.map_err(nothing_written)
}

/// Bad input found before any write says so: the table is untouched.
fn nothing_written(e: Failure) -> anyhow::Error {
    match e {
        Failure::InvalidInput(msg) => Failure::InvalidInput(format!("{msg}; nothing was written")),
        other => other,
    }
    .into()
}

fn summarize(
    checked: &Checked,
    report: &WriteReport,
    dry_run: bool,
    check_time: Duration,
    start: Instant,
) -> Summary {
    let elapsed = start.elapsed();
    let secs = elapsed.as_secs_f64();
    Summary {
        items: checked.items,
        files: checked.files,
        items_written: report.written,
        retries: report.retries,
        failed_items: if dry_run {
            0
        } else {
            checked.items.saturating_sub(report.written)
        },
        dry_run,
        check_ms: check_time.as_millis() as u64,
        elapsed_ms: elapsed.as_millis() as u64,
        items_per_sec: if secs > 0.0 {
            (report.written as f64 / secs * 10.0).round() / 10.0
        } else {
            0.0
        },
        conversations: 0,
        conversations_settled: 0,
        rows_put: 0,
        rows_deleted: 0,
    }
}

fn print_summary(ctx: &Ctx, s: &Summary) -> Result<()> {
    if ctx.style.is_json() {
        return output::print_json(ctx.style.format, s);
    }
    let line = if s.dry_run {
        format!(
            "checked {} in {} against {} in {:.2} s: all good, nothing written (--dry-run)",
            plural(s.items, "item"),
            plural(s.files as u64, "file"),
            ctx.db.table,
            s.check_ms as f64 / 1000.0
        )
    } else {
        let mut line = format!(
            "imported {} from {} into {} in {:.2} s",
            plural(s.items_written, "item"),
            plural(s.files as u64, "file"),
            ctx.db.table,
            s.elapsed_ms as f64 / 1000.0,
        );
        if s.retries > 0 {
            line.push_str(&format!(", {}", plural_of(s.retries, "retry", "retries")));
        }
        if s.failed_items > 0 {
            line.push_str(&format!(", {} NOT written", plural(s.failed_items, "item")));
        }
        line
    };
    output::line(ctx.style.bold(&line))?;
    if s.conversations_settled > 0 {
        output::line(format!(
            "settled the GRP# rows of {} of {} conversations on their newest message: {} rows put, {} removed",
            s.conversations_settled, s.conversations, s.rows_put, s.rows_deleted
        ))?;
    } else if s.conversations > 0 {
        output::line(format!(
            "the GRP# rows of all {} conversations carry their newest message (imported into an empty table)",
            s.conversations
        ))?;
    }
    Ok(())
}
