//! The one page helper: every paged read (Query, Scan, ExecuteStatement, ListTables) goes
//! through `Pages`, which owns the cursor (`ExclusiveStartKey` / `LastEvaluatedKey`, or
//! `NextToken`), sends each page through the run's `Backoff` with the SDK's own retries off
//! (so every retry is paced, counted on the `Db` and shown under `-v`), stops at once on
//! Ctrl-C, and can be bounded to a number of pages. Nothing else in ddb names a page cursor.
//! `Pages::merged` reads several at once (a parallel Scan's segments), each in its own task,
//! handing their pages on through a small bounded channel.
//!
//! ```ignore
//! let mut pages = Pages::new(db, db.dynamodb.query().table_name(&db.table)/* … */);
//! while let Some(page) = pages.next().await? {
//!     for item in page.items() { /* … */ }
//! }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use anyhow::Result;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::execute_statement::builders::ExecuteStatementFluentBuilder;
use aws_sdk_dynamodb::operation::execute_statement::{
    ExecuteStatementError, ExecuteStatementOutput,
};
use aws_sdk_dynamodb::operation::list_tables::builders::ListTablesFluentBuilder;
use aws_sdk_dynamodb::operation::list_tables::{ListTablesError, ListTablesOutput};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::query::{QueryError, QueryOutput};
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::operation::scan::{ScanError, ScanOutput};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use crate::aws::calls::{Call, Resource};
use crate::aws::classify::{stop_error, Origin, Subject};
use crate::aws::db::Db;
use crate::aws::retry::{sdk_retries_off, Stop};
use crate::errors::Failure;

/// Pages of a `Pages::merged` fetched at once (requests in flight, or pages waiting for the
/// channel). DynamoDB Local's cost per item falls with the segments (fewer items per segment),
/// not with requests in flight: 64 segments with 16 in flight read as fast as 64 in flight
/// (docs/benchmarks.md), and each page (up to 1 MB) in hand is memory.
pub const IN_FLIGHT: usize = 16;
/// Pages waiting in `Pages::merged`'s channel for the consumer.
const WAITING: usize = 4;

/// Where a Query or Scan page starts (DynamoDB's LastEvaluatedKey of the previous page).
pub type Key = HashMap<String, AttributeValue>;

/// One kind of paged request: how to send a page from a cursor, and the cursor of the next.
/// Implemented for the SDK's fluent builders, so a caller builds its request as usual and
/// never touches the cursor.
pub trait PagedRead: Clone + Send + Sync {
    type Page: Send;
    type Error: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static;
    type Cursor: Clone + Send + Sync;
    /// The API operation, for errors and `--verbose`.
    const OP: &'static str;

    /// Send one page starting at `start` (`None`: the first page), without SDK retries.
    fn send_page(
        self,
        start: Option<Self::Cursor>,
    ) -> impl Future<Output = Result<Self::Page, SdkError<Self::Error, HttpResponse>>> + Send;

    /// Where the next page starts; `None` when this was the last.
    fn next_cursor(page: &Self::Page) -> Option<Self::Cursor>;
}

impl PagedRead for QueryFluentBuilder {
    type Page = QueryOutput;
    type Error = QueryError;
    type Cursor = Key;
    const OP: &'static str = "Query";

    fn send_page(
        self,
        start: Option<Key>,
    ) -> impl Future<Output = Result<QueryOutput, SdkError<QueryError, HttpResponse>>> + Send {
        self.set_exclusive_start_key(start)
            .customize()
            .config_override(sdk_retries_off())
            .send()
    }

    fn next_cursor(page: &QueryOutput) -> Option<Key> {
        page.last_evaluated_key.clone().filter(|k| !k.is_empty())
    }
}

impl PagedRead for ScanFluentBuilder {
    type Page = ScanOutput;
    type Error = ScanError;
    type Cursor = Key;
    const OP: &'static str = "Scan";

    fn send_page(
        self,
        start: Option<Key>,
    ) -> impl Future<Output = Result<ScanOutput, SdkError<ScanError, HttpResponse>>> + Send {
        self.set_exclusive_start_key(start)
            .customize()
            .config_override(sdk_retries_off())
            .send()
    }

    fn next_cursor(page: &ScanOutput) -> Option<Key> {
        page.last_evaluated_key.clone().filter(|k| !k.is_empty())
    }
}

impl PagedRead for ExecuteStatementFluentBuilder {
    type Page = ExecuteStatementOutput;
    type Error = ExecuteStatementError;
    type Cursor = String;
    const OP: &'static str = "ExecuteStatement";

    fn send_page(
        self,
        start: Option<String>,
    ) -> impl Future<
        Output = Result<ExecuteStatementOutput, SdkError<ExecuteStatementError, HttpResponse>>,
    > + Send {
        self.set_next_token(start)
            .customize()
            .config_override(sdk_retries_off())
            .send()
    }

    fn next_cursor(page: &ExecuteStatementOutput) -> Option<String> {
        page.next_token.clone()
    }
}

impl PagedRead for ListTablesFluentBuilder {
    type Page = ListTablesOutput;
    type Error = ListTablesError;
    type Cursor = String;
    const OP: &'static str = "ListTables";

    fn send_page(
        self,
        start: Option<String>,
    ) -> impl Future<Output = Result<ListTablesOutput, SdkError<ListTablesError, HttpResponse>>> + Send
    {
        self.set_exclusive_start_table_name(start)
            .customize()
            .config_override(sdk_retries_off())
            .send()
    }

    fn next_cursor(page: &ListTablesOutput) -> Option<String> {
        page.last_evaluated_table_name.clone()
    }
}

/// What an error of a paged read is about, for its one line.
#[derive(Clone, Debug)]
enum About {
    Table,
    Index(String),
    Statement,
    Nothing,
}

/// The pages of one read, fetched one at a time by `next`: bounded by `max_pages`, each page
/// retried through the run's `Backoff`, ended by Ctrl-C.
pub struct Pages<R: PagedRead> {
    db: Db,
    read: Option<R>,
    cursor: Option<R::Cursor>,
    started: bool,
    pages: usize,
    max_pages: Option<usize>,
    retries: u32,
    about: About,
    origin: Origin,
}

impl<R: PagedRead> Pages<R> {
    /// The pages of `read`, from its first page. Errors name `db`'s table.
    pub fn new(db: &Db, read: R) -> Pages<R> {
        Pages {
            db: db.clone(),
            read: Some(read),
            cursor: None,
            started: false,
            pages: 0,
            max_pages: None,
            retries: 0,
            about: About::Table,
            origin: Origin::Ddb,
        }
    }

    /// Continue from `cursor` (a page read elsewhere, or a checkpoint) instead of the start.
    pub fn starting_at(mut self, cursor: Option<R::Cursor>) -> Pages<R> {
        self.started = cursor.is_some();
        self.cursor = cursor;
        self
    }

    /// Stop after `n` pages; `more()` then says whether the read had more.
    pub fn max_pages(mut self, n: usize) -> Pages<R> {
        self.max_pages = Some(n);
        self
    }

    /// Errors name this index of the table.
    pub fn on_index(mut self, index: &str) -> Pages<R> {
        self.about = About::Index(index.to_string());
        self
    }

    /// The read is `call` of the function's catalogue (`aws::calls`), whose permission the
    /// template grants; errors name the index it reads, if any.
    pub fn for_call(self, call: Call) -> Pages<R> {
        let entry = call.entry();
        debug_assert_eq!(entry.api, R::OP, "{call:?} is not a {}", R::OP);
        match entry.needs.first().map(|n| n.resource) {
            Some(Resource::Index(index)) => self.on_index(index),
            _ => self,
        }
    }

    /// Errors name no table (ListTables).
    pub fn on_nothing(mut self) -> Pages<R> {
        self.about = About::Nothing;
        self
    }

    /// Errors are about a PartiQL statement, which names its own table: a missing one asks
    /// whether the statement's table is at the target.
    pub fn on_statement(mut self) -> Pages<R> {
        self.about = About::Statement;
        self
    }

    /// The request was built from what the user typed (a filter, a statement): DynamoDB's
    /// ValidationException is then invalid input (exit 8), not a failure of ddb.
    pub fn from_user_input(mut self) -> Pages<R> {
        self.origin = Origin::User;
        self
    }

    /// Change the request for the pages still to come (a lower Limit, say).
    pub fn update(&mut self, change: impl FnOnce(R) -> R) {
        self.read = self.read.take().map(change);
    }

    /// The next page; `None` when the read is done or `max_pages` were read.
    pub async fn next(&mut self) -> Result<Option<R::Page>> {
        if self.started && self.cursor.is_none() {
            return Ok(None);
        }
        if self.max_pages.is_some_and(|max| self.pages >= max) {
            return Ok(None);
        }
        if self.db.cancelled() {
            return Err(Failure::Interrupted(format!("interrupted during {}", R::OP)).into());
        }
        let Some(read) = self.read.clone() else {
            return Ok(None);
        };
        let start = self.cursor.clone();
        let mut retries = 0;
        let sent = self
            .db
            .backoff
            .call(&self.db.cancel, &mut retries, || {
                read.clone().send_page(start.clone())
            })
            .await;
        self.retries += retries;
        self.db.count_retries(retries);
        let page = sent.map_err(|stop| self.error(stop))?;
        self.started = true;
        self.pages += 1;
        self.cursor = R::next_cursor(&page);
        Ok(Some(page))
    }

    /// The read stopped (at `max_pages`) before its last page.
    pub fn more(&self) -> bool {
        self.cursor.is_some()
    }

    /// Where the next page would start (for a checkpoint, or `--explain`-style reporting).
    pub fn cursor(&self) -> Option<&R::Cursor> {
        self.cursor.as_ref()
    }

    /// Pages read so far.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// Attempts repeated so far over every page.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    fn error(&self, stop: Stop<SdkError<R::Error, HttpResponse>>) -> anyhow::Error {
        let subject = match &self.about {
            About::Table => Subject::Table(&self.db.table),
            About::Index(i) => Subject::Index(&self.db.table, i),
            About::Statement => Subject::Statement,
            About::Nothing => Subject::None,
        };
        stop_error(&self.db.target, R::OP, subject, self.origin, stop)
    }
}

impl<R> Pages<R>
where
    R: PagedRead + 'static,
    R::Page: 'static,
    R::Cursor: 'static,
{
    /// Read several page sequences at once (a parallel Scan's segments), each in its own task,
    /// their pages handed on as they arrive: see `Merged`.
    pub fn merged(all: Vec<Pages<R>>) -> Merged<R::Page> {
        // At most IN_FLIGHT pages fetched or waiting to be handed on at once (a read holds its
        // permit from its request until its page is in the channel), and WAITING in the
        // channel: memory is bounded by those pages, not by the reads nor the table.
        let (tx, rx) = mpsc::channel(WAITING);
        let permits = Arc::new(Semaphore::new(IN_FLIGHT));
        let mut tasks = JoinSet::new();
        for pages in all {
            tasks.spawn(pages.pump(tx.clone(), permits.clone()));
        }
        Merged { rx, _tasks: tasks }
    }

    /// Send every page (or the error that ended the read) to `tx` until the read is done or
    /// nobody listens any more; each page fetched and handed on under one of `permits`.
    async fn pump(mut self, tx: mpsc::Sender<Result<R::Page>>, permits: Arc<Semaphore>) {
        loop {
            let Ok(_permit) = permits.acquire().await else {
                return;
            };
            let next = self.next().await;
            let last = !matches!(next, Ok(Some(_)));
            let Some(sent) = next.transpose() else {
                return;
            };
            if tx.send(sent).await.is_err() || last {
                return;
            }
        }
    }
}

/// The pages of several reads, in the order they arrive, through a small bounded channel: a
/// slow consumer slows the reads instead of filling memory. Dropping it stops the reads.
pub struct Merged<P> {
    rx: mpsc::Receiver<Result<P>>,
    _tasks: JoinSet<()>,
}

impl<P> Merged<P> {
    /// The next page of any read; `None` once every read is done. An error ends one read; the
    /// caller decides whether the others matter.
    pub async fn next(&mut self) -> Result<Option<P>> {
        self.rx.recv().await.transpose()
    }
}
