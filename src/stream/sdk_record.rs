//! A record read from the stream itself (aws-sdk-dynamodbstreams), as the handler sees it:
//! the streams SDK has its own AttributeValue type, with the same shape as aws-sdk-dynamodb's
//! that the handler writes with.

use std::collections::HashMap;

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodbstreams::types as streams;

use crate::model::item::Item;
use crate::stream::record::{Detail, EventName, StreamRecord, TTL_PRINCIPAL};

/// A record read from the stream with aws-sdk-dynamodbstreams.
pub fn from_sdk(r: &streams::Record) -> Result<StreamRecord> {
    let event_name = match r.event_name() {
        Some(streams::OperationType::Insert) => EventName::Insert,
        Some(streams::OperationType::Modify) => EventName::Modify,
        Some(streams::OperationType::Remove) => EventName::Remove,
        Some(other) => EventName::Other(other.as_str().to_string()),
        None => EventName::Other(String::new()),
    };
    let db = r
        .dynamodb()
        .ok_or_else(|| anyhow!("stream record without a dynamodb section"))?;
    let sequence_number = db
        .sequence_number()
        .ok_or_else(|| anyhow!("stream record without a sequence number"))?
        .to_string();
    let keys = convert_item(db.keys().unwrap_or(&HashMap::new()))
        .map_err(|e| anyhow!("record {sequence_number}: Keys{e}"))?;
    let image = |image: Option<&HashMap<String, streams::AttributeValue>>, name: &str| {
        image
            .map(convert_item)
            .transpose()
            .map_err(|e| anyhow!("record {sequence_number}: {name}{e}"))
    };
    let new_image = image(db.new_image(), "NewImage")?;
    let identity = r.user_identity();
    let detail = Detail {
        old_image: image(db.old_image(), "OldImage")?,
        created: db.approximate_creation_date_time().map(|t| t.as_secs_f64()),
        view_type: db.stream_view_type().map(|v| v.as_str().to_string()),
        size_bytes: db.size_bytes(),
        by_ttl: identity.is_some_and(|i| {
            i.r#type() == Some("Service") && i.principal_id() == Some(TTL_PRINCIPAL)
        }),
        aws_region: r.aws_region().map(str::to_string),
        event_version: r.event_version().map(str::to_string),
    };
    Ok(StreamRecord {
        event_id: r.event_id().map(str::to_string),
        event_name,
        event_source_arn: None,
        sequence_number,
        keys,
        new_image,
        detail,
    })
}

/// A stream attribute value of a type this build of the SDK does not know, at `path` within
/// the item (`.a.L[2]`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: attribute type unknown to this version of ddb")]
pub struct UnknownType {
    pub path: String,
}

impl UnknownType {
    /// The same value seen from the container at `step` (`.name`, `.L[2]`, `.M`).
    fn within(self, step: &str) -> UnknownType {
        UnknownType {
            path: format!("{step}{}", self.path),
        }
    }
}

/// aws-sdk-dynamodbstreams has its own AttributeValue type with the same shape as
/// aws-sdk-dynamodb's; the handler writes with the latter. Errors carry the path (`.a.L[2]`).
pub fn convert_item(m: &HashMap<String, streams::AttributeValue>) -> Result<Item, UnknownType> {
    m.iter()
        .map(|(k, v)| {
            Ok((
                k.clone(),
                convert(v).map_err(|e| e.within(&format!(".{k}")))?,
            ))
        })
        .collect()
}

pub fn convert(v: &streams::AttributeValue) -> Result<AttributeValue, UnknownType> {
    use streams::AttributeValue as S;
    Ok(match v {
        S::S(s) => AttributeValue::S(s.clone()),
        S::N(n) => AttributeValue::N(n.clone()),
        S::B(b) => AttributeValue::B(b.clone()),
        S::Bool(b) => AttributeValue::Bool(*b),
        S::Null(b) => AttributeValue::Null(*b),
        S::Ss(v) => AttributeValue::Ss(v.clone()),
        S::Ns(v) => AttributeValue::Ns(v.clone()),
        S::Bs(v) => AttributeValue::Bs(v.clone()),
        S::L(l) => AttributeValue::L(
            l.iter()
                .enumerate()
                .map(|(i, v)| convert(v).map_err(|e| e.within(&format!(".L[{i}]"))))
                .collect::<Result<_, _>>()?,
        ),
        S::M(m) => AttributeValue::M(convert_item(m).map_err(|e| e.within(".M"))?),
        _ => {
            return Err(UnknownType {
                path: String::new(),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;

    #[test]
    fn converts_stream_attribute_values() {
        use streams::AttributeValue as S;
        let blob = Blob::new(vec![1u8, 2]);
        let src = HashMap::from([
            ("s".to_string(), S::S("x".into())),
            ("n".to_string(), S::N("1.5".into())),
            ("b".to_string(), S::B(blob.clone())),
            ("ok".to_string(), S::Bool(true)),
            ("nil".to_string(), S::Null(true)),
            ("ss".to_string(), S::Ss(vec!["a".into()])),
            ("ns".to_string(), S::Ns(vec!["2".into()])),
            ("bs".to_string(), S::Bs(vec![blob.clone()])),
            (
                "l".to_string(),
                S::L(vec![S::M(HashMap::from([(
                    "k".to_string(),
                    S::S("v".into()),
                )]))]),
            ),
        ]);
        let out = convert_item(&src).unwrap();
        let want = Item::from([
            ("s".to_string(), AttributeValue::S("x".into())),
            ("n".to_string(), AttributeValue::N("1.5".into())),
            ("b".to_string(), AttributeValue::B(blob.clone())),
            ("ok".to_string(), AttributeValue::Bool(true)),
            ("nil".to_string(), AttributeValue::Null(true)),
            ("ss".to_string(), AttributeValue::Ss(vec!["a".into()])),
            ("ns".to_string(), AttributeValue::Ns(vec!["2".into()])),
            ("bs".to_string(), AttributeValue::Bs(vec![blob])),
            (
                "l".to_string(),
                AttributeValue::L(vec![AttributeValue::M(HashMap::from([(
                    "k".to_string(),
                    AttributeValue::S("v".into()),
                )]))]),
            ),
        ]);
        assert_eq!(out, want);
        // A type the SDK does not know (its `Unknown` cannot be built outside it) is named by
        // its path, built from the inside out.
        let deep = UnknownType {
            path: String::new(),
        };
        let deep = deep.within(".M").within(".L[1]").within(".a");
        assert_eq!(
            format!("Keys{deep}"),
            "Keys.a.L[1].M: attribute type unknown to this version of ddb"
        );
    }

    #[test]
    fn converts_sdk_records() {
        let rec = streams::Record::builder()
            .event_id("id")
            .event_name(streams::OperationType::Remove)
            .dynamodb(
                streams::StreamRecord::builder()
                    .keys("pk", streams::AttributeValue::S("MSG#g".into()))
                    .keys("sk", streams::AttributeValue::S("t".into()))
                    .sequence_number("42")
                    .build(),
            )
            .build();
        let r = from_sdk(&rec).unwrap();
        assert_eq!(r.event_name, EventName::Remove);
        assert_eq!(
            (r.pk(), r.sk(), r.sequence_number.as_str()),
            ("MSG#g", "t", "42")
        );
        assert!(r.new_image.is_none());
    }
}
