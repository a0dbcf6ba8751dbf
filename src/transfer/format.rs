//! AWS's export-to-S3 layout, DYNAMODB_JSON flavour, as files on disk:
//!
//! ```text
//! <dir>/AWSDynamoDB/<ExportId>/_started
//!                             /manifest-summary.json   (+ .md5 / .checksum)
//!                             /manifest-files.json     (+ .md5 / .checksum)
//!                             /data/<name>.json.gz     gzip JSON Lines, {"Item": {...typed...}}
//! ```
//!
//! Field names and encodings follow the DynamoDB developer guide ("DynamoDB table export output
//! format") and real exports: `md5Checksum` is the base64 MD5 of a data file's bytes as stored
//! (compressed), `etag` the S3 ETag (hex MD5 for a single-part upload, `<hex>-<parts>` for a
//! multipart one), and the `.md5`/`.checksum` files hold the base64 MD5 of their manifest.
//! Older exports name the checksum files `.md5`, the current guide `.checksum`: both are read,
//! both are written.
//!
//! Everything here streams: a data file is written or read one line at a time.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use aws_smithy_types::base64;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::model::item::{item_to_typed, Item};

pub const EXPORTS_DIR: &str = "AWSDynamoDB";
pub const SUMMARY_FILE: &str = "manifest-summary.json";
pub const FILES_FILE: &str = "manifest-files.json";
pub const STARTED_FILE: &str = "_started";
pub const DATA_DIR: &str = "data";
/// The checksum files' extensions, in the order they are looked for.
pub const CHECKSUM_EXTENSIONS: [&str; 2] = ["md5", "checksum"];
pub const VERSION: &str = "2020-06-30";
pub const DYNAMODB_JSON: &str = "DYNAMODB_JSON";
pub const FULL_EXPORT: &str = "FULL_EXPORT";

/// `manifest-summary.json`. Unknown fields are ignored (AWS adds some over time); the ones an
/// import relies on are required.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub version: String,
    #[serde(default)]
    pub export_arn: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub table_arn: Option<String>,
    #[serde(default)]
    pub table_id: Option<String>,
    #[serde(default)]
    pub export_time: Option<String>,
    #[serde(default)]
    pub s3_bucket: Option<String>,
    #[serde(default)]
    pub s3_prefix: Option<String>,
    #[serde(default)]
    pub s3_sse_algorithm: Option<String>,
    #[serde(default)]
    pub s3_sse_kms_key_id: Option<String>,
    pub manifest_files_s3_key: String,
    #[serde(default)]
    pub billed_size_bytes: Option<u64>,
    pub item_count: u64,
    pub output_format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_type: Option<String>,
}

/// One line of `manifest-files.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    pub item_count: u64,
    pub md5_checksum: String,
    pub etag: String,
    pub data_file_s3_key: String,
}

/// An export id the way AWS makes them: milliseconds since the epoch, 14 digits, a dash and 8
/// hex digits (`01645072900758-ee1232a3`).
pub fn new_export_id(now_ms: u128) -> String {
    let random = uuid::Uuid::new_v4().as_u128() as u32;
    format!("{now_ms:014}-{random:08x}")
}

/// A data file name the way AWS makes them: 26 characters of lowercase base32, `.json.gz`.
pub fn new_data_file_name() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bits = uuid::Uuid::new_v4().as_u128();
    let name: String = (0..26)
        .map(|_| {
            let c = ALPHABET[(bits & 31) as usize] as char;
            bits >>= 5;
            c
        })
        .collect();
    format!("{name}.json.gz")
}

/// The base64 MD5 of `bytes`, as `md5Checksum` and the checksum files spell it.
pub fn md5_base64(bytes: &[u8]) -> String {
    base64::encode(Md5::digest(bytes).as_slice())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Does a checksum file's text (base64 as AWS writes it, or hex) name this MD5?
pub fn checksum_matches(text: &str, md5: &[u8]) -> bool {
    let text = text.trim();
    text == base64::encode(md5) || text.eq_ignore_ascii_case(&hex(md5))
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W> {
    inner: W,
    md5: Md5,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.md5.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.md5.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// One gzip JSON Lines data file being written: `{"Item": {...}}` per line.
pub struct DataFileWriter {
    gz: GzEncoder<Hashing<BufWriter<File>>>,
    /// The file's key as the manifest names it (`AWSDynamoDB/<id>/data/<name>`).
    key: String,
    items: u64,
    line: Vec<u8>,
    /// Uncompressed bytes, for the summary's size.
    raw_bytes: u64,
}

/// What a finished data file holds.
#[derive(Clone, Debug)]
pub struct WrittenFile {
    pub entry: FileEntry,
    pub raw_bytes: u64,
    pub stored_bytes: u64,
}

impl DataFileWriter {
    /// Create `<export_dir>/data/<random name>`; `key_prefix` is `AWSDynamoDB/<id>`.
    pub fn create(export_dir: &Path, key_prefix: &str) -> io::Result<DataFileWriter> {
        let name = new_data_file_name();
        let file = File::create(export_dir.join(DATA_DIR).join(&name))?;
        let hashing = Hashing {
            inner: BufWriter::with_capacity(1 << 16, file),
            md5: Md5::new(),
            bytes: 0,
        };
        Ok(DataFileWriter {
            // Level 1: most of gzip's size win for a fraction of the CPU (export speed is
            // bounded by the scan on one side and the CPU on the other).
            gz: GzEncoder::new(hashing, Compression::fast()),
            key: format!("{key_prefix}/{DATA_DIR}/{name}"),
            items: 0,
            line: Vec::with_capacity(4096),
            raw_bytes: 0,
        })
    }

    pub fn write_item(&mut self, item: &Item) -> io::Result<()> {
        self.line.clear();
        self.line.extend_from_slice(b"{\"Item\":");
        serde_json::to_writer(&mut self.line, &item_to_typed(item)).map_err(io::Error::other)?;
        self.line.extend_from_slice(b"}\n");
        self.gz.write_all(&self.line)?;
        self.items += 1;
        self.raw_bytes += self.line.len() as u64;
        Ok(())
    }

    pub fn items(&self) -> u64 {
        self.items
    }

    /// Close the gzip stream, flush the file, and describe it for the manifest.
    pub fn finish(self) -> io::Result<WrittenFile> {
        let mut hashing = self.gz.finish()?;
        hashing.flush()?;
        hashing
            .inner
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
        let md5 = hashing.md5.finalize();
        Ok(WrittenFile {
            entry: FileEntry {
                item_count: self.items,
                md5_checksum: base64::encode(md5.as_slice()),
                // What S3 reports for a single-part upload of these bytes.
                etag: hex(md5.as_slice()),
                data_file_s3_key: self.key,
            },
            raw_bytes: self.raw_bytes,
            stored_bytes: hashing.bytes,
        })
    }
}

/// Write `text` to `dir/name` and its base64 MD5 to `name` with each checksum extension
/// (`manifest-files.md5`, `manifest-files.checksum`).
pub fn write_with_checksums(dir: &Path, name: &str, text: &[u8]) -> io::Result<()> {
    std::fs::write(dir.join(name), text)?;
    let md5 = md5_base64(text);
    let stem = name.strip_suffix(".json").unwrap_or(name);
    for ext in CHECKSUM_EXTENSIONS {
        std::fs::write(dir.join(format!("{stem}.{ext}")), &md5)?;
    }
    Ok(())
}

/// Reads a data file (gzip or plain JSON Lines, told apart by gzip's magic bytes; an empty
/// file is an empty file either way) line by line, hashing the stored bytes as it goes.
pub struct LineReader {
    inner: Lines,
    /// The 1-based number of the last line returned.
    pub line: u64,
}

enum Lines {
    Gzip(Box<BufReader<MultiGzDecoder<BufReader<Hashing<File>>>>>),
    Plain(BufReader<Hashing<File>>),
}

impl LineReader {
    pub fn open(path: &Path) -> io::Result<LineReader> {
        let mut file = File::open(path)?;
        let mut magic = [0u8; 2];
        let n = read_up_to(&mut file, &mut magic)?;
        drop(file);
        // Reopen so that the hash covers every byte from the first.
        let hashing = Hashing {
            inner: File::open(path)?,
            md5: Md5::new(),
            bytes: 0,
        };
        let inner = if n == 2 && magic == [0x1f, 0x8b] {
            Lines::Gzip(Box::new(BufReader::with_capacity(
                1 << 16,
                MultiGzDecoder::new(BufReader::with_capacity(1 << 16, hashing)),
            )))
        } else {
            Lines::Plain(BufReader::with_capacity(1 << 16, hashing))
        };
        Ok(LineReader { inner, line: 0 })
    }

    /// The next line into `buf` (without its newline); false at the end. Blank lines are
    /// skipped but counted. Errors are the file's (a truncated gzip stream, a bad CRC).
    pub fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        loop {
            buf.clear();
            let n = match &mut self.inner {
                Lines::Gzip(r) => r.read_until(b'\n', buf)?,
                Lines::Plain(r) => r.read_until(b'\n', buf)?,
            };
            if n == 0 {
                return Ok(false);
            }
            self.line += 1;
            while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                buf.pop();
            }
            if !buf.iter().all(u8::is_ascii_whitespace) {
                return Ok(true);
            }
        }
    }

    /// After the last line: the MD5 of every stored byte (the rest is read and hashed too).
    pub fn finish_md5(self) -> io::Result<[u8; 16]> {
        let mut hashing = match self.inner {
            Lines::Gzip(r) => r.into_inner().into_inner().into_inner(),
            Lines::Plain(r) => r.into_inner(),
        };
        io::copy(&mut hashing, &mut io::sink())?;
        Ok(hashing.md5.finalize().into())
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The MD5 of a whole file, read in chunks.
pub fn file_md5(path: &Path) -> io::Result<[u8; 16]> {
    let mut hashing = Hashing {
        inner: File::open(path)?,
        md5: Md5::new(),
        bytes: 0,
    };
    io::copy(&mut hashing, &mut io::sink())?;
    Ok(hashing.md5.finalize().into())
}

/// The base64 of an MD5, as manifests spell it.
pub fn md5_to_base64(md5: &[u8; 16]) -> String {
    base64::encode(md5)
}

/// The hex of an MD5, as a single-part ETag spells it.
pub fn md5_to_hex(md5: &[u8; 16]) -> String {
    hex(md5)
}

/// Where a manifest's S3 key lives in a downloaded export: the part after `<ExportId>/`
/// (keys carry the bucket prefix the export was written under), relative to the export's
/// folder. `None` when the key does not point inside this export.
pub fn local_path(export_dir: &Path, export_id: &str, key: &str) -> Option<PathBuf> {
    let marker = format!("{EXPORTS_DIR}/{export_id}/");
    let rest = match key.find(&marker) {
        Some(i) => &key[i + marker.len()..],
        // Hand-made manifests may name files relative to the export folder.
        None if !key.contains(EXPORTS_DIR) => key,
        None => return None,
    };
    let rel = Path::new(rest);
    // Never step outside the export folder.
    if rest.is_empty()
        || rel.is_absolute()
        || rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return None;
    }
    Some(export_dir.join(rel))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    #[test]
    fn ids_and_names_look_like_aws_ones() {
        let id = new_export_id(1_645_072_900_758);
        assert_eq!(id.len(), 23, "{id}");
        assert!(id.starts_with("01645072900758-"), "{id}");
        let name = new_data_file_name();
        assert_eq!(name.len(), 26 + ".json.gz".len(), "{name}");
        assert!(name[..26]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)));
    }

    #[test]
    fn field_names_match_the_guide() {
        let entry = FileEntry {
            item_count: 3,
            md5_checksum: "R66Q93z6mjqdBW/mkgj0/A==".into(),
            etag: "ba00d841bd1eec340400e8d62c778aa3-1".into(),
            data_file_s3_key: "AWSDynamoDB/01680958677849-381aef7c/data/x.json.gz".into(),
        };
        assert_eq!(
            serde_json::to_string(&entry).unwrap(),
            r#"{"itemCount":3,"md5Checksum":"R66Q93z6mjqdBW/mkgj0/A==","etag":"ba00d841bd1eec340400e8d62c778aa3-1","dataFileS3Key":"AWSDynamoDB/01680958677849-381aef7c/data/x.json.gz"}"#
        );
        let summary: Summary = serde_json::from_str(
            r#"{"version":"2020-06-30","exportArn":"arn:x","startTime":"2020-11-04T07:28:34.028Z",
                "s3SseKmsKeyId":null,"manifestFilesS3Key":"AWSDynamoDB/1-a/manifest-files.json",
                "billedSizeBytes":0,"itemCount":8,"outputFormat":"DYNAMODB_JSON","somethingNew":1}"#,
        )
        .unwrap();
        assert_eq!(summary.item_count, 8);
        let text = serde_json::to_string(&summary).unwrap();
        for field in [
            "\"s3SseKmsKeyId\"",
            "\"manifestFilesS3Key\"",
            "\"billedSizeBytes\"",
            "\"tableArn\"",
            "\"exportTime\"",
        ] {
            assert!(text.contains(field), "{field} in {text}");
        }
    }

    #[test]
    fn checksums_are_base64_md5_and_hex_is_accepted() {
        // RFC 1321's test vector: MD5("abc").
        let md5: [u8; 16] = Md5::digest(b"abc").into();
        assert_eq!(md5_to_hex(&md5), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(md5_base64(b"abc"), "kAFQmDzST7DWlj99KOF/cg==");
        assert!(checksum_matches("kAFQmDzST7DWlj99KOF/cg==\n", &md5));
        assert!(checksum_matches("900150983CD24FB0D6963F7D28E17F72", &md5));
        assert!(!checksum_matches("kAFQmDzST7DWlj99KOF/cg=", &md5));
    }

    #[test]
    fn a_written_file_reads_back_with_its_checksum() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(DATA_DIR)).unwrap();
        let mut w = DataFileWriter::create(dir.path(), "AWSDynamoDB/1-a").unwrap();
        let mut item = Item::new();
        item.insert("pk".into(), AttributeValue::S("é\n\"x".into()));
        w.write_item(&item).unwrap();
        w.write_item(&item).unwrap();
        let done = w.finish().unwrap();
        assert_eq!(done.entry.item_count, 2);
        let name = done.entry.data_file_s3_key.rsplit('/').next().unwrap();
        let path = dir.path().join(DATA_DIR).join(name);
        let md5 = file_md5(&path).unwrap();
        assert_eq!(md5_to_base64(&md5), done.entry.md5_checksum);
        assert_eq!(md5_to_hex(&md5), done.entry.etag);

        let mut r = LineReader::open(&path).unwrap();
        let mut buf = Vec::new();
        let mut lines = Vec::new();
        while r.next_line(&mut buf).unwrap() {
            lines.push(String::from_utf8(buf.clone()).unwrap());
        }
        assert_eq!(lines, vec![r#"{"Item":{"pk":{"S":"é\n\"x"}}}"#; 2]);
        assert_eq!(r.finish_md5().unwrap(), md5);
    }

    #[test]
    fn empty_and_plain_files_read() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.json.gz");
        std::fs::write(&empty, b"").unwrap();
        let mut r = LineReader::open(&empty).unwrap();
        assert!(!r.next_line(&mut Vec::new()).unwrap());
        assert_eq!(
            md5_to_base64(&r.finish_md5().unwrap()),
            md5_base64(b""),
            "md5 of nothing"
        );
        let plain = dir.path().join("p.json");
        std::fs::write(&plain, b"{\"a\":1}\r\n\n  \n{\"b\":2}").unwrap();
        let mut r = LineReader::open(&plain).unwrap();
        let mut buf = Vec::new();
        assert!(r.next_line(&mut buf).unwrap());
        assert_eq!((buf.as_slice(), r.line), (&b"{\"a\":1}"[..], 1));
        assert!(r.next_line(&mut buf).unwrap());
        assert_eq!((buf.as_slice(), r.line), (&b"{\"b\":2}"[..], 4));
        assert!(!r.next_line(&mut buf).unwrap());
    }

    #[test]
    fn a_truncated_gzip_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json.gz");
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        for i in 0..1000 {
            writeln!(gz, "{{\"Item\":{{\"pk\":{{\"S\":\"{i}\"}}}}}}").unwrap();
        }
        let bytes = gz.finish().unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
        let mut r = LineReader::open(&path).unwrap();
        let mut buf = Vec::new();
        let err = loop {
            match r.next_line(&mut buf) {
                Ok(true) => continue,
                Ok(false) => panic!("a truncated file read to the end"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err}");
    }

    #[test]
    fn manifest_keys_resolve_inside_the_export_only() {
        let dir = Path::new("/x/AWSDynamoDB/1-a");
        assert_eq!(
            local_path(dir, "1-a", "prefix/AWSDynamoDB/1-a/data/f.json.gz"),
            Some(PathBuf::from("/x/AWSDynamoDB/1-a/data/f.json.gz"))
        );
        assert_eq!(
            local_path(dir, "1-a", "data/f.json.gz"),
            Some(PathBuf::from("/x/AWSDynamoDB/1-a/data/f.json.gz"))
        );
        assert_eq!(
            local_path(dir, "1-a", "AWSDynamoDB/2-b/data/f.json.gz"),
            None
        );
        assert_eq!(local_path(dir, "1-a", "data/../../etc/passwd"), None);
        assert_eq!(local_path(dir, "1-a", "/etc/passwd"), None);
    }
}
