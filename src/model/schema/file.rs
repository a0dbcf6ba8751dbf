//! The table definition as a file: CreateTable's JSON shape, as `aws dynamodb create-table
//! --cli-input-json` takes it, with typed key, projection, billing and stream values; the rules
//! a definition must follow that serde cannot check (`Schema::check`); and reading it, from a
//! file or the built-in one. Pure data: the SDK conversion is in `sdk.rs`, the comparison with
//! a live table in `shape.rs`.

use std::fmt;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::errors::Failure;
use crate::model::jsonfile;

/// The schema compiled into the binary (fixtures/schema.json at build time): what schema-load
/// creates when no `--schema`/`$DDB_SCHEMA` is given, and the keys every command expects.
pub const BUILTIN: &str = include_str!("../../../fixtures/schema.json");
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

/// A definition that breaks a rule CreateTable has and serde cannot check. `at` names the
/// part of the file (`KeySchema`, `GlobalSecondaryIndexes 'name'`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("TableName is empty")]
    NoTableName,
    #[error("{at}: expected a HASH key, optionally followed by a RANGE key")]
    KeyOrder { at: String },
    #[error("{at}: key attribute '{attribute}' is missing from AttributeDefinitions")]
    UndefinedKey { at: String, attribute: String },
    #[error("{at}: ProvisionedThroughput is required with BillingMode PROVISIONED")]
    NoThroughput { at: String },
    #[error("StreamSpecification: StreamViewType is required when StreamEnabled is true")]
    NoStreamView,
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

    /// The rules serde cannot check, in the order CreateTable's parts are built: the table
    /// name, each index's keys and throughput, the stream, the table's keys and throughput.
    pub fn check(&self) -> Result<(), SchemaError> {
        if self.table_name.trim().is_empty() {
            return Err(SchemaError::NoTableName);
        }
        let keys = |ks: &[KeyElem], at: &str| {
            let ordered = match ks {
                [h] => h.key_type == KeyType::Hash,
                [h, r] => h.key_type == KeyType::Hash && r.key_type == KeyType::Range,
                _ => false,
            };
            if !ordered {
                return Err(SchemaError::KeyOrder { at: at.to_string() });
            }
            match ks
                .iter()
                .find(|k| self.attr_type(&k.attribute_name).is_none())
            {
                Some(k) => Err(SchemaError::UndefinedKey {
                    at: at.to_string(),
                    attribute: k.attribute_name.clone(),
                }),
                None => Ok(()),
            }
        };
        let throughput = |t: &Option<Throughput>, at: &str| match (self.billing(), t) {
            (BillingMode::Provisioned, None) => {
                Err(SchemaError::NoThroughput { at: at.to_string() })
            }
            _ => Ok(()),
        };
        for g in &self.global_secondary_indexes {
            let at = format!("GlobalSecondaryIndexes '{}'", g.index_name);
            keys(&g.key_schema, &at)?;
            throughput(&g.provisioned_throughput, &at)?;
        }
        if let Some(s) = &self.stream_specification {
            if s.stream_enabled && s.stream_view_type.is_none() {
                return Err(SchemaError::NoStreamView);
            }
        }
        keys(&self.key_schema, "KeySchema")?;
        throughput(&self.provisioned_throughput, "ProvisionedThroughput")
    }
}

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
        .check()
        .map_err(|e| Failure::InvalidInput(format!("{}: {e}", path.display())))?;
    Ok(schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_is_the_shipped_file() {
        let on_disk =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/schema.json"))
                .unwrap();
        assert_eq!(BUILTIN, on_disk);
        assert_eq!(builtin().check(), Ok(()));
    }

    #[test]
    fn invalid_definitions_are_rejected() {
        let mut s = builtin();
        s.key_schema[0].attribute_name = "nope".into();
        assert_eq!(
            s.check().unwrap_err().to_string(),
            "KeySchema: key attribute 'nope' is missing from AttributeDefinitions"
        );
        let mut s = builtin();
        s.key_schema.swap(0, 1);
        assert_eq!(
            s.check(),
            Err(SchemaError::KeyOrder {
                at: "KeySchema".into()
            })
        );
        let mut s = builtin();
        s.global_secondary_indexes[0].provisioned_throughput = None;
        assert_eq!(
            s.check().unwrap_err().to_string(),
            "GlobalSecondaryIndexes 'message-group-sk-index': ProvisionedThroughput is required with BillingMode PROVISIONED"
        );
        s.billing_mode = Some(BillingMode::PayPerRequest);
        assert_eq!(s.check(), Ok(()), "on demand needs no throughput");
        let mut s = builtin();
        s.table_name = " ".into();
        assert_eq!(s.check(), Err(SchemaError::NoTableName));
        let mut s = builtin();
        if let Some(stream) = &mut s.stream_specification {
            stream.stream_view_type = None;
        }
        assert_eq!(s.check(), Err(SchemaError::NoStreamView));
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
