//! `ddb describe-table`: keys, indexes, stream, status, item count, billing, and how the table
//! differs from the schema (the same comparison schema-load makes).

use std::path::PathBuf;

use anyhow::Result;
use aws_sdk_dynamodb::types::TableDescription;
use serde::Serialize;

use super::Ctx;
use crate::output;
use crate::schema::{self, AttrType, BillingMode, KeyType, Keys, ProjectionType, StreamView};
use crate::table;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Compare with this schema file [default: the built-in schema]
    #[arg(long, env = "DDB_SCHEMA", value_name = "FILE")]
    pub schema: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct TableInfo {
    pub table: String,
    pub status: String,
    pub key_schema: Vec<Key>,
    pub global_secondary_indexes: Vec<IndexInfo>,
    pub stream: StreamInfo,
    pub item_count: i64,
    pub size_bytes: i64,
    pub billing: Billing,
    pub deletion_protection: bool,
    pub created_at: Option<String>,
    pub arn: Option<String>,
    /// What schema-load would report against the schema; empty when the table matches it.
    pub schema_differences: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Key {
    pub attribute: String,
    pub key_type: KeyType,
    pub attribute_type: Option<AttrType>,
}

#[derive(Debug, Serialize)]
pub struct IndexInfo {
    pub name: String,
    pub key_schema: Vec<Key>,
    pub projection: Option<ProjectionType>,
    pub status: String,
    pub item_count: i64,
}

#[derive(Debug, Serialize)]
pub struct StreamInfo {
    pub enabled: bool,
    pub view_type: Option<StreamView>,
    pub arn: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Billing {
    pub mode: BillingMode,
    pub read_capacity_units: Option<i64>,
    pub write_capacity_units: Option<i64>,
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let (schema, schema_name) = schema::load_or_builtin(args.schema.as_deref())?;
    let desc = table::describe_existing(&ctx.db).await?;
    let mut info = TableInfo::from(&desc);
    info.schema_differences = schema::diff(&schema.shape(), &schema::shape_of(&desc), &schema_name);
    if ctx.style.is_json() {
        return output::print_json(ctx.style.format, &info);
    }
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

fn keys(ks: &Keys) -> Vec<Key> {
    ks.0.iter()
        .map(|k| Key {
            attribute: k.attribute.clone(),
            key_type: k.key_type,
            attribute_type: k.attr_type,
        })
        .collect()
}

impl From<&TableDescription> for TableInfo {
    fn from(d: &TableDescription) -> TableInfo {
        let shape = schema::shape_of(d);
        let throughput = d.provisioned_throughput();
        let mode = schema::billing_of(d);
        let provisioned = mode == BillingMode::Provisioned;
        TableInfo {
            table: d.table_name().unwrap_or_default().to_string(),
            status: d
                .table_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            key_schema: keys(&shape.keys),
            global_secondary_indexes: d
                .global_secondary_indexes()
                .iter()
                .map(|g| IndexInfo {
                    name: g.index_name().unwrap_or_default().to_string(),
                    key_schema: keys(&schema::keys_of(d, g.key_schema())),
                    projection: g
                        .projection()
                        .and_then(|p| p.projection_type())
                        .and_then(|p| ProjectionType::parse(p.as_str())),
                    status: g
                        .index_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    item_count: g.item_count().unwrap_or(0),
                })
                .collect(),
            stream: StreamInfo {
                enabled: shape.stream.is_some(),
                view_type: shape.stream,
                arn: d.latest_stream_arn().map(str::to_string),
            },
            item_count: d.item_count().unwrap_or(0),
            size_bytes: d.table_size_bytes().unwrap_or(0),
            billing: Billing {
                mode,
                read_capacity_units: throughput
                    .and_then(|t| t.read_capacity_units())
                    .filter(|_| provisioned),
                write_capacity_units: throughput
                    .and_then(|t| t.write_capacity_units())
                    .filter(|_| provisioned),
            },
            deletion_protection: d.deletion_protection_enabled().unwrap_or(false),
            created_at: d.creation_date_time().map(|t| t.to_string()),
            arn: d.table_arn().map(str::to_string),
            schema_differences: Vec::new(),
        }
    }
}
