//! The GRP# side of seeding: after the messages are written (and, for a fixture, the stale ones
//! deleted), every seeded conversation's rows are settled on its newest existing message with
//! the stream handler's own guarded primitive (`Settler::settle`), the fixture's or generator's
//! rows as the template. So a reseed, with any arguments, in any order, after the handler moved
//! rows, leaves exactly one row per participant at the newest message that exists.

use futures::StreamExt;

use crate::aws::db::Db;
use crate::model::item::Item;
use crate::rows::settle::{Settler, Tally};

/// What settling the seeded conversations did.
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

/// Settle each `(group, template rows)`, `concurrency` conversations at once, every call within
/// the run's `db.backoff`. `on_done(n)` is called with the template's row count as each
/// conversation finishes (for a progress bar).
pub async fn settle_all<I>(
    db: &Db,
    conversations: I,
    concurrency: usize,
    on_done: &dyn Fn(u64),
) -> RowsReport
where
    I: Iterator<Item = (String, Vec<Item>)>,
{
    let settler = Settler::new(db);
    let mut report = RowsReport::default();
    let mut done = futures::stream::iter(conversations)
        .map(|(group, template)| async move {
            if db.cancelled() {
                return None;
            }
            let mut tally = Tally::default();
            let r = settler.settle(&group, &template, &mut tally).await;
            on_done(template.len() as u64);
            Some((group, r, tally))
        })
        .buffer_unordered(concurrency.max(1));
    while let Some(one) = done.next().await {
        let Some((group, r, tally)) = one else {
            continue;
        };
        report.retries += u64::from(tally.retries);
        match r {
            Ok(settled) => {
                report.conversations += 1;
                report.rows_put += u64::from(settled.rows_put);
                report.rows_deleted += u64::from(settled.rows_deleted);
            }
            Err(reason) => {
                report.failed_count += 1;
                if report.failed.len() < KEEP_REASONS {
                    report.failed.push((group, reason.to_string()));
                }
            }
        }
    }
    report.cancelled = db.cancelled();
    report
}
