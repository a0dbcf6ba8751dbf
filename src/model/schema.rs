//! The table definition as data (CreateTable's JSON shape, as `aws dynamodb create-table
//! --cli-input-json` takes it) with typed key, projection, billing and stream values, and the
//! one comparison of a definition with a live table: `Shape`, built from either side, and
//! `diff`. schema-load, describe-table and every command that checks the model's keys use it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::{bail, Result};
use aws_sdk_dynamodb::types::{
    self as sdk, AttributeDefinition, GlobalSecondaryIndex, KeySchemaElement, Projection,
    ProvisionedThroughput, StreamSpecification, TableDescription,
};
use serde::{Deserialize, Serialize};

use crate::errors::Failure;
use crate::model::jsonfile;

/// The schema compiled into the binary (fixtures/schema.json at build time): what schema-load
/// creates when no `--schema`/`$DDB_SCHEMA` is given, and the keys every command expects.
pub const BUILTIN: &str = include_str!("../../fixtures/schema.json");
/// How the built-in schema is named in messages.
pub const BUILTIN_NAME: &str = "the built-in schema";

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Schema {
    pub table_name: String,
    pub attribute_definitions: Vec<AttrDef>,
    pub key_schema: Vec<KeyElem>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<Gsi>,
    #[serde(default)]
    pub billing_mode: Option<BillingMode>,
    #[serde(default)]
    pub provisioned_throughput: Option<Throughput>,
    #[serde(default)]
    pub stream_specification: Option<StreamSpec>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AttrDef {
    pub attribute_name: String,
    pub attribute_type: AttrType,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct KeyElem {
    pub attribute_name: String,
    pub key_type: KeyType,
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
    pub projection_type: ProjectionType,
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
    pub stream_view_type: Option<StreamView>,
}

/// Declares a closed set of DynamoDB names as an enum: serde reads and writes the wire name,
/// `parse` maps an SDK value's `as_str()` (None for values this build does not know).
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// HASH (partition) or RANGE (sort).
    KeyType { Hash = "HASH", Range = "RANGE" }
);
wire_enum!(
    /// A key attribute's scalar type.
    AttrType { S = "S", N = "N", B = "B" }
);
wire_enum!(
    /// Which attributes an index copies.
    ProjectionType { All = "ALL", KeysOnly = "KEYS_ONLY", Include = "INCLUDE" }
);
wire_enum!(
    /// How the table is billed.
    BillingMode { Provisioned = "PROVISIONED", PayPerRequest = "PAY_PER_REQUEST" }
);
wire_enum!(
    /// What a stream record carries.
    StreamView {
        NewImage = "NEW_IMAGE",
        OldImage = "OLD_IMAGE",
        NewAndOldImages = "NEW_AND_OLD_IMAGES",
        KeysOnly = "KEYS_ONLY",
    }
);

/// The built-in schema, parsed (it is checked by a unit test, so this cannot fail at run time
/// unless the build itself is broken).
pub fn builtin() -> Schema {
    parse(Path::new(BUILTIN_NAME), BUILTIN).expect("the built-in schema is valid")
}

/// The schema to use: `path` when given (`--schema`/`$DDB_SCHEMA`), else the built-in one.
/// Returns it with the name to use in messages.
pub fn load_or_builtin(path: Option<&Path>) -> Result<(Schema, String)> {
    match path {
        Some(p) => Ok((load(p)?, p.display().to_string())),
        None => Ok((builtin(), BUILTIN_NAME.to_string())),
    }
}

/// Read a schema file; syntax errors name the file, line and column.
pub fn load(path: &Path) -> Result<Schema> {
    let text = jsonfile::read_text(path, "schema")?;
    Ok(parse(path, &text)?)
}

fn parse(path: &Path, text: &str) -> std::result::Result<Schema, Failure> {
    let schema: Schema = jsonfile::parse(path, text)?;
    schema
        .to_sdk()
        .map_err(|e| Failure::InvalidInput(format!("{}: {e:#}", path.display())))?;
    Ok(schema)
}

/// One key attribute: name, HASH/RANGE and its type (None when the table or file does not
/// define the attribute).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub attribute: String,
    pub key_type: KeyType,
    pub attr_type: Option<AttrType>,
}

/// An index's keys and projection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexShape {
    pub keys: Keys,
    pub projection: Option<ProjectionType>,
}

/// A key schema, printed `pk HASH S, sk RANGE S`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keys(pub Vec<Key>);

/// The parts of a table definition that make it "the same table": keys, indexes, stream.
/// Capacity and billing may differ between environments without breaking the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    pub keys: Keys,
    pub indexes: BTreeMap<String, IndexShape>,
    /// None: no stream.
    pub stream: Option<StreamView>,
}

impl fmt::Display for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, k) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(
                f,
                "{} {} {}",
                k.attribute,
                k.key_type,
                k.attr_type.map_or("?", AttrType::as_str)
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for IndexShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; projection {}",
            self.keys,
            self.projection.map_or("?", ProjectionType::as_str)
        )
    }
}

fn stream_label(s: Option<StreamView>) -> &'static str {
    s.map_or("off", StreamView::as_str)
}

impl Schema {
    pub fn attr_type(&self, name: &str) -> Option<AttrType> {
        self.attribute_definitions
            .iter()
            .find(|a| a.attribute_name == name)
            .map(|a| a.attribute_type)
    }

    pub fn billing(&self) -> BillingMode {
        self.billing_mode.unwrap_or(BillingMode::Provisioned)
    }

    fn keys(&self, ks: &[KeyElem]) -> Keys {
        Keys(
            ks.iter()
                .map(|k| Key {
                    attribute: k.attribute_name.clone(),
                    key_type: k.key_type,
                    attr_type: self.attr_type(&k.attribute_name),
                })
                .collect(),
        )
    }

    pub fn shape(&self) -> Shape {
        Shape {
            keys: self.keys(&self.key_schema),
            indexes: self
                .global_secondary_indexes
                .iter()
                .map(|g| {
                    let shape = IndexShape {
                        keys: self.keys(&g.key_schema),
                        projection: Some(g.projection.projection_type),
                    };
                    (g.index_name.clone(), shape)
                })
                .collect(),
            stream: self
                .stream_specification
                .as_ref()
                .filter(|s| s.stream_enabled)
                .and_then(|s| s.stream_view_type),
        }
    }

    /// The SDK pieces for CreateTable, after the checks serde cannot make.
    pub fn to_sdk(&self) -> Result<SdkSchema> {
        let keys = |ks: &[KeyElem], at: &str| -> Result<Vec<KeySchemaElement>> {
            let shape_ok = match ks {
                [h] => h.key_type == KeyType::Hash,
                [h, r] => h.key_type == KeyType::Hash && r.key_type == KeyType::Range,
                _ => false,
            };
            if !shape_ok {
                bail!("{at}: expected a HASH key, optionally followed by a RANGE key");
            }
            ks.iter()
                .map(|k| {
                    if self.attr_type(&k.attribute_name).is_none() {
                        bail!(
                            "{at}: key attribute '{}' is missing from AttributeDefinitions",
                            k.attribute_name
                        );
                    }
                    Ok(KeySchemaElement::builder()
                        .attribute_name(&k.attribute_name)
                        .key_type(sdk::KeyType::from(k.key_type.as_str()))
                        .build()?)
                })
                .collect()
        };
        if self.table_name.trim().is_empty() {
            bail!("TableName is empty");
        }
        let billing = self.billing();
        let throughput = |t: &Option<Throughput>, at: &str| -> Result<_> {
            match (billing, t) {
                (BillingMode::Provisioned, Some(t)) => Ok(Some(
                    ProvisionedThroughput::builder()
                        .read_capacity_units(t.read_capacity_units)
                        .write_capacity_units(t.write_capacity_units)
                        .build()?,
                )),
                (BillingMode::Provisioned, None) => {
                    bail!("{at}: ProvisionedThroughput is required with BillingMode PROVISIONED")
                }
                (BillingMode::PayPerRequest, _) => Ok(None),
            }
        };
        let mut gsis = Vec::new();
        for g in &self.global_secondary_indexes {
            let at = format!("GlobalSecondaryIndexes '{}'", g.index_name);
            let mut projection = Projection::builder().projection_type(sdk::ProjectionType::from(
                g.projection.projection_type.as_str(),
            ));
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
                match s.stream_view_type {
                    Some(v) => b = b.stream_view_type(sdk::StreamViewType::from(v.as_str())),
                    None if s.stream_enabled => bail!(
                        "StreamSpecification: StreamViewType is required when StreamEnabled is true"
                    ),
                    None => {}
                }
                Some(b.build()?)
            }
        };
        let attribute_definitions = self
            .attribute_definitions
            .iter()
            .map(|a| {
                AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(sdk::ScalarAttributeType::from(a.attribute_type.as_str()))
                    .build()
                    .map_err(anyhow::Error::from)
            })
            .collect::<Result<_>>()?;
        Ok(SdkSchema {
            attribute_definitions,
            key_schema: keys(&self.key_schema, "KeySchema")?,
            global_secondary_indexes: gsis,
            provisioned_throughput: throughput(
                &self.provisioned_throughput,
                "ProvisionedThroughput",
            )?,
            billing_mode: sdk::BillingMode::from(billing.as_str()),
            stream_specification,
        })
    }
}

/// SDK pieces built from the file, validated.
pub struct SdkSchema {
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeySchemaElement>,
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    pub billing_mode: sdk::BillingMode,
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    pub stream_specification: Option<StreamSpecification>,
}

/// A live table's key schema, typed. DynamoDB has exactly two key types, so anything that is
/// not HASH is RANGE.
pub fn keys_of(table: &TableDescription, ks: &[KeySchemaElement]) -> Keys {
    Keys(
        ks.iter()
            .map(|k| Key {
                attribute: k.attribute_name().to_string(),
                key_type: KeyType::parse(k.key_type().as_str()).unwrap_or(KeyType::Range),
                attr_type: table
                    .attribute_definitions()
                    .iter()
                    .find(|a| a.attribute_name() == k.attribute_name())
                    .and_then(|a| AttrType::parse(a.attribute_type().as_str())),
            })
            .collect(),
    )
}

/// The same shape, read from a live table.
pub fn shape_of(table: &TableDescription) -> Shape {
    Shape {
        keys: keys_of(table, table.key_schema()),
        indexes: table
            .global_secondary_indexes()
            .iter()
            .map(|g| {
                let shape = IndexShape {
                    keys: keys_of(table, g.key_schema()),
                    projection: g
                        .projection()
                        .and_then(|p| p.projection_type())
                        .and_then(|p| ProjectionType::parse(p.as_str())),
                };
                (g.index_name().unwrap_or("?").to_string(), shape)
            })
            .collect(),
        stream: table
            .stream_specification()
            .filter(|s| s.stream_enabled())
            .and_then(|s| s.stream_view_type())
            .and_then(|v| StreamView::parse(v.as_str())),
    }
}

/// A live table's billing mode (tables created before on-demand existed report none: PROVISIONED).
pub fn billing_of(table: &TableDescription) -> BillingMode {
    table
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .and_then(|m| BillingMode::parse(m.as_str()))
        .unwrap_or(BillingMode::Provisioned)
}

/// Human-readable differences, `want` (the file, named `want_name`) against `have` (the table).
/// Empty when equal.
pub fn diff(want: &Shape, have: &Shape, want_name: &str) -> Vec<String> {
    let mut out = key_diff(want, have, want_name);
    for (name, w) in &want.indexes {
        match have.indexes.get(name) {
            None => out.push(format!(
                "index '{name}': in {want_name}, missing from the table"
            )),
            Some(h) if h != w => out.push(format!(
                "index '{name}': {want_name} has [{w}], table has [{h}]"
            )),
            _ => {}
        }
    }
    for name in have.indexes.keys() {
        if !want.indexes.contains_key(name) {
            out.push(format!("index '{name}': on the table, not in {want_name}"));
        }
    }
    if want.stream != have.stream {
        out.push(format!(
            "stream: {want_name} has {}, table has {}",
            stream_label(want.stream),
            stream_label(have.stream)
        ));
    }
    out
}

/// Only the table's own key schema: what every command that reads or writes the model needs.
pub fn key_diff(want: &Shape, have: &Shape, want_name: &str) -> Vec<String> {
    if want.keys == have.keys {
        return Vec::new();
    }
    vec![format!(
        "key schema: {want_name} has [{}], table has [{}]",
        want.keys, have.keys
    )]
}

/// What of the model a command relies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// The table's keys (`pk` HASH S, `sk` RANGE S): reading and writing items.
    Keys,
    /// The keys and the group index (`message-group-sk-index`, projection ALL): finding a
    /// conversation's GRP# rows (seed, put-message, the stream handler).
    KeysAndGroupIndex,
}

/// How a live table differs from what `needs` asks of the model (the built-in schema), in the
/// words of `diff`. Empty when the command can read and write it.
pub fn model_differences(table: &TableDescription, needs: Needs) -> Vec<String> {
    let model = builtin().shape();
    let have = shape_of(table);
    let mut out = key_diff(&model, &have, "the model");
    if needs == Needs::KeysAndGroupIndex {
        for (name, want) in &model.indexes {
            match have.indexes.get(name) {
                None => out.push(format!(
                    "index '{name}': in the model, missing from the table"
                )),
                Some(h) if h != want => out.push(format!(
                    "index '{name}': the model has [{want}], table has [{h}]"
                )),
                Some(_) => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_schema_is_valid_and_has_the_gsi_and_stream() {
        let s = builtin();
        let sdk = s.to_sdk().unwrap();
        assert_eq!(sdk.global_secondary_indexes.len(), 1);
        let shape = s.shape();
        assert_eq!(shape.keys.to_string(), "pk HASH S, sk RANGE S");
        assert_eq!(
            shape.indexes["message-group-sk-index"].to_string(),
            "message_group_uuid HASH S, sk RANGE S; projection ALL"
        );
        assert_eq!(shape.stream, Some(StreamView::NewImage));
        assert_eq!(s.billing(), BillingMode::Provisioned);
    }

    #[test]
    fn builtin_is_the_shipped_file() {
        let on_disk =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/schema.json"))
                .unwrap();
        assert_eq!(BUILTIN, on_disk);
    }

    #[test]
    fn diff_names_each_difference() {
        let want = builtin().shape();
        let mut have = want.clone();
        assert!(diff(&want, &have, "file").is_empty());
        have.stream = None;
        have.indexes.clear();
        let d = diff(&want, &have, "file");
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].contains("message-group-sk-index"));
        assert_eq!(d[1], "stream: file has NEW_IMAGE, table has off");
    }

    #[test]
    fn key_diff_sees_a_missing_sort_key_and_a_numeric_one() {
        let want = builtin().shape();
        let mut pk_only = want.clone();
        pk_only.keys.0.truncate(1);
        assert_eq!(
            key_diff(&want, &pk_only, "the model"),
            ["key schema: the model has [pk HASH S, sk RANGE S], table has [pk HASH S]"]
        );
        let mut numeric = want.clone();
        numeric.keys.0[1].attr_type = Some(AttrType::N);
        assert_eq!(
            key_diff(&want, &numeric, "the model"),
            ["key schema: the model has [pk HASH S, sk RANGE S], table has [pk HASH S, sk RANGE N]"]
        );
        // Indexes and stream are not the keys: key_diff ignores them.
        let mut no_stream = want.clone();
        no_stream.stream = None;
        assert!(key_diff(&want, &no_stream, "model").is_empty());
    }

    /// A live table as DescribeTable reports it: `keys` as (name, HASH/RANGE, S/N/B).
    fn live(keys: &[(&str, &str, &str)], with_index: bool) -> TableDescription {
        let mut t = TableDescription::builder();
        for (name, kt, at) in keys {
            t = t
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(*name)
                        .key_type(sdk::KeyType::from(*kt))
                        .build()
                        .unwrap(),
                )
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(*name)
                        .attribute_type(sdk::ScalarAttributeType::from(*at))
                        .build()
                        .unwrap(),
                );
        }
        if with_index {
            let sdk = builtin().to_sdk().unwrap();
            let g = &sdk.global_secondary_indexes[0];
            t = t
                .attribute_definitions(sdk.attribute_definitions[2].clone())
                .global_secondary_indexes(
                    sdk::GlobalSecondaryIndexDescription::builder()
                        .index_name(g.index_name())
                        .set_key_schema(Some(g.key_schema().to_vec()))
                        .set_projection(g.projection().cloned())
                        .build(),
                );
        }
        t.build()
    }

    #[test]
    fn model_differences_by_need() {
        let model = [("pk", "HASH", "S"), ("sk", "RANGE", "S")];
        assert!(model_differences(&live(&model, true), Needs::KeysAndGroupIndex).is_empty());
        assert!(model_differences(&live(&model, false), Needs::Keys).is_empty());
        assert_eq!(
            model_differences(&live(&model, false), Needs::KeysAndGroupIndex),
            ["index 'message-group-sk-index': in the model, missing from the table"]
        );
        assert_eq!(
            model_differences(&live(&[("pk", "HASH", "S"), ("sk", "RANGE", "N")], true), Needs::Keys),
            ["key schema: the model has [pk HASH S, sk RANGE S], table has [pk HASH S, sk RANGE N]"]
        );
        assert_eq!(
            model_differences(&live(&[("pk", "HASH", "S")], false), Needs::Keys),
            ["key schema: the model has [pk HASH S, sk RANGE S], table has [pk HASH S]"]
        );
    }

    #[test]
    fn invalid_definitions_are_rejected() {
        let mut s = builtin();
        s.key_schema[0].attribute_name = "nope".into();
        let err = s.to_sdk().err().unwrap();
        assert!(format!("{err:#}").contains("'nope' is missing from AttributeDefinitions"));
        let mut s = builtin();
        s.key_schema.swap(0, 1);
        let err = s.to_sdk().err().unwrap();
        assert!(format!("{err:#}").contains("expected a HASH key"));
    }

    #[test]
    fn unknown_names_are_rejected_with_the_position() {
        let text = BUILTIN.replace("\"KeyType\": \"RANGE\"", "\"KeyType\": \"SORT\"");
        let err = parse(Path::new("s.json"), &text).unwrap_err().to_string();
        assert!(err.starts_with("s.json:10:"), "{err}");
        assert!(err.contains("unknown variant `SORT`"), "{err}");
        let text = BUILTIN.replace("\"PROVISIONED\"", "\"ON_DEMAND\"");
        let err = parse(Path::new("s.json"), &text).unwrap_err().to_string();
        assert!(
            err.contains("expected `PROVISIONED` or `PAY_PER_REQUEST`"),
            "{err}"
        );
    }
}
