//! `ddb export DIR`: the table in AWS's export-to-S3 layout (DYNAMODB_JSON), read with a
//! parallel Scan. Each segment streams its pages into its own gzip data file, so memory stays
//! flat in the table's size. The manifests are written last; an interrupted or failed export
//! removes its folder, so a folder with a `manifest-summary.json` is a complete export.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use chrono::{DateTime, SecondsFormat, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::Ctx;
use crate::aws::db::Db;
use crate::aws::pages::{Pages, IN_FLIGHT};
use crate::aws::parallel;
use crate::aws::table;
use crate::errors::Failure;
use crate::term::output;
use crate::term::plural;
use crate::transfer::data_file::{DataFileWriter, WrittenFile};
use crate::transfer::format::{self as format, new_export_id, write_with_checksums};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder to write the export under (created if missing); the export goes to
    /// DIR/AWSDynamoDB/<ExportId>/
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Parallel scan segments, one data file each (1-64) [default: as scan]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub segments: Option<u32>,
}

/// The end-of-run summary; other tools read these exact keys from `-o json`.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub export_dir: String,
    pub export_id: String,
    pub items: u64,
    pub files: usize,
    /// Bytes of the data files as written (gzip).
    pub bytes: u64,
    pub elapsed_ms: u64,
    pub items_per_sec: f64,
}

pub async fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let desc = table::describe_existing(&ctx.db).await?;
    let started = Utc::now();
    let start = Instant::now();
    let export_id = new_export_id(started.timestamp_millis().max(0) as u128);
    let key_prefix = format!("{}/{export_id}", format::EXPORTS_DIR);
    let export_dir = args.dir.join(&key_prefix);
    std::fs::create_dir_all(export_dir.join(format::DATA_DIR))
        .with_context(|| format!("creating {}", export_dir.display()))?;

    let local = ctx.db.target.local;
    let segments = parallel::choose_segments(args.segments, false, local, desc.table_size_bytes());
    if ctx.verbose > 0 {
        let why = parallel::why(args.segments, false, local);
        output::note(format!("ddb: exporting in {segments} segments ({why})"));
    }
    let bar = counter(ctx);
    let result = async {
        std::fs::write(export_dir.join(format::STARTED_FILE), b"")?;
        let files = scan_to_files(ctx, segments, &export_dir, &key_prefix, &bar).await;
        // Ctrl-C first: a segment stopped in its retry pause reports an error too, but the
        // export was interrupted, not failed.
        if ctx.db.cancelled() {
            return Err(Failure::Interrupted(format!(
                "interrupted: the export was not finished and {} was removed",
                export_dir.display()
            ))
            .into());
        }
        let files = files?;
        write_manifests(&desc, &export_dir, &key_prefix, &export_id, started, &files)?;
        Ok(files)
    }
    .await;
    bar.finish_and_clear();
    let files = match result {
        Ok(files) => files,
        Err(e) => {
            // Nothing half-written: a partial export is removed, not left to be imported.
            let _ = std::fs::remove_dir_all(&export_dir);
            // And AWSDynamoDB/ if this export was all it held.
            let _ = std::fs::remove_dir(args.dir.join(format::EXPORTS_DIR));
            return Err(e);
        }
    };
    let summary = summarize(&export_dir, &export_id, &files, start.elapsed());
    print_summary(ctx, &summary)
}

/// Items counted on stderr as they are written, when stderr is a terminal.
fn counter(ctx: &Ctx) -> ProgressBar {
    let target = if ctx.style.stderr_tty {
        ProgressDrawTarget::stderr_with_hz(10)
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} exporting '{}': {{human_pos}} items ({{per_sec}}, {{elapsed}})",
            ctx.db.table
        ))
        .expect("static template"),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// One task per segment, each writing its own data file; the first error stops them all.
async fn scan_to_files(
    ctx: &Ctx,
    segments: u32,
    export_dir: &Path,
    key_prefix: &str,
    bar: &ProgressBar,
) -> Result<Vec<WrittenFile>> {
    let mut tasks = JoinSet::new();
    // As `Pages::merged`: at most IN_FLIGHT pages fetched or being written at once.
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let scan = ctx.db.dynamodb.scan().table_name(&ctx.db.table);
    for pages in parallel::segment_reads(&ctx.db, &scan, segments) {
        let job = Segment {
            permits: permits.clone(),
            db: ctx.db.clone(),
            pages,
            writer: DataFileWriter::create(export_dir, key_prefix)
                .with_context(|| format!("creating a data file in {}", export_dir.display()))?,
            bar: bar.clone(),
        };
        tasks.spawn(job.run());
    }
    let mut files = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        // Dropping `tasks` on return aborts the other segments.
        files.push(joined.context("an export segment panicked")??);
    }
    files.sort_by(|a, b| a.entry.data_file_s3_key.cmp(&b.entry.data_file_s3_key));
    Ok(files)
}

struct Segment {
    db: Db,
    pages: Pages<ScanFluentBuilder>,
    writer: DataFileWriter,
    bar: ProgressBar,
    permits: Arc<Semaphore>,
}

impl Segment {
    async fn run(mut self) -> Result<WrittenFile> {
        // Ctrl-C: finish the page in hand, read no more (the caller removes the folder).
        while !self.db.cancelled() {
            let _permit = self.permits.acquire().await?;
            let Some(page) = self.pages.next().await? else {
                break;
            };
            let items = page.items.unwrap_or_default();
            for item in &items {
                self.writer.write_item(item)?;
            }
            self.bar.inc(items.len() as u64);
        }
        Ok(self.writer.finish()?)
    }
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// manifest-files.json, then manifest-summary.json (each with its checksum files): the
/// summary last, so that its presence means the export is complete.
fn write_manifests(
    desc: &aws_sdk_dynamodb::types::TableDescription,
    export_dir: &Path,
    key_prefix: &str,
    export_id: &str,
    started: DateTime<Utc>,
    files: &[WrittenFile],
) -> Result<()> {
    let mut lines = Vec::new();
    for f in files {
        serde_json::to_writer(&mut lines, &f.entry)?;
        lines.push(b'\n');
    }
    write_with_checksums(export_dir, format::FILES_FILE, &lines)?;
    let table_arn = desc.table_arn().map(str::to_string);
    let summary = format::Summary {
        version: format::VERSION.into(),
        export_arn: table_arn
            .as_ref()
            .map(|t| format!("{t}/export/{export_id}")),
        start_time: Some(timestamp(started)),
        end_time: Some(timestamp(Utc::now())),
        table_arn,
        table_id: desc.table_id().map(str::to_string),
        // A Scan is not a point in time: the export holds what each page saw when it was read.
        export_time: Some(timestamp(started)),
        s3_bucket: None,
        s3_prefix: None,
        s3_sse_algorithm: None,
        s3_sse_kms_key_id: None,
        manifest_files_s3_key: format!("{key_prefix}/{}", format::FILES_FILE),
        billed_size_bytes: Some(files.iter().map(|f| f.raw_bytes).sum()),
        item_count: files.iter().map(|f| f.entry.item_count).sum(),
        output_format: format::DYNAMODB_JSON.into(),
        export_type: Some(format::FULL_EXPORT.into()),
    };
    let text = serde_json::to_vec(&summary)?;
    write_with_checksums(export_dir, format::SUMMARY_FILE, &text)?;
    Ok(())
}

fn summarize(export_dir: &Path, export_id: &str, files: &[WrittenFile], took: Duration) -> Summary {
    let items: u64 = files.iter().map(|f| f.entry.item_count).sum();
    let secs = took.as_secs_f64();
    Summary {
        export_dir: export_dir.display().to_string(),
        export_id: export_id.to_string(),
        items,
        files: files.len(),
        bytes: files.iter().map(|f| f.stored_bytes).sum(),
        elapsed_ms: took.as_millis() as u64,
        items_per_sec: if secs > 0.0 {
            (items as f64 / secs * 10.0).round() / 10.0
        } else {
            0.0
        },
    }
}

fn print_summary(ctx: &Ctx, s: &Summary) -> Result<()> {
    if ctx.style.is_json() {
        return output::print_json(ctx.style.format, s);
    }
    output::line(ctx.style.bold(&format!(
        "exported {} of {} into {} ({:.1} MB) in {:.2} s:\n  {}",
        plural(s.items, "item"),
        ctx.db.table,
        plural(s.files as u64, "file"),
        s.bytes as f64 / 1e6,
        s.elapsed_ms as f64 / 1000.0,
        s.export_dir
    )))
}
