//! Items written to stdout page by page, in the chosen format, as `scan`, `query` and `sql`
//! print them: a JSON array written incrementally, one item per line, or tables of 100 rows
//! (the keys, then the other attributes as one line of JSON), each printed once full.

use std::io::Write;

use anyhow::Result;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use crate::model::item::{item_to_plain, item_to_typed, to_plain, Item};
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
    rows: Vec<[String; 3]>,
    /// The key attributes shown as the table's first two columns.
    keys: [String; 2],
}

impl Sink {
    pub fn new(style: Style, raw: bool) -> Sink {
        Sink {
            style,
            raw,
            written: 0,
            buf: Vec::with_capacity(1 << 20),
            rows: Vec::new(),
            keys: ["pk".into(), "sk".into()],
        }
    }

    /// Key columns other than pk/sk, for tables keyed differently.
    pub fn with_keys(mut self, partition: &str, sort: Option<&str>) -> Sink {
        self.keys = [partition.to_string(), sort.unwrap_or("").to_string()];
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
                    self.rows.push(self.row(item));
                    self.written += 1;
                    if self.rows.len() == TABLE_CHUNK {
                        self.print_rows()?;
                    }
                }
                Ok(())
            }
            format => {
                self.buf.clear();
                for item in items {
                    let value = self.value(item);
                    if format == OutputFormat::Json {
                        self.buf
                            .extend_from_slice(if self.written == 0 { b"[\n" } else { b",\n" });
                    }
                    serde_json::to_writer(&mut self.buf, &value)?;
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

    /// pk, sk and the other attributes as one line of JSON, cut to fit.
    fn row(&self, item: &Item) -> [String; 3] {
        // Keys are shown whole but terminal-safe; the attributes go through render::truncate.
        let key = |name: &str| match item.get(name) {
            Some(AttributeValue::S(s)) => terminal_safe(s).into_owned(),
            Some(v) => terminal_safe(&to_plain(v).to_string()).into_owned(),
            None => String::new(),
        };
        let mut value = self.value(item);
        if let Some(map) = value.as_object_mut() {
            // shift_remove keeps the other attributes in their sorted order.
            map.shift_remove(&self.keys[0]);
            map.shift_remove(&self.keys[1]);
        }
        // Cut once here (bounded memory per row); print_rows cuts again to fit the terminal.
        [
            key(&self.keys[0]),
            key(&self.keys[1]),
            safe::truncate(&value.to_string(), 400),
        ]
    }

    /// Keys are never wrapped or cut (they are what a person copies); the attributes get the
    /// width that is left on a terminal, or 120 characters on a pipe. On a terminal too narrow
    /// for both keys side by side and 30 characters of attributes (80 columns: a message key
    /// is 40 + 32), the sort key goes under the partition key in one "pk / sk" column.
    fn print_rows(&mut self) -> Result<()> {
        let chars = |s: &String| s.chars().count();
        let key_width = |i: usize| self.rows.iter().map(|r| chars(&r[i])).max().unwrap_or(0);
        let (pk_width, sk_width) = (key_width(0), key_width(1));
        let total = self.style.width();
        // The table's borders and padding: 10 around three columns, 7 around two.
        let stacked = self.style.stdout_tty && total < pk_width + sk_width + 10 + 30;
        let width = match (self.style.stdout_tty, stacked) {
            (false, _) => 120,
            (true, false) => total.saturating_sub(pk_width + sk_width + 10).max(20),
            (true, true) => total.saturating_sub(pk_width.max(sk_width) + 7).max(20),
        };
        let [pk, sk] = &self.keys;
        if stacked {
            let mut table = self.style.table(&[&format!("{pk} / {sk}"), "attributes"]);
            for [pk, sk, attrs] in self.rows.drain(..) {
                table.add_row([format!("{pk}\n{sk}"), safe::truncate(&attrs, width)]);
            }
            if let Some(column) = table.column_mut(0) {
                column.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
            }
            return output::print_table(&table);
        }
        let mut table = self.style.table(&[pk, sk, "attributes"]);
        for [pk, sk, attrs] in self.rows.drain(..) {
            table.add_row([pk, sk, safe::truncate(&attrs, width)]);
        }
        for i in 0..2 {
            if let Some(column) = table.column_mut(i) {
                column.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
            }
        }
        output::print_table(&table)
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
