//! `ddb list-tables`: every table name, all pages.

use anyhow::Result;
use aws_sdk_dynamodb::Client;

use super::Ctx;
use crate::aws::classify::{api_error, Subject};
use crate::term::output;
use crate::term::safe::terminal_safe;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args, ctx: &Ctx) -> Result<()> {
    let names = fetch(&ctx.db.dynamodb)
        .await
        .map_err(|e| api_error(&ctx.db.target, "ListTables", Subject::None, e))?;
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

pub async fn fetch(
    client: &Client,
) -> Result<
    Vec<String>,
    aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::list_tables::ListTablesError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
> {
    let mut names = Vec::new();
    let mut pages = client.list_tables().into_paginator().send();
    while let Some(page) = pages.next().await {
        names.extend(page?.table_names().iter().cloned());
    }
    Ok(names)
}
