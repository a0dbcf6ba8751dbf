//! Reading an export for `ddb import`: find it (an export folder as `aws s3 cp --recursive`
//! leaves it, or one data file), check its manifests, then read it twice, both times streaming:
//! `validate` reads everything and stops at the first problem, naming `file:line`;
//! `ItemStream` reads it again, item by item, for the writer.

use std::path::{Path, PathBuf};

use md5::Digest;
use serde_json::Value;

use crate::errors::Failure;
use crate::model::item::{item_from_typed, Item};
use crate::model::jsonfile;
use crate::transfer::data_file::{file_md5, LineReader};
use crate::transfer::format::{
    self as format, checksum_matches, local_path, md5_to_base64, md5_to_hex, FileEntry, Summary,
    CHECKSUM_EXTENSIONS, EXPORTS_DIR, SUMMARY_FILE,
};
use crate::transfer::import_check::ItemRules;
use crate::transfer::write::BATCH_SIZE;

/// A data file to read, and what the manifest says it holds (nothing, for a lone data file).
#[derive(Clone, Debug)]
pub struct DataFile {
    pub path: PathBuf,
    pub expect: Option<FileEntry>,
}

/// An export (or a single data file) whose manifests have been checked.
#[derive(Clone, Debug)]
pub struct Source {
    pub files: Vec<DataFile>,
    /// The export's summary; `None` for a lone data file.
    pub summary: Option<Summary>,
    /// The `<ExportId>` folder; `None` for a lone data file.
    pub export_dir: Option<PathBuf>,
}

fn invalid(msg: impl Into<String>) -> Failure {
    Failure::InvalidInput(msg.into())
}

/// Find what `path` is and check the manifests (not the data: that is `validate`).
pub fn open(path: &Path) -> Result<Source, Failure> {
    let meta = std::fs::metadata(path)
        .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
    if meta.is_file() {
        if path.file_name().is_some_and(|n| n == SUMMARY_FILE) {
            let dir = path.parent().unwrap_or(Path::new("."));
            return open_export(dir);
        }
        return Ok(Source {
            files: vec![DataFile {
                path: path.to_path_buf(),
                expect: None,
            }],
            summary: None,
            export_dir: None,
        });
    }
    if path.join(SUMMARY_FILE).is_file() {
        return open_export(path);
    }
    let exports = path.join(EXPORTS_DIR);
    let mut found: Vec<PathBuf> = std::fs::read_dir(&exports)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join(SUMMARY_FILE).is_file())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    match found.as_slice() {
        [one] => open_export(one),
        [] => Err(invalid(format!(
            "{}: no {SUMMARY_FILE} in it or in {EXPORTS_DIR}/<ExportId>/ below it; pass an export folder or one data file (.json or .json.gz)",
            path.display()
        ))),
        many => Err(invalid(format!(
            "{}: holds {} exports; pass one of them: {}",
            path.display(),
            many.len(),
            many.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Read a manifest and check it against every checksum file next to it (`.md5`,
/// `.checksum`): at least one must be there, and each one there must match.
fn read_checked(path: &Path) -> Result<Vec<u8>, Failure> {
    let bytes =
        std::fs::read(path).map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
    let stem = path.with_extension("");
    let checksums: Vec<PathBuf> = CHECKSUM_EXTENSIONS
        .iter()
        .map(|ext| stem.with_extension(ext))
        .filter(|p| p.is_file())
        .collect();
    if checksums.is_empty() {
        return Err(invalid(format!(
            "{}: no checksum file next to it ({}.md5 or .checksum); was the export copied whole?",
            path.display(),
            stem.display()
        )));
    }
    let md5: [u8; 16] = md5::Md5::digest(&bytes).into();
    for checksum in checksums {
        let text = std::fs::read_to_string(&checksum)
            .map_err(|e| invalid(format!("cannot read {}: {e}", checksum.display())))?;
        if !checksum_matches(&text, &md5) {
            return Err(invalid(format!(
                "{}: MD5 is {}, but {} says {}: the file is damaged or was edited",
                path.display(),
                md5_to_base64(&md5),
                checksum.display(),
                text.trim()
            )));
        }
    }
    Ok(bytes)
}

fn open_export(dir: &Path) -> Result<Source, Failure> {
    let export_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let summary_path = dir.join(SUMMARY_FILE);
    let text = read_checked(&summary_path)?;
    let text = String::from_utf8(text)
        .map_err(|_| invalid(format!("{}: not UTF-8", summary_path.display())))?;
    let summary: Summary = jsonfile::parse(&summary_path, &text)?;
    let at = summary_path.display();
    if summary.version != format::VERSION {
        return Err(invalid(format!(
            "{at}: manifest version '{}' is not the one ddb reads ({})",
            summary.version,
            format::VERSION
        )));
    }
    if summary.output_format != format::DYNAMODB_JSON {
        return Err(invalid(format!(
            "{at}: the export is {}; ddb imports DYNAMODB_JSON exports (export again with --export-format DYNAMODB_JSON)",
            summary.output_format
        )));
    }
    if let Some(kind) = summary.export_type.as_deref() {
        if kind != format::FULL_EXPORT {
            return Err(invalid(format!(
                "{at}: a {kind}; ddb imports full exports (FULL_EXPORT)"
            )));
        }
    }
    let files_path =
        local_path(dir, &export_id, &summary.manifest_files_s3_key).ok_or_else(|| {
            invalid(format!(
                "{at}: manifestFilesS3Key '{}' does not point inside this export",
                summary.manifest_files_s3_key
            ))
        })?;
    let files_text = read_checked(&files_path)?;
    let mut files = Vec::new();
    let mut total = 0u64;
    for (i, line) in files_text.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let at = format!("{}:{}", files_path.display(), i + 1);
        let entry: FileEntry = serde_json::from_slice(line)
            .map_err(|e| invalid(format!("{at}: {}", jsonfile::message(&e))))?;
        let path = local_path(dir, &export_id, &entry.data_file_s3_key).ok_or_else(|| {
            invalid(format!(
                "{at}: dataFileS3Key '{}' does not point inside this export",
                entry.data_file_s3_key
            ))
        })?;
        if !path.is_file() {
            return Err(invalid(format!(
                "{at}: data file {} is missing; was the export copied whole?",
                path.display()
            )));
        }
        total += entry.item_count;
        files.push(DataFile {
            path,
            expect: Some(entry),
        });
    }
    if total != summary.item_count {
        return Err(invalid(format!(
            "{}: itemCount {} but the data files of {} add up to {total}",
            summary_path.display(),
            summary.item_count,
            files_path.display()
        )));
    }
    Ok(Source {
        files,
        summary: Some(summary),
        export_dir: Some(dir.to_path_buf()),
    })
}

/// Why a line of a data file is not an item.
#[derive(Debug, thiserror::Error)]
pub enum BadLine {
    #[error("{} (column {})", jsonfile::message(.0), .0.column())]
    Json(serde_json::Error),
    #[error("expected {{\"Item\": {{...}}}} (a line of a DYNAMODB_JSON export)")]
    NotAnItem,
    /// An attribute that is not DynamoDB JSON, named by its path.
    #[error("{0}")]
    Item(anyhow::Error),
}

/// One line of a DYNAMODB_JSON data file, `{"Item": {...}}`, as an item.
pub fn parse_line(line: &[u8]) -> Result<Item, BadLine> {
    if let Some(item) = crate::transfer::typed_line::parse(line) {
        return Ok(item);
    }
    // Something is off: the precise way names the attribute (or accepts an oddity, such as
    // {"NULL": 1}, that the fast way does not).
    let value: Value = serde_json::from_slice(line).map_err(BadLine::Json)?;
    let item = value
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get("Item"))
        .ok_or(BadLine::NotAnItem)?;
    item_from_typed(item, "Item").map_err(BadLine::Item)
}

/// What the validation pass saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    pub items: u64,
    pub files: usize,
    /// Bytes of the data files as stored.
    pub bytes: u64,
}

/// Read every data file once: each line parses, each item passes `rules`, no BatchWriteItem
/// call would carry the same key twice, and each file matches its manifest entry (MD5, ETag
/// when single-part, item count). `on_items(n)` reports progress; `cancelled()` is polled
/// between items (Ctrl-C). The first problem is returned as `file:line: what`.
pub fn validate(
    source: &Source,
    rules: &ItemRules,
    on_items: &dyn Fn(u64),
    cancelled: &dyn Fn() -> bool,
) -> Result<Checked, Failure> {
    let mut checked = Checked::default();
    // Keys of the batch being filled, as the writer will group them (BATCH_SIZE in order).
    let mut batch: Vec<(Vec<u8>, &Path, u64)> = Vec::with_capacity(BATCH_SIZE);
    let mut buf = Vec::new();
    for file in &source.files {
        let shown = file.path.display().to_string();
        let mut reader = LineReader::open(&file.path)
            .map_err(|e| invalid(format!("cannot read {shown}: {e}")))?;
        let mut items = 0u64;
        loop {
            let more = reader
                .next_line(&mut buf)
                .map_err(|e| unreadable_line(file, reader.line + 1, &e))?;
            if !more {
                break;
            }
            let line = reader.line;
            let item = parse_line(&buf).map_err(|e| bad_line(file, line, &e.to_string()))?;
            rules
                .check(&item)
                .map_err(|e| bad_line(file, line, &e.to_string()))?;
            if checked.items % BATCH_SIZE as u64 == 0 {
                batch.clear();
            }
            let key = rules.key_bytes(&item);
            if let Some((_, path, first)) = batch.iter().find(|(k, _, _)| *k == key) {
                return Err(bad_line(
                    file,
                    line,
                    &format!(
                        "the same key ({}) as {}:{first}; DynamoDB rejects a batch that writes one key twice",
                        key_text(rules, &item),
                        path.display()
                    ),
                ));
            }
            batch.push((key, &file.path, line));
            items += 1;
            checked.items += 1;
            if checked.items % 1024 == 0 {
                on_items(1024);
                if cancelled() {
                    return Err(Failure::Interrupted(
                        "interrupted while checking the export; nothing was written".into(),
                    ));
                }
            }
        }
        let md5 = reader
            .finish_md5()
            .map_err(|e| invalid(format!("cannot read {shown}: {e}")))?;
        check_file(file, items, &md5)?;
        checked.files += 1;
        checked.bytes += std::fs::metadata(&file.path).map(|m| m.len()).unwrap_or(0);
    }
    on_items(checked.items % 1024);
    Ok(checked)
}

/// A data file read to its end against its manifest entry (nothing to check for a lone data
/// file): its MD5 (and single-part ETag) and its item count.
pub fn check_file(file: &DataFile, items: u64, md5: &[u8; 16]) -> Result<(), Failure> {
    let Some(expect) = &file.expect else {
        return Ok(());
    };
    check_md5(file, expect, md5)?;
    if items != expect.item_count {
        return Err(invalid(format!(
            "{}: {items} items, but the manifest says {}",
            file.path.display(),
            expect.item_count
        )));
    }
    Ok(())
}

fn check_md5(file: &DataFile, expect: &FileEntry, md5: &[u8; 16]) -> Result<(), Failure> {
    let shown = file.path.display();
    if md5_to_base64(md5) != expect.md5_checksum {
        return Err(invalid(format!(
            "{shown}: MD5 is {}, but the manifest says {}: the file is damaged, incomplete or was edited",
            md5_to_base64(md5),
            expect.md5_checksum
        )));
    }
    // A multipart ETag (`<hex>-<parts>`) depends on the part size: only a single-part one can
    // be checked.
    let etag = expect.etag.trim_matches('"');
    if !etag.contains('-') && !etag.is_empty() && !etag.eq_ignore_ascii_case(&md5_to_hex(md5)) {
        return Err(invalid(format!(
            "{shown}: MD5 is {}, but the manifest's etag is {etag}",
            md5_to_hex(md5)
        )));
    }
    Ok(())
}

/// A line that could not be read (`line` is its number).
pub fn unreadable_line(file: &DataFile, line: u64, e: &std::io::Error) -> Failure {
    let what = if e.kind() == std::io::ErrorKind::InvalidData
        || e.kind() == std::io::ErrorKind::UnexpectedEof
    {
        format!("the gzip data is truncated or corrupt ({e})")
    } else {
        e.to_string()
    };
    bad_line(file, line, &what)
}

/// A bad line: when the file does not match its manifest's MD5 either, that is the better
/// explanation (a damaged download), and the line comes second.
pub fn bad_line(file: &DataFile, line: u64, what: &str) -> Failure {
    // Attribute names and values come from the file: one line, no control characters.
    let what = crate::term::safe::truncate(what, 300);
    let at = format!("{}:{line}", file.path.display());
    if let Some(expect) = &file.expect {
        if let Ok(md5) = file_md5(&file.path) {
            if md5_to_base64(&md5) != expect.md5_checksum {
                return invalid(format!(
                    "{}: MD5 is {}, but the manifest says {}: the file is damaged or incomplete (first error at line {line}: {what})",
                    file.path.display(),
                    md5_to_base64(&md5),
                    expect.md5_checksum
                ));
            }
        }
    }
    invalid(format!("{at}: {what}"))
}

fn key_text(rules: &ItemRules, item: &Item) -> String {
    rules
        .table_key_names()
        .into_iter()
        .map(|name| {
            let value = item
                .get(name)
                .map(|v| crate::model::item::to_plain(v).to_string())
                .unwrap_or_default();
            format!("{name}={}", crate::term::safe::truncate(&value, 120))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The second pass: every item of every file, in the order `validate` saw them. A read error
/// (a file changed since it was checked) ends the stream and is kept in `error`.
pub struct ItemStream<'a> {
    files: std::slice::Iter<'a, DataFile>,
    current: Option<(&'a DataFile, LineReader)>,
    buf: Vec<u8>,
    pub error: Option<String>,
}

impl<'a> ItemStream<'a> {
    pub fn new(source: &'a Source) -> ItemStream<'a> {
        ItemStream {
            files: source.files.iter(),
            current: None,
            buf: Vec::new(),
            error: None,
        }
    }
}

impl Iterator for ItemStream<'_> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        if self.error.is_some() {
            return None;
        }
        loop {
            if self.current.is_none() {
                let file = self.files.next()?;
                match LineReader::open(&file.path) {
                    Ok(r) => self.current = Some((file, r)),
                    Err(e) => {
                        self.error = Some(format!("cannot read {}: {e}", file.path.display()));
                        return None;
                    }
                }
            }
            let (file, reader) = self.current.as_mut().expect("set above");
            match reader.next_line(&mut self.buf) {
                Ok(true) => match parse_line(&self.buf) {
                    Ok(item) => return Some(item),
                    Err(e) => {
                        self.error = Some(format!(
                            "{}:{}: {e} (the file changed after it was checked)",
                            file.path.display(),
                            reader.line
                        ));
                        return None;
                    }
                },
                Ok(false) => self.current = None,
                Err(e) => {
                    self.error = Some(format!(
                        "{}:{}: {e} (the file changed after it was checked)",
                        file.path.display(),
                        reader.line + 1
                    ));
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_must_be_items() {
        let item = parse_line(br#"{"Item":{"pk":{"S":"a"},"n":{"N":"1"}}}"#).unwrap();
        assert_eq!(item.len(), 2);
        let error = |line: &[u8]| parse_line(line).unwrap_err().to_string();
        assert_eq!(
            error(br#"{"Item":{"pk":{"S":"a"}}"#),
            "EOF while parsing an object (column 24)"
        );
        assert_eq!(
            error(br#"{"NewImage":{"pk":{"S":"a"}}}"#),
            "expected {\"Item\": {...}} (a line of a DYNAMODB_JSON export)"
        );
        assert_eq!(
            error(br#"{"Item":{"pk":{"X":"a"}}}"#),
            "Item.pk: unknown DynamoDB type tag 'X'"
        );
    }
}
