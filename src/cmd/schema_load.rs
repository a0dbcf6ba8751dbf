//! `ddb schema-load`: create the table from a schema file and wait until it and its indexes
//! are ACTIVE. Idempotent: an identical table is fine, a different one is an error.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use aws_sdk_dynamodb::types::{IndexStatus, TableDescription, TableStatus};
use serde::Serialize;

use super::{describe_table, drop, Ctx};
use crate::errors::{api_error, Failure, Subject};
use crate::output;
use crate::schema::{self, Schema};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Schema file in CreateTable's JSON shape
    #[arg(long, default_value = schema::DEFAULT_SCHEMA, value_name = "FILE")]
    pub schema: PathBuf,

    /// Drop the table first if it exists (remote targets also need --yes)
    #[arg(long)]
    pub recreate: bool,

    /// Confirm --recreate against a remote target
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Give up waiting for ACTIVE after this many seconds
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub wait_timeout: u64,
}

#[derive(Debug, Serialize)]
struct Summary {
    table: String,
    outcome: &'static str,
    endpoint: String,
    keys: String,
    indexes: Vec<String>,
    stream: String,
    stream_arn: Option<String>,
    elapsed_ms: u64,
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    // Validate the file before anything touches the network.
    let schema = schema::load(&args.schema)?;
    let timeout = Duration::from_secs(args.wait_timeout);
    if args.recreate {
        ctx.confirm_destructive(
            &format!("drop and recreate table '{}'", ctx.db.table),
            args.yes,
        )?;
    }
    let start = Instant::now();
    let existing = describe(ctx).await?;
    let outcome = match existing {
        Some(_) if args.recreate => {
            drop::delete_and_wait(ctx, timeout).await?;
            create(ctx, &schema).await?;
            "recreated"
        }
        Some(desc) => {
            let differences = schema::diff(&schema.shape(), &schema::shape_of(&desc));
            if !differences.is_empty() {
                return Err(Failure::Mismatch(format!(
                    "table '{}' exists at {} but differs from {}:\n  {}\n(use --recreate to drop and recreate it)",
                    ctx.db.table,
                    ctx.db.target.endpoint_label(),
                    args.schema.display(),
                    differences.join("\n  ")
                ))
                .into());
            }
            "exists"
        }
        None => {
            create(ctx, &schema).await?;
            "created"
        }
    };
    let desc = wait_active(ctx, timeout).await?;
    let info = describe_table::TableInfo::from(&desc);
    let summary = Summary {
        table: ctx.db.table.clone(),
        outcome,
        endpoint: ctx.db.target.endpoint_label(),
        keys: schema::shape_of(&desc).keys.join(""),
        indexes: info
            .global_secondary_indexes
            .iter()
            .map(|i| format!("{} ({})", i.name, i.status))
            .collect(),
        stream: info
            .stream
            .view_type
            .clone()
            .filter(|_| info.stream.enabled)
            .unwrap_or_else(|| "off".into()),
        stream_arn: info.stream.arn.clone(),
        elapsed_ms: start.elapsed().as_millis() as u64,
    };
    if ctx.style.is_json() {
        return output::print_json(ctx.style.format, &summary);
    }
    let verb = match outcome {
        "exists" => "already exists, same keys and indexes:",
        "recreated" => "recreated:",
        _ => "created:",
    };
    output::line(format!(
        "table '{}' {verb} {} at {}",
        summary.table, info.status, summary.endpoint
    ))?;
    output::line(format!("  keys    {}", summary.keys))?;
    for i in &summary.indexes {
        output::line(format!("  gsi     {i}"))?;
    }
    output::line(format!("  stream  {}", summary.stream))
}

async fn describe(ctx: &Ctx) -> Result<Option<TableDescription>> {
    match ctx
        .db
        .dynamodb
        .describe_table()
        .table_name(&ctx.db.table)
        .send()
        .await
    {
        Ok(out) => Ok(out.table),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(api_error(
            &ctx.db.target,
            "DescribeTable",
            Subject::Table(&ctx.db.table),
            e,
        )),
    }
}

async fn create(ctx: &Ctx, schema: &Schema) -> Result<()> {
    let sdk = schema.to_sdk().context("schema")?;
    let mut req = ctx
        .db
        .dynamodb
        .create_table()
        .table_name(&ctx.db.table)
        .set_attribute_definitions(Some(sdk.attribute_definitions))
        .set_key_schema(Some(sdk.key_schema))
        .billing_mode(sdk.billing_mode)
        .set_provisioned_throughput(sdk.provisioned_throughput)
        .set_stream_specification(sdk.stream_specification);
    if !sdk.global_secondary_indexes.is_empty() {
        req = req.set_global_secondary_indexes(Some(sdk.global_secondary_indexes));
    }
    if !&ctx.db.target.local {
        // A shared environment's table should survive a stray delete.
        req = req.deletion_protection_enabled(true);
    }
    req.send().await.map_err(|e| {
        api_error(
            &ctx.db.target,
            "CreateTable",
            Subject::Table(&ctx.db.table),
            e,
        )
    })?;
    Ok(())
}

/// Poll DescribeTable until the table and every GSI are ACTIVE.
pub async fn wait_active(ctx: &Ctx, timeout: Duration) -> Result<TableDescription> {
    let start = Instant::now();
    let spinner = ctx
        .style
        .spinner(format!("waiting for table '{}' to be ACTIVE", ctx.db.table));
    let mut delay = Duration::from_millis(50);
    loop {
        let desc = describe_table::fetch(ctx).await?;
        let table_active = desc.table_status() == Some(&TableStatus::Active);
        let pending: Vec<&str> = desc
            .global_secondary_indexes()
            .iter()
            .filter(|g| g.index_status() != Some(&IndexStatus::Active))
            .map(|g| g.index_name().unwrap_or("?"))
            .collect();
        if table_active && pending.is_empty() {
            spinner.finish_and_clear();
            return Ok(desc);
        }
        if start.elapsed() > timeout {
            spinner.finish_and_clear();
            bail!(
                "table '{}' not ACTIVE after {}s (status {:?}, indexes not active: {})",
                ctx.db.table,
                timeout.as_secs(),
                desc.table_status(),
                pending.join(", ")
            );
        }
        spinner.set_message(format!(
            "waiting for table '{}' to be ACTIVE ({})",
            ctx.db.table,
            desc.table_status().map(|s| s.as_str()).unwrap_or("?")
        ));
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}
