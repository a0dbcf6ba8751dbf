//! `ddb query PK`: one partition of the table or of an index, with sort-key conditions as
//! flags, a filter whose names need no `#`, and a limit counted after the filter.

use anyhow::Result;
use aws_sdk_dynamodb::types::AttributeValue;

use super::Ctx;
use crate::aws::db::Db;
use crate::aws::pages::Pages;
use crate::errors::Failure;
use crate::model::item::{from_plain, Item};
use crate::read::explain::Explain;
use crate::read::expr::{self, Names};
use crate::read::keys::{self, KeySchema, Scalar, TableKeys};
use crate::read::request::{Bindings, QueryRequest};
use crate::read::sink::{Left, Sink};
use crate::term::output;
use crate::term::output::OutputFormat;

/// Items per query without --limit or --all.
pub const DEFAULT_LIMIT: u64 = 100;

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("sk").multiple(false))]
pub struct Args {
    /// Partition key value: of the table, or of the index with --index
    #[arg(value_name = "PK", allow_negative_numbers = true)]
    pub pk: String,

    /// Query this index (global or local) instead of the table
    #[arg(long, value_name = "NAME")]
    pub index: Option<String>,

    /// Sort key equal to V
    #[arg(
        long,
        value_name = "V",
        group = "sk",
        help_heading = "Sort key condition"
    )]
    pub sk_eq: Option<String>,

    /// Sort key less than V
    #[arg(
        long,
        value_name = "V",
        group = "sk",
        help_heading = "Sort key condition"
    )]
    pub sk_lt: Option<String>,

    /// Sort key less than or equal to V
    #[arg(
        long,
        value_name = "V",
        group = "sk",
        help_heading = "Sort key condition"
    )]
    pub sk_le: Option<String>,

    /// Sort key greater than V
    #[arg(
        long,
        value_name = "V",
        group = "sk",
        help_heading = "Sort key condition"
    )]
    pub sk_gt: Option<String>,

    /// Sort key greater than or equal to V
    #[arg(
        long,
        value_name = "V",
        group = "sk",
        help_heading = "Sort key condition"
    )]
    pub sk_ge: Option<String>,

    /// Sort key between A and B, both inclusive
    #[arg(long, num_args = 2, value_names = ["A", "B"], group = "sk", help_heading = "Sort key condition")]
    pub sk_between: Option<Vec<String>>,

    /// Sort key starting with P (string and binary sort keys)
    #[arg(
        long,
        value_name = "P",
        group = "sk",
        help_heading = "Sort key condition"
    )]
    pub sk_begins_with: Option<String>,

    /// Filter applied after the key condition, e.g. 'user_handle = :h' (names need no #)
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,

    /// The filter's values as plain JSON, e.g. '{":h": "bayko"}'
    #[arg(long, value_name = "JSON", requires = "filter")]
    pub values: Option<String>,

    /// Sort key descending (newest first for the Cruddur keys)
    #[arg(long)]
    pub desc: bool,

    /// Stop after N items, counted after the filter (pages are read until N match)
    #[arg(long, default_value_t = DEFAULT_LIMIT, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,

    /// Every item of the partition, all pages (instead of --limit)
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,

    /// Only these attributes, comma-separated, e.g. sk,message (a projection)
    #[arg(long, value_name = "ATTRS")]
    pub select: Option<String>,

    /// Strongly consistent read (tables and local indexes only)
    #[arg(long)]
    pub consistent: bool,

    /// Items as DynamoDB-typed JSON ({"S": "..."}) instead of plain JSON values
    #[arg(long)]
    pub raw: bool,

    /// Print the Query request as JSON for `aws dynamodb query --cli-input-json` and send nothing
    #[arg(long)]
    pub explain: bool,
}

/// A sort-key condition as typed on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
enum SkCondition {
    Compare(&'static str, &'static str, String),
    Between(String, String),
    BeginsWith(String),
}

impl Args {
    fn sk_condition(&self) -> Option<SkCondition> {
        let cmp =
            |op, flag, v: &Option<String>| v.clone().map(|v| SkCondition::Compare(op, flag, v));
        cmp("=", "--sk-eq", &self.sk_eq)
            .or_else(|| cmp("<", "--sk-lt", &self.sk_lt))
            .or_else(|| cmp("<=", "--sk-le", &self.sk_le))
            .or_else(|| cmp(">", "--sk-gt", &self.sk_gt))
            .or_else(|| cmp(">=", "--sk-ge", &self.sk_ge))
            .or_else(|| {
                self.sk_between
                    .as_ref()
                    .map(|v| SkCondition::Between(v[0].clone(), v[1].clone()))
            })
            .or_else(|| self.sk_begins_with.clone().map(SkCondition::BeginsWith))
    }

    fn limit(&self) -> Option<u64> {
        (!self.all).then_some(self.limit)
    }
}

/// Wrong for the table's keys (known from DescribeTable, or assumed by --explain): exit 8.
fn invalid(message: String) -> anyhow::Error {
    Failure::InvalidInput(message).into()
}

/// A malformed option value, wrong whatever the table: a usage error (exit 2).
fn usage(message: String) -> anyhow::Error {
    Failure::Usage(message).into()
}

/// Value names the key condition uses; --values may not reuse them.
const KEY_VALUES: [&str; 4] = [":pk", ":sk", ":sk_lo", ":sk_hi"];

/// `--values` as plain JSON: an object of `:name` to value.
pub fn parse_values(text: &str) -> Result<Vec<(String, AttributeValue)>> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        usage(format!(
            "--values: not JSON ({e}); e.g. '{{\":h\": \"bayko\"}}'"
        ))
    })?;
    let serde_json::Value::Object(map) = value else {
        return Err(usage(
            "--values: expected a JSON object like {\":h\": \"bayko\"}".into(),
        ));
    };
    map.iter()
        .map(|(k, v)| {
            if !k.starts_with(':') || k.len() < 2 {
                return Err(usage(format!(
                    "--values: key '{k}' must start with ':' (as the filter refers to it)"
                )));
            }
            Ok((k.clone(), from_plain(v)))
        })
        .collect()
}

/// The first Query request (ExclusiveStartKey unset) from the arguments and the key schema.
/// Every check that needs no request happens here (exit 8).
fn plan(args: &Args, table: &str, keys: &KeySchema) -> Result<QueryRequest> {
    let mut names = Names::default();
    let mut bindings = Bindings::default();
    let pk = &keys.partition;
    let mut condition = format!("{} = :pk", names.placeholder(&pk.name));
    bindings
        .values
        .insert(":pk".into(), pk.value(&args.pk, "PK")?);
    if let Some(sk_condition) = args.sk_condition() {
        let Some(sk) = &keys.sort else {
            return Err(invalid(format!(
                "{}: {} has no sort key (its key is {})",
                flag_of(&sk_condition),
                what(table, args.index.as_deref()),
                keys.describe()
            )));
        };
        let name = names.placeholder(&sk.name);
        let flag = flag_of(&sk_condition);
        let text = match &sk_condition {
            SkCondition::Compare(op, _, v) => {
                bindings.values.insert(":sk".into(), sk.value(v, flag)?);
                format!("{name} {op} :sk")
            }
            SkCondition::Between(a, b) => {
                bindings.values.insert(":sk_lo".into(), sk.value(a, flag)?);
                bindings.values.insert(":sk_hi".into(), sk.value(b, flag)?);
                format!("{name} BETWEEN :sk_lo AND :sk_hi")
            }
            SkCondition::BeginsWith(p) => {
                if sk.scalar == Scalar::N {
                    return Err(invalid(format!(
                        "--sk-begins-with: sort key '{}' is a number; begins_with works on strings and binary (use --sk-between)",
                        sk.name
                    )));
                }
                bindings.values.insert(":sk".into(), sk.value(p, flag)?);
                format!("begins_with({name}, :sk)")
            }
        };
        condition = format!("{condition} AND {text}");
    }
    let filter = match &args.filter {
        Some(f) => {
            let rewritten =
                expr::rewrite(f, &mut names, "--filter").map_err(|e| usage(format!("{e:#}")))?;
            let given = match &args.values {
                Some(v) => parse_values(v)?,
                None => Vec::new(),
            };
            for (k, v) in given {
                if KEY_VALUES.contains(&k.as_str()) {
                    return Err(usage(format!(
                        "--values: {k} is taken by the key condition; name the value differently"
                    )));
                }
                if !rewritten.values.contains(&k) {
                    return Err(usage(format!(
                        "--values: {k} is not used in --filter (DynamoDB rejects unused values)"
                    )));
                }
                bindings.values.insert(k, v);
            }
            if let Some(missing) = rewritten
                .values
                .iter()
                .find(|v| !bindings.values.contains_key(*v))
            {
                return Err(usage(format!(
                    "--filter uses {missing} but --values does not define it, e.g. --values '{{\"{missing}\": \"...\"}}'"
                )));
            }
            Some(rewritten.text)
        }
        None => None,
    };
    let projection = expr::select(args.select.as_deref(), &mut names)?;
    bindings.names = names.map().clone();
    Ok(QueryRequest {
        table: table.to_string(),
        index: args.index.clone(),
        key_condition: condition,
        forward: !args.desc,
        // DynamoDB applies Limit before the filter: with one, ddb counts matches itself.
        limit: match (&filter, args.limit()) {
            (None, Some(n)) => Some(i32::try_from(n).unwrap_or(i32::MAX)),
            _ => None,
        },
        filter,
        projection,
        bindings,
        consistent: args.consistent,
        ..QueryRequest::default()
    })
}

fn flag_of(c: &SkCondition) -> &'static str {
    match c {
        SkCondition::Compare(_, flag, _) => flag,
        SkCondition::Between(..) => "--sk-between",
        SkCondition::BeginsWith(_) => "--sk-begins-with",
    }
}

fn what(table: &str, index: Option<&str>) -> String {
    match index {
        Some(i) => format!("index '{i}' of table '{table}'"),
        None => format!("table '{table}'"),
    }
}

/// `--explain`: the first request with the shipped key schema assumed; needs no client.
pub fn explain(args: &Args, table: &str) -> Result<Explain> {
    let assumed = TableKeys::assumed();
    let keys = assumed.of(table, args.index.as_deref()).map_err(|_| {
        invalid(format!(
            "--explain assumes the shipped schema, whose only index is {}; the keys of index '{}' are unknown without DescribeTable (run without --explain)",
            crate::model::GROUP_INDEX,
            args.index.as_deref().unwrap_or_default()
        ))
    })?;
    let request = plan(args, table, keys)?;
    Ok(describe_plan(args, table, keys, &request))
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let table_keys = keys::describe(&ctx.db).await?;
    let keys = table_keys.of(&ctx.db.table, args.index.as_deref())?;
    let request = plan(&args, &ctx.db.table, keys)?;
    let sort = table_keys.table.sort.as_ref().map(|k| k.name.as_str());
    let mut sink = Sink::new(ctx.style, args.raw).with_keys(&table_keys.table.partition.name, sort);
    let read = read_pages(&ctx.db, request, args.limit(), |items| sink.page(items)).await?;
    let written = sink.finish()?;
    if ctx.style.format == OutputFormat::Table {
        if written == 0 {
            output::line(format!(
                "no items with {} = {} in {}",
                keys.partition.name,
                args.pk,
                what(&ctx.db.table, args.index.as_deref())
            ))?;
        } else {
            output::note(format!("{written} items from {} page(s)", read.pages));
        }
    }
    if read.more {
        output::note(format!(
            "stopped at {written} items; more may match (--limit N or --all)"
        ));
    }
    Ok(())
}

fn describe_plan(args: &Args, table: &str, keys: &KeySchema, request: &QueryRequest) -> Explain {
    let mut e = Explain::new("Query", request.cli_json()).note(format!(
        "assumed: {} is keyed {} as in fixtures/schema.json; --explain sends no DescribeTable, so this was not checked",
        what(table, args.index.as_deref()),
        keys.describe()
    ));
    let until = match args.limit() {
        Some(n) if args.filter.is_some() => format!(
            "until {n} items pass the filter (Limit is left out: DynamoDB applies it before the filter)"
        ),
        Some(n) => format!("until {n} items are read"),
        None => "until the partition ends (--all)".to_string(),
    };
    e = e.note(format!(
        "later pages: the same request with ExclusiveStartKey = the previous page's LastEvaluatedKey{}, {until}",
        if request.limit.is_some() {
            " and Limit = the items still missing"
        } else {
            ""
        }
    ));
    e
}

/// What reading the pages found.
pub struct Read {
    pub pages: usize,
    /// Stopped at the limit while DynamoDB had more to read.
    pub more: bool,
}

/// Send `request` page after page, handing each page's items to `out`, until `limit` items
/// (after the filter) are out or the partition ends.
pub async fn read_pages(
    db: &Db,
    request: QueryRequest,
    limit: Option<u64>,
    mut out: impl FnMut(&[Item]) -> Result<()>,
) -> Result<Read> {
    let unfiltered = request.limit.is_some();
    let mut pages = Pages::new(db, request.builder(&db.dynamodb)).from_user_input();
    if let Some(index) = &request.index {
        pages = pages.on_index(index);
    }
    let mut left = Left::new(limit);
    let mut cut = false;
    while let Some(page) = pages.next().await? {
        let mut items = page.items.unwrap_or_default();
        cut = left.take(&mut items);
        out(&items)?;
        // A closed stdout (`ddb query … | head`) wants no more pages.
        if left.done() || output::stdout_closed() {
            break;
        }
        if let (true, Some(n)) = (unfiltered, left.wanted()) {
            // Without a filter, ask for no more than are still missing.
            pages.update(|q| q.limit(i32::try_from(n).unwrap_or(i32::MAX)));
        }
    }
    Ok(Read {
        pages: pages.pages(),
        more: cut || pages.more(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn args(line: &[&str]) -> Args {
        Cli::try_parse_from(std::iter::once("query").chain(line.iter().copied()))
            .unwrap()
            .args
    }

    fn cruddur() -> KeySchema {
        TableKeys::assumed().table
    }

    #[test]
    fn key_condition_filter_and_projection_share_placeholders() {
        let a = args(&[
            "MSG#g",
            "--sk-between",
            "2026-01",
            "2026-02",
            "--filter",
            "user_handle = :h and sk <> :x",
            "--values",
            r#"{":h": "bayko", ":x": "z"}"#,
            "--select",
            "sk,message",
            "--desc",
            "--limit",
            "5",
        ]);
        let r = plan(&a, "t", &cruddur()).unwrap();
        assert_eq!(
            r.key_condition,
            "#pk = :pk AND #sk BETWEEN :sk_lo AND :sk_hi"
        );
        assert_eq!(r.filter.as_deref(), Some("#user_handle = :h AND #sk <> :x"));
        assert_eq!(r.projection.as_deref(), Some("#sk,#message"));
        assert_eq!(r.bindings.names.len(), 4);
        assert_eq!(r.bindings.values.len(), 5);
        assert!(!r.forward);
        assert_eq!(r.limit, None, "a filter leaves Limit out");
        let r = plan(&args(&["MSG#g", "--limit", "5"]), "t", &cruddur()).unwrap();
        assert_eq!(r.limit, Some(5));
        assert!(r.forward);
    }

    #[test]
    fn each_operator_has_its_condition() {
        let cases = [
            (vec!["--sk-eq", "a"], "#sk = :sk"),
            (vec!["--sk-lt", "a"], "#sk < :sk"),
            (vec!["--sk-le", "a"], "#sk <= :sk"),
            (vec!["--sk-gt", "a"], "#sk > :sk"),
            (vec!["--sk-ge", "a"], "#sk >= :sk"),
            (vec!["--sk-begins-with", "a"], "begins_with(#sk, :sk)"),
        ];
        for (flags, expected) in cases {
            let mut line = vec!["P"];
            line.extend(flags);
            let r = plan(&args(&line), "t", &cruddur()).unwrap();
            assert_eq!(r.key_condition, format!("#pk = :pk AND {expected}"));
        }
    }

    #[test]
    fn bad_input_is_caught_before_any_request() {
        let numeric = KeySchema {
            partition: crate::read::keys::KeyAttr {
                name: "id".into(),
                scalar: Scalar::N,
            },
            sort: None,
        };
        // Wrong for the table's keys: invalid input (8); malformed whatever the table: usage (2).
        let cases: [(&[&str], &KeySchema, &str, u8); 6] = [
            (
                &["abc"],
                &numeric,
                "PK: 'abc' does not fit key attribute 'id' of type N",
                8,
            ),
            (
                &["1", "--sk-eq", "x"],
                &numeric,
                "--sk-eq: table 't' has no sort key",
                8,
            ),
            (
                &["P", "--filter", "a = :a"],
                &cruddur(),
                "--filter uses :a but --values",
                2,
            ),
            (
                &["P", "--filter", "a = :a", "--values", r#"{":a":1,":b":2}"#],
                &cruddur(),
                "--values: :b is not used",
                2,
            ),
            (
                &["P", "--filter", "a = :pk", "--values", r#"{":pk":1}"#],
                &cruddur(),
                "--values: :pk is taken",
                2,
            ),
            (
                &["P", "--select", "a,:b"],
                &cruddur(),
                "--select: :b is a value",
                2,
            ),
        ];
        for (line, keys, expected, code) in cases {
            let e = plan(&args(line), "t", keys).unwrap_err();
            assert!(e.to_string().starts_with(expected), "{line:?}: {e}");
            assert_eq!(crate::errors::exit_code_for(&e), code, "{line:?}: {e}");
        }
    }
}
