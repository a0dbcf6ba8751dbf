//! `ddb scan`: every item of the table, page by page, each page written out before the next is
//! needed, so memory stays flat however big the table is.

use anyhow::Result;
use aws_sdk_dynamodb::types::AttributeValue;

use super::Ctx;
use crate::aws::client::{self, TargetOptions};
use crate::aws::pages::Pages;
use crate::aws::parallel::{self, choose_segments};
use crate::model::checked::Checked;
use crate::read::explain::Explain;
use crate::read::request::ScanRequest;
use crate::read::sink::{Left, Sink};
use crate::term::output::OutputFormat;
use crate::term::output::{self};
use crate::term::plural;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Items as DynamoDB-typed JSON ({"S": "..."})
    #[arg(long)]
    pub raw: bool,

    /// Stop after N items
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,

    /// Parallel scan in N segments (1-64; 1 = sequential)
    ///
    /// Their pages interleave in the output. Default: see "Segments" above.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub segments: Option<u32>,

    /// Only items whose pk starts with PREFIX, e.g. MSG#
    ///
    /// A filter: every item is still read.
    #[arg(long, value_name = "PREFIX", value_parser = parse_prefix)]
    pub pk_prefix: Option<String>,

    /// Print the Scan request and send nothing
    ///
    /// Segment 0's when parallel, as JSON for `aws dynamodb scan --cli-input-json`.
    #[arg(long)]
    pub explain: bool,
}

/// Segments for this run: a remote target without --segments or --limit costs one
/// DescribeTable for the table's size (if it fails, for lack of permission say, the scan
/// is sequential).
async fn segments_for(ctx: &Ctx, args: &Args) -> u32 {
    let local = ctx.db.target.local;
    if args.segments.is_some() || args.limit.is_some() || local {
        return choose_segments(args.segments, args.limit.is_some(), local, None);
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
    choose_segments(None, false, false, size)
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
    let limited = args.limit.is_some();
    let total = choose_segments(args.segments, limited, local, None);
    let mut e = Explain::new("Scan", first_request(table, args, 0, total).cli_json());
    let why = match (args.segments, limited, local) {
        (None, false, false) => format!(
            "assumed sequential: on a remote table ddb would first send DescribeTable and use {}",
            parallel::why(None, false, false)
        ),
        (explicit, limited, local) => parallel::why(explicit, limited, local),
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
            output::note(format!(
                "{} from {}",
                plural(written, "item"),
                plural(page_count as u64, "page")
            ));
        }
    }
    Ok(())
}
