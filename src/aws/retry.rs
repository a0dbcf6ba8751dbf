//! The one retry mechanism: every AWS call (one request through `Db::send`, pages through
//! `Pages`) and every loop that tries a call again (the batch writer, the stream handler,
//! put-message, the table waiters, the stream reader) paces itself with `Backoff` (capped
//! exponential backoff with full jitter, as the AWS architecture blog recommends), counts
//! through `Tries`, and stops at once when the run's `CancellationToken` is cancelled (Ctrl-C),
//! so a pause never delays exit 130. The SDK's own retries are off on the clients
//! (`client::build`), and again per call where code says so (`sdk_retries_off`), so that no
//! retry goes unpaced or uncounted. `--max-attempts` sets the run's budget (`Db::backoff`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::retry::ErrorKind;
use tokio_util::sync::CancellationToken;

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

    /// A fresh budget for one unit of work, ended early by `cancel`.
    pub fn tries<'a>(&self, cancel: &'a CancellationToken) -> Tries<'a> {
        Tries {
            backoff: *self,
            cancel,
            attempts: 1,
            retries: 0,
        }
    }

    /// Send `call` until it succeeds, fails for good (not `is_retryable`), runs out of
    /// attempts or is cancelled. Retries are added to `retries` whatever the result.
    pub async fn call<T, E, F, Fut>(
        &self,
        cancel: &CancellationToken,
        retries: &mut u32,
        mut call: F,
    ) -> Result<T, Stop<SdkError<E, HttpResponse>>>
    where
        E: ProvideErrorMetadata,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        let mut tries = self.tries(cancel);
        let result = loop {
            match call().await {
                Ok(v) => break Ok(v),
                Err(e) if is_retryable(&e) => {
                    if let Err(stop) = tries.pause(e).await {
                        break Err(stop);
                    }
                }
                Err(e) => break Err(Stop::Fatal(e)),
            }
        };
        *retries += tries.retries;
        result
    }
}

/// Why a retried unit of work stopped without succeeding; each carries the last error.
#[derive(Debug)]
pub enum Stop<E> {
    /// Not worth retrying (validation, missing table, a condition).
    Fatal(E),
    /// Retryable, but every attempt was used.
    Exhausted { error: E, attempts: u32 },
    /// Ctrl-C arrived before or during the pause.
    Cancelled(E),
}

impl<E> Stop<E> {
    pub fn error(&self) -> &E {
        match self {
            Stop::Fatal(e) | Stop::Exhausted { error: e, .. } | Stop::Cancelled(e) => e,
        }
    }

    pub fn into_error(self) -> E {
        match self {
            Stop::Fatal(e) | Stop::Exhausted { error: e, .. } | Stop::Cancelled(e) => e,
        }
    }

    pub fn is_cancelled(&self) -> bool {
        matches!(self, Stop::Cancelled(_))
    }
}

/// The attempts of one unit of work: `pause` after each retryable failure.
#[derive(Debug)]
pub struct Tries<'a> {
    backoff: Backoff,
    cancel: &'a CancellationToken,
    /// Attempts made so far, the first included.
    attempts: u32,
    /// Attempts repeated so far (`attempts - 1` once any pause returned).
    pub retries: u32,
}

impl Tries<'_> {
    /// After a retryable failure `error`: wait the jittered delay and return Ok (the caller
    /// tries again), or give `error` back as `Exhausted` (no attempts left) or `Cancelled`
    /// (Ctrl-C before or during the wait; the wait ends at once).
    pub async fn pause<E>(&mut self, error: E) -> Result<(), Stop<E>> {
        if self.attempts >= self.backoff.max_attempts.max(1) {
            return Err(Stop::Exhausted {
                error,
                attempts: self.attempts,
            });
        }
        if self.cancel.is_cancelled() {
            return Err(Stop::Cancelled(error));
        }
        tokio::select! {
            _ = tokio::time::sleep(self.backoff.delay(self.attempts)) => {}
            _ = self.cancel.cancelled() => return Err(Stop::Cancelled(error)),
        }
        self.attempts += 1;
        self.retries += 1;
        Ok(())
    }

    pub fn attempts(&self) -> u32 {
        self.attempts
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
    crate::model::ids::mix(s)
}

/// A per-operation config override that switches the SDK's own retries off, for callers that
/// retry themselves with `Backoff` so that every retry is paced and counted once:
/// `.customize().config_override(retry::sdk_retries_off())`.
pub fn sdk_retries_off() -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::config::Builder::default().retry_config(RetryConfig::disabled())
}

/// The same for the DynamoDB Streams client (the stream reader retries with `Backoff`).
pub fn streams_retries_off() -> aws_sdk_dynamodbstreams::config::Builder {
    aws_sdk_dynamodbstreams::config::Builder::default().retry_config(RetryConfig::disabled())
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

    fn quick(max_attempts: u32) -> Backoff {
        Backoff {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(2),
            max_attempts,
        }
    }

    #[tokio::test]
    async fn tries_count_pauses_and_stop_at_the_budget() {
        let cancel = CancellationToken::new();
        let mut tries = quick(3).tries(&cancel);
        assert!(tries.pause("a").await.is_ok());
        assert!(tries.pause("b").await.is_ok());
        match tries.pause("c").await {
            Err(Stop::Exhausted { error, attempts }) => assert_eq!((error, attempts), ("c", 3)),
            other => panic!("expected exhaustion, got {other:?}"),
        }
        assert_eq!(tries.retries, 2);
    }

    #[tokio::test]
    async fn cancelling_ends_a_pause_at_once() {
        let cancel = CancellationToken::new();
        let slow = Backoff {
            base: Duration::from_secs(60),
            cap: Duration::from_secs(60),
            max_attempts: 5,
        };
        let mut tries = slow.tries(&cancel);
        // Retry until a pause is long enough to matter (jitter may pick ~0 first).
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            trigger.cancel();
        });
        let started = std::time::Instant::now();
        let stopped = loop {
            if let Err(stop) = tries.pause("x").await {
                break stop;
            }
        };
        assert!(stopped.is_cancelled(), "{stopped:?}");
        assert!(started.elapsed() < Duration::from_secs(30));
        // Already cancelled: no wait at all, and no retry counted.
        let mut again = slow.tries(&cancel);
        assert!(again.pause("y").await.unwrap_err().is_cancelled());
        assert_eq!(again.retries, 0);
    }

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
