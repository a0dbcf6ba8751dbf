//! Retries the SDK does not do for us: UnprocessedItems, transaction conflicts, and (for
//! commands that count their retries) throttling and 5xx. Capped exponential backoff with full
//! jitter, as the AWS architecture blog recommends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::retry::ErrorKind;

/// Attempts and delays for one unit of work (a batch, a record).
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    /// Total attempts, the first included.
    pub max_attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(25),
            cap: Duration::from_secs(2),
            max_attempts: 10,
        }
    }
}

impl Backoff {
    /// Delay before attempt `attempt` (1 = the first retry): uniform in [0, min(cap, base*2^n)].
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.cap);
        let nanos = exp.as_nanos() as u64;
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(jitter() % (nanos + 1))
    }

    pub async fn sleep(&self, attempt: u32) {
        tokio::time::sleep(self.delay(attempt)).await;
    }
}

/// A cheap, thread-safe source of jitter (splitmix64 over a shared counter seeded by the
/// clock). Not for anything that needs real randomness.
fn jitter() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut s = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    if s == 0 {
        s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        STATE.store(s, Ordering::Relaxed);
    }
    crate::ids::mix(s)
}

/// A per-operation config override that switches the SDK's own retries off, for callers that
/// retry themselves with `Backoff` so that every retry is paced and counted once:
/// `.customize().config_override(retry::sdk_retries_off())`.
pub fn sdk_retries_off() -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::config::Builder::default().retry_config(RetryConfig::disabled())
}

/// Throttling error codes DynamoDB uses.
pub fn is_throttling_code(code: &str) -> bool {
    matches!(
        code,
        "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "LimitExceededException"
            | "TooManyRequestsException"
    )
}

/// Worth another attempt: throttling, 5xx, a dropped or timed-out connection, or a
/// transaction conflict. Validation errors, missing tables and the like are not.
pub fn is_retryable<E>(err: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        // A refused connection stays refused; anything else on the wire (reset, EOF) may pass.
        // A connection closed before the response arrives is `Other(TransientError)`, not io.
        SdkError::DispatchFailure(d) => {
            d.is_timeout()
                || (d.is_io() || d.as_other() == Some(ErrorKind::TransientError))
                    && !format!("{d:?}").contains("ConnectionRefused")
        }
        SdkError::ServiceError(ctx) => {
            let code = err.code().unwrap_or("");
            is_throttling_code(code)
                || matches!(
                    code,
                    "InternalServerError"
                        | "InternalFailure"
                        | "ServiceUnavailable"
                        | "TransactionConflictException"
                        | "TransactionInProgressException"
                )
                || ctx.raw().status().is_server_error()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_capped_and_jittered() {
        let b = Backoff {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(100),
            max_attempts: 5,
        };
        let mut seen = std::collections::HashSet::new();
        for attempt in 0..40 {
            let d = b.delay(attempt);
            assert!(d <= Duration::from_millis(100), "{d:?}");
            seen.insert(d);
        }
        assert!(seen.len() > 10, "jitter should vary delays");
    }

    #[test]
    fn a_connection_closed_mid_request_is_retryable() {
        use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemError;
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let closed = |kind| {
            SdkError::<BatchWriteItemError, HttpResponse>::dispatch_failure(ConnectorError::other(
                "connection closed before message completed".into(),
                kind,
            ))
        };
        assert!(is_retryable(&closed(Some(ErrorKind::TransientError))));
        assert!(!is_retryable(&closed(None)));
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let refused = SdkError::<BatchWriteItemError, HttpResponse>::dispatch_failure(
            ConnectorError::io(refused.into()),
        );
        assert!(!is_retryable(&refused));
    }
}
