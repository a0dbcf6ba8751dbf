//! Key schemas of a table and its indexes as the ad hoc reads need them: names and scalar
//! types from DescribeTable (or, for `--explain`, the shipped schema, said to be assumed), and
//! command-line text turned into a key value of the right type before any request.

use std::fmt;

use anyhow::Result;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, KeySchemaElement, KeyType, ScalarAttributeType,
    TableDescription,
};
use aws_smithy_types::base64;

use crate::aws::db::Db;
use crate::aws::table;
use crate::errors::Failure;
use crate::model::number::check_number;
use crate::model::GROUP_INDEX;

/// DescribeTable (through the table module, with its retries), reduced to the keys: the one
/// request a keyed read makes before its own.
pub async fn describe(db: &Db) -> Result<TableKeys> {
    TableKeys::from_description(&db.table, &table::describe_existing(db).await?)
}

/// The three scalar types a key attribute can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    S,
    N,
    B,
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scalar::S => "S",
            Scalar::N => "N",
            Scalar::B => "B",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyAttr {
    pub name: String,
    pub scalar: Scalar,
}

/// The partition key and optional sort key of a table or an index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySchema {
    pub partition: KeyAttr,
    pub sort: Option<KeyAttr>,
}

/// A table's key schema and its indexes' (global and local).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableKeys {
    pub table: KeySchema,
    pub indexes: Vec<(String, KeySchema)>,
    /// DescribeTable's TableSizeBytes (updated about every six hours); 0 when assumed.
    pub size_bytes: i64,
}

impl KeyAttr {
    fn new(name: &str, scalar: Scalar) -> KeyAttr {
        KeyAttr {
            name: name.to_string(),
            scalar,
        }
    }

    /// Command-line text as a value of this key's type; invalid input (exit 8) naming the
    /// option when it does not fit. N: a DynamoDB number; B: base64; S: any non-empty text.
    pub fn value(&self, text: &str, option: &str) -> Result<AttributeValue> {
        let bad = |why: String| -> anyhow::Error {
            Failure::InvalidInput(format!(
                "{option}: '{text}' does not fit key attribute '{}' of type {}: {why}",
                self.name, self.scalar
            ))
            .into()
        };
        match self.scalar {
            Scalar::S if text.is_empty() => Err(bad("key strings cannot be empty".into())),
            Scalar::S => Ok(AttributeValue::S(text.to_string())),
            // DynamoDB's own rule (model::number), so nothing it cannot hold is sent.
            Scalar::N => check_number(text)
                .map(|_| AttributeValue::N(text.to_string()))
                .map_err(|e| bad(e.why())),
            Scalar::B => match base64::decode(text) {
                Ok(bytes) if !bytes.is_empty() => Ok(AttributeValue::B(Blob::new(bytes))),
                Ok(_) => Err(bad("key binaries cannot be empty".into())),
                Err(_) => Err(bad("expected base64, e.g. AQID for the bytes 1 2 3".into())),
            },
        }
    }
}

impl KeySchema {
    /// `pk (S) + sk (S)`.
    pub fn describe(&self) -> String {
        let one = |k: &KeyAttr| format!("{} ({})", k.name, k.scalar);
        match &self.sort {
            Some(s) => format!("{} + {}", one(&self.partition), one(s)),
            None => one(&self.partition),
        }
    }

    fn from_sdk(elements: &[KeySchemaElement], defs: &[AttributeDefinition]) -> Option<Self> {
        let attr = |kind: KeyType| -> Option<KeyAttr> {
            let e = elements.iter().find(|e| *e.key_type() == kind)?;
            let name = e.attribute_name();
            let def = defs.iter().find(|d| d.attribute_name() == name)?;
            let scalar = match def.attribute_type() {
                ScalarAttributeType::N => Scalar::N,
                ScalarAttributeType::B => Scalar::B,
                _ => Scalar::S,
            };
            Some(KeyAttr::new(name, scalar))
        };
        Some(KeySchema {
            partition: attr(KeyType::Hash)?,
            sort: attr(KeyType::Range),
        })
    }
}

impl TableKeys {
    /// The keys as DescribeTable reports them.
    pub fn from_description(table: &str, desc: &TableDescription) -> Result<TableKeys> {
        let defs = desc.attribute_definitions();
        let keys = KeySchema::from_sdk(desc.key_schema(), defs).ok_or_else(|| {
            anyhow::anyhow!("DescribeTable of '{table}' returned no usable key schema")
        })?;
        let mut indexes = Vec::new();
        for g in desc.global_secondary_indexes() {
            if let Some(k) = KeySchema::from_sdk(g.key_schema(), defs) {
                indexes.push((g.index_name().unwrap_or_default().to_string(), k));
            }
        }
        for l in desc.local_secondary_indexes() {
            if let Some(k) = KeySchema::from_sdk(l.key_schema(), defs) {
                indexes.push((l.index_name().unwrap_or_default().to_string(), k));
            }
        }
        Ok(TableKeys {
            table: keys,
            indexes,
            size_bytes: desc.table_size_bytes().unwrap_or(0),
        })
    }

    /// The Cruddur table as fixtures/schema.json defines it: what `--explain` assumes, since
    /// it sends no DescribeTable.
    pub fn assumed() -> TableKeys {
        let s = |n: &str| KeyAttr::new(n, Scalar::S);
        TableKeys {
            table: KeySchema {
                partition: s("pk"),
                sort: Some(s("sk")),
            },
            indexes: vec![(
                GROUP_INDEX.to_string(),
                KeySchema {
                    partition: s("message_group_uuid"),
                    sort: Some(s("sk")),
                },
            )],
            size_bytes: 0,
        }
    }

    /// The key schema a read uses: the table's, or the named index's (not found: exit 4,
    /// naming the indexes there are).
    pub fn of(&self, table: &str, index: Option<&str>) -> Result<&KeySchema> {
        let Some(name) = index else {
            return Ok(&self.table);
        };
        if let Some((_, k)) = self.indexes.iter().find(|(n, _)| n == name) {
            return Ok(k);
        }
        let known: Vec<&str> = self.indexes.iter().map(|(n, _)| n.as_str()).collect();
        Err(Failure::NotFound(format!(
            "index '{name}' not found on table '{table}'; {}",
            if known.is_empty() {
                "it has no indexes".to_string()
            } else {
                format!("its indexes: {}", known.join(", "))
            }
        ))
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(scalar: Scalar) -> KeyAttr {
        KeyAttr::new("id", scalar)
    }

    #[test]
    fn number_keys_follow_dynamodb_limits() {
        let n = key(Scalar::N);
        let value = |t: &str| n.value(t, "PK").map_err(|e| e.to_string());
        for ok in [
            "0", "42", "-7.5", "+3", ".5", "5.", "1e3", "-1.25E-7", "00012",
        ] {
            assert_eq!(value(ok).unwrap(), AttributeValue::N(ok.into()), "{ok}");
        }
        assert!(value(&"9".repeat(38)).is_ok());
        assert_eq!(
            value(&"9".repeat(39)).unwrap_err(),
            format!(
                "PK: '{}' does not fit key attribute 'id' of type N: 39 significant digits; DynamoDB keeps at most 38",
                "9".repeat(39)
            )
        );
        assert!(value("1e400")
            .unwrap_err()
            .ends_with("out of DynamoDB's number range (1E-130 to 9.99…E+125 in magnitude)"));
        for bad in [
            "", "abc", "1.2.3", "1e", "e5", "--1", "0x10", "1 ", "NaN", "1e+",
        ] {
            assert!(value(bad).is_err(), "{bad} should not be a number");
        }
    }

    #[test]
    fn values_take_the_key_type() {
        assert_eq!(
            key(Scalar::N).value("12", "PK").unwrap(),
            AttributeValue::N("12".into())
        );
        assert_eq!(
            key(Scalar::B).value("AQID", "PK").unwrap(),
            AttributeValue::B(Blob::new(vec![1, 2, 3]))
        );
        let e = key(Scalar::N).value("MSG#1", "PK").unwrap_err();
        assert_eq!(
            e.to_string(),
            "PK: 'MSG#1' does not fit key attribute 'id' of type N: expected a number like 42, -7.5 or 1e3"
        );
        assert!(matches!(
            crate::errors::failure_of(&e),
            Some(Failure::InvalidInput(_))
        ));
        assert!(key(Scalar::B).value("not base64!", "SK").is_err());
        assert!(key(Scalar::S).value("", "SK").is_err());
    }

    #[test]
    fn unknown_index_names_the_known_ones() {
        let keys = TableKeys::assumed();
        assert_eq!(keys.of("t", None).unwrap().describe(), "pk (S) + sk (S)");
        assert_eq!(
            keys.of("t", Some(GROUP_INDEX)).unwrap().partition.name,
            "message_group_uuid"
        );
        let e = keys.of("t", Some("nope")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "index 'nope' not found on table 't'; its indexes: message-group-sk-index"
        );
    }
}
