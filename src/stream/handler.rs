//! The stream handler (access pattern D): what the Lambda on the table's stream runs. It keeps
//! THE INVARIANT (src/rows/settle.rs): each participant has exactly one GRP# row per conversation,
//! carrying the newest message of it that still exists.
//!
//! A batch is coalesced per conversation: of its INSERT/MODIFY records only the newest message
//! (by instant, the string as tie-break; the last record of equal keys) is applied, after one
//! read of the conversation's rows through the group index; older ones are reported as
//! `superseded by <sk>`. The rows move forward to it together, in one transaction
//! (`Settler::run`) that checks the message still exists (a replay never revives a deleted message: the next
//! newest of the batch is tried instead). A REMOVE of the message a row shows settles the rows
//! on the newest message that remains (`Settler::settle`). Conversations run in parallel; one
//! conversation's failure makes every record of it in the batch Failed, so a checkpoint or
//! Lambda retries them all (every step is idempotent, so the retry changes nothing done).
//!
//! Records that are not ours are skipped with the reason and never fail a batch: another
//! table's stream (eventSourceARN), unknown event names (DynamoDB Local's TTL deletions), keys
//! of another shape, non-`MSG#` keys, records without a NewImage.

use std::collections::{BTreeMap, HashMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue;
use futures::StreamExt;

use crate::aws::db::Db;
use crate::aws::retry::{Backoff, Stop};
use crate::model::item::{get_s, type_tag, Item};
use crate::model::{compare_sk, is_newer, parse_timestamp, MSG_PREFIX};
use crate::rows::plan::{owner_of, plan_owner, Mode, Target};
use crate::rows::settle::{Sent, Settled, Settler, Tally};
use crate::stream::record::{EventName, StreamRecord};

/// GRP# rows a conversation has: one per participant.
const PARTICIPANTS: usize = 2;
/// Extra reads of the index when it shows fewer rows than participants.
const SHORT_READ_RETRIES: u32 = 2;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// The rows already carry this message or a newer one.
    OlderThanCurrent,
    /// A REMOVE of a message no GRP# row shows: nothing to move.
    Remove,
    NotAMessage(String),
    NoNewImage,
    NoGroupRows(String),
    /// A newer message of the same conversation in the batch was applied instead (its sk).
    Superseded(String),
    /// The message was deleted since: applying it would revive it.
    MessageGone,
    /// A REMOVE took the conversation's last message; the rows stay (they are the only record
    /// of who the participants are).
    NoMessagesLeft,
    /// `eventSourceARN` names another table's stream (the ARN).
    OtherTable(String),
    /// An event name other than INSERT, MODIFY, REMOVE (DynamoDB Local's TTL deletions).
    UnknownEvent(String),
    /// Keys without string `pk` and `sk` (the key names found).
    OtherKeys(String),
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
            Outcome::Skipped(skip) => format!("skipped: {}", skip.reason()),
            Outcome::Failed(reason) => format!("failed: {reason}"),
        }
    }
}

impl Skip {
    /// The kind of skip without its details, to count skips by.
    pub fn kind(&self) -> &'static str {
        match self {
            Skip::OlderThanCurrent => "older than current",
            Skip::Remove => "remove",
            Skip::NotAMessage(_) => "not a message",
            Skip::NoNewImage => "no new image",
            Skip::NoGroupRows(_) => "no group rows",
            Skip::Superseded(_) => "superseded",
            Skip::MessageGone => "message gone",
            Skip::NoMessagesLeft => "no messages left",
            Skip::OtherTable(_) => "other table",
            Skip::UnknownEvent(_) => "unknown event",
            Skip::OtherKeys(_) => "other keys",
        }
    }

    pub fn reason(&self) -> String {
        match self {
            Skip::OlderThanCurrent => "older than current".to_string(),
            Skip::Remove => "REMOVE of a message no row shows".to_string(),
            Skip::NotAMessage(pk) => format!("not a message ({pk})"),
            Skip::NoNewImage => "no NewImage".to_string(),
            Skip::NoGroupRows(g) => format!("no GRP# rows for group {g}"),
            Skip::Superseded(sk) => format!("superseded by {sk}"),
            Skip::MessageGone => "message no longer exists".to_string(),
            Skip::NoMessagesLeft => "no message of the conversation is left".to_string(),
            Skip::OtherTable(arn) => format!("record of another table's stream ({arn})"),
            Skip::UnknownEvent(name) => format!("unknown event name '{name}'"),
            Skip::OtherKeys(keys) => format!("keys of another shape ({keys})"),
        }
    }
}

/// What one record came to, and what it cost.
#[derive(Clone, Debug)]
pub struct RecordResult {
    pub outcome: Outcome,
    /// Attempts repeated after throttling, 5xx, dropped connections or transaction conflicts.
    /// A coalesced conversation's calls are counted on one of its records (the one applied),
    /// so totals over a batch are exact.
    pub retries: u32,
    /// Times the group's rows were re-read because one changed under us (or looked short).
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
    /// A message was deleted: (group, sk).
    Remove(String, String),
    Skip(Skip),
}

/// Decide what a record asks for, without any call and without knowing the table (see
/// `classify_for`). An error is a record that claims to be a message but is not a valid one;
/// it names the field relative to the record's `dynamodb` (`.NewImage.message: ...`).
pub fn classify(rec: &StreamRecord) -> Result<Work, String> {
    if let EventName::Other(name) = &rec.event_name {
        return Ok(Work::Skip(Skip::UnknownEvent(name.clone())));
    }
    let (Some(pk), Some(sk)) = (get_s(&rec.keys, "pk"), get_s(&rec.keys, "sk")) else {
        let mut names: Vec<&str> = rec.keys.keys().map(String::as_str).collect();
        names.sort_unstable();
        return Ok(Work::Skip(Skip::OtherKeys(names.join(", "))));
    };
    let Some(group) = pk.strip_prefix(MSG_PREFIX) else {
        return Ok(Work::Skip(Skip::NotAMessage(pk.to_string())));
    };
    if group.is_empty() {
        return Err(".Keys.pk: 'MSG#' without a message group".to_string());
    }
    if rec.event_name == EventName::Remove {
        return Ok(Work::Remove(group.to_string(), sk.to_string()));
    }
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
    parse_timestamp(sk).map_err(|e| format!(".NewImage.sk: {e}"))?;
    field("message_uuid")?;
    field("user_uuid")?;
    Ok(Work::Apply(MessageUpdate {
        group: group.to_string(),
        sk: sk.to_string(),
        message: field("message")?.to_string(),
    }))
}

/// `classify`, and records of another table's stream (by `eventSourceARN`) skipped.
pub fn classify_for(rec: &StreamRecord, table: &str) -> Result<Work, String> {
    if let Some(source) = rec.source_table() {
        if source != table {
            let arn = rec.event_source_arn.clone().unwrap_or_default();
            return Ok(Work::Skip(Skip::OtherTable(arn)));
        }
    }
    classify(rec)
}

/// The handler: the database handle and how hard to retry.
pub struct Handler<'a> {
    db: &'a Db,
    backoff: Backoff,
    /// Conversations handled at once within a batch.
    concurrency: usize,
}

/// One conversation's records in a batch, in batch order.
struct Lane {
    group: String,
    records: Vec<(usize, Work)>,
}

impl<'a> Handler<'a> {
    pub fn new(db: &'a Db) -> Handler<'a> {
        Handler {
            db,
            backoff: db.backoff,
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

    fn settler(&self) -> Settler<'a> {
        Settler::new(self.db)
    }

    /// Handle a batch: each conversation once (coalesced), conversations concurrently. Once
    /// the run is cancelled (Ctrl-C), conversations not yet started are left alone (None for
    /// their records), so the caller can checkpoint the prefix that is done.
    pub async fn handle_batch(&self, records: &[StreamRecord]) -> Vec<Option<RecordResult>> {
        let mut results: Vec<Option<RecordResult>> = vec![None; records.len()];
        let mut lanes: Vec<Lane> = Vec::new();
        let mut lane_of: HashMap<String, usize> = HashMap::new();
        for (i, rec) in records.iter().enumerate() {
            let work = match classify_for(rec, &self.db.table) {
                Ok(w) => w,
                Err(e) => {
                    let why = format!("invalid message record: dynamodb{e}");
                    results[i] = Some(done(Outcome::Failed(why), false));
                    continue;
                }
            };
            let group = match &work {
                Work::Skip(skip) => {
                    results[i] = Some(done(Outcome::Skipped(skip.clone()), false));
                    continue;
                }
                Work::Apply(up) => up.group.clone(),
                Work::Remove(group, _) => group.clone(),
            };
            let lane = *lane_of.entry(group.clone()).or_insert_with(|| {
                lanes.push(Lane {
                    group,
                    records: Vec::new(),
                });
                lanes.len() - 1
            });
            lanes[lane].records.push((i, work));
        }
        let mut finished = futures::stream::iter(lanes)
            .map(|lane| async move {
                if self.db.cancelled() {
                    return Vec::new();
                }
                self.conversation(&lane).await
            })
            .buffer_unordered(self.concurrency);
        while let Some(lane) = finished.next().await {
            for (i, r) in lane {
                results[i] = Some(r);
            }
        }
        results
    }

    /// Handle one record (a batch of one).
    pub async fn handle(&self, rec: &StreamRecord) -> RecordResult {
        let mut out = self.handle_batch(std::slice::from_ref(rec)).await;
        out.pop().flatten().unwrap_or_else(|| {
            done(
                Outcome::Failed("interrupted before it started".into()),
                false,
            )
        })
    }

    /// One conversation's records: outcomes, with the calls' counts on the record applied.
    async fn conversation(&self, lane: &Lane) -> Vec<(usize, RecordResult)> {
        let mut tally = Tally::default();
        let outcomes = match self.coalesce(lane, &mut tally).await {
            Ok(outcomes) => outcomes,
            Err(reason) => lane
                .records
                .iter()
                .map(|(i, _)| (*i, Outcome::Failed(reason.clone())))
                .collect(),
        };
        let lead = outcomes
            .iter()
            .position(|(_, o)| matches!(o, Outcome::Updated(_)))
            .unwrap_or(0);
        outcomes
            .into_iter()
            .enumerate()
            .map(|(n, (i, outcome))| {
                let is_message = lane
                    .records
                    .iter()
                    .any(|(j, w)| *j == i && matches!(w, Work::Apply(_)));
                let mut r = done(outcome, is_message);
                if n == lead {
                    r.retries = tally.retries;
                    r.rechecks = tally.rechecks;
                }
                (i, r)
            })
            .collect()
    }

    /// Apply the newest message of a conversation's records (or settle it after a REMOVE of
    /// the message its rows show). Err fails every record of the conversation.
    async fn coalesce(
        &self,
        lane: &Lane,
        tally: &mut Tally,
    ) -> Result<Vec<(usize, Outcome)>, String> {
        let group = lane.group.as_str();
        let settler = self.settler();
        // Newest first; of equal keys the later record (its image is the current one).
        let mut candidates: Vec<(usize, &MessageUpdate)> = lane
            .records
            .iter()
            .filter_map(|(i, w)| match w {
                Work::Apply(up) => Some((*i, up)),
                _ => None,
            })
            .collect();
        candidates.sort_by(|a, b| compare_sk(&b.1.sk, &a.1.sk).then(b.0.cmp(&a.0)));
        let removes: Vec<(usize, &str)> = lane
            .records
            .iter()
            .filter_map(|(i, w)| match w {
                Work::Remove(_, sk) => Some((*i, sk.as_str())),
                _ => None,
            })
            .collect();
        let mut gone: HashSet<&str> = HashSet::new();
        let mut updated = 0;
        let short_budget = Backoff {
            max_attempts: SHORT_READ_RETRIES + 1,
            ..self.backoff
        };
        let mut short_reads = short_budget.tries(&self.db.cancel);
        let mut rereads = self.backoff.tries(&self.db.cancel);
        let failed = |reason: String, updated: usize| {
            if updated > 0 {
                format!("{reason} (after updating {updated} row(s))")
            } else {
                reason
            }
        };
        loop {
            let rows = settler
                .group_rows(group, tally)
                .await
                .map_err(|e| failed(e.to_string(), updated))?;
            // A conversation has a row per participant. The index is eventually consistent, so
            // fewer may mean a row is between its delete and its put as the index sees it:
            // look again a little later (bounded: some data may really have fewer rows).
            if rows.len() < PARTICIPANTS {
                match short_reads.pause(()).await {
                    Ok(()) => {
                        tally.rechecks += 1;
                        continue;
                    }
                    Err(Stop::Cancelled(())) => return Err(failed("interrupted".into(), updated)),
                    Err(_) => {}
                }
            }
            if rows.is_empty() {
                return Ok(lane
                    .records
                    .iter()
                    .map(|(i, w)| match w {
                        Work::Apply(_) => (*i, Outcome::Skipped(Skip::NoGroupRows(group.into()))),
                        _ => (*i, Outcome::Skipped(Skip::Remove)),
                    })
                    .collect());
            }
            let shown: Vec<usize> = removes
                .iter()
                .filter(|(_, sk)| rows.iter().any(|r| get_s(r, "sk") == Some(*sk)))
                .map(|(i, _)| *i)
                .collect();
            if let Some(&trigger) = shown.last() {
                let settled = settler
                    .settle(group, &[], tally)
                    .await
                    .map_err(|e| failed(e.to_string(), updated))?;
                return Ok(after_settle(lane, &candidates, trigger, &settled));
            }
            let Some(&(applied, up)) = candidates
                .iter()
                .find(|(_, c)| !gone.contains(c.sk.as_str()))
            else {
                // Every message of the batch is gone (or there was none): nothing to apply.
                return Ok(lane
                    .records
                    .iter()
                    .map(|(i, w)| match w {
                        Work::Apply(_) => (*i, Outcome::Skipped(Skip::MessageGone)),
                        _ => (*i, Outcome::Skipped(Skip::Remove)),
                    })
                    .collect());
            };
            let target = Target {
                sk: up.sk.clone(),
                message: up.message.clone(),
            };
            let mut owners: BTreeMap<&str, Vec<Item>> = BTreeMap::new();
            for row in &rows {
                if let Some(owner) = owner_of(row) {
                    owners.entry(owner).or_default().push(row.clone());
                }
            }
            let plans: Vec<_> = owners
                .values()
                .map(|owned| plan_owner(owned, &target, None, Mode::Forward))
                .collect();
            // Every row of the conversation in one transaction: they move together.
            let again = match settler.run(group, &target, &plans, tally).await {
                Ok(Sent::Applied(ran)) => {
                    updated += ran.put as usize;
                    ran.more
                }
                Ok(Sent::Changed) => true,
                Ok(Sent::TargetGone) => {
                    gone.insert(up.sk.as_str());
                    true
                }
                Err(e) => return Err(failed(e.to_string(), updated)),
            };
            if !again {
                return Ok(lane
                    .records
                    .iter()
                    .map(|(i, w)| {
                        let outcome = match w {
                            Work::Apply(_) if *i == applied => {
                                if updated > 0 {
                                    Outcome::Updated(updated)
                                } else {
                                    Outcome::Skipped(Skip::OlderThanCurrent)
                                }
                            }
                            Work::Apply(c) if gone.contains(c.sk.as_str()) => {
                                Outcome::Skipped(Skip::MessageGone)
                            }
                            Work::Apply(_) => Outcome::Skipped(Skip::Superseded(up.sk.clone())),
                            _ => Outcome::Skipped(Skip::Remove),
                        };
                        (*i, outcome)
                    })
                    .collect());
            }
            // The index is eventually consistent: give it a moment before reading again.
            match rereads.pause(()).await {
                Ok(()) => tally.rechecks += 1,
                Err(Stop::Cancelled(())) => return Err(failed("interrupted".into(), updated)),
                Err(_) => {
                    return Err(failed(
                        format!(
                            "GRP# rows of group {group} kept changing; gave up after {} re-reads",
                            rereads.attempts()
                        ),
                        updated,
                    ))
                }
            }
        }
    }
}

/// Outcomes once a REMOVE of the shown message made the rows settle on the newest message
/// that remains (`settled.target`).
fn after_settle(
    lane: &Lane,
    candidates: &[(usize, &MessageUpdate)],
    trigger: usize,
    settled: &Settled,
) -> Vec<(usize, Outcome)> {
    let put = settled.rows_put as usize;
    let moved = |fallback: Skip| {
        if put > 0 {
            Outcome::Updated(put)
        } else {
            Outcome::Skipped(fallback)
        }
    };
    let Some(target) = &settled.target else {
        return lane
            .records
            .iter()
            .map(|(i, w)| match w {
                Work::Apply(_) => (*i, Outcome::Skipped(Skip::MessageGone)),
                _ if *i == trigger => (*i, Outcome::Skipped(Skip::NoMessagesLeft)),
                _ => (*i, Outcome::Skipped(Skip::Remove)),
            })
            .collect();
    };
    // The record that carries the result: the newest record of the target message, if the
    // batch has one, else the REMOVE that made the rows move.
    let carrier = candidates
        .iter()
        .find(|(_, c)| c.sk == target.sk)
        .map_or(trigger, |(i, _)| *i);
    lane.records
        .iter()
        .map(|(i, w)| {
            let outcome = match w {
                _ if *i == carrier && carrier == trigger => moved(Skip::Remove),
                _ if *i == carrier => moved(Skip::OlderThanCurrent),
                Work::Apply(c) if is_newer(&c.sk, &target.sk) => {
                    Outcome::Skipped(Skip::MessageGone)
                }
                Work::Apply(_) => Outcome::Skipped(Skip::Superseded(target.sk.clone())),
                _ => Outcome::Skipped(Skip::Remove),
            };
            (*i, outcome)
        })
        .collect()
}

fn done(outcome: Outcome, is_message: bool) -> RecordResult {
    RecordResult {
        outcome,
        retries: 0,
        rechecks: 0,
        is_message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: EventName, pk: &str, image: Option<Item>) -> StreamRecord {
        let sk = "2026-01-01T00:00:00.000001+00:00";
        StreamRecord {
            event_id: None,
            event_name: name,
            event_source_arn: None,
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
            Ok(Work::Remove(
                "g".into(),
                "2026-01-01T00:00:00.000001+00:00".into()
            ))
        );
        assert_eq!(
            classify(&record(
                EventName::Other("UNKNOWN_TO_SDK_VERSION".into()),
                "MSG#g",
                img.clone()
            )),
            Ok(Work::Skip(Skip::UnknownEvent(
                "UNKNOWN_TO_SDK_VERSION".into()
            )))
        );
        let mut sample = record(EventName::Insert, "MSG#g", img.clone());
        sample.keys = Item::from([("Id".into(), AttributeValue::N("101".into()))]);
        assert_eq!(
            classify(&sample),
            Ok(Work::Skip(Skip::OtherKeys("Id".into())))
        );
        let mut other = record(EventName::Insert, "MSG#g", img.clone());
        other.event_source_arn =
            Some("arn:aws:dynamodb:us-east-1:1:table/other/stream/2026".into());
        assert_eq!(
            classify_for(&other, "cruddur-messages"),
            Ok(Work::Skip(Skip::OtherTable(
                "arn:aws:dynamodb:us-east-1:1:table/other/stream/2026".into()
            )))
        );
        assert!(matches!(classify_for(&other, "other"), Ok(Work::Apply(_))));
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
}
