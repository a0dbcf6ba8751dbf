//! `--explain`: the API a command would call and the exact first request, as the JSON that
//! `aws dynamodb <op> --cli-input-json` accepts, plus what was assumed to build it. Nothing is
//! sent, not even DescribeTable.

use anyhow::Result;
use serde_json::{json, Value};

use crate::term::output::OutputFormat;
use crate::term::output::{self, Style};

#[derive(Debug)]
pub struct Explain {
    /// The API name, e.g. `Query`.
    pub api: &'static str,
    pub request: Value,
    /// What was assumed (key schema, segments) and how later pages differ.
    pub notes: Vec<String>,
}

impl Explain {
    pub fn new(api: &'static str, request: Value) -> Explain {
        Explain {
            api,
            request,
            notes: Vec::new(),
        }
    }

    pub fn note(mut self, text: impl Into<String>) -> Explain {
        self.notes.push(text.into());
        self
    }

    /// The aws-cli operation: `Query` -> `query`, `GetItem` -> `get-item`.
    pub fn cli_operation(&self) -> String {
        let mut op = String::new();
        for (i, c) in self.api.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                op.push('-');
            }
            op.push(c.to_ascii_lowercase());
        }
        op
    }

    /// For people: the API, the request JSON on its own lines (copy it into a file for
    /// `--cli-input-json file://…`), then the notes. For programs: one object.
    pub fn print(&self, style: &Style) -> Result<()> {
        let cli = format!("aws dynamodb {} --cli-input-json", self.cli_operation());
        if style.is_json() {
            let value = json!({
                "api": self.api,
                "cli": cli,
                "request": self.request,
                "notes": self.notes,
            });
            return output::print_json(style.format, &value).map(|_| ());
        }
        debug_assert!(style.format == OutputFormat::Table);
        let mut text = format!(
            "{} {} (nothing was sent; run it with: {cli} file://request.json)\n",
            style.bold("API:"),
            self.api
        );
        text.push_str(&serde_json::to_string_pretty(&self.request)?);
        for note in &self.notes {
            text.push_str("\n- ");
            text.push_str(note);
        }
        output::line(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_operation_names() {
        assert_eq!(Explain::new("Query", json!({})).cli_operation(), "query");
        assert_eq!(
            Explain::new("GetItem", json!({})).cli_operation(),
            "get-item"
        );
        assert_eq!(
            Explain::new("ExecuteStatement", json!({})).cli_operation(),
            "execute-statement"
        );
    }
}
