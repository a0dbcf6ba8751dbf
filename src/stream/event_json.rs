//! A stream record written out as Lambda delivers it (one element of an event's `Records`):
//! what `ddb tail -o ndjson` prints and the dead-letter file keeps, so that either can be fed
//! back to `simulate-stream --event`. The fields follow the Lambda developer guide's DynamoDB
//! event; what a record does not know is left out rather than made up.

use serde_json::{json, Map, Value};

use crate::model::item::item_to_typed;
use crate::stream::record::{StreamRecord, TTL_PRINCIPAL};

/// `rec` as a Lambda event record. `stream_arn` is the stream it was read from (a record that
/// came with its own source keeps it); a record without its own region takes the stream's.
pub fn lambda_record(rec: &StreamRecord, stream_arn: &str) -> Value {
    let d = &rec.detail;
    let mut dynamodb = Map::new();
    if let Some(t) = d.created {
        dynamodb.insert("ApproximateCreationDateTime".into(), json!(t));
    }
    dynamodb.insert("Keys".into(), item_to_typed(&rec.keys));
    if let Some(image) = &rec.new_image {
        dynamodb.insert("NewImage".into(), item_to_typed(image));
    }
    if let Some(image) = &d.old_image {
        dynamodb.insert("OldImage".into(), item_to_typed(image));
    }
    dynamodb.insert("SequenceNumber".into(), json!(rec.sequence_number));
    if let Some(n) = d.size_bytes {
        dynamodb.insert("SizeBytes".into(), json!(n));
    }
    if let Some(v) = &d.view_type {
        dynamodb.insert("StreamViewType".into(), json!(v));
    }
    let mut record = Map::new();
    if let Some(id) = &rec.event_id {
        record.insert("eventID".into(), json!(id));
    }
    record.insert("eventName".into(), json!(rec.event_name.as_str()));
    if let Some(v) = &d.event_version {
        record.insert("eventVersion".into(), json!(v));
    }
    record.insert("eventSource".into(), json!("aws:dynamodb"));
    let source = rec.event_source_arn.as_deref().unwrap_or(stream_arn);
    // arn:aws:dynamodb:<region>:<account>:table/…
    let region = d
        .aws_region
        .as_deref()
        .or_else(|| source.split(':').nth(3).filter(|r| !r.is_empty()));
    if let Some(region) = region {
        record.insert("awsRegion".into(), json!(region));
    }
    record.insert("dynamodb".into(), Value::Object(dynamodb));
    record.insert("eventSourceARN".into(), json!(source));
    if d.by_ttl {
        record.insert(
            "userIdentity".into(),
            json!({"type": "Service", "principalId": TTL_PRINCIPAL}),
        );
    }
    Value::Object(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::record::parse_event_file;

    #[test]
    fn a_written_record_reads_back_the_same() {
        let line = r#"{"eventID": "e1", "eventName": "REMOVE", "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "ca-central-1",
            "eventSourceARN": "arn:aws:dynamodb:ca-central-1:1:table/t/stream/x",
            "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
            "dynamodb": {"ApproximateCreationDateTime": 1767225600, "SizeBytes": 40,
              "Keys": {"pk": {"S": "MSG#g"}, "sk": {"S": "t"}}, "SequenceNumber": "42",
              "OldImage": {"pk": {"S": "MSG#g"}, "sk": {"S": "t"}, "message": {"S": "hi"}},
              "StreamViewType": "NEW_AND_OLD_IMAGES"}}"#;
        let (_, rec) = parse_event_file(line).unwrap().remove(0);
        assert!(rec.detail.by_ttl);
        assert_eq!(rec.detail.created, Some(1767225600.0));
        let again = lambda_record(&rec, "arn:other");
        let (_, back) = parse_event_file(&again.to_string()).unwrap().remove(0);
        assert_eq!(back, rec);
        assert_eq!(again["awsRegion"], "ca-central-1");
        assert_eq!(again["dynamodb"]["OldImage"]["message"]["S"], "hi");
        // Without a region of its own, a record takes its stream's.
        let mut bare = rec.clone();
        (bare.detail.aws_region, bare.event_source_arn) = (None, None);
        let shaped = lambda_record(&bare, "arn:aws:dynamodb:ddblocal:0:table/t/stream/x");
        assert_eq!(shaped["awsRegion"], "ddblocal");
    }
}
