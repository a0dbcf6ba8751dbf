//! DynamoDB Streams records and the Lambda events that carry them, written by hand after AWS's
//! documented format (the Lambda developer guide's example DynamoDB event), never through ddb's
//! own parser; and `ddb simulate-stream --event` run on such an event.
//!
//! Tests wrote records with slightly different fields (Lambda's full record or only what the
//! handler reads, SizeBytes, ApproximateCreationDateTime, the stream ARN): `Records` keeps each
//! of those as a choice, so every test sends the records it sent before.

use std::path::Path;
use std::process::Command;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};

use super::{run, s, write_temp, Item, Run};

/// The label of the stream ARNs of the dated kind (`…/stream/2026-01-01T00:00:00.000`).
pub const STREAM_LABEL: &str = "2026-01-01T00:00:00.000";

/// The ARN of `table`'s stream, as DynamoDB names it: `…:table/<table>/stream/<label>`.
pub fn stream_arn(table: &str, label: &str) -> String {
    format!("arn:aws:dynamodb:us-east-1:000000000000:table/{table}/stream/{label}")
}

/// An item in DynamoDB JSON (`{"S": …}`, `{"N": …}` or `{"BOOL": …}` per attribute).
pub fn typed(item: &Item) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| match v {
                AttributeValue::S(s) => (k.clone(), json!({ "S": s })),
                AttributeValue::N(n) => (k.clone(), json!({ "N": n })),
                AttributeValue::Bool(b) => (k.clone(), json!({ "BOOL": b })),
                other => panic!("test items are strings, numbers and booleans only: {other:?}"),
            })
            .collect(),
    )
}

/// How one test's stream records look, beyond eventName, Keys, SequenceNumber (`<seq>` to 21
/// digits) and NewImage (absent on REMOVE), which every record has.
#[derive(Clone, Debug)]
pub struct Records {
    /// Lambda's full record (eventID `ev<seq>`, eventVersion, awsRegion, SizeBytes,
    /// StreamViewType) or only what the handler reads (eventID `e<seq>`, eventSource).
    full: bool,
    size_bytes: u64,
    created: Option<u64>,
    arn: Option<String>,
}

impl Records {
    /// Records as Lambda delivers them: eventID `ev<seq>`, eventVersion 1.1, eventSource
    /// aws:dynamodb, awsRegion us-east-1, SizeBytes 100, StreamViewType NEW_IMAGE; no
    /// eventSourceARN unless `of_stream` gives one.
    pub fn lambda() -> Records {
        Records {
            full: true,
            size_bytes: 100,
            created: None,
            arn: None,
        }
    }

    /// Only the fields the handler reads: eventID `e<seq>`, eventName, eventSource, and in
    /// `dynamodb` Keys, SequenceNumber and NewImage.
    pub fn bare() -> Records {
        Records {
            full: false,
            ..Records::lambda()
        }
    }

    /// Every record names `arn` as its eventSourceARN.
    pub fn of_stream(self, arn: String) -> Records {
        Records {
            arn: Some(arn),
            ..self
        }
    }

    /// SizeBytes of every record.
    pub fn size_bytes(self, size_bytes: u64) -> Records {
        Records { size_bytes, ..self }
    }

    /// ApproximateCreationDateTime (epoch seconds) of every record.
    pub fn created(self, epoch_seconds: u64) -> Records {
        Records {
            created: Some(epoch_seconds),
            ..self
        }
    }

    /// Record number `seq` of event `name` (INSERT, MODIFY, REMOVE) for `image`, keyed by its
    /// pk and sk.
    pub fn record(&self, seq: u32, name: &str, image: &Item) -> Value {
        let keys = super::item(&[("pk", &s(image, "pk")), ("sk", &s(image, "sk"))]);
        let mut db = json!({});
        if let Some(t) = self.created {
            db["ApproximateCreationDateTime"] = json!(t);
        }
        db["Keys"] = typed(&keys);
        db["SequenceNumber"] = json!(format!("{seq:021}"));
        if self.full {
            db["SizeBytes"] = json!(self.size_bytes);
            db["StreamViewType"] = json!("NEW_IMAGE");
        }
        if name != "REMOVE" {
            db["NewImage"] = typed(image);
        }
        let mut record = if self.full {
            json!({
                "eventID": format!("ev{seq}"), "eventName": name, "eventVersion": "1.1",
                "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": db,
            })
        } else {
            json!({"eventID": format!("e{seq}"), "eventName": name, "eventSource": "aws:dynamodb", "dynamodb": db})
        };
        if let Some(arn) = &self.arn {
            record["eventSourceARN"] = json!(arn);
        }
        record
    }
}

/// The Lambda event of `records`: `{"Records": […]}`.
pub fn event(records: Vec<Value>) -> Value {
    json!({ "Records": records })
}

/// The Lambda event of `records`, each naming `arn` as its eventSourceARN (the handler skips
/// records of other tables' streams).
pub fn event_of(arn: &str, mut records: Vec<Value>) -> Value {
    for r in &mut records {
        r["eventSourceARN"] = json!(arn);
    }
    event(records)
}

/// The NewImage of every INSERT and MODIFY record, as items: what is in the table when the
/// stream delivers those records (the handler applies only messages that exist).
pub fn new_images(records: &[Value]) -> Vec<Item> {
    records
        .iter()
        .filter(|r| r["eventName"] != "REMOVE")
        .filter_map(|r| r["dynamodb"]["NewImage"].as_object())
        .map(|image| {
            image
                .iter()
                .map(|(k, v)| {
                    let text = v["S"].as_str().expect("string attributes only");
                    (k.clone(), AttributeValue::S(text.to_string()))
                })
                .collect()
        })
        .collect()
}

/// `ddb simulate-stream -o json --event FILE`, FILE holding `event`, with `ddb` aimed where
/// the test wants it (`env.ddb()` or through a proxy).
pub fn run_event(mut ddb: Command, event: &Value) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = serde_json::to_string_pretty(event).expect("event JSON");
    let path = write_temp(dir.path(), "event.json", &text);
    run(ddb
        .args(["simulate-stream", "-o", "json", "--event"])
        .arg(&path))
}

/// `ddb simulate-stream --from trim-horizon -o json` and `extra` arguments: the whole stream
/// of the table, with `ddb` aimed where the test wants it.
pub fn from_trim_horizon(mut ddb: Command, extra: &[&str]) -> Run {
    run(ddb
        .args(["simulate-stream", "--from", "trim-horizon", "-o", "json"])
        .args(extra))
}

/// The checkpoint file simulate-stream wrote at `path`.
pub fn checkpoint(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("checkpoint written");
    serde_json::from_str(&text).expect("checkpoint JSON")
}

/// The per-record reports of simulate-stream's JSON output.
pub fn reports(out: &Value) -> &Vec<Value> {
    out["records"].as_array().expect("records array")
}

/// The outcome of every record, in order.
pub fn outcomes(out: &Value) -> Vec<String> {
    reports(out)
        .iter()
        .map(|r| r["outcome"].as_str().expect("outcome").to_string())
        .collect()
}
