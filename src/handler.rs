//! The stream handler (access pattern D): what the Lambda on the table's stream runs. For every
//! new message it moves both GRP# rows of the conversation to the message's sk and text.
//!
//! Invariants, kept under concurrent handlers, replays and out-of-order delivery:
//! - exactly one GRP# row per (user, group);
//! - a row's last message is never replaced by an older (or equal) one.
//!
//! The key of a GRP# row contains its sk, so moving it is delete + put. Each row moves in its
//! own TransactWriteItems:
//! - Delete (pk, old sk) if `attribute_exists(pk) AND message_group_uuid = :g`: the row is
//!   still where we read it. Every move deletes the old key in the same transaction as it puts
//!   the new one, so "the old row still exists" means "nobody moved it since we looked": a
//!   concurrent handler that moved it (to a newer or older message) makes us re-read and
//!   re-decide instead of overwriting it.
//! - Put (pk, new sk) if `attribute_not_exists(pk) OR message_group_uuid = :g`: never
//!   overwrite another conversation's row that happens to share the timestamp (that would lose
//!   a conversation); a row of this conversation already there (left by an earlier non-atomic
//!   writer) is the same message, and the delete then removes its duplicate.
//!
//! One transaction per row rather than one for both rows (4 actions): the invariants are per
//! row, each row is owned by one user and can be in a different state (one already moved by a
//! concurrent handler or a replay, the other not), and a cancelled 4-action transaction would
//! throw away the half that was fine. Smaller transactions also conflict less. A crash between
//! the two leaves one row behind, which the next delivery (the stream retries) or any newer
//! message brings forward, since every step is idempotent.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use futures::StreamExt;

use crate::db::Db;
use crate::errors::causes;
use crate::item::{get_s, type_tag, Item};
use crate::model::{parse_timestamp, GROUP_INDEX, GRP_PREFIX, MSG_PREFIX};
use crate::retry::{is_retryable, is_throttling_code, sdk_retries_off, Backoff, Stop};
use crate::stream_record::{EventName, StreamRecord};

/// Pages of the group query we are prepared to read: a conversation has two rows.
const MAX_QUERY_PAGES: usize = 20;
/// GRP# rows a conversation has: one per participant.
const PARTICIPANTS: usize = 2;
/// Extra reads of the index when it shows fewer rows than participants.
const SHORT_READ_RETRIES: u32 = 2;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    OlderThanCurrent,
    Remove,
    NotAMessage(String),
    NoNewImage,
    NoGroupRows(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// This many GRP# rows now carry the message.
    Updated(usize),
    Skipped(Skip),
    Failed(String),
}

impl Outcome {
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Updated(_) => "updated",
            Outcome::Skipped(_) => "skipped",
            Outcome::Failed(_) => "failed",
        }
    }

    /// The sentence printed per record.
    pub fn text(&self) -> String {
        match self {
            Outcome::Updated(1) => "updated 1 group".to_string(),
            Outcome::Updated(n) => format!("updated {n} groups"),
            Outcome::Skipped(Skip::OlderThanCurrent) => "skipped: older than current".to_string(),
            Outcome::Skipped(Skip::Remove) => "skipped: REMOVE".to_string(),
            Outcome::Skipped(Skip::NotAMessage(pk)) => format!("skipped: not a message ({pk})"),
            Outcome::Skipped(Skip::NoNewImage) => "skipped: no NewImage".to_string(),
            Outcome::Skipped(Skip::NoGroupRows(g)) => {
                format!("skipped: no GRP# rows for group {g}")
            }
            Outcome::Failed(reason) => format!("failed: {reason}"),
        }
    }
}

/// What one record came to, and what it cost.
#[derive(Clone, Debug)]
pub struct RecordResult {
    pub outcome: Outcome,
    /// Attempts repeated after throttling, 5xx, dropped connections or transaction conflicts.
    pub retries: u32,
    /// Times the group's rows were re-read because one changed under us.
    pub rechecks: u32,
    /// The record was a message the handler acted on (not skipped before any call).
    pub is_message: bool,
}

/// The part of a new message the GRP# rows take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageUpdate {
    pub group: String,
    pub sk: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Work {
    Apply(MessageUpdate),
    Skip(Skip),
}

/// Decide what a record asks for, without any call. An error is a record that claims to be a
/// message but is not a valid one; it names the field relative to the record's `dynamodb`
/// (`.NewImage.message: ...`).
pub fn classify(rec: &StreamRecord) -> Result<Work, String> {
    if rec.event_name == EventName::Remove {
        return Ok(Work::Skip(Skip::Remove));
    }
    let pk = rec.pk();
    let Some(group) = pk.strip_prefix(MSG_PREFIX) else {
        return Ok(Work::Skip(Skip::NotAMessage(pk.to_string())));
    };
    let Some(image) = &rec.new_image else {
        return Ok(Work::Skip(Skip::NoNewImage));
    };
    let field = |name: &str| -> Result<&str, String> {
        match image.get(name) {
            Some(AttributeValue::S(s)) => Ok(s.as_str()),
            Some(other) => Err(format!(
                ".NewImage.{name}: expected a string (S), got {}",
                type_tag(other)
            )),
            None => Err(format!(".NewImage.{name}: missing")),
        }
    };
    for key in ["pk", "sk"] {
        let v = field(key)?;
        if Some(v) != get_s(&rec.keys, key) {
            return Err(format!(".NewImage.{key}: '{v}' differs from Keys.{key}"));
        }
    }
    let sk = field("sk")?;
    parse_timestamp(sk).map_err(|e| format!(".NewImage.sk: {e}"))?;
    if group.is_empty() {
        return Err(".Keys.pk: 'MSG#' without a message group".to_string());
    }
    field("message_uuid")?;
    field("user_uuid")?;
    Ok(Work::Apply(MessageUpdate {
        group: group.to_string(),
        sk: sk.to_string(),
        message: field("message")?.to_string(),
    }))
}

/// The handler: the database handle and how hard to retry.
pub struct Handler<'a> {
    db: &'a Db,
    backoff: Backoff,
    /// Conversations handled at once within a batch; records of one conversation always run
    /// in stream order.
    concurrency: usize,
}

#[derive(Default)]
struct Tally {
    retries: u32,
    rechecks: u32,
}

enum MoveError {
    /// The row is no longer where we read it: re-read and decide again.
    Changed,
    Failed(String),
}

impl<'a> Handler<'a> {
    pub fn new(db: &'a Db) -> Handler<'a> {
        Handler {
            db,
            backoff: Backoff::default(),
            concurrency: 1,
        }
    }

    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Handle a batch. Records of one conversation (one pk) run in order; different
    /// conversations may run concurrently. Once the run is cancelled (Ctrl-C), records not yet
    /// started are left alone (None), so the caller can checkpoint the prefix that is done.
    pub async fn handle_batch(&self, records: &[StreamRecord]) -> Vec<Option<RecordResult>> {
        let mut lanes: Vec<Vec<usize>> = Vec::new();
        let mut lane_of: HashMap<&str, usize> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            let lane = *lane_of.entry(r.pk()).or_insert_with(|| {
                lanes.push(Vec::new());
                lanes.len() - 1
            });
            lanes[lane].push(i);
        }
        let mut results: Vec<Option<RecordResult>> = vec![None; records.len()];
        let mut done = futures::stream::iter(lanes)
            .map(|lane| async move {
                let mut out = Vec::with_capacity(lane.len());
                for i in lane {
                    if self.db.cancelled() {
                        break;
                    }
                    out.push((i, self.handle(&records[i]).await));
                }
                out
            })
            .buffer_unordered(self.concurrency);
        while let Some(lane) = done.next().await {
            for (i, r) in lane {
                results[i] = Some(r);
            }
        }
        results
    }

    /// Handle one record.
    pub async fn handle(&self, rec: &StreamRecord) -> RecordResult {
        let mut tally = Tally::default();
        let (outcome, is_message) = match classify(rec) {
            Err(e) => (
                Outcome::Failed(format!("invalid message record: dynamodb{e}")),
                false,
            ),
            Ok(Work::Skip(s)) => (Outcome::Skipped(s), false),
            Ok(Work::Apply(up)) => (self.apply(&up, &mut tally).await, true),
        };
        RecordResult {
            outcome,
            retries: tally.retries,
            rechecks: tally.rechecks,
            is_message,
        }
    }

    async fn apply(&self, up: &MessageUpdate, tally: &mut Tally) -> Outcome {
        let mut updated = 0;
        let mut any_rows = false;
        // Re-reads are paced and bounded by the same mechanism as retries, counted apart.
        let short_budget = Backoff {
            max_attempts: SHORT_READ_RETRIES + 1,
            ..self.backoff
        };
        let mut short_reads = short_budget.tries(&self.db.cancel);
        let mut rereads = self.backoff.tries(&self.db.cancel);
        loop {
            let rows = match self.group_rows(&up.group, tally).await {
                Ok(rows) => rows,
                Err(e) => return self.failed(e, updated),
            };
            // A conversation has a row per participant. The index is eventually consistent, so
            // fewer may mean a row is between its delete and its put as the index sees it:
            // look again a little later (bounded: some data may really have fewer rows).
            if rows.len() < PARTICIPANTS {
                match short_reads.pause(()).await {
                    Ok(()) => {
                        tally.rechecks += 1;
                        continue;
                    }
                    Err(Stop::Cancelled(())) => {
                        return self.failed("interrupted".to_string(), updated)
                    }
                    Err(_) => {} // act on what is there
                }
            }
            any_rows |= !rows.is_empty();
            // The rows belong to different users and move independently: both at once.
            let stale = rows
                .iter()
                .filter(|row| get_s(row, "sk").is_some_and(|sk| sk < up.sk.as_str()));
            let moves = futures::future::join_all(stale.map(|row| async move {
                let mut t = Tally::default();
                let r = self.move_row(row, up, &mut t).await;
                (r, t)
            }))
            .await;
            let mut changed = false;
            let mut failure = None;
            for (r, t) in moves {
                tally.retries += t.retries;
                match r {
                    Ok(()) => updated += 1,
                    Err(MoveError::Changed) => changed = true,
                    Err(MoveError::Failed(e)) => failure = Some(e),
                }
            }
            if let Some(e) = failure {
                return self.failed(e, updated);
            }
            if !changed {
                break;
            }
            // The index is eventually consistent: give it a moment before reading again.
            match rereads.pause(()).await {
                Ok(()) => tally.rechecks += 1,
                Err(Stop::Cancelled(())) => return self.failed("interrupted".to_string(), updated),
                Err(_) => {
                    return self.failed(
                        format!(
                            "GRP# rows of group {} kept changing; gave up after {} re-reads",
                            up.group,
                            rereads.attempts()
                        ),
                        updated,
                    )
                }
            }
        }
        if updated > 0 {
            Outcome::Updated(updated)
        } else if any_rows {
            Outcome::Skipped(Skip::OlderThanCurrent)
        } else {
            Outcome::Skipped(Skip::NoGroupRows(up.group.clone()))
        }
    }

    fn failed(&self, reason: String, updated: usize) -> Outcome {
        if updated > 0 {
            Outcome::Failed(format!("{reason} (after updating {updated} row(s))"))
        } else {
            Outcome::Failed(reason)
        }
    }

    /// The GRP# rows of a conversation, read through the group index (all pages, bounded).
    async fn group_rows(&self, group: &str, tally: &mut Tally) -> Result<Vec<Item>, String> {
        let mut rows = Vec::new();
        let mut start: Option<Item> = None;
        for _ in 0..MAX_QUERY_PAGES {
            let mut retries = 0;
            let sent = self
                .backoff
                .call(&self.db.cancel, &mut retries, || {
                    self.db
                        .dynamodb
                        .query()
                        .table_name(&self.db.table)
                        .index_name(GROUP_INDEX)
                        .key_condition_expression("message_group_uuid = :g")
                        .filter_expression("begins_with(pk, :grp)")
                        .expression_attribute_values(":g", AttributeValue::S(group.to_string()))
                        .expression_attribute_values(
                            ":grp",
                            AttributeValue::S(GRP_PREFIX.to_string()),
                        )
                        .set_exclusive_start_key(start.clone())
                        .customize()
                        .config_override(sdk_retries_off())
                        .send()
                })
                .await;
            tally.retries += retries;
            let page = sent.map_err(|stop| sdk_reason("Query", stop.error()))?;
            rows.extend(
                page.items()
                    .iter()
                    .filter(|i| get_s(i, "pk").is_some_and(|pk| pk.starts_with(GRP_PREFIX)))
                    .cloned(),
            );
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(rows);
            }
        }
        Err(format!(
            "group {group} has more than {MAX_QUERY_PAGES} pages of rows in {GROUP_INDEX}"
        ))
    }

    /// Move one GRP# row to the message: delete the old key and put the new one, atomically.
    async fn move_row(
        &self,
        row: &Item,
        up: &MessageUpdate,
        tally: &mut Tally,
    ) -> Result<(), MoveError> {
        let pk = get_s(row, "pk").unwrap_or_default().to_string();
        let old_sk = get_s(row, "sk").unwrap_or_default().to_string();
        let group = AttributeValue::S(up.group.clone());
        let mut new_row = row.clone();
        new_row.insert("sk".into(), AttributeValue::S(up.sk.clone()));
        new_row.insert("message".into(), AttributeValue::S(up.message.clone()));

        let delete = Delete::builder()
            .table_name(&self.db.table)
            .key("pk", AttributeValue::S(pk.clone()))
            .key("sk", AttributeValue::S(old_sk.clone()))
            .condition_expression("attribute_exists(pk) AND message_group_uuid = :g")
            .expression_attribute_values(":g", group.clone())
            .build()
            .map_err(|e| MoveError::Failed(e.to_string()))?;
        let put = Put::builder()
            .table_name(&self.db.table)
            .set_item(Some(new_row))
            .condition_expression("attribute_not_exists(pk) OR message_group_uuid = :g")
            .expression_attribute_values(":g", group)
            .build()
            .map_err(|e| MoveError::Failed(e.to_string()))?;
        // Same move, same token: a retry after a lost response is answered with the first
        // result instead of failing its own condition.
        let token = request_token(&[&self.db.table, &pk, &old_sk, &up.sk, &up.message]);

        let mut tries = self.backoff.tries(&self.db.cancel);
        loop {
            let sent = self
                .db
                .dynamodb
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().delete(delete.clone()).build())
                .transact_items(TransactWriteItem::builder().put(put.clone()).build())
                .client_request_token(&token)
                .customize()
                .config_override(sdk_retries_off())
                .send()
                .await;
            let err = match sent {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            let retry = match cancellation_codes(&err) {
                Some(codes) => {
                    let code = |i: usize| codes.get(i).map(String::as_str).unwrap_or("None");
                    if code(0) == "ConditionalCheckFailed" {
                        return Err(MoveError::Changed);
                    }
                    if code(1) == "ConditionalCheckFailed" {
                        return Err(MoveError::Failed(format!(
                            "{pk} already has a row at sk {} for another conversation",
                            up.sk
                        )));
                    }
                    codes.iter().any(|c| {
                        c == "TransactionConflict"
                            || is_throttling_code(c)
                            || c == "ThrottlingError"
                    })
                }
                None => is_retryable(&err),
            };
            if !retry {
                return Err(MoveError::Failed(sdk_reason("TransactWriteItems", &err)));
            }
            let paused = tries.pause(err).await;
            tally.retries = tries.retries;
            match paused {
                Ok(()) => {}
                Err(Stop::Exhausted { error, attempts }) => {
                    let why = sdk_reason("TransactWriteItems", &error);
                    return Err(MoveError::Failed(format!(
                        "{why} (after {attempts} attempts)"
                    )));
                }
                Err(stop) => {
                    let why = sdk_reason("TransactWriteItems", stop.error());
                    return Err(MoveError::Failed(format!("interrupted: {why}")));
                }
            }
        }
    }
}

/// The per-item codes of a cancelled transaction, in TransactItems order.
fn cancellation_codes<R>(err: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<String>> {
    match err.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(e) => Some(
            e.cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None").to_string())
                .collect(),
        ),
        _ => None,
    }
}

/// Why a call failed, in one line: the service's code and message, or the cause chain.
fn sdk_reason<E, R>(op: &str, err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match (err.code(), err.message()) {
        (Some(code), Some(msg)) => format!("{code} on {op}: {msg}"),
        (Some(code), None) => format!("{code} on {op}"),
        _ => format!("{op}: {}", causes(err)),
    }
}

/// A ClientRequestToken (at most 36 characters) derived from what the transaction does.
fn request_token(parts: &[&str]) -> String {
    let mut halves = [0u64; 2];
    for (seed, half) in halves.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        seed.hash(&mut h);
        parts.hash(&mut h);
        *half = h.finish();
    }
    format!("ddb-{:016x}{:016x}", halves[0], halves[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: EventName, pk: &str, image: Option<Item>) -> StreamRecord {
        let sk = "2026-01-01T00:00:00.000001+00:00";
        StreamRecord {
            event_id: None,
            event_name: name,
            sequence_number: "1".into(),
            keys: Item::from([
                ("pk".into(), AttributeValue::S(pk.into())),
                ("sk".into(), AttributeValue::S(sk.into())),
            ]),
            new_image: image,
        }
    }

    fn message_image() -> Item {
        let s = |v: &str| AttributeValue::S(v.into());
        Item::from([
            ("pk".into(), s("MSG#g")),
            ("sk".into(), s("2026-01-01T00:00:00.000001+00:00")),
            ("message_uuid".into(), s("m")),
            ("message".into(), s("hello")),
            ("user_uuid".into(), s("u")),
        ])
    }

    #[test]
    fn classifies_records() {
        let img = Some(message_image());
        assert_eq!(
            classify(&record(EventName::Remove, "MSG#g", img.clone())),
            Ok(Work::Skip(Skip::Remove))
        );
        assert_eq!(
            classify(&record(EventName::Insert, "GRP#u", img.clone())),
            Ok(Work::Skip(Skip::NotAMessage("GRP#u".into())))
        );
        assert_eq!(
            classify(&record(EventName::Modify, "MSG#g", None)),
            Ok(Work::Skip(Skip::NoNewImage))
        );
        let Ok(Work::Apply(up)) = classify(&record(EventName::Insert, "MSG#g", img)) else {
            panic!("expected a message");
        };
        assert_eq!((up.group.as_str(), up.message.as_str()), ("g", "hello"));
    }

    #[test]
    fn invalid_messages_name_the_field() {
        let mut img = message_image();
        img.remove("message");
        let err = classify(&record(EventName::Insert, "MSG#g", Some(img))).unwrap_err();
        assert_eq!(err, ".NewImage.message: missing");
        let mut img = message_image();
        img.insert("user_uuid".into(), AttributeValue::N("1".into()));
        let err = classify(&record(EventName::Insert, "MSG#g", Some(img))).unwrap_err();
        assert_eq!(err, ".NewImage.user_uuid: expected a string (S), got N");
        let mut img = message_image();
        img.insert("sk".into(), AttributeValue::S("other".into()));
        let err = classify(&record(EventName::Insert, "MSG#g", Some(img))).unwrap_err();
        assert!(err.starts_with(".NewImage.sk: 'other' differs"), "{err}");
    }

    #[test]
    fn outcome_sentences() {
        assert_eq!(Outcome::Updated(2).text(), "updated 2 groups");
        assert_eq!(
            Outcome::Skipped(Skip::OlderThanCurrent).text(),
            "skipped: older than current"
        );
        assert_eq!(
            Outcome::Skipped(Skip::NotAMessage("GRP#x".into())).text(),
            "skipped: not a message (GRP#x)"
        );
    }

    #[test]
    fn request_tokens_fit_and_differ() {
        let a = request_token(&["t", "GRP#a", "1", "2", "m"]);
        assert!(a.len() <= 36, "{a}");
        assert_eq!(a, request_token(&["t", "GRP#a", "1", "2", "m"]));
        assert_ne!(a, request_token(&["t", "GRP#a", "1", "3", "m"]));
    }
}
