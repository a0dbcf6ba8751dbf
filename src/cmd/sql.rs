//! `ddb sql 'STATEMENT'`: one PartiQL statement through ExecuteStatement, every page.

use anyhow::Result;
use aws_sdk_dynamodb::types::AttributeValue;

use super::Ctx;
use crate::aws::pages::Pages;
use crate::errors::Failure;
use crate::model::item::from_plain;
use crate::model::number::check_number;
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
    #[arg(long = "param", value_name = "VALUE", allow_hyphen_values = true)]
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

/// The `n`th `--param` value: JSON when it parses as JSON (numbers keep their digits), else
/// the text as a string. A number DynamoDB cannot hold is a usage error, before any request.
pub fn param(text: &str, n: usize) -> Result<AttributeValue> {
    match serde_json::from_str::<serde_json::Value>(text) {
        // A number is sent as typed (1E+125 stays 1E+125), once DynamoDB's rule passes it.
        Ok(serde_json::Value::Number(_)) => check_number(text.trim())
            .map(|_| AttributeValue::N(text.trim().to_string()))
            .map_err(|e| {
                Failure::Usage(format!(
                    "--param {n}: {e} (quote it as a JSON string, '\"{text}\"', to send text)"
                ))
                .into()
            }),
        Ok(v) => from_plain(&v, &format!("--param {n}")).map_err(|e| {
            Failure::Usage(format!(
                "{e} (quote it as a JSON string, '\"{text}\"', to send text)"
            ))
            .into()
        }),
        Err(_) => Ok(AttributeValue::S(text.to_string())),
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

/// The table a statement names: the name after UPDATE, INTO (INSERT) or FROM (DELETE,
/// SELECT), "quoted" or bare, without an index part (`"t"."index"`).
pub fn statement_table(statement: &str) -> Option<String> {
    let mut rest = statement.trim_start();
    let mut previous = String::new();
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"')?;
            if ["UPDATE", "INTO", "FROM"].contains(&previous.as_str()) {
                return Some(quoted[..end].to_string());
            }
            previous.clear();
            rest = quoted[end + 1..].trim_start();
            continue;
        }
        if let Some(literal) = rest.strip_prefix('\'') {
            rest = literal
                .find('\'')
                .map_or("", |end| &literal[end + 1..])
                .trim_start();
            previous.clear();
            continue;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(rest.len());
        let word = &rest[..end];
        if ["UPDATE", "INTO", "FROM"].contains(&previous.as_str()) {
            return word.split('.').next().map(str::to_string);
        }
        previous = word.to_ascii_uppercase();
        rest = rest[end..].trim_start();
    }
    None
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
        parameters: args
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| param(p, i + 1))
            .collect::<Result<_>>()?,
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
        // The table the statement writes, not --table's.
        let table = statement_table(&args.statement).unwrap_or_else(|| ctx.db.table.clone());
        ctx.with_table(&table).confirm_destructive(
            &format!("run a PartiQL {verb} on table '{table}'"),
            args.yes,
        )?;
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
        let p = |t: &str| param(t, 1).unwrap();
        assert_eq!(p("42"), AttributeValue::N("42".into()));
        assert_eq!(p("\"42\""), AttributeValue::S("42".into()));
        assert_eq!(p("GRP#abc"), AttributeValue::S("GRP#abc".into()));
        assert_eq!(p("true"), AttributeValue::Bool(true));
        // Every digit kept; what DynamoDB cannot hold is refused, not sent as text.
        let digits = "12345678901234567890123456789012345678";
        assert_eq!(p(digits), AttributeValue::N(digits.into()));
        assert_eq!(p("1E+125"), AttributeValue::N("1E+125".into()));
        let e = param("1e400", 2).unwrap_err().to_string();
        assert!(
            e.starts_with("--param 2: '1e400' is out of DynamoDB's number range"),
            "{e}"
        );
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

    #[test]
    fn the_statement_names_its_table() {
        let table = |s: &str| statement_table(s);
        assert_eq!(
            table(r#"DELETE FROM "other-t" WHERE pk = 'FROM x'"#).as_deref(),
            Some("other-t")
        );
        assert_eq!(
            table("update scratch SET n = ? WHERE pk = ?").as_deref(),
            Some("scratch")
        );
        assert_eq!(
            table(r#"INSERT INTO "a b" VALUE {'pk': 'x'}"#).as_deref(),
            Some("a b")
        );
        assert_eq!(
            table(r#"SELECT * FROM "t"."message-group-sk-index""#).as_deref(),
            Some("t")
        );
        assert_eq!(table("SELECT * FROM t.idx").as_deref(), Some("t"));
        assert_eq!(table("EXISTS").as_deref(), None);
    }
}
