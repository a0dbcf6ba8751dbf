//! `--dead-letter FILE`: where a stream record that failed goes so the run can move past it,
//! like a Lambda event source mapping's on-failure destination. One JSON object per line: the
//! reason, where the record came from, and the record itself shaped as a Lambda event record,
//! so `jq -s '{Records: map(.record)}' FILE` is an event `simulate-stream --event` can retry.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::stream::event_json::lambda_record;
use crate::stream::record::StreamRecord;

pub struct DeadLetter {
    path: PathBuf,
    file: File,
    /// Lines written in this run.
    pub written: u64,
}

impl DeadLetter {
    /// Appends to FILE (created if missing): earlier runs' lines are kept.
    pub fn open(path: &Path) -> Result<DeadLetter> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening dead-letter file {}", path.display()))?;
        Ok(DeadLetter {
            path: path.to_path_buf(),
            file,
            written: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One line for one failed record.
    pub fn write(
        &mut self,
        rec: &StreamRecord,
        reason: &str,
        stream_arn: &str,
        shard_id: &str,
    ) -> Result<()> {
        let line = entry(rec, reason, stream_arn, shard_id, &now());
        writeln!(self.file, "{line}")
            .with_context(|| format!("writing dead-letter file {}", self.path.display()))?;
        self.written += 1;
        Ok(())
    }

    /// On disk before the checkpoint moves past the records written.
    pub fn sync(&mut self) -> Result<()> {
        self.file
            .flush()
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("writing dead-letter file {}", self.path.display()))
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The line for one record (pure, for tests).
pub fn entry(
    rec: &StreamRecord,
    reason: &str,
    stream_arn: &str,
    shard_id: &str,
    at: &str,
) -> Value {
    let record = lambda_record(rec, stream_arn);
    json!({
        "reason": reason,
        "failed_at": at,
        "stream_arn": stream_arn,
        "shard_id": shard_id,
        "sequence_number": rec.sequence_number,
        "record": record,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::record::parse_event;

    #[test]
    fn an_entry_holds_the_reason_and_a_record_the_event_parser_takes_back() {
        let event = r#"{"Records": [{"eventID": "e1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
            "dynamodb": {"SequenceNumber": "42", "Keys": {"pk": {"S": "MSG#g"}, "sk": {"S": "2026-01-01T00:00:00Z"}},
            "NewImage": {"pk": {"S": "MSG#g"}, "sk": {"S": "2026-01-01T00:00:00Z"}, "message": {"S": "hi"}}}}]}"#;
        let rec = &parse_event(event).unwrap()[0];
        let line = entry(rec, "too big", "arn:s", "shard-1", "2026-01-01T00:00:01Z");
        assert_eq!(line["reason"], "too big");
        assert_eq!(line["sequence_number"], "42");
        assert_eq!(line["shard_id"], "shard-1");
        let again = json!({ "Records": [line["record"].clone()] }).to_string();
        // Read from the stream, the record had no source ARN: the entry names the stream's.
        let mut expected = rec.clone();
        expected.event_source_arn = Some("arn:s".into());
        assert_eq!(parse_event(&again).unwrap()[0], expected);
    }
}
