//! Placeholder until its issue lands: parses no options and refuses to run.

use anyhow::{bail, Result};

use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args, _ctx: &Ctx) -> Result<()> {
    bail!("'scan' is not implemented yet")
}
