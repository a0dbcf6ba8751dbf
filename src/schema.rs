//! The table definition as data (CreateTable's JSON shape, as `aws dynamodb create-table
//! --cli-input-json` takes it), and the comparison of a definition with a live table.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ProvisionedThroughput, ScalarAttributeType, StreamSpecification,
    StreamViewType, TableDescription,
};
use serde::Deserialize;

use crate::errors::Failure;
use crate::jsonfile;

pub const DEFAULT_SCHEMA: &str = "fixtures/schema.json";

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Schema {
    pub table_name: String,
    pub attribute_definitions: Vec<AttrDef>,
    pub key_schema: Vec<KeyElem>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<Gsi>,
    #[serde(default)]
    pub billing_mode: Option<String>,
    #[serde(default)]
    pub provisioned_throughput: Option<Throughput>,
    #[serde(default)]
    pub stream_specification: Option<StreamSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AttrDef {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct KeyElem {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Gsi {
    pub index_name: String,
    pub key_schema: Vec<KeyElem>,
    pub projection: ProjectionDef,
    #[serde(default)]
    pub provisioned_throughput: Option<Throughput>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ProjectionDef {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Throughput {
    pub read_capacity_units: i64,
    pub write_capacity_units: i64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct StreamSpec {
    pub stream_enabled: bool,
    #[serde(default)]
    pub stream_view_type: Option<String>,
}

/// Read a schema file; syntax errors name the file, line and column.
pub fn load(path: &Path) -> Result<Schema> {
    let schema: Schema = jsonfile::read(path, "schema")?;
    schema
        .to_sdk()
        .map_err(|e| Failure::InvalidInput(format!("{}: {e:#}", path.display())))?;
    Ok(schema)
}

/// The parts of a table definition that make it "the same table": keys, indexes, stream.
/// Capacity and billing may differ between environments without breaking the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    pub keys: Vec<String>,
    pub indexes: BTreeMap<String, String>,
    pub stream: String,
}

/// SDK pieces built from the file, validated.
pub struct SdkSchema {
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeySchemaElement>,
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    pub billing_mode: BillingMode,
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    pub stream_specification: Option<StreamSpecification>,
}

impl Schema {
    pub fn attr_type(&self, name: &str) -> Option<&str> {
        self.attribute_definitions
            .iter()
            .find(|a| a.attribute_name == name)
            .map(|a| a.attribute_type.as_str())
    }

    pub fn shape(&self) -> Shape {
        let keys = |ks: &[KeyElem]| -> String {
            ks.iter()
                .map(|k| {
                    format!(
                        "{} {} {}",
                        k.attribute_name,
                        k.key_type,
                        self.attr_type(&k.attribute_name).unwrap_or("?")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        Shape {
            keys: vec![keys(&self.key_schema)],
            indexes: self
                .global_secondary_indexes
                .iter()
                .map(|g| {
                    (
                        g.index_name.clone(),
                        format!(
                            "{}; projection {}",
                            keys(&g.key_schema),
                            g.projection.projection_type
                        ),
                    )
                })
                .collect(),
            stream: match &self.stream_specification {
                Some(s) if s.stream_enabled => {
                    s.stream_view_type.clone().unwrap_or_else(|| "?".into())
                }
                _ => "off".into(),
            },
        }
    }

    pub fn to_sdk(&self) -> Result<SdkSchema> {
        let attr = |a: &AttrDef| -> Result<AttributeDefinition> {
            let t = match a.attribute_type.as_str() {
                "S" | "N" | "B" => ScalarAttributeType::from(a.attribute_type.as_str()),
                other => bail!(
                    "AttributeDefinitions: '{}' has type '{other}' (expected S, N or B)",
                    a.attribute_name
                ),
            };
            Ok(AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(t)
                .build()?)
        };
        let keys = |ks: &[KeyElem], at: &str| -> Result<Vec<KeySchemaElement>> {
            if ks.is_empty() || ks.len() > 2 || ks[0].key_type != "HASH" {
                bail!("{at}: expected a HASH key, optionally followed by a RANGE key");
            }
            ks.iter()
                .map(|k| {
                    let kt = match k.key_type.as_str() {
                        "HASH" => KeyType::Hash,
                        "RANGE" => KeyType::Range,
                        other => bail!("{at}: key type '{other}' (expected HASH or RANGE)"),
                    };
                    if self.attr_type(&k.attribute_name).is_none() {
                        bail!(
                            "{at}: key attribute '{}' is missing from AttributeDefinitions",
                            k.attribute_name
                        );
                    }
                    Ok(KeySchemaElement::builder()
                        .attribute_name(&k.attribute_name)
                        .key_type(kt)
                        .build()?)
                })
                .collect()
        };
        if self.table_name.trim().is_empty() {
            bail!("TableName is empty");
        }
        let billing_mode = match self.billing_mode.as_deref() {
            None | Some("PROVISIONED") => BillingMode::Provisioned,
            Some("PAY_PER_REQUEST") => BillingMode::PayPerRequest,
            Some(other) => bail!("BillingMode '{other}' (expected PROVISIONED or PAY_PER_REQUEST)"),
        };
        let throughput = |t: &Option<Throughput>,
                          at: &str|
         -> Result<Option<ProvisionedThroughput>> {
            match (billing_mode.clone(), t) {
                (BillingMode::Provisioned, Some(t)) => Ok(Some(
                    ProvisionedThroughput::builder()
                        .read_capacity_units(t.read_capacity_units)
                        .write_capacity_units(t.write_capacity_units)
                        .build()?,
                )),
                (BillingMode::Provisioned, None) => {
                    bail!("{at}: ProvisionedThroughput is required with BillingMode PROVISIONED")
                }
                _ => Ok(None),
            }
        };
        let mut gsis = Vec::new();
        for g in &self.global_secondary_indexes {
            let at = format!("GlobalSecondaryIndexes '{}'", g.index_name);
            let projection_type = match g.projection.projection_type.as_str() {
                "ALL" => ProjectionType::All,
                "KEYS_ONLY" => ProjectionType::KeysOnly,
                "INCLUDE" => ProjectionType::Include,
                other => {
                    bail!("{at}: ProjectionType '{other}' (expected ALL, KEYS_ONLY or INCLUDE)")
                }
            };
            let mut projection = Projection::builder().projection_type(projection_type);
            for a in &g.projection.non_key_attributes {
                projection = projection.non_key_attributes(a);
            }
            let mut gsi = GlobalSecondaryIndex::builder()
                .index_name(&g.index_name)
                .set_key_schema(Some(keys(&g.key_schema, &at)?))
                .projection(projection.build());
            if let Some(t) = throughput(&g.provisioned_throughput, &at)? {
                gsi = gsi.provisioned_throughput(t);
            }
            gsis.push(gsi.build()?);
        }
        let stream_specification = match &self.stream_specification {
            None => None,
            Some(s) => {
                let mut b = StreamSpecification::builder().stream_enabled(s.stream_enabled);
                if let Some(v) = &s.stream_view_type {
                    let view = match v.as_str() {
                        "NEW_IMAGE" | "OLD_IMAGE" | "NEW_AND_OLD_IMAGES" | "KEYS_ONLY" => {
                            StreamViewType::from(v.as_str())
                        }
                        other => bail!("StreamSpecification: StreamViewType '{other}' (expected NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES or KEYS_ONLY)"),
                    };
                    b = b.stream_view_type(view);
                } else if s.stream_enabled {
                    bail!("StreamSpecification: StreamViewType is required when StreamEnabled is true");
                }
                Some(b.build()?)
            }
        };
        Ok(SdkSchema {
            attribute_definitions: self
                .attribute_definitions
                .iter()
                .map(attr)
                .collect::<Result<_>>()?,
            key_schema: keys(&self.key_schema, "KeySchema")?,
            global_secondary_indexes: gsis,
            provisioned_throughput: throughput(
                &self.provisioned_throughput,
                "ProvisionedThroughput",
            )?,
            billing_mode,
            stream_specification,
        })
    }
}

/// The same shape, read from a live table.
pub fn shape_of(table: &TableDescription) -> Shape {
    let attr_type = |name: &str| -> String {
        table
            .attribute_definitions()
            .iter()
            .find(|a| a.attribute_name() == name)
            .map(|a| a.attribute_type().as_str().to_string())
            .unwrap_or_else(|| "?".into())
    };
    let keys = |ks: &[KeySchemaElement]| -> String {
        ks.iter()
            .map(|k| {
                format!(
                    "{} {} {}",
                    k.attribute_name(),
                    k.key_type().as_str(),
                    attr_type(k.attribute_name())
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    Shape {
        keys: vec![keys(table.key_schema())],
        indexes: table
            .global_secondary_indexes()
            .iter()
            .map(|g| {
                (
                    g.index_name().unwrap_or("?").to_string(),
                    format!(
                        "{}; projection {}",
                        keys(g.key_schema()),
                        g.projection()
                            .and_then(|p| p.projection_type())
                            .map(|p| p.as_str())
                            .unwrap_or("?")
                    ),
                )
            })
            .collect(),
        stream: match table.stream_specification() {
            Some(s) if s.stream_enabled() => s
                .stream_view_type()
                .map(|v| v.as_str().to_string())
                .unwrap_or_else(|| "?".into()),
            _ => "off".into(),
        },
    }
}

/// Human-readable differences, `want` (the file) against `have` (the table). Empty when equal.
pub fn diff(want: &Shape, have: &Shape) -> Vec<String> {
    let mut out = Vec::new();
    if want.keys != have.keys {
        out.push(format!(
            "key schema: file has [{}], table has [{}]",
            want.keys.join(""),
            have.keys.join("")
        ));
    }
    for (name, w) in &want.indexes {
        match have.indexes.get(name) {
            None => out.push(format!(
                "index '{name}': in the file, missing from the table"
            )),
            Some(h) if h != w => {
                out.push(format!("index '{name}': file has [{w}], table has [{h}]"))
            }
            _ => {}
        }
    }
    for name in have.indexes.keys() {
        if !want.indexes.contains_key(name) {
            out.push(format!("index '{name}': on the table, not in the file"));
        }
    }
    if want.stream != have.stream {
        out.push(format!(
            "stream: file has {}, table has {}",
            want.stream, have.stream
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_schema() -> Schema {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/schema.json"))
                .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn shipped_schema_is_valid_and_has_the_gsi_and_stream() {
        let s = fixture_schema();
        let sdk = s.to_sdk().unwrap();
        assert_eq!(sdk.global_secondary_indexes.len(), 1);
        let shape = s.shape();
        assert_eq!(shape.keys, vec!["pk HASH S, sk RANGE S".to_string()]);
        assert_eq!(
            shape.indexes["message-group-sk-index"],
            "message_group_uuid HASH S, sk RANGE S; projection ALL"
        );
        assert_eq!(shape.stream, "NEW_IMAGE");
    }

    #[test]
    fn diff_names_each_difference() {
        let want = fixture_schema().shape();
        let mut have = want.clone();
        assert!(diff(&want, &have).is_empty());
        have.stream = "off".into();
        have.indexes.clear();
        let d = diff(&want, &have);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].contains("message-group-sk-index"));
        assert_eq!(d[1], "stream: file has NEW_IMAGE, table has off");
    }

    #[test]
    fn invalid_definitions_are_rejected() {
        let mut s = fixture_schema();
        s.key_schema[0].attribute_name = "nope".into();
        let err = s.to_sdk().err().unwrap();
        assert!(format!("{err:#}").contains("'nope' is missing from AttributeDefinitions"));
    }
}
