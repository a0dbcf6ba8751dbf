//! The one guarded primitive behind THE INVARIANT: for every conversation, each participant has
//! exactly one GRP# row, carrying the newest message of the conversation that still exists.
//! The stream handler (forward moves to a new message, and moving back when the message a row
//! shows is removed) and seed (settling every seeded conversation) both go through it.
//!
//! This file is the I/O: `Settler` reads (through the one page helper and the run's `Backoff`),
//! asks the pure plan (`plan.rs`) what each owner's rows become, and sends the plans of all
//! owners as ONE TransactWriteItems built and read by `transaction.rs` (the rows of a
//! conversation move together and never disagree). Any failed guard means "the world changed":
//! the caller reads again and decides again. Each transaction carries a fresh
//! ClientRequestToken (uuid v4), reused only for its own retries, so a lost response is answered
//! by DynamoDB's idempotency and a later identical move is not.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use crate::aws::calls::Call;
use crate::aws::db::Db;
use crate::aws::pages::{PagedRead, Pages};
use crate::aws::retry::{is_retryable, sdk_retries_off, Stop, Tries};
use crate::model::item::Item;
use crate::model::{msg_pk, GROUP_INDEX, GRP_PREFIX};
use crate::rows::error::{
    transaction_error, SettleError, MAX_MESSAGE_PAGES, MAX_OWNER_PAGES, MAX_ROW_PAGES,
};
use crate::rows::plan::{self, owner_of, OwnerPlan, Target};
use crate::rows::transaction::{actions, read_cancellation, Cancelled, Reason, Role};

/// Calls repeated and reads done again, counted for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Attempts repeated after throttling, 5xx, dropped connections or transaction conflicts.
    pub retries: u32,
    /// Times rows were read again because a guard showed they changed under us.
    pub rechecks: u32,
    /// Transactions cancelled by a guard (a lost race or a gone message).
    pub guard_failures: u32,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.retries += other.retries;
        self.rechecks += other.rechecks;
        self.guard_failures += other.guard_failures;
    }
}

/// What a transaction did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ran {
    /// Rows put at the target (moved, created or rewritten).
    pub put: u32,
    pub deleted: u32,
    /// Duplicates were left for another round (more than a transaction holds).
    pub more: bool,
}

/// What sending one conversation's plans came to, short of an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    Applied(Ran),
    /// A row is no longer as read: read again and decide again.
    Changed,
    /// The target message no longer exists.
    TargetGone,
    /// The target message exists with another text (edited since it was read): its text now.
    TargetEdited(String),
}

/// What settling a conversation did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settled {
    /// The newest existing message; None when the conversation has none (rows are then left
    /// as they are: they are the only record of who its participants are).
    pub target: Option<Target>,
    pub rows_put: u32,
    pub rows_deleted: u32,
}

/// Reads and guarded writes for the invariant, on one table, paced and budgeted by the run's
/// `db.backoff`.
#[derive(Clone, Copy)]
pub struct Settler<'a> {
    pub db: &'a Db,
}

impl<'a> Settler<'a> {
    pub fn new(db: &'a Db) -> Settler<'a> {
        Settler { db }
    }

    /// Hand each page of `pages` to `each` with where the next one starts, until `each` says
    /// stop (`false`) or the pages end; the retries go to `tally`. `Ok(false)` when the read
    /// stopped at its `max_pages` with more to come.
    pub(super) async fn read_all<R: PagedRead>(
        pages: &mut Pages<R>,
        tally: &mut Tally,
        mut each: impl FnMut(&R::Page, Option<&R::Cursor>) -> bool,
    ) -> Result<bool, SettleError> {
        let read = async {
            while let Some(page) = pages.next().await? {
                if !each(&page, pages.cursor()) {
                    return anyhow::Ok(true);
                }
            }
            anyhow::Ok(!pages.more())
        }
        .await;
        tally.retries += pages.retries();
        read.map_err(SettleError::Read)
    }

    /// A Query on the table, to be read through `Pages`.
    pub(super) fn query(&self) -> QueryFluentBuilder {
        self.db.dynamodb.query().table_name(&self.db.table)
    }

    /// Every item of `pages`; None when there were more than its `max_pages`.
    async fn all_items(
        mut pages: Pages<QueryFluentBuilder>,
        tally: &mut Tally,
    ) -> Result<Option<Vec<Item>>, SettleError> {
        let mut items = Vec::new();
        let complete = Self::read_all(&mut pages, tally, |page, _| {
            items.extend(page.items().iter().cloned());
            true
        })
        .await?;
        Ok(complete.then_some(items))
    }

    /// The GRP# rows of a conversation through the group index (eventually consistent).
    pub async fn group_rows(
        &self,
        group: &str,
        tally: &mut Tally,
    ) -> Result<Vec<Item>, SettleError> {
        let query = self
            .query()
            .index_name(GROUP_INDEX)
            .key_condition_expression("message_group_uuid = :g")
            .filter_expression("begins_with(pk, :grp)")
            .expression_attribute_values(":g", AttributeValue::S(group.to_string()))
            .expression_attribute_values(":grp", AttributeValue::S(GRP_PREFIX.to_string()));
        let pages = Pages::new(self.db, query)
            .for_call(Call::GroupRows)
            .max_pages(MAX_ROW_PAGES);
        let rows = Self::all_items(pages, tally).await?;
        let rows = rows.ok_or_else(|| SettleError::TooManyGroupRows {
            group: group.to_string(),
        })?;
        Ok(rows.into_iter().filter(|i| owner_of(i).is_some()).collect())
    }

    /// One owner's rows of a conversation, read from the table (strongly consistent).
    pub async fn owner_rows(
        &self,
        group: &str,
        owner: &str,
        tally: &mut Tally,
    ) -> Result<Vec<Item>, SettleError> {
        let query = self
            .query()
            .consistent_read(true)
            .key_condition_expression("pk = :pk")
            .filter_expression("message_group_uuid = :g")
            .expression_attribute_values(":pk", AttributeValue::S(format!("{GRP_PREFIX}{owner}")))
            .expression_attribute_values(":g", AttributeValue::S(group.to_string()));
        let pages = Pages::new(self.db, query).for_call(Call::OwnerRows);
        let pages = pages.max_pages(MAX_OWNER_PAGES);
        let rows = Self::all_items(pages, tally).await?;
        rows.ok_or_else(|| SettleError::TooManyOwnerRows {
            owner: owner.to_string(),
        })
    }

    /// The newest message of a conversation that exists now (strongly consistent), by instant
    /// with the string as tie-break. Reads newest-first by string and stops once the rest
    /// cannot hold a newer instant (`plan::read_past`).
    pub async fn newest_message(
        &self,
        group: &str,
        tally: &mut Tally,
    ) -> Result<Option<Target>, SettleError> {
        let query = self
            .query()
            .consistent_read(true)
            .scan_index_forward(false)
            .limit(100)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(msg_pk(group)))
            .projection_expression("pk, sk, #m")
            .expression_attribute_names("#m", "message");
        let pages = Pages::new(self.db, query).for_call(Call::NewestMessage);
        let mut pages = pages.max_pages(MAX_MESSAGE_PAGES);
        let mut best: Option<Target> = None;
        let complete = Self::read_all(&mut pages, tally, |page, next| {
            best = plan::newest(best.take(), page.items());
            let next = next.and_then(|k| k.get("sk"));
            !matches!(next, Some(AttributeValue::S(next)) if plan::read_past(best.as_ref(), next))
        })
        .await?;
        if !complete {
            return Err(SettleError::TooManyMessages {
                group: group.to_string(),
            });
        }
        Ok(best)
    }

    /// Send the plans of a conversation's owners as one TransactWriteItems (its rows move
    /// together, so they never disagree), retried (same token) on throttling, conflicts, 5xx
    /// and lost connections, within the run's `db.backoff`.
    pub async fn run(
        &self,
        group: &str,
        target: &Target,
        plans: &[OwnerPlan],
        tally: &mut Tally,
    ) -> Result<Sent, SettleError> {
        if plans.iter().all(OwnerPlan::is_noop) {
            return Ok(Sent::Applied(Ran::default()));
        }
        let (items, more) = actions(&self.db.table, group, target, plans)?;
        let roles: Vec<Role> = items.iter().map(|(_, r)| *r).collect();
        let items: Vec<TransactWriteItem> = items.into_iter().map(|(i, _)| i).collect();
        // One token per transaction, kept across its own retries only.
        let token = uuid::Uuid::new_v4().to_string();
        let mut tries = self.db.backoff.tries(&self.db.cancel);
        let result = loop {
            let sent = self
                .db
                .dynamodb
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(&token)
                .customize()
                .config_override(sdk_retries_off())
                .send()
                .await;
            let err = match sent {
                Ok(_) => {
                    let count = |f: fn(&Role) -> bool| roles.iter().filter(|r| f(r)).count() as u32;
                    break Ok(Sent::Applied(Ran {
                        put: count(|r| *r == Role::Put),
                        deleted: count(|r| matches!(r, Role::From | Role::Duplicate)),
                        more,
                    }));
                }
                Err(e) => e,
            };
            let retry = match cancellation_reasons(&err) {
                Some(reasons) => match read_cancellation(&reasons, &roles, plans) {
                    Cancelled::Clash { pk } => {
                        break Err(SettleError::Clash {
                            pk,
                            sk: target.sk.clone(),
                        })
                    }
                    Cancelled::TargetGone => break Ok(Sent::TargetGone),
                    Cancelled::TargetEdited(now) => break Ok(Sent::TargetEdited(now)),
                    Cancelled::Changed => break Ok(Sent::Changed),
                    Cancelled::Retry => true,
                    Cancelled::Other => false,
                },
                None => is_retryable(&err),
            };
            if !retry {
                break Err(transaction_error(Stop::Fatal(err)));
            }
            if let Err(stop) = tries.pause(err).await {
                break Err(transaction_error(stop));
            }
        };
        tally.retries += tries.retries;
        self.db.count_retries(tries.retries);
        if matches!(
            result,
            Ok(Sent::Changed | Sent::TargetGone | Sent::TargetEdited(_))
        ) {
            tally.guard_failures += 1;
        }
        result
    }

    /// Settle a conversation's rows on its newest existing message: every owner ends with
    /// exactly one row there. Owners are those of the rows found (index, then each owner's
    /// rows read consistently) plus the template's; with a template (seed), rows of owners
    /// outside it are deleted and the template's participant attributes are written.
    pub async fn settle(
        &self,
        group: &str,
        template: &[Item],
        tally: &mut Tally,
    ) -> Result<Settled, SettleError> {
        self.settle_known(group, template, &BTreeSet::new(), tally)
            .await
    }

    /// `settle`, with owners known to have rows of the conversation besides those the group
    /// index shows (import knows the rows it just wrote; the index may not show them yet).
    pub async fn settle_known(
        &self,
        group: &str,
        template: &[Item],
        known: &BTreeSet<String>,
        tally: &mut Tally,
    ) -> Result<Settled, SettleError> {
        let mut settled = Settled::default();
        let mut rereads = self.db.backoff.tries(&self.db.cancel);
        loop {
            let target = self.newest_message(group, tally).await?;
            let indexed = self.group_rows(group, tally).await?;
            let mut owners = plan::owners(&indexed, template);
            owners.extend(known.iter().cloned());
            let reads = futures::future::join_all(owners.into_iter().map(|o| async move {
                let mut t = Tally::default();
                let read = self.owner_rows(group, &o, &mut t).await;
                (o, read, t)
            }))
            .await;
            let mut rows: BTreeMap<String, Vec<Item>> = BTreeMap::new();
            for (owner, read, t) in reads {
                tally.add(t);
                rows.insert(owner, read?);
            }
            settled.target = target.clone();
            let Some(target) = target else {
                return Ok(settled);
            };
            let plans = plan::exact(&rows, &target, template);
            let again = match self.run(group, &target, &plans, tally).await? {
                Sent::Applied(ran) => {
                    settled.rows_put += ran.put;
                    settled.rows_deleted += ran.deleted;
                    ran.more
                }
                Sent::Changed | Sent::TargetGone | Sent::TargetEdited(_) => true,
            };
            if !again {
                return Ok(settled);
            }
            self.read_again(group, &mut rereads, tally).await?;
        }
    }

    /// Pause before reading a conversation's rows again (the index is eventually consistent),
    /// within `rereads`; Err once the budget is spent or on Ctrl-C.
    pub async fn read_again(
        &self,
        group: &str,
        rereads: &mut Tries<'_>,
        tally: &mut Tally,
    ) -> Result<(), SettleError> {
        match rereads.pause(()).await {
            Ok(()) => {
                tally.rechecks += 1;
                Ok(())
            }
            Err(Stop::Cancelled(())) => Err(SettleError::Interrupted),
            Err(_) => Err(SettleError::KeptChanging {
                group: group.to_string(),
                rereads: rereads.attempts(),
            }),
        }
    }
}

/// The per-item reasons of a cancelled transaction, in TransactItems order.
fn cancellation_reasons<R>(err: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<Reason>> {
    match err.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(e) => Some(
            e.cancellation_reasons()
                .iter()
                .map(|r| Reason {
                    code: r.code().unwrap_or("None").to_string(),
                    item: r.item().cloned(),
                })
                .collect(),
        ),
        _ => None,
    }
}
