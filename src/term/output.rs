//! Output for people (tables, progress, colour) and for programs (JSON, NDJSON), from the same
//! data. stdout carries data; stderr carries progress and diagnostics.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;
use comfy_table::presets::{ASCII_MARKDOWN, UTF8_FULL_CONDENSED};
use comfy_table::{ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

/// How data is printed: a table for people, or JSON for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Ndjson,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Set once stdout's reader has gone (`ddb scan | head`): later writes are dropped.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// True once a write found stdout closed. Commands that stream output stop reading early;
/// everything else (checkpoints, summaries on stderr, the exit code) carries on as usual.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// The one way to write to stdout. A closed pipe is not an error: it is remembered, the
/// output is dropped, and the command finishes its work (a failure still fails, a checkpoint
/// is still saved). Any other write error is returned.
pub fn with_stdout(
    write: impl FnOnce(&mut io::StdoutLock<'static>) -> io::Result<()>,
) -> Result<()> {
    if stdout_closed() {
        return Ok(());
    }
    let mut out = io::stdout().lock();
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        r => Ok(r?),
    }
}

/// Decided once per process from `--output`, `--color`, `NO_COLOR` and whether we talk to a tty.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub format: OutputFormat,
    pub color: bool,
    /// stdout is a terminal: tables get box drawing and the terminal width.
    pub stdout_tty: bool,
    /// stderr is a terminal: progress bars and spinners are drawn.
    pub stderr_tty: bool,
    /// Width of the terminal on stdout (`$COLUMNS` when exported, else the tty's size);
    /// `None` off a terminal.
    pub columns: Option<usize>,
}

impl Style {
    pub fn decide(format: OutputFormat, color: ColorChoice) -> Style {
        let stdout_tty = stdout_is_terminal();
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                stdout_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        Style {
            format,
            color,
            stdout_tty,
            stderr_tty: io::stderr().is_terminal(),
            columns: stdout_tty.then(terminal_columns).flatten(),
        }
    }

    pub fn is_json(&self) -> bool {
        matches!(self.format, OutputFormat::Json | OutputFormat::Ndjson)
    }

    /// A table styled for where it goes: box drawing and width on a tty, plain markdown-like
    /// ASCII on a pipe so it stays greppable.
    pub fn table(&self, header: &[&str]) -> Table {
        let mut table = Table::new();
        if self.stdout_tty {
            // The width is set here, not detected by comfy-table, so that it holds with colour
            // off (force_no_tty also turns off its detection) and honours $COLUMNS.
            table
                .load_preset(UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(u16::try_from(self.width()).unwrap_or(u16::MAX));
        } else {
            table.load_preset(ASCII_MARKDOWN);
        }
        if !self.color {
            table.force_no_tty();
        }
        if !header.is_empty() {
            table.set_header(header.iter().copied());
        }
        table
    }

    /// Columns available on stdout: the terminal's width (at least 20), else 80.
    pub fn width(&self) -> usize {
        self.columns.map_or(80, |c| c.max(20))
    }

    /// Bold/dim text for labels when colour is on.
    pub fn bold(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    pub fn dim(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[2m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    pub fn green(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[32m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    pub fn red(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[31m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    pub fn yellow(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[33m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// A spinner on stderr, hidden when stderr is not a terminal.
    pub fn spinner(&self, message: impl Into<String>) -> ProgressBar {
        let bar = if self.stderr_tty {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("static template"),
        );
        bar.set_message(message.into());
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    }

    /// A progress bar on stderr for `len` units, hidden when stderr is not a terminal.
    pub fn progress(&self, len: u64, unit: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(
            Some(len),
            if self.stderr_tty {
                ProgressDrawTarget::stderr_with_hz(10)
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{bar:40}} {{human_pos}}/{{human_len}} {unit} ({{elapsed}}, about {{eta}} left)"
            ))
            .expect("static template"),
        );
        bar
    }
}

/// `$COLUMNS` when exported (a person or a test asking for a width), else the terminal's.
fn terminal_columns() -> Option<usize> {
    let exported = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    exported.or_else(|| {
        terminal_size::terminal_size()
            .map(|(terminal_size::Width(w), _)| usize::from(w))
            .filter(|&w| w > 0)
    })
}

/// Print a line to stdout.
pub fn line(text: impl AsRef<str>) -> Result<()> {
    with_stdout(|out| {
        out.write_all(text.as_ref().as_bytes())?;
        out.write_all(b"\n")
    })
}

/// Print a table (or any Display) to stdout.
pub fn print_table(table: &Table) -> Result<()> {
    line(table.to_string())
}

/// stdout is a terminal: JSON for a person to read is indented, JSON for a program compact.
pub fn stdout_is_terminal() -> bool {
    static TTY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TTY.get_or_init(|| io::stdout().is_terminal())
}

/// One JSON value indented by two spaces, as an element of an indented array.
pub fn write_indented(buf: &mut Vec<u8>, value: &serde_json::Value) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            buf.push(b'\n');
        }
        buf.extend_from_slice(b"  ");
        buf.extend_from_slice(line.as_bytes());
    }
    Ok(())
}

/// Print a serialisable value per the format: JSON (indented on a terminal, one compact line
/// on a pipe), or for ndjson one line per element when it is an array.
pub fn print_json<T: Serialize>(format: OutputFormat, value: &T) -> Result<()> {
    let v = serde_json::to_value(value)?;
    let pretty = stdout_is_terminal();
    with_stdout(|out| {
        match (format, v) {
            (OutputFormat::Ndjson, serde_json::Value::Array(items)) => {
                for item in items {
                    serde_json::to_writer(&mut *out, &item)?;
                    out.write_all(b"\n")?;
                }
            }
            (OutputFormat::Ndjson, other) => {
                serde_json::to_writer(&mut *out, &other)?;
                out.write_all(b"\n")?;
            }
            (_, other) if pretty => {
                serde_json::to_writer_pretty(&mut *out, &other)?;
                out.write_all(b"\n")?;
            }
            (_, other) => {
                serde_json::to_writer(&mut *out, &other)?;
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    })
}

/// Write to stderr without failing the command if stderr is gone.
pub fn note(text: impl AsRef<str>) {
    let _ = writeln!(io::stderr().lock(), "{}", text.as_ref());
}
