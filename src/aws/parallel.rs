//! Parallel Scan for every command that reads a whole table (`scan`, `export`, `diff`): the one
//! rule for how many segments, and the pages of all segments through `Pages::merged`.
//!
//! DynamoDB Local does less work per item the more segments split the table (the engine's
//! parallel ceiling, `just bench`, part 25), so a local endpoint gets `LOCAL_SEGMENTS`, with
//! the pages in hand bounded by `pages::IN_FLIGHT` whatever the segments. On AWS more segments cost no extra capacity, but each
//! is one request in flight: one per 128 MiB of the table, up to 16.

use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::operation::scan::ScanOutput;

use crate::aws::db::Db;
use crate::aws::pages::{Merged, Pages};

/// Segments on a local endpoint. DynamoDB Local's CPU per item falls as the segments grow
/// (each holds fewer items): reading 100,000 items cost it 3.4 CPU-seconds with 8 segments, 2.2
/// with 16, 1.85 with 32 and 1.7 with 64 (docs/benchmarks.md), and the raw ceiling peaks at 64.
/// Memory is bounded by the pages in hand (`pages::IN_FLIGHT`), not by the segments.
pub const LOCAL_SEGMENTS: u32 = 64;
/// On a remote table, one segment per this many bytes of DescribeTable's TableSizeBytes...
pub const REMOTE_BYTES_PER_SEGMENT: i64 = 128 << 20;
/// ...up to this many (each segment is one request in flight).
pub const REMOTE_MAX_SEGMENTS: u32 = 16;
/// The most segments a command accepts.
pub const MAX_SEGMENTS: u32 = 64;

/// How many segments a whole-table read uses: `explicit` (`--segments`) wins; a bounded read
/// (`--limit`) is sequential (parallel segments would each read a page); a local endpoint gets
/// LOCAL_SEGMENTS; a remote table one per 128 MiB it reports (1 when smaller or unknown).
pub fn choose_segments(
    explicit: Option<u32>,
    limited: bool,
    local: bool,
    size_bytes: Option<i64>,
) -> u32 {
    match (explicit, limited, local) {
        (Some(n), _, _) => n,
        (None, true, _) => 1,
        (None, false, true) => LOCAL_SEGMENTS,
        (None, false, false) => {
            let size = size_bytes.unwrap_or(0).max(0);
            u32::try_from(size / REMOTE_BYTES_PER_SEGMENT)
                .unwrap_or(u32::MAX)
                .clamp(1, REMOTE_MAX_SEGMENTS)
        }
    }
}

/// Why a run uses the segments it does, for `--explain` and `-v`.
pub fn why(explicit: Option<u32>, limited: bool, local: bool) -> String {
    match (explicit, limited, local) {
        (Some(_), _, _) => "as --segments asked".to_string(),
        (None, true, _) => "sequential because of --limit".to_string(),
        (None, false, true) => {
            format!("{LOCAL_SEGMENTS} segments: the default on a local endpoint")
        }
        (None, false, false) => format!(
            "one segment per {} MiB of DescribeTable's TableSizeBytes, up to {REMOTE_MAX_SEGMENTS}",
            REMOTE_BYTES_PER_SEGMENT >> 20
        ),
    }
}

/// One read per segment of `scan` (a request without Segment/TotalSegments); with one
/// segment, the request as it is.
pub fn segment_reads(
    db: &Db,
    scan: &ScanFluentBuilder,
    segments: u32,
) -> Vec<Pages<ScanFluentBuilder>> {
    (0..segments)
        .map(|s| {
            let request = if segments > 1 {
                scan.clone()
                    .segment(s as i32)
                    .total_segments(segments as i32)
            } else {
                scan.clone()
            };
            Pages::new(db, request)
        })
        .collect()
}

/// Every page of every segment of `scan` (a request without Segment/TotalSegments), as they
/// arrive. Memory is bounded by the pages in hand (`pages::IN_FLIGHT`), not by the table.
pub fn scan_pages(db: &Db, scan: &ScanFluentBuilder, segments: u32) -> Merged<ScanOutput> {
    Pages::merged(segment_reads(db, scan, segments))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_the_documented_rule() {
        assert_eq!(choose_segments(Some(1), false, true, None), 1);
        assert_eq!(choose_segments(Some(7), true, false, Some(1 << 40)), 7);
        assert_eq!(choose_segments(None, true, true, None), 1);
        assert_eq!(choose_segments(None, false, true, None), LOCAL_SEGMENTS);
        assert_eq!(choose_segments(None, false, false, None), 1);
        assert_eq!(choose_segments(None, false, false, Some(100 << 20)), 1);
        assert_eq!(choose_segments(None, false, false, Some(512 << 20)), 4);
        assert_eq!(
            choose_segments(None, false, false, Some(1 << 40)),
            REMOTE_MAX_SEGMENTS
        );
    }
}
