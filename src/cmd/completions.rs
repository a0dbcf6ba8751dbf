//! `ddb completions SHELL`: print a completion script.

use anyhow::Result;
use clap_complete::Shell;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Shell to generate for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `command` is the whole clap tree (cli.rs hands it over; commands never import it).
pub fn run(args: Args, mut command: clap::Command) -> Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "ddb", &mut out);
    crate::term::output::line(String::from_utf8_lossy(&out).trim_end())
}
