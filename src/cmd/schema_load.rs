//! `ddb schema-load`: create the table from a schema file and wait until it and its indexes
//! are ACTIVE. Idempotent: an identical table is fine, a different one is an error.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use crate::aws::table;
use crate::errors::Failure;
use crate::model::schema;
use crate::model::table_info::TableInfo;
use crate::term::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Schema file in CreateTable's JSON shape
    ///
    /// Default: the built-in schema, printed by `ddb defaults schema`.
    #[arg(long, env = "DDB_SCHEMA", value_name = "FILE")]
    pub schema: Option<PathBuf>,

    /// Drop the table first if it exists
    ///
    /// Remote targets also need --yes.
    #[arg(long)]
    pub recreate: bool,

    /// Confirm --recreate against a remote target
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Give up waiting for ACTIVE after this long
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
    let (schema, schema_name) = schema::load_or_builtin(args.schema.as_deref())?;
    // The table is the schema file's TableName unless --table (or DDB_TABLE) names another:
    // a --recreate never drops a table the file does not name.
    let ctx = &match &args.schema {
        Some(_) if !ctx.table_given => ctx.with_table(&schema.table_name),
        _ => ctx.with_table(&ctx.db.table),
    };
    let timeout = Duration::from_secs(args.wait_timeout);
    if args.recreate {
        ctx.confirm_destructive(
            &format!("drop and recreate table '{}'", ctx.db.table),
            args.yes,
        )?;
    }
    let start = Instant::now();
    let existing = table::describe(&ctx.db).await?;
    let outcome = match existing {
        Some(_) if args.recreate => {
            table::delete_and_wait(&ctx.db, &ctx.style, timeout).await?;
            table::create(&ctx.db, &schema).await?;
            "recreated"
        }
        Some(desc) => {
            let differences = schema::diff(&schema.shape(), &schema::shape_of(&desc), &schema_name);
            if !differences.is_empty() {
                // One line (errors are): the differences separated by "; ".
                return Err(Failure::Mismatch(format!(
                    "table '{}' exists at {} but differs from {}: {} (use --recreate to drop and recreate it)",
                    ctx.db.table,
                    ctx.db.target.endpoint_label(),
                    schema_name,
                    differences.join("; ")
                ))
                .into());
            }
            "exists"
        }
        None => {
            table::create(&ctx.db, &schema).await?;
            "created"
        }
    };
    let desc = table::wait_active_shown(&ctx.db, &ctx.style, timeout).await?;
    let info = TableInfo::from(&desc);
    let summary = Summary {
        table: ctx.db.table.clone(),
        outcome,
        endpoint: ctx.db.target.endpoint_label(),
        keys: schema::shape_of(&desc).keys.to_string(),
        indexes: info
            .global_secondary_indexes
            .iter()
            .map(|i| format!("{} ({})", i.name, i.status))
            .collect(),
        stream: info
            .stream
            .view_type
            .map_or("off", schema::StreamView::as_str)
            .to_string(),
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
