//! Lambda mode: the stream handler (src/stream/handler.rs) served on the Lambda Runtime API, as the
//! `provided.al2023` runtime starts it (`bootstrap`, no arguments) or as `ddb lambda`.
//!
//! The event is read by the same parser `simulate-stream --event` uses
//! (`record::parse_event`): it turns Lambda's typed JSON straight into the SDK's
//! `AttributeValue`s the handler writes with, and its errors name the record and field.
//! aws_lambda_events' `dynamodb::Event` would need a second conversion (serde_dynamo's
//! values to the SDK's) and report serde's position instead; its response type is what we
//! answer with, and a unit test checks both parsers read a Lambda event alike.
//!
//! Partial batch responses and the checkpoint. A batch comes from one shard, in stream order.
//! With `ReportBatchItemFailures`, Lambda takes the lowest reported sequence number as the
//! checkpoint and delivers everything from there again. So once a record fails, the records
//! after it are not "done", even those the handler applied (other conversations run
//! concurrently; a newer message of the same conversation may already have moved the rows):
//! we report the first failed record and every record after it, in batch order. Lambda
//! behaves the same as if only the first were listed, but the response (and the log line per
//! record, `"retried": true`) says exactly what will be delivered again, and stays right if
//! the handler ever reports a later record of a conversation as failed without the earlier
//! one. Replaying the applied ones changes nothing: every move is idempotent and an older
//! message never wins. Positions are compared, not sequence numbers: those are decimal
//! strings of varying length, which do not sort as text. A record the handler did not start
//! (`None`: the invocation's deadline came first) counts as failed. An event that cannot be
//! parsed is an error response: Lambda retries the whole batch, bisects it, and finally sends
//! it to the on-failure destination.

use std::ffi::OsString;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Result;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::{json, Value};

use crate::aws::db::Db;
use crate::errors::Failure;
use crate::stream::handler::Handler;
use crate::stream::metrics::{emf_line, Counts};
use crate::stream::outcome::{Outcome, RecordResult};
use crate::stream::record::{self, EventError, StreamRecord};

/// What `lambda_runtime` reads at start-up and panics without.
pub const RUNTIME_ENV: [&str; 4] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

/// Conversations handled at once within a batch (records of one conversation stay in order).
pub const CONCURRENCY: usize = 8;

/// The command line, with `lambda` added when the binary runs as `bootstrap` with no
/// arguments: that is how the provided.al2023 runtime starts a function.
pub fn args(args: impl Iterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.collect();
    let is_bootstrap = args.first().is_some_and(|a| {
        std::path::Path::new(a).file_name() == Some(std::ffi::OsStr::new("bootstrap"))
    });
    if is_bootstrap && args.len() == 1 {
        args.push("lambda".into());
    }
    args
}

/// Stop starting records this long before the invocation's deadline: a move being sent
/// finishes (a conversation between two calls stops at its next read and is reported failed,
/// to be delivered again), and the answer reaches Lambda before it times the invocation out.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

/// Fail with one line, before `lambda_runtime` would panic, when not started by Lambda.
pub fn check_env() -> Result<()> {
    let missing: Vec<&str> = RUNTIME_ENV
        .iter()
        .copied()
        .filter(|k| std::env::var_os(k).is_none_or(|v| v.is_empty()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Failure::Usage(format!(
        "`ddb lambda` runs inside AWS Lambda or a Runtime API emulator (`cargo lambda watch`): {} not set; to run the handler here, use `ddb simulate-stream`",
        match missing.as_slice() {
            [one] => format!("{one} is"),
            many => format!("{} are", many.join(", ")),
        }
    ))
    .into())
}

/// Serve invocations until the Runtime API goes away. Call `check_env` first.
pub async fn serve(db: &Db) -> Result<()> {
    let func = service_fn(|event: LambdaEvent<Value>| async move {
        let started = Instant::now();
        // Time left before Lambda stops the invocation, less a margin for the moves in flight.
        let left = event
            .context
            .deadline()
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default()
            .saturating_sub(DEADLINE_MARGIN);
        let context = &event.context;
        let metrics = |counts: Counts, retried: usize| {
            let duration = started.elapsed().as_millis() as u64;
            let function = &context.env_config.function_name;
            log(&emf_line(
                counts,
                duration,
                function,
                &context.request_id,
                retried,
                now_ms(),
            ));
        };
        let reply = match handle_event(db, &event.payload, left).await {
            Ok(reply) => reply,
            Err(e) => {
                let e = e.in_file("event");
                log(&json!({"request_id": context.request_id, "error": e}));
                // Lambda delivers every record of the batch again, however many it has.
                let records = event.payload["Records"].as_array().map_or(0, Vec::len);
                metrics(Counts::unread(records), records);
                return Err(Diagnostic {
                    error_type: "InvalidEvent".into(),
                    error_message: e,
                });
            }
        };
        for line in &reply.log {
            log(line);
        }
        metrics(reply.counts, reply.response.batch_item_failures.len());
        Ok::<_, Diagnostic>(reply.response)
    });
    lambda_runtime::run(func)
        .await
        .map_err(|e| anyhow::anyhow!("Lambda Runtime API: {e}"))
}

/// Milliseconds since the epoch, the EMF line's timestamp.
fn now_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| d.as_millis() as u64)
}

/// One JSON line on stdout (CloudWatch Logs keeps one event per line).
fn log(value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
}

/// The answer to one invocation, its log lines (one per record) and what it came to.
pub struct Reply {
    pub response: DynamoDbEventResponse,
    pub log: Vec<Value>,
    pub counts: Counts,
}

/// The glue between a Lambda event and the handler, kept in one place: parse the records, run
/// the handler's batch, turn its results into the partial batch response. An `Err` is an event
/// that is not a DynamoDB Streams event; no record of it was handled.
///
/// After `time_left`, records not yet started are left alone and reported, so the invocation
/// answers before Lambda's timeout (which would deliver the whole batch again, done or not).
pub async fn handle_event(
    db: &Db,
    payload: &Value,
    time_left: Duration,
) -> Result<Reply, EventError> {
    let text = payload.to_string();
    let records = record::parse_event(&text)?;
    // The handler leaves records alone once its handle is cancelled: this invocation's own
    // token (a child of the run's), cancelled at the deadline.
    let db = Db {
        cancel: db.cancel.child_token(),
        ..db.clone()
    };
    if time_left.is_zero() {
        // Before the first poll, which would start a record per conversation.
        db.cancel.cancel();
    }
    let handler = Handler::new(&db).concurrency(CONCURRENCY);
    let results = tokio::select! {
        results = handler.handle_batch(&records) => results,
        _ = async {
            tokio::time::sleep(time_left).await;
            db.cancel.cancel();
            std::future::pending::<()>().await
        } => unreachable!("the deadline future never finishes"),
    };
    let failed: Vec<bool> = results
        .iter()
        .map(|r| {
            r.as_ref()
                .is_none_or(|r| matches!(r.outcome, Outcome::Failed(_)))
        })
        .collect();
    let retried = retried_from(&failed);
    let log = records
        .iter()
        .zip(&results)
        .enumerate()
        .map(|(i, (rec, r))| log_line(rec, r.as_ref(), i >= retried))
        .collect();
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = records[retried..]
        .iter()
        .map(|r| {
            let mut f = DynamoDbBatchItemFailure::default();
            f.item_identifier = Some(r.sequence_number.clone());
            f
        })
        .collect();
    let counts = Counts::of(&records, &results);
    Ok(Reply {
        response,
        log,
        counts,
    })
}

/// The position from which a batch must be delivered again: the first failed record (the
/// batch's length when none failed). Everything from there on is reported.
pub fn retried_from(failed: &[bool]) -> usize {
    failed.iter().position(|f| *f).unwrap_or(failed.len())
}

fn log_line(rec: &StreamRecord, r: Option<&RecordResult>, retried: bool) -> Value {
    let (status, outcome) = match r {
        Some(r) => (r.outcome.status(), r.outcome.text()),
        None => ("failed", "not handled".to_string()),
    };
    json!({
        "sequence_number": rec.sequence_number,
        "event_id": rec.event_id,
        "event_name": rec.event_name.as_str(),
        "pk": rec.pk(),
        "sk": rec.sk(),
        "status": status,
        "outcome": outcome,
        "rows_updated": match r.map(|r| &r.outcome) { Some(Outcome::Updated(n)) => *n, _ => 0 },
        "retries": r.map_or(0, |r| r.retries),
        "retried": retried,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_without_arguments_serves_lambda() {
        let argv = |a: &[&str]| args(a.iter().map(OsString::from));
        assert_eq!(
            argv(&["/var/task/bootstrap"]),
            ["/var/task/bootstrap", "lambda"]
        );
        assert_eq!(argv(&["bootstrap", "--help"]), ["bootstrap", "--help"]);
        assert_eq!(argv(&["ddb"]), ["ddb"]);
    }

    #[test]
    fn everything_from_the_first_failure_is_retried() {
        assert_eq!(retried_from(&[]), 0);
        assert_eq!(retried_from(&[false, false]), 2);
        assert_eq!(retried_from(&[false, true, false, true]), 1);
        assert_eq!(retried_from(&[true, false]), 0);
    }

    /// A DynamoDB Streams event as Lambda delivers it (the shape of AWS's sample event).
    fn sample_event() -> Value {
        json!({"Records": [
            {
                "eventID": "c4ca4238a0b923820dcc509a6f75849b",
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "ca-central-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1767225600,
                    "Keys": {"pk": {"S": "MSG#g1"}, "sk": {"S": "2026-01-01T00:00:00.000000+00:00"}},
                    "NewImage": {
                        "pk": {"S": "MSG#g1"}, "sk": {"S": "2026-01-01T00:00:00.000000+00:00"},
                        "message": {"S": "hi"}, "n": {"N": "3"}, "tags": {"SS": ["a"]}
                    },
                    "SequenceNumber": "4421584500000000017450439091",
                    "SizeBytes": 26,
                    "StreamViewType": "NEW_IMAGE"
                },
                "eventSourceARN": "arn:aws:dynamodb:ca-central-1:111122223333:table/cruddur-messages/stream/2026-01-01T00:00:00.000"
            },
            {
                "eventID": "c81e728d9d4c2f636f067f89cc14862c",
                "eventName": "REMOVE",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "ca-central-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1767225601,
                    "Keys": {"pk": {"S": "MSG#g1"}, "sk": {"S": "2026-01-01T00:00:01.000000+00:00"}},
                    "SequenceNumber": "4421584600000000017450439092",
                    "SizeBytes": 38,
                    "StreamViewType": "NEW_IMAGE"
                },
                "eventSourceARN": "arn:aws:dynamodb:ca-central-1:111122223333:table/cruddur-messages/stream/2026-01-01T00:00:00.000"
            }
        ]})
    }

    #[test]
    fn our_parser_and_aws_lambda_events_read_a_lambda_event_alike() {
        let event = sample_event();
        let theirs: aws_lambda_events::event::dynamodb::Event =
            serde_json::from_value(event.clone()).expect("aws_lambda_events reads the event");
        let ours = record::parse_event(&event.to_string()).expect("we read the event");
        assert_eq!(ours.len(), theirs.records.len());
        for (o, t) in ours.iter().zip(&theirs.records) {
            assert_eq!(
                Some(o.sequence_number.as_str()),
                t.change.sequence_number.as_deref()
            );
            assert_eq!(o.event_name.as_str(), t.event_name);
            assert_eq!(o.keys.len(), t.change.keys.len());
            assert_eq!(
                o.new_image.as_ref().map_or(0, |i| i.len()),
                t.change.new_image.len()
            );
        }
    }

    #[test]
    fn the_response_has_lambdas_field_names() {
        let mut response = DynamoDbEventResponse::default();
        let mut f = DynamoDbBatchItemFailure::default();
        f.item_identifier = Some("42".into());
        response.batch_item_failures.push(f);
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"batchItemFailures": [{"itemIdentifier": "42"}]})
        );
    }
}
