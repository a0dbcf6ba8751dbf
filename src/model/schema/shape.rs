//! Comparing a table definition with a live table, pure: `Shape` (keys, indexes, stream: what
//! makes it "the same table"), built from a definition or from DescribeTable's answer, and
//! `diff` in words a person can act on. schema-load, describe-table and every command that
//! checks the model's keys use it.

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_dynamodb::types::{KeySchemaElement, TableDescription};

use crate::model::schema::file::{
    builtin, AttrType, BillingMode, KeyElem, KeyType, ProjectionType, Schema, StreamView,
};

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
    out.extend(index_diff(want, have, want_name));
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

/// The indexes of `want` that `have` lacks or has otherwise.
fn index_diff<'a>(
    want: &'a Shape,
    have: &'a Shape,
    want_name: &'a str,
) -> impl Iterator<Item = String> + 'a {
    want.indexes
        .iter()
        .filter_map(move |(name, w)| match have.indexes.get(name) {
            None => Some(format!(
                "index '{name}': in {want_name}, missing from the table"
            )),
            Some(h) if h != w => Some(format!(
                "index '{name}': {want_name} has [{w}], table has [{h}]"
            )),
            Some(_) => None,
        })
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
        out.extend(index_diff(&model, &have, "the model"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::{self as sdk, AttributeDefinition};

    #[test]
    fn the_builtin_schema_has_the_models_keys_index_and_stream() {
        let s = builtin();
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
}
