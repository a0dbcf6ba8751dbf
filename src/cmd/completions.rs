//! `ddb completions SHELL`: print a completion script.

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Shell to generate for
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: Args) -> Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "ddb", &mut out);
    crate::output::line(String::from_utf8_lossy(&out).trim_end())
}
