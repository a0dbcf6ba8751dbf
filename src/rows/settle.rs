//! The one guarded primitive behind THE INVARIANT: for every conversation, each participant has
//! exactly one GRP# row, carrying the newest message of the conversation that still exists.
//! The stream handler (forward moves to a new message, and moving back when the message a row
//! shows is removed) and seed (settling every seeded conversation) both go through it.
//!
//! For each participant ("owner") of a conversation, `plan_owner` decides from the rows read
//! what must happen to its rows, and `Settler::run` sends the plans of all owners as ONE
//! TransactWriteItems (the rows of a conversation move together and never disagree), guarded
//! so that a decision made on a stale read can never be applied:
//! - ConditionCheck `attribute_exists(pk)` on the message the row moves to (MSG#g, sk): a replay
//!   can never revive a deleted message, and the check is in the same transaction as the move;
//! - moving back (the row shows a newer message than the newest existing one): ConditionCheck
//!   `attribute_not_exists(pk)` on the message the row shows, so a row is only moved back from
//!   a message that is really gone;
//! - Delete of the row's old key if `attribute_exists(pk) AND message_group_uuid = :g` (nobody
//!   moved it since we read it), Put of the new key if `attribute_not_exists(pk) OR
//!   message_group_uuid = :g` (never overwrite another conversation's row), and guarded Deletes
//!   of the owner's duplicate rows, all in the same transaction.
//!
//! Any failed guard means "the world changed": the caller reads again and decides again. Each
//! transaction carries a fresh ClientRequestToken (uuid v4), reused only for its own retries, so
//! a lost response is answered by DynamoDB's idempotency and a later identical move is not.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem};

use crate::aws::db::Db;
use crate::aws::retry::{is_retryable, is_throttling_code, sdk_retries_off, Backoff, Stop};
use crate::errors::causes;
use crate::model::item::{get_s, Item};
use crate::model::{
    compare_sk, is_newer, msg_pk, parse_timestamp, wall_clock, GROUP_INDEX, GRP_PREFIX,
};

/// Pages of a group's rows (index) or an owner's rows we are prepared to read.
const MAX_ROW_PAGES: usize = 20;
/// Pages of a conversation's messages read to find the newest one.
const MAX_MESSAGE_PAGES: usize = 1_000;
/// DynamoDB's limit of actions per transaction.
const MAX_TRANSACT_ITEMS: usize = 100;
/// A sort key's instant is within this many hours of its wall-clock reading (offsets run from
/// -12:00 to +14:00; a day more covers a date written with a space instead of `T`).
const WALL_CLOCK_SLACK_HOURS: i64 = 48;

/// The message a conversation's rows should carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub sk: String,
    pub message: String,
}

/// How a plan treats rows newer than the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A new message: rows only ever move forward; a row as new or newer stays.
    Forward,
    /// The newest existing message: rows end exactly there (back from a removed message too),
    /// with the template's participant attributes when one is given.
    Exact,
}

/// What one owner's rows need.
#[derive(Clone, Debug, PartialEq)]
pub enum OwnerPlan {
    /// The newest row stays; these other rows of the owner (duplicates) are deleted.
    Stay { deletes: Vec<Item> },
    /// Put `row` (at the target); delete `from` (the newest row, when at another key) and the
    /// other rows. `back` is set when `from` shows a newer message than the target: the move
    /// is then guarded by that message being gone.
    Move {
        from: Option<Item>,
        row: Item,
        deletes: Vec<Item>,
        back: bool,
    },
}

impl OwnerPlan {
    pub fn is_noop(&self) -> bool {
        matches!(self, OwnerPlan::Stay { deletes } if deletes.is_empty())
    }
}

fn sk(row: &Item) -> &str {
    get_s(row, "sk").unwrap_or("")
}

/// The owner of a GRP# row (`GRP#<owner>`).
pub fn owner_of(row: &Item) -> Option<&str> {
    get_s(row, "pk").and_then(|pk| pk.strip_prefix(GRP_PREFIX))
}

/// Attributes that describe the conversation in a row (besides sk and message).
const ROW_ATTRS: [&str; 4] = [
    "message_group_uuid",
    "user_uuid",
    "user_display_name",
    "user_handle",
];

/// Decide what one owner's rows of a conversation need to carry `target`. `rows` are the
/// owner's rows of this conversation (any number); `template` is the row as it should look
/// (seed), else the newest row is kept with the new sk and message.
pub fn plan_owner(
    rows: &[Item],
    target: &Target,
    template: Option<&Item>,
    mode: Mode,
) -> OwnerPlan {
    let best = rows.iter().max_by(|a, b| compare_sk(sk(a), sk(b)));
    let others = |keep: Option<&Item>| -> Vec<Item> {
        rows.iter()
            .filter(|r| Some(*r) != keep && sk(r) != target.sk)
            .cloned()
            .collect()
    };
    if let Some(best) = best {
        let stays = match mode {
            Mode::Forward => !is_newer(&target.sk, sk(best)),
            Mode::Exact => {
                sk(best) == target.sk
                    && get_s(best, "message") == Some(target.message.as_str())
                    && template.is_none_or(|t| ROW_ATTRS.iter().all(|a| t.get(*a) == best.get(*a)))
            }
        };
        if stays {
            let deletes = rows.iter().filter(|r| *r != best).cloned().collect();
            return OwnerPlan::Stay { deletes };
        }
    }
    let Some(base) = template.or(best) else {
        return OwnerPlan::Stay {
            deletes: Vec::new(),
        };
    };
    let mut row = base.clone();
    row.insert("sk".into(), AttributeValue::S(target.sk.clone()));
    row.insert("message".into(), AttributeValue::S(target.message.clone()));
    let from = best.filter(|b| sk(b) != target.sk).cloned();
    let back = from.as_ref().is_some_and(|f| is_newer(sk(f), &target.sk));
    OwnerPlan::Move {
        deletes: others(best),
        from,
        row,
        back,
    }
}

/// What an action in a transaction is for, to read its cancellation reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The target message exists.
    Target,
    /// The message a row moves back from is gone.
    Gone,
    /// The row's old key, still where we read it.
    From,
    /// The row at the target.
    Put,
    /// A duplicate row of the owner.
    Duplicate,
}

/// The actions of one conversation's transaction, in order, with their roles: one check that
/// the target exists (when any row moves), one check per message rows move back from (a
/// transaction may touch an item once), then each owner's Delete, Put and duplicate Deletes.
/// At most `MAX_TRANSACT_ITEMS`; duplicates beyond that are left for the next read (`true`).
pub fn actions(
    table: &str,
    group: &str,
    target: &Target,
    plans: &[OwnerPlan],
) -> Result<(Vec<(TransactWriteItem, Role)>, bool), String> {
    let g = AttributeValue::S(group.to_string());
    let key = |row: &Item| -> Item {
        ["pk", "sk"]
            .iter()
            .filter_map(|k| Some((k.to_string(), row.get(*k)?.clone())))
            .collect()
    };
    let guarded_delete = |row: &Item| {
        Delete::builder()
            .table_name(table)
            .set_key(Some(key(row)))
            .condition_expression("attribute_exists(pk) AND message_group_uuid = :g")
            .expression_attribute_values(":g", g.clone())
            .build()
            .map(|d| TransactWriteItem::builder().delete(d).build())
            .map_err(|e| e.to_string())
    };
    let message_check = |at: &str, condition: &str| {
        ConditionCheck::builder()
            .table_name(table)
            .key("pk", AttributeValue::S(msg_pk(group)))
            .key("sk", AttributeValue::S(at.to_string()))
            .condition_expression(condition)
            .build()
            .map(|c| TransactWriteItem::builder().condition_check(c).build())
            .map_err(|e| e.to_string())
    };
    let mut out = Vec::new();
    if plans.iter().any(|p| matches!(p, OwnerPlan::Move { .. })) {
        out.push((
            message_check(&target.sk, "attribute_exists(pk)")?,
            Role::Target,
        ));
    }
    let mut gone_checked: BTreeSet<&str> = BTreeSet::new();
    for plan in plans {
        if let OwnerPlan::Move {
            from: Some(from),
            back: true,
            ..
        } = plan
        {
            if gone_checked.insert(sk(from)) {
                out.push((
                    message_check(sk(from), "attribute_not_exists(pk)")?,
                    Role::Gone,
                ));
            }
        }
    }
    let mut duplicates: Vec<&Item> = Vec::new();
    for plan in plans {
        let deletes = match plan {
            OwnerPlan::Stay { deletes } => deletes,
            OwnerPlan::Move {
                from, row, deletes, ..
            } => {
                if let Some(from) = from {
                    out.push((guarded_delete(from)?, Role::From));
                }
                let put = Put::builder()
                    .table_name(table)
                    .set_item(Some(row.clone()))
                    .condition_expression("attribute_not_exists(pk) OR message_group_uuid = :g")
                    .expression_attribute_values(":g", g.clone())
                    .build()
                    .map_err(|e| e.to_string())?;
                out.push((TransactWriteItem::builder().put(put).build(), Role::Put));
                deletes
            }
        };
        duplicates.extend(deletes);
    }
    let room = MAX_TRANSACT_ITEMS.saturating_sub(out.len());
    for row in duplicates.iter().take(room) {
        out.push((guarded_delete(row)?, Role::Duplicate));
    }
    Ok((out, duplicates.len() > room))
}

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

/// Why one owner's transaction did not go through.
#[derive(Debug, PartialEq, Eq)]
pub enum RunError {
    /// A row is no longer as read: read again and decide again.
    Changed,
    /// The target message no longer exists.
    TargetGone,
    Failed(String),
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

/// What settling a conversation did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settled {
    /// The newest existing message; None when the conversation has none (rows are then left
    /// as they are: they are the only record of who its participants are).
    pub target: Option<Target>,
    pub rows_put: u32,
    pub rows_deleted: u32,
}

/// Reads and guarded writes for the invariant, on one table.
#[derive(Clone, Copy)]
pub struct Settler<'a> {
    pub db: &'a Db,
    pub backoff: Backoff,
}

impl<'a> Settler<'a> {
    pub fn new(db: &'a Db, backoff: Backoff) -> Settler<'a> {
        Settler { db, backoff }
    }

    /// The GRP# rows of a conversation through the group index (eventually consistent).
    pub async fn group_rows(&self, group: &str, tally: &mut Tally) -> Result<Vec<Item>, String> {
        let mut rows = Vec::new();
        let mut start: Option<Item> = None;
        for _ in 0..MAX_ROW_PAGES {
            let mut retries = 0;
            let sent = self
                .backoff
                .call(&self.db.cancel, &mut retries, || {
                    self.db
                        .dynamodb
                        .query()
                        .table_name(&self.db.table)
                        .index_name(GROUP_INDEX)
                        .key_condition_expression("message_group_uuid = :g")
                        .filter_expression("begins_with(pk, :grp)")
                        .expression_attribute_values(":g", AttributeValue::S(group.to_string()))
                        .expression_attribute_values(
                            ":grp",
                            AttributeValue::S(GRP_PREFIX.to_string()),
                        )
                        .set_exclusive_start_key(start.clone())
                        .customize()
                        .config_override(sdk_retries_off())
                        .send()
                })
                .await;
            tally.retries += retries;
            let page = sent.map_err(|stop| sdk_reason("Query", stop.error()))?;
            rows.extend(
                page.items()
                    .iter()
                    .filter(|i| owner_of(i).is_some())
                    .cloned(),
            );
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(rows);
            }
        }
        Err(format!(
            "group {group} has more than {MAX_ROW_PAGES} pages of rows in {GROUP_INDEX}"
        ))
    }

    /// One owner's rows of a conversation, read from the table (strongly consistent).
    pub async fn owner_rows(
        &self,
        group: &str,
        owner: &str,
        tally: &mut Tally,
    ) -> Result<Vec<Item>, String> {
        let mut rows = Vec::new();
        let mut start: Option<Item> = None;
        for _ in 0..MAX_ROW_PAGES * 50 {
            let mut retries = 0;
            let sent = self
                .backoff
                .call(&self.db.cancel, &mut retries, || {
                    self.db
                        .dynamodb
                        .query()
                        .table_name(&self.db.table)
                        .consistent_read(true)
                        .key_condition_expression("pk = :pk")
                        .filter_expression("message_group_uuid = :g")
                        .expression_attribute_values(
                            ":pk",
                            AttributeValue::S(format!("{GRP_PREFIX}{owner}")),
                        )
                        .expression_attribute_values(":g", AttributeValue::S(group.to_string()))
                        .set_exclusive_start_key(start.clone())
                        .customize()
                        .config_override(sdk_retries_off())
                        .send()
                })
                .await;
            tally.retries += retries;
            let page = sent.map_err(|stop| sdk_reason("Query", stop.error()))?;
            rows.extend(page.items().iter().cloned());
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(rows);
            }
        }
        Err(format!("user {owner} has too many GRP# rows to read"))
    }

    /// The newest message of a conversation that exists now (strongly consistent), by instant
    /// with the string as tie-break. Reads newest-first by string and stops once the rest
    /// cannot hold a newer instant.
    pub async fn newest_message(
        &self,
        group: &str,
        tally: &mut Tally,
    ) -> Result<Option<Target>, String> {
        let mut best: Option<Target> = None;
        let mut start: Option<Item> = None;
        for _ in 0..MAX_MESSAGE_PAGES {
            let mut retries = 0;
            let sent = self
                .backoff
                .call(&self.db.cancel, &mut retries, || {
                    self.db
                        .dynamodb
                        .query()
                        .table_name(&self.db.table)
                        .consistent_read(true)
                        .scan_index_forward(false)
                        .limit(100)
                        .key_condition_expression("pk = :pk")
                        .expression_attribute_values(":pk", AttributeValue::S(msg_pk(group)))
                        .projection_expression("pk, sk, #m")
                        .expression_attribute_names("#m", "message")
                        .set_exclusive_start_key(start.clone())
                        .customize()
                        .config_override(sdk_retries_off())
                        .send()
                })
                .await;
            tally.retries += retries;
            let page = sent.map_err(|stop| sdk_reason("Query", stop.error()))?;
            for item in page.items() {
                let at = sk(item);
                if best.as_ref().is_none_or(|b| is_newer(at, &b.sk)) {
                    best = Some(Target {
                        sk: at.to_string(),
                        message: get_s(item, "message").unwrap_or("").to_string(),
                    });
                }
            }
            start = page.last_evaluated_key().cloned();
            let Some(next) = &start else {
                return Ok(best);
            };
            let best_at = best.as_ref().and_then(|b| parse_timestamp(&b.sk).ok());
            let reached = wall_clock(get_s(next, "sk").unwrap_or(""));
            if let (Some(best_at), Some(reached)) = (best_at, reached) {
                if reached.and_utc() + chrono::Duration::hours(WALL_CLOCK_SLACK_HOURS) < best_at {
                    return Ok(best);
                }
            }
        }
        Err(format!(
            "conversation {group} has more than {MAX_MESSAGE_PAGES} pages of messages to compare"
        ))
    }

    /// Send the plans of a conversation's owners as one TransactWriteItems (its rows move
    /// together, so they never disagree), retried (same token) on throttling, conflicts, 5xx
    /// and lost connections.
    pub async fn run(
        &self,
        group: &str,
        target: &Target,
        plans: &[OwnerPlan],
        tally: &mut Tally,
    ) -> Result<Ran, RunError> {
        if plans.iter().all(OwnerPlan::is_noop) {
            return Ok(Ran::default());
        }
        let (items, more) =
            actions(&self.db.table, group, target, plans).map_err(RunError::Failed)?;
        let roles: Vec<Role> = items.iter().map(|(_, r)| *r).collect();
        let items: Vec<TransactWriteItem> = items.into_iter().map(|(i, _)| i).collect();
        // One token per transaction, kept across its own retries only.
        let token = uuid::Uuid::new_v4().to_string();
        let mut tries = self.backoff.tries(&self.db.cancel);
        loop {
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
                    tally.retries += tries.retries;
                    let put = roles.iter().filter(|r| **r == Role::Put).count() as u32;
                    let deleted = roles
                        .iter()
                        .filter(|r| matches!(r, Role::From | Role::Duplicate))
                        .count() as u32;
                    return Ok(Ran { put, deleted, more });
                }
                Err(e) => e,
            };
            let retry = match cancellation_codes(&err) {
                Some(codes) => {
                    let failed = |role: Role| {
                        codes
                            .iter()
                            .zip(&roles)
                            .any(|(c, r)| *r == role && c == "ConditionalCheckFailed")
                    };
                    if failed(Role::Put) {
                        tally.retries += tries.retries;
                        let puts = plans.iter().filter_map(|p| match p {
                            OwnerPlan::Move { row, .. } => get_s(row, "pk"),
                            OwnerPlan::Stay { .. } => None,
                        });
                        let failed_put = codes
                            .iter()
                            .zip(&roles)
                            .filter(|(_, r)| **r == Role::Put)
                            .zip(puts)
                            .find(|((c, _), _)| *c == "ConditionalCheckFailed")
                            .map_or("", |(_, pk)| pk);
                        return Err(RunError::Failed(format!(
                            "{failed_put} already has a row at sk {} for another conversation",
                            target.sk
                        )));
                    }
                    if failed(Role::Target)
                        || failed(Role::Gone)
                        || failed(Role::From)
                        || failed(Role::Duplicate)
                    {
                        tally.retries += tries.retries;
                        tally.guard_failures += 1;
                        return Err(if failed(Role::Target) {
                            RunError::TargetGone
                        } else {
                            RunError::Changed
                        });
                    }
                    codes.iter().any(|c| {
                        c == "TransactionConflict"
                            || is_throttling_code(c)
                            || c == "ThrottlingError"
                    })
                }
                None => is_retryable(&err),
            };
            if !retry {
                tally.retries += tries.retries;
                return Err(RunError::Failed(sdk_reason("TransactWriteItems", &err)));
            }
            let paused = tries.pause(err).await;
            match paused {
                Ok(()) => {}
                Err(Stop::Exhausted { error, attempts }) => {
                    tally.retries += tries.retries;
                    let why = sdk_reason("TransactWriteItems", &error);
                    return Err(RunError::Failed(format!(
                        "{why} (after {attempts} attempts)"
                    )));
                }
                Err(stop) => {
                    tally.retries += tries.retries;
                    let why = sdk_reason("TransactWriteItems", stop.error());
                    return Err(RunError::Failed(format!("interrupted: {why}")));
                }
            }
        }
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
    ) -> Result<Settled, String> {
        let mut settled = Settled::default();
        let mut rereads = self.backoff.tries(&self.db.cancel);
        loop {
            let target = self.newest_message(group, tally).await?;
            let indexed = self.group_rows(group, tally).await?;
            let owners: BTreeSet<String> = indexed
                .iter()
                .chain(template)
                .filter_map(|r| owner_of(r).map(str::to_string))
                .collect();
            let reads = futures::future::join_all(owners.iter().map(|o| async move {
                let mut t = Tally::default();
                (o, self.owner_rows(group, o, &mut t).await, t)
            }))
            .await;
            let mut rows: BTreeMap<&String, Vec<Item>> = BTreeMap::new();
            for (owner, read, t) in reads {
                tally.add(t);
                rows.insert(owner, read?);
            }
            settled.target = target.clone();
            let Some(target) = target else {
                return Ok(settled);
            };
            let plans: Vec<OwnerPlan> = rows
                .iter()
                .map(|(owner, owned)| {
                    let wanted = template
                        .iter()
                        .find(|t| owner_of(t) == Some(owner.as_str()));
                    match wanted {
                        None if !template.is_empty() => OwnerPlan::Stay {
                            deletes: owned.clone(),
                        },
                        _ => plan_owner(owned, &target, wanted, Mode::Exact),
                    }
                })
                .collect();
            let again = match self.run(group, &target, &plans, tally).await {
                Ok(ran) => {
                    settled.rows_put += ran.put;
                    settled.rows_deleted += ran.deleted;
                    ran.more
                }
                Err(RunError::Changed | RunError::TargetGone) => true,
                Err(RunError::Failed(e)) => return Err(e),
            };
            if !again {
                return Ok(settled);
            }
            match rereads.pause(()).await {
                Ok(()) => tally.rechecks += 1,
                Err(Stop::Cancelled(())) => return Err("interrupted".into()),
                Err(_) => {
                    return Err(format!(
                        "GRP# rows of group {group} kept changing; gave up after {} re-reads",
                        rereads.attempts()
                    ))
                }
            }
        }
    }
}

/// The per-item codes of a cancelled transaction, in TransactItems order.
fn cancellation_codes<R>(err: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<String>> {
    match err.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(e) => Some(
            e.cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or("None").to_string())
                .collect(),
        ),
        _ => None,
    }
}

/// Why a call failed, in one line: the service's code and message, or the cause chain.
pub fn sdk_reason<E, R>(op: &str, err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match (err.code(), err.message()) {
        (Some(code), Some(msg)) => format!("{code} on {op}: {msg}"),
        (Some(code), None) => format!("{code} on {op}"),
        _ => format!("{op}: {}", causes(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(owner: &str, at: &str, message: &str) -> Item {
        let s = |v: &str| AttributeValue::S(v.into());
        Item::from([
            ("pk".into(), s(&format!("GRP#{owner}"))),
            ("sk".into(), s(at)),
            ("message_group_uuid".into(), s("g")),
            ("message".into(), s(message)),
            ("user_uuid".into(), s("other")),
            ("user_display_name".into(), s("Other")),
            ("user_handle".into(), s("other")),
        ])
    }

    fn target(at: &str, message: &str) -> Target {
        Target {
            sk: at.into(),
            message: message.into(),
        }
    }

    const T1: &str = "2026-01-01T00:00:01.000000+00:00";
    const T2: &str = "2026-01-01T00:00:02.000000+00:00";
    const T3: &str = "2026-01-01T00:00:03.000000+00:00";

    #[test]
    fn forward_moves_only_to_newer_messages_and_drops_duplicates() {
        let rows = [row("a", T1, "one"), row("a", T2, "two")];
        match plan_owner(&rows, &target(T3, "three"), None, Mode::Forward) {
            OwnerPlan::Move {
                from,
                row,
                deletes,
                back,
            } => {
                assert_eq!(from, Some(rows[1].clone()));
                assert_eq!(deletes, vec![rows[0].clone()]);
                assert_eq!(get_s(&row, "sk"), Some(T3));
                assert_eq!(get_s(&row, "message"), Some("three"));
                assert_eq!(get_s(&row, "user_uuid"), Some("other"));
                assert!(!back);
            }
            other => panic!("{other:?}"),
        }
        // Older or equal: the newest row stays, the duplicate goes.
        assert_eq!(
            plan_owner(&rows, &target(T2, "two"), None, Mode::Forward),
            OwnerPlan::Stay {
                deletes: vec![rows[0].clone()]
            }
        );
        assert!(plan_owner(&rows[1..], &target(T1, "x"), None, Mode::Forward).is_noop());
        // An app timestamp without an offset, 1 µs after T2: newer by instant.
        let app = "2026-01-01T00:00:02.000001";
        assert!(matches!(
            plan_owner(&rows[1..], &target(app, "app"), None, Mode::Forward),
            OwnerPlan::Move { .. }
        ));
    }

    #[test]
    fn exact_moves_back_from_a_removed_message_and_applies_the_template() {
        let rows = [row("a", T3, "removed")];
        match plan_owner(&rows, &target(T2, "two"), None, Mode::Exact) {
            OwnerPlan::Move { from, back, .. } => {
                assert_eq!(from, Some(rows[0].clone()));
                assert!(
                    back,
                    "moving back is guarded by the shown message being gone"
                );
            }
            other => panic!("{other:?}"),
        }
        let here = [row("a", T2, "two")];
        assert!(plan_owner(&here, &target(T2, "two"), None, Mode::Exact).is_noop());
        // Same place, new display name from the fixture: rewritten in place.
        let mut t = row("a", T1, "whatever");
        t.insert(
            "user_display_name".into(),
            AttributeValue::S("Renamed".into()),
        );
        match plan_owner(&here, &target(T2, "two"), Some(&t), Mode::Exact) {
            OwnerPlan::Move { from, row, .. } => {
                assert_eq!(from, None);
                assert_eq!(get_s(&row, "user_display_name"), Some("Renamed"));
                assert_eq!(get_s(&row, "sk"), Some(T2));
            }
            other => panic!("{other:?}"),
        }
        // No row yet (seed): created from the template.
        assert!(matches!(
            plan_owner(&[], &target(T2, "two"), Some(&t), Mode::Exact),
            OwnerPlan::Move { from: None, .. }
        ));
    }

    #[test]
    fn transactions_check_the_message_and_guard_every_row() {
        let rows = [row("a", T1, "one"), row("a", T3, "gone")];
        let plan = plan_owner(&rows, &target(T2, "two"), None, Mode::Exact);
        let other = plan_owner(
            &[row("b", T3, "gone")],
            &target(T2, "two"),
            None,
            Mode::Exact,
        );
        let (items, more) = actions("t", "g", &target(T2, "two"), &[plan, other]).unwrap();
        let roles: Vec<Role> = items.iter().map(|(_, r)| *r).collect();
        // Both rows in one transaction, and one Gone check for the message both move back
        // from: a transaction may touch an item only once.
        assert_eq!(
            roles,
            [
                Role::Target,
                Role::Gone,
                Role::From,
                Role::Put,
                Role::From,
                Role::Put,
                Role::Duplicate
            ]
        );
        assert!(!more);
        let check = items[0].0.condition_check().unwrap();
        assert_eq!(check.condition_expression(), "attribute_exists(pk)");
        assert_eq!(check.key().get("sk"), Some(&AttributeValue::S(T2.into())));
        assert_eq!(
            check.key().get("pk"),
            Some(&AttributeValue::S("MSG#g".into()))
        );
    }
}
