//! `ddb diff LEFT RIGHT`: two tables (on this target or others) or exports, compared item by
//! item, matched by key, in bounded memory (`transfer::diff`: an external sort to a temp
//! folder). A side that names an existing file or folder is an export; anything else is a
//! table (`table:NAME` makes a table of a name that is also a path).

use std::path::PathBuf;

use anyhow::Result;

use super::{Global, Run};
use crate::aws::client::TargetOptions;
use crate::aws::{parallel, table};
use crate::errors::Failure;
use crate::model::checked;
use crate::term::output::{self, OutputFormat, Style};
use crate::transfer::diff::show::{self, Stat};
use crate::transfer::diff::{self as engine, Difference, KeyNames, Options, Side};
use crate::transfer::export_read;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A table, or an export folder / data file (AWS's layout)
    #[arg(value_name = "LEFT")]
    pub left: String,

    /// The same for the other side
    #[arg(value_name = "RIGHT")]
    pub right: String,

    /// Leave ATTR out of the comparison (repeatable)
    #[arg(long, value_name = "ATTR")]
    pub ignore: Vec<String>,

    /// Compare which keys exist, not what the items hold
    #[arg(long)]
    pub keys_only: bool,

    /// Only items whose partition key starts with PREFIX, e.g. MSG#
    #[arg(long, value_name = "PREFIX", value_parser = checked::non_empty)]
    pub pk_prefix: Option<String>,

    /// Only counts, per kind and per partition-key prefix
    #[arg(long)]
    pub stat: bool,

    /// Exit 1 when the sides differ (as git diff --exit-code)
    #[arg(long)]
    pub exit_code: bool,

    /// Key attributes when no side is a table [default: pk,sk]
    #[arg(
        long,
        value_name = "NAMES",
        value_delimiter = ',',
        hide_short_help = true
    )]
    pub key: Vec<String>,

    /// Parallel scan segments per table side (1-64) [default: as scan]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64), hide_short_help = true)]
    pub segments: Option<u32>,

    #[command(flatten)]
    pub targets: Targets,
}

/// Where each side's table is, when not on the global target.
#[derive(Debug, clap::Args)]
pub struct Targets {
    /// The left table's endpoint, instead of the global target's
    #[arg(long, value_name = "URL", value_parser = checked::endpoint_url, hide_short_help = true)]
    pub left_endpoint_url: Option<String>,
    /// The left table's region (without --left-endpoint-url: on AWS)
    #[arg(long, value_name = "REGION", value_parser = checked::region, hide_short_help = true)]
    pub left_region: Option<String>,
    /// The left table's profile (without --left-endpoint-url: on AWS)
    #[arg(long, value_name = "NAME", hide_short_help = true)]
    pub left_profile: Option<String>,
    /// The right table's endpoint, instead of the global target's
    #[arg(long, value_name = "URL", value_parser = checked::endpoint_url, hide_short_help = true)]
    pub right_endpoint_url: Option<String>,
    /// The right table's region (without --right-endpoint-url: on AWS)
    #[arg(long, value_name = "REGION", value_parser = checked::region, hide_short_help = true)]
    pub right_region: Option<String>,
    /// The right table's profile (without --right-endpoint-url: on AWS)
    #[arg(long, value_name = "NAME", hide_short_help = true)]
    pub right_profile: Option<String>,
}

/// The global target with one side's options in place: each replaces its global counterpart,
/// and a side given a region or profile but no endpoint is on AWS.
fn side_target(
    global: &TargetOptions,
    endpoint: &Option<String>,
    region: &Option<String>,
    profile: &Option<String>,
) -> TargetOptions {
    if endpoint.is_none() && region.is_none() && profile.is_none() {
        return global.clone();
    }
    TargetOptions {
        local: false,
        endpoint_url: endpoint.clone(),
        region: region.clone().or_else(|| global.region.clone()),
        profile: profile.clone().or_else(|| global.profile.clone()),
    }
}

/// A side as named on the command line.
enum Named {
    Table(String),
    Export(PathBuf),
}

fn named(text: &str) -> Result<Named> {
    if let Some(table) = text.strip_prefix("table:") {
        return Ok(Named::Table(
            checked::table_name(table).map_err(|e| Failure::Usage(format!("{text}: {e}")))?,
        ));
    }
    let path = PathBuf::from(text);
    if path.exists() {
        return Ok(Named::Export(path));
    }
    match checked::table_name(text) {
        Ok(t) => Ok(Named::Table(t)),
        Err(e) => Err(Failure::Usage(format!(
            "'{}' is no file or folder, nor a table name ({e})",
            crate::term::safe::truncate(text, 200)
        ))
        .into()),
    }
}

/// A side ready to read, and for a table its key names.
async fn open(
    named: Named,
    target: TargetOptions,
    (args, global, run): (&Args, &Global, &Run),
) -> Result<(Side, Option<KeyNames>)> {
    match named {
        Named::Export(path) => Ok((Side::Export(Box::new(export_read::open(&path)?)), None)),
        Named::Table(name) => {
            let db = run.db_for(global, &target, &name).await?;
            let desc = table::describe_existing(&db).await?;
            let mut keys = vec![];
            for part in ["HASH", "RANGE"] {
                keys.extend(
                    desc.key_schema()
                        .iter()
                        .filter(|k| k.key_type().as_str() == part)
                        .map(|k| k.attribute_name().to_string()),
                );
            }
            let chosen = parallel::choose_segments(
                args.segments,
                false,
                db.target.local,
                desc.table_size_bytes(),
            );
            // Each side reads as a scan of its table would: DynamoDB Local's cost per item
            // falls with the segments, and the pages in hand are bounded per side.
            let segments = chosen;
            if global.verbose > 0 {
                output::note(format!(
                    "ddb: table '{name}': {segments} segments ({})",
                    parallel::why(args.segments, false, db.target.local)
                ));
            }
            Ok((Side::Table { db, segments }, Some(KeyNames(keys))))
        }
    }
}

/// stdout's reader went away (`ddb diff … | head`): stop comparing.
#[derive(Debug, thiserror::Error)]
#[error("stdout closed")]
struct Closed;

pub async fn run(args: Args, global: &Global, run: &Run) -> Result<()> {
    let t = &args.targets;
    let left_target = side_target(
        &global.target,
        &t.left_endpoint_url,
        &t.left_region,
        &t.left_profile,
    );
    let right_target = side_target(
        &global.target,
        &t.right_endpoint_url,
        &t.right_region,
        &t.right_profile,
    );
    let (left, right) = (named(&args.left)?, named(&args.right)?);
    let context = (&args, global, run);
    let (left, left_keys) = open(left, left_target, context).await?;
    let (right, right_keys) = open(right, right_target, context).await?;
    let keys = match (left_keys, right_keys) {
        (Some(l), Some(r)) if l != r => {
            return Err(Failure::Mismatch(format!(
                "the tables have different keys: {} on the left, {} on the right",
                l.0.join(", "),
                r.0.join(", ")
            ))
            .into())
        }
        (Some(k), _) | (None, Some(k)) => k,
        (None, None) if !args.key.is_empty() => KeyNames(args.key.clone()),
        (None, None) => KeyNames(vec!["pk".into(), "sk".into()]),
    };
    let opts = Options {
        ignore: args.ignore.clone(),
        keys_only: args.keys_only,
        pk_prefix: args.pk_prefix.clone(),
    };
    let style = global.style;
    let mut printer = Printer::new(style, &keys, &opts, args.stat);
    let compared = engine::compare(left, right, &keys, &opts, &std::env::temp_dir(), |d| {
        printer.take(&d)
    })
    .await;
    match compared {
        Err(e) if e.is::<Closed>() => return Ok(()),
        Err(e) => return Err(e),
        Ok(totals) => printer.stat.totals(&totals),
    }
    printer.finish()?;
    if args.exit_code && printer.stat.all.total() > 0 {
        return Err(Failure::Differ.into());
    }
    Ok(())
}

/// Differences to stdout as they are found; counted for `--stat` and the summary.
struct Printer<'a> {
    style: Style,
    keys: &'a KeyNames,
    opts: &'a Options,
    stat_only: bool,
    stat: Stat,
}

impl<'a> Printer<'a> {
    fn new(style: Style, keys: &'a KeyNames, opts: &'a Options, stat_only: bool) -> Printer<'a> {
        Printer {
            style,
            keys,
            opts,
            stat_only,
            stat: Stat::default(),
        }
    }

    fn take(&mut self, d: &Difference) -> Result<()> {
        let first = self.stat.all.total() == 0;
        self.stat.add(d, self.keys);
        if self.stat_only {
            return Ok(());
        }
        let text = match self.style.format {
            OutputFormat::Table => {
                show::lines(d, self.keys, &self.opts.ignore, &self.style).join("\n")
            }
            format => {
                let json = show::object(d, self.keys, &self.opts.ignore, self.opts.keys_only);
                match (format, first) {
                    (OutputFormat::Json, true) => format!("[\n{json}"),
                    (OutputFormat::Json, false) => format!(",\n{json}"),
                    _ => json.to_string(),
                }
            }
        };
        if self.style.format == OutputFormat::Json {
            output::with_stdout(|o| std::io::Write::write_all(o, text.as_bytes()))?;
        } else {
            output::line(text)?;
        }
        if output::stdout_closed() {
            return Err(Closed.into());
        }
        Ok(())
    }

    fn finish(&self) -> Result<()> {
        let none = self.stat.all.total() == 0;
        match (self.style.format, self.stat_only) {
            (OutputFormat::Table, true) => output::line(self.stat.table().join("\n")),
            (_, true) => output::print_json(self.style.format, &self.stat),
            (OutputFormat::Json, false) => output::line(if none { "[]" } else { "\n]" }),
            (OutputFormat::Ndjson, false) => Ok(()),
            (OutputFormat::Table, false) => {
                if !none {
                    output::note(self.stat.summary());
                }
                Ok(())
            }
        }
    }
}
