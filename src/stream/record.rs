//! One DynamoDB Streams record as the handler sees it, from either source: a Lambda event file
//! (`{"Records": [...]}`, typed JSON) or the stream itself (aws-sdk-dynamodbstreams types).

use std::collections::HashMap;
use std::fmt;

use anyhow::{anyhow, bail, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodbstreams::types as streams;
use serde_json::Value;

use crate::model::item::{get_s, item_from_typed, Item};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventName {
    Insert,
    Modify,
    Remove,
    /// A name this version does not know: DynamoDB Local reports TTL deletions this way
    /// (`UNKNOWN_TO_SDK_VERSION` through the SDK). The handler skips such records.
    Other(String),
}

impl EventName {
    pub fn parse(s: &str) -> EventName {
        match s {
            "INSERT" => EventName::Insert,
            "MODIFY" => EventName::Modify,
            "REMOVE" => EventName::Remove,
            other => EventName::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            EventName::Insert => "INSERT",
            EventName::Modify => "MODIFY",
            EventName::Remove => "REMOVE",
            EventName::Other(name) => name,
        }
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the handler needs from a stream record. The table's stream view is NEW_IMAGE, so there
/// is no old image to carry.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamRecord {
    pub event_id: Option<String>,
    pub event_name: EventName,
    /// The stream the record came from (Lambda events carry it; records read from the stream
    /// itself leave it out, their stream is the one being read).
    pub event_source_arn: Option<String>,
    pub sequence_number: String,
    pub keys: Item,
    pub new_image: Option<Item>,
}

impl StreamRecord {
    pub fn pk(&self) -> &str {
        get_s(&self.keys, "pk").unwrap_or("")
    }

    pub fn sk(&self) -> &str {
        get_s(&self.keys, "sk").unwrap_or("")
    }

    /// The table named by `eventSourceARN` (`arn:aws:dynamodb:…:table/<name>/stream/<label>`).
    pub fn source_table(&self) -> Option<&str> {
        source_table(self.event_source_arn.as_deref()?)
    }
}

/// The table name inside a table or stream ARN.
pub fn source_table(arn: &str) -> Option<&str> {
    let rest = arn.split_once(":table/")?.1;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// Why an event file was rejected: bad JSON at a position, or a bad value at a JSON path.
#[derive(Debug, PartialEq, Eq)]
pub enum EventError {
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    Invalid(String),
}

impl EventError {
    /// The message with the file in front: `event.json:2:26: ...` or `event.json: Records[3]...`.
    pub fn in_file(&self, file: &str) -> String {
        match self {
            EventError::Syntax {
                line,
                column,
                message,
            } => format!("{file}:{line}:{column}: {message}"),
            EventError::Invalid(message) => format!("{file}: {message}"),
        }
    }
}

/// Parse a Lambda DynamoDB Streams event. Every record is checked before any is returned, and
/// errors name the place: `Records[3].dynamodb.NewImage.sk: ...`.
pub fn parse_event(text: &str) -> Result<Vec<StreamRecord>, EventError> {
    let root: Value = serde_json::from_str(text).map_err(|e| EventError::Syntax {
        line: e.line(),
        column: e.column(),
        message: crate::model::jsonfile::message(&e),
    })?;
    let invalid = |m: &str| EventError::Invalid(m.to_string());
    let records = root
        .get("Records")
        .ok_or_else(|| {
            invalid("expected an object with a \"Records\" array (a Lambda DynamoDB Streams event)")
        })?
        .as_array()
        .ok_or_else(|| invalid("Records: expected an array"))?;
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            parse_event_record(r, &format!("Records[{i}]"))
                .map_err(|e| EventError::Invalid(e.to_string()))
        })
        .collect()
}

fn parse_event_record(r: &Value, at: &str) -> Result<StreamRecord> {
    if !r.is_object() {
        bail!("{at}: expected an object");
    }
    if let Some(source) = r.get("eventSource") {
        if source.as_str() != Some("aws:dynamodb") {
            bail!("{at}.eventSource: expected \"aws:dynamodb\", got {source}");
        }
    }
    let name = r
        .get("eventName")
        .ok_or_else(|| anyhow!("{at}.eventName: missing"))?;
    // An unknown name is kept (the handler skips the record with the reason), not an error.
    let event_name = name
        .as_str()
        .map(EventName::parse)
        .ok_or_else(|| anyhow!("{at}.eventName: expected a string, got {name}"))?;
    let event_source_arn = match r.get("eventSourceARN") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => bail!("{at}.eventSourceARN: expected a string, got {other}"),
    };
    let at_db = format!("{at}.dynamodb");
    let db = r
        .get("dynamodb")
        .ok_or_else(|| anyhow!("{at_db}: missing"))?;
    if !db.is_object() {
        bail!("{at_db}: expected an object");
    }
    let sequence_number = match db.get("SequenceNumber") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(other) => bail!("{at_db}.SequenceNumber: expected a non-empty string, got {other}"),
        None => bail!("{at_db}.SequenceNumber: missing"),
    };
    let keys = item_from_typed(
        db.get("Keys")
            .ok_or_else(|| anyhow!("{at_db}.Keys: missing"))?,
        &format!("{at_db}.Keys"),
    )?;
    // Keys of another shape (another table's, e.g. {"Id": {"N": "101"}}) are kept for the
    // handler to skip with the reason.
    let new_image = match db.get("NewImage") {
        None | Some(Value::Null) => None,
        Some(v) => Some(item_from_typed(v, &format!("{at_db}.NewImage"))?),
    };
    Ok(StreamRecord {
        event_id: r.get("eventID").and_then(Value::as_str).map(str::to_string),
        event_name,
        event_source_arn,
        sequence_number,
        keys,
        new_image,
    })
}

/// A record read from the stream with aws-sdk-dynamodbstreams.
pub fn from_sdk(r: &streams::Record) -> Result<StreamRecord> {
    let event_name = match r.event_name() {
        Some(streams::OperationType::Insert) => EventName::Insert,
        Some(streams::OperationType::Modify) => EventName::Modify,
        Some(streams::OperationType::Remove) => EventName::Remove,
        Some(other) => EventName::Other(other.as_str().to_string()),
        None => EventName::Other(String::new()),
    };
    let db = r
        .dynamodb()
        .ok_or_else(|| anyhow!("stream record without a dynamodb section"))?;
    let sequence_number = db
        .sequence_number()
        .ok_or_else(|| anyhow!("stream record without a sequence number"))?
        .to_string();
    let keys = convert_item(db.keys().unwrap_or(&HashMap::new()))
        .map_err(|e| anyhow!("record {sequence_number}: Keys{e}"))?;
    let new_image = db
        .new_image()
        .map(convert_item)
        .transpose()
        .map_err(|e| anyhow!("record {sequence_number}: NewImage{e}"))?;
    Ok(StreamRecord {
        event_id: r.event_id().map(str::to_string),
        event_name,
        event_source_arn: None,
        sequence_number,
        keys,
        new_image,
    })
}

/// A stream attribute value of a type this build of the SDK does not know, at `path` within
/// the item (`.a.L[2]`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: attribute type unknown to this version of ddb")]
pub struct UnknownType {
    pub path: String,
}

impl UnknownType {
    /// The same value seen from the container at `step` (`.name`, `.L[2]`, `.M`).
    fn within(self, step: &str) -> UnknownType {
        UnknownType {
            path: format!("{step}{}", self.path),
        }
    }
}

/// aws-sdk-dynamodbstreams has its own AttributeValue type with the same shape as
/// aws-sdk-dynamodb's; the handler writes with the latter. Errors carry the path (`.a.L[2]`).
pub fn convert_item(m: &HashMap<String, streams::AttributeValue>) -> Result<Item, UnknownType> {
    m.iter()
        .map(|(k, v)| {
            Ok((
                k.clone(),
                convert(v).map_err(|e| e.within(&format!(".{k}")))?,
            ))
        })
        .collect()
}

pub fn convert(v: &streams::AttributeValue) -> Result<AttributeValue, UnknownType> {
    use streams::AttributeValue as S;
    Ok(match v {
        S::S(s) => AttributeValue::S(s.clone()),
        S::N(n) => AttributeValue::N(n.clone()),
        S::B(b) => AttributeValue::B(b.clone()),
        S::Bool(b) => AttributeValue::Bool(*b),
        S::Null(b) => AttributeValue::Null(*b),
        S::Ss(v) => AttributeValue::Ss(v.clone()),
        S::Ns(v) => AttributeValue::Ns(v.clone()),
        S::Bs(v) => AttributeValue::Bs(v.clone()),
        S::L(l) => AttributeValue::L(
            l.iter()
                .enumerate()
                .map(|(i, v)| convert(v).map_err(|e| e.within(&format!(".L[{i}]"))))
                .collect::<Result<_, _>>()?,
        ),
        S::M(m) => AttributeValue::M(convert_item(m).map_err(|e| e.within(".M"))?),
        _ => {
            return Err(UnknownType {
                path: String::new(),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;
    use serde_json::json;

    fn event(records: Value) -> String {
        json!({ "Records": records }).to_string()
    }

    fn insert(seq: &str, sk: Value) -> Value {
        json!({
            "eventID": "e1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
            "dynamodb": {
                "Keys": {"pk": {"S": "MSG#g"}, "sk": sk},
                "NewImage": {"pk": {"S": "MSG#g"}, "sk": {"S": "t"}, "message": {"S": "hi"}},
                "SequenceNumber": seq, "StreamViewType": "NEW_IMAGE"
            }
        })
    }

    #[test]
    fn parses_a_lambda_event() {
        let recs = parse_event(&event(json!([insert("100", json!({"S": "t"}))]))).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].event_name, EventName::Insert);
        assert_eq!(recs[0].sequence_number, "100");
        assert_eq!(recs[0].pk(), "MSG#g");
        assert_eq!(
            get_s(recs[0].new_image.as_ref().unwrap(), "message"),
            Some("hi")
        );
    }

    #[test]
    fn errors_name_record_and_field() {
        let text = event(json!([
            insert("1", json!({"S": "t"})),
            insert("2", json!({"N": "x"}))
        ]));
        let err = parse_event(&text).unwrap_err().in_file("e.json");
        assert!(
            err.starts_with("e.json: Records[1].dynamodb.Keys.sk.N:"),
            "{err}"
        );
        let err = parse_event(&event(json!([{"eventName": 7}])))
            .unwrap_err()
            .in_file("e");
        assert!(err.starts_with("e: Records[0].eventName:"), "{err}");
        let err = parse_event("{\"Records\": [\n  {,}]}")
            .unwrap_err()
            .in_file("e");
        assert!(err.starts_with("e:2:4: "), "{err}");
        let err = parse_event("[]").unwrap_err().in_file("e");
        assert!(err.contains("Records"), "{err}");
    }

    #[test]
    fn other_tables_names_and_key_shapes_parse_for_the_handler_to_skip() {
        // AWS's documented sample record, next to one of ours.
        let sample = json!({
            "eventID": "1", "eventName": "INSERT", "eventVersion": "1.0",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/ExampleTableWithStream/stream/2015-06-27T00:48:05.899",
            "dynamodb": {"Keys": {"Id": {"N": "101"}}, "NewImage": {"Message": {"S": "New item!"}, "Id": {"N": "101"}},
                         "SequenceNumber": "111", "SizeBytes": 26, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        });
        let mut ttl = insert("2", json!({"S": "t"}));
        ttl["eventName"] = json!("UNKNOWN_TO_SDK_VERSION");
        let recs =
            parse_event(&event(json!([sample, insert("1", json!({"S": "t"})), ttl]))).unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].source_table(), Some("ExampleTableWithStream"));
        assert_eq!((recs[0].pk(), recs[0].sk()), ("", ""));
        assert_eq!(recs[1].source_table(), None);
        assert_eq!(
            recs[2].event_name,
            EventName::Other("UNKNOWN_TO_SDK_VERSION".into())
        );
        assert_eq!(
            source_table("arn:aws:dynamodb:ddblocal:000000000000:table/t-1/stream/x"),
            Some("t-1")
        );
        assert_eq!(
            source_table("arn:aws:dynamodb:us-east-1:1:table/only"),
            Some("only")
        );
        assert_eq!(source_table("nonsense"), None);
    }

    #[test]
    fn converts_stream_attribute_values() {
        use streams::AttributeValue as S;
        let blob = Blob::new(vec![1u8, 2]);
        let src = HashMap::from([
            ("s".to_string(), S::S("x".into())),
            ("n".to_string(), S::N("1.5".into())),
            ("b".to_string(), S::B(blob.clone())),
            ("ok".to_string(), S::Bool(true)),
            ("nil".to_string(), S::Null(true)),
            ("ss".to_string(), S::Ss(vec!["a".into()])),
            ("ns".to_string(), S::Ns(vec!["2".into()])),
            ("bs".to_string(), S::Bs(vec![blob.clone()])),
            (
                "l".to_string(),
                S::L(vec![S::M(HashMap::from([(
                    "k".to_string(),
                    S::S("v".into()),
                )]))]),
            ),
        ]);
        let out = convert_item(&src).unwrap();
        let want = Item::from([
            ("s".to_string(), AttributeValue::S("x".into())),
            ("n".to_string(), AttributeValue::N("1.5".into())),
            ("b".to_string(), AttributeValue::B(blob.clone())),
            ("ok".to_string(), AttributeValue::Bool(true)),
            ("nil".to_string(), AttributeValue::Null(true)),
            ("ss".to_string(), AttributeValue::Ss(vec!["a".into()])),
            ("ns".to_string(), AttributeValue::Ns(vec!["2".into()])),
            ("bs".to_string(), AttributeValue::Bs(vec![blob])),
            (
                "l".to_string(),
                AttributeValue::L(vec![AttributeValue::M(HashMap::from([(
                    "k".to_string(),
                    AttributeValue::S("v".into()),
                )]))]),
            ),
        ]);
        assert_eq!(out, want);
        // A type the SDK does not know (its `Unknown` cannot be built outside it) is named by
        // its path, built from the inside out.
        let deep = UnknownType {
            path: String::new(),
        };
        let deep = deep.within(".M").within(".L[1]").within(".a");
        assert_eq!(
            format!("Keys{deep}"),
            "Keys.a.L[1].M: attribute type unknown to this version of ddb"
        );
    }

    #[test]
    fn converts_sdk_records() {
        let rec = streams::Record::builder()
            .event_id("id")
            .event_name(streams::OperationType::Remove)
            .dynamodb(
                streams::StreamRecord::builder()
                    .keys("pk", streams::AttributeValue::S("MSG#g".into()))
                    .keys("sk", streams::AttributeValue::S("t".into()))
                    .sequence_number("42")
                    .build(),
            )
            .build();
        let r = from_sdk(&rec).unwrap();
        assert_eq!(r.event_name, EventName::Remove);
        assert_eq!(
            (r.pk(), r.sk(), r.sequence_number.as_str()),
            ("MSG#g", "t", "42")
        );
        assert!(r.new_image.is_none());
    }
}
