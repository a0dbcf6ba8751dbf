//! Small pieces the read commands share when showing data to people (local time, width,
//! truncation) and to programs (the `{uuid, display_name, handle, message, created_at}` row).

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, Datelike, Local};
use serde::Serialize;

use crate::model::parse_timestamp;
use crate::term::output::OutputFormat;
use crate::term::output::{self};
use crate::term::safe::terminal_safe;

/// One message or conversation as programs see it; field order is the documented key order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    pub uuid: String,
    pub display_name: String,
    pub handle: String,
    pub message: String,
    pub created_at: String,
}

/// Print rows as one JSON array (`json`: indented on a terminal, compact on a pipe) or one
/// compact object per line (`ndjson`). Each row is serialised directly, so the struct's field
/// order is the key order.
pub fn print_rows<T: Serialize>(format: OutputFormat, rows: &[T]) -> Result<()> {
    output::with_stdout(|out| {
        if format == OutputFormat::Ndjson {
            for row in rows {
                serde_json::to_writer(&mut *out, row)?;
                out.write_all(b"\n")?;
            }
        } else if output::stdout_is_terminal() {
            serde_json::to_writer_pretty(&mut *out, rows)?;
            out.write_all(b"\n")?;
        } else {
            serde_json::to_writer(&mut *out, rows)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    })
}

/// Rows written as they come, byte for byte what `print_rows` writes for all of them at once
/// (a pretty JSON array, or one object per line): for reads that never hold every row.
pub struct RowWriter {
    format: OutputFormat,
    written: u64,
}

impl RowWriter {
    pub fn new(format: OutputFormat) -> RowWriter {
        RowWriter { format, written: 0 }
    }

    pub fn row<T: Serialize>(&mut self, row: &T) -> Result<()> {
        let text = self.piece(row)?;
        output::with_stdout(|out| out.write_all(text.as_bytes()))
    }

    /// What `row` writes.
    fn piece<T: Serialize>(&mut self, row: &T) -> Result<String> {
        let mut text = if self.format == OutputFormat::Ndjson {
            serde_json::to_string(row)?
        } else {
            // An element of a pretty array: indented two more, after "[" or ",".
            let pretty = serde_json::to_string_pretty(row)?;
            let indented = pretty.replace('\n', "\n  ");
            let lead = if self.written == 0 { "[\n  " } else { ",\n  " };
            format!("{lead}{indented}")
        };
        if self.format == OutputFormat::Ndjson {
            text.push('\n');
        }
        self.written += 1;
        Ok(text)
    }

    /// Close the array (`[]` when there was no row).
    pub fn finish(self) -> Result<()> {
        let end = self.end();
        output::with_stdout(|out| out.write_all(end))
    }

    fn end(&self) -> &'static [u8] {
        match (self.format, self.written) {
            (OutputFormat::Ndjson, _) => b"",
            (_, 0) => b"[]\n",
            _ => b"\n]\n",
        }
    }
}

/// A sort-key timestamp in the local time zone; `None` when it does not parse (then callers
/// show the stored text as it is).
pub fn local_time(sk: &str) -> Option<DateTime<Local>> {
    parse_timestamp(sk).ok().map(|t| t.with_timezone(&Local))
}

/// `2026-03-04 05:06` in local time, or the raw value if it is not a timestamp.
pub fn local_datetime(sk: &str) -> String {
    local_time(sk).map_or_else(
        || terminal_safe(sk).into_owned(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

/// When, as short as it stays clear, in local time: `14:05` today, `Dec 3 14:05` this
/// year, `2025-12-03` before; the stored text if it is not a timestamp.
pub fn short_when(sk: &str, now: DateTime<Local>) -> String {
    let Some(t) = local_time(sk) else {
        return terminal_safe(sk).into_owned();
    };
    if t.date_naive() == now.date_naive() {
        t.format("%H:%M").to_string()
    } else if t.year() == now.year() {
        t.format("%b %-d %H:%M").to_string()
    } else {
        t.format("%Y-%m-%d").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unparsable_times_are_shown_as_stored() {
        assert_eq!(local_datetime("not a time"), "not a time");
        assert_eq!(local_datetime("x\u{7}"), "x\\u{7}");
        assert!(local_time("2026-03-04T05:06:07.000000+00:00").is_some());
    }

    #[test]
    fn when_is_as_short_as_it_stays_clear() {
        let now = local_time("2026-03-04T12:00:00+00:00").unwrap();
        let at = |s: &str| local_time(s).unwrap();
        assert_eq!(
            short_when("2026-03-04T11:30:00+00:00", now),
            at("2026-03-04T11:30:00+00:00").format("%H:%M").to_string()
        );
        assert_eq!(
            short_when("2026-01-02T11:30:00+00:00", now),
            at("2026-01-02T11:30:00+00:00")
                .format("%b %-d %H:%M")
                .to_string()
        );
        assert!(short_when("2025-06-02T11:30:00+00:00", now).starts_with("2025-06-0"));
        assert_eq!(short_when("not a time", now), "not a time");
    }

    #[test]
    fn rows_written_one_by_one_are_the_array_written_at_once() {
        let row = |n: &str| Row {
            uuid: n.into(),
            display_name: "d".into(),
            handle: "h".into(),
            message: "two\nlines".into(),
            created_at: "c".into(),
        };
        let rows = [row("1"), row("2"), row("3")];
        for (format, whole) in [
            (
                OutputFormat::Json,
                serde_json::to_string_pretty(&rows).unwrap() + "\n",
            ),
            (
                OutputFormat::Ndjson,
                rows.iter()
                    .map(|r| serde_json::to_string(r).unwrap() + "\n")
                    .collect(),
            ),
        ] {
            let mut w = RowWriter::new(format);
            let mut out: String = rows.iter().map(|r| w.piece(r).unwrap()).collect();
            out.push_str(std::str::from_utf8(w.end()).unwrap());
            assert_eq!(out, whole, "{format:?}");
        }
        let none = RowWriter::new(OutputFormat::Json);
        assert_eq!(none.end(), b"[]\n");
    }

    #[test]
    fn row_keys_keep_their_order() {
        let row = Row {
            uuid: "u".into(),
            display_name: "d".into(),
            handle: "h".into(),
            message: "m".into(),
            created_at: "c".into(),
        };
        assert_eq!(
            serde_json::to_string(&row).unwrap(),
            r#"{"uuid":"u","display_name":"d","handle":"h","message":"m","created_at":"c"}"#
        );
    }
}
