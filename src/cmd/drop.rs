//! `ddb drop`: delete the table and wait until it is gone.

use std::time::Duration;

use anyhow::Result;

use super::Ctx;
use crate::aws::table;
use crate::errors::{failure_of, Failure};
use crate::term::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Required for remote (non-loopback) targets
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Exit 0 when the table does not exist
    #[arg(long)]
    pub if_exists: bool,

    /// Give up waiting after this long
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub wait_timeout: u64,
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    ctx.confirm_destructive(&format!("drop table '{}'", ctx.db.table), args.yes)?;
    match table::delete_and_wait(&ctx.db, &ctx.style, Duration::from_secs(args.wait_timeout)).await
    {
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
