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
//! This file holds the layout (names, manifests, checksums); `data_file` writes and reads the
//! data files themselves, streaming, one line at a time.

use std::io;
use std::path::{Path, PathBuf};

use aws_smithy_types::base64;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

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

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Does a checksum file's text (base64 as AWS writes it, or hex) name this MD5?
pub fn checksum_matches(text: &str, md5: &[u8]) -> bool {
    let text = text.trim();
    text == base64::encode(md5) || text.eq_ignore_ascii_case(&hex(md5))
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
