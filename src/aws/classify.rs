//! The one SDK-error classifier: an SDK error from any call becomes a `Classified` failure
//! (errors.rs) that keeps the SDK error as its source, with one line a person can act on and
//! the kind that decides the exit code. A call that `Backoff` gave up on (out of attempts,
//! or stopped by Ctrl-C) is turned into its line here too (`stop_error`).

use std::fmt::Debug;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::aws::retry::Stop;
use crate::aws::target::Target;
use crate::errors::{causes, Classified, Failure};

/// What a failed call was about, for the error sentence.
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    Table(&'a str),
    Index(&'a str, &'a str),
    Stream(&'a str),
    /// A PartiQL statement, which names its own table.
    Statement,
    None,
}

/// Who wrote the request an error answers. DynamoDB's ValidationException faults the request:
/// for one built from what the user typed (a filter, a key, a statement) that is invalid input
/// (exit 8) with DynamoDB's own message; for one ddb built, an error like any other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Ddb,
    User,
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
    sdk_error(target, op, subject, Origin::Ddb, err)
}

/// `api_error` for a request of `origin`: see `Origin`.
pub fn sdk_error<E, R>(
    target: &Target,
    op: &str,
    subject: Subject<'_>,
    origin: Origin,
    err: SdkError<E, R>,
) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let invalid = origin == Origin::User && err.code() == Some("ValidationException");
    let failure = if invalid {
        let message = err.message().unwrap_or("the request is not valid");
        Failure::InvalidInput(format!("ValidationException on {op}: {message}"))
    } else {
        classify(target, op, subject, &err).unwrap_or_else(|| unclassified(target, op, &err))
    };
    anyhow::Error::new(Classified {
        failure,
        source: Box::new(err),
    })
}

/// A call `Backoff` stopped retrying, as one line: Ctrl-C is an interruption (exit 130); a
/// call out of attempts says how many it made, before the classified last error; an error no
/// retry would fix is classified as it is.
pub fn stop_error<E>(
    target: &Target,
    op: &str,
    subject: Subject<'_>,
    origin: Origin,
    stop: Stop<SdkError<E, HttpResponse>>,
) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match stop {
        Stop::Cancelled(_) => Failure::Interrupted(format!("interrupted during {op}")).into(),
        Stop::Exhausted { error, attempts } => sdk_error(target, op, subject, origin, error)
            .context(format!("{op} gave up after {attempts} attempts")),
        Stop::Fatal(error) => sdk_error(target, op, subject, origin, error),
    }
}

/// Every other SDK error, still one line: a service error's code and message; an answer that
/// is not DynamoDB's (an HTML page, a 404) by its HTTP status, as unreachable DynamoDB; anything
/// else by its causes without the SDK's Debug dumps.
fn unclassified<E, R>(target: &Target, op: &str, err: &SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let at = target.endpoint_label();
    if let Some(code) = err.code() {
        let message = err.message().unwrap_or("(no message)");
        return Failure::Service(format!("{code} on {op}: {message} (at {at})"));
    }
    let raw = err
        .raw_response()
        .and_then(|r| (r as &dyn std::any::Any).downcast_ref::<HttpResponse>());
    if let Some(response) = raw {
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .map(|c| format!(", {}", c.split(';').next().unwrap_or(c).trim()))
            .unwrap_or_default();
        return Failure::Unreachable(format!(
            "{op} at {at}: the server answered HTTP {status}{kind}, which is not a DynamoDB answer; \
             is this DynamoDB's endpoint? (check --endpoint-url / AWS_ENDPOINT_URL{})",
            if target.local { ", or whether something else uses the port" } else { "" }
        ));
    }
    Failure::Service(format!("{op} failed at {at}: {}", causes(err)))
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
                    schema_hint(target, op, t)
                )),
                ("ResourceNotFoundException", Subject::Index(t, i)) => Failure::NotFound(format!(
                    "ResourceNotFoundException on {op}: index '{i}' of table '{t}' not found at {at}"
                )),
                ("ResourceNotFoundException", Subject::Stream(t)) => Failure::NotFound(format!(
                    "ResourceNotFoundException on {op}: no stream for table '{t}' at {at}"
                )),
                ("ResourceNotFoundException", Subject::Statement) => Failure::NotFound(format!(
                    "ResourceNotFoundException on {op}: {message} (is the table in the statement at {at}?)"
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
        "; is DynamoDB Local running? start it with `ddb local start`"
    } else {
        ""
    }
}

/// How to create the missing table, aimed at the same target and table; none after a
/// DeleteTable (whoever drops a table does not want it created).
fn schema_hint(target: &Target, op: &str, table: &str) -> String {
    if op == "DeleteTable" {
        return String::new();
    }
    format!(
        "; create it with `{}`",
        target.suggest(table, "schema-load")
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::exit_code_for;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::query::QueryError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn target() -> Target {
        Target {
            endpoint: Some("http://127.0.0.1:8000".into()),
            region: "us-east-1".into(),
            profile: None,
            local: true,
            flags: vec!["--local".into()],
        }
    }

    /// A service error as DynamoDB sends it: a 400 with a code and a message.
    fn answered(code: &str, message: &str) -> SdkError<QueryError, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        let status = StatusCode::try_from(400).expect("a status");
        SdkError::service_error(
            QueryError::generic(meta),
            HttpResponse::new(status, SdkBody::empty()),
        )
    }

    #[test]
    fn validation_faults_the_user_only_when_the_user_wrote_the_request() {
        let t = target();
        let bad = || answered("ValidationException", "Invalid FilterExpression");
        let user = sdk_error(&t, "Query", Subject::Table("t"), Origin::User, bad());
        assert_eq!(
            user.to_string(),
            "ValidationException on Query: Invalid FilterExpression"
        );
        assert_eq!(exit_code_for(&user), 8);
        let ours = sdk_error(&t, "Query", Subject::Table("t"), Origin::Ddb, bad());
        assert_eq!(exit_code_for(&ours), 1);
        assert!(
            ours.to_string().starts_with(
                "ValidationException on Query: Invalid FilterExpression (at http://127.0.0.1:8000)"
            ),
            "{ours}"
        );
    }

    #[test]
    fn a_statement_whose_table_is_missing_asks_where_it_is() {
        let gone = answered("ResourceNotFoundException", "Requested resource not found");
        let e = sdk_error(
            &target(),
            "ExecuteStatement",
            Subject::Statement,
            Origin::User,
            gone,
        );
        assert_eq!(
            e.to_string(),
            "ResourceNotFoundException on ExecuteStatement: Requested resource not found (is the table in the statement at http://127.0.0.1:8000?)"
        );
        assert_eq!(exit_code_for(&e), 4);
    }

    #[test]
    fn a_stopped_retry_says_why() {
        let t = target();
        let throttled = || answered("ProvisionedThroughputExceededException", "slow down");
        let out = Stop::Exhausted {
            error: throttled(),
            attempts: 3,
        };
        let e = stop_error(&t, "Query", Subject::Table("t"), Origin::Ddb, out);
        assert_eq!(
            crate::errors::causes(&*e),
            "Query gave up after 3 attempts: ProvisionedThroughputExceededException on Query: slow down (at http://127.0.0.1:8000)"
        );
        let stopped = Stop::Cancelled(throttled());
        let e = stop_error(&t, "Query", Subject::Table("t"), Origin::Ddb, stopped);
        assert_eq!(e.to_string(), "interrupted during Query");
        assert_eq!(exit_code_for(&e), 130);
    }
}
