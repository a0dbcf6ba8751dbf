//! One DynamoDB Streams record as the handler sees it, from either source: a Lambda event file
//! (`{"Records": [...]}`, or records one per line as `ddb tail -o ndjson` writes them; typed
//! JSON) or the stream itself (`sdk_record`, aws-sdk-dynamodbstreams types).

use std::fmt;

use anyhow::{anyhow, bail, Result};
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

/// What the handler needs from a stream record (the table's stream view is NEW_IMAGE), and in
/// `detail` what else the record said, for `ddb tail` to show and write back out.
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
    pub detail: Detail,
}

/// The parts of a record the handler does not read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Detail {
    /// The item before the change (streams of view NEW_AND_OLD_IMAGES or OLD_IMAGE).
    pub old_image: Option<Item>,
    /// ApproximateCreationDateTime, in seconds since the Unix epoch.
    pub created: Option<f64>,
    /// NEW_IMAGE, NEW_AND_OLD_IMAGES, OLD_IMAGE or KEYS_ONLY.
    pub view_type: Option<String>,
    pub size_bytes: Option<i64>,
    /// userIdentity: DynamoDB itself removed the item because its TTL expired.
    pub by_ttl: bool,
    pub aws_region: Option<String>,
    pub event_version: Option<String>,
}

/// userIdentity of a deletion by Time to Live: `{"type": "Service", "principalId": TTL_PRINCIPAL}`.
pub const TTL_PRINCIPAL: &str = "dynamodb.amazonaws.com";

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
    /// A bad record of a file of records one per line.
    AtLine {
        line: usize,
        message: String,
    },
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
            EventError::AtLine { line, message } => format!("{file}:{line}: {message}"),
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

/// Where a record was in its file: `Records[3]` of an event, or the line of a record of NDJSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Index(usize),
    Line(usize),
}

impl Place {
    /// `file: Records[3].what` or `file:7: what`, for a message about part of the record.
    pub fn name(&self, file: &str, what: &str) -> String {
        match self {
            Place::Index(i) => format!("{file}: Records[{i}].{what}"),
            Place::Line(n) => format!("{file}:{n}: {what}"),
        }
    }
}

/// What `simulate-stream --event` reads: a Lambda event (`{"Records": [...]}`), or stream
/// records one per line as `ddb tail -o ndjson` writes them (any JSON layout, one record after
/// another). Every record is checked before any is returned; each comes with its place.
pub fn parse_event_file(text: &str) -> Result<Vec<(Place, StreamRecord)>, EventError> {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut found = Vec::new();
    loop {
        let before = values.byte_offset();
        let Some(next) = values.next() else { break };
        let value = next.map_err(|e| EventError::Syntax {
            line: e.line(),
            column: e.column(),
            message: crate::model::jsonfile::message(&e),
        })?;
        let rest = &text[before..];
        let start = before + (rest.len() - rest.trim_start().len());
        found.push((1 + text[..start].matches('\n').count(), value));
    }
    match found.as_slice() {
        [] => Err(EventError::Invalid(
            "no records: expected a Lambda event ({\"Records\": [...]}) or records one per line"
                .into(),
        )),
        [(_, one)] if one.get("Records").is_some() || one.get("dynamodb").is_none() => {
            let records = parse_event(text)?;
            Ok(records
                .into_iter()
                .enumerate()
                .map(|(i, r)| (Place::Index(i), r))
                .collect())
        }
        _ => found
            .iter()
            .map(|(line, v)| {
                parse_event_record(v, "")
                    .map(|r| (Place::Line(*line), r))
                    .map_err(|e| EventError::AtLine {
                        line: *line,
                        message: e.to_string(),
                    })
            })
            .collect(),
    }
}

/// `at.name`, or `name` for a record on its own (`at` empty).
fn path(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_string()
    } else {
        format!("{at}.{name}")
    }
}

fn parse_event_record(r: &Value, at: &str) -> Result<StreamRecord> {
    if !r.is_object() {
        bail!(
            "{}: expected an object",
            if at.is_empty() { "record" } else { at }
        );
    }
    if let Some(source) = r.get("eventSource") {
        if source.as_str() != Some("aws:dynamodb") {
            bail!(
                "{}: expected \"aws:dynamodb\", got {source}",
                path(at, "eventSource")
            );
        }
    }
    let name = r
        .get("eventName")
        .ok_or_else(|| anyhow!("{}: missing", path(at, "eventName")))?;
    // An unknown name is kept (the handler skips the record with the reason), not an error.
    let event_name = name
        .as_str()
        .map(EventName::parse)
        .ok_or_else(|| anyhow!("{}: expected a string, got {name}", path(at, "eventName")))?;
    let text = |v: Option<&Value>, name: &str| -> Result<Option<String>> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => bail!("{}: expected a string, got {other}", path(at, name)),
        }
    };
    let event_source_arn = text(r.get("eventSourceARN"), "eventSourceARN")?;
    let at_db = path(at, "dynamodb");
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
    let image = |name: &str| -> Result<Option<Item>> {
        match db.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => Ok(Some(item_from_typed(v, &format!("{at_db}.{name}"))?)),
        }
    };
    let number = |name: &str| -> Result<Option<f64>> {
        match db.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| anyhow!("{at_db}.{name}: expected a number, got {v}")),
        }
    };
    let identity = r.get("userIdentity");
    let said = |field: &str| identity.and_then(|i| i.get(field)).and_then(Value::as_str);
    let detail = Detail {
        old_image: image("OldImage")?,
        created: number("ApproximateCreationDateTime")?,
        view_type: text(db.get("StreamViewType"), "dynamodb.StreamViewType")?,
        size_bytes: number("SizeBytes")?.map(|n| n as i64),
        by_ttl: said("type") == Some("Service") && said("principalId") == Some(TTL_PRINCIPAL),
        aws_region: text(r.get("awsRegion"), "awsRegion")?,
        event_version: text(r.get("eventVersion"), "eventVersion")?,
    };
    Ok(StreamRecord {
        event_id: r.get("eventID").and_then(Value::as_str).map(str::to_string),
        event_name,
        event_source_arn,
        sequence_number,
        keys,
        new_image: image("NewImage")?,
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
