//! `ddb scan`: every item of the table, page by page, each page written out before the next is
//! needed, so memory stays flat however big the table is.

use std::io::Write;

use anyhow::Result;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::Ctx;
use crate::db::Target;
use crate::errors::{api_error, Subject};
use crate::item::{item_to_plain, item_to_typed, to_plain, Item};
use crate::output::OutputFormat;
use crate::output::{self, Style};
use crate::render;

/// Rows per printed table in table output: each chunk is printed as soon as it is full.
pub const TABLE_CHUNK: usize = 100;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Items as DynamoDB-typed JSON ({"S": "..."}) instead of plain JSON values
    #[arg(long)]
    pub raw: bool,

    /// Stop after N items
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,

    /// Parallel scan in N segments (1-64); their pages interleave in the output
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub segments: u32,

    /// Only items whose pk starts with PREFIX, e.g. MSG# or GRP# (a filter: every item is still read)
    #[arg(long, value_name = "PREFIX", value_parser = parse_prefix)]
    pub pk_prefix: Option<String>,
}

fn parse_prefix(s: &str) -> Result<String, String> {
    if s.is_empty() {
        Err("the prefix is empty".into())
    } else {
        Ok(s.to_string())
    }
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let mut pages = ScanPages::start(ctx, &args);
    let mut sink = Sink::new(ctx.style, args.raw);
    let mut left = args.limit;
    let mut page_count = 0usize;
    while left != Some(0) {
        let Some(page) = pages.next_page().await else {
            break;
        };
        let mut items = page?;
        page_count += 1;
        if let Some(n) = left.as_mut() {
            items.truncate(usize::try_from(*n).unwrap_or(usize::MAX));
            *n -= items.len() as u64;
        }
        sink.page(&items)?;
        if output::stdout_closed() {
            break; // `ddb scan | head`: nobody reads the rest
        }
    }
    // Stop the segment readers before the last write: nothing more is wanted.
    drop(pages);
    let written = sink.finish()?;
    if ctx.style.format == OutputFormat::Table {
        if written == 0 {
            let what = match &args.pk_prefix {
                Some(p) => format!(
                    "no items with pk starting with '{p}' in table {}",
                    ctx.db.table
                ),
                None => format!("no items in table {}", ctx.db.table),
            };
            output::line(what)?;
        } else {
            output::note(format!("{written} items from {page_count} page(s)"));
        }
    }
    Ok(())
}

/// Pages of a (parallel) scan as they arrive. Each segment is read by its own task and sends
/// whole pages through a small bounded channel, so at most a few pages are held at once, and a
/// slow reader of stdout slows the scan instead of filling memory. Dropping this stops the
/// tasks.
pub struct ScanPages {
    rx: mpsc::Receiver<Result<Vec<Item>>>,
    _tasks: JoinSet<()>,
}

struct Segment {
    client: aws_sdk_dynamodb::Client,
    target: Target,
    table: String,
    pk_prefix: Option<String>,
    /// (segment, total) for a parallel scan.
    segment: Option<(i32, i32)>,
    /// Items per request: only without a filter, where evaluated = returned.
    page_limit: Option<i32>,
}

impl ScanPages {
    pub fn start(ctx: &Ctx, args: &Args) -> ScanPages {
        let (tx, rx) = mpsc::channel(2);
        let mut tasks = JoinSet::new();
        let total = args.segments as i32;
        let page_limit = match (&args.pk_prefix, args.limit) {
            (None, Some(n)) => Some(i32::try_from(n).unwrap_or(i32::MAX)),
            _ => None,
        };
        for s in 0..total {
            let segment = Segment {
                client: ctx.db.dynamodb.clone(),
                target: ctx.db.target.clone(),
                table: ctx.db.table.clone(),
                pk_prefix: args.pk_prefix.clone(),
                segment: (total > 1).then_some((s, total)),
                page_limit,
            };
            tasks.spawn(segment.read(tx.clone()));
        }
        ScanPages { rx, _tasks: tasks }
    }

    /// The next non-empty page from any segment; `None` once every segment is done.
    pub async fn next_page(&mut self) -> Option<Result<Vec<Item>>> {
        self.rx.recv().await
    }
}

impl Segment {
    async fn read(self, tx: mpsc::Sender<Result<Vec<Item>>>) {
        let mut start: Option<Item> = None;
        loop {
            let mut request = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take())
                .set_limit(self.page_limit);
            if let Some(p) = &self.pk_prefix {
                request = request
                    .filter_expression("begins_with(#pk, :prefix)")
                    .expression_attribute_names("#pk", "pk")
                    .expression_attribute_values(":prefix", AttributeValue::S(p.clone()));
            }
            if let Some((segment, total)) = self.segment {
                request = request.segment(segment).total_segments(total);
            }
            let page = match request.send().await {
                Ok(page) => page,
                Err(e) => {
                    let err = api_error(&self.target, "Scan", Subject::Table(&self.table), e);
                    let _ = tx.send(Err(err)).await;
                    return;
                }
            };
            let next = page.last_evaluated_key;
            let items = page.items.unwrap_or_default();
            // A closed channel means the reader has what it wants.
            if !items.is_empty() && tx.send(Ok(items)).await.is_err() {
                return;
            }
            match next {
                Some(key) => start = Some(key),
                None => return,
            }
        }
    }
}

/// Writes items to stdout page by page in the chosen format. Every write's io error is
/// returned (a closed pipe ends the command quietly in main).
struct Sink {
    style: Style,
    raw: bool,
    written: u64,
    buf: Vec<u8>,
    rows: Vec<[String; 3]>,
}

impl Sink {
    fn new(style: Style, raw: bool) -> Sink {
        Sink {
            style,
            raw,
            written: 0,
            buf: Vec::with_capacity(1 << 20),
            rows: Vec::new(),
        }
    }

    fn value(&self, item: &Item) -> Value {
        if self.raw {
            item_to_typed(item)
        } else {
            item_to_plain(item)
        }
    }

    fn page(&mut self, items: &[Item]) -> Result<()> {
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
    fn finish(mut self) -> Result<u64> {
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
        let key = |name: &str| match item.get(name) {
            Some(AttributeValue::S(s)) => s.clone(),
            Some(v) => to_plain(v).to_string(),
            None => String::new(),
        };
        let mut value = self.value(item);
        if let Some(map) = value.as_object_mut() {
            // shift_remove keeps the other attributes in their sorted order.
            map.shift_remove("pk");
            map.shift_remove("sk");
        }
        // Cut once here (bounded memory per row); print_rows cuts again to fit the terminal.
        [
            key("pk"),
            key("sk"),
            render::truncate(&value.to_string(), 400),
        ]
    }

    /// Keys are never wrapped or cut (they are what a person copies); the attributes get the
    /// width that is left on a terminal, or 120 characters on a pipe.
    fn print_rows(&mut self) -> Result<()> {
        let chars = |s: &String| s.chars().count();
        let key_width = |i: usize| self.rows.iter().map(|r| chars(&r[i])).max().unwrap_or(0);
        let width = if self.style.stdout_tty {
            // 10 = the table's borders and padding around three columns.
            render::width(&self.style)
                .saturating_sub(key_width(0) + key_width(1) + 10)
                .max(20)
        } else {
            120
        };
        let mut table = self.style.table(&["pk", "sk", "attributes"]);
        for [pk, sk, attrs] in self.rows.drain(..) {
            table.add_row([pk, sk, render::truncate(&attrs, width)]);
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
