//! A small fault-injecting HTTP/1.1 proxy to put in front of DynamoDB Local.
//!
//! DynamoDB Local never throttles, never returns UnprocessedItems and never
//! reports transaction conflicts, so the retry paths of `ddb` cannot be
//! exercised against it directly. Tests start a `FaultProxy`, point the CLI at
//! `proxy.endpoint()`, and let the proxy answer a deterministic share of the
//! requests with the same errors real DynamoDB would send.
//!
//! In recording mode (`FaultProxy::recording`, `Proxied::recording`) it also keeps every
//! request it is sent, operation and body, in arrival order: the calls a run of `ddb` made,
//! to check against the permissions it will have on AWS.
//!
//! The proxy only understands what the AWS SDK sends: HTTP/1.1 requests with
//! Content-Length bodies (chunked bodies are tolerated), reused keep-alive
//! connections. Every forwarded request opens a fresh upstream connection with
//! `Connection: close`, which keeps the upstream side trivially correct.

#![allow(dead_code)] // each test binary uses a different subset

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const TYPE_PREFIX: &str = "com.amazonaws.dynamodb.v20120810#";
/// Guards against a runaway header section; SDK requests are a few hundred bytes.
const MAX_HEAD_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Share of matching requests answered 400 ProvisionedThroughputExceededException.
    pub throttle: f64,
    /// Share answered 500 InternalServerError / 503 ServiceUnavailable, alternating.
    pub server_error: f64,
    /// Share where the request is read and the socket closed without an answer.
    pub drop_connection: f64,
    /// Share of BatchWriteItem calls where roughly half of each table's writes are
    /// withheld and reported back as UnprocessedItems.
    pub unprocessed: f64,
    /// Share of TransactWriteItems answered with TransactionCanceledException
    /// (one TransactionConflict reason per TransactItem).
    pub transaction_conflict: f64,
    /// Share where the request is forwarded (so it takes effect upstream) and then the
    /// connection is closed without passing the response on: a lost response.
    pub drop_response: f64,
    /// Share of GetRecords calls answered at once with no records and the same iterator as
    /// NextShardIterator, as real DynamoDB Streams may do before a shard's records.
    pub empty_records: f64,
    /// Share of GetRecords calls answered 400 ExpiredIteratorException.
    pub expired_iterator: f64,
    /// Share of GetShardIterator and GetRecords calls answered 400 TrimmedDataAccessException.
    pub trimmed: f64,
    /// Share answered 400 ValidationException, which no client retries: a write refused for
    /// good, like one sent while DynamoDB Local is down (connection refused).
    pub reject: f64,
    /// Operation names (the part after '.' in X-Amz-Target) that may get faults;
    /// empty means every operation.
    pub targets: Vec<String>,
    /// Seed of the splitmix64 generator; equal seeds give equal fault sequences
    /// for equal request sequences.
    pub seed: u64,
    /// Never inject more than this many faults in a row (0 = unlimited), so a
    /// client with bounded retries is guaranteed to get through eventually.
    pub max_consecutive: u32,
}

impl Faults {
    /// No faults yet, for the operations `targets` only (set the shares on top of it).
    pub fn on(targets: &[&str]) -> Faults {
        Faults {
            targets: targets.iter().map(|t| t.to_string()).collect(),
            ..Faults::default()
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    pub requests: u64,
    pub forwarded: u64,
    pub throttled: u64,
    pub server_errors: u64,
    pub dropped: u64,
    pub unprocessed_requests: u64,
    pub unprocessed_items: u64,
    pub conflicts: u64,
    pub responses_dropped: u64,
    pub empty_records: u64,
    pub expired_iterators: u64,
    pub trimmed: u64,
    pub rejected: u64,
}

/// One request the proxy was sent, in recording mode.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The operation (the part of X-Amz-Target after the '.').
    pub op: String,
    /// The request's JSON body (`null` if it was not JSON).
    pub body: Value,
}

pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    connections: Arc<AtomicU64>,
    // Owned runtime: dropping it (in Drop) cancels the accept loop and every
    // connection task, which closes all sockets.
    runtime: Option<tokio::runtime::Runtime>,
}

impl FaultProxy {
    pub fn start(upstream: &str, faults: Faults) -> FaultProxy {
        let upstream = upstream_authority(upstream);
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("FaultProxy: cannot bind 127.0.0.1:0: {e}"));
        std_listener
            .set_nonblocking(true)
            .expect("FaultProxy: set_nonblocking");
        let addr = std_listener.local_addr().expect("FaultProxy: local_addr");

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fault-proxy")
            .enable_all()
            .build()
            .expect("FaultProxy: cannot build tokio runtime");
        let listener = {
            let _guard = runtime.enter(); // from_std needs a reactor in scope
            TcpListener::from_std(std_listener).expect("FaultProxy: register listener")
        };

        let state = Arc::new(Mutex::new(State {
            rng: faults.seed,
            faults,
            streak: 0,
            stats: Stats::default(),
            recorded: None,
        }));
        let connections = Arc::new(AtomicU64::new(0));
        let ctx = Arc::new(Ctx {
            upstream,
            state: state.clone(),
        });
        let conns = connections.clone();
        runtime.spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    // e.g. EMFILE: back off instead of spinning on the error.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                conns.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(serve_connection(socket, ctx.clone()));
            }
        });
        FaultProxy {
            addr,
            state,
            connections,
            runtime: Some(runtime),
        }
    }

    /// A proxy that injects nothing and records every request.
    pub fn recording(upstream: &str) -> FaultProxy {
        let proxy = FaultProxy::start(upstream, Faults::default());
        lock(&proxy.state).recorded = Some(Vec::new());
        proxy
    }

    /// The requests recorded since the last call, in arrival order (recording mode only).
    pub fn take_recorded(&self) -> Vec<Recorded> {
        let mut state = lock(&self.state);
        let recorded = state.recorded.as_mut().expect("a recording proxy");
        std::mem::take(recorded)
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stats(&self) -> Stats {
        lock(&self.state).stats.clone()
    }

    /// Client connections accepted so far (lets tests check keep-alive reuse).
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // shutdown_background never blocks, so this is safe even when the proxy
        // is dropped inside another runtime (e.g. a #[tokio::test]).
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// The fault-proxy fixture: a proxy in front of one test's DynamoDB Local (`env.proxy(faults)`),
/// with the binary aimed through it at the test's table.
pub struct Proxied<'a> {
    env: &'a super::TestEnv,
    proxy: FaultProxy,
}

impl<'a> Proxied<'a> {
    pub fn start(env: &'a super::TestEnv, faults: Faults) -> Proxied<'a> {
        let proxy = FaultProxy::start(&env.endpoint, faults);
        Proxied { env, proxy }
    }

    /// A recording proxy in front of `env`'s DynamoDB Local (see `FaultProxy::recording`).
    pub fn recording(env: &'a super::TestEnv) -> Proxied<'a> {
        let proxy = FaultProxy::recording(&env.endpoint);
        Proxied { env, proxy }
    }

    pub fn take_recorded(&self) -> Vec<Recorded> {
        self.proxy.take_recorded()
    }

    /// The binary, aimed at the proxy and the env's table.
    pub fn ddb(&self) -> std::process::Command {
        self.env.ddb_via(&self.endpoint())
    }

    pub fn endpoint(&self) -> String {
        self.proxy.endpoint()
    }

    pub fn stats(&self) -> Stats {
        self.proxy.stats()
    }
}

/// "http://host:port/" -> "host:port". Only plain HTTP makes sense for DynamoDB Local.
fn upstream_authority(url: &str) -> String {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("FaultProxy: upstream must be http://host:port, got {url:?}"));
    rest.split('/').next().unwrap_or(rest).to_string()
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // A panicking test thread must not take the proxy down with it.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------- decisions

struct State {
    faults: Faults,
    rng: u64,
    streak: u32,
    stats: Stats,
    /// Every request, when recording.
    recorded: Option<Vec<Recorded>>,
}

impl State {
    /// splitmix64: tiny, good enough, and needs no crate.
    fn next_f64(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Zero probabilities consume no randomness, so enabling one fault kind does
    /// not reshuffle the sequence of another that is switched off.
    fn roll(&mut self, p: f64) -> bool {
        p > 0.0 && self.next_f64() < p
    }
}

enum Action {
    Forward,
    Drop,
    DropResponse,
    EmptyRecords,
    Expired,
    Trimmed,
    Reject,
    Throttle,
    ServerError(u16),
    Unprocessed(BatchSplit),
    Conflict(usize),
}

/// Decides the fate of one request. Everything happens under one lock so the
/// decision sequence depends only on the order requests arrive in.
fn decide(
    state: &Mutex<State>,
    op: &str,
    batch: Option<BatchSplit>,
    txn_items: Option<usize>,
) -> Action {
    let mut st = lock(state);
    st.stats.requests += 1;
    let f = st.faults.clone();
    if !f.targets.is_empty() && !f.targets.iter().any(|t| t == op) {
        return Action::Forward;
    }
    if f.max_consecutive > 0 && st.streak >= f.max_consecutive {
        st.streak = 0;
        return Action::Forward;
    }
    let action = if st.roll(f.drop_connection) {
        st.stats.dropped += 1;
        Action::Drop
    } else if st.roll(f.drop_response) {
        st.stats.responses_dropped += 1;
        Action::DropResponse
    } else if op == "GetRecords" && st.roll(f.empty_records) {
        st.stats.empty_records += 1;
        Action::EmptyRecords
    } else if op == "GetRecords" && st.roll(f.expired_iterator) {
        st.stats.expired_iterators += 1;
        Action::Expired
    } else if matches!(op, "GetRecords" | "GetShardIterator") && st.roll(f.trimmed) {
        st.stats.trimmed += 1;
        Action::Trimmed
    } else if st.roll(f.reject) {
        st.stats.rejected += 1;
        Action::Reject
    } else if st.roll(f.throttle) {
        st.stats.throttled += 1;
        Action::Throttle
    } else if st.roll(f.server_error) {
        // Low bit rather than is_multiple_of: the crate's MSRV is 1.80.
        let status = if st.stats.server_errors & 1 == 0 {
            500
        } else {
            503
        };
        st.stats.server_errors += 1;
        Action::ServerError(status)
    } else {
        // Operation-specific faults; batch / txn_items are only Some for their op.
        match (batch, txn_items) {
            (Some(split), _) if st.roll(f.unprocessed) => {
                st.stats.unprocessed_requests += 1;
                st.stats.unprocessed_items += split.withheld_count;
                Action::Unprocessed(split)
            }
            (_, Some(n)) if st.roll(f.transaction_conflict) => {
                st.stats.conflicts += 1;
                Action::Conflict(n)
            }
            _ => Action::Forward,
        }
    };
    st.streak = if matches!(action, Action::Forward) {
        0
    } else {
        st.streak + 1
    };
    action
}

/// A BatchWriteItem body cut in two: what still goes upstream, and what is
/// reported back as unprocessed.
struct BatchSplit {
    /// None when every write was withheld (e.g. a single-item batch): DynamoDB
    /// rejects an empty RequestItems, so nothing is forwarded at all.
    forward_body: Option<Vec<u8>>,
    withheld: Map<String, Value>,
    withheld_count: u64,
}

/// Keeps the first half (rounded down) of each table's writes, so every
/// non-empty table withholds at least one. None if the body is not a usable batch.
fn split_batch(body: &[u8]) -> Option<BatchSplit> {
    let mut req: Value = serde_json::from_slice(body).ok()?;
    let tables = req.get_mut("RequestItems")?.as_object_mut()?;
    let mut withheld = Map::new();
    let mut withheld_count = 0u64;
    for (table, writes) in tables.iter_mut() {
        let writes = writes.as_array_mut()?;
        if writes.is_empty() {
            continue;
        }
        let rest = writes.split_off(writes.len() / 2);
        withheld_count += rest.len() as u64;
        withheld.insert(table.clone(), Value::Array(rest));
    }
    if withheld_count == 0 {
        return None;
    }
    tables.retain(|_, w| w.as_array().is_some_and(|a| !a.is_empty()));
    let nothing_left = tables.is_empty();
    let forward_body = if nothing_left {
        None
    } else {
        Some(serde_json::to_vec(&req).ok()?)
    };
    Some(BatchSplit {
        forward_body,
        withheld,
        withheld_count,
    })
}

fn transact_item_count(body: &[u8]) -> Option<usize> {
    let req: Value = serde_json::from_slice(body).ok()?;
    let n = req.get("TransactItems")?.as_array()?.len();
    (n > 0).then_some(n)
}

// ---------------------------------------------------------------- HTTP plumbing

struct Ctx {
    upstream: String,
    state: Arc<Mutex<State>>,
}

/// One HTTP message: start line, headers in arrival order, decoded body.
struct Message {
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Serves requests on one client connection until it closes (keep-alive loop).
async fn serve_connection(socket: TcpStream, ctx: Arc<Ctx>) {
    let _ = socket.set_nodelay(true);
    let (reader, mut writer) = socket.into_split();
    let mut reader = BufReader::new(reader);
    while let Ok(Some(req)) = read_message(&mut reader, false).await {
        let op = req
            .header("x-amz-target")
            .and_then(|t| t.rsplit_once('.'))
            .map_or(String::new(), |(_, op)| op.to_string());
        if let Some(recorded) = lock(&ctx.state).recorded.as_mut() {
            recorded.push(Recorded {
                op: op.clone(),
                body: serde_json::from_slice(&req.body).unwrap_or(Value::Null),
            });
        }
        let batch = (op == "BatchWriteItem")
            .then(|| split_batch(&req.body))
            .flatten();
        let txn_items = (op == "TransactWriteItems")
            .then(|| transact_item_count(&req.body))
            .flatten();

        let (status, headers, body) = match decide(&ctx.state, &op, batch, txn_items) {
            // Returning drops both socket halves: the client sees the connection
            // close with no response, like a network failure mid-request.
            Action::Drop => return,
            Action::DropResponse => {
                // The write happens upstream; the client never hears of it.
                let _ = forward(&ctx, &req, &req.body).await;
                return;
            }
            Action::EmptyRecords => {
                let iterator = serde_json::from_slice::<Value>(&req.body)
                    .ok()
                    .and_then(|b| b.get("ShardIterator").cloned())
                    .unwrap_or(Value::Null);
                reply(200, json!({"Records": [], "NextShardIterator": iterator}))
            }
            Action::Expired => client_error("ExpiredIteratorException"),
            Action::Trimmed => client_error("TrimmedDataAccessException"),
            Action::Reject => client_error("ValidationException"),
            Action::Throttle => client_error("ProvisionedThroughputExceededException"),
            Action::ServerError(500) => {
                aws_error(500, "InternalServerError", "Internal server error")
            }
            Action::ServerError(status) => {
                aws_error(status, "ServiceUnavailable", "Service unavailable")
            }
            Action::Conflict(n) => conflict_reply(n),
            Action::Unprocessed(split) => match split.forward_body {
                None => reply(200, json!({"UnprocessedItems": split.withheld})),
                Some(body) => {
                    let (status, mut headers, body) = forward(&ctx, &req, &body).await;
                    match merge_unprocessed(status, &body, split.withheld) {
                        Some(rewritten) => {
                            // The checksum covered the original body; the SDK would reject it.
                            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("x-amz-crc32"));
                            (status, headers, rewritten)
                        }
                        None => (status, headers, body), // upstream error: pass it through
                    }
                }
            },
            Action::Forward => forward(&ctx, &req, &req.body).await,
        };

        let close = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let connection = if close { "close" } else { "keep-alive" };
        let head = head(
            &format!("HTTP/1.1 {status} {}", reason(status)),
            &headers,
            body.len(),
            connection,
        );
        let sent = async {
            writer.write_all(head.as_bytes()).await?;
            writer.write_all(&body).await?;
            writer.flush().await
        };
        if sent.await.is_err() || close {
            return;
        }
    }
}

/// Puts the withheld writes into the real response's UnprocessedItems (ahead of
/// anything upstream itself left unprocessed). None if the response is not a 200 JSON object.
fn merge_unprocessed(status: u16, body: &[u8], withheld: Map<String, Value>) -> Option<Vec<u8>> {
    if status != 200 {
        return None;
    }
    let mut resp: Value = serde_json::from_slice(body).ok()?;
    let obj = resp.as_object_mut()?;
    let slot = obj.entry("UnprocessedItems").or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    let unprocessed = slot.as_object_mut()?;
    for (table, writes) in withheld {
        let Value::Array(mut writes) = writes else {
            continue;
        };
        if let Some(Value::Array(existing)) = unprocessed.remove(&table) {
            writes.extend(existing);
        }
        unprocessed.insert(table, Value::Array(writes));
    }
    serde_json::to_vec(&resp).ok()
}

type Reply = (u16, Vec<(String, String)>, Vec<u8>);

/// A JSON reply shaped like DynamoDB's own (the SDK keys off Content-Type and __type).
fn reply(status: u16, body: Value) -> Reply {
    let headers = vec![
        ("Content-Type".into(), "application/x-amz-json-1.0".into()),
        ("x-amzn-RequestId".into(), "FAULTPROXY".into()),
    ];
    (status, headers, body.to_string().into_bytes())
}

fn aws_error(status: u16, kind: &str, message: &str) -> Reply {
    let message = format!("{message} (injected by FaultProxy)");
    reply(
        status,
        json!({"__type": format!("{TYPE_PREFIX}{kind}"), "message": message}),
    )
}

/// A 400 error of `kind` with the message DynamoDB sends with it (ValidationException stands
/// for a write refused for good).
fn client_error(kind: &str) -> Reply {
    let message = match kind {
        "ExpiredIteratorException" => {
            "Iterator expired. The iterator was created over 15 minutes ago."
        }
        "TrimmedDataAccessException" => {
            "The operation attempted to read past the oldest stream record in a shard."
        }
        "ProvisionedThroughputExceededException" => {
            "The level of configured provisioned throughput for the table was exceeded."
        }
        "ValidationException" => "The request was refused for good.",
        other => unreachable!("no injected 400 error is called {other}"),
    };
    aws_error(400, kind, message)
}

/// TransactionCanceledException as DynamoDB sends it: capitalised "Message" and
/// one CancellationReason per TransactItem, in order.
fn conflict_reply(n: usize) -> Reply {
    let codes = vec!["TransactionConflict"; n].join(", ");
    let reason =
        json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"});
    let body = json!({
        "__type": format!("{TYPE_PREFIX}TransactionCanceledException"),
        "Message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]"),
        "CancellationReasons": vec![reason; n],
    });
    reply(400, body)
}

/// Sends the request upstream on a fresh connection and returns its response.
/// Upstream failures become a 502 so the test sees something explicit.
async fn forward(ctx: &Ctx, req: &Message, body: &[u8]) -> Reply {
    lock(&ctx.state).stats.forwarded += 1;
    match round_trip(&ctx.upstream, req, body).await {
        Ok(resp) => {
            let status = resp
                .start
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(502);
            (status, resp.headers, resp.body)
        }
        Err(e) => {
            let message = format!("upstream {} failed: {e}", ctx.upstream);
            aws_error(502, "InternalServerError", &message)
        }
    }
}

async fn round_trip(upstream: &str, req: &Message, body: &[u8]) -> io::Result<Message> {
    let mut conn = TcpStream::connect(upstream).await?;
    let head = head(&req.start, &req.headers, body.len(), "close");
    conn.write_all(head.as_bytes()).await?;
    conn.write_all(body).await?;
    conn.flush().await?;
    let mut reader = BufReader::new(conn);
    read_message(&mut reader, true)
        .await?
        .ok_or_else(|| invalid("upstream closed without a response"))
}

/// Start line plus headers, with this hop's framing replaced by our own: the body
/// is always sent whole with Content-Length (we may have de-chunked or rewritten it).
fn head(start: &str, headers: &[(String, String)], body_len: usize, connection: &str) -> String {
    const HOP: [&str; 6] = [
        "connection",
        "keep-alive",
        "content-length",
        "transfer-encoding",
        "te",
        "upgrade",
    ];
    let mut head = format!("{start}\r\n");
    for (k, v) in headers
        .iter()
        .filter(|(k, _)| !HOP.iter().any(|h| k.eq_ignore_ascii_case(h)))
    {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {body_len}\r\nConnection: {connection}\r\n\r\n"
    ));
    head
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Reads one message. Ok(None) means the peer closed cleanly between messages.
/// A response without Content-Length or chunking runs to EOF (we asked upstream
/// for `Connection: close`); a request without either has no body.
async fn read_message<R: AsyncRead + Unpin>(
    r: &mut BufReader<R>,
    is_response: bool,
) -> io::Result<Option<Message>> {
    let mut start = String::new();
    loop {
        start.clear();
        if r.read_line(&mut start).await? == 0 {
            return Ok(None);
        }
        if !start.trim().is_empty() {
            break; // tolerate stray CRLFs between keep-alive requests
        }
    }
    let mut headers = Vec::new();
    let mut head_bytes = start.len();
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).await?;
        head_bytes += n;
        if n == 0 || head_bytes > MAX_HEAD_BYTES {
            return Err(invalid("truncated or oversized header"));
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut msg = Message {
        start: start.trim_end().to_string(),
        headers,
        body: Vec::new(),
    };
    let chunked = msg
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        msg.body = read_chunked(r).await?;
    } else if let Some(len) = msg.header("content-length") {
        let len: usize = len.parse().map_err(|_| invalid("bad Content-Length"))?;
        msg.body = vec![0; len];
        r.read_exact(&mut msg.body).await?;
    } else if is_response {
        r.read_to_end(&mut msg.body).await?;
    }
    Ok(Some(msg))
}

async fn read_chunked<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Err(invalid("chunked body: eof in chunk size"));
        }
        let size_hex = line.trim().split(';').next().unwrap_or("");
        let size =
            usize::from_str_radix(size_hex, 16).map_err(|_| invalid("chunked body: bad size"))?;
        if size == 0 {
            // Skip trailers up to the blank line that ends the message.
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..]).await?;
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf).await?;
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}
