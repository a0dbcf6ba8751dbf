//! One side of a comparison and how its items reach its sorter: a table through a parallel Scan
//! (`aws::parallel`), or an export (an `<ExportId>` folder or a data file) read line by line,
//! each data file checked against its manifest entry at its end.

use std::path::PathBuf;

use anyhow::{Context, Result};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::aws::db::Db;
use crate::aws::parallel;
use crate::errors::Failure;
use crate::model::item::{get_s, Item};
use crate::transfer::data_file::{item_line, LineReader};
use crate::transfer::diff::key::BadKey;
use crate::transfer::diff::sort::{Sorted, Sorter};
use crate::transfer::diff::{KeyNames, Options, SORT_BUDGET};
use crate::transfer::export_read::{self, bad_line, check_file, parse_line, unreadable_line};

/// Where one side's items come from.
pub enum Side {
    /// `db`'s table, read in `segments` parallel segments.
    Table { db: Db, segments: u32 },
    /// An export (checked manifests) or one data file.
    Export(Box<export_read::Source>),
}

impl Side {
    /// Every item of the side (those `opts` asks for), sorted by key through `folder`; and
    /// how many there were. An export is read on a blocking thread: it is all CPU.
    pub async fn sorted(
        self,
        keys: KeyNames,
        opts: Options,
        folder: PathBuf,
    ) -> Result<(Sorted, u64)> {
        let mut into = Into {
            keys,
            opts,
            sorter: Sorter::new(folder, SORT_BUDGET),
            key: Vec::with_capacity(256),
            line: Vec::with_capacity(4096),
        };
        let into = match self {
            Side::Table { db, segments } => {
                into.scan(&db, segments).await?;
                into
            }
            Side::Export(source) => tokio::task::spawn_blocking(move || {
                let source = *source;
                into.read(&source)?;
                anyhow::Ok(into)
            })
            .await
            .context("reading an export panicked")??,
        };
        let count = into.sorter.records;
        let sorted = into.sorter.finish().context("sorting the items")?;
        Ok((sorted, count))
    }
}

/// Why an item did not go into the sorter.
#[derive(Debug, thiserror::Error)]
enum NotAdded {
    #[error("{0}")]
    Key(#[from] BadKey),
    #[error("could not be written to the temporary folder: {0}")]
    Io(#[from] std::io::Error),
}

/// Items on their way into a side's sorter.
struct Into {
    keys: KeyNames,
    opts: Options,
    sorter: Sorter,
    key: Vec<u8>,
    line: Vec<u8>,
}

impl Into {
    /// Every page of the table: with a `--pk-prefix` filter, and only the keys when only
    /// keys are compared (less to read).
    async fn scan(&mut self, db: &Db, segments: u32) -> Result<()> {
        let mut scan = db.dynamodb.scan().table_name(&db.table);
        if let Some(prefix) = &self.opts.pk_prefix {
            scan = scan
                .filter_expression("begins_with(#pk, :prefix)")
                .expression_attribute_names("#pk", self.keys.partition())
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.clone()));
        }
        if self.opts.keys_only {
            let names: Vec<String> = (0..self.keys.0.len()).map(|i| format!("#k{i}")).collect();
            scan = scan.projection_expression(names.join(", "));
            for (n, key) in names.iter().zip(&self.keys.0) {
                scan = scan.expression_attribute_names(n, key);
            }
        }
        let mut pages = parallel::scan_pages(db, &scan, segments);
        while let Some(page) = pages.next().await? {
            for item in page.items() {
                self.add(item, None).map_err(|why| {
                    Failure::Mismatch(format!("table '{}': an item: {why}", db.table))
                })?;
            }
            if db.cancelled() {
                return Err(Failure::Interrupted("interrupted while reading".into()).into());
            }
        }
        Ok(())
    }

    /// Every line of every data file, then each file against its manifest.
    fn read(&mut self, source: &export_read::Source) -> Result<()> {
        let mut buf = Vec::new();
        for file in &source.files {
            let mut reader = LineReader::open(&file.path).map_err(|e| {
                Failure::InvalidInput(format!("cannot read {}: {e}", file.path.display()))
            })?;
            let mut items = 0;
            while reader
                .next_line(&mut buf)
                .map_err(|e| unreadable_line(file, reader.line + 1, &e))?
            {
                let item =
                    parse_line(&buf).map_err(|e| bad_line(file, reader.line, &e.to_string()))?;
                self.add(&item, Some(&buf))
                    .map_err(|why| bad_line(file, reader.line, &why.to_string()))?;
                items += 1;
            }
            let md5 = reader.finish_md5().map_err(|e| {
                Failure::InvalidInput(format!("cannot read {}: {e}", file.path.display()))
            })?;
            check_file(file, items, &md5)?;
        }
        Ok(())
    }

    /// One item (and its line as read, if any) into the sorter, unless `--pk-prefix` skips it.
    fn add(&mut self, item: &Item, line: Option<&[u8]>) -> Result<(), NotAdded> {
        if let Some(prefix) = &self.opts.pk_prefix {
            let pk = get_s(item, self.keys.partition());
            if !pk.is_some_and(|pk| pk.starts_with(prefix.as_str())) {
                return Ok(());
            }
        }
        self.key.clear();
        self.keys.encode(item, &mut self.key)?;
        self.line.clear();
        match line {
            _ if self.opts.keys_only => item_line(&self.keys.of(item), &mut self.line)?,
            Some(raw) => self.line.extend_from_slice(raw),
            None => item_line(item, &mut self.line)?,
        }
        self.sorter.push(&self.key, &self.line)?;
        Ok(())
    }
}
