//! `ddb drop`: delete the table and wait until it is gone.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use super::Ctx;
use crate::errors::{api_error, failure_of, Failure, Subject};
use crate::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Required for remote (non-loopback) targets
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Exit 0 when the table does not exist
    #[arg(long)]
    pub if_exists: bool,

    /// Give up waiting after this many seconds
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub wait_timeout: u64,
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    ctx.confirm_destructive(&format!("drop table '{}'", ctx.db.table), args.yes)?;
    match delete_and_wait(ctx, Duration::from_secs(args.wait_timeout)).await {
        Ok(elapsed) => {
            if ctx.style.is_json() {
                output::print_json(
                    ctx.style.format,
                    &serde_json::json!({"table": ctx.db.table, "dropped": true, "elapsed_ms": elapsed.as_millis() as u64}),
                )
            } else {
                output::line(format!(
                    "dropped table '{}' at {} ({:.1}s)",
                    ctx.db.table,
                    ctx.db.target.endpoint_label(),
                    elapsed.as_secs_f64()
                ))
            }
        }
        Err(e) if args.if_exists && matches!(failure_of(&e), Some(Failure::NotFound(_))) => {
            output::note(format!(
                "table '{}' does not exist; nothing to drop",
                ctx.db.table
            ));
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// DeleteTable, then poll DescribeTable until it reports the table gone.
pub async fn delete_and_wait(ctx: &Ctx, timeout: Duration) -> Result<Duration> {
    let start = Instant::now();
    ctx.db.dynamodb
        .delete_table()
        .table_name(&ctx.db.table)
        .send()
        .await
        .map_err(|e| {
            let protected = e
                .as_service_error()
                .and_then(|s| aws_sdk_dynamodb::error::ProvideErrorMetadata::message(s))
                .is_some_and(|m| m.contains("deletion protection"));
            if protected {
                anyhow::anyhow!(
                    "table '{}' has deletion protection on; turn it off first (aws dynamodb update-table --table-name {} --no-deletion-protection-enabled)",
                    ctx.db.table,
                    ctx.db.table
                )
            } else {
                api_error(&ctx.db.target, "DeleteTable", Subject::Table(&ctx.db.table), e)
            }
        })?;
    let spinner = ctx.style.spinner(format!(
        "waiting for table '{}' to be deleted",
        ctx.db.table
    ));
    let mut delay = Duration::from_millis(50);
    loop {
        let r = ctx
            .db
            .dynamodb
            .describe_table()
            .table_name(&ctx.db.table)
            .send()
            .await;
        match r {
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                spinner.finish_and_clear();
                return Ok(start.elapsed());
            }
            Err(e) => {
                spinner.finish_and_clear();
                return Err(api_error(
                    &ctx.db.target,
                    "DescribeTable",
                    Subject::Table(&ctx.db.table),
                    e,
                ));
            }
            Ok(_) if start.elapsed() > timeout => {
                spinner.finish_and_clear();
                bail!(
                    "table '{}' still exists after {}s",
                    ctx.db.table,
                    timeout.as_secs()
                );
            }
            Ok(_) => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
}
