//! Reading the table's stream with aws-sdk-dynamodbstreams, as the Lambda event source mapping
//! does: every shard, parents before children, batch by batch, with an optional checkpoint
//! (last processed sequence number per shard) so a restart continues where it stopped. Each
//! shard's state moves by `shard::Shard::next` and a listing joins the known shards by
//! `listing::merge` (both pure); this file makes the calls, every one within the run's
//! `db.backoff`, its retries counted on the run (`-v`) and in the read statistics.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_dynamodb::types::{StreamViewType, TableDescription};
use aws_sdk_dynamodbstreams::operation::get_records::GetRecordsError;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::Serialize;

use crate::aws::classify::{api_error, Subject};
use crate::aws::db::Db;
use crate::aws::retry::{streams_retries_off, Stop};
use crate::errors::Failure;
pub use crate::stream::checkpoint::{Checkpoint, Progress};
use crate::stream::listing::{self, Listed, Origins};
use crate::stream::record::StreamRecord;
use crate::stream::sdk_record;
use crate::stream::shard::{Event, Halt, Note, Position, Rules, Shard, ShardState, MAX_RENEWALS};
use crate::term::output;

/// DescribeStream pages we are prepared to read (100 shards each).
const MAX_SHARD_PAGES: usize = 100;
/// How often `--follow` looks for new shards (shards roll over, and a closed one has children).
const SHARD_REFRESH: Duration = Duration::from_secs(10);

/// The stream of the table `t` describes (the description the model check already read),
/// checked to carry new images.
pub fn stream_of(db: &Db, t: &TableDescription) -> Result<String> {
    let table = &db.table;
    let spec = t.stream_specification();
    let arn = t.latest_stream_arn();
    let (Some(arn), Some(true)) = (arn, spec.map(|s| s.stream_enabled())) else {
        return Err(Failure::NotFound(format!(
            "table '{table}' has no stream enabled at {}: the handler reads a NEW_IMAGE stream (the built-in schema has one)",
            db.target.endpoint_label()
        ))
        .into());
    };
    match spec.and_then(|s| s.stream_view_type()) {
        Some(StreamViewType::NewImage | StreamViewType::NewAndOldImages) | None => {}
        Some(other) => {
            return Err(Failure::Mismatch(format!(
                "the stream of table '{table}' is {}: the handler needs NEW_IMAGE (or NEW_AND_OLD_IMAGES)",
                other.as_str()
            ))
            .into())
        }
    }
    Ok(arn.to_string())
}

/// Where reading starts in a shard that has no checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StartAt {
    TrimHorizon,
    Latest,
}

/// GetRecords returns at most this many records per call.
pub const PAGE_LIMIT: usize = 1000;
/// Pause between empty pages of one shard on a remote endpoint: DynamoDB Streams allows about
/// five GetRecords calls per second per shard. DynamoDB Local has no such limit.
const EMPTY_PAGE_PAUSE: Duration = Duration::from_millis(200);

/// How the reader reads, checked once from the command line.
#[derive(Clone, Copy, Debug)]
pub struct ReadOptions {
    /// Where a shard without a checkpoint starts (on the first listing).
    pub initial: StartAt,
    /// Poll caught-up shards until Ctrl-C instead of ending.
    pub follow: bool,
    /// Records per handler batch at most, gathered from up to several GetRecords pages of
    /// one shard while it has a backlog.
    pub max_batch: usize,
    pub rules: Rules,
}

/// What reading cost, for the summary.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReadStats {
    pub get_records_calls: u64,
    pub empty_pages: u64,
    pub iterators_renewed: u64,
    pub trimmed_restarts: u64,
    /// Stream calls repeated after throttling, 5xx or a dropped connection.
    pub read_retries: u64,
    /// Handler batches read, and the records of the largest.
    pub batches: u64,
    pub largest_batch: u64,
}

/// Records of one shard for one handler batch, in stream order.
#[derive(Debug)]
pub struct Batch {
    pub shard_id: String,
    pub records: Vec<StreamRecord>,
}

#[derive(Debug)]
pub enum Next {
    Batch(Batch),
    /// Every shard is caught up (only with `follow`): wait and ask again.
    Idle,
    /// Every shard is at its tip or closed and read to its end.
    End,
}

pub struct Reader<'a> {
    db: &'a Db,
    pub stream_arn: String,
    pub progress: Progress,
    opts: ReadOptions,
    shards: Vec<Shard>,
    /// Round robin over shards, so one busy shard does not starve the others.
    turn: usize,
    refreshed: Option<Instant>,
    need_refresh: bool,
    pub stats: ReadStats,
}

impl<'a> Reader<'a> {
    pub fn new(
        db: &'a Db,
        stream_arn: String,
        checkpoint: Checkpoint,
        opts: ReadOptions,
    ) -> Reader<'a> {
        Reader {
            db,
            stream_arn,
            progress: Progress::new(checkpoint),
            opts,
            shards: Vec::new(),
            turn: 0,
            refreshed: None,
            need_refresh: true,
            stats: ReadStats::default(),
        }
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// After handling `batch`, `done[i]` tells whether its record i is done: the checkpoint
    /// moves by the one rule (`Progress::settle`); true when it moved.
    pub fn settle(&mut self, batch: &Batch, done: &[bool]) -> bool {
        let seqs: Vec<&str> = batch
            .records
            .iter()
            .map(|r| r.sequence_number.as_str())
            .collect();
        self.progress.settle(&batch.shard_id, &seqs, done)
    }

    /// The next batch of records of one shard, in shard lineage order.
    pub async fn next(&mut self) -> Result<Next> {
        loop {
            let due = self.refreshed.is_none()
                || self.need_refresh
                || (self.opts.follow
                    && self.refreshed.is_some_and(|t| t.elapsed() > SHARD_REFRESH));
            if due {
                self.refresh_shards().await?;
            }
            if let Some(i) = self.pick() {
                let batch = self.gather(i).await?;
                if !batch.records.is_empty() {
                    self.stats.batches += 1;
                    self.stats.largest_batch =
                        self.stats.largest_batch.max(batch.records.len() as u64);
                    return Ok(Next::Batch(batch));
                }
                if self.db.cancelled() {
                    return Ok(Next::End);
                }
                continue;
            }
            if !self.opts.follow {
                return Ok(Next::End);
            }
            let rules = self.opts.rules;
            for shard in &mut self.shards {
                shard.wake(&rules);
            }
            return Ok(Next::Idle);
        }
    }

    /// A shard with something to read whose parent is read to its end (or gone).
    fn pick(&mut self) -> Option<usize> {
        let n = self.shards.len();
        let i = (0..n)
            .map(|k| (self.turn + k) % n)
            .find(|&i| self.shards[i].readable() && self.parent_done(i))?;
        self.turn = i + 1;
        Some(i)
    }

    fn parent_done(&self, i: usize) -> bool {
        match &self.shards[i].parent {
            None => true,
            Some(p) => self
                .shards
                .iter()
                .find(|s| &s.id == p)
                .is_none_or(|s| s.state == ShardState::Ended),
        }
    }

    /// Read shard `i` into one batch: pages while it has a backlog, up to `max_batch` records;
    /// an empty page ends the batch once it holds records. Empty pages before any record are
    /// read on until the shard is at its tip (see `stream_shard`).
    async fn gather(&mut self, i: usize) -> Result<Batch> {
        let mut records: Vec<StreamRecord> = Vec::new();
        while !self.db.cancelled() && records.len() < self.opts.max_batch {
            let event = match self.shards[i].state.clone() {
                ShardState::Start(at) => self.get_iterator(i, at).await?,
                ShardState::Reading { iterator } => {
                    if self.shards[i].empty > 0 && !self.db.target.local {
                        tokio::select! {
                            _ = tokio::time::sleep(EMPTY_PAGE_PAUSE) => {}
                            _ = self.db.cancel.cancelled() => break,
                        }
                    }
                    let limit = (self.opts.max_batch - records.len()).min(PAGE_LIMIT);
                    let (event, page) = self.get_records(i, iterator, limit).await?;
                    records.extend(page);
                    event
                }
                ShardState::AtTip { .. } | ShardState::Ended => break,
            };
            let empty_page = matches!(event, Event::Page { records: 0, .. });
            self.stats.empty_pages += u64::from(empty_page);
            match self.shards[i].next(event, &self.opts.rules) {
                Ok(Note::None) => {}
                Ok(Note::Renewed) => self.stats.iterators_renewed += 1,
                Ok(Note::RestartedTrimmed { lost_after }) => {
                    self.stats.trimmed_restarts += 1;
                    output::note(format!(
                        "ddb: warning: shard {}: TrimmedDataAccessException: records after {} are past the stream's retention and lost; restarted from TRIM_HORIZON (--restart-trimmed)",
                        self.shards[i].id,
                        lost_after.as_deref().unwrap_or("the start position"),
                    ));
                }
                Err(halt) => return Err(self.halt_error(i, halt)),
            }
            if self.shards[i].state == ShardState::Ended {
                self.need_refresh = true; // its children may be listed now
            }
            if empty_page && !records.is_empty() {
                break;
            }
        }
        Ok(Batch {
            shard_id: self.shards[i].id.clone(),
            records,
        })
    }

    /// Stream calls repeated: in the read statistics and on the run's total.
    fn count_retries(&mut self, retries: u32) {
        self.stats.read_retries += u64::from(retries);
        self.db.count_retries(retries);
    }

    fn halt_error(&self, i: usize, halt: Halt) -> anyhow::Error {
        let shard = &self.shards[i].id;
        match halt {
            Halt::Trimmed { after } => Failure::Mismatch(format!(
                "TrimmedDataAccessException on stream of table '{}', shard {shard}: the records after {} are past the stream's 24-hour retention and gone; pass --restart-trimmed to go on from the oldest record still there (TRIM_HORIZON), or --reset-checkpoint to start over",
                self.db.table,
                after.as_deref().map_or("the start position".to_string(), |s| format!("sequence number {s}")),
            ))
            .into(),
            Halt::NoProgress => anyhow::anyhow!(
                "shard {shard}: the iterator expired or was trimmed {MAX_RENEWALS} times in a row without a page read"
            ),
        }
    }

    /// An SDK error on a stream call, or `Interrupted` when Ctrl-C ended a retry pause.
    fn stop_error<E>(
        &self,
        op: &str,
        i: usize,
        stop: Stop<SdkError<E, HttpResponse>>,
    ) -> anyhow::Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if stop.is_cancelled() {
            return Failure::Interrupted(format!("interrupted while retrying {op}")).into();
        }
        api_error(
            &self.db.target,
            op,
            Subject::Stream(&self.db.table),
            stop.into_error(),
        )
        .context(format!("shard {}", self.shards[i].id))
    }

    async fn get_iterator(&mut self, i: usize, at: Position) -> Result<Event> {
        let streams = &self.db.streams;
        let (arn, shard) = (&self.stream_arn, &self.shards[i].id);
        let mut retries = 0;
        let sent = self
            .db
            .backoff
            .call(&self.db.cancel, &mut retries, || {
                let req = streams.get_shard_iterator().stream_arn(arn).shard_id(shard);
                let req = match &at {
                    Position::TrimHorizon => {
                        req.shard_iterator_type(ShardIteratorType::TrimHorizon)
                    }
                    Position::Latest => req.shard_iterator_type(ShardIteratorType::Latest),
                    Position::After(seq) => req
                        .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                        .sequence_number(seq),
                };
                req.customize()
                    .config_override(streams_retries_off())
                    .send()
            })
            .await;
        self.count_retries(retries);
        match sent {
            Ok(out) => Ok(Event::Iterator(out.shard_iterator().map(str::to_string))),
            Err(Stop::Fatal(e))
                if e.as_service_error()
                    .is_some_and(|s| s.is_trimmed_data_access_exception()) =>
            {
                Ok(Event::Trimmed)
            }
            Err(stop) => Err(self.stop_error("GetShardIterator", i, stop)),
        }
    }

    /// One GetRecords call (retried on throttling and the like), as an event and its records.
    async fn get_records(
        &mut self,
        i: usize,
        iterator: String,
        limit: usize,
    ) -> Result<(Event, Vec<StreamRecord>)> {
        let streams = &self.db.streams;
        let mut retries = 0;
        let mut calls = 0;
        let sent = self
            .db
            .backoff
            .call(&self.db.cancel, &mut retries, || {
                calls += 1;
                streams
                    .get_records()
                    .shard_iterator(&iterator)
                    .limit(limit as i32)
                    .customize()
                    .config_override(streams_retries_off())
                    .send()
            })
            .await;
        self.count_retries(retries);
        self.stats.get_records_calls += calls;
        match sent {
            Ok(out) => {
                let records = out
                    .records()
                    .iter()
                    .map(sdk_record::from_sdk)
                    .collect::<Result<Vec<_>>>()
                    .with_context(|| format!("shard {}", self.shards[i].id))?;
                let event = Event::Page {
                    records: records.len(),
                    last: records.last().map(|r| r.sequence_number.clone()),
                    next: out.next_shard_iterator().map(str::to_string),
                };
                Ok((event, records))
            }
            Err(Stop::Fatal(e)) => match e.as_service_error() {
                Some(GetRecordsError::ExpiredIteratorException(_)) => Ok((Event::Expired, vec![])),
                Some(GetRecordsError::TrimmedDataAccessException(_)) => {
                    Ok((Event::Trimmed, vec![]))
                }
                _ => Err(self.stop_error("GetRecords", i, Stop::Fatal(e))),
            },
            Err(stop) => Err(self.stop_error("GetRecords", i, stop)),
        }
    }

    /// DescribeStream, every page, merged into the shards being read (`listing::merge`).
    async fn refresh_shards(&mut self) -> Result<()> {
        let first = self.refreshed.is_none();
        let mut listed = Vec::new();
        let mut start: Option<String> = None;
        for page in 0.. {
            if page >= MAX_SHARD_PAGES {
                anyhow::bail!(
                    "stream {} has more than {} pages of shards",
                    self.stream_arn,
                    MAX_SHARD_PAGES
                );
            }
            let streams = &self.db.streams;
            let arn = &self.stream_arn;
            let mut retries = 0;
            let sent = self
                .db
                .backoff
                .call(&self.db.cancel, &mut retries, || {
                    streams
                        .describe_stream()
                        .stream_arn(arn)
                        .set_exclusive_start_shard_id(start.clone())
                        .customize()
                        .config_override(streams_retries_off())
                        .send()
                })
                .await;
            self.count_retries(retries);
            let out = sent.map_err(|stop| {
                if stop.is_cancelled() {
                    return Failure::Interrupted(
                        "interrupted while retrying DescribeStream".into(),
                    )
                    .into();
                }
                api_error(
                    &self.db.target,
                    "DescribeStream",
                    Subject::Stream(&self.db.table),
                    stop.into_error(),
                )
            })?;
            let desc = out
                .stream_description()
                .context("DescribeStream returned no description")?;
            listed.extend(desc.shards().iter().filter_map(|l| {
                Some(Listed {
                    id: l.shard_id()?.to_string(),
                    parent: l.parent_shard_id().map(str::to_string),
                    closed: l
                        .sequence_number_range()
                        .is_some_and(|r| r.ending_sequence_number().is_some()),
                })
            }));
            start = desc.last_evaluated_shard_id().map(str::to_string);
            if start.is_none() {
                break;
            }
        }
        let initial = match self.opts.initial {
            StartAt::TrimHorizon => Position::TrimHorizon,
            StartAt::Latest => Position::Latest,
        };
        let origins = Origins {
            checkpoint: &self.progress.checkpoint.shards,
            first,
            initial: &initial,
        };
        let known = std::mem::take(&mut self.shards);
        self.shards = listing::merge(known, &listed, origins, &self.opts.rules);
        self.turn = 0;
        self.refreshed = Some(Instant::now());
        self.need_refresh = false;
        Ok(())
    }
}
