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
    about = "The DynamoDB side of Cruddur direct messages: schema, seed data, queries and the stream handler",
    long_about = "The DynamoDB side of Cruddur direct messages: schema, seed data, queries and the \
stream handler, against DynamoDB Local (--local, --endpoint-url) or real AWS (default credential \
chain, --region, --profile). Replaces the bin/ddb/* scripts.",
    after_help = "Examples:\n  ddb --local schema-load\n  ddb --local seed\n  ddb --local get-conversation 5ae290ed-55d1-47a0-bc6d-fe2bc2700399\n  ddb --profile prod --region ca-central-1 describe-table",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Target")]
pub struct GlobalArgs {
    /// Use DynamoDB Local at http://localhost:8000 (or $DDB_LOCAL_ENDPOINT)
    #[arg(long, global = true, conflicts_with = "endpoint_url")]
    pub local: bool,

    /// Endpoint URL (also $AWS_ENDPOINT_URL_DYNAMODB, $AWS_ENDPOINT_URL); loopback hosts count as local
    #[arg(long, global = true, value_name = "URL", value_parser = checked::endpoint_url)]
    pub endpoint_url: Option<String>,

    /// AWS region (default: the AWS config chain; us-east-1 for local endpoints)
    #[arg(long, global = true, value_name = "REGION", value_parser = checked::region)]
    pub region: Option<String>,

    /// AWS profile from ~/.aws/config
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Table name
    #[arg(long, global = true, env = "DDB_TABLE", default_value = DEFAULT_TABLE, value_name = "NAME", value_parser = checked::table_name)]
    pub table: String,

    /// Attempts per AWS request (the first included) before giving up on throttling, 5xx or
    /// dropped connections
    #[arg(long, global = true, value_name = "N", default_value_t = Backoff::default().max_attempts,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,

    /// Output format (ndjson: one JSON value per line)
    #[arg(short, long, global = true, value_enum, default_value_t = OutputFormat::Table, help_heading = "Output")]
    pub output: OutputFormat,

    /// When to use colour (NO_COLOR is honoured under auto)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN", help_heading = "Output")]
    pub color: ColorChoice,

    /// Print the resolved target to stderr, and the SDK's detail after an error
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,

    /// `--table` (or `DDB_TABLE`) was given, not defaulted: schema-load then uses it over the
    /// schema file's TableName. Set by `Cli::parse_from_args`.
    #[arg(skip)]
    pub table_given: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the table (built-in schema or --schema) and wait until it is ACTIVE [API: CreateTable, DescribeTable]
    #[command(
        after_help = "Examples:\n  ddb --local schema-load\n  ddb --local schema-load --recreate\n  ddb defaults schema > schema.json && ddb --local --table scratch schema-load --schema schema.json"
    )]
    SchemaLoad(cmd::schema_load::Args),

    /// List table names, every page [API: ListTables]
    #[command(
        after_help = "Examples:\n  ddb --local list-tables\n  ddb --local list-tables -o json"
    )]
    ListTables(cmd::list_tables::Args),

    /// Show keys, indexes, stream, status, item count and billing of the table [API: DescribeTable]
    #[command(
        after_help = "Examples:\n  ddb --local describe-table\n  ddb --local describe-table -o json"
    )]
    DescribeTable(cmd::describe_table::Args),

    /// Delete the table and wait until it is gone; remote targets need --yes [API: DeleteTable, DescribeTable]
    #[command(
        after_help = "Examples:\n  ddb --local drop\n  ddb --region ca-central-1 --table scratch drop --yes"
    )]
    Drop(cmd::drop::Args),

    /// Write the fixture (or synthetic data): MSG# items and GRP# rows; reseeding replaces what earlier seeds wrote; remote targets need --yes [API: DescribeTable, BatchWriteItem, Query, TransactWriteItems]
    #[command(
        after_help = "Examples:\n  ddb --local seed\n  ddb --local seed --fixture my-fixture.json --now 2026-01-01T12:00:00Z\n  ddb --local seed --synthetic 20000 --groups 200 -o json"
    )]
    Seed(cmd::seed::Args),

    /// Write one message to an existing conversation (access pattern C), at most once [API: DescribeTable, Query, PutItem, GetItem]
    #[command(
        after_help = "Examples:\n  ddb --local put-message --group 5ae290ed-55d1-47a0-bc6d-fe2bc2700399 --handle bayko --message 'hi'\n  ddb --local put-message --group \"$GROUP\" --handle bayko --message-file notes.txt\n  echo 'test data' | ddb --local put-message --group \"$GROUP\" --handle bayko --message-file - --force"
    )]
    PutMessage(cmd::put_message::Args),

    /// Show one conversation's messages as a chat (access pattern A) [API: DescribeTable, Query]
    #[command(
        after_help = "Examples:\n  ddb --local get-conversation 5ae290ed-55d1-47a0-bc6d-fe2bc2700399\n  ddb --local get-conversation 5ae290ed-55d1-47a0-bc6d-fe2bc2700399 --all -o json"
    )]
    GetConversation(cmd::get_conversation::Args),

    /// List a user's conversations, newest first (access pattern B) [API: DescribeTable, Query]
    #[command(
        after_help = "Examples:\n  ddb --local list-conversations --handle andrewbrown\n  ddb --local list-conversations --user-uuid 90b5d8b4-3e0c-4a8f-8f3a-6b5a8e3c1f01 -o json"
    )]
    ListConversations(cmd::list_conversations::Args),

    /// Read every item, page by page, streamed; parallel where that pays [API: Scan; DescribeTable]
    ///
    /// Each page is written out as it arrives, so memory stays flat in the table's size: -o json
    /// is one array written incrementally, -o ndjson one item per line, and the table output
    /// prints one table per 100 items (pk, sk and the other attributes as one line of JSON).
    /// Items are plain JSON values unless --raw (DynamoDB-typed JSON).
    ///
    /// Segments: without --segments, a scan is parallel where that pays. On a local endpoint
    /// (DynamoDB Local) it uses 8 segments. On a remote table it first asks DescribeTable for
    /// the table's size and uses one segment per 128 MiB, up to 16 (1 under 256 MiB, or when
    /// DescribeTable is not allowed). With --limit it is sequential. --segments 1 forces a
    /// sequential scan; segments' pages interleave, so the order differs from a sequential one.
    #[command(
        after_help = "Examples:\n  ddb --local scan\n  ddb --local scan -o ndjson --pk-prefix MSG# | head\n  ddb --local scan --segments 1 --raw -o ndjson\n  ddb --local scan --pk-prefix GRP# --explain"
    )]
    Scan(cmd::scan::Args),

    /// Read one item by its key; key names and types come from DescribeTable [API: GetItem; DescribeTable]
    #[command(
        after_help = "Examples:\n  ddb --local get-item MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399 2026-01-05T09:30:00.000000+00:00\n  ddb --local get-item GRP#90b5d8b4-3e0c-4a8f-8f3a-6b5a8e3c1f01 2026-01-05T09:30:00.000000+00:00 -o json\n  ddb --local get-item MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399 2026-01-05T09:30:00.000000+00:00 --explain\n\nNo such item: exit 4. A value that does not fit the key's type (N, B): exit 8, before any request."
    )]
    GetItem(cmd::get_item::Args),

    /// Read one partition of the table or of an index [API: Query; DescribeTable]
    ///
    /// Key names and types come from DescribeTable, so number (N) and binary (B, base64) keys
    /// work; a value that does not fit exits 8 before the Query. --limit counts items after the
    /// filter: pages are read until N match or the partition ends. Output as for scan: a table,
    /// -o json (an array in the order DynamoDB returns), -o ndjson, --raw for typed JSON.
    #[command(
        after_help = "Examples:\n  ddb --local query MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399 --sk-begins-with 2026 --desc --limit 5\n  ddb --local query GRP#90b5d8b4-3e0c-4a8f-8f3a-6b5a8e3c1f01 --desc --select sk,user_handle,message\n  ddb --local query --index message-group-sk-index 5ae290ed-55d1-47a0-bc6d-fe2bc2700399\n  ddb --local query MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399 --filter 'user_handle = :h' --values '{\":h\": \"bayko\"}' --all -o ndjson\n  ddb --local query MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399 --sk-between 2026-01-01 2026-02-01 --explain"
    )]
    Query(cmd::query::Args),

    /// Run one PartiQL statement, every page [API: ExecuteStatement]
    ///
    /// SELECT results print as for scan and query. INSERT, UPDATE and DELETE against a remote
    /// target need --yes. DynamoDB's parser errors are shown as one line (exit 8).
    #[command(
        after_help = "Examples:\n  ddb --local sql \"SELECT * FROM \\\"cruddur-messages\\\" WHERE pk = 'GRP#90b5d8b4-3e0c-4a8f-8f3a-6b5a8e3c1f01'\"\n  ddb --local sql 'SELECT sk, message FROM \"cruddur-messages\".\"message-group-sk-index\" WHERE message_group_uuid = ?' --param 5ae290ed-55d1-47a0-bc6d-fe2bc2700399\n  ddb --local sql 'SELECT * FROM \"cruddur-messages\" WHERE pk = ?' --param MSG#5ae290ed-55d1-47a0-bc6d-fe2bc2700399 --limit 10 -o ndjson\n  ddb --region ca-central-1 sql 'DELETE FROM \"cruddur-messages\" WHERE pk = ? AND sk = ?' --param MSG#… --param 2026-… --yes"
    )]
    Sql(cmd::sql::Args),

    /// Write the table in AWS's export-to-S3 layout (DYNAMODB_JSON) [API: DescribeTable, Scan]
    ///
    /// A parallel scan writes DIR/AWSDynamoDB/<ExportId>/: manifest-summary.json, manifest-files.json
    /// (with their .md5 and .checksum files) and one gzip JSON Lines data file per segment under
    /// data/. `ddb import` reads it back, and so does AWS's ImportTable once it is copied to S3.
    /// Memory stays flat in the table's size; an interrupted export removes its folder.
    #[command(
        after_help = "Examples:\n  ddb --local export ./snap\n  ddb --local export ./snap --segments 8 -o json\n  ddb --local --table copy schema-load && ddb --local --table copy import ./snap"
    )]
    Export(cmd::export::Args),

    /// Load an export (AWS's S3 layout) or a data file into the table [API: DescribeTable, BatchWriteItem]
    ///
    /// Reads PATH twice, streaming: first every manifest, checksum, item count and line is
    /// checked, and every item against the table's keys and DynamoDB's limits; on any problem
    /// it names file:line, exits 8 and writes nothing. Then the items are written in batches
    /// with retries. Importing again is safe: it puts the same items.
    #[command(
        after_help = "Examples:\n  ddb --local import ./snap\n  aws s3 cp --recursive s3://my-bucket/exports/ ./staging-export && ddb --local import ./staging-export\n  ddb --local import ./snap/AWSDynamoDB/01645072900758-ee1232a3 --dry-run\n  ddb --local import items.json.gz -o json"
    )]
    Import(cmd::import::Args),

    /// Run the stream handler (access pattern D) on an event file or the table's stream [API: Query, TransactWriteItems; DescribeTable, DescribeStream, GetShardIterator, GetRecords]
    #[command(
        after_help = "Examples:\n  ddb --local simulate-stream --from trim-horizon\n  ddb --local simulate-stream --event event.json\n  ddb --local simulate-stream --event - -o json < event.json\n  ddb --local simulate-stream --from latest --follow --checkpoint .ddb-checkpoint.json\n  ddb --local simulate-stream --from trim-horizon --checkpoint cp.json --dead-letter failed.ndjson"
    )]
    SimulateStream(cmd::simulate_stream::Args),

    /// Serve the stream handler on the Lambda Runtime API, as the deployed function (also: the binary named `bootstrap`) [API: Query, TransactWriteItems; Lambda Runtime API]
    ///
    /// Runs inside AWS Lambda (provided.al2023) or a Runtime API emulator: reads DynamoDB
    /// Streams events, moves GRP# rows like simulate-stream, logs one JSON line per record and
    /// answers with the partial batch response {"batchItemFailures": [...]} (the first failed
    /// record and every one after it). The table comes from DDB_TABLE (default
    /// cruddur-messages); credentials and region from the Lambda environment.
    #[command(
        after_help = "Examples:\n  ddb lambda template > ddb-stack.yaml\n  ddb --local lambda      # under a Runtime API emulator (it sets AWS_LAMBDA_RUNTIME_API...)\n  just lambda-zip         # the deployment zip, target/lambda/ddb/bootstrap.zip"
    )]
    Lambda(cmd::lambda::Args),

    /// Print the built-in schema or seed fixture, to start your own --schema / --fixture [API: none]
    #[command(
        after_help = "Examples:\n  ddb defaults schema > schema.json\n  ddb defaults fixture > seed.json && DDB_FIXTURE=seed.json ddb --local seed"
    )]
    Defaults(cmd::defaults::Args),

    /// Print a shell completion script [API: none]
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
            Command::SimulateStream(_) | Command::Seed(_) | Command::Export(_) | Command::Import(_)
        )
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
        let matches = Cli::command().try_get_matches_from(args)?;
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
            Command::Completions(args) => return cmd::completions::run(args, Cli::command()),
            Command::Lambda(args) => return cmd::lambda::run(args, &global, run).await,
            Command::Defaults(args) => return cmd::defaults::run(args),
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
            Command::Completions(_) | Command::Defaults(_) | Command::Lambda(_) => {
                unreachable!("handled above")
            }
        }
    }
}
