//! `ddb sql 'STATEMENT'`: one PartiQL statement through ExecuteStatement, every page.

use anyhow::Result;
use aws_sdk_dynamodb::types::AttributeValue;

use super::Ctx;
use crate::aws::pages::Pages;
use crate::errors::Failure;
use crate::model::item::from_plain;
use crate::read::explain::Explain;
use crate::read::request::StatementRequest;
use crate::read::sink::{Left, Sink};
use crate::term::output;
use crate::term::output::OutputFormat;
use crate::term::plural;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The PartiQL statement; ? marks a parameter
    #[arg(value_name = "STATEMENT")]
    pub statement: String,

    /// A value for the next ?: JSON if it parses, else text
    ///
    /// For example 42, true, "42", {"a": 1}.
    #[arg(long = "param", value_name = "VALUE")]
    pub params: Vec<String>,

    /// Stop after N items (pages are read until N are out)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,

    /// Strongly consistent read
    #[arg(long)]
    pub consistent: bool,

    /// Items as DynamoDB-typed JSON ({"S": "..."})
    #[arg(long)]
    pub raw: bool,

    /// Confirm INSERT, UPDATE or DELETE on a remote target
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Print the ExecuteStatement request and send nothing
    ///
    /// As JSON for `aws dynamodb execute-statement --cli-input-json`.
    #[arg(long)]
    pub explain: bool,
}

/// A `--param` value: JSON when it parses as JSON, else the text as a string.
pub fn param(text: &str) -> AttributeValue {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => from_plain(&v),
        Err(_) => AttributeValue::S(text.to_string()),
    }
}

/// The `?` markers outside 'string literals' and "quoted names".
pub fn placeholders(statement: &str) -> usize {
    let mut quote: Option<char> = None;
    let mut count = 0;
    for c in statement.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '?') => count += 1,
            _ => {}
        }
    }
    count
}

/// The statement's verb, upper-cased: SELECT reads; anything else may write.
pub fn verb(statement: &str) -> String {
    statement
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

fn plan(args: &Args) -> Result<StatementRequest> {
    if args.statement.trim().is_empty() {
        return Err(Failure::Usage("STATEMENT is empty".into()).into());
    }
    let markers = placeholders(&args.statement);
    if markers != args.params.len() {
        return Err(Failure::Usage(format!(
            "the statement has {} but {} given",
            plural(markers as u64, "? parameter"),
            match args.params.len() {
                1 => "1 --param value was".to_string(),
                n => format!("{n} --param values were"),
            }
        ))
        .into());
    }
    Ok(StatementRequest {
        statement: args.statement.clone(),
        parameters: args.params.iter().map(|p| param(p)).collect(),
        consistent: args.consistent,
        ..StatementRequest::default()
    })
}

/// `--explain`: the first request; needs no client.
pub fn explain(args: &Args) -> Result<Explain> {
    let request = plan(args)?;
    Ok(Explain::new("ExecuteStatement", request.cli_json())
        .note("later pages: the same request with NextToken = the previous page's NextToken"))
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let request = plan(&args)?;
    let verb = verb(&args.statement);
    let writes = verb != "SELECT";
    if writes {
        ctx.confirm_destructive(&format!("run a PartiQL {verb}"), args.yes)?;
    }
    let mut sink = Sink::new(ctx.style, args.raw);
    let mut left = Left::new(args.limit);
    let mut cut = false;
    let mut pages = Pages::new(&ctx.db, request.builder(&ctx.db.dynamodb))
        .on_statement()
        .from_user_input();
    while let Some(page) = pages.next().await? {
        let mut items = page.items.unwrap_or_default();
        cut = left.take(&mut items);
        sink.page(&items)?;
        if left.done() || output::stdout_closed() {
            break;
        }
    }
    let more = cut || pages.more();
    let pages = pages.pages();
    let written = sink.finish()?;
    if ctx.style.format == OutputFormat::Table {
        if writes {
            output::line(format!("{verb} done"))?;
        } else if written == 0 {
            output::line("no items")?;
        } else {
            output::note(format!(
                "{} from {}",
                plural(written, "item"),
                plural(pages as u64, "page")
            ));
        }
    }
    if more {
        output::note(format!(
            "stopped at {} (--limit); more may match",
            plural(written, "item")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_json_or_text() {
        assert_eq!(param("42"), AttributeValue::N("42".into()));
        assert_eq!(param("\"42\""), AttributeValue::S("42".into()));
        assert_eq!(param("GRP#abc"), AttributeValue::S("GRP#abc".into()));
        assert_eq!(param("true"), AttributeValue::Bool(true));
    }

    #[test]
    fn question_marks_in_quotes_are_not_parameters() {
        assert_eq!(placeholders("SELECT * FROM t WHERE pk = ? AND sk > ?"), 2);
        assert_eq!(
            placeholders("SELECT * FROM \"a?\" WHERE pk = 'x?' AND s = ?"),
            1
        );
        assert_eq!(verb("  select * from t"), "SELECT");
        assert_eq!(verb("DELETE FROM t WHERE pk = 'a'"), "DELETE");
    }
}
