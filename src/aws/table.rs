//! The table's lifecycle in one place: describe, create, delete, and wait until ACTIVE (table
//! and every index) or gone; plus the model check every data command makes once per run.
//!
//! Every call goes through the run's `Backoff` (`Db::send`). The waits poll DescribeTable
//! paced by the one retry mechanism too (`retry::Backoff`), so Ctrl-C ends a wait at once
//! (exit 130). The SDK's own waiters (`wait_until_table_exists`) were not used: they look at
//! the table's status only, not at its indexes, and their pacing is not tied to the run's
//! cancellation token.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;
use aws_sdk_dynamodb::types::{IndexStatus, TableDescription, TableStatus};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::aws::db::Db;
use crate::aws::retry::{Backoff, Stop};
use crate::errors::Failure;
use crate::model::schema::{self, Needs, Schema};
use crate::term::output::Style;

/// Polling pace of the waits: the first look soon after the request, then up to every 2 s.
const POLL: Backoff = Backoff {
    base: Duration::from_millis(50),
    cap: Duration::from_secs(2),
    max_attempts: u32::MAX,
};

type DescribeStop = Stop<SdkError<DescribeTableError, HttpResponse>>;

/// DescribeTable, with retryable errors (throttling, 5xx, a dropped connection) retried.
async fn send_describe(db: &Db) -> std::result::Result<Option<TableDescription>, DescribeStop> {
    db.send(|| db.dynamodb.describe_table().table_name(&db.table).send())
        .await
        .map(|out| out.table)
}

/// The table's description; `None` when it does not exist.
pub async fn describe(db: &Db) -> Result<Option<TableDescription>> {
    match send_describe(db).await {
        Ok(t) => Ok(t),
        Err(Stop::Fatal(e))
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(stop) => Err(stopped(db, stop)),
    }
}

/// The description of a table that must exist (not found: exit 4, the classified message).
pub async fn describe_existing(db: &Db) -> Result<TableDescription> {
    match send_describe(db).await {
        Ok(Some(t)) => Ok(t),
        Ok(None) => bail!("DescribeTable returned no table for '{}'", db.table),
        Err(stop) => Err(stopped(db, stop)),
    }
}

/// The table as every command that reads or writes the model needs it: existing, with the
/// model's key schema (`pk` HASH S, `sk` RANGE S) and, for commands that look up a
/// conversation's rows, its group index. A different table is refused (exit 5) with the
/// difference, before anything is read or written.
pub async fn check_model(db: &Db, needs: Needs) -> Result<TableDescription> {
    let desc = describe_existing(db).await?;
    let differences = schema::model_differences(&desc, needs);
    if differences.is_empty() {
        return Ok(desc);
    }
    Err(Failure::Mismatch(format!(
        "table '{}' at {} is not the model's table; nothing was read or written: {} (create one with `ddb schema-load`, or pick another with --table)",
        db.table,
        db.target.endpoint_label(),
        differences.join("; ")
    ))
    .into())
}

/// The table holds no item: a consistent Scan of one item finds none.
pub async fn is_empty(db: &Db) -> Result<bool> {
    let scan = db
        .dynamodb
        .scan()
        .table_name(&db.table)
        .limit(1)
        .consistent_read(true);
    let mut pages = crate::aws::pages::Pages::new(db, scan).max_pages(1);
    let first = pages.next().await?;
    Ok(first.is_none_or(|page| page.items().is_empty()) && !pages.more())
}

/// CreateTable from `schema` under this handle's table name. Remote tables get deletion
/// protection: a shared environment's table should survive a stray delete.
pub async fn create(db: &Db, schema: &Schema) -> Result<()> {
    let sdk = schema.to_sdk()?;
    let mut req = db
        .dynamodb
        .create_table()
        .table_name(&db.table)
        .set_attribute_definitions(Some(sdk.attribute_definitions))
        .set_key_schema(Some(sdk.key_schema))
        .billing_mode(sdk.billing_mode)
        .set_provisioned_throughput(sdk.provisioned_throughput)
        .set_stream_specification(sdk.stream_specification);
    if !sdk.global_secondary_indexes.is_empty() {
        req = req.set_global_secondary_indexes(Some(sdk.global_secondary_indexes));
    }
    if !db.target.local {
        req = req.deletion_protection_enabled(true);
    }
    db.send(|| req.clone().send())
        .await
        .map_err(|stop| db.stopped("CreateTable", stop))?;
    Ok(())
}

/// DeleteTable. A table with deletion protection gets the command that turns it off.
pub async fn delete(db: &Db) -> Result<()> {
    db.send(|| db.dynamodb.delete_table().table_name(&db.table).send())
        .await
        .map_err(|stop| {
            let protected = stop
                .error()
                .as_service_error()
                .and_then(|s| s.message())
                .is_some_and(|m| m.contains("deletion protection"));
            if protected {
                anyhow!(
                    "table '{}' has deletion protection on; turn it off first (aws dynamodb update-table --table-name {} --no-deletion-protection-enabled)",
                    db.table,
                    db.table
                )
            } else {
                db.stopped("DeleteTable", stop)
            }
        })?;
    Ok(())
}

/// Wait until the table and every index are ACTIVE; `status` hears each status seen (for a
/// spinner).
pub async fn wait_active(
    db: &Db,
    timeout: Duration,
    status: &dyn Fn(&str),
) -> Result<TableDescription> {
    let start = Instant::now();
    let mut tries = POLL.tries(&db.cancel);
    loop {
        let desc = describe_existing(db).await?;
        let pending = pending(&desc);
        if pending.is_empty() {
            return Ok(desc);
        }
        let table_status = desc.table_status().map_or("?", |s| s.as_str()).to_string();
        if start.elapsed() > timeout {
            bail!(
                "table '{}' not ACTIVE after {}s (status {table_status}; waiting for {})",
                db.table,
                timeout.as_secs(),
                pending.join(", ")
            );
        }
        status(&table_status);
        pause(db, &mut tries, "to be ACTIVE").await?;
    }
}

/// Wait until DescribeTable says the table is gone.
pub async fn wait_gone(db: &Db, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    let mut tries = POLL.tries(&db.cancel);
    while describe(db).await?.is_some() {
        if start.elapsed() > timeout {
            bail!(
                "table '{}' still exists after {}s",
                db.table,
                timeout.as_secs()
            );
        }
        pause(db, &mut tries, "to be deleted").await?;
    }
    Ok(())
}

/// What is not ACTIVE yet: the table and/or indexes by name. Empty when everything is.
fn pending(desc: &TableDescription) -> Vec<String> {
    let mut out = Vec::new();
    if desc.table_status() != Some(&TableStatus::Active) {
        out.push("the table".to_string());
    }
    out.extend(
        desc.global_secondary_indexes()
            .iter()
            .filter(|g| g.index_status() != Some(&IndexStatus::Active))
            .map(|g| format!("index '{}'", g.index_name().unwrap_or("?"))),
    );
    out
}

async fn pause(db: &Db, tries: &mut crate::aws::retry::Tries<'_>, what: &str) -> Result<()> {
    match tries.pause(()).await {
        Ok(()) => Ok(()),
        Err(Stop::Cancelled(())) => Err(Failure::Interrupted(format!(
            "interrupted while waiting for table '{}' {what}",
            db.table
        ))
        .into()),
        // POLL allows u32::MAX attempts; the timeout ends a wait long before.
        Err(_) => Err(anyhow!("table '{}': gave up waiting {what}", db.table)),
    }
}

fn stopped(db: &Db, stop: DescribeStop) -> anyhow::Error {
    match stop {
        Stop::Cancelled(_) => {
            Failure::Interrupted(format!("interrupted while describing table '{}'", db.table))
                .into()
        }
        stop => db.stopped("DescribeTable", stop),
    }
}

/// Wait for ACTIVE with a spinner on stderr (hidden off a terminal).
pub async fn wait_active_shown(
    db: &Db,
    style: &Style,
    timeout: Duration,
) -> Result<TableDescription> {
    let waiting = format!("waiting for table '{}' to be ACTIVE", db.table);
    let spinner = style.spinner(waiting.clone());
    let desc = wait_active(db, timeout, &|status| {
        spinner.set_message(format!("{waiting} ({status})"))
    })
    .await;
    spinner.finish_and_clear();
    desc
}

/// DeleteTable, then wait (spinner on a terminal) until DescribeTable says it is gone.
pub async fn delete_and_wait(db: &Db, style: &Style, timeout: Duration) -> Result<Duration> {
    let start = Instant::now();
    delete(db).await?;
    let spinner = style.spinner(format!("waiting for table '{}' to be deleted", db.table));
    let gone = wait_gone(db, timeout).await;
    spinner.finish_and_clear();
    gone.map(|()| start.elapsed())
}
