//! The fast way from a DYNAMODB_JSON line (`{"Item": {"pk": {"S": "…"}, …}}`) to an item:
//! serde straight into `AttributeValue`s, without building a `serde_json::Value` first. Import
//! reads every line twice, so this is most of its CPU. It only says whether a line is good;
//! for a bad one, `export_read::parse_line` goes the slow way to name the attribute at fault.

use std::collections::HashMap;
use std::fmt;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::base64;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::model::item::Item;

/// Parse one line; `None` when anything about it is wrong.
pub fn parse(line: &[u8]) -> Option<Item> {
    serde_json::from_slice::<Line>(line).ok().map(|l| l.0)
}

struct Line(Item);
struct TypedItem(Item);
struct Typed(AttributeValue);
struct Blobs(Vec<Blob>);

impl<'de> Deserialize<'de> for Line {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Line;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("{\"Item\": {...}}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Line, A::Error> {
                let key: std::borrow::Cow<'de, str> = map
                    .next_key()?
                    .ok_or_else(|| de::Error::custom("no Item"))?;
                if key != "Item" {
                    return Err(de::Error::custom("not Item"));
                }
                let item: TypedItem = map.next_value()?;
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("more than Item"));
                }
                Ok(Line(item.0))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for TypedItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TypedItem;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of typed attributes")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TypedItem, A::Error> {
                let mut item = HashMap::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((k, v)) = map.next_entry::<String, Typed>()? {
                    item.insert(k, v.0);
                }
                Ok(TypedItem(item))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for Typed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Typed;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a typed value like {\"S\": \"...\"}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Typed, A::Error> {
                let tag: std::borrow::Cow<'de, str> = map
                    .next_key()?
                    .ok_or_else(|| de::Error::custom("no type tag"))?;
                let value = match tag.as_ref() {
                    "S" => AttributeValue::S(map.next_value()?),
                    "N" => AttributeValue::N(map.next_value()?),
                    "BOOL" => AttributeValue::Bool(map.next_value()?),
                    "NULL" => {
                        map.next_value::<bool>()?;
                        AttributeValue::Null(true)
                    }
                    "B" => AttributeValue::B(blob(&map.next_value::<String>()?)?),
                    "L" => AttributeValue::L(
                        map.next_value::<Vec<Typed>>()?
                            .into_iter()
                            .map(|t| t.0)
                            .collect(),
                    ),
                    "M" => AttributeValue::M(map.next_value::<TypedItem>()?.0),
                    "SS" => AttributeValue::Ss(map.next_value()?),
                    "NS" => AttributeValue::Ns(map.next_value()?),
                    "BS" => AttributeValue::Bs(map.next_value::<Blobs>()?.0),
                    _ => return Err(de::Error::custom("unknown type tag")),
                };
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom("more than one type tag"));
                }
                Ok(Typed(value))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for Blobs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Blobs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of base64 strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Blobs, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<std::borrow::Cow<'de, str>>()? {
                    out.push(blob(&s)?);
                }
                Ok(Blobs(out))
            }
        }
        d.deserialize_seq(V)
    }
}

fn blob<E: de::Error>(s: &str) -> Result<Blob, E> {
    base64::decode(s)
        .map(Blob::new)
        .map_err(|_| E::custom("invalid base64"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::item::item_from_typed;

    /// Whatever the fast path accepts, the precise path reads the same way.
    #[test]
    fn agrees_with_the_precise_parser() {
        let lines = [
            r#"{"Item":{"pk":{"S":"a\u00e9\n"},"n":{"N":"-1.5E+10"},"b":{"B":"aGk="},"t":{"BOOL":true},"z":{"NULL":true},"l":{"L":[{"S":"x"},{"L":[]},{"M":{}}]},"m":{"M":{"k":{"SS":["x","y"]},"e":{"S":""}}},"ns":{"NS":["1","2"]},"bs":{"BS":["aGk=",""]}}}"#,
            r#"{"Item":{}}"#,
        ];
        for line in lines {
            let fast = parse(line.as_bytes()).expect(line);
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(fast, item_from_typed(&v["Item"], "Item").unwrap(), "{line}");
        }
    }

    #[test]
    fn anything_odd_goes_the_precise_way() {
        for bad in [
            r#"{"Item":{"pk":{"S":"a"}}"#,
            r#"{"Item":{"pk":{"X":"a"}}}"#,
            r#"{"Item":{"pk":{"S":"a","N":"1"}}}"#,
            r#"{"Item":{"pk":{}}}"#,
            r#"{"Item":{"pk":{"S":1}}}"#,
            r#"{"Item":{"pk":{"B":"%%%"}}}"#,
            r#"{"NewImage":{}}"#,
            r#"{"Item":{},"Keys":{}}"#,
            r#"[]"#,
        ] {
            assert!(parse(bad.as_bytes()).is_none(), "{bad}");
        }
    }
}
