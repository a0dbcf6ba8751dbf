//! `ddb get-item PK [SK]`: one item by its key, typed from the table's key schema.

use anyhow::Result;

use super::Ctx;
use crate::aws::classify::{stop_error, Origin, Subject};
use crate::errors::Failure;
use crate::model::item::{item_to_plain, item_to_typed, Item};
use crate::read::explain::Explain;
use crate::read::expr::Names;
use crate::read::keys::{self, KeySchema, TableKeys};
use crate::read::request::GetItemRequest;
use crate::read::show;
use crate::term::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Partition key value, e.g. MSG#<group uuid> or GRP#<user uuid>
    #[arg(value_name = "PK", allow_negative_numbers = true)]
    pub pk: String,

    /// Sort key value (when the table has one), e.g. the message's created_at
    #[arg(value_name = "SK", allow_negative_numbers = true)]
    pub sk: Option<String>,

    /// Only these attributes, comma-separated (a projection)
    #[arg(long, value_name = "ATTRS")]
    pub select: Option<String>,

    /// Strongly consistent read
    #[arg(long)]
    pub consistent: bool,

    /// The item as DynamoDB-typed JSON ({"S": "..."})
    #[arg(long)]
    pub raw: bool,

    /// Print the GetItem request and send nothing
    ///
    /// As JSON for `aws dynamodb get-item --cli-input-json`.
    #[arg(long)]
    pub explain: bool,
}

fn invalid(message: String) -> anyhow::Error {
    Failure::InvalidInput(message).into()
}

/// The GetItem request; the key must match the schema (both parts, or only a partition key).
fn plan(args: &Args, table: &str, keys: &KeySchema) -> Result<GetItemRequest> {
    let mut key = Item::new();
    key.insert(
        keys.partition.name.clone(),
        keys.partition.value(&args.pk, "PK")?,
    );
    match (&keys.sort, &args.sk) {
        (Some(sk), Some(v)) => {
            key.insert(sk.name.clone(), sk.value(v, "SK")?);
        }
        (Some(sk), None) => {
            return Err(invalid(format!(
                "SK is missing: table '{table}' is keyed {}, pass the {} value too",
                keys.describe(),
                sk.name
            )))
        }
        (None, Some(_)) => {
            return Err(invalid(format!(
                "SK given, but table '{table}' has only a partition key ({})",
                keys.describe()
            )))
        }
        (None, None) => {}
    }
    let mut names = Names::default();
    let projection = crate::read::expr::select(args.select.as_deref(), &mut names)?;
    Ok(GetItemRequest {
        table: table.to_string(),
        key,
        projection,
        names: names.map().clone(),
        consistent: args.consistent,
    })
}

/// `--explain`: the request with the shipped key schema assumed; needs no client.
pub fn explain(args: &Args, table: &str) -> Result<Explain> {
    let keys = TableKeys::assumed().table;
    let request = plan(args, table, &keys)?;
    Ok(Explain::new("GetItem", request.cli_json()).note(format!(
        "assumed: table '{table}' is keyed {} as in fixtures/schema.json; --explain sends no DescribeTable, so this was not checked",
        keys.describe()
    )))
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let keys = keys::describe(&ctx.db).await?.table;
    let request = plan(&args, &ctx.db.table, &keys)?;
    let db = &ctx.db;
    let out = db
        .send(|| request.builder(&db.dynamodb).send())
        .await
        .map_err(|stop| {
            let subject = Subject::Table(&db.table);
            stop_error(&db.target, "GetItem", subject, Origin::User, stop)
        })?;
    let Some(item) = out.item else {
        let sk = match (&keys.sort, &args.sk) {
            (Some(k), Some(v)) => format!(", {} = {v}", k.name),
            _ => String::new(),
        };
        return Err(Failure::NotFound(format!(
            "no item with {} = {}{sk} in table '{}'",
            keys.partition.name, args.pk, ctx.db.table
        ))
        .into());
    };
    let value = if args.raw {
        item_to_typed(&item)
    } else {
        item_to_plain(&item)
    };
    if ctx.style.is_json() {
        return output::print_json(ctx.style.format, &value);
    }
    if args.raw {
        return output::line(crate::term::safe::terminal_safe(
            &serde_json::to_string_pretty(&value)?,
        ));
    }
    let mut key_names = vec![keys.partition.name.as_str()];
    key_names.extend(keys.sort.as_ref().map(|k| k.name.as_str()));
    let table = show::item(&ctx.style, &item, &key_names, args.select.as_deref());
    output::print_table(&table)
}
