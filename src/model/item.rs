//! AttributeValue <-> serde_json::Value, both as plain JSON (what people read) and as
//! DynamoDB-typed JSON (`{"S": "..."}`, what streams events and `--raw` use).

use std::collections::HashMap;

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::base64;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Number, Value};

use crate::model::invalid::Invalid;
use crate::model::number::check_number;

pub type Item = HashMap<String, AttributeValue>;

/// Plain JSON: numbers become JSON numbers when they fit exactly, binary becomes base64,
/// sets become arrays.
pub fn to_plain(av: &AttributeValue) -> Value {
    match av {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => number(n),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::B(b) => Value::String(base64::encode(b.as_ref())),
        AttributeValue::L(l) => Value::Array(l.iter().map(to_plain).collect()),
        AttributeValue::M(m) => Value::Object(plain_map(m)),
        AttributeValue::Ss(ss) => Value::Array(ss.iter().cloned().map(Value::String).collect()),
        AttributeValue::Ns(ns) => Value::Array(ns.iter().map(|n| number(n)).collect()),
        AttributeValue::Bs(bs) => Value::Array(
            bs.iter()
                .map(|b| Value::String(base64::encode(b.as_ref())))
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// An item as a plain JSON object with keys sorted (pk and sk first) for stable output.
pub fn item_to_plain(item: &Item) -> Value {
    Value::Object(plain_map(item))
}

fn plain_map(m: &HashMap<String, AttributeValue>) -> Map<String, Value> {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort_by_key(|k| (key_rank(k), k.as_str()));
    keys.into_iter()
        .map(|k| (k.clone(), to_plain(&m[k])))
        .collect()
}

fn key_rank(k: &str) -> u8 {
    match k {
        "pk" => 0,
        "sk" => 1,
        _ => 2,
    }
}

/// A DynamoDB number as a JSON number with exactly its digits (serde_json keeps a number's
/// text, `arbitrary_precision`): never rounded through f64. Text JSON cannot spell as a
/// number (`.5`, `5.`, `+5`, which DynamoDB never returns) stays a string.
fn number(n: &str) -> Value {
    n.parse::<Number>()
        .map_or_else(|_| Value::String(n.to_string()), Value::Number)
}

/// Plain JSON into an AttributeValue: strings S, numbers N (their text as written, checked
/// against DynamoDB's limits), bools BOOL, null NULL, arrays L, objects M. `at` names the
/// value in an error (`--values :n`, `--param 2`), with the path inside it appended.
pub fn from_plain(v: &Value, at: &str) -> Result<AttributeValue, Invalid> {
    Ok(match v {
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Number(n) => {
            let text = n.to_string();
            check_number(&text).map_err(|e| Invalid::new(at, e.to_string()))?;
            AttributeValue::N(text)
        }
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Null => AttributeValue::Null(true),
        Value::Array(a) => AttributeValue::L(
            a.iter()
                .enumerate()
                .map(|(i, v)| from_plain(v, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => AttributeValue::M(
            o.iter()
                .map(|(k, v)| Ok((k.clone(), from_plain(v, &format!("{at}.{k}"))?)))
                .collect::<Result<_, Invalid>>()?,
        ),
    })
}

/// DynamoDB-typed JSON (`{"S":"x"}`), as in `--raw` output and stream records.
pub fn to_typed(av: &AttributeValue) -> Value {
    let v = match av {
        AttributeValue::S(s) | AttributeValue::N(s) => Value::String(s.clone()),
        AttributeValue::Bool(b) | AttributeValue::Null(b) => Value::Bool(*b),
        AttributeValue::B(b) => Value::String(base64::encode(b.as_ref())),
        AttributeValue::L(l) => Value::Array(l.iter().map(to_typed).collect()),
        AttributeValue::M(m) => item_to_typed(m),
        AttributeValue::Ss(ss) | AttributeValue::Ns(ss) => {
            Value::Array(ss.iter().cloned().map(Value::String).collect())
        }
        AttributeValue::Bs(bs) => Value::Array(
            bs.iter()
                .map(|b| Value::String(base64::encode(b.as_ref())))
                .collect(),
        ),
        // A type newer than this SDK: written as NULL rather than guessed at.
        _ => Value::Bool(true),
    };
    let tag = match type_tag(av) {
        "unknown" => "NULL",
        tag => tag,
    };
    let mut m = Map::new();
    m.insert(tag.to_string(), v);
    Value::Object(m)
}

/// DynamoDB's name for the value's type (`S`, `N`, `BOOL`, …), as typed JSON and error
/// messages spell it; "unknown" for a type newer than this SDK.
pub fn type_tag(v: &AttributeValue) -> &'static str {
    match v {
        AttributeValue::S(_) => "S",
        AttributeValue::N(_) => "N",
        AttributeValue::B(_) => "B",
        AttributeValue::Bool(_) => "BOOL",
        AttributeValue::Null(_) => "NULL",
        AttributeValue::L(_) => "L",
        AttributeValue::M(_) => "M",
        AttributeValue::Ss(_) => "SS",
        AttributeValue::Ns(_) => "NS",
        AttributeValue::Bs(_) => "BS",
        _ => "unknown",
    }
}

pub fn item_to_typed(item: &HashMap<String, AttributeValue>) -> Value {
    let mut keys: Vec<&String> = item.keys().collect();
    keys.sort_by_key(|k| (key_rank(k), k.as_str()));
    Value::Object(
        keys.into_iter()
            .map(|k| (k.clone(), to_typed(&item[k])))
            .collect(),
    )
}

/// An item as DynamoDB-typed JSON, serialized straight from the SDK's values: the same text as
/// `item_to_typed` (keys sorted, pk and sk first), without building a `Value` on the way. The
/// hot path of `scan --raw`, export data files and diff's sort records.
pub struct Typed<'a>(pub &'a Item);

/// One value as typed JSON (`{"S":"x"}`), as `to_typed` writes it.
struct TypedValue<'a>(&'a AttributeValue);

impl Serialize for Typed<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut keys: Vec<&String> = self.0.keys().collect();
        keys.sort_unstable_by_key(|k| (key_rank(k), k.as_str()));
        let mut map = serializer.serialize_map(Some(keys.len()))?;
        for k in keys {
            map.serialize_entry(k, &TypedValue(&self.0[k]))?;
        }
        map.end()
    }
}

impl Serialize for TypedValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let av = self.0;
        let tag = match type_tag(av) {
            "unknown" => "NULL",
            tag => tag,
        };
        let mut map = serializer.serialize_map(Some(1))?;
        match av {
            AttributeValue::S(s) | AttributeValue::N(s) => map.serialize_entry(tag, s)?,
            AttributeValue::Bool(b) | AttributeValue::Null(b) => map.serialize_entry(tag, b)?,
            AttributeValue::B(b) => map.serialize_entry(tag, &base64::encode(b.as_ref()))?,
            AttributeValue::L(l) => {
                let values: Vec<TypedValue> = l.iter().map(TypedValue).collect();
                map.serialize_entry(tag, &values)?
            }
            AttributeValue::M(m) => map.serialize_entry(tag, &Typed(m))?,
            AttributeValue::Ss(ss) | AttributeValue::Ns(ss) => map.serialize_entry(tag, ss)?,
            AttributeValue::Bs(bs) => {
                let texts: Vec<String> = bs.iter().map(|b| base64::encode(b.as_ref())).collect();
                map.serialize_entry(tag, &texts)?
            }
            // A type newer than this SDK: written as NULL rather than guessed at.
            _ => map.serialize_entry(tag, &true)?,
        }
        map.end()
    }
}

/// Parse DynamoDB-typed JSON. Errors name the JSON path of the bad value.
pub fn from_typed(v: &Value, path: &str) -> Result<AttributeValue> {
    let obj = v
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| anyhow!("{path}: expected a typed value like {{\"S\": \"...\"}}"))?;
    let (tag, inner) = obj.iter().next().expect("len checked");
    let str_of = |v: &Value| -> Result<String> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("{path}.{tag}: expected a string"))
    };
    let list_of = |v: &Value| -> Result<Vec<String>> {
        v.as_array()
            .ok_or_else(|| anyhow!("{path}.{tag}: expected an array"))?
            .iter()
            .map(str_of)
            .collect()
    };
    let blob = |s: String| -> Result<Blob> {
        base64::decode(&s)
            .map(Blob::new)
            .map_err(|_| anyhow!("{path}.{tag}: invalid base64"))
    };
    Ok(match tag.as_str() {
        "S" => AttributeValue::S(str_of(inner)?),
        "N" => {
            let n = str_of(inner)?;
            check_number(&n).map_err(|e| anyhow!("{path}.N: {e}"))?;
            AttributeValue::N(n)
        }
        "BOOL" => AttributeValue::Bool(
            inner
                .as_bool()
                .ok_or_else(|| anyhow!("{path}.BOOL: expected true or false"))?,
        ),
        "NULL" => AttributeValue::Null(true),
        "B" => AttributeValue::B(blob(str_of(inner)?)?),
        "L" => AttributeValue::L(
            inner
                .as_array()
                .ok_or_else(|| anyhow!("{path}.L: expected an array"))?
                .iter()
                .enumerate()
                .map(|(i, v)| from_typed(v, &format!("{path}.L[{i}]")))
                .collect::<Result<_>>()?,
        ),
        "M" => AttributeValue::M(item_from_typed(inner, &format!("{path}.M"))?),
        "SS" => AttributeValue::Ss(list_of(inner)?),
        "NS" => AttributeValue::Ns(list_of(inner)?),
        "BS" => AttributeValue::Bs(
            list_of(inner)?
                .into_iter()
                .map(blob)
                .collect::<Result<_>>()?,
        ),
        other => bail!("{path}: unknown DynamoDB type tag '{other}'"),
    })
}

/// Parse a typed JSON object (an item, a Keys or NewImage map).
pub fn item_from_typed(v: &Value, path: &str) -> Result<Item> {
    v.as_object()
        .with_context(|| format!("{path}: expected an object of attributes"))?
        .iter()
        .map(|(k, v)| Ok((k.clone(), from_typed(v, &format!("{path}.{k}"))?)))
        .collect()
}

/// DynamoDB's maximum item size (names and values), 400 KB.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// DynamoDB's size of an item: attribute names plus values, as the 400 KB limit counts it
/// (close enough for validation: strings and names by UTF-8 length, numbers by digits).
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        AttributeValue::Ss(s) => s.iter().map(String::len).sum(),
        AttributeValue::Ns(s) => s.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(s) => s.iter().map(|b| b.as_ref().len()).sum(),
        _ => 0,
    }
}

/// A string attribute, if present and of type S.
pub fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_round_trip() {
        let v = json!({"s": "héllo", "n": 42, "f": 1.5, "b": true, "z": null,
                       "l": [1, "two", [false]], "m": {"inner": {"x": -7}}});
        let av = from_plain(&v, "v").unwrap();
        assert_eq!(to_plain(&av), v);
    }

    #[test]
    fn numbers_keep_their_digits_both_ways() {
        // What DynamoDB Local returns for 1E+125 and -1E-130: every digit.
        let big = format!("1{}", "0".repeat(125));
        let tiny = format!("-0.{}1", "0".repeat(129));
        for n in [
            "12345678901234567890123456789012345678",
            "0.1000000000000000055511151231257827",
            big.as_str(),
            tiny.as_str(),
        ] {
            let out = serde_json::to_string(&to_plain(&AttributeValue::N(n.into()))).unwrap();
            assert_eq!(out, n, "printed with its own digits");
            let back: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(from_plain(&back, "n"), Ok(AttributeValue::N(n.into())));
        }
        // As typed on a command line: serde_json spells the exponent its own way (1e+125),
        // the value is the same to the digit.
        for (typed, sent) in [("1E+125", "1e+125"), ("-1E-130", "-1e-130")] {
            let v: Value = serde_json::from_str(typed).unwrap();
            let n = from_plain(&v, "n").unwrap();
            assert_eq!(n, AttributeValue::N(sent.into()));
            assert_eq!(check_number(sent), check_number(typed));
        }
        assert_eq!(to_plain(&AttributeValue::N("0.1".into())), json!(0.1));
        // JSON cannot spell these as numbers; DynamoDB never returns them.
        assert_eq!(to_plain(&AttributeValue::N(".5".into())), json!(".5"));
        // What DynamoDB cannot hold is refused, naming where it is.
        let v: Value = serde_json::from_str(r#"{"a": [1, 1e400]}"#).unwrap();
        let e = from_plain(&v, "--values :x").unwrap_err();
        assert_eq!(e.at, "--values :x.a[1]");
        assert!(e.problem.contains("out of DynamoDB's number range"), "{e}");
        let e = item_from_typed(&json!({"n": {"N": "1e400"}}), "Item").unwrap_err();
        assert!(
            e.to_string().starts_with("Item.n.N: '1e400' is out of"),
            "{e}"
        );
    }

    /// Written straight from the SDK's values: the text typed JSON has by DynamoDB's docs,
    /// keys sorted with pk and sk first, nested maps sorted too.
    #[test]
    fn typed_text_is_written_without_a_value() {
        let item = Item::from([
            (
                "z".into(),
                AttributeValue::Ns(vec!["1".into(), "2.5".into()]),
            ),
            ("sk".into(), AttributeValue::S("2026-01-01T00:00:00".into())),
            ("pk".into(), AttributeValue::S("MSG#\"q\"\n".into())),
            ("b".into(), AttributeValue::B(Blob::new(b"hi".to_vec()))),
            (
                "m".into(),
                AttributeValue::M(HashMap::from([
                    ("y".into(), AttributeValue::Bool(false)),
                    ("x".into(), AttributeValue::Null(true)),
                ])),
            ),
            (
                "l".into(),
                AttributeValue::L(vec![
                    AttributeValue::N("-7".into()),
                    AttributeValue::Bs(vec![Blob::new(b"hi".to_vec())]),
                    AttributeValue::Ss(vec!["é".into()]),
                ]),
            ),
        ]);
        let text = serde_json::to_string(&Typed(&item)).unwrap();
        assert_eq!(
            text,
            r#"{"pk":{"S":"MSG#\"q\"\n"},"sk":{"S":"2026-01-01T00:00:00"},"b":{"B":"aGk="},"l":{"L":[{"N":"-7"},{"BS":["aGk="]},{"SS":["é"]}]},"m":{"M":{"x":{"NULL":true},"y":{"BOOL":false}}},"z":{"NS":["1","2.5"]}}"#
        );
        assert_eq!(text, item_to_typed(&item).to_string());
    }

    #[test]
    fn typed_round_trip() {
        let typed = json!({
            "pk": {"S": "MSG#1"}, "n": {"N": "3"}, "ok": {"BOOL": true}, "nil": {"NULL": true},
            "bin": {"B": "aGk="}, "l": {"L": [{"S": "a"}, {"N": "1"}]},
            "m": {"M": {"k": {"SS": ["x", "y"]}}}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": ["aGk="]}
        });
        let item = item_from_typed(&typed, "NewImage").unwrap();
        assert_eq!(item_to_typed(&item), typed);
        assert_eq!(item_to_plain(&item)["bin"], json!("aGk="));
    }

    #[test]
    fn typed_errors_name_the_path() {
        let err = item_from_typed(&json!({"a": {"M": {"b": {"X": 1}}}}), "NewImage").unwrap_err();
        assert_eq!(
            err.to_string(),
            "NewImage.a.M.b: unknown DynamoDB type tag 'X'"
        );
        let err = item_from_typed(&json!({"a": {"N": "abc"}}), "Keys").unwrap_err();
        assert!(err.to_string().contains("Keys.a.N"), "{err}");
        let err = item_from_typed(&json!({"a": "plain"}), "Keys").unwrap_err();
        assert!(err.to_string().starts_with("Keys.a:"), "{err}");
    }

    #[test]
    fn size_counts_names_and_values() {
        let mut item = Item::new();
        item.insert("pk".into(), AttributeValue::S("MSG#abc".into()));
        assert_eq!(item_size(&item), 2 + 7);
    }
}
