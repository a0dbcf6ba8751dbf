//! A conversation's plan as one guarded TransactWriteItems, and what a cancelled one means.
//! Pure: builds the request's items and reads the per-item cancellation codes; `settle.rs`
//! sends it. The guards make a decision taken on a stale read impossible to apply:
//! - ConditionCheck `attribute_exists(pk) AND #m = :m` on the message the rows move to (MSG#g,
//!   sk) with the text they will carry: a replay can never revive a deleted message nor bring
//!   back the text of an edited one, and the check is in the same transaction as the move (a
//!   failed check returns the message as it is, telling a gone message from an edited one);
//! - moving back (a row shows a newer message than the newest existing one): ConditionCheck
//!   `attribute_not_exists(pk)` on the message the row shows, so a row is only moved back from
//!   a message that is really gone;
//! - Delete of the row's old key if `attribute_exists(pk) AND message_group_uuid = :g` (nobody
//!   moved it since we read it), Put of the new key if `attribute_not_exists(pk) OR
//!   message_group_uuid = :g` (never overwrite another conversation's row), and guarded Deletes
//!   of the owner's duplicate rows, all in the same transaction.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem,
};

use crate::aws::calls::Call;
use crate::aws::retry::is_throttling_code;
use crate::model::item::{get_s, Item};
use crate::model::msg_pk;
use crate::rows::plan::{sk, OwnerPlan, Target};

/// DynamoDB's limit of actions per transaction.
const MAX_TRANSACT_ITEMS: usize = 100;

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

impl Role {
    /// The catalogued call an action of this role is, and so its permission (`aws::calls`).
    pub fn call(self) -> Call {
        match self {
            Role::Target | Role::Gone => Call::MessageCheck,
            Role::Put => Call::RowPut,
            Role::From | Role::Duplicate => Call::RowDelete,
        }
    }
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
) -> Result<(Vec<(TransactWriteItem, Role)>, bool), BuildError> {
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
    };
    let message_check = |at: &str| {
        ConditionCheck::builder()
            .table_name(table)
            .key("pk", AttributeValue::S(msg_pk(group)))
            .key("sk", AttributeValue::S(at.to_string()))
    };
    let mut out = Vec::new();
    if plans.iter().any(|p| matches!(p, OwnerPlan::Move { .. })) {
        // A message without a text attribute (another client's item) reads as "": it still
        // counts as unchanged while it has none.
        let condition = if target.message.is_empty() {
            "attribute_exists(pk) AND (attribute_not_exists(#m) OR #m = :m)"
        } else {
            "attribute_exists(pk) AND #m = :m"
        };
        let check = message_check(&target.sk)
            .condition_expression(condition)
            .expression_attribute_names("#m", "message")
            .expression_attribute_values(":m", AttributeValue::S(target.message.clone()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()?;
        out.push((
            TransactWriteItem::builder().condition_check(check).build(),
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
                let check = message_check(sk(from))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()?;
                out.push((
                    TransactWriteItem::builder().condition_check(check).build(),
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
                    .build()?;
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

/// What a transaction cancelled by DynamoDB (TransactionCanceledException) means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cancelled {
    /// A Put was refused: its owner (`pk`) already has a row at the target's sk for another
    /// conversation. Reading again cannot fix that.
    Clash { pk: String },
    /// The target message no longer exists.
    TargetGone,
    /// The target message exists with another text (edited since it was read): its text now.
    TargetEdited(String),
    /// A row, or a message moved back from, is no longer as read: read again, decide again.
    Changed,
    /// A conflict with another transaction, or throttling: send it again.
    Retry,
    /// Any other reason: not worth sending again.
    Other,
}

/// One item's reason in a cancelled transaction: its code, and the item as it is when its
/// check asked for it (the target message's check does).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reason {
    pub code: String,
    pub item: Option<Item>,
}

/// Read the per-item `reasons` of a cancelled transaction (in TransactItems order, as `roles`
/// of `actions`): a refused Put first, then the guards, then whether it is worth retrying.
pub fn read_cancellation(reasons: &[Reason], roles: &[Role], plans: &[OwnerPlan]) -> Cancelled {
    let failed_at = |role: Role| {
        reasons
            .iter()
            .zip(roles)
            .find(|(c, r)| **r == role && c.code == "ConditionalCheckFailed")
            .map(|(c, _)| c)
    };
    if failed_at(Role::Put).is_some() {
        // The Puts are in plan order, one per moving plan.
        let puts = plans.iter().filter_map(|p| match p {
            OwnerPlan::Move { row, .. } => get_s(row, "pk"),
            OwnerPlan::Stay { .. } => None,
        });
        let pk = reasons
            .iter()
            .zip(roles)
            .filter(|(_, r)| **r == Role::Put)
            .zip(puts)
            .find(|((c, _), _)| c.code == "ConditionalCheckFailed")
            .map_or("", |(_, pk)| pk);
        return Cancelled::Clash { pk: pk.to_string() };
    }
    if let Some(target) = failed_at(Role::Target) {
        return match &target.item {
            Some(now) => Cancelled::TargetEdited(get_s(now, "message").unwrap_or("").to_string()),
            None => Cancelled::TargetGone,
        };
    }
    if [Role::Gone, Role::From, Role::Duplicate]
        .into_iter()
        .any(|r| failed_at(r).is_some())
    {
        return Cancelled::Changed;
    }
    let retry = reasons.iter().any(|c| {
        c.code == "TransactionConflict"
            || is_throttling_code(&c.code)
            || c.code == "ThrottlingError"
    });
    if retry {
        Cancelled::Retry
    } else {
        Cancelled::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::plan::tests::{row, target, T1, T2, T3};
    use crate::rows::plan::{plan_owner, Mode};

    fn codes(c: &[&str]) -> Vec<Reason> {
        c.iter()
            .map(|c| Reason {
                code: c.to_string(),
                item: None,
            })
            .collect()
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
        assert_eq!(
            check.condition_expression(),
            "attribute_exists(pk) AND #m = :m"
        );
        assert_eq!(
            check.expression_attribute_values().unwrap().get(":m"),
            Some(&AttributeValue::S("two".into())),
            "the text the rows will carry"
        );
        assert_eq!(check.key().get("sk"), Some(&AttributeValue::S(T2.into())));
        assert_eq!(
            check.key().get("pk"),
            Some(&AttributeValue::S("MSG#g".into()))
        );
        let gone = items[1].0.condition_check().unwrap();
        assert_eq!(gone.condition_expression(), "attribute_not_exists(pk)");
        assert_eq!(gone.key().get("sk"), Some(&AttributeValue::S(T3.into())));
        let put = items[3].0.put().unwrap();
        assert_eq!(
            put.condition_expression(),
            Some("attribute_not_exists(pk) OR message_group_uuid = :g")
        );
    }

    #[test]
    fn each_action_is_the_catalogued_call_of_its_role() {
        let rows = [row("a", T1, "one"), row("a", T3, "gone")];
        let plan = plan_owner(&rows, &target(T2, "two"), None, Mode::Exact);
        let (items, _) = actions("t", "g", &target(T2, "two"), &[plan]).unwrap();
        assert_eq!(items.len(), 5);
        for (item, role) in &items {
            let kind = match item {
                i if i.condition_check().is_some() => "ConditionCheck",
                i if i.put().is_some() => "Put",
                i if i.delete().is_some() => "Delete",
                other => panic!("an action of another kind: {other:?}"),
            };
            let api = role.call().entry().api;
            assert_eq!(api, format!("TransactWriteItems: {kind}"), "{role:?}");
        }
    }

    #[test]
    fn only_duplicates_means_no_message_check_and_overflow_waits() {
        let many: Vec<Item> = (0..120)
            .map(|i| {
                row(
                    "a",
                    &format!("2025-01-01T00:00:{:02}.{i:06}+00:00", i % 60),
                    "x",
                )
            })
            .collect();
        let stay = OwnerPlan::Stay { deletes: many };
        let (items, more) = actions("t", "g", &target(T2, "two"), &[stay]).unwrap();
        assert_eq!(items.len(), 100, "DynamoDB's limit per transaction");
        assert!(items.iter().all(|(_, r)| *r == Role::Duplicate));
        assert!(more, "the rest are left for the next round");
    }

    #[test]
    fn cancellations_are_read_by_role() {
        let plans = [
            plan_owner(
                &[row("a", T1, "one")],
                &target(T2, "two"),
                None,
                Mode::Forward,
            ),
            plan_owner(
                &[row("b", T1, "one")],
                &target(T2, "two"),
                None,
                Mode::Forward,
            ),
        ];
        let (items, _) = actions("t", "g", &target(T2, "two"), &plans).unwrap();
        let roles: Vec<Role> = items.iter().map(|(_, r)| *r).collect();
        assert_eq!(
            roles,
            [Role::Target, Role::From, Role::Put, Role::From, Role::Put]
        );
        let read = |c: &[&str]| read_cancellation(&codes(c), &roles, &plans);
        let none = "None";
        let failed = "ConditionalCheckFailed";
        // The second Put refused: it names b's row, and no re-read can help.
        assert_eq!(
            read(&[none, none, none, none, failed]),
            Cancelled::Clash { pk: "GRP#b".into() }
        );
        assert_eq!(
            read(&[failed, none, none, none, none]),
            Cancelled::TargetGone
        );
        assert_eq!(read(&[none, none, none, failed, none]), Cancelled::Changed);
        // The target's check fails with the message as it is now: edited, not gone.
        let mut edited = codes(&[failed, none, none, none, none]);
        edited[0].item = Some(row("m", T2, "edited since"));
        assert_eq!(
            read_cancellation(&edited, &roles, &plans),
            Cancelled::TargetEdited("edited since".into())
        );
        assert_eq!(
            read(&[none, "TransactionConflict", none, none, none]),
            Cancelled::Retry
        );
        assert_eq!(
            read(&[none, "ThrottlingError", none, none, none]),
            Cancelled::Retry
        );
        assert_eq!(
            read(&[none, "ValidationError", none, none, none]),
            Cancelled::Other
        );
    }
}
