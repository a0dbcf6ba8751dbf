//! `ddb scan`: every item of the table, page by page, each page written out before the next is
//! needed, so memory stays flat however big the table is.

use anyhow::Result;
use aws_sdk_dynamodb::types::AttributeValue;

use super::Ctx;
use crate::aws::client::{self, TargetOptions};
use crate::aws::pages::Pages;
use crate::model::checked::Checked;
use crate::read::explain::Explain;
use crate::read::request::ScanRequest;
use crate::read::sink::{Left, Sink};
use crate::term::output::OutputFormat;
use crate::term::output::{self};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Items as DynamoDB-typed JSON ({"S": "..."}) instead of plain JSON values
    #[arg(long)]
    pub raw: bool,

    /// Stop after N items
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,

    /// Parallel scan in N segments (1-64; 1 = sequential); their pages interleave in the
    /// output. Default: see "Segments" below
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub segments: Option<u32>,

    /// Only items whose pk starts with PREFIX, e.g. MSG# or GRP# (a filter: every item is still read)
    #[arg(long, value_name = "PREFIX", value_parser = parse_prefix)]
    pub pk_prefix: Option<String>,

    /// Print the Scan request (segment 0's when parallel) as JSON for `aws dynamodb scan --cli-input-json` and send nothing
    #[arg(long)]
    pub explain: bool,
}

/// Segments without --segments on a local endpoint: DynamoDB Local answers one page at a time
/// per connection, so a sequential scan waits on its per-page cost. In `just bench`
/// (scripts/bench/25-scan.sh, 100,000 items) 8 segments ran 1.66x as fast as 4 and 16 no
/// faster than 8: 8 is where the engine's parallel ceiling is reached.
pub const LOCAL_SEGMENTS: u32 = 8;
/// On a remote table, one segment per this many bytes of DescribeTable's TableSizeBytes...
pub const REMOTE_BYTES_PER_SEGMENT: i64 = 128 << 20;
/// ...up to this many (each segment is one request in flight).
pub const REMOTE_MAX_SEGMENTS: u32 = 16;

/// How many segments a scan uses. `--segments` wins; `--limit` reads sequentially (a bounded
/// read needs a page or two, and parallel segments would each read a page); a local endpoint
/// gets LOCAL_SEGMENTS; a remote table one per 128 MiB it reports (1 when smaller or unknown).
pub fn choose_segments(
    explicit: Option<u32>,
    limit: Option<u64>,
    local: bool,
    size_bytes: Option<i64>,
) -> u32 {
    match (explicit, limit, local) {
        (Some(n), _, _) => n,
        (None, Some(_), _) => 1,
        (None, None, true) => LOCAL_SEGMENTS,
        (None, None, false) => {
            let size = size_bytes.unwrap_or(0).max(0);
            let n = size / REMOTE_BYTES_PER_SEGMENT;
            u32::try_from(n)
                .unwrap_or(u32::MAX)
                .clamp(1, REMOTE_MAX_SEGMENTS)
        }
    }
}

/// Segments for this run: a remote target without --segments or --limit costs one
/// DescribeTable for the table's size (if it fails, for lack of permission say, the scan
/// is sequential).
async fn segments_for(ctx: &Ctx, args: &Args) -> u32 {
    let local = ctx.db.target.local;
    if args.segments.is_some() || args.limit.is_some() || local {
        return choose_segments(args.segments, args.limit, local, None);
    }
    let size = match crate::read::keys::describe(&ctx.db).await {
        Ok(keys) => Some(keys.size_bytes),
        Err(e) => {
            if ctx.verbose > 0 {
                output::note(format!("ddb: scanning sequentially; no table size: {e:#}"));
            }
            None
        }
    };
    choose_segments(None, None, false, size)
}

/// The request segment `segment` of `total` starts with.
fn first_request(table: &str, args: &Args, segment: u32, total: u32) -> ScanRequest {
    let mut request = ScanRequest {
        table: table.to_string(),
        segment: (total > 1).then_some((segment as i32, total as i32)),
        // Items per request: only without a filter, where evaluated = returned.
        limit: match (&args.pk_prefix, args.limit) {
            (None, Some(n)) => Some(i32::try_from(n).unwrap_or(i32::MAX)),
            _ => None,
        },
        ..ScanRequest::default()
    };
    if let Some(p) = &args.pk_prefix {
        request.filter = Some("begins_with(#pk, :prefix)".into());
        request.bindings.names.insert("#pk".into(), "pk".into());
        request
            .bindings
            .values
            .insert(":prefix".into(), AttributeValue::S(p.clone()));
    }
    request
}

/// `--explain`: segment 0's first request; on a remote target without --segments the size
/// rule needs DescribeTable, so a sequential scan is shown and the rule is stated.
pub fn explain(args: &Args, target: &TargetOptions, table: &str) -> Result<Explain> {
    let local = client::resolve_endpoint(target, |k| std::env::var(k).ok())?
        .as_deref()
        .is_some_and(client::is_loopback);
    let total = choose_segments(args.segments, args.limit, local, None);
    let mut e = Explain::new("Scan", first_request(table, args, 0, total).cli_json());
    let why = match (args.segments, args.limit, local) {
        (Some(_), _, _) => "as --segments asked".to_string(),
        (None, Some(_), _) => "sequential because of --limit".to_string(),
        (None, None, true) => format!("{LOCAL_SEGMENTS} segments: the default on a local endpoint"),
        (None, None, false) => format!(
            "assumed sequential: on a remote table ddb would first send DescribeTable and use one segment per {} MiB of TableSizeBytes (up to {REMOTE_MAX_SEGMENTS})",
            REMOTE_BYTES_PER_SEGMENT >> 20
        ),
    };
    e = e.note(why);
    if total > 1 {
        e = e.note(format!(
            "segments 1 to {} send the same request with their own Segment, all at once",
            total - 1
        ));
    }
    Ok(e.note("later pages: the same request with ExclusiveStartKey = the previous page's LastEvaluatedKey, until the segment ends"))
}

fn parse_prefix(s: &str) -> Checked<String> {
    if s.is_empty() {
        Err("the prefix is empty".into())
    } else {
        Ok(s.to_string())
    }
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let segments = segments_for(ctx, &args).await;
    // Each segment is read by its own task, each page written out before more than a few are
    // held: memory stays flat however big the table is.
    let reads = (0..segments)
        .map(|s| {
            let request = first_request(&ctx.db.table, &args, s, segments);
            Pages::new(&ctx.db, request.builder(&ctx.db.dynamodb))
        })
        .collect();
    let mut pages = Pages::merged(reads);
    let mut sink = Sink::new(ctx.style, args.raw);
    if ctx.style.format == OutputFormat::Table {
        // The table's own key names for the key columns (a table keyed other than pk/sk, by
        // numbers say); without DescribeTable, pk and sk.
        if let Ok(keys) = crate::read::keys::describe(&ctx.db).await {
            let sort = keys.table.sort.as_ref().map(|k| k.name.as_str());
            sink = sink.with_keys(&keys.table.partition.name, sort);
        }
    }
    let mut left = Left::new(args.limit);
    let mut page_count = 0usize;
    while !left.done() {
        let Some(page) = pages.next().await? else {
            break;
        };
        let mut items = page.items.unwrap_or_default();
        if items.is_empty() {
            continue;
        }
        page_count += 1;
        left.take(&mut items);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_the_documented_rule() {
        assert_eq!(choose_segments(Some(1), None, true, None), 1);
        assert_eq!(choose_segments(Some(7), Some(5), false, Some(1 << 40)), 7);
        assert_eq!(choose_segments(None, Some(5), true, None), 1);
        assert_eq!(choose_segments(None, None, true, None), LOCAL_SEGMENTS);
        assert_eq!(choose_segments(None, None, false, None), 1);
        assert_eq!(choose_segments(None, None, false, Some(100 << 20)), 1);
        assert_eq!(choose_segments(None, None, false, Some(512 << 20)), 4);
        assert_eq!(
            choose_segments(None, None, false, Some(1 << 40)),
            REMOTE_MAX_SEGMENTS
        );
    }
}
