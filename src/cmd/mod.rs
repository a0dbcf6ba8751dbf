//! One module per subcommand, each `Args` + `async fn run(args, &Ctx)`; this file holds the
//! context they share and the dispatch.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Result;

use crate::cli::{Command, GlobalArgs};
use tokio_util::sync::CancellationToken;

use crate::client::{self, TargetOptions};
use crate::db::Db;
use crate::errors::Failure;
use crate::explain::Explain;
use crate::output::{self, Style};

pub mod completions;
pub mod defaults;
pub mod describe_table;
pub mod drop;
pub mod export;
pub mod get_conversation;
pub mod get_item;
pub mod import;
pub mod lambda;
pub mod list_conversations;
pub mod list_tables;
pub mod put_message;
pub mod query;
pub mod scan;
pub mod schema_load;
pub mod seed;
pub mod simulate_stream;
pub mod sql;

/// Everything a command needs, built once: the database handle, the output style.
pub struct Ctx {
    pub db: Db,
    pub style: Style,
    pub verbose: u8,
}

impl Ctx {
    pub async fn build(global: &GlobalArgs, cancel: CancellationToken) -> Result<Ctx> {
        let options = TargetOptions {
            local: global.local,
            endpoint_url: global.endpoint_url.clone(),
            region: global.region.clone(),
            profile: global.profile.clone(),
        };
        let ctx = Ctx {
            db: client::build(&options, &global.table, cancel).await?,
            style: Style::decide(global.output, global.color),
            verbose: global.verbose,
        };
        if ctx.verbose > 0 {
            output::note(format!("ddb: {}", ctx.db.describe()));
        }
        Ok(ctx)
    }

    /// Guard for destructive commands: local targets go ahead; remote ones need `--yes`, or a
    /// typed confirmation of the table name on an interactive terminal. Runs before any request.
    pub fn confirm_destructive(&self, action: &str, yes: bool) -> Result<()> {
        if self.db.target.local || yes {
            return Ok(());
        }
        let what = format!("{action} on a remote target: {}", self.db.describe());
        let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        if !interactive {
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

/// `--explain` builds the request without a client (no region or credentials needed) and
/// sends nothing; `None` when the command is not explaining.
fn explain(command: &Command, global: &GlobalArgs) -> Option<Result<Explain>> {
    let table = &global.table;
    Some(match command {
        Command::GetItem(a) if a.explain => get_item::explain(a, table),
        Command::Query(a) if a.explain => query::explain(a, table),
        Command::Sql(a) if a.explain => sql::explain(a),
        Command::Scan(a) if a.explain => scan::explain(a, global),
        Command::GetConversation(a) if a.explain => get_conversation::explain(a, table),
        Command::ListConversations(a) if a.explain => list_conversations::explain(a, table),
        _ => return None,
    })
}

/// Run the parsed command. `completions` and `defaults` need no client, so it runs before one is built.
/// `cancel` is the run's Ctrl-C token (see main).
pub async fn run(command: Command, global: &GlobalArgs, cancel: CancellationToken) -> Result<()> {
    if let Command::Completions(args) = command {
        return completions::run(args);
    }
    if let Command::Lambda(args) = command {
        return lambda::run(args, global, cancel).await;
    }
    if let Command::Defaults(args) = command {
        return defaults::run(args);
    }
    if let Some(explained) = explain(&command, global) {
        return explained?.print(&Style::decide(global.output, global.color));
    }
    let ctx = Ctx::build(global, cancel).await?;
    match command {
        Command::SchemaLoad(a) => schema_load::run(a, &ctx).await,
        Command::ListTables(a) => list_tables::run(a, &ctx).await,
        Command::DescribeTable(a) => describe_table::run(a, &ctx).await,
        Command::Drop(a) => drop::run(a, &ctx).await,
        Command::Seed(a) => seed::run(a, &ctx).await,
        Command::PutMessage(a) => put_message::run(a, &ctx).await,
        Command::GetConversation(a) => get_conversation::run(a, &ctx).await,
        Command::ListConversations(a) => list_conversations::run(a, &ctx).await,
        Command::Scan(a) => scan::run(a, &ctx).await,
        Command::SimulateStream(a) => simulate_stream::run(a, &ctx).await,
        Command::GetItem(a) => get_item::run(a, &ctx).await,
        Command::Query(a) => query::run(a, &ctx).await,
        Command::Sql(a) => sql::run(a, &ctx).await,
        Command::Export(a) => export::run(a, &ctx).await,
        Command::Import(a) => import::run(a, &ctx).await,
        Command::Completions(_) | Command::Defaults(_) | Command::Lambda(_) => {
            unreachable!("handled above")
        }
    }
}
