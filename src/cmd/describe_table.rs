//! `ddb describe-table`: keys, indexes, stream, status, item count, billing, and how the table
//! differs from the schema (the same comparison schema-load makes).

use std::path::PathBuf;

use anyhow::Result;

use super::Ctx;
use crate::aws::table;
use crate::model::schema::{self, AttrType, BillingMode, ProjectionType};
use crate::model::table_info::{Key, TableInfo};
use crate::term::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Compare with this schema file
    ///
    /// Default: the built-in schema.
    #[arg(long, env = "DDB_SCHEMA", value_name = "FILE")]
    pub schema: Option<PathBuf>,
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let (schema, schema_name) = schema::load_or_builtin(args.schema.as_deref())?;
    let desc = table::describe_existing(&ctx.db).await?;
    let mut info = TableInfo::from(&desc);
    info.schema_differences = schema::diff(&schema.shape(), &schema::shape_of(&desc), &schema_name);
    if ctx.style.is_json() {
        return output::print_json(ctx.style.format, &info);
    }
    // Names and ARNs come from the service: shown to people only terminal-safe.
    let info = info.terminal_safe();
    let keys = |ks: &[Key]| {
        ks.iter()
            .map(|k| {
                let t = k.attribute_type.map_or("?", AttrType::as_str);
                format!("{} ({}, {t})", k.attribute, k.key_type)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut table = ctx.style.table(&[]);
    table.add_row(["table".to_string(), info.table.clone()]);
    table.add_row(["status".to_string(), info.status.clone()]);
    table.add_row(["keys".to_string(), keys(&info.key_schema)]);
    for i in &info.global_secondary_indexes {
        table.add_row([
            "gsi".to_string(),
            format!(
                "{}: {}; projection {}; {}",
                i.name,
                keys(&i.key_schema),
                i.projection.map_or("?", ProjectionType::as_str),
                i.status
            ),
        ]);
    }
    table.add_row([
        "stream".to_string(),
        match (&info.stream.view_type, &info.stream.arn) {
            (Some(v), Some(a)) if info.stream.enabled => format!("{v}, {a}"),
            (Some(v), None) if info.stream.enabled => v.to_string(),
            _ => "off".to_string(),
        },
    ]);
    table.add_row([
        "items".to_string(),
        format!(
            "{} ({} bytes; refreshed about every 6 hours on AWS)",
            info.item_count, info.size_bytes
        ),
    ]);
    table.add_row([
        "billing".to_string(),
        match (
            info.billing.read_capacity_units,
            info.billing.write_capacity_units,
        ) {
            (Some(r), Some(w)) if info.billing.mode == BillingMode::Provisioned => {
                format!("PROVISIONED, {r} RCU / {w} WCU")
            }
            _ => info.billing.mode.to_string(),
        },
    ]);
    table.add_row([
        "deletion protection".to_string(),
        if info.deletion_protection {
            "on"
        } else {
            "off"
        }
        .to_string(),
    ]);
    if let Some(c) = &info.created_at {
        table.add_row(["created".to_string(), c.clone()]);
    }
    table.add_row([
        "schema".to_string(),
        if info.schema_differences.is_empty() {
            format!("same keys, indexes and stream as {schema_name}")
        } else {
            format!(
                "differs from {schema_name}:\n{}",
                info.schema_differences.join("\n")
            )
        },
    ]);
    output::print_table(&table)
}
