//! Reading one partition newest first (access patterns A and B), with explicit, bounded
//! pagination: stop as soon as the wanted number of items is in hand, or page to the end only
//! when asked to.

use anyhow::Result;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::aws::db::Db;
use crate::aws::pages::Pages;
use crate::model::item::Item;
use crate::read::request::{Bindings, QueryRequest};

/// Which sort keys of the partition to read. Sort keys are fixed-width UTC timestamps, so
/// string comparison is time comparison.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SkRange {
    #[default]
    All,
    /// `begins_with(sk, prefix)`, e.g. a year `2026`.
    Prefix(String),
    /// `sk BETWEEN a AND b` (both inclusive).
    Between(String, String),
    AtLeast(String),
    AtMost(String),
}

impl SkRange {
    /// The key condition and the values it binds besides `:pk`.
    fn condition(&self) -> (String, Vec<(&'static str, &str)>) {
        let base = "#pk = :pk";
        match self {
            SkRange::All => (base.to_string(), vec![]),
            SkRange::Prefix(p) => (format!("{base} AND begins_with(#sk, :a)"), vec![(":a", p)]),
            SkRange::Between(a, b) => (
                format!("{base} AND #sk BETWEEN :a AND :b"),
                vec![(":a", a), (":b", b)],
            ),
            SkRange::AtLeast(a) => (format!("{base} AND #sk >= :a"), vec![(":a", a)]),
            SkRange::AtMost(b) => (format!("{base} AND #sk <= :b"), vec![(":b", b)]),
        }
    }

    /// How the range reads in a sentence ("" when unbounded).
    pub fn describe(&self) -> String {
        match self {
            SkRange::All => String::new(),
            SkRange::Prefix(p) => format!(" in {p}"),
            SkRange::Between(a, b) => format!(" between {a} and {b}"),
            SkRange::AtLeast(a) => format!(" since {a}"),
            SkRange::AtMost(b) => format!(" until {b}"),
        }
    }
}

/// What a newest-first read returned.
#[derive(Debug, Default)]
pub struct NewestFirst {
    /// Items newest first, at most the limit asked for.
    pub items: Vec<Item>,
    /// DynamoDB said there may be more (a LastEvaluatedKey when we stopped).
    pub more: bool,
    pub pages: usize,
    /// Read capacity units summed over pages, when asked for.
    pub capacity: Option<f64>,
}

/// The first Query of a newest-first read: what `newest_first` sends, and what
/// `--explain` shows. Later pages set ExclusiveStartKey and lower Limit to what is missing.
pub fn newest_first_request(
    table: &str,
    pk: &str,
    range: &SkRange,
    limit: Option<usize>,
    capacity: bool,
) -> QueryRequest {
    let (condition, values) = range.condition();
    let mut bindings = Bindings::default();
    bindings.names.insert("#pk".into(), "pk".into());
    bindings
        .values
        .insert(":pk".into(), AttributeValue::S(pk.to_string()));
    if !values.is_empty() {
        bindings.names.insert("#sk".into(), "sk".into());
    }
    for (name, value) in values {
        bindings
            .values
            .insert(name.to_string(), AttributeValue::S(value.to_string()));
    }
    QueryRequest {
        table: table.to_string(),
        key_condition: condition,
        bindings,
        forward: false,
        limit: limit.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
        capacity,
        ..QueryRequest::default()
    }
}

/// The first Query of a whole partition read oldest first (a conversation in chat order, page
/// by page); later pages set ExclusiveStartKey.
pub fn chat_order_request(table: &str, pk: &str, range: &SkRange, capacity: bool) -> QueryRequest {
    QueryRequest {
        forward: true,
        ..newest_first_request(table, pk, range, None, capacity)
    }
}

/// Query `pk` newest first. `limit = None` pages through the whole partition; `Some(n)` stops
/// once `n` items are collected and asks DynamoDB for no more than are still missing.
pub async fn newest_first(
    db: &Db,
    pk: &str,
    range: &SkRange,
    limit: Option<usize>,
    capacity: bool,
) -> Result<NewestFirst> {
    let request = newest_first_request(&db.table, pk, range, limit, capacity);
    let mut out = NewestFirst {
        capacity: capacity.then_some(0.0),
        ..NewestFirst::default()
    };
    let mut pages = Pages::new(db, request.builder(&db.dynamodb));
    while let Some(page) = pages.next().await? {
        if let (Some(sum), Some(units)) = (
            out.capacity.as_mut(),
            page.consumed_capacity().and_then(|c| c.capacity_units()),
        ) {
            *sum += units;
        }
        out.items.extend(page.items.unwrap_or_default());
        match limit {
            Some(n) if out.items.len() >= n => break,
            // Ask for no more than are still missing.
            Some(n) => {
                let missing = i32::try_from(n - out.items.len()).unwrap_or(i32::MAX);
                pages.update(|q| q.limit(missing));
            }
            None => {}
        }
    }
    out.pages = pages.pages();
    out.more = pages.more();
    if let Some(n) = limit {
        out.items.truncate(n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_bind_what_they_use() {
        assert_eq!(SkRange::All.condition(), ("#pk = :pk".to_string(), vec![]));
        let window = SkRange::Between("a".into(), "b".into());
        let (c, v) = window.condition();
        assert_eq!(c, "#pk = :pk AND #sk BETWEEN :a AND :b");
        assert_eq!(v, vec![(":a", "a"), (":b", "b")]);
        let year = SkRange::Prefix("2026".into());
        let (c, v) = year.condition();
        assert_eq!(c, "#pk = :pk AND begins_with(#sk, :a)");
        assert_eq!(v, vec![(":a", "2026")]);
        assert_eq!(
            SkRange::AtMost("z".into()).condition().0,
            "#pk = :pk AND #sk <= :b"
        );
    }
}
