//! What a stream record asks of the handler, decided without any call: a message to apply, a
//! message removed, or a skip with its reason. Records that are not ours are skipped and never
//! fail a batch: another table's stream (eventSourceARN), unknown event names (DynamoDB Local's
//! TTL deletions), keys of another shape, non-`MSG#` keys, records without a NewImage. A
//! record that claims to be a message but is not a valid one is a `BadRecord`. A batch is
//! sorted into `Lane`s, one per conversation, for the handler to coalesce (`coalesce.rs`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::model::item::{get_s, type_tag};
use crate::model::{parse_timestamp, MSG_PREFIX};
use crate::stream::outcome::{Outcome, RecordResult, Skip};
use crate::stream::record::{EventName, StreamRecord};

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

impl Work {
    /// The conversation the record is about (None for a skip).
    pub fn group(&self) -> Option<&str> {
        match self {
            Work::Apply(up) => Some(&up.group),
            Work::Remove(group, _) => Some(group),
            Work::Skip(_) => None,
        }
    }
}

/// A record that claims to be a message but is not a valid one: the field, named relative to
/// the record's `dynamodb` (`.NewImage.message`), and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct BadRecord {
    pub field: String,
    pub problem: String,
}

fn bad(field: &str, problem: impl Into<String>) -> BadRecord {
    BadRecord {
        field: field.to_string(),
        problem: problem.into(),
    }
}

/// Decide what a record asks for, without any call and without knowing the table (see
/// `classify_for`).
pub fn classify(rec: &StreamRecord) -> Result<Work, BadRecord> {
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
        return Err(bad(".Keys.pk", "'MSG#' without a message group"));
    }
    if rec.event_name == EventName::Remove {
        return Ok(Work::Remove(group.to_string(), sk.to_string()));
    }
    let Some(image) = &rec.new_image else {
        return Ok(Work::Skip(Skip::NoNewImage));
    };
    let field = |name: &str| -> Result<&str, BadRecord> {
        let at = format!(".NewImage.{name}");
        match image.get(name) {
            Some(AttributeValue::S(s)) => Ok(s.as_str()),
            Some(other) => Err(bad(
                &at,
                format!("expected a string (S), got {}", type_tag(other)),
            )),
            None => Err(bad(&at, "missing")),
        }
    };
    for key in ["pk", "sk"] {
        let v = field(key)?;
        if Some(v) != get_s(&rec.keys, key) {
            return Err(bad(
                &format!(".NewImage.{key}"),
                format!("'{v}' differs from Keys.{key}"),
            ));
        }
    }
    parse_timestamp(sk).map_err(|e| bad(".NewImage.sk", e.to_string()))?;
    field("message_uuid")?;
    field("user_uuid")?;
    Ok(Work::Apply(MessageUpdate {
        group: group.to_string(),
        sk: sk.to_string(),
        message: field("message")?.to_string(),
    }))
}

/// `classify`, and records of another table's stream (by `eventSourceARN`) skipped.
pub fn classify_for(rec: &StreamRecord, table: &str) -> Result<Work, BadRecord> {
    if let Some(source) = rec.source_table() {
        if source != table {
            let arn = rec.event_source_arn.clone().unwrap_or_default();
            return Ok(Work::Skip(Skip::OtherTable(arn)));
        }
    }
    classify(rec)
}

/// One conversation's records in a batch, by their place in the batch, in batch order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lane {
    pub group: String,
    pub records: Vec<(usize, Work)>,
}

/// A batch sorted out before any call.
#[derive(Debug, Default)]
pub struct Lanes {
    /// One per conversation, in the order of their first record.
    pub lanes: Vec<Lane>,
    /// Records whose outcome needs no call: skips and invalid message records.
    pub decided: Vec<(usize, RecordResult)>,
}

/// Sort a batch into lanes; records of another table, of no message, or invalid are decided
/// at once.
pub fn lanes(records: &[StreamRecord], table: &str) -> Lanes {
    let mut out = Lanes::default();
    let mut lane_of: HashMap<String, usize> = HashMap::new();
    for (i, rec) in records.iter().enumerate() {
        let work = match classify_for(rec, table) {
            Ok(w) => w,
            Err(e) => {
                let why = format!("invalid message record: dynamodb{e}");
                out.decided
                    .push((i, RecordResult::free(Outcome::Failed(why), false)));
                continue;
            }
        };
        let Some(group) = work.group().map(str::to_string) else {
            if let Work::Skip(skip) = work {
                out.decided
                    .push((i, RecordResult::free(Outcome::Skipped(skip), false)));
            }
            continue;
        };
        let lane = *lane_of.entry(group.clone()).or_insert_with(|| {
            out.lanes.push(Lane {
                group,
                records: Vec::new(),
            });
            out.lanes.len() - 1
        });
        out.lanes[lane].records.push((i, work));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::item::Item;

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
            detail: Default::default(),
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
        let text = |img: Item| {
            classify(&record(EventName::Insert, "MSG#g", Some(img)))
                .unwrap_err()
                .to_string()
        };
        let mut img = message_image();
        img.remove("message");
        assert_eq!(text(img), ".NewImage.message: missing");
        let mut img = message_image();
        img.insert("user_uuid".into(), AttributeValue::N("1".into()));
        assert_eq!(
            text(img),
            ".NewImage.user_uuid: expected a string (S), got N"
        );
        let mut img = message_image();
        img.insert("sk".into(), AttributeValue::S("other".into()));
        let err = text(img);
        assert!(err.starts_with(".NewImage.sk: 'other' differs"), "{err}");
        let err = classify(&record(EventName::Remove, "MSG#", None)).unwrap_err();
        assert_eq!(err.field, ".Keys.pk");
    }

    fn with_keys(name: EventName, pk: &str, sk: &str, arn: Option<&str>) -> StreamRecord {
        let s = |v: &str| AttributeValue::S(v.into());
        let keys = Item::from([("pk".into(), s(pk)), ("sk".into(), s(sk))]);
        let mut image = keys.clone();
        for (k, v) in [("message_uuid", "m"), ("user_uuid", "u"), ("message", "hi")] {
            image.insert(k.into(), s(v));
        }
        StreamRecord {
            event_id: None,
            event_name: name,
            event_source_arn: arn.map(str::to_string),
            sequence_number: "1".into(),
            keys,
            new_image: Some(image),
            detail: Default::default(),
        }
    }

    #[test]
    fn a_batch_is_sorted_into_lanes_and_records_not_ours_are_decided_at_once() {
        let other = "arn:aws:dynamodb:us-east-1:1:table/other/stream/2026";
        let records = [
            with_keys(
                EventName::Insert,
                "MSG#g1",
                "2026-01-01T00:00:01.000000+00:00",
                None,
            ),
            with_keys(
                EventName::Insert,
                "GRP#u",
                "2026-01-01T00:00:01.000000+00:00",
                None,
            ),
            with_keys(
                EventName::Insert,
                "MSG#g2",
                "2026-01-01T00:00:02.000000+00:00",
                None,
            ),
            with_keys(
                EventName::Remove,
                "MSG#g1",
                "2026-01-01T00:00:00.000000+00:00",
                None,
            ),
            with_keys(
                EventName::Insert,
                "MSG#",
                "2026-01-01T00:00:01.000000+00:00",
                None,
            ),
            with_keys(
                EventName::Insert,
                "MSG#g3",
                "2026-01-01T00:00:01.000000+00:00",
                Some(other),
            ),
        ];
        let sorted = lanes(&records, "t");
        let seen: Vec<(&str, Vec<usize>)> = sorted
            .lanes
            .iter()
            .map(|l| {
                (
                    l.group.as_str(),
                    l.records.iter().map(|(i, _)| *i).collect(),
                )
            })
            .collect();
        assert_eq!(seen, [("g1", vec![0, 3]), ("g2", vec![2])]);
        let decided: Vec<(usize, Outcome, bool)> = sorted
            .decided
            .into_iter()
            .map(|(i, r)| (i, r.outcome, r.is_message))
            .collect();
        assert_eq!(
            decided,
            [
                (
                    1,
                    Outcome::Skipped(Skip::NotAMessage("GRP#u".into())),
                    false
                ),
                (
                    4,
                    Outcome::Failed(
                        "invalid message record: dynamodb.Keys.pk: 'MSG#' without a message group"
                            .into()
                    ),
                    false
                ),
                (5, Outcome::Skipped(Skip::OtherTable(other.into())), false),
            ]
        );
    }
}
