//! One CloudWatch Embedded Metric Format (EMF) line per Lambda invocation: the batch's records,
//! the conversations whose rows moved, the records skipped and those that failed (to be
//! delivered again), and the invocation's duration. CloudWatch Logs turns the line into metrics
//! in the namespace `ddb/StreamHandler` with the function's name as dimension, so the function
//! has metrics and alarms with no API call and no permission beyond writing its logs. The same
//! line is the invocation's summary in Logs Insights (`request_id`, `batch_item_failures`).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::stream::outcome::{Outcome, RecordResult};
use crate::stream::record::StreamRecord;

/// Where the metrics go in CloudWatch.
pub const NAMESPACE: &str = "ddb/StreamHandler";
/// The metrics' one dimension, named as Lambda's own metrics name it.
pub const DIMENSION: &str = "FunctionName";

/// What one invocation came to, counted over its records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub records: usize,
    /// Conversations whose GRP# rows this invocation moved.
    pub conversations_moved: usize,
    pub skipped: usize,
    /// Records that failed or were not started: Lambda delivers them again.
    pub failed: usize,
}

impl Counts {
    /// Count the results of a batch (`None`: a record not started before the deadline).
    pub fn of(records: &[StreamRecord], results: &[Option<RecordResult>]) -> Counts {
        let mut moved: BTreeSet<&str> = BTreeSet::new();
        let mut counts = Counts {
            records: records.len(),
            ..Counts::default()
        };
        for (rec, result) in records.iter().zip(results) {
            match result.as_ref().map(|r| &r.outcome) {
                Some(Outcome::Updated(rows)) => {
                    if *rows > 0 {
                        moved.insert(rec.pk());
                    }
                }
                Some(Outcome::Skipped(_)) => counts.skipped += 1,
                Some(Outcome::Failed(_)) | None => counts.failed += 1,
            }
        }
        counts.conversations_moved = moved.len();
        counts
    }

    /// An event that could not be read: each of its `records` will be delivered again.
    pub fn unread(records: usize) -> Counts {
        Counts {
            records,
            failed: records,
            ..Counts::default()
        }
    }
}

/// The invocation's EMF line: `counts` and `duration_ms` as metrics of `function`, at `now_ms`
/// (milliseconds since the epoch), with the request id and how many records the response
/// reported for retry as plain properties.
pub fn emf_line(
    counts: Counts,
    duration_ms: u64,
    function: &str,
    request_id: &str,
    batch_item_failures: usize,
    now_ms: u64,
) -> Value {
    let metric = |name: &str, unit: &str| json!({"Name": name, "Unit": unit});
    json!({
        "_aws": {
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[DIMENSION]],
                "Metrics": [
                    metric("Records", "Count"),
                    metric("ConversationsMoved", "Count"),
                    metric("Skipped", "Count"),
                    metric("Failed", "Count"),
                    metric("Duration", "Milliseconds"),
                ],
            }],
        },
        DIMENSION: function,
        "Records": counts.records,
        "ConversationsMoved": counts.conversations_moved,
        "Skipped": counts.skipped,
        "Failed": counts.failed,
        "Duration": duration_ms,
        "request_id": request_id,
        "batch_item_failures": batch_item_failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::outcome::Skip;
    use crate::stream::record::parse_event;

    fn records(pks: &[&str]) -> Vec<StreamRecord> {
        let records: Vec<Value> = pks
            .iter()
            .enumerate()
            .map(|(i, pk)| {
                json!({"eventName": "REMOVE", "dynamodb": {
                    "Keys": {"pk": {"S": pk}, "sk": {"S": "2026-01-01T00:00:00Z"}},
                    "SequenceNumber": format!("{i}"),
                }})
            })
            .collect();
        parse_event(&json!({ "Records": records }).to_string()).unwrap()
    }

    #[test]
    fn counts_conversations_once_and_unstarted_records_as_failed() {
        let recs = records(&["MSG#a", "MSG#a", "MSG#b", "MSG#c", "GRP#x", "MSG#d"]);
        let done = |o: Outcome| Some(RecordResult::free(o, true));
        let results = [
            done(Outcome::Updated(2)),
            done(Outcome::Updated(2)),
            done(Outcome::Updated(0)),
            done(Outcome::Failed("boom".into())),
            done(Outcome::Skipped(Skip::NotAMessage("GRP#x".into()))),
            None,
        ];
        let counts = Counts::of(&recs, &results);
        assert_eq!(
            counts,
            Counts {
                records: 6,
                conversations_moved: 1,
                skipped: 1,
                failed: 2
            }
        );
    }

    #[test]
    fn every_metric_names_a_number_of_the_line() {
        let line = emf_line(Counts::unread(3), 12, "f", "r", 3, 1_767_225_600_000);
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        let metrics = directive["Metrics"].as_array().unwrap();
        assert_eq!(metrics.len(), 5);
        for m in metrics {
            assert!(line[m["Name"].as_str().unwrap()].is_u64(), "{m}");
        }
        assert_eq!(line["Failed"], 3);
        assert_eq!(line[DIMENSION], "f");
    }
}
