//! Error kinds that change the exit code, and the one place that turns SDK errors into a
//! sentence a person can act on.

use std::fmt::Debug;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::db::Target;

/// Exit codes, documented in the README. Anything not listed is 1.
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
    #[error("{0}")]
    Usage(String),
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
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => exit::USAGE,
            Failure::Unreachable(_) => exit::UNREACHABLE,
            Failure::NotFound(_) => exit::NOT_FOUND,
            Failure::Mismatch(_) => exit::MISMATCH,
            Failure::Refused(_) => exit::REFUSED,
            Failure::Partial(_) => exit::PARTIAL,
            Failure::InvalidInput(_) => exit::INVALID_INPUT,
            Failure::Interrupted(_) => exit::INTERRUPTED,
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

/// What a failed call was about, for the error sentence.
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    Table(&'a str),
    Index(&'a str, &'a str),
    Stream(&'a str),
    None,
}

/// Turn an SDK error from operation `op` into one actionable line, classified for the exit code.
pub fn api_error<E, R>(
    target: &Target,
    op: &str,
    subject: Subject<'_>,
    err: SdkError<E, R>,
) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let Some(failure) = classify(target, op, subject, &err) else {
        let code = err.code().map(str::to_string);
        let message = err.message().unwrap_or("").to_string();
        let at = target.endpoint_label();
        let line = match code {
            Some(code) => format!("{code} on {op}: {message} (at {at})"),
            None => format!("{op} failed at {at}: {}", causes(&err)),
        };
        return anyhow::Error::new(err).context(line);
    };
    anyhow::Error::new(Classified {
        failure,
        source: Box::new(err),
    })
}

fn classify<E, R>(
    target: &Target,
    op: &str,
    subject: Subject<'_>,
    err: &SdkError<E, R>,
) -> Option<Failure>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let at = target.endpoint_label();
    let failure = match err {
        SdkError::DispatchFailure(d) if d.is_timeout() => Failure::Unreachable(format!(
            "timed out connecting to DynamoDB at {at} during {op}{}",
            local_hint(target)
        )),
        SdkError::DispatchFailure(d) if d.is_io() => Failure::Unreachable(format!(
            "cannot reach DynamoDB at {at} during {op} ({}){}",
            io_reason(err),
            local_hint(target)
        )),
        SdkError::TimeoutError(_) => Failure::Unreachable(format!(
            "{op} timed out talking to DynamoDB at {at}{}",
            local_hint(target)
        )),
        SdkError::ServiceError(_) => {
            let code = err.code().unwrap_or("ServiceError");
            let message = err.message().unwrap_or("").to_string();
            match (code, subject) {
                ("ResourceNotFoundException", Subject::Table(t)) => Failure::NotFound(format!(
                    "ResourceNotFoundException on {op}: table '{t}' not found at {at}{}",
                    schema_hint(target)
                )),
                ("ResourceNotFoundException", Subject::Index(t, i)) => Failure::NotFound(format!(
                    "ResourceNotFoundException on {op}: index '{i}' of table '{t}' not found at {at}"
                )),
                ("ResourceNotFoundException", Subject::Stream(t)) => Failure::NotFound(format!(
                    "ResourceNotFoundException on {op}: no stream for table '{t}' at {at}"
                )),
                ("ResourceInUseException", Subject::Table(t)) => Failure::Mismatch(format!(
                    "ResourceInUseException on {op}: table '{t}' is in use at {at}: {message}"
                )),
                (code, _) if is_credentials_code(code) => Failure::Unreachable(format!(
                    "{code} on {op}: {message} (target {at}, region {}; check --profile / AWS credentials)",
                    target.region
                )),
                _ => return None,
            }
        }
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_)
            if causes(err).contains("credential") =>
        {
            let whose = match &target.profile {
                Some(p) => format!("profile '{p}' has none or does not exist"),
                None => "none found in the default chain (environment, ~/.aws, SSO, instance role)"
                    .into(),
            };
            Failure::Unreachable(format!(
                "no AWS credentials for {op} at {at}: {whose}; pass --profile, run `aws sso login`, or use --local for DynamoDB Local"
            ))
        }
        _ => return None,
    };
    Some(failure)
}

/// The messages of an error and its sources, deduplicated, on one line: what a person needs,
/// without the SDK's Debug dump (that is for --verbose).
pub fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(c) = cause {
        let text = c.to_string();
        let first_line = text.lines().next().unwrap_or("").trim().to_string();
        if !first_line.is_empty() && !parts.iter().any(|p| p.contains(&first_line)) {
            parts.push(first_line);
        }
        cause = c.source();
    }
    parts.join(": ")
}

fn is_credentials_code(code: &str) -> bool {
    matches!(
        code,
        "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "AccessDeniedException"
            | "MissingAuthenticationToken"
    )
}

fn local_hint(target: &Target) -> &'static str {
    if target.local {
        "; is DynamoDB Local running? try `just local-up`"
    } else {
        ""
    }
}

fn schema_hint(target: &Target) -> String {
    if target.local {
        "; create it with `ddb schema-load`".to_string()
    } else {
        String::new()
    }
}

/// The innermost io reason ("Connection refused (os error 111)") without the SDK's framing.
fn io_reason(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut last = String::from("connection failed");
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return io.to_string();
        }
        last = c.to_string();
        cause = c.source();
    }
    last
}

/// The exit code for an error chain: the first classified failure wins.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    failure_of(err).map_or(exit::FAILURE, Failure::exit_code)
}
