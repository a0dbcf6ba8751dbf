//! The data files of an export (`data/<name>.json.gz`, gzip JSON Lines of `{"Item": {...}}`):
//! written item by item while a Scan runs, and read back line by line (gzip or plain), each
//! hashed as it passes so that its MD5 is checked against the manifest without a second read.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use aws_smithy_types::base64;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use md5::{Digest, Md5};

use crate::model::item::{Item, Typed};
use crate::transfer::format::{hex, new_data_file_name, FileEntry, DATA_DIR};

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
        item_line(item, &mut self.line)?;
        self.line.push(b'\n');
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

/// Append `item` to `out` as a line of a data file, `{"Item": {...}}`, without the newline.
pub fn item_line(item: &Item, out: &mut Vec<u8>) -> io::Result<()> {
    out.extend_from_slice(b"{\"Item\":");
    serde_json::to_writer(&mut *out, &Typed(item)).map_err(io::Error::other)?;
    out.push(b'}');
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::format::{md5_base64, md5_to_base64, md5_to_hex};
    use aws_sdk_dynamodb::types::AttributeValue;

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
}
