//! JSON input files (schema, fixture, checkpoint): one way to read them and one shape of error,
//! `file:line:column: what is wrong`, so every broken file is reported the same way.

use std::path::Path;

use anyhow::Result;
use serde::de::DeserializeOwned;

use crate::errors::Failure;

/// Read and parse `path`; `what` names the kind of file in the read error ("fixture").
pub fn read<T: DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text = read_text(path, what)?;
    Ok(parse(path, &text)?)
}

/// The file's text; a file that cannot be read is invalid input, like one that cannot be
/// parsed.
pub fn read_text(path: &Path, what: &str) -> std::result::Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::InvalidInput(format!("cannot read {what} {}: {e}", path.display())))
}

/// Parse JSON text that came from `path`; syntax and shape errors become invalid input that
/// names the file, line and column.
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> std::result::Result<T, Failure> {
    serde_json::from_str(text).map_err(|e| {
        Failure::InvalidInput(format!(
            "{}:{}:{}: {}",
            path.display(),
            e.line(),
            e.column(),
            message(&e)
        ))
    })
}

/// serde_json's message without its trailing " at line L column C" (we lead with the position).
pub fn message(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_lead_with_file_line_and_column() {
        let err = parse::<serde_json::Value>(Path::new("f.json"), "{\n  \"a\": 1,\n}").unwrap_err();
        assert_eq!(err.to_string(), "f.json:3:1: trailing comma");
    }
}
