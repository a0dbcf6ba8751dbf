//! `ddb query PK`: one partition of the table or of an index, with sort-key conditions as
//! flags, a filter whose names need no `#`, and a limit counted after the filter.

use anyhow::Result;

use super::Ctx;
use crate::errors::Failure;
use crate::read::explain::Explain;
use crate::read::keys::{self, KeySchema, TableKeys};
use crate::read::query::{plan, read_pages, what, QueryInput, SkCondition};
use crate::read::request::QueryRequest;
use crate::read::sink::Sink;
use crate::term::output;
use crate::term::output::OutputFormat;
use crate::term::plural;

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

    /// Sort key at most V
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

    /// Sort key at least V
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

    /// Sort key starting with P
    #[arg(
        long,
        value_name = "P",
        group = "sk",
        help_heading = "Sort key condition"
    )]
    pub sk_begins_with: Option<String>,

    /// Filter after the key condition, e.g. 'user_handle = :h'
    ///
    /// Attribute names need no #.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,

    /// The filter's values as JSON: '{":h": "bayko"}'
    #[arg(long, value_name = "JSON", requires = "filter")]
    pub values: Option<String>,

    /// Sort key descending (newest first for the Cruddur keys)
    #[arg(long)]
    pub desc: bool,

    /// Stop after N items, counted after the filter
    ///
    /// Pages are read until N match or the partition ends.
    #[arg(long, default_value_t = DEFAULT_LIMIT, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,

    /// Every item of the partition (instead of --limit)
    #[arg(long, conflicts_with = "limit")]
    pub all: bool,

    /// Only these attributes, e.g. sk,message
    #[arg(long, value_name = "ATTRS")]
    pub select: Option<String>,

    /// Strongly consistent read (not on a GSI)
    #[arg(long)]
    pub consistent: bool,

    /// Items as DynamoDB-typed JSON ({"S": "..."})
    #[arg(long)]
    pub raw: bool,

    /// Print the Query request and send nothing
    ///
    /// As JSON for `aws dynamodb query --cli-input-json`.
    #[arg(long)]
    pub explain: bool,
}

impl Args {
    /// What the user asked, for `read::query`.
    fn input(&self) -> QueryInput {
        QueryInput {
            pk: self.pk.clone(),
            index: self.index.clone(),
            sk: self.sk_condition(),
            filter: self.filter.clone(),
            values: self.values.clone(),
            desc: self.desc,
            limit: self.limit(),
            select: self.select.clone(),
            consistent: self.consistent,
        }
    }

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

/// `--explain`: the first request with the shipped key schema assumed; needs no client.
pub fn explain(args: &Args, table: &str) -> Result<Explain> {
    let assumed = TableKeys::assumed();
    let keys = assumed.of(table, args.index.as_deref()).map_err(|_| {
        Failure::InvalidInput(format!(
            "--explain assumes the shipped schema, whose only index is {}; the keys of index '{}' are unknown without DescribeTable (run without --explain)",
            crate::model::GROUP_INDEX,
            args.index.as_deref().unwrap_or_default()
        ))
    })?;
    let request = plan(&args.input(), table, keys)?;
    Ok(describe_plan(args, table, keys, &request))
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let table_keys = keys::describe(&ctx.db).await?;
    let keys = table_keys.of(&ctx.db.table, args.index.as_deref())?;
    let request = plan(&args.input(), &ctx.db.table, keys)?;
    let sort = table_keys.table.sort.as_ref().map(|k| k.name.as_str());
    let mut sink = Sink::new(ctx.style, args.raw)
        .with_keys(&table_keys.table.partition.name, sort)
        .with_order(args.select.as_deref());
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
            output::note(format!(
                "{} from {}",
                plural(written, "item"),
                plural(read.pages as u64, "page")
            ));
        }
    }
    if read.more {
        output::note(format!(
            "stopped at {}; more may match (--limit N or --all)",
            plural(written, "item")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::keys::Scalar;
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
        let r = plan(&a.input(), "t", &cruddur()).unwrap();
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
        let r = plan(&args(&["MSG#g", "--limit", "5"]).input(), "t", &cruddur()).unwrap();
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
            let r = plan(&args(&line).input(), "t", &cruddur()).unwrap();
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
            let e = plan(&args(line).input(), "t", keys).unwrap_err();
            assert!(e.to_string().starts_with(expected), "{line:?}: {e}");
            assert_eq!(crate::errors::exit_code_for(&e), code, "{line:?}: {e}");
        }
    }
}
