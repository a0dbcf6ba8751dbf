//! Exports laid out the way AWS writes them, built with flate2 and md-5 directly (never with
//! ddb's own writer), for the tests that read exports: import and diff.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use md5::{Digest, Md5};

pub const EXPORT_ID: &str = "01645072900758-ee1232a3";

pub fn b64(bytes: &[u8]) -> String {
    aws_smithy_types::base64::encode(bytes)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn gzip(text: &str, level: u32) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::new(level));
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

/// `{"Item": …}` for a message-like item of the shipped schema.
pub fn line(pk: &str, sk: &str, extra: &str) -> String {
    format!(r#"{{"Item":{{"pk":{{"S":"{pk}"}},"sk":{{"S":"{sk}"}}{extra}}}}}"#)
}

/// An export as AWS lays it out under `root` (as `aws s3 cp --recursive` of the bucket prefix
/// `exports/staging` leaves it): one data file per entry of `files`, each given as its stored
/// bytes and item count. An empty byte vector is an empty data file (AWS writes one for an
/// empty partition). Returns the `<ExportId>` folder.
pub fn write_export(root: &Path, files: &[(Vec<u8>, u64)]) -> PathBuf {
    let dir = root.join("AWSDynamoDB").join(EXPORT_ID);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("_started"), b"").unwrap();
    let mut manifest = String::new();
    let mut total = 0;
    for (i, (bytes, count)) in files.iter().enumerate() {
        let name = format!("file{i}abcdefghijklmnopqrstu.json.gz");
        std::fs::write(dir.join("data").join(&name), bytes).unwrap();
        let md5 = Md5::digest(bytes);
        // Real exports carry multipart ETags ("<hex>-<parts>"); one file gets a plain one.
        let etag = if i == 0 {
            hex(&md5)
        } else {
            format!("{}-1", hex(&Md5::digest(md5)))
        };
        manifest.push_str(&format!(
            r#"{{"itemCount":{count},"md5Checksum":"{}","etag":"{etag}","dataFileS3Key":"exports/staging/AWSDynamoDB/{EXPORT_ID}/data/{name}"}}"#,
            b64(&md5)
        ));
        manifest.push('\n');
        total += count;
    }
    std::fs::write(dir.join("manifest-files.json"), &manifest).unwrap();
    std::fs::write(
        dir.join("manifest-files.md5"),
        b64(&Md5::digest(manifest.as_bytes())),
    )
    .unwrap();
    let summary = format!(
        r#"{{"version":"2020-06-30","exportArn":"arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages/export/{EXPORT_ID}","startTime":"2026-11-04T07:28:34.028Z","endTime":"2026-11-04T07:33:43.897Z","tableArn":"arn:aws:dynamodb:us-east-1:123456789012:table/cruddur-messages","tableId":"12345a12-abcd-123a-ab12-1234abc12345","exportTime":"2026-11-04T07:28:34.028Z","s3Bucket":"ddb-staging-export","s3Prefix":"exports/staging","s3SseAlgorithm":"AES256","s3SseKmsKeyId":null,"manifestFilesS3Key":"exports/staging/AWSDynamoDB/{EXPORT_ID}/manifest-files.json","billedSizeBytes":0,"itemCount":{total},"outputFormat":"DYNAMODB_JSON"}}"#
    );
    std::fs::write(dir.join("manifest-summary.json"), &summary).unwrap();
    std::fs::write(
        dir.join("manifest-summary.md5"),
        b64(&Md5::digest(summary.as_bytes())),
    )
    .unwrap();
    dir
}

/// A data file of `lines` (gzip), and its item count.
pub fn data_file(lines: &[String]) -> (Vec<u8>, u64) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    (gzip(&text, 6), lines.len() as u64)
}
