//! A conversation that had nothing before a writer's messages (seed's): found with two
//! one-item reads, and its rows started at its newest message with guarded PutItems instead of
//! the full read-and-transaction. The seed and import side of `rows` only: the stream handler
//! never calls into this file (tests/layout.rs checks that), so its calls are not in the
//! deployed function's catalogue.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::aws::pages::Pages;
use crate::aws::retry::sdk_retries_off;
use crate::model::item::Item;
use crate::model::{msg_pk, GROUP_INDEX};
use crate::rows::error::SettleError;
use crate::rows::plan::{self, OwnerPlan, Target};
use crate::rows::settle::{Settled, Settler, Tally};

/// Nothing of conversation `group` exists: no message (read strongly consistent) and no
/// row in the group index. One item at most is read of each, both at once.
pub async fn is_empty(
    settler: &Settler<'_>,
    group: &str,
    tally: &mut Tally,
) -> Result<bool, SettleError> {
    let messages = settler
        .query()
        .consistent_read(true)
        .limit(1)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(msg_pk(group)))
        .projection_expression("pk");
    let rows = settler
        .query()
        .index_name(GROUP_INDEX)
        .limit(1)
        .key_condition_expression("message_group_uuid = :g")
        .expression_attribute_values(":g", AttributeValue::S(group.to_string()))
        .projection_expression("pk");
    let first = |query: QueryFluentBuilder, index: Option<&'static str>| async move {
        let mut pages = Pages::new(settler.db, query).max_pages(1);
        if let Some(index) = index {
            pages = pages.on_index(index);
        }
        let mut tally = Tally::default();
        let mut found = false;
        let read = Settler::read_all(&mut pages, &mut tally, |page: &QueryOutput, _| {
            found = !page.items().is_empty();
            false
        })
        .await;
        (read.map(|_| found), tally)
    };
    let (m, r) = futures::future::join(first(messages, None), first(rows, Some(GROUP_INDEX))).await;
    tally.add(m.1);
    tally.add(r.1);
    Ok(!m.0? && !r.0?)
}

/// The rows of a conversation that had nothing before a writer's messages (`is_empty`
/// before they were written): each template row put at `target`, the newest of those
/// messages, without reading them back. Each Put is guarded as the transaction's are (it
/// never overwrites another conversation's row); the check that the target message exists
/// is left out, as the writer has just written it (DynamoDB Local spends about as much on
/// one such transaction as on a batch of 25 messages). Anything unexpected (a guard
/// failing, a failed call) falls back to `settle`, which reads and decides the full way.
pub async fn start(
    settler: &Settler<'_>,
    group: &str,
    template: &[Item],
    target: &Target,
    tally: &mut Tally,
) -> Result<Settled, SettleError> {
    let g = AttributeValue::S(group.to_string());
    let puts = plan::start(template, target)
        .into_iter()
        .filter_map(|p| match p {
            OwnerPlan::Move { row, .. } => Some(row),
            OwnerPlan::Stay { .. } => None,
        });
    let sent = futures::future::join_all(puts.map(|row| {
        let g = g.clone();
        async move {
            let mut retries = 0;
            let put = || {
                settler
                    .db
                    .dynamodb
                    .put_item()
                    .table_name(&settler.db.table)
                    .set_item(Some(row.clone()))
                    .condition_expression("attribute_not_exists(pk) OR message_group_uuid = :g")
                    .expression_attribute_values(":g", g.clone())
                    .customize()
                    .config_override(sdk_retries_off())
                    .send()
            };
            let sent = settler
                .db
                .backoff
                .call(&settler.db.cancel, &mut retries, put)
                .await;
            (sent.is_ok(), retries)
        }
    }))
    .await;
    let mut rows_put = 0;
    for (ok, retries) in &sent {
        tally.retries += retries;
        settler.db.count_retries(*retries);
        rows_put += u32::from(*ok);
    }
    if rows_put as usize == sent.len() {
        return Ok(Settled {
            target: Some(target.clone()),
            rows_put,
            rows_deleted: 0,
        });
    }
    let mut settled = settler.settle(group, template, tally).await?;
    settled.rows_put += rows_put;
    Ok(settled)
}
