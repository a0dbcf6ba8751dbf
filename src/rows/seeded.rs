//! The GRP# side of writers of many items (seed, import): settling a conversation's rows on its
//! newest existing message with the stream handler's own guarded primitive
//! (`Settler::settle`), and the reads seed needs to decide what an earlier seed left behind.
//! So a reseed or an import, with any arguments, in any order, after the handler moved rows,
//! leaves exactly one row per participant at the newest message that exists.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use futures::StreamExt;

use crate::aws::db::Db;
use crate::aws::pages::Pages;
use crate::model::item::Item;
use crate::model::msg_pk;
use crate::model::seed_plan::SEEDED;
use crate::rows::error::{SettleError, MAX_MESSAGE_PAGES};
use crate::rows::settle::{Settled, Settler, Tally};
use crate::rows::{fresh, plan};

/// What settling conversations did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowsReport {
    pub conversations: u64,
    pub rows_put: u64,
    pub rows_deleted: u64,
    pub retries: u64,
    /// Conversations whose rows could not be settled, with the reason (the first few).
    pub failed: Vec<(String, String)>,
    pub failed_count: u64,
    /// Ctrl-C: conversations not started were left as they were.
    pub cancelled: bool,
}

/// Keep at most this many failure reasons for the message.
const KEEP_REASONS: usize = 3;

impl RowsReport {
    /// The failures kept, as "group G: why; …", for the error line.
    pub fn reasons(&self) -> String {
        let reasons: Vec<String> = self
            .failed
            .iter()
            .map(|(g, why)| format!("group {g}: {why}"))
            .collect();
        reasons.join("; ")
    }

    /// Count one conversation's settle.
    pub fn add(&mut self, group: &str, settled: Result<Settled, SettleError>, tally: Tally) {
        self.retries += u64::from(tally.retries);
        match settled {
            Ok(settled) => {
                self.conversations += 1;
                self.rows_put += u64::from(settled.rows_put);
                self.rows_deleted += u64::from(settled.rows_deleted);
            }
            Err(reason) => {
                self.failed_count += 1;
                if self.failed.len() < KEEP_REASONS {
                    self.failed.push((group.to_string(), reason.to_string()));
                }
            }
        }
    }
}

/// Settle one conversation's rows (`template`: its rows as they should be, or none), every
/// call within the run's `db.backoff`. `fresh`: the conversation had nothing before these
/// `messages` were written (`fresh::is_empty`), so its rows start at the newest of them.
pub async fn settle_one(
    db: &Db,
    group: &str,
    template: &[Item],
    fresh: Option<&[Item]>,
) -> (Result<Settled, SettleError>, Tally) {
    let mut tally = Tally::default();
    let settler = Settler::new(db);
    let newest = fresh.and_then(|messages| plan::newest(None, messages));
    let settled = match newest {
        Some(target) => fresh::start(&settler, group, template, &target, &mut tally).await,
        None => settler.settle(group, template, &mut tally).await,
    };
    (settled, tally)
}

/// Settle each conversation an import wrote to, `(group, owners of the GRP# rows it wrote)`,
/// `concurrency` conversations at once. `on_done()` is called as each one finishes (for a
/// progress bar).
pub async fn settle_touched<I>(
    db: &Db,
    conversations: I,
    concurrency: usize,
    on_done: &dyn Fn(),
) -> RowsReport
where
    I: Iterator<Item = (String, BTreeSet<String>)>,
{
    let mut report = RowsReport::default();
    let mut done = futures::stream::iter(conversations)
        .map(|(group, owners)| async move {
            if db.cancelled() {
                return None;
            }
            let mut tally = Tally::default();
            let settler = Settler::new(db);
            let settled = settler.settle_known(&group, &[], &owners, &mut tally).await;
            on_done();
            Some((group, settled, tally))
        })
        .buffer_unordered(concurrency.max(1));
    while let Some(one) = done.next().await {
        if let Some((group, settled, tally)) = one {
            report.add(&group, settled, tally);
        }
    }
    report.cancelled = db.cancelled();
    report
}

/// Every message item of conversation `group`: its keys, message_uuid and seed marker, read
/// strongly consistent (what seed decides an earlier seed left behind from).
pub async fn messages(db: &Db, group: &str) -> Result<Vec<Item>, SettleError> {
    let query = db
        .dynamodb
        .query()
        .table_name(&db.table)
        .consistent_read(true)
        .key_condition_expression("#pk = :pk")
        .expression_attribute_names("#pk", "pk")
        .expression_attribute_names("#sk", "sk")
        .expression_attribute_names("#id", "message_uuid")
        .expression_attribute_names("#seeded", SEEDED)
        .expression_attribute_values(":pk", AttributeValue::S(msg_pk(group)))
        .projection_expression("#pk, #sk, #id, #seeded");
    let mut pages = Pages::new(db, query).max_pages(MAX_MESSAGE_PAGES);
    let mut items = Vec::new();
    while let Some(page) = pages.next().await.map_err(SettleError::Read)? {
        items.extend(page.items.unwrap_or_default());
    }
    if pages.more() {
        return Err(SettleError::TooManyMessages {
            group: group.to_string(),
        });
    }
    Ok(items)
}

/// The table keys (pk, sk) of every item of conversation `group`: its messages and its GRP#
/// rows (through the group index), for `seed --reset`.
pub async fn everything(db: &Db, group: &str) -> Result<Vec<Item>, SettleError> {
    let mut tally = Tally::default();
    let rows = Settler::new(db).group_rows(group, &mut tally).await?;
    let keys = messages(db, group).await?.into_iter().chain(rows);
    Ok(keys
        .map(|item| {
            ["pk", "sk"]
                .iter()
                .filter_map(|k| Some((k.to_string(), item.get(*k)?.clone())))
                .collect()
        })
        .collect())
}
