//! `ddb lambda`: serve the stream handler on the Lambda Runtime API (src/stream/lambda.rs), and
//! `ddb lambda template`: print the CloudFormation template that deploys it.

use std::path::PathBuf;

use anyhow::Result;

use super::{Ctx, Global, Run};

use crate::errors::Failure;
use crate::model::schema;
use crate::stream::lambda;
use crate::stream::template::{self, Arch};
use crate::term::output::{self, OutputFormat};
use crate::term::yaml;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Print the CloudFormation template (YAML) deploying table, function, trigger [API: none]
    ///
    /// YAML by default; -o json prints the same template as JSON.
    ///
    /// Built from the schema schema-load uses and the handler, for --table: the table with its
    /// NEW_IMAGE stream, deletion protection and PITR; the function (provided.al2023); the
    /// trigger (every MSG# record, REMOVEs too; partial batch responses, bisect, bounded
    /// retries, an SQS on-failure queue and an alarm on it); a role allowing exactly the calls
    /// made with it (docs/deploying.md lists them).
    #[command(
        after_help = "Examples:\n  ddb lambda template > ddb-stack.yaml\n  ddb lambda template --arch arm64 | cfn-lint\n  aws cloudformation deploy --template-file ddb-stack.yaml --stack-name cruddur-messages --capabilities CAPABILITY_IAM --parameter-overrides CodeS3Bucket=my-bucket"
    )]
    Template(TemplateArgs),
}

#[derive(Debug, clap::Args)]
pub struct TemplateArgs {
    /// Architecture of the function (build the zip for the same one: `just lambda-zip ARCH`)
    #[arg(long, value_enum, default_value_t = Arch::X86_64)]
    pub arch: Arch,

    /// Schema file in CreateTable's JSON shape, as for schema-load [default: the built-in schema]
    #[arg(long, env = "DDB_SCHEMA", value_name = "FILE")]
    pub schema: Option<PathBuf>,
}

/// Runs before any client exists: the template needs none, and serving checks that it runs
/// inside Lambda before the SDK and the runtime read their environment.
pub async fn run(args: Args, global: &Global, run: &Run) -> Result<()> {
    match args.action {
        Some(Action::Template(t)) => template(t, global),
        None => {
            lambda::check_env()?;
            let ctx = Ctx::build(global, run).await?;
            lambda::serve(&ctx.db).await
        }
    }
}

/// YAML by default; `-o json` prints the same template as JSON (CloudFormation reads both). The
/// table is `--table`'s, as for schema-load.
fn template(args: TemplateArgs, global: &Global) -> Result<()> {
    let (schema, schema_name) = schema::load_or_builtin(args.schema.as_deref())?;
    let template = template::build(&schema, &global.table, args.arch)
        .map_err(|e| Failure::InvalidInput(format!("{schema_name}: {e}")))?;
    match global.style.format {
        OutputFormat::Table => output::line(yaml::to_string(&template).trim_end()),
        json => output::print_json(json, &template),
    }
}
