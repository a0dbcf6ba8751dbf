//! The engine's ceiling for the seed benchmark: the fastest minimal loader for the same items
//! `ddb seed --synthetic` writes. Every request is built before the clock starts, then sent as
//! BatchWriteItem calls with a fixed number in flight; no progress, no retry bookkeeping.
//!
//! cargo run --release --example ceiling -- ENDPOINT TABLE MESSAGES GROUPS CONCURRENCY
//! Prints {"items", "elapsed_ms", "items_per_sec"} on stdout.

use std::time::Instant;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::WriteRequest;
use ddb::model::synthetic::Spec;
use ddb::transfer::write::{put, BATCH_SIZE};
use futures::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, table, messages, groups, concurrency] = args.as_slice() else {
        return Err("usage: ceiling ENDPOINT TABLE MESSAGES GROUPS CONCURRENCY".into());
    };
    let concurrency: usize = concurrency.parse()?;
    let spec = Spec::new(messages.parse()?, Some(groups.parse()?), None, 1);
    spec.validate()?;

    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("local", "local", None, None, "ceiling"))
            .build(),
    );
    let mut batches: Vec<Vec<WriteRequest>> = Vec::new();
    let mut requests = spec.items().map(put).peekable();
    while requests.peek().is_some() {
        batches.push(requests.by_ref().take(BATCH_SIZE).collect());
    }
    let items: usize = batches.iter().map(Vec::len).sum();

    let start = Instant::now();
    let mut sends = futures::stream::iter(batches)
        .map(|mut batch| {
            let client = &client;
            let table = table.as_str();
            async move {
                // DynamoDB Local does not return UnprocessedItems; re-send if it ever does.
                while !batch.is_empty() {
                    let out = client
                        .batch_write_item()
                        .request_items(table, batch)
                        .send()
                        .await?;
                    batch = out
                        .unprocessed_items
                        .and_then(|mut m| m.remove(table))
                        .unwrap_or_default();
                }
                Ok::<(), aws_sdk_dynamodb::Error>(())
            }
        })
        .buffer_unordered(concurrency);
    while let Some(r) = sends.next().await {
        r?;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"items\": {items}, \"elapsed_ms\": {}, \"items_per_sec\": {:.1}}}",
        (secs * 1000.0) as u64,
        items as f64 / secs
    );
    Ok(())
}
