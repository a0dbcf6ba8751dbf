//! The stream handler (access pattern D): what the Lambda on the table's stream runs. It keeps
//! THE INVARIANT (src/rows/): each participant has exactly one GRP# row per conversation,
//! carrying the newest message of it that still exists.
//!
//! This file is the I/O around pure decisions: `classify` sorts a batch into one lane per
//! conversation, `coalesce` says what a lane's rows need (the newest message of the batch,
//! moved to in one transaction that checks the message still exists; after a REMOVE of the
//! message a row shows, a settle on the newest message that remains) and what each record
//! came to. Here the rows are read, the move or settle is sent through `rows::settle`, and the
//! lane asked again when a guard says the rows changed. Conversations run in parallel; one
//! conversation's failure makes every record of it in the batch Failed, so a checkpoint or
//! Lambda retries them all (every step is idempotent, so the retry changes nothing done).

use futures::StreamExt;

use crate::aws::db::Db;
use crate::aws::retry::Backoff;
use crate::rows::error::SettleError;
use crate::rows::settle::{Sent, Settler, Tally};
// What callers of the handler read besides it: the outcome of a record, and the check of a
// record before any write (simulate-stream checks a whole event file first).
pub use crate::stream::classify::classify_for;
use crate::stream::classify::{lanes, Lane};
use crate::stream::coalesce::{looks_short, Found, Step};
pub use crate::stream::outcome::Outcome;
use crate::stream::outcome::RecordResult;
use crate::stream::record::StreamRecord;

/// Extra reads of the index when it shows fewer rows than participants.
const SHORT_READ_RETRIES: u32 = 2;

/// The handler: the database handle (whose `backoff` paces and bounds every call) and how
/// many conversations it handles at once.
pub struct Handler<'a> {
    db: &'a Db,
    /// Conversations handled at once within a batch.
    concurrency: usize,
}

/// A conversation's records failed: why, and how many rows this batch had already moved.
#[derive(Debug, thiserror::Error)]
#[error("{source}{}", after_updating(*.updated))]
struct ConversationFailed {
    source: SettleError,
    updated: usize,
}

fn after_updating(rows: usize) -> String {
    if rows > 0 {
        format!(
            " (after updating {})",
            crate::term::plural(rows as u64, "row")
        )
    } else {
        String::new()
    }
}

impl<'a> Handler<'a> {
    pub fn new(db: &'a Db) -> Handler<'a> {
        Handler { db, concurrency: 1 }
    }

    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Handle a batch: each conversation once (coalesced), conversations concurrently. Once
    /// the run is cancelled (Ctrl-C), conversations not yet started are left alone (None for
    /// their records), so the caller can checkpoint the prefix that is done; one in flight
    /// stops at its next read (the page helper ends at once) and its records fail, while a
    /// transaction already being sent is finished.
    pub async fn handle_batch(&self, records: &[StreamRecord]) -> Vec<Option<RecordResult>> {
        let mut results: Vec<Option<RecordResult>> = vec![None; records.len()];
        let sorted = lanes(records, &self.db.table);
        for (i, r) in sorted.decided {
            results[i] = Some(r);
        }
        let mut finished = futures::stream::iter(sorted.lanes)
            .map(|lane| async move {
                if self.db.cancelled() {
                    return Vec::new();
                }
                self.conversation(&lane).await
            })
            .buffer_unordered(self.concurrency);
        while let Some(lane) = finished.next().await {
            for (i, r) in lane {
                results[i] = Some(r);
            }
        }
        results
    }

    /// Handle one record (a batch of one).
    pub async fn handle(&self, rec: &StreamRecord) -> RecordResult {
        let mut out = self.handle_batch(std::slice::from_ref(rec)).await;
        out.pop().flatten().unwrap_or_else(|| {
            let why = Outcome::Failed("interrupted before it started".into());
            RecordResult::free(why, false)
        })
    }

    /// One conversation's records: outcomes, with the calls' counts on one record.
    async fn conversation(&self, lane: &Lane) -> Vec<(usize, RecordResult)> {
        let mut tally = Tally::default();
        let outcomes = match self.coalesce(lane, &mut tally).await {
            Ok(outcomes) => outcomes,
            Err(failed) => lane.failed(&failed.to_string()),
        };
        lane.results(outcomes, tally)
    }

    /// Read the conversation's rows, do what the lane asks (apply its newest message, or settle
    /// after a REMOVE of the message its rows show), and ask again while a guard says the rows
    /// changed. Err fails every record of the conversation.
    async fn coalesce(
        &self,
        lane: &Lane,
        tally: &mut Tally,
    ) -> Result<Vec<(usize, Outcome)>, ConversationFailed> {
        let (settler, group) = (Settler::new(self.db), lane.group.as_str());
        let mut found = Found::default();
        let mut updated = 0;
        let failed = |source: SettleError, updated: usize| ConversationFailed { source, updated };
        // A short read gets a couple of quick looks, not the run's whole budget: it is usually
        // the index between a row's delete and its put, but some data really has fewer rows,
        // and waiting the full budget on each such conversation would stall the batch.
        let short = Backoff {
            max_attempts: SHORT_READ_RETRIES + 1,
            ..self.db.backoff
        };
        let mut short_reads = short.tries(&self.db.cancel);
        let mut rereads = self.db.backoff.tries(&self.db.cancel);
        loop {
            let rows = (settler.group_rows(group, tally).await).map_err(|e| failed(e, updated))?;
            if looks_short(&rows) {
                match settler.read_again(group, &mut short_reads, tally).await {
                    Ok(()) => continue,
                    // Still short after the quick looks: go on with the rows there are.
                    Err(SettleError::KeptChanging { .. }) => {}
                    Err(e) => return Err(failed(e, updated)),
                }
            }
            match lane.step(&rows, &found) {
                Step::Done(outcomes) => return Ok(outcomes),
                Step::Settle { trigger } => {
                    let settled = settler.settle(group, &[], tally).await;
                    let settled = settled.map_err(|e| failed(e, updated))?;
                    return Ok(lane.after_settle(trigger, &settled));
                }
                Step::Apply {
                    record,
                    target,
                    plans,
                    current,
                } => {
                    let sent = settler.run(group, &target, &plans, tally).await;
                    match sent.map_err(|e| failed(e, updated))? {
                        Sent::Applied(ran) => {
                            updated += ran.put as usize;
                            if !ran.more {
                                return Ok(lane.after_apply(record, &found, updated, current));
                            }
                        }
                        Sent::Changed => {}
                        Sent::TargetGone => {
                            found.gone.insert(target.sk);
                        }
                        Sent::TargetEdited(now) => {
                            found.edited.insert(target.sk, now);
                        }
                    }
                }
            }
            // The index is eventually consistent: give it a moment before reading again.
            let again = settler.read_again(group, &mut rereads, tally).await;
            again.map_err(|e| failed(e, updated))?;
        }
    }
}
