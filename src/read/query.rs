//! `ddb query`'s reads as the library sees them: what the user asked (`QueryInput`: a
//! partition key, a sort-key condition, a filter whose names need no `#`, a projection),
//! checked against the key schema into the first `QueryRequest` before any request, and its
//! pages read through `aws::pages` with a limit counted after the filter.

use anyhow::Result;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::aws::db::Db;
use crate::aws::pages::Pages;
use crate::errors::Failure;
use crate::model::item::{from_plain, Item};
use crate::read::expr::{self, Names};
use crate::read::keys::{KeySchema, Scalar};
use crate::read::request::{Bindings, QueryRequest};
use crate::read::sink::Left;
use crate::term::output;

/// A sort-key condition as typed on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkCondition {
    /// (operator, the option it came from, value), e.g. ("<=", "--sk-le", "2026").
    Compare(&'static str, &'static str, String),
    Between(String, String),
    BeginsWith(String),
}

/// A Query as the user asked for it, before the key schema is known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryInput {
    /// The partition key value as typed.
    pub pk: String,
    pub index: Option<String>,
    pub sk: Option<SkCondition>,
    pub filter: Option<String>,
    /// The filter's values as plain JSON (`--values`).
    pub values: Option<String>,
    pub desc: bool,
    /// Items wanted, counted after the filter; `None`: the whole partition.
    pub limit: Option<u64>,
    /// Attributes to project, comma-separated (`--select`).
    pub select: Option<String>,
    pub consistent: bool,
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
            let value =
                from_plain(v, &format!("--values {k}")).map_err(|e| usage(e.to_string()))?;
            Ok((k.clone(), value))
        })
        .collect()
}

/// The first Query request from what the user asked and the key schema. Every check that
/// needs no request happens here: wrong for the keys is exit 8, malformed is exit 2.
pub fn plan(args: &QueryInput, table: &str, keys: &KeySchema) -> Result<QueryRequest> {
    let mut names = Names::default();
    let mut bindings = Bindings::default();
    let pk = &keys.partition;
    let mut condition = format!("{} = :pk", names.placeholder(&pk.name));
    bindings
        .values
        .insert(":pk".into(), pk.value(&args.pk, "PK")?);
    if let Some(sk_condition) = &args.sk {
        let Some(sk) = &keys.sort else {
            return Err(invalid(format!(
                "{}: {} has no sort key (its key is {})",
                flag_of(sk_condition),
                what(table, args.index.as_deref()),
                keys.describe()
            )));
        };
        let name = names.placeholder(&sk.name);
        let flag = flag_of(sk_condition);
        let text = match sk_condition {
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
        limit: match (&filter, args.limit) {
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

/// The option a sort-key condition came from, for messages.
fn flag_of(c: &SkCondition) -> &'static str {
    match c {
        SkCondition::Compare(_, flag, _) => flag,
        SkCondition::Between(..) => "--sk-between",
        SkCondition::BeginsWith(_) => "--sk-begins-with",
    }
}

/// "table 't'" or "index 'i' of table 't'", for messages.
pub fn what(table: &str, index: Option<&str>) -> String {
    match index {
        Some(i) => format!("index '{i}' of table '{table}'"),
        None => format!("table '{table}'"),
    }
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
