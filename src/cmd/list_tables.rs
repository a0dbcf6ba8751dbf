//! `ddb list-tables`: every table name, all pages.

use anyhow::Result;

use super::Ctx;
use crate::aws::db::Db;
use crate::aws::pages::Pages;
use crate::term::output;
use crate::term::safe::terminal_safe;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args, ctx: &Ctx) -> Result<()> {
    let names = fetch(&ctx.db).await?;
    if ctx.style.is_json() {
        return output::print_json(ctx.style.format, &names);
    }
    if names.is_empty() {
        return output::line(format!("no tables at {}", ctx.db.target.endpoint_label()));
    }
    let mut table = ctx.style.table(&["table"]);
    for n in &names {
        table.add_row([terminal_safe(n).into_owned()]);
    }
    output::print_table(&table)
}

/// Every table name at the target, all pages.
async fn fetch(db: &Db) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut pages = Pages::new(db, db.dynamodb.list_tables()).on_nothing();
    while let Some(page) = pages.next().await? {
        names.extend(page.table_names.unwrap_or_default());
    }
    Ok(names)
}
