//! `ddb defaults schema|fixture`: print the schema or seed fixture compiled into the binary,
//! the starting point for a team's own `--schema`/`$DDB_SCHEMA` or `--fixture`/`$DDB_FIXTURE`.

use std::io::Write;

use anyhow::Result;

use crate::model::fixture;
use crate::model::schema;
use crate::term::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which built-in file to print
    #[arg(value_enum)]
    pub which: Which,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Which {
    /// The table definition schema-load creates (CreateTable's JSON shape)
    Schema,
    /// The users and conversations seed writes
    Fixture,
}

/// Needs no client: prints the embedded text byte for byte, so `ddb defaults schema >
/// schema.json` is the shipped file.
pub fn run(args: Args) -> Result<()> {
    let text = match args.which {
        Which::Schema => schema::BUILTIN,
        Which::Fixture => fixture::BUILTIN,
    };
    output::with_stdout(|out| out.write_all(text.as_bytes()))
}
