//! Error kinds that change the exit code, the exit codes themselves, and the one place that
//! flattens an error chain into the line a person reads. SDK errors are classified into these
//! kinds by `aws::classify`. Imports nothing of this crate.

use std::fmt::Debug;

/// Exit codes, documented in docs/exit-codes.md. Anything not listed is 1.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const UNREACHABLE: u8 = 3;
    pub const NOT_FOUND: u8 = 4;
    pub const MISMATCH: u8 = 5;
    pub const REFUSED: u8 = 6;
    pub const PARTIAL: u8 = 7;
    pub const INVALID_INPUT: u8 = 8;
    pub const INTERRUPTED: u8 = 130;
}

/// A failure whose kind the caller (main) maps to an exit code. The message is complete on its
/// own; context added around it only says where it happened.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// A bad option, argument or environment value, seen before any work (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A service error no other kind covers (exit 1): its code and message.
    #[error("{0}")]
    Service(String),
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Mismatch(String),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Partial(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    Interrupted(String),
    /// `diff --exit-code` found differences (exit 1, as `git diff --exit-code`): the output
    /// says what differs, so main prints no error line.
    #[error("the sides differ")]
    Differ,
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => exit::USAGE,
            Failure::Service(_) => exit::FAILURE,
            Failure::Unreachable(_) => exit::UNREACHABLE,
            Failure::NotFound(_) => exit::NOT_FOUND,
            Failure::Mismatch(_) => exit::MISMATCH,
            Failure::Refused(_) => exit::REFUSED,
            Failure::Partial(_) => exit::PARTIAL,
            Failure::InvalidInput(_) => exit::INVALID_INPUT,
            Failure::Interrupted(_) => exit::INTERRUPTED,
            Failure::Differ => exit::FAILURE,
        }
    }
}

/// A classified SDK failure that keeps the SDK error as its source: the message is the one line
/// a person reads; `--verbose` walks the source for the SDK's own detail.
#[derive(Debug, thiserror::Error)]
#[error("{failure}")]
pub struct Classified {
    pub failure: Failure,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// The classified failure in an error chain, wherever it sits.
pub fn failure_of(err: &anyhow::Error) -> Option<&Failure> {
    err.chain().find_map(|c| {
        c.downcast_ref::<Failure>()
            .or_else(|| c.downcast_ref::<Classified>().map(|k| &k.failure))
    })
}

/// The one place an error chain becomes the line a person reads (main's error line, and the
/// text of an SDK error no classification covers): the messages of `err` and its sources
/// joined by ": ", each skipped when the line already holds it (the SDK and our own messages
/// often repeat their source). Our own failures (`Failure`, `Classified`) are complete
/// sentences and stay whole; the chain stops at a classified SDK failure, whose message
/// already says it all. Any other cause gives its first line without the Debug dumps some SDK
/// errors embed (those are for --verbose).
pub fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(c) = cause {
        let classified = c.is::<Classified>();
        let text = if classified || c.is::<Failure>() {
            c.to_string()
        } else {
            without_dumps(c.to_string().lines().next().unwrap_or("").trim())
        };
        if !text.is_empty() && !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        if classified {
            break;
        }
        cause = c.source();
    }
    line
}

/// A cause's text without the Debug dumps some SDK errors embed (`` `Request { body: … }` ``,
/// `Error { code: … }`): backquoted parts longer than a URL and anything from a `Name {` on.
fn without_dumps(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('`') {
        let Some(len) = rest[open + 1..].find('`') else {
            break;
        };
        let quoted = &rest[open + 1..open + 1 + len];
        out.push_str(&rest[..open]);
        if quoted.len() <= 80 && !quoted.contains(" { ") {
            out.push('`');
            out.push_str(quoted);
            out.push('`');
        } else {
            out.push('…');
        }
        rest = &rest[open + len + 2..];
    }
    out.push_str(rest);
    // `Error { code: …` and the like: a type name followed by " { ".
    if let Some(i) = out.find(" { ") {
        let start = out[..i].rfind([' ', ':', '(']).map_or(0, |j| j + 1);
        if out[start..i].chars().next().is_some_and(char::is_uppercase) {
            out.truncate(start);
            out = out.trim_end_matches([' ', ':']).to_string();
        }
    }
    out
}

/// Credentials seen in this run's configuration (an endpoint URL's `user:password`), removed
/// from every line printed by [`scrub`].
static SECRETS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Remember `secret` so that [`scrub`] never lets it through.
pub fn scrub_secret(secret: String) {
    if !secret.is_empty() {
        if let Ok(mut s) = SECRETS.lock() {
            s.push(secret);
        }
    }
}

/// `text` with every remembered secret replaced by `***`: applied by main to every error line,
/// verbose detail included.
pub fn scrub(text: &str) -> String {
    let mut out = text.to_string();
    if let Ok(secrets) = SECRETS.lock() {
        for s in secrets.iter() {
            out = out.replace(s.as_str(), "***");
        }
    }
    out
}

/// The exit code for an error chain: the first classified failure wins.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    failure_of(err).map_or(exit::FAILURE, Failure::exit_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_dumps_are_cut_from_causes() {
        let sdk = "failed to apply endpoint `http://[::1` to request `Request { body: SdkBody { inner: Once(Some(b\"{}\")) }, uri: Uri { as_string: \"/\" } }`: endpoint is not a valid URI";
        assert_eq!(
            without_dumps(sdk),
            "failed to apply endpoint `http://[::1` to request …: endpoint is not a valid URI"
        );
        assert_eq!(
            without_dumps("unhandled error (ValidationException): Error { code: \"ValidationException\", message: \"x\" }"),
            "unhandled error (ValidationException)"
        );
        assert_eq!(without_dumps("plain words: fine"), "plain words: fine");
    }

    #[test]
    fn a_chain_is_one_line_that_stops_at_the_classified_failure() {
        let sdk = std::io::Error::other("service error: Error { code: \"X\" }");
        let classified = Classified {
            failure: Failure::NotFound("table 't' not found".into()),
            source: Box::new(sdk),
        };
        let err = anyhow::Error::new(classified)
            .context("table 't' not found")
            .context("reading conversation g");
        assert_eq!(causes(&*err), "reading conversation g: table 't' not found");
        // Our own sentences stay whole, line breaks and all; a foreign cause gives its first line.
        let err = anyhow::Error::new(Failure::Mismatch("differs:\n  a\n  b".into()));
        assert_eq!(causes(&*err), "differs:\n  a\n  b");
        let err = anyhow::Error::new(std::io::Error::other("first\nsecond")).context("reading x");
        assert_eq!(causes(&*err), "reading x: first");
    }

    #[test]
    fn secrets_are_scrubbed() {
        scrub_secret("user:s3cr3t".into());
        assert_eq!(scrub("at http://user:s3cr3t@h"), "at http://***@h");
    }
}
