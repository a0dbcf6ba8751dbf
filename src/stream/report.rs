//! What `simulate-stream` prints: for people, one line per record that changed something or
//! failed (every record under `-v`) and a summary in plain words (under `-v` a second line
//! with skips by reason, retries and reading costs); with `--follow`, a line on stderr each
//! time it has caught up; for programs (`-o json`, `-o ndjson`), every record and the summary.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Value};

use crate::errors::Failure;
use crate::stream::outcome::{Outcome, RecordResult, Skip};
use crate::stream::record::StreamRecord;
use crate::term::output::{self, OutputFormat, Style};
use crate::term::safe::terminal_safe;
use crate::term::{plural, plural_of};

#[derive(Debug, Default, Serialize)]
pub struct Totals {
    pub processed: u64,
    pub messages: u64,
    pub updated: u64,
    pub rows_updated: u64,
    pub skipped: u64,
    pub skipped_by_reason: BTreeMap<String, u64>,
    pub failed: u64,
    pub dead_lettered: u64,
    pub retries: u64,
    pub rechecks: u64,
}

/// Per-record lines as they happen (table, ndjson) or collected (json), then the summary.
pub struct Report {
    style: Style,
    verbose: bool,
    started: Instant,
    pub totals: Totals,
    records: Vec<Value>,
    failures: Vec<String>,
    /// `waiting` has said so since the last record.
    waiting: bool,
}

/// The reason a record was skipped, without its details ("not a message", "older than
/// current"), to count skips by.
pub fn skip_reason(skip: &Skip) -> String {
    skip.kind().to_string()
}

impl Report {
    pub fn new(style: Style, verbose: bool, started: Instant) -> Report {
        Report {
            style,
            verbose,
            started,
            totals: Totals::default(),
            records: Vec::new(),
            failures: Vec::new(),
            waiting: false,
        }
    }

    /// One handled record; `dead_lettered` when its failure went to the dead-letter file.
    pub fn record(
        &mut self,
        rec: &StreamRecord,
        shard: Option<&str>,
        r: &RecordResult,
        dead_lettered: bool,
    ) -> Result<()> {
        self.waiting = false;
        let t = &mut self.totals;
        t.processed += 1;
        t.messages += u64::from(r.is_message);
        t.retries += u64::from(r.retries);
        t.rechecks += u64::from(r.rechecks);
        match &r.outcome {
            Outcome::Updated(n) => {
                t.updated += 1;
                t.rows_updated += *n as u64;
            }
            Outcome::Skipped(s) => {
                t.skipped += 1;
                *t.skipped_by_reason.entry(skip_reason(s)).or_default() += 1;
            }
            Outcome::Failed(_) => {
                t.failed += 1;
                t.dead_lettered += u64::from(dead_lettered);
                self.failures.push(rec.sequence_number.clone());
            }
        }
        let value = json!({
            "sequence_number": rec.sequence_number,
            "event_id": rec.event_id,
            "event_name": rec.event_name.as_str(),
            "shard_id": shard,
            "pk": rec.pk(),
            "sk": rec.sk(),
            "status": r.outcome.status(),
            "outcome": r.outcome.text(),
            "rows_updated": match r.outcome { Outcome::Updated(n) => n, _ => 0 },
            "retries": r.retries,
            "rechecks": r.rechecks,
            "dead_lettered": dead_lettered,
        });
        match self.style.format {
            OutputFormat::Json => self.records.push(value),
            OutputFormat::Ndjson => output::print_json(OutputFormat::Ndjson, &value)?,
            OutputFormat::Table => {
                let quiet = matches!(r.outcome, Outcome::Skipped(_)) && !self.verbose;
                if !quiet {
                    output::line(self.line(rec, r, dead_lettered))?;
                }
            }
        }
        Ok(())
    }

    fn line(&self, rec: &StreamRecord, r: &RecordResult, dead_lettered: bool) -> String {
        // Keys and reasons quote table text: shown to people only terminal-safe.
        let mut text = terminal_safe(&r.outcome.text()).into_owned();
        if dead_lettered {
            text.push_str(" (sent to the dead-letter file)");
        }
        let outcome = match r.outcome {
            Outcome::Updated(_) => self.style.green(&text),
            Outcome::Skipped(_) => self.style.dim(&text),
            Outcome::Failed(_) => self.style.yellow(&text),
        };
        let retries = match r.retries {
            0 => String::new(),
            1 => " (1 retry)".to_string(),
            n => format!(" ({n} retries)"),
        };
        format!(
            "{}  {:<6}  {} {}  {outcome}{retries}",
            self.style.dim(&terminal_safe(&rec.sequence_number)),
            // Event names come from the event file or stream as they are: never raw.
            terminal_safe(rec.event_name.as_str()),
            terminal_safe(rec.pk()),
            terminal_safe(rec.sk())
        )
    }

    /// The summary; `source` adds where the records came from and what reading cost.
    pub fn finish(&mut self, source: Value, interrupted: bool) -> Result<()> {
        let elapsed = self.started.elapsed().as_secs_f64();
        let t = &self.totals;
        let per_s = |n: u64| {
            if elapsed > 0.0 {
                (n as f64 / elapsed * 10.0).round() / 10.0
            } else {
                0.0
            }
        };
        let mut summary = serde_json::to_value(t)?;
        let extra = json!({
            "elapsed_s": (elapsed * 1000.0).round() / 1000.0,
            "records_per_s": per_s(t.processed),
            "messages_per_s": per_s(t.messages),
            "interrupted": interrupted,
        });
        for part in [extra, source.clone()] {
            if let Value::Object(m) = part {
                for (k, v) in m {
                    summary[k.as_str()] = v;
                }
            }
        }
        let failures: Vec<Value> = self
            .failures
            .iter()
            .map(|s| json!({"itemIdentifier": s}))
            .collect();
        match self.style.format {
            OutputFormat::Json => output::print_json(
                OutputFormat::Json,
                &json!({"records": self.records, "summary": summary, "batchItemFailures": failures}),
            )?,
            OutputFormat::Ndjson => output::print_json(
                OutputFormat::Ndjson,
                &json!({"summary": summary, "batchItemFailures": failures}),
            )?,
            OutputFormat::Table => output::line(self.style.bold(&self.summary_line(
                &source,
                elapsed,
                per_s(t.processed),
                interrupted,
            )))?,
        }
        Ok(())
    }

    /// The summary in plain words, and under `-v` a second line with the detail: skips by
    /// reason, retries, rate and what reading the stream cost.
    fn summary_line(&self, source: &Value, elapsed: f64, per_s: f64, interrupted: bool) -> String {
        let t = &self.totals;
        let moved = match t.updated {
            0 => "no rows moved".to_string(),
            n => format!(
                "{} moved {}",
                plural(n, "message"),
                plural(t.rows_updated, "row")
            ),
        };
        let mut line = format!(
            "read {} in {elapsed:.2} s: {moved}",
            plural(t.processed, "record"),
        );
        if t.skipped > 0 {
            line.push_str(&format!(", {} needed nothing", t.skipped));
        }
        if t.failed > 0 {
            line.push_str(&format!(", {} FAILED", t.failed));
            if let (Some(path), true) = (source["dead_letter"].as_str(), t.dead_lettered > 0) {
                line.push_str(&format!(
                    " ({} sent to {path}, checkpoint moved past them)",
                    t.dead_lettered
                ));
            }
        }
        if let Some(n) = source["held_shards"]
            .as_array()
            .map(Vec::len)
            .filter(|n| *n > 0)
        {
            line.push_str(&format!(
                "; the checkpoint stays before the first failure in {} (a rerun retries it)",
                plural(n as u64, "shard")
            ));
        }
        if interrupted {
            line.push_str(" (interrupted)");
        }
        if !self.verbose {
            return line;
        }
        let skipped: Vec<String> = t
            .skipped_by_reason
            .iter()
            .map(|(reason, n)| format!("{n} {reason}"))
            .collect();
        let mut detail = vec![format!(
            "{} ({})",
            plural(t.processed, "record"),
            plural(t.messages, "message")
        )];
        if !skipped.is_empty() {
            detail.push(format!("skipped: {}", skipped.join(", ")));
        }
        detail.push(plural_of(t.retries, "retry", "retries"));
        detail.push(format!("{per_s} records/s"));
        if let Some(calls) = source["get_records_calls"].as_u64() {
            detail.push(format!(
                "{}, {}",
                plural(calls, "GetRecords call"),
                plural_of(source["batches"].as_u64().unwrap_or(0), "batch", "batches")
            ));
        }
        format!("{line}\n{}", detail.join("; "))
    }

    /// With `--follow`, once every shard is read to its tip: say that it waits and how far it
    /// has read (stderr), once each time it catches up.
    pub fn waiting(&mut self) {
        if self.waiting {
            return;
        }
        self.waiting = true;
        output::note(format!(
            "{}  caught up: {} read, waiting for new ones (Ctrl-C stops)",
            chrono::Local::now().format("%H:%M:%S"),
            plural(self.totals.processed, "record"),
        ));
    }

    /// Exit 7 when any record failed, naming them like a partial batch response.
    pub fn exit_status(&self, dead_letter: Option<&str>) -> Result<()> {
        if self.failures.is_empty() {
            return Ok(());
        }
        let dead = match dead_letter {
            Some(path) if self.totals.dead_lettered > 0 => {
                format!("; {} sent to {path}", self.totals.dead_lettered)
            }
            _ => String::new(),
        };
        Err(Failure::Partial(format!(
            "{} of {} records failed{dead} (batchItemFailures: {})",
            self.failures.len(),
            self.totals.processed,
            self.failures.join(", ")
        ))
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_are_counted_by_reason_without_their_details() {
        assert_eq!(skip_reason(&Skip::OlderThanCurrent), "older than current");
        assert_eq!(
            skip_reason(&Skip::NotAMessage("GRP#x".into())),
            "not a message"
        );
        assert_eq!(skip_reason(&Skip::Remove), "remove");
    }
}
