//! The clap command tree (global options and one variant per subcommand), the global options
//! checked once into `cmd::Global`, and the dispatch to each command's `run`.

use clap::{Args, Parser, Subcommand};

use anyhow::Result;
use clap::CommandFactory;

use crate::aws::client::TargetOptions;
use crate::aws::retry::Backoff;
use crate::cmd::{self, Ctx, Global, Run};
use crate::model::checked;
use crate::read::explain::Explain;
use crate::term::output::Style;
use crate::term::output::{ColorChoice, OutputFormat};

pub use crate::model::DEFAULT_TABLE;

#[derive(Debug, Parser)]
#[command(
    name = "ddb",
    version,
    about = "The DynamoDB side of Cruddur direct messages: table, seed data, queries and the \
stream handler, on DynamoDB Local or AWS",
    long_about = "The DynamoDB side of Cruddur direct messages: schema, seed data, queries and the \
stream handler, against DynamoDB Local (--local, --endpoint-url) or real AWS (default credential \
chain, --region, --profile). Replaces the bin/ddb/* scripts.",
    after_help = "Examples:\n  ddb local start --handler\n  ddb --local schema-load\n  \
ddb --local seed\n  ddb --local list-conversations --handle andrewbrown\n  \
ddb --profile prod --region ca-central-1 describe-table",
    subcommand_help_heading = "Commands (ddb COMMAND -h for each)"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Every command takes these, before or after its name. `ddb -h` lists them (generated from
/// these definitions by `command()`), a command's own `-h` only points there, its `--help`
/// shows them whole.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// DynamoDB Local (the one `ddb local start` runs)
    ///
    /// Where: $DDB_LOCAL_ENDPOINT if set, else the DynamoDB Local that `ddb local start` runs,
    /// else http://localhost:8000.
    #[arg(long, global = true, conflicts_with = "endpoint_url")]
    pub local: bool,

    /// Any endpoint (loopback hosts count as local)
    ///
    /// Also $AWS_ENDPOINT_URL_DYNAMODB, $AWS_ENDPOINT_URL.
    #[arg(long, global = true, value_name = "URL", value_parser = checked::endpoint_url)]
    pub endpoint_url: Option<String>,

    /// AWS region (default: the AWS config chain)
    ///
    /// us-east-1 for local endpoints.
    #[arg(long, global = true, value_name = "REGION", value_parser = checked::region)]
    pub region: Option<String>,

    /// AWS profile from ~/.aws/config
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Table name [$DDB_TABLE, default cruddur-messages]
    #[arg(long, global = true, env = "DDB_TABLE", default_value = DEFAULT_TABLE, value_name = "NAME", value_parser = checked::table_name)]
    pub table: String,

    /// Attempts per AWS request [default: 10]
    ///
    /// The first included, before giving up on throttling, 5xx or dropped connections.
    #[arg(long, global = true, value_name = "N", default_value_t = Backoff::default().max_attempts,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,

    /// table, json or ndjson (a JSON value per line)
    #[arg(short, long, global = true, value_enum, default_value_t = OutputFormat::Table, value_name = "FORMAT")]
    pub output: OutputFormat,

    /// auto, always or never (auto honours NO_COLOR)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Show the target, and the SDK's detail on errors
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// `--table` (or `DDB_TABLE`) was given, not defaulted: schema-load then uses it over the
    /// schema file's TableName. Set by `Cli::parse_from_args`.
    #[arg(skip)]
    pub table_given: bool,
}

/// The command tree as people see it (`term::help::shaped`): used for parsing, help and
/// completions.
pub fn command() -> clap::Command {
    crate::term::help::shaped(Cli::command())
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// DynamoDB Local and the handler: start, stop, status, logs
    ///
    /// [API: none for start/stop/status/logs; the handler: Query, TransactWriteItems,
    /// DescribeTable, DescribeStream, GetShardIterator, GetRecords] DynamoDB Local from any
    /// folder (installed on first use into the user's cache, tables kept in the user's data
    /// folder), and the stream handler following the table's stream in the background, as
    /// the deployed Lambda does.
    #[command(
        after_help = "Examples:\n  ddb local start --handler\n  ddb local status\n  ddb local logs -f\n  ddb local stop"
    )]
    Local(cmd::local::Args),

    /// Create the table and wait until it is ACTIVE
    ///
    /// [API: CreateTable, DescribeTable] The built-in schema, or --schema FILE. Idempotent: a
    /// table that matches is fine (exit 0), one that differs is listed difference by
    /// difference (exit 5).
    #[command(
        after_help = "Examples:\n  ddb --local schema-load\n  ddb --local schema-load --recreate\n  ddb defaults schema > schema.json\n  ddb --local --table scratch schema-load --schema schema.json"
    )]
    SchemaLoad(cmd::schema_load::Args),

    /// List the table names
    ///
    /// [API: ListTables] Every page.
    #[command(
        after_help = "Examples:\n  ddb --local list-tables\n  ddb --local list-tables -o json"
    )]
    ListTables(cmd::list_tables::Args),

    /// The table's keys, indexes, stream, size and billing
    ///
    /// [API: DescribeTable] And how it differs from the schema.
    #[command(
        after_help = "Examples:\n  ddb --local describe-table\n  ddb --local describe-table -o json"
    )]
    DescribeTable(cmd::describe_table::Args),

    /// Delete the table and wait until it is gone
    ///
    /// [API: DeleteTable, DescribeTable] Remote targets need --yes.
    #[command(
        after_help = "Examples:\n  ddb --local drop\n  ddb --region ca-central-1 --table scratch drop --yes"
    )]
    Drop(cmd::drop::Args),

    /// Write the sample conversations (or synthetic data)
    ///
    /// [API: DescribeTable, BatchWriteItem, Query, TransactWriteItems] MSG# items and their
    /// GRP# rows; reseeding replaces what earlier seeds wrote (others' messages stay unless
    /// --reset). Remote targets need --yes.
    #[command(
        after_help = "Examples:\n  ddb --local seed\n  ddb --local seed --fixture my.json --now 2026-01-01T12:00:00Z\n  ddb --local seed --synthetic 20000 --groups 200 -o json"
    )]
    Seed(cmd::seed::Args),

    /// Write one message to a conversation (pattern C)
    ///
    /// [API: DescribeTable, Query, PutItem, GetItem] At most once. The GRP# rows are moved by
    /// the stream handler, as in production (`ddb local handler` on DynamoDB Local).
    #[command(
        override_usage = "ddb put-message [OPTIONS] --group <UUID> --handle <H> --message <TEXT>",
        after_help = "Examples:\n  G=5ae290ed-55d1-47a0-bc6d-fe2bc2700399\n  ddb --local put-message --group $G --handle bayko --message 'hi'\n  ddb --local put-message --group $G --handle bayko --message-file notes.txt"
    )]
    PutMessage(cmd::put_message::Args),

    /// One conversation's messages as a chat (pattern A)
    ///
    /// [API: DescribeTable, Query]
    #[command(
        after_help = "Examples:\n  ddb --local get-conversation 5ae290ed-55d1-47a0-bc6d-fe2bc2700399\n  ddb --local get-conversation 5ae290ed-55d1-47a0-bc6d-fe2bc2700399 --all -o json"
    )]
    GetConversation(cmd::get_conversation::Args),

    /// A user's conversations, newest first (pattern B)
    ///
    /// [API: DescribeTable, Query]
    #[command(
        after_help = "Examples:\n  ddb --local list-conversations --handle andrewbrown\n  ddb --local list-conversations --handle bayko -o json"
    )]
    ListConversations(cmd::list_conversations::Args),

    /// Read every item, page by page
    ///
    /// [API: Scan; DescribeTable] Each page is written out as it arrives, so memory stays flat
    /// in the table's size: -o json is one array written incrementally, -o ndjson one item per
    /// line, and the table output prints one table per 100 items (one column per attribute).
    /// Items are plain JSON values unless --raw (DynamoDB-typed JSON).
    ///
    /// Segments: without --segments, a scan is parallel where that pays. On a local endpoint
    /// (DynamoDB Local) it uses 64 segments. On a remote table it first asks DescribeTable for
    /// the table's size and uses one segment per 128 MiB, up to 16 (1 under 256 MiB, or when
    /// DescribeTable is not allowed). With --limit it is sequential. --segments 1 forces a
    /// sequential scan; segments' pages interleave, so the order differs from a sequential one.
    #[command(
        after_help = "Examples:\n  ddb --local scan\n  ddb --local scan -o ndjson --pk-prefix MSG# | head\n  ddb --local scan --segments 1 --raw -o ndjson\n  ddb --local scan --pk-prefix GRP# --explain"
    )]
    Scan(cmd::scan::Args),

    /// Read one item by its key
    ///
    /// [API: GetItem; DescribeTable] Key names and types come from DescribeTable. No such
    /// item: exit 4. A value that does not fit the key's type (N, B): exit 8, before any
    /// request.
    #[command(
        after_help = "Examples:\n  P=MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399\n  SK=$(ddb --local query $P --desc --limit 1 -o json | jq -r '.[0].sk')\n  ddb --local get-item $P \"$SK\"\n  ddb --local get-item $P \"$SK\" -o json --raw\n  ddb get-item $P 2026-01-05T09:30:00.000000+00:00 --explain"
    )]
    GetItem(cmd::get_item::Args),

    /// Read one partition of the table or of an index
    ///
    /// [API: Query; DescribeTable] Key names and types come from DescribeTable, so number (N)
    /// and binary (B, base64) keys work; a value that does not fit exits 8 before the Query.
    /// --limit counts items after the filter: pages are read until N match or the partition
    /// ends. Output as for scan: a table, -o json (an array in the order DynamoDB returns),
    /// -o ndjson, --raw for typed JSON.
    #[command(
        after_help = "Examples:\n  G=5ae290ed-55d1-47a0-bc6d-fe2bc2700399\n  ddb --local query MSG#$G --sk-begins-with 2026 --desc --limit 5\n  ddb --local query GRP#90b5d8b4-3e0c-4a8f-8f3a-6b5a8e3c1f01 --select sk,message\n  ddb --local query --index message-group-sk-index $G\n  ddb --local query MSG#$G --filter 'user_handle = :h' \\\n    --values '{\":h\": \"bayko\"}'\n  ddb --local query MSG#$G --sk-between 2026-01-01 2026-02-01 --explain"
    )]
    Query(cmd::query::Args),

    /// Run one PartiQL statement, every page
    ///
    /// [API: ExecuteStatement] SELECT results print as for scan and query. INSERT, UPDATE and
    /// DELETE against a remote target need --yes. DynamoDB's parser errors are one line
    /// (exit 8).
    #[command(
        after_help = "Examples:\n  ddb --local sql 'SELECT * FROM \"cruddur-messages\" WHERE pk = ?' \\\n    --param GRP#90b5d8b4-3e0c-4a8f-8f3a-6b5a8e3c1f01\n  ddb --local sql 'SELECT sk, message FROM \"cruddur-messages\" WHERE pk = ?' \\\n    --param MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399 --limit 10 -o ndjson"
    )]
    Sql(cmd::sql::Args),

    /// Write the table in AWS's export-to-S3 layout
    ///
    /// [API: DescribeTable, Scan] A parallel scan writes DIR/AWSDynamoDB/<ExportId>/:
    /// manifest-summary.json, manifest-files.json (with their .md5 and .checksum files) and
    /// one gzip JSON Lines data file per segment under data/ (DYNAMODB_JSON). `ddb import`
    /// reads it back, and so does AWS's ImportTable once it is copied to S3. Memory stays flat
    /// in the table's size; an interrupted export removes its folder.
    #[command(
        after_help = "Examples:\n  ddb --local export ./snap\n  ddb --local export ./snap --segments 8 -o json\n  ddb --local --table copy schema-load && ddb --local --table copy import ./snap"
    )]
    Export(cmd::export::Args),

    /// Load an export (AWS's S3 layout) or a data file
    ///
    /// [API: DescribeTable, BatchWriteItem] Reads PATH twice, streaming: first every
    /// manifest, checksum, item count and line is checked, and every item against the table's
    /// keys and DynamoDB's limits; on any problem it names file:line, exits 8 and writes
    /// nothing. Then the items are written in batches with retries. Importing again is safe:
    /// it puts the same items.
    #[command(
        after_help = "Examples:\n  ddb --local import ./snap\n  ddb --local import ./snap --dry-run\n  ddb --local import items.json.gz -o json"
    )]
    Import(cmd::import::Args),

    /// Follow the table's changes (its stream) until Ctrl-C or --count
    ///
    /// [API: DescribeTable, DescribeStream, GetShardIterator, GetRecords] One line per record:
    /// time (UTC), event, keys, and what changed (old → new per attribute on a
    /// NEW_AND_OLD_IMAGES stream). -o ndjson prints Lambda-shaped records that simulate-stream
    /// --event replays. Every shard is read, children after their parents; nothing is
    /// written. A table without a stream: exit 4 with the command that enables one.
    #[command(
        after_help = "Examples:\n  ddb --local tail\n  ddb --local tail --events modify,remove --pk-prefix MSG#\n  ddb --local tail --since 10m --count 20\n  ddb --local tail -o ndjson --count 50 > ev.ndjson"
    )]
    Tail(cmd::tail::Args),

    /// Compare two tables or exports item by item, matched by key
    ///
    /// [API: DescribeTable, Scan] A side is a table, here or on another target
    /// (--left-/--right-endpoint-url, -region, -profile), or an export folder / data file in
    /// AWS's layout. `+` only on the right, `-` only on the left, `~` changed, with each
    /// changed attribute; -o ndjson: one typed object per difference. Tables are read with a
    /// parallel Scan; both sides are sorted by key through a temporary folder ($TMPDIR, an
    /// external sort), so memory stays flat in their size. Exit 0 whatever the difference,
    /// unless --exit-code.
    #[command(
        after_help = "Examples:\n  ddb --local diff cruddur-messages ./snap\n  ddb --local diff ./before ./after --stat\n  ddb --local diff t1 t2 --ignore user_display_name --exit-code\n  ddb --local diff t t --right-profile staging --right-region ca-central-1"
    )]
    Diff(cmd::diff::Args),

    /// Run the stream handler (pattern D) once or following
    ///
    /// [API: Query, TransactWriteItems; DescribeTable, DescribeStream, GetShardIterator,
    /// GetRecords] On a Lambda event file, or on the table's stream. For the handler running
    /// in the background like production, see `ddb local handler`.
    #[command(
        after_help = "Examples:\n  ddb --local simulate-stream --from trim-horizon\n  ddb --local simulate-stream --event event.json\n  ddb --local simulate-stream --from latest --follow --checkpoint cp.json\n  ddb --local simulate-stream --from trim-horizon --dead-letter failed.ndjson"
    )]
    SimulateStream(cmd::simulate_stream::Args),

    /// Serve the stream handler as the deployed Lambda function
    ///
    /// [API: Query, TransactWriteItems; Lambda Runtime API] Runs inside AWS Lambda
    /// (provided.al2023) or a Runtime API emulator (also: the binary named `bootstrap`):
    /// reads DynamoDB Streams events, moves GRP# rows like simulate-stream, logs one JSON line
    /// per record and answers with the partial batch response {"batchItemFailures": [...]}
    /// (the first failed record and every one after it). The table comes from DDB_TABLE
    /// (default cruddur-messages); credentials and region from the Lambda environment.
    #[command(
        after_help = "Examples:\n  ddb lambda template > ddb-stack.yaml\n  ddb --local lambda    # under a Runtime API emulator only\n  just lambda-zip       # the deployment zip"
    )]
    Lambda(cmd::lambda::Args),

    /// Print the built-in schema or seed fixture
    ///
    /// [API: none] To start your own --schema / --fixture.
    #[command(
        after_help = "Examples:\n  ddb defaults schema > schema.json\n  ddb defaults fixture > seed.json && DDB_FIXTURE=seed.json ddb --local seed"
    )]
    Defaults(cmd::defaults::Args),

    /// Print a shell completion script
    ///
    /// [API: none]
    #[command(
        after_help = "Examples:\n  ddb completions bash > ~/.local/share/bash-completion/completions/ddb\n  ddb completions zsh > ~/.zfunc/_ddb"
    )]
    Completions(cmd::completions::Args),
}

impl Command {
    /// Commands that shut down cleanly on Ctrl-C themselves (saving a checkpoint, say); for
    /// the rest, main stops the work and exits 130.
    pub fn handles_ctrl_c(&self) -> bool {
        matches!(
            self,
            Command::SimulateStream(_)
                | Command::Seed(_)
                | Command::Export(_)
                | Command::Import(_)
                | Command::Tail(_)
        ) || matches!(self, Command::Local(a) if a.ends_on_ctrl_c())
    }
}

impl Cli {
    /// Parse the command line, noting whether `--table` was given (clap's derive only sees
    /// the value, the default included).
    pub fn parse_from_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::parser::ValueSource;
        use clap::FromArgMatches;
        let matches = command().try_get_matches_from(args)?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        let sources = std::iter::once(&matches).chain(matches.subcommand().map(|(_, m)| m));
        cli.global.table_given = sources
            .filter_map(|m| m.value_source("table"))
            .any(|s| s != ValueSource::DefaultValue);
        Ok(cli)
    }
}

impl GlobalArgs {
    /// The global options as the commands take them: checked, with the output style decided.
    pub fn settings(&self) -> Global {
        Global {
            target: TargetOptions {
                local: self.local,
                endpoint_url: self.endpoint_url.clone(),
                region: self.region.clone(),
                profile: self.profile.clone(),
            },
            table: self.table.clone(),
            table_given: self.table_given,
            style: Style::decide(self.output, self.color),
            verbose: self.verbose,
            max_attempts: self.max_attempts,
        }
    }
}

/// `--explain` builds the request without a client (no region or credentials needed) and
/// sends nothing; `None` when the command is not explaining.
fn explain(command: &Command, global: &Global) -> Option<Result<Explain>> {
    let table = &global.table;
    Some(match command {
        Command::GetItem(a) if a.explain => cmd::get_item::explain(a, table),
        Command::Query(a) if a.explain => cmd::query::explain(a, table),
        Command::Sql(a) if a.explain => cmd::sql::explain(a),
        Command::Scan(a) if a.explain => cmd::scan::explain(a, &global.target, table),
        Command::GetConversation(a) if a.explain => cmd::get_conversation::explain(a, table),
        Command::ListConversations(a) if a.explain => cmd::list_conversations::explain(a, table),
        _ => return None,
    })
}

impl Cli {
    /// Run the parsed command. `completions`, `defaults`, `lambda` and `--explain` need no
    /// client, so they run before one is built. `run` holds the Ctrl-C token and, once built,
    /// the database handle (see main).
    pub async fn run(self, run: &Run) -> Result<()> {
        let global = self.global.settings();
        let command = match self.command {
            Command::Completions(args) => return cmd::completions::run(args, command()),
            Command::Lambda(args) => return cmd::lambda::run(args, &global, run).await,
            Command::Defaults(args) => return cmd::defaults::run(args),
            Command::Local(args) => return cmd::local::run(args, &global, run).await,
            // Builds a client per table side, none for exports.
            Command::Diff(args) => return cmd::diff::run(args, &global, run).await,
            command => command,
        };
        if let Some(explained) = explain(&command, &global) {
            return explained?.print(&global.style);
        }
        let ctx = Ctx::build(&global, run).await?;
        match command {
            Command::SchemaLoad(a) => cmd::schema_load::run(a, &ctx).await,
            Command::ListTables(a) => cmd::list_tables::run(a, &ctx).await,
            Command::DescribeTable(a) => cmd::describe_table::run(a, &ctx).await,
            Command::Drop(a) => cmd::drop::run(a, &ctx).await,
            Command::Seed(a) => cmd::seed::run(a, &ctx).await,
            Command::PutMessage(a) => cmd::put_message::run(a, &ctx).await,
            Command::GetConversation(a) => cmd::get_conversation::run(a, &ctx).await,
            Command::ListConversations(a) => cmd::list_conversations::run(a, &ctx).await,
            Command::Scan(a) => cmd::scan::run(a, &ctx).await,
            Command::SimulateStream(a) => cmd::simulate_stream::run(a, &ctx).await,
            Command::GetItem(a) => cmd::get_item::run(a, &ctx).await,
            Command::Query(a) => cmd::query::run(a, &ctx).await,
            Command::Sql(a) => cmd::sql::run(a, &ctx).await,
            Command::Export(a) => cmd::export::run(a, &ctx).await,
            Command::Import(a) => cmd::import::run(a, &ctx).await,
            Command::Tail(a) => cmd::tail::run(a, &ctx).await,
            Command::Completions(_)
            | Command::Defaults(_)
            | Command::Lambda(_)
            | Command::Local(_)
            | Command::Diff(_) => {
                unreachable!("handled above")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scan's help states the local default the code uses.
    #[test]
    fn scan_help_names_the_local_segments() {
        let help = Cli::command()
            .find_subcommand("scan")
            .and_then(|c| c.get_long_about().map(|a| a.to_string()))
            .unwrap_or_default();
        let said = format!("it uses {} segments", crate::aws::parallel::LOCAL_SEGMENTS);
        assert!(help.contains(&said), "{help}");
    }
}
