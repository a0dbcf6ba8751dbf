//! Why settling a conversation's rows failed, as types: the kinds the stream handler branches
//! on, the SDK's or the page helper's error kept as the source, and the one line a person reads
//! (the stream handler's record outcome, seed's summary).

use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::aws::retry::Stop;
use crate::errors::{causes, failure_of};
use crate::model::GROUP_INDEX;

/// Pages of a group's rows (index) we are prepared to read.
pub const MAX_ROW_PAGES: usize = 20;
/// Pages of one owner's rows (all its conversations, filtered to one) we are prepared to read.
pub const MAX_OWNER_PAGES: usize = MAX_ROW_PAGES * 50;
/// Pages of a conversation's messages read to find the newest one.
pub const MAX_MESSAGE_PAGES: usize = 1_000;

/// How a retried TransactWriteItems stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gave {
    /// Not worth another attempt.
    Up,
    /// Every attempt of the run's budget was used.
    After(u32),
    /// Ctrl-C during a retry pause.
    Interrupted,
}

/// Why a conversation's rows could not be settled. The texts are what the stream handler's
/// record outcome and seed's summary show.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// A row's Put was refused: its owner has a row at that sk for another conversation.
    #[error("{pk} already has a row at sk {sk} for another conversation")]
    Clash { pk: String, sk: String },
    /// TransactWriteItems failed, with the SDK's error.
    #[error("{}", transaction_failed(source, *gave))]
    Transaction {
        gave: Gave,
        #[source]
        source: Box<SdkError<TransactWriteItemsError, HttpResponse>>,
    },
    /// A read (Query) failed, as the page helper classified it; the whole chain (attempts,
    /// the SDK's error) stays in the source.
    #[error("{}", read_failed(.0))]
    Read(#[source] anyhow::Error),
    #[error("group {group} has more than {MAX_ROW_PAGES} pages of rows in {GROUP_INDEX}")]
    TooManyGroupRows { group: String },
    #[error("user {owner} has too many GRP# rows to read")]
    TooManyOwnerRows { owner: String },
    #[error("conversation {group} has more than {MAX_MESSAGE_PAGES} pages of messages to compare")]
    TooManyMessages { group: String },
    /// Guards kept failing: the rows changed under every read of the budget.
    #[error("GRP# rows of group {group} kept changing; gave up after {rereads} re-reads")]
    KeptChanging { group: String, rereads: u32 },
    /// Ctrl-C while waiting to read again.
    #[error("interrupted")]
    Interrupted,
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// A failed read in one line, as before the page helper: the classified failure ("<code> on
/// Query: <message> (at <endpoint>)", or "interrupted"), else the causes.
fn read_failed(err: &anyhow::Error) -> String {
    failure_of(err).map_or_else(|| causes(err.as_ref()), ToString::to_string)
}

/// The one line for a failed TransactWriteItems: the service's code and message, or the cause
/// chain; and how it stopped.
fn transaction_failed(err: &SdkError<TransactWriteItemsError, HttpResponse>, gave: Gave) -> String {
    const OP: &str = "TransactWriteItems";
    let why = match (err.code(), err.message()) {
        (Some(code), Some(msg)) => format!("{code} on {OP}: {msg}"),
        (Some(code), None) => format!("{code} on {OP}"),
        _ => format!("{OP}: {}", causes(err)),
    };
    match gave {
        Gave::Up => why,
        Gave::After(attempts) => format!("{why} (after {attempts} attempts)"),
        Gave::Interrupted => format!("interrupted: {why}"),
    }
}

pub(crate) fn transaction_error(
    stop: Stop<SdkError<TransactWriteItemsError, HttpResponse>>,
) -> SettleError {
    let (gave, source) = match stop {
        Stop::Fatal(e) => (Gave::Up, e),
        Stop::Exhausted { error, attempts } => (Gave::After(attempts), error),
        Stop::Cancelled(e) => (Gave::Interrupted, e),
    };
    SettleError::Transaction {
        gave,
        source: Box::new(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_smithy_types::body::SdkBody;

    use crate::errors::Failure;

    fn refused(code: &str, message: &str) -> SdkError<TransactWriteItemsError, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        let raw = HttpResponse::new(400.try_into().unwrap(), SdkBody::empty());
        SdkError::service_error(TransactWriteItemsError::generic(meta), raw)
    }

    #[test]
    fn a_failed_transaction_reads_as_before_and_keeps_the_sdk_error() {
        let err = transaction_error(Stop::Fatal(refused("ValidationException", "bad item")));
        assert_eq!(
            err.to_string(),
            "ValidationException on TransactWriteItems: bad item"
        );
        let source = std::error::Error::source(&err).expect("the SDK error is the source");
        let sdk = source.downcast_ref::<Box<SdkError<TransactWriteItemsError, HttpResponse>>>();
        assert_eq!(sdk.and_then(|e| e.code()), Some("ValidationException"));
        let spent = Stop::Exhausted {
            error: refused("ThrottlingException", "slow down"),
            attempts: 3,
        };
        assert_eq!(
            transaction_error(spent).to_string(),
            "ThrottlingException on TransactWriteItems: slow down (after 3 attempts)"
        );
        let cut = Stop::Cancelled(refused("ThrottlingException", "slow down"));
        assert_eq!(
            transaction_error(cut).to_string(),
            "interrupted: ThrottlingException on TransactWriteItems: slow down"
        );
    }

    #[test]
    fn a_failed_read_is_its_classified_line() {
        let classified = anyhow::Error::new(Failure::Service(
            "ThrottlingException on Query: slow down (at http://localhost:8000)".into(),
        ))
        .context("Query gave up after 10 attempts");
        let err = SettleError::Read(classified);
        assert_eq!(
            err.to_string(),
            "ThrottlingException on Query: slow down (at http://localhost:8000)"
        );
        let interrupted = anyhow::Error::new(Failure::Interrupted("interrupted".into()));
        assert_eq!(SettleError::Read(interrupted).to_string(), "interrupted");
        let plain = SettleError::Read(anyhow::anyhow!("no page").context("Query"));
        assert_eq!(plain.to_string(), "Query: no page");
        let clash = SettleError::Clash {
            pk: "GRP#a".into(),
            sk: "t".into(),
        };
        assert_eq!(
            clash.to_string(),
            "GRP#a already has a row at sk t for another conversation"
        );
    }
}
