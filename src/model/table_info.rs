//! What `describe-table` and `schema-load` show of a live table: keys, indexes, stream,
//! status, item count, billing, read from DescribeTable's answer into plain serializable data.

use aws_sdk_dynamodb::types::TableDescription;
use serde::Serialize;

use crate::model::schema::{
    self, AttrType, BillingMode, KeyType, Keys, ProjectionType, StreamView,
};
use crate::term::safe::terminal_safe;

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

impl TableInfo {
    /// Every text field made safe for a terminal (`safe::terminal_safe`).
    pub fn terminal_safe(mut self) -> TableInfo {
        let safe = |s: &mut String| *s = terminal_safe(s).into_owned();
        let keys = |ks: &mut Vec<Key>| {
            for k in ks {
                safe(&mut k.attribute);
            }
        };
        safe(&mut self.table);
        keys(&mut self.key_schema);
        for i in &mut self.global_secondary_indexes {
            safe(&mut i.name);
            keys(&mut i.key_schema);
        }
        for s in [&mut self.stream.arn, &mut self.arn].into_iter().flatten() {
            safe(s);
        }
        self
    }
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
