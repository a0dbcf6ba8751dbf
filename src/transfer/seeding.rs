//! Seed's writes, conversation by conversation and many conversations at once: each one's
//! messages written with the batch writer, then what an earlier seed left in it removed (or,
//! for `--reset`, everything in it removed first), then its GRP# rows settled on its newest
//! existing message (`rows::seeded`). A conversation's rows are settled as soon as its own
//! messages are in, while other conversations are still being written: settling runs beside
//! the writes, not after them.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;

use crate::aws::db::Db;
use crate::model::item::{get_s, Item};
use crate::model::seed_plan::{left_by_an_earlier_seed, SeedConversation};
use crate::rows::fresh;
use crate::rows::seeded::{self, RowsReport};
use crate::rows::settle::{Settler, Tally};
use crate::transfer::write::{self, WriteOptions, WriteReport};

/// What a seed does with items already in the conversations it writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Earlier {
    /// Leave them (synthetic data: its keys are the same on every run with the same
    /// arguments, so a reseed overwrites them).
    Keep,
    /// Remove the messages an earlier seed wrote that this one does not (its times, or
    /// messages since dropped from the fixture); others' messages stay.
    SeedOnly,
    /// Remove everything in the conversations first (`seed --reset`).
    Everything,
}

/// What seeding did, conversation by conversation, summed.
#[derive(Debug, Default)]
pub struct SeedReport {
    /// The messages: written, retried, not written (of the conversations started).
    pub messages: WriteReport,
    /// Messages of an earlier seed removed (`Earlier::SeedOnly`).
    pub removed_seed: u64,
    /// Items removed by `Earlier::Everything`.
    pub removed_reset: u64,
    /// Retries of the removals.
    pub removal_retries: u64,
    /// Messages others wrote into these conversations, kept.
    pub kept_others: u64,
    pub rows: RowsReport,
    /// Conversations taken up (the rest were never started: an error or Ctrl-C came first).
    pub started: u64,
    /// The first error that stopped the run.
    pub error: Option<anyhow::Error>,
    /// The error is a batch running out of attempts on retryable failures.
    pub exhausted: bool,
    /// Ctrl-C: conversations not started were left as they were.
    pub cancelled: bool,
}

/// One conversation's part of the report.
#[derive(Default)]
struct One {
    messages: WriteReport,
    removed_seed: u64,
    removed_reset: u64,
    removal_retries: u64,
    kept_others: u64,
    rows: RowsReport,
    error: Option<anyhow::Error>,
    exhausted: bool,
}

/// Seed every conversation (`count` of them), about `opts.concurrency` calls in flight: as
/// many conversations at once, each writing its batches one after another, or, with fewer
/// conversations than that, each with a share of the calls. `on_written(n)` is called as
/// messages are confirmed and as each conversation's rows are settled (2 each). After the
/// first error, or on Ctrl-C, no new conversation is started; those in flight finish.
pub async fn seed_all<I>(
    db: &Db,
    conversations: I,
    count: u64,
    earlier: Earlier,
    opts: &WriteOptions,
    on_written: &dyn Fn(u64),
) -> SeedReport
where
    I: Iterator<Item = SeedConversation>,
{
    let stop = AtomicBool::new(false);
    let at_once = opts.concurrency.max(1);
    let conversations_at_once = usize::try_from(count)
        .unwrap_or(usize::MAX)
        .clamp(1, at_once);
    let per_conversation = WriteOptions {
        concurrency: at_once.div_ceil(conversations_at_once),
        ..*opts
    };
    let mut report = SeedReport::default();
    let mut done = futures::stream::iter(conversations)
        .map(|c| {
            let (stop, opts) = (&stop, &per_conversation);
            async move {
                if stop.load(Ordering::Relaxed) || db.cancelled() {
                    return None;
                }
                let one = conversation(db, &c, earlier, opts, on_written).await;
                if one.error.is_some() {
                    stop.store(true, Ordering::Relaxed);
                }
                Some(one)
            }
        })
        .buffer_unordered(conversations_at_once);
    while let Some(one) = done.next().await {
        let Some(one) = one else { continue };
        report.started += 1;
        report.messages.written += one.messages.written;
        report.messages.retries += one.messages.retries;
        report.messages.not_written += one.messages.not_written;
        report.removed_seed += one.removed_seed;
        report.removed_reset += one.removed_reset;
        report.removal_retries += one.removal_retries;
        report.kept_others += one.kept_others;
        let rows = one.rows;
        report.rows.conversations += rows.conversations;
        report.rows.rows_put += rows.rows_put;
        report.rows.rows_deleted += rows.rows_deleted;
        report.rows.retries += rows.retries;
        report.rows.failed_count += rows.failed_count;
        report.rows.failed.extend(rows.failed);
        report.rows.failed.truncate(3);
        if report.error.is_none() && one.error.is_some() {
            report.error = one.error;
            report.exhausted = one.exhausted;
        }
    }
    report.cancelled = db.cancelled();
    report.rows.cancelled = report.cancelled;
    report
}

/// One conversation: removals before (`Everything`), its messages, removals after
/// (`SeedOnly`), its rows. Stops at the first error (its rows are then not settled).
async fn conversation(
    db: &Db,
    c: &SeedConversation,
    earlier: Earlier,
    opts: &WriteOptions,
    on_written: &dyn Fn(u64),
) -> One {
    let mut one = One::default();
    // A conversation with nothing in it yet (the usual first seed) gets its rows at its newest
    // message without reading its messages back; after --reset the index may still show what
    // was just deleted, so those settle the full way.
    let fresh = if earlier == Earlier::Everything {
        false
    } else {
        let mut tally = Tally::default();
        let empty = fresh::is_empty(&Settler::new(db), &c.group, &mut tally).await;
        one.rows.retries += u64::from(tally.retries);
        match empty {
            Ok(empty) => empty,
            Err(e) => return one.failed(anyhow::Error::new(e), false),
        }
    };
    if earlier == Earlier::Everything {
        let keys = match seeded::everything(db, &c.group).await {
            Ok(keys) => keys,
            Err(e) => return one.failed(anyhow::Error::new(e), false),
        };
        match remove(db, keys, opts).await {
            Ok((n, retries)) => (one.removed_reset, one.removal_retries) = (n, retries),
            Err((e, exhausted)) => return one.failed(e, exhausted),
        }
    }
    let puts = c.messages.iter().cloned().map(write::put);
    let wrote = write::write_all(db, puts, opts, on_written).await;
    one.messages = wrote.report;
    if let Some(e) = wrote.error {
        return one.failed(e, wrote.exhausted);
    }
    if wrote.cancelled {
        return one;
    }
    // A conversation that was empty holds nothing an earlier seed left.
    if earlier == Earlier::SeedOnly && !fresh {
        let stored = match seeded::messages(db, &c.group).await {
            Ok(stored) => stored,
            Err(e) => return one.failed(anyhow::Error::new(e), false),
        };
        let writes: HashSet<String> = c
            .messages
            .iter()
            .filter_map(|m| get_s(m, "sk").map(str::to_string))
            .collect();
        let (stale, others) = left_by_an_earlier_seed(&stored, &writes);
        one.kept_others = others;
        match remove(db, stale, opts).await {
            Ok((n, retries)) => (one.removed_seed, one.removal_retries) = (n, retries),
            Err((e, exhausted)) => return one.failed(e, exhausted),
        }
    }
    let fresh = fresh.then_some(c.messages.as_slice());
    let (settled, tally) = seeded::settle_one(db, &c.group, &c.template, fresh).await;
    one.rows.add(&c.group, settled, tally);
    on_written(c.template.len() as u64);
    one
}

impl One {
    fn failed(mut self, e: anyhow::Error, exhausted: bool) -> One {
        self.error = Some(e);
        self.exhausted = exhausted;
        self
    }
}

/// Delete `keys`; how many, and the retries. Err with whether attempts ran out.
async fn remove(
    db: &Db,
    keys: Vec<Item>,
    opts: &WriteOptions,
) -> Result<(u64, u64), (anyhow::Error, bool)> {
    if keys.is_empty() {
        return Ok((0, 0));
    }
    let deleted = write::write_all(db, keys.into_iter().map(write::delete), opts, &|_| {}).await;
    match deleted.error {
        Some(e) => Err((
            e.context("removing what an earlier seed left"),
            deleted.exhausted,
        )),
        None => Ok((deleted.report.written, deleted.report.retries)),
    }
}
