//! One module per subcommand, each `Args` + `async fn run(args, &Ctx)`; this file holds what
//! they share: the run's settings (`Global`, built once from the command line by `cli`) and the
//! context (`Ctx`: the database handle and the output style). A command imports library
//! modules only, never another command or `cli` (the dispatch lives in `cli.rs`).

use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Arc, OnceLock};

use anyhow::Result;

use tokio_util::sync::CancellationToken;

use crate::aws::client::{self, TargetOptions};
use crate::aws::db::Db;
use crate::errors::Failure;
use crate::term::output::{self, Style};

pub mod completions;
pub mod defaults;
pub mod describe_table;
pub mod diff;
pub mod drop;
pub mod export;
pub mod get_conversation;
pub mod get_item;
pub mod import;
pub mod lambda;
pub mod list_conversations;
pub mod list_tables;
pub mod local;
pub mod put_message;
pub mod query;
pub mod scan;
pub mod schema_load;
pub mod seed;
pub mod simulate_stream;
pub mod sql;
pub mod tail;

/// The global options, checked once by `cli` and passed down (fd's `construct_config`).
#[derive(Clone, Debug)]
pub struct Global {
    pub target: TargetOptions,
    pub table: String,
    /// `--table` (or `DDB_TABLE`) was given rather than defaulted.
    pub table_given: bool,
    pub style: Style,
    pub verbose: u8,
    /// Attempts per AWS call, the first included (`--max-attempts`).
    pub max_attempts: u32,
}

/// What main keeps of a run besides its result: the Ctrl-C token, and the database handle
/// once a command has built one, so that the run's retries can be reported under `-v`
/// however it ended (success, failure or Ctrl-C).
#[derive(Clone, Debug, Default)]
pub struct Run {
    pub cancel: CancellationToken,
    db: Arc<OnceLock<Db>>,
}

impl Run {
    pub fn new(cancel: CancellationToken) -> Run {
        Run {
            cancel,
            db: Arc::default(),
        }
    }

    /// Attempts repeated by the run's AWS calls; `None` when it built no client.
    pub fn retries(&self) -> Option<u64> {
        self.db.get().map(Db::retries)
    }

    /// A database handle for `table` at `target` (a command that reads from more than one
    /// place), with the run's attempts per call; its retries count on the run's total.
    pub async fn db_for(&self, global: &Global, target: &TargetOptions, table: &str) -> Result<Db> {
        let mut db = client::build(target, table, self.cancel.clone()).await?;
        db.backoff.max_attempts = global.max_attempts;
        match self.db.get() {
            Some(first) => db.retried = first.retried.clone(),
            None => {
                let _ = self.db.set(db.clone());
            }
        }
        if global.verbose > 0 {
            output::note(format!("ddb: {}", db.describe()));
        }
        Ok(db)
    }
}

/// Everything a command needs, built once: the database handle, the output style.
pub struct Ctx {
    pub db: Db,
    pub style: Style,
    pub verbose: u8,
    /// `--table` (or `DDB_TABLE`) was given rather than defaulted.
    pub table_given: bool,
}

impl Ctx {
    pub async fn build(global: &Global, run: &Run) -> Result<Ctx> {
        let mut db = client::build(&global.target, &global.table, run.cancel.clone()).await?;
        db.backoff.max_attempts = global.max_attempts;
        // Clones share the retry counter: main reads it through `run` at the end.
        let _ = run.db.set(db.clone());
        let ctx = Ctx {
            db,
            style: global.style,
            verbose: global.verbose,
            table_given: global.table_given,
        };
        if ctx.verbose > 0 {
            output::note(format!("ddb: {}", ctx.db.describe()));
        }
        Ok(ctx)
    }

    /// The same context on another table (schema-load's schema file names its own).
    pub fn with_table(&self, table: &str) -> Ctx {
        Ctx {
            db: self.db.with_table(table),
            style: self.style,
            verbose: self.verbose,
            table_given: true,
        }
    }

    /// Guard for destructive commands: local targets go ahead; remote ones need `--yes`, or a
    /// typed confirmation of the table name on an interactive terminal. Runs before any request.
    pub fn confirm_destructive(&self, action: &str, yes: bool) -> Result<()> {
        if self.db.target.local || yes {
            return Ok(());
        }
        self.ask(&format!(
            "{action} on a remote target: {}",
            self.db.describe()
        ))
    }

    /// Guard for what deletes data others wrote even on a local target (`seed --reset`): on
    /// an interactive terminal it is always asked (unless `--yes`); otherwise local targets go
    /// ahead and remote ones need `--yes`.
    pub fn confirm_on_terminal(&self, action: &str, yes: bool) -> Result<()> {
        if yes || (self.db.target.local && !interactive()) {
            return Ok(());
        }
        self.ask(&format!("{action}: {}", self.db.describe()))
    }

    /// The typed confirmation of the table name on a terminal; refused without one.
    fn ask(&self, what: &str) -> Result<()> {
        if !interactive() {
            return Err(
                Failure::Refused(format!("refusing to {what}; pass --yes to proceed")).into(),
            );
        }
        let mut err = std::io::stderr().lock();
        writeln!(err, "About to {what}.")?;
        write!(err, "Type the table name ({}) to continue: ", self.db.table)?;
        err.flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() == self.db.table {
            Ok(())
        } else {
            Err(Failure::Refused(format!("not confirmed; nothing was done ({what})")).into())
        }
    }
}

/// Both stdin and stderr are a terminal: a person can be asked.
fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}
