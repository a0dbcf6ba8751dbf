//! The batch writer: BatchWriteItem in requests of 25, a bounded number in flight, every retry
//! counted (in the report, and on the run for `-v`). UnprocessedItems, throttling, 5xx and
//! dropped connections are retried with capped exponential backoff and jitter; the SDK's own
//! retries are off for these calls so that no retry goes uncounted. When a batch runs out of attempts (or fails for good) the writer
//! stops taking new batches and reports exactly how many items were not written.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::anyhow;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use futures::StreamExt;

use crate::aws::db::Db;
use crate::aws::retry::{is_retryable, sdk_retries_off, Backoff, Stop};
use crate::model::item::Item;

/// Measured on the 2-core dev box (shared, load ~6-10), 20,000 synthetic messages into a fresh,
/// warmed-up in-memory DynamoDB Local, items/s: 2 -> 2061/3397, 4 -> 3690/2988,
/// 8 -> 2784/3637/4217/2801/3852, 16 -> 3199/3547/4953/4467/4465, 32 -> 3039/3564. 16 was the
/// best on average; beyond it nothing gained.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// DynamoDB's limit of write requests per BatchWriteItem call.
pub const BATCH_SIZE: usize = 25;

#[derive(Clone, Copy, Debug)]
pub struct WriteOptions {
    /// BatchWriteItem calls in flight at once.
    pub concurrency: usize,
    /// Attempts and delays per batch.
    pub backoff: Backoff,
}

/// What a write run did. `written + not_written` is the number of requests it was given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    pub written: u64,
    /// Extra attempts: a re-sent batch (whole, or its UnprocessedItems) counts once.
    pub retries: u64,
    /// Requests not confirmed written: failed after the retry budget, or never sent because
    /// the run stopped.
    pub not_written: u64,
}

/// The report, and the first error that stopped the run (None when everything was written).
#[derive(Debug)]
pub struct WriteOutcome {
    pub report: WriteReport,
    pub error: Option<anyhow::Error>,
    /// The error is a batch running out of attempts on retryable failures (as opposed to a
    /// failure no retry would fix).
    pub exhausted: bool,
    /// The run was cancelled (Ctrl-C): the batches in flight finished their current attempt,
    /// no new ones were sent, and `report.not_written` counts the rest.
    pub cancelled: bool,
}

pub fn put(item: Item) -> WriteRequest {
    WriteRequest::builder()
        .put_request(
            PutRequest::builder()
                .set_item(Some(item))
                .build()
                .expect("item is set"),
        )
        .build()
}

pub fn delete(key: Item) -> WriteRequest {
    WriteRequest::builder()
        .delete_request(
            DeleteRequest::builder()
                .set_key(Some(key))
                .build()
                .expect("key is set"),
        )
        .build()
}

/// Write every request, `BATCH_SIZE` per call, `opts.concurrency` calls in flight. Requests are
/// pulled from the iterator only as batches are sent, so memory stays flat however many there
/// are. `on_written(n)` is called as items are confirmed (for a progress bar). Cancelling the
/// handle's token (Ctrl-C) stops new batches and ends retry pauses; a request in flight
/// finishes its current attempt, so the count stays exact.
pub async fn write_all<I>(
    db: &Db,
    requests: I,
    opts: &WriteOptions,
    on_written: &dyn Fn(u64),
) -> WriteOutcome
where
    I: Iterator<Item = WriteRequest>,
{
    let mut requests = requests;
    let stop = AtomicBool::new(false);
    let mut report = WriteReport::default();
    let mut error: Option<anyhow::Error> = None;
    let mut exhausted = false;
    {
        let batches = std::iter::from_fn(|| {
            if stop.load(Ordering::Relaxed) || db.cancelled() {
                return None;
            }
            let batch: Vec<WriteRequest> = requests.by_ref().take(BATCH_SIZE).collect();
            (!batch.is_empty()).then_some(batch)
        });
        let batch = |b| {
            let halt = || stop.load(Ordering::Relaxed);
            write_batch(db, b, &opts.backoff, halt, on_written)
        };
        let mut results = futures::stream::iter(batches)
            .map(batch)
            .buffer_unordered(opts.concurrency.max(1));
        while let Some(r) = results.next().await {
            db.count_retries(u32::try_from(r.retries).unwrap_or(u32::MAX));
            report.written += r.written;
            report.retries += r.retries;
            report.not_written += r.not_written;
            if let Some(e) = r.error {
                stop.store(true, Ordering::Relaxed);
                if error.is_none() {
                    error = Some(e);
                    exhausted = r.exhausted;
                }
            }
        }
    }
    // Whatever the iterator still holds was never sent.
    report.not_written += requests.count() as u64;
    WriteOutcome {
        report,
        error,
        exhausted,
        cancelled: db.cancelled(),
    }
}

struct BatchResult {
    written: u64,
    retries: u64,
    not_written: u64,
    error: Option<anyhow::Error>,
    exhausted: bool,
}

async fn write_batch(
    db: &Db,
    mut batch: Vec<WriteRequest>,
    backoff: &Backoff,
    halt: impl Fn() -> bool,
    on_written: &dyn Fn(u64),
) -> BatchResult {
    let table = db.table.as_str();
    let mut written = 0u64;
    let mut tries = backoff.tries(&db.cancel);
    loop {
        let sent = batch.len();
        let result = db
            .dynamodb
            .batch_write_item()
            .request_items(table, batch.clone())
            .customize()
            .config_override(sdk_retries_off())
            .send()
            .await;
        let failure = match result {
            Ok(out) => {
                let left = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(table))
                    .unwrap_or_default();
                let done = sent.saturating_sub(left.len()) as u64;
                written += done;
                on_written(done);
                if left.is_empty() {
                    return BatchResult {
                        written,
                        retries: tries.retries.into(),
                        not_written: 0,
                        error: None,
                        exhausted: false,
                    };
                }
                batch = left;
                anyhow!(
                    "{} items still unprocessed after {} BatchWriteItem attempts (throttled; \
                     try a lower --concurrency or more capacity)",
                    batch.len(),
                    tries.attempts()
                )
            }
            Err(e) if is_retryable(&e) => {
                let attempts = tries.attempts();
                let e = db.table_error("BatchWriteItem", e);
                e.context(format!("BatchWriteItem failed after {attempts} attempts"))
            }
            Err(e) => {
                // Not worth retrying (a validation error, a missing table): stop now.
                let e = db.table_error("BatchWriteItem", e);
                return give_up(written, tries.retries, batch.len(), e, false);
            }
        };
        if halt() {
            return give_up(written, tries.retries, batch.len(), failure, true);
        }
        if let Err(stop) = tries.pause(failure).await {
            let exhausted = matches!(stop, Stop::Exhausted { .. });
            return give_up(
                written,
                tries.retries,
                batch.len(),
                stop.into_error(),
                exhausted,
            );
        }
    }
}

fn give_up(
    written: u64,
    retries: u32,
    left: usize,
    error: anyhow::Error,
    exhausted: bool,
) -> BatchResult {
    BatchResult {
        written,
        retries: retries.into(),
        not_written: left as u64,
        error: Some(error),
        exhausted,
    }
}
