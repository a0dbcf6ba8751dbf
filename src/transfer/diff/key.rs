//! An item's key as bytes that sort and compare the way the merge needs: equal keys give equal
//! bytes, and the partition key decides before the sort key. Each key attribute is written as
//! its type (`S`, `N`, `B`), its bytes with 0x00 escaped as 0x00 0xFF, and the end mark
//! 0x00 0x01, so that no key's bytes are a prefix of another's.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::model::item::{type_tag, Item};

/// The key attributes items are matched on: the partition key, then the sort key if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyNames(pub Vec<String>);

/// Why an item has no usable key.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadKey {
    #[error("it has no key attribute '{0}'")]
    Missing(String),
    #[error("its key attribute '{0}' is of type {1}; keys are S, N or B")]
    NotScalar(String, &'static str),
}

impl KeyNames {
    pub fn partition(&self) -> &str {
        &self.0[0]
    }

    /// Append `item`'s key bytes to `out`.
    pub fn encode(&self, item: &Item, out: &mut Vec<u8>) -> Result<(), BadKey> {
        for name in &self.0 {
            let value = item
                .get(name)
                .ok_or_else(|| BadKey::Missing(name.clone()))?;
            let (tag, bytes): (u8, &[u8]) = match value {
                AttributeValue::S(s) => (b'S', s.as_bytes()),
                AttributeValue::N(n) => (b'N', n.as_bytes()),
                AttributeValue::B(b) => (b'B', b.as_ref()),
                other => return Err(BadKey::NotScalar(name.clone(), type_tag(other))),
            };
            out.push(tag);
            for &b in bytes {
                out.push(b);
                if b == 0 {
                    out.push(0xFF);
                }
            }
            out.extend_from_slice(&[0, 1]);
        }
        Ok(())
    }

    /// The key attributes of `item` alone.
    pub fn of(&self, item: &Item) -> Item {
        self.0
            .iter()
            .filter_map(|k| item.get(k).map(|v| (k.clone(), v.clone())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;

    fn key(pk: AttributeValue, sk: AttributeValue) -> Vec<u8> {
        let names = KeyNames(vec!["pk".into(), "sk".into()]);
        let item = Item::from([("pk".into(), pk), ("sk".into(), sk), ("x".into(), s("y"))]);
        let mut out = Vec::new();
        names.encode(&item, &mut out).unwrap();
        out
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    #[test]
    fn the_partition_key_decides_first_and_no_key_is_a_prefix_of_another() {
        // As strings "a"+"bc" and "ab"+"c" would concatenate alike.
        assert_ne!(key(s("a"), s("bc")), key(s("ab"), s("c")));
        assert!(key(s("a"), s("z")) < key(s("ab"), s("a")));
        assert!(key(s("MSG#1"), s("2026-01-01")) < key(s("MSG#1"), s("2026-01-02")));
        let zero = AttributeValue::B(Blob::new(vec![0u8]));
        let empty_then = AttributeValue::B(Blob::new(vec![]));
        assert_ne!(key(zero.clone(), s("a")), key(empty_then, s("a")));
        assert_eq!(key(zero.clone(), s("a")), key(zero, s("a")));
        // A string and a number of the same text are different keys.
        assert_ne!(
            key(s("1"), s("a")),
            key(AttributeValue::N("1".into()), s("a"))
        );
    }

    #[test]
    fn items_without_a_usable_key_are_named() {
        let names = KeyNames(vec!["pk".into(), "sk".into()]);
        let mut out = Vec::new();
        let item = Item::from([("pk".into(), s("a"))]);
        assert_eq!(
            names.encode(&item, &mut out),
            Err(BadKey::Missing("sk".into()))
        );
        let item = Item::from([
            ("pk".into(), s("a")),
            ("sk".into(), AttributeValue::Bool(true)),
        ]);
        assert_eq!(
            names.encode(&item, &mut out).unwrap_err().to_string(),
            "its key attribute 'sk' is of type BOOL; keys are S, N or B"
        );
    }
}
