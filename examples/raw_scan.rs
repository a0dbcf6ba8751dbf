//! The engine's ceiling for the scan benchmark: a parallel Scan with nothing but HTTP. One
//! keep-alive connection per segment sends Scan requests by hand (no SDK, no signing: DynamoDB
//! Local does not check signatures), counts the items of each page without building them, and
//! follows LastEvaluatedKey. What ddb's own scans are measured against (scripts/bench/25-scan.sh).
//!
//! cargo run --release --example raw_scan -- ENDPOINT TABLE SEGMENTS [LIMIT [IN_FLIGHT]]
//! (LIMIT: items per page, as Scan's Limit, 0 for none; IN_FLIGHT: at most this many requests
//! at once, default one per segment.) Prints {"segments", "items", "elapsed_ms",
//! "items_per_sec"} on stdout.

use std::sync::Arc;
use std::time::Instant;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The parts of a Scan answer the ceiling needs; the items are skipped unparsed.
#[derive(Deserialize)]
struct Page {
    #[serde(rename = "Count")]
    count: u64,
    #[serde(rename = "LastEvaluatedKey")]
    last_evaluated_key: Option<Value>,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (endpoint, table, segments, limit, in_flight) = match args.as_slice() {
        [e, t, s] => (e, t, s, "0", None),
        [e, t, s, l] => (e, t, s, l.as_str(), None),
        [e, t, s, l, f] => (e, t, s, l.as_str(), Some(f.parse::<usize>()?)),
        _ => return Err("usage: raw_scan ENDPOINT TABLE SEGMENTS [LIMIT [IN_FLIGHT]]".into()),
    };
    let segments: u32 = segments.parse()?;
    let limit = Some(limit.parse::<u32>()?).filter(|l| *l > 0);
    let permits = Arc::new(Semaphore::new(in_flight.unwrap_or(segments as usize)));
    let host = endpoint
        .strip_prefix("http://")
        .ok_or("ENDPOINT must be http://HOST:PORT")?
        .trim_end_matches('/')
        .to_string();
    let start = Instant::now();
    let tasks: Vec<_> = (0..segments)
        .map(|s| {
            tokio::spawn(segment_pages(
                host.clone(),
                table.clone(),
                (s, segments),
                limit,
                permits.clone(),
            ))
        })
        .collect();
    let mut items = 0;
    for task in tasks {
        items += task.await??;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"segments\": {segments}, \"items\": {items}, \"elapsed_ms\": {}, \"items_per_sec\": {:.1}}}",
        (secs * 1000.0) as u64,
        items as f64 / secs
    );
    Ok(())
}

/// Every page of one segment over one connection; the number of items it held.
async fn segment_pages(
    host: String,
    table: String,
    (segment, total): (u32, u32),
    limit: Option<u32>,
    permits: Arc<Semaphore>,
) -> Result<u64, Error> {
    let mut conn = BufReader::new(TcpStream::connect(&host).await?);
    let mut start: Option<Value> = None;
    let mut items = 0;
    loop {
        let mut request = json!({"TableName": table});
        if total > 1 {
            request["Segment"] = json!(segment);
            request["TotalSegments"] = json!(total);
        }
        if let Some(n) = limit {
            request["Limit"] = json!(n);
        }
        if let Some(key) = start.take() {
            request["ExclusiveStartKey"] = key;
        }
        let body = serde_json::to_vec(&request)?;
        let head = format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.0\r\n\
             X-Amz-Target: DynamoDB_20120810.Scan\r\nX-Amz-Date: 20260101T000000Z\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        let permit = permits.acquire().await?;
        let stream = conn.get_mut();
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        let (status, answer) = read_response(&mut conn).await?;
        drop(permit);
        if status != 200 {
            return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&answer)).into());
        }
        let page: Page = serde_json::from_slice(&answer)?;
        items += page.count;
        match page.last_evaluated_key {
            Some(key) if key.as_object().is_some_and(|k| !k.is_empty()) => start = Some(key),
            _ => return Ok(items),
        }
    }
}

/// One HTTP/1.1 response: its status and body (Content-Length or chunked).
async fn read_response(conn: &mut BufReader<TcpStream>) -> Result<(u16, Vec<u8>), Error> {
    let mut line = String::new();
    conn.read_line(&mut line).await?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .ok_or("no HTTP status line")?
        .parse()?;
    let mut length: Option<usize> = None;
    let mut chunked = false;
    loop {
        line.clear();
        conn.read_line(&mut line).await?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').ok_or("bad header")?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse()?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            conn.read_line(&mut line).await?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)?;
            let at = body.len();
            body.resize(at + size, 0);
            conn.read_exact(&mut body[at..]).await?;
            line.clear();
            conn.read_line(&mut line).await?; // the CRLF after the chunk
            if size == 0 {
                return Ok((status, body));
            }
        }
    }
    body.resize(length.ok_or("no Content-Length and not chunked")?, 0);
    conn.read_exact(&mut body).await?;
    Ok((status, body))
}
