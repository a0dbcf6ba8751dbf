//! Items written to stdout page by page, in the chosen format, as `scan`, `query` and `sql`
//! print them: a JSON array written incrementally (indented on a terminal, one item per line
//! on a pipe), one item per line, or tables of 100 rows (one column per attribute, the keys
//! first), each printed once full.

use std::io::Write;

use anyhow::Result;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use crate::model::item::{item_to_plain, item_to_typed, to_plain, to_typed, Item, Typed};
use crate::term::fit;
use crate::term::output::{self, OutputFormat, Style};
use crate::term::safe;
use crate::term::safe::terminal_safe;

/// Rows per printed table in table output: each chunk is printed as soon as it is full.
pub const TABLE_CHUNK: usize = 100;

/// What is left of a `--limit` while pages arrive: each page is cut to what is still wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Left(Option<u64>);

impl Left {
    /// `None`: no limit.
    pub fn new(limit: Option<u64>) -> Left {
        Left(limit)
    }

    /// Cut `items` to what is still wanted and count them; true when some were cut off.
    pub fn take(&mut self, items: &mut Vec<Item>) -> bool {
        let Some(n) = self.0.as_mut() else {
            return false;
        };
        let keep = usize::try_from(*n).unwrap_or(usize::MAX);
        let cut = items.len() > keep;
        items.truncate(keep);
        *n -= items.len() as u64;
        cut
    }

    /// Everything wanted is in hand.
    pub fn done(&self) -> bool {
        self.0 == Some(0)
    }

    /// Items still wanted; `None` without a limit.
    pub fn wanted(&self) -> Option<u64> {
        self.0
    }
}

/// Writes items to stdout page by page in the chosen format. Every write's io error is
/// returned (a closed pipe ends the command quietly in main). Also used by `query` and `sql`.
pub struct Sink {
    style: Style,
    raw: bool,
    written: u64,
    buf: Vec<u8>,
    /// Items of the table chunk being collected (at most `TABLE_CHUNK`).
    rows: Vec<Item>,
    /// The key attributes, shown first and never cut.
    keys: Vec<String>,
    /// Attributes to show first after the keys, in this order (`--select`).
    order: Vec<String>,
}

impl Sink {
    pub fn new(style: Style, raw: bool) -> Sink {
        Sink {
            style,
            raw,
            written: 0,
            buf: Vec::with_capacity(1 << 20),
            rows: Vec::new(),
            keys: vec!["pk".into(), "sk".into()],
            order: Vec::new(),
        }
    }

    /// Key columns other than pk/sk, for tables keyed differently.
    pub fn with_keys(mut self, partition: &str, sort: Option<&str>) -> Sink {
        self.keys = std::iter::once(partition)
            .chain(sort)
            .map(String::from)
            .collect();
        self
    }

    /// Columns in the order a projection named them (`--select sk,message`).
    pub fn with_order(mut self, select: Option<&str>) -> Sink {
        self.order = select_order(select);
        self
    }

    fn value(&self, item: &Item) -> Value {
        if self.raw {
            item_to_typed(item)
        } else {
            item_to_plain(item)
        }
    }

    pub fn page(&mut self, items: &[Item]) -> Result<()> {
        match self.style.format {
            OutputFormat::Table => {
                for item in items {
                    self.rows.push(item.clone());
                    self.written += 1;
                    if self.rows.len() == TABLE_CHUNK {
                        self.print_rows()?;
                    }
                }
                Ok(())
            }
            format => {
                self.buf.clear();
                let pretty = format == OutputFormat::Json && self.style.stdout_tty;
                for item in items {
                    if format == OutputFormat::Json {
                        self.buf
                            .extend_from_slice(if self.written == 0 { b"[\n" } else { b",\n" });
                    }
                    if pretty {
                        let value = self.value(item);
                        output::write_indented(&mut self.buf, &value)?;
                    } else if self.raw {
                        // Straight from the SDK's values: no `Value` built per item.
                        serde_json::to_writer(&mut self.buf, &Typed(item))?;
                    } else {
                        let value = self.value(item);
                        serde_json::to_writer(&mut self.buf, &value)?;
                    }
                    if format == OutputFormat::Ndjson {
                        self.buf.push(b'\n');
                    }
                    self.written += 1;
                }
                write_out(&self.buf)
            }
        }
    }

    /// Close the output (the JSON array, the last table chunk); returns the item count.
    pub fn finish(mut self) -> Result<u64> {
        match self.style.format {
            OutputFormat::Json if self.written == 0 => write_out(b"[]\n")?,
            OutputFormat::Json => write_out(b"\n]\n")?,
            OutputFormat::Table if !self.rows.is_empty() => self.print_rows()?,
            _ => {}
        }
        Ok(self.written)
    }

    /// One column per attribute, keys first and whole; on a terminal the widest values are
    /// cut to fit its width (`term::fit`), on a pipe each value to `fit::PIPE_MAX`.
    fn print_rows(&mut self) -> Result<()> {
        let (columns, keys) = columns(&self.rows, &self.keys, &self.order);
        let cells = cells(&self.rows, &columns, keys, self.raw);
        self.rows.clear();
        let headers: Vec<String> = columns
            .iter()
            .map(|c| terminal_safe(c).into_owned())
            .collect();
        let width = self.style.stdout_tty.then(|| self.style.width());
        let fitted = fit::fit(&headers, &cells, keys, width);
        let names: Vec<&str> = fitted.headers.iter().map(String::as_str).collect();
        let mut table = self.style.table(&names);
        for row in fitted.rows {
            table.add_row(row);
        }
        // Keys are never wrapped; `fit` left room for them.
        let key_columns = if fitted.stacked { 1 } else { keys };
        for i in 0..key_columns {
            if let Some(column) = table.column_mut(i) {
                column.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
            }
        }
        output::print_table(&table)?;
        if !fitted.left_out.is_empty() {
            let text = format!(
                "not shown: {} (use --select or -o json)",
                fitted.left_out.join(", ")
            );
            output::note(textwrap::fill(&text, self.style.width()));
        }
        Ok(())
    }
}

/// The attributes a `--select a,b` names, in its order.
pub fn select_order(select: Option<&str>) -> Vec<String> {
    select
        .unwrap_or("")
        .split(',')
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect()
}

/// The columns of some items: the keys any item has, then the `--select` order, then the
/// other attributes by name; and how many of them are keys.
pub fn columns(items: &[Item], keys: &[String], order: &[String]) -> (Vec<String>, usize) {
    let present = |name: &String| items.iter().any(|i| i.contains_key(name));
    let mut columns: Vec<String> = keys.iter().filter(|k| present(k)).cloned().collect();
    let key_count = columns.len();
    for name in order {
        if present(name) && !columns.contains(name) {
            columns.push(name.clone());
        }
    }
    let mut rest: Vec<&String> = items.iter().flat_map(|i| i.keys()).collect();
    rest.sort();
    rest.dedup();
    for name in rest {
        if !columns.contains(name) {
            columns.push(name.clone());
        }
    }
    (columns, key_count)
}

/// The items' cells under `columns` (the first `keys` are keys).
pub fn cells(items: &[Item], columns: &[String], keys: usize, raw: bool) -> Vec<Vec<String>> {
    items
        .iter()
        .map(|item| {
            columns
                .iter()
                .enumerate()
                .map(|(i, name)| cell(item.get(name), raw, i < keys))
                .collect()
        })
        .collect()
}

/// One attribute as a cell: strings as text, anything else as compact JSON; one line, made
/// safe for a terminal; a key whole, any other value cut to a bound (the width cuts it more).
fn cell(value: Option<&AttributeValue>, raw: bool, key: bool) -> String {
    let text = match value {
        None => return String::new(),
        Some(AttributeValue::S(s)) if !raw => s.clone(),
        Some(v) if raw => to_typed(v).to_string(),
        Some(v) => to_plain(v).to_string(),
    };
    if key {
        terminal_safe(&text).into_owned()
    } else {
        safe::truncate(&text, 400)
    }
}

fn write_out(bytes: &[u8]) -> Result<()> {
    output::with_stdout(|out| out.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<Item> {
        (0..n)
            .map(|i| Item::from([("pk".into(), AttributeValue::S(i.to_string()))]))
            .collect()
    }

    #[test]
    fn a_limit_cuts_the_page_that_reaches_it() {
        let mut left = Left::new(Some(5));
        let mut page = items(3);
        assert!(!left.take(&mut page));
        assert_eq!(
            (page.len(), left.wanted(), left.done()),
            (3, Some(2), false)
        );
        let mut page = items(3);
        assert!(left.take(&mut page), "one item cut off");
        assert_eq!((page.len(), left.done()), (2, true));
        let mut unlimited = Left::new(None);
        let mut page = items(7);
        assert!(!unlimited.take(&mut page));
        assert_eq!((page.len(), unlimited.done()), (7, false));
    }
}
