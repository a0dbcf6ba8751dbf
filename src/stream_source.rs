//! Reading the table's stream with aws-sdk-dynamodbstreams, as the Lambda event source mapping
//! does: every shard, parents before children, batch by batch, with an optional checkpoint
//! (last processed sequence number per shard) so a restart continues where it stopped.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_dynamodb::types::StreamViewType;
use aws_sdk_dynamodbstreams::operation::get_records::GetRecordsError;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use serde::{Deserialize, Serialize};

use crate::db::Db;
use crate::errors::{api_error, Failure, Subject};
use crate::stream_record::{self, StreamRecord};

/// DescribeStream pages we are prepared to read (100 shards each).
const MAX_SHARD_PAGES: usize = 100;
/// Empty pages in a row we accept from a closed shard before treating it as drained (a closed
/// shard ends with a null NextShardIterator; this only bounds a misbehaving endpoint).
const MAX_EMPTY_PAGES_CLOSED: u32 = 1000;
/// How often `--follow` looks for new shards (shards roll over, and a closed one has children).
const SHARD_REFRESH: Duration = Duration::from_secs(10);

/// The table's stream, checked to carry new images.
pub async fn find_stream(db: &Db) -> Result<String> {
    let table = &db.table;
    let desc = db
        .dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| db.table_error("DescribeTable", e))?;
    let t = desc.table().context("DescribeTable returned no table")?;
    let spec = t.stream_specification();
    let arn = t.latest_stream_arn();
    let (Some(arn), Some(true)) = (arn, spec.map(|s| s.stream_enabled())) else {
        return Err(Failure::NotFound(format!(
            "table '{table}' has no stream enabled at {}: the handler reads a NEW_IMAGE stream (fixtures/schema.json has one)",
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

/// The last processed sequence number per shard of one stream.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub stream_arn: String,
    pub shards: BTreeMap<String, String>,
}

impl Checkpoint {
    /// None when the file does not exist yet.
    pub fn load(path: &Path) -> Result<Option<Checkpoint>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| format!("reading checkpoint {}", path.display()))
            }
        };
        let checkpoint = crate::jsonfile::parse(path, &text)
            .map_err(|e| Failure::InvalidInput(format!("{e} (not a ddb checkpoint)")))?;
        Ok(Some(checkpoint))
    }

    /// Write to a temporary file next to it and rename: a crash leaves the old or the new
    /// checkpoint, never half of one.
    pub fn save(&self, path: &Path) -> Result<()> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "checkpoint".into());
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let text = serde_json::to_string_pretty(self)?;
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().with_context(|| format!("writing checkpoint {}", path.display()))
    }
}

/// One shard as the reader tracks it.
#[derive(Debug)]
struct Cursor {
    id: String,
    parent: Option<String>,
    /// The shard has an ending sequence number: it ends, and its children follow it.
    closed: bool,
    start: ShardIteratorType,
    iterator: Option<String>,
    finished: bool,
}

/// A page of records from one shard.
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
    /// Every shard is caught up or closed and drained.
    End,
}

pub struct Reader<'a> {
    db: &'a Db,
    pub stream_arn: String,
    pub checkpoint: Checkpoint,
    initial: StartAt,
    follow: bool,
    batch_size: i32,
    shards: Vec<Cursor>,
    queue: VecDeque<usize>,
    in_pass: bool,
    refreshed: Option<Instant>,
    need_refresh: bool,
    pass_had_records: bool,
    pub get_records_calls: u64,
}

impl<'a> Reader<'a> {
    pub fn new(
        db: &'a Db,
        stream_arn: String,
        checkpoint: Checkpoint,
        initial: StartAt,
        follow: bool,
        batch_size: i32,
    ) -> Reader<'a> {
        Reader {
            db,
            stream_arn,
            checkpoint,
            initial,
            follow,
            batch_size,
            shards: Vec::new(),
            queue: VecDeque::new(),
            in_pass: false,
            refreshed: None,
            need_refresh: true,
            pass_had_records: false,
            get_records_calls: 0,
        }
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Record that everything up to `sequence_number` in `shard_id` is processed.
    pub fn commit(&mut self, shard_id: &str, sequence_number: &str) {
        self.checkpoint
            .shards
            .insert(shard_id.to_string(), sequence_number.to_string());
    }

    /// The next non-empty page, in shard lineage order.
    pub async fn next(&mut self) -> Result<Next> {
        loop {
            if !self.in_pass {
                self.begin_pass().await?;
            }
            let Some(&i) = self.queue.front() else {
                self.in_pass = false;
                if !self.follow {
                    return Ok(Next::End);
                }
                if std::mem::take(&mut self.pass_had_records) {
                    continue; // more may have arrived meanwhile: poll again at once
                }
                return Ok(Next::Idle);
            };
            let mut empty_pages = 0;
            loop {
                let (records, next) = self.read_page(i).await?;
                let cursor = &mut self.shards[i];
                cursor.iterator = next;
                if cursor.iterator.is_none() {
                    cursor.finished = true;
                    let id = cursor.id.clone();
                    self.need_refresh = true;
                    self.queue.pop_front();
                    self.enqueue_children(&id);
                } else if records.is_empty() {
                    empty_pages += 1;
                    if cursor.closed && empty_pages < MAX_EMPTY_PAGES_CLOSED {
                        continue; // a closed shard is read to its end
                    }
                    self.queue.pop_front(); // an open shard is caught up
                }
                if !records.is_empty() {
                    if self.shards[i].iterator.is_some() && self.queue.len() > 1 {
                        // Round robin, so one busy shard does not starve the others.
                        self.queue.rotate_left(1);
                    }
                    self.pass_had_records = true;
                    return Ok(Next::Batch(Batch {
                        shard_id: self.shards[i].id.clone(),
                        records,
                    }));
                }
                break;
            }
        }
    }

    /// List shards if due, then queue those whose parent is done (or gone).
    async fn begin_pass(&mut self) -> Result<()> {
        let due = self.refreshed.is_none()
            || (self.follow
                && (self.need_refresh
                    || self.refreshed.is_some_and(|t| t.elapsed() > SHARD_REFRESH)));
        if due {
            self.refresh_shards().await?;
        }
        self.queue = (0..self.shards.len())
            .filter(|&i| !self.shards[i].finished && self.parent_done(i))
            .collect();
        self.in_pass = true;
        Ok(())
    }

    fn parent_done(&self, i: usize) -> bool {
        match &self.shards[i].parent {
            None => true,
            Some(p) => self
                .shards
                .iter()
                .find(|s| &s.id == p)
                .is_none_or(|s| s.finished),
        }
    }

    fn enqueue_children(&mut self, parent: &str) {
        for i in 0..self.shards.len() {
            if self.shards[i].parent.as_deref() == Some(parent)
                && !self.shards[i].finished
                && !self.queue.contains(&i)
            {
                self.queue.push_back(i);
            }
        }
    }

    /// DescribeStream, every page; new shards join with their start position, parents ordered
    /// before their children.
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
            let out = self
                .db
                .streams
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(start.clone())
                .send()
                .await
                .map_err(|e| {
                    api_error(
                        &self.db.target,
                        "DescribeStream",
                        Subject::Stream(&self.db.table),
                        e,
                    )
                })?;
            let desc = out
                .stream_description()
                .context("DescribeStream returned no description")?;
            listed.extend(desc.shards().iter().cloned());
            start = desc.last_evaluated_shard_id().map(str::to_string);
            if start.is_none() {
                break;
            }
        }
        let known: HashMap<String, usize> = self
            .shards
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        let mut next: Vec<Cursor> = Vec::with_capacity(listed.len());
        let old = std::mem::take(&mut self.shards);
        let mut old: Vec<Option<Cursor>> = old.into_iter().map(Some).collect();
        for shard in &listed {
            let Some(id) = shard.shard_id() else { continue };
            let closed = shard
                .sequence_number_range()
                .is_some_and(|r| r.ending_sequence_number().is_some());
            if let Some(mut cursor) = known.get(id).and_then(|&i| old[i].take()) {
                cursor.closed = closed;
                next.push(cursor);
                continue;
            }
            let start = if self.checkpoint.shards.contains_key(id) {
                ShardIteratorType::AfterSequenceNumber
            } else if !first || !self.checkpoint.shards.is_empty() {
                // Appeared after we started, or after the checkpoint was written: all new.
                ShardIteratorType::TrimHorizon
            } else {
                match self.initial {
                    StartAt::TrimHorizon => ShardIteratorType::TrimHorizon,
                    StartAt::Latest => ShardIteratorType::Latest,
                }
            };
            next.push(Cursor {
                id: id.to_string(),
                parent: shard.parent_shard_id().map(str::to_string),
                closed,
                start,
                iterator: None,
                finished: false,
            });
        }
        self.shards = lineage_order(next);
        self.refreshed = Some(Instant::now());
        self.need_refresh = false;
        self.in_pass = false;
        Ok(())
    }

    async fn iterator(&self, i: usize) -> Result<Option<String>> {
        let cursor = &self.shards[i];
        let mut req = self
            .db
            .streams
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(&cursor.id);
        req = match self.checkpoint.shards.get(&cursor.id) {
            Some(seq) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(seq),
            None => req.shard_iterator_type(cursor.start.clone()),
        };
        let out = req.send().await.map_err(|e| {
            let trimmed = e.as_service_error().is_some_and(|s| s.is_trimmed_data_access_exception());
            let err = api_error(&self.db.target, "GetShardIterator", Subject::Stream(&self.db.table), e);
            if trimmed {
                err.context(format!(
                    "shard {}: the checkpoint is older than the stream's retention; records in between are gone (start over with --reset-checkpoint)",
                    cursor.id
                ))
            } else {
                err.context(format!("shard {}", cursor.id))
            }
        })?;
        Ok(out.shard_iterator().map(str::to_string))
    }

    /// One GetRecords call (getting an iterator first if needed, and again if it expired).
    async fn read_page(&mut self, i: usize) -> Result<(Vec<StreamRecord>, Option<String>)> {
        let mut renewed = false;
        loop {
            let iterator = match self.shards[i].iterator.clone() {
                Some(it) => it,
                None => match self.iterator(i).await? {
                    Some(it) => it,
                    None => return Ok((Vec::new(), None)),
                },
            };
            self.get_records_calls += 1;
            let sent = self
                .db
                .streams
                .get_records()
                .shard_iterator(iterator)
                .limit(self.batch_size)
                .send()
                .await;
            match sent {
                Ok(out) => {
                    let records = out
                        .records()
                        .iter()
                        .map(stream_record::from_sdk)
                        .collect::<Result<Vec<_>>>()
                        .with_context(|| format!("shard {}", self.shards[i].id))?;
                    return Ok((records, out.next_shard_iterator().map(str::to_string)));
                }
                Err(e)
                    if !renewed
                        && matches!(
                            e.as_service_error(),
                            Some(GetRecordsError::ExpiredIteratorException(_))
                        ) =>
                {
                    // Iterators last 15 minutes; continue from the checkpoint.
                    renewed = true;
                    self.shards[i].iterator = None;
                }
                Err(e) => {
                    return Err(api_error(
                        &self.db.target,
                        "GetRecords",
                        Subject::Stream(&self.db.table),
                        e,
                    ))
                    .with_context(|| format!("shard {}", self.shards[i].id))
                }
            }
        }
    }
}

/// Parents before children (a shard's records all precede its children's), otherwise in the
/// order DescribeStream gave.
fn lineage_order(shards: Vec<Cursor>) -> Vec<Cursor> {
    let index: HashMap<String, usize> = shards
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();
    let depth = |mut i: usize| {
        let mut d = 0;
        while let Some(p) = shards[i].parent.as_ref().and_then(|p| index.get(p)) {
            d += 1;
            i = *p;
            if d > shards.len() {
                break; // a cycle would be a broken listing; do not loop forever
            }
        }
        d
    };
    let mut keyed: Vec<(usize, usize)> = (0..shards.len()).map(|i| (depth(i), i)).collect();
    keyed.sort();
    let mut slots: Vec<Option<Cursor>> = shards.into_iter().map(Some).collect();
    keyed
        .into_iter()
        .filter_map(|(_, i)| slots[i].take())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(id: &str, parent: Option<&str>) -> Cursor {
        Cursor {
            id: id.into(),
            parent: parent.map(str::to_string),
            closed: false,
            start: ShardIteratorType::TrimHorizon,
            iterator: None,
            finished: false,
        }
    }

    #[test]
    fn parents_come_before_children() {
        let shards = vec![
            cursor("grandchild", Some("child")),
            cursor("child", Some("root")),
            cursor("orphan", Some("trimmed-away")),
            cursor("root", None),
        ];
        let ids: Vec<String> = lineage_order(shards).into_iter().map(|c| c.id).collect();
        assert_eq!(ids, ["orphan", "root", "child", "grandchild"]);
    }

    #[test]
    fn checkpoint_round_trip_is_atomic_file() {
        let dir = std::env::temp_dir().join(format!("ddb-cp-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cp.json");
        assert_eq!(Checkpoint::load(&path).unwrap(), None);
        let cp = Checkpoint {
            stream_arn: "arn:x".into(),
            shards: BTreeMap::from([("shard-1".into(), "42".into())]),
        };
        cp.save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), Some(cp));
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary file left behind");
        std::fs::write(&path, "{\"stream_arn\": 1}").unwrap();
        let err = Checkpoint::load(&path).unwrap_err().to_string();
        assert!(err.contains("cp.json:1:"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
