//! What an item must satisfy before `ddb import` writes anything: the table's keys (present,
//! of the declared type, not empty, within their size limits), the indexes' key attributes
//! (when present, of the declared type), DynamoDB's number format, non-empty sets without
//! duplicates, nesting depth and the 400 KB item limit. Pure functions: the table description
//! comes in, a sentence naming the attribute comes out (`Rejected`).

use std::collections::HashSet;

use aws_sdk_dynamodb::types::{AttributeValue, TableDescription};

use crate::model::item::{item_size, type_tag, Item, MAX_ITEM_BYTES};
use crate::model::number::{check_number, BadNumber};
use crate::model::GROUP_INDEX;

/// Why DynamoDB would refuse an item (or a table's keys cannot be checked against): one
/// sentence naming the attribute, for `file:line: …`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Rejected(pub String);

impl From<&str> for Rejected {
    fn from(reason: &str) -> Rejected {
        Rejected(reason.to_string())
    }
}

impl From<String> for Rejected {
    fn from(reason: String) -> Rejected {
        Rejected(reason)
    }
}

impl From<BadNumber> for Rejected {
    fn from(bad: BadNumber) -> Rejected {
        Rejected(bad.to_string())
    }
}

pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
pub const MAX_SORT_KEY_BYTES: usize = 1024;
/// Levels of nesting DynamoDB accepts ("up to 32 levels deep"), counting the item itself as
/// the first: an attribute may hold 31 lists or maps one inside the other, not 32 (DynamoDB
/// Local 3.3.0 answers "Nesting Levels have exceeded supported limits" at 32).
pub const MAX_DEPTH: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRole {
    Partition,
    Sort,
    /// A key attribute of a secondary index: optional on the item.
    Index,
}

#[derive(Clone, Debug)]
pub struct KeyAttr {
    pub name: String,
    /// "S", "N" or "B".
    pub scalar: &'static str,
    pub role: KeyRole,
    /// For index keys, the index names (for the message).
    pub indexes: Vec<String>,
}

/// The key rules of one table, read once from DescribeTable.
#[derive(Clone, Debug)]
pub struct ItemRules {
    pub keys: Vec<KeyAttr>,
}

fn scalar_of(desc: &TableDescription, name: &str) -> Result<&'static str, Rejected> {
    let ty = desc
        .attribute_definitions()
        .iter()
        .find(|a| a.attribute_name() == name)
        .map(|a| a.attribute_type().as_str())
        .ok_or_else(|| {
            Rejected(format!(
                "the table has no attribute definition for key '{name}'"
            ))
        })?;
    match ty {
        "S" => Ok("S"),
        "N" => Ok("N"),
        "B" => Ok("B"),
        other => Err(format!("key '{name}' has an unknown type '{other}'").into()),
    }
}

impl ItemRules {
    pub fn from_table(desc: &TableDescription) -> Result<ItemRules, Rejected> {
        let mut keys: Vec<KeyAttr> = Vec::new();
        for k in desc.key_schema() {
            keys.push(KeyAttr {
                name: k.attribute_name().to_string(),
                scalar: scalar_of(desc, k.attribute_name())?,
                role: if k.key_type().as_str() == "HASH" {
                    KeyRole::Partition
                } else {
                    KeyRole::Sort
                },
                indexes: Vec::new(),
            });
        }
        let gsis = desc
            .global_secondary_indexes()
            .iter()
            .map(|g| (g.index_name().unwrap_or_default(), g.key_schema()));
        let lsis = desc
            .local_secondary_indexes()
            .iter()
            .map(|l| (l.index_name().unwrap_or_default(), l.key_schema()));
        for (index, schema) in gsis.chain(lsis) {
            for k in schema {
                let name = k.attribute_name();
                match keys.iter_mut().find(|a| a.name == name) {
                    Some(a) => a.indexes.push(index.to_string()),
                    None => keys.push(KeyAttr {
                        name: name.to_string(),
                        scalar: scalar_of(desc, name)?,
                        role: KeyRole::Index,
                        indexes: vec![index.to_string()],
                    }),
                }
            }
        }
        Ok(ItemRules { keys })
    }

    /// The table is the messages table (string `pk` and `sk`, and the group index on
    /// `message_group_uuid`): import then settles the GRP# rows of what it wrote.
    pub fn is_message_table(&self) -> bool {
        let has = |name: &str, role: KeyRole| {
            self.keys
                .iter()
                .any(|k| k.name == name && k.role == role && k.scalar == "S")
        };
        has("pk", KeyRole::Partition)
            && has("sk", KeyRole::Sort)
            && self.keys.iter().any(|k| {
                k.name == "message_group_uuid" && k.indexes.iter().any(|i| i == GROUP_INDEX)
            })
    }

    /// Table key attribute names, partition key first.
    pub fn table_key_names(&self) -> Vec<&str> {
        let mut names: Vec<&KeyAttr> = self
            .keys
            .iter()
            .filter(|k| k.role != KeyRole::Index)
            .collect();
        names.sort_by_key(|k| k.role != KeyRole::Partition);
        names.into_iter().map(|k| k.name.as_str()).collect()
    }

    /// Everything DynamoDB would reject this item for, as one sentence.
    pub fn check(&self, item: &Item) -> Result<(), Rejected> {
        for key in &self.keys {
            check_key(key, item.get(&key.name))?;
        }
        for (name, value) in item {
            if name.is_empty() {
                return Err("an attribute name is empty".into());
            }
            check_value(value, 1)
                .map_err(|(path, msg)| Rejected(format!("{name}{path}: {msg}")))?;
        }
        let size = item_size(item);
        if size > MAX_ITEM_BYTES {
            return Err(format!(
                "the item is {size} bytes, over DynamoDB's limit of {MAX_ITEM_BYTES} (400 KB)"
            )
            .into());
        }
        Ok(())
    }

    /// The item's table key as bytes that are equal exactly when DynamoDB would see the same
    /// key (numbers compared by value). Only meaningful for an item that passed `check`.
    pub fn key_bytes(&self, item: &Item) -> Vec<u8> {
        let mut out = Vec::new();
        for name in self.table_key_names() {
            let part: Vec<u8> = match item.get(name) {
                Some(AttributeValue::S(s)) => s.as_bytes().to_vec(),
                Some(AttributeValue::B(b)) => b.as_ref().to_vec(),
                Some(AttributeValue::N(n)) => check_number(n)
                    .map(|c| c.to_string().into_bytes())
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            out.extend_from_slice(&(part.len() as u64).to_le_bytes());
            out.extend_from_slice(&part);
        }
        out
    }
}

fn check_key(key: &KeyAttr, value: Option<&AttributeValue>) -> Result<(), Rejected> {
    let what = match key.role {
        KeyRole::Partition => "partition key".to_string(),
        KeyRole::Sort => "sort key".to_string(),
        KeyRole::Index => format!("key of index {}", key.indexes.join(", ")),
    };
    let name = &key.name;
    let Some(value) = value else {
        if key.role == KeyRole::Index {
            return Ok(());
        }
        return Err(format!("missing the {what} '{name}' ({})", key.scalar).into());
    };
    let tag = type_tag(value);
    if tag != key.scalar {
        return Err(format!(
            "'{name}' is the {what} and must be {}, not {tag}",
            key.scalar
        )
        .into());
    }
    let len = match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::B(b) => b.as_ref().len(),
        _ => usize::MAX,
    };
    if len == 0 {
        return Err(format!("'{name}' is the {what} and must not be empty").into());
    }
    let limit = match key.role {
        KeyRole::Partition => MAX_PARTITION_KEY_BYTES,
        _ => MAX_SORT_KEY_BYTES,
    };
    if len != usize::MAX && len > limit {
        return Err(
            format!("'{name}' is the {what}: {len} bytes, over the limit of {limit}").into(),
        );
    }
    Ok(())
}

/// Check one value; an error carries the path below `value` (`.k[2]`) and what is wrong,
/// built only when something is (the good path allocates nothing).
fn check_value(value: &AttributeValue, depth: usize) -> Result<(), (String, String)> {
    let here = |r: Rejected| (String::new(), r.0);
    match value {
        AttributeValue::N(n) => check_number(n).map(|_| ()).map_err(|e| here(e.into())),
        AttributeValue::Ss(set) => {
            check_set("SS", set.len(), set.iter().collect::<HashSet<_>>().len()).map_err(here)
        }
        AttributeValue::Bs(set) => check_set(
            "BS",
            set.len(),
            set.iter().map(|b| b.as_ref()).collect::<HashSet<_>>().len(),
        )
        .map_err(here),
        AttributeValue::Ns(set) => {
            let mut seen = HashSet::new();
            for n in set {
                seen.insert(check_number(n).map_err(|e| here(e.into()))?);
            }
            check_set("NS", set.len(), seen.len()).map_err(here)
        }
        AttributeValue::L(list) => {
            deeper(depth).map_err(here)?;
            for (i, v) in list.iter().enumerate() {
                check_value(v, depth + 1).map_err(|(p, m)| (format!("[{i}]{p}"), m))?;
            }
            Ok(())
        }
        AttributeValue::M(map) => {
            deeper(depth).map_err(here)?;
            for (k, v) in map {
                if k.is_empty() {
                    return Err(here("a map key (attribute name) is empty".into()));
                }
                check_value(v, depth + 1).map_err(|(p, m)| (format!(".{k}{p}"), m))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A list or map at `depth` (1: the attribute's own value) is one level below the item.
fn deeper(depth: usize) -> Result<(), Rejected> {
    if depth + 1 > MAX_DEPTH {
        Err(
            format!("nested deeper than DynamoDB's {MAX_DEPTH} levels (the item is the first)")
                .into(),
        )
    } else {
        Ok(())
    }
}

fn check_set(tag: &str, len: usize, distinct: usize) -> Result<(), Rejected> {
    if len == 0 {
        Err(format!("an empty {tag} set (DynamoDB has no empty sets)").into())
    } else if distinct < len {
        Err(format!("the {tag} set has duplicate values").into())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, GlobalSecondaryIndexDescription, KeySchemaElement, KeyType,
        ScalarAttributeType,
    };

    fn rules() -> ItemRules {
        let def = |n: &str, t| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(t)
                .build()
                .unwrap()
        };
        let key = |n: &str, t| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .unwrap()
        };
        let desc = TableDescription::builder()
            .attribute_definitions(def("pk", ScalarAttributeType::S))
            .attribute_definitions(def("sk", ScalarAttributeType::N))
            .attribute_definitions(def("g", ScalarAttributeType::S))
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .global_secondary_indexes(
                GlobalSecondaryIndexDescription::builder()
                    .index_name("by-g")
                    .key_schema(key("g", KeyType::Hash))
                    .key_schema(key("sk", KeyType::Range))
                    .build(),
            )
            .build();
        ItemRules::from_table(&desc).unwrap()
    }

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    fn n(v: &str) -> AttributeValue {
        AttributeValue::N(v.into())
    }

    #[test]
    fn keys_are_checked_against_the_schema() {
        let r = rules();
        assert_eq!(r.table_key_names(), vec!["pk", "sk"]);
        assert_eq!(r.check(&item(&[("pk", s("a")), ("sk", n("1"))])), Ok(()));
        assert_eq!(
            r.check(&item(&[("pk", s("a"))])),
            Err("missing the sort key 'sk' (N)".into())
        );
        assert_eq!(
            r.check(&item(&[("pk", n("1")), ("sk", n("1"))])),
            Err("'pk' is the partition key and must be S, not N".into())
        );
        assert_eq!(
            r.check(&item(&[("pk", s("")), ("sk", n("1"))])),
            Err("'pk' is the partition key and must not be empty".into())
        );
        assert_eq!(
            r.check(&item(&[("pk", s("a")), ("sk", n("1")), ("g", n("2"))])),
            Err("'g' is the key of index by-g and must be S, not N".into())
        );
        let long = "x".repeat(MAX_PARTITION_KEY_BYTES + 1);
        assert!(r
            .check(&item(&[("pk", s(&long)), ("sk", n("1"))]))
            .unwrap_err()
            .0
            .contains("over the limit of 2048"));
    }

    #[test]
    fn values_are_checked_the_way_dynamodb_does() {
        let r = rules();
        let with = |v: AttributeValue| r.check(&item(&[("pk", s("a")), ("sk", n("1")), ("v", v)]));
        assert_eq!(with(s("")), Ok(()), "empty strings are fine outside keys");
        assert_eq!(with(AttributeValue::B(Blob::new(vec![]))), Ok(()));
        assert_eq!(with(AttributeValue::L(vec![])), Ok(()));
        assert_eq!(
            with(AttributeValue::Ss(vec![])),
            Err("v: an empty SS set (DynamoDB has no empty sets)".into())
        );
        assert_eq!(
            with(AttributeValue::Ns(vec!["1".into(), "1.0".into()])),
            Err("v: the NS set has duplicate values".into())
        );
        assert_eq!(
            with(AttributeValue::M(
                [("x".to_string(), AttributeValue::L(vec![n("NaN")]))].into()
            )),
            Err("v.x[0]: 'NaN' is not a number".into())
        );
        // As DynamoDB Local 3.3.0 counts it: 31 lists (or maps) one inside the other are
        // accepted, 32 are not.
        let mut deep = s("leaf");
        for _ in 0..31 {
            deep = AttributeValue::L(vec![deep]);
        }
        assert_eq!(with(deep.clone()), Ok(()));
        let too_deep = AttributeValue::M([("k".to_string(), deep)].into());
        assert!(with(too_deep)
            .unwrap_err()
            .0
            .contains("nested deeper than DynamoDB's 32 levels"));
        assert_eq!(
            with(AttributeValue::M([(String::new(), s("x"))].into())),
            Err("v: a map key (attribute name) is empty".into())
        );
        assert_eq!(
            with(AttributeValue::N("1e400".into())),
            Err("v: '1e400' is out of DynamoDB's number range (1E-130 to 9.9999999999999999999999999999999999999E+125)".into())
        );
        let big = "x".repeat(MAX_ITEM_BYTES);
        assert!(with(s(&big))
            .unwrap_err()
            .0
            .contains("over DynamoDB's limit"));
    }

    #[test]
    fn key_bytes_compare_numbers_by_value() {
        let r = rules();
        let a = r.key_bytes(&item(&[("pk", s("a")), ("sk", n("1.0"))]));
        let b = r.key_bytes(&item(&[("pk", s("a")), ("sk", n("1"))]));
        let c = r.key_bytes(&item(&[("pk", s("a1")), ("sk", n("0"))]));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
