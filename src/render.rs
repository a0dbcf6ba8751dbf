//! Small pieces the read commands share when showing data to people (local time, width,
//! truncation) and to programs (the `{uuid, display_name, handle, message, created_at}` row).

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, Local};
use serde::Serialize;

use crate::model::parse_timestamp;
use crate::output::OutputFormat;
use crate::output::{self, Style};

/// One message or conversation as programs see it; field order is the documented key order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    pub uuid: String,
    pub display_name: String,
    pub handle: String,
    pub message: String,
    pub created_at: String,
}

/// Print rows as one pretty JSON array (`json`) or one compact object per line (`ndjson`).
/// Each row is serialised directly, so the struct's field order is the key order.
pub fn print_rows<T: Serialize>(format: OutputFormat, rows: &[T]) -> Result<()> {
    output::with_stdout(|out| {
        if format == OutputFormat::Ndjson {
            for row in rows {
                serde_json::to_writer(&mut *out, row)?;
                out.write_all(b"\n")?;
            }
        } else {
            serde_json::to_writer_pretty(&mut *out, rows)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    })
}

/// A sort-key timestamp in the local time zone; `None` when it does not parse (then callers
/// show the stored text as it is).
pub fn local_time(sk: &str) -> Option<DateTime<Local>> {
    parse_timestamp(sk).ok().map(|t| t.with_timezone(&Local))
}

/// `2026-03-04 05:06` in local time, or the raw value if it is not a timestamp.
pub fn local_datetime(sk: &str) -> String {
    local_time(sk).map_or_else(
        || sk.to_string(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

/// Columns available on stdout: the terminal's width on a tty, else 80.
pub fn width(style: &Style) -> usize {
    if style.stdout_tty {
        if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
            return usize::from(w).max(20);
        }
    }
    80
}

/// One line of at most `max` characters: newlines become spaces, and a cut ends in `…`.
pub fn truncate(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_counts_characters_and_flattens_lines() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("a\nb", 10), "a b");
        assert_eq!(truncate("héllo wörld", 6), "héllo…");
        assert_eq!(truncate("héllo", 5), "héllo");
    }

    #[test]
    fn unparsable_times_are_shown_as_stored() {
        assert_eq!(local_datetime("not a time"), "not a time");
        assert!(local_time("2026-03-04T05:06:07.000000+00:00").is_some());
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
