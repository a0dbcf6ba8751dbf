//! The database handle every library module takes: both SDK clients, the table, where they
//! point, and the run's cancellation token. Built once per process by `client::build`; nothing
//! here knows about the command line.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use tokio_util::sync::CancellationToken;

use crate::aws::classify::{api_error, stop_error, Origin, Subject};
use crate::aws::retry::{Backoff, Stop};
pub use crate::aws::target::Target;

/// Clients, table and target of one run. Cheap to clone (the SDK clients are `Arc`s), so a
/// handle for another table is `db.with_table(name)`.
#[derive(Clone, Debug)]
pub struct Db {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub table: String,
    pub target: Target,
    /// Cancelled by the first Ctrl-C: retry pauses end at once and long-running work stops
    /// taking new units, so every command can report exactly what it did and exit 130.
    pub cancel: CancellationToken,
    /// The pace and budget of every retried call (`--max-attempts` sets its attempts).
    pub backoff: Backoff,
    /// Attempts repeated by any call of this run (shared by clones), shown under `-v`.
    pub retried: Arc<AtomicU64>,
}

impl Db {
    pub fn with_table(&self, table: &str) -> Db {
        Db {
            table: table.to_string(),
            ..self.clone()
        }
    }

    /// Count `n` repeated attempts against the run's total.
    pub fn count_retries(&self, n: u32) {
        self.retried.fetch_add(u64::from(n), Ordering::Relaxed);
    }

    /// Attempts repeated so far by every call of this run.
    pub fn retries(&self) -> u64 {
        self.retried.load(Ordering::Relaxed)
    }

    /// Send one request through the run's `Backoff` (the clients' own retries are off), its
    /// retries counted on the run. `call` sends the request afresh for each attempt.
    pub async fn send<T, E, F, Fut>(&self, call: F) -> Result<T, Stop<SdkError<E, HttpResponse>>>
    where
        E: ProvideErrorMetadata,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        let mut retries = 0;
        let sent = self.backoff.call(&self.cancel, &mut retries, call).await;
        self.count_retries(retries);
        sent
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// An SDK error from `op` on this handle's table, as one classified line.
    pub fn table_error<E, R>(&self, op: &str, err: SdkError<E, R>) -> anyhow::Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        api_error(&self.target, op, Subject::Table(&self.table), err)
    }

    /// A call on this handle's table that `send` gave up on, as one classified line.
    pub fn stopped<E>(&self, op: &str, stop: Stop<SdkError<E, HttpResponse>>) -> anyhow::Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        stop_error(
            &self.target,
            op,
            Subject::Table(&self.table),
            Origin::Ddb,
            stop,
        )
    }

    /// "endpoint …, region …, table … (local|remote)", for `-v` and confirmations.
    pub fn describe(&self) -> String {
        let t = &self.target;
        format!(
            "endpoint {}, region {}{}, table {}{}",
            t.endpoint_label(),
            t.region,
            t.profile
                .as_ref()
                .map(|p| format!(", profile {p}"))
                .unwrap_or_default(),
            self.table,
            if t.local { " (local)" } else { " (remote)" }
        )
    }
}
