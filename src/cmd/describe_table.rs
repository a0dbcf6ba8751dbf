//! `ddb describe-table`: keys, indexes, stream, status, item count, billing.

use anyhow::Result;
use aws_sdk_dynamodb::types::{KeySchemaElement, TableDescription};
use serde::Serialize;

use super::Ctx;
use crate::errors::{api_error, Subject};
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {}

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
}

#[derive(Debug, Serialize)]
pub struct Key {
    pub attribute: String,
    pub key_type: String,
    pub attribute_type: String,
}

#[derive(Debug, Serialize)]
pub struct IndexInfo {
    pub name: String,
    pub key_schema: Vec<Key>,
    pub projection: String,
    pub status: String,
    pub item_count: i64,
}

#[derive(Debug, Serialize)]
pub struct StreamInfo {
    pub enabled: bool,
    pub view_type: Option<String>,
    pub arn: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Billing {
    pub mode: String,
    pub read_capacity_units: Option<i64>,
    pub write_capacity_units: Option<i64>,
}

pub async fn run(_args: Args, ctx: &Ctx) -> Result<()> {
    let desc = fetch(ctx).await?;
    let info = TableInfo::from(&desc);
    if ctx.style.is_json() {
        return output::print_json(ctx.style.format, &info);
    }
    let keys = |ks: &[Key]| {
        ks.iter()
            .map(|k| format!("{} ({}, {})", k.attribute, k.key_type, k.attribute_type))
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
                i.projection,
                i.status
            ),
        ]);
    }
    table.add_row([
        "stream".to_string(),
        match (&info.stream.view_type, &info.stream.arn) {
            (Some(v), Some(a)) if info.stream.enabled => format!("{v}, {a}"),
            (Some(v), None) if info.stream.enabled => v.clone(),
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
            (Some(r), Some(w)) if info.billing.mode == "PROVISIONED" => {
                format!("PROVISIONED, {r} RCU / {w} WCU")
            }
            _ => info.billing.mode.clone(),
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
    output::print_table(&table)
}

pub async fn fetch(ctx: &Ctx) -> Result<TableDescription> {
    let out = ctx
        .db
        .dynamodb
        .describe_table()
        .table_name(&ctx.db.table)
        .send()
        .await
        .map_err(|e| {
            api_error(
                &ctx.db.target,
                "DescribeTable",
                Subject::Table(&ctx.db.table),
                e,
            )
        })?;
    out.table
        .ok_or_else(|| anyhow::anyhow!("DescribeTable returned no table for '{}'", ctx.db.table))
}

fn keys(desc: &TableDescription, ks: &[KeySchemaElement]) -> Vec<Key> {
    ks.iter()
        .map(|k| Key {
            attribute: k.attribute_name().to_string(),
            key_type: k.key_type().as_str().to_string(),
            attribute_type: desc
                .attribute_definitions()
                .iter()
                .find(|a| a.attribute_name() == k.attribute_name())
                .map(|a| a.attribute_type().as_str().to_string())
                .unwrap_or_default(),
        })
        .collect()
}

impl From<&TableDescription> for TableInfo {
    fn from(d: &TableDescription) -> TableInfo {
        let stream = d.stream_specification();
        let throughput = d.provisioned_throughput();
        let mode = d
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|m| m.as_str().to_string())
            .unwrap_or_else(|| "PROVISIONED".to_string());
        let provisioned = mode == "PROVISIONED";
        TableInfo {
            table: d.table_name().unwrap_or_default().to_string(),
            status: d
                .table_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            key_schema: keys(d, d.key_schema()),
            global_secondary_indexes: d
                .global_secondary_indexes()
                .iter()
                .map(|g| IndexInfo {
                    name: g.index_name().unwrap_or_default().to_string(),
                    key_schema: keys(d, g.key_schema()),
                    projection: g
                        .projection()
                        .and_then(|p| p.projection_type())
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_default(),
                    status: g
                        .index_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    item_count: g.item_count().unwrap_or(0),
                })
                .collect(),
            stream: StreamInfo {
                enabled: stream.is_some_and(|s| s.stream_enabled()),
                view_type: stream
                    .and_then(|s| s.stream_view_type())
                    .map(|v| v.as_str().to_string()),
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
        }
    }
}
