//! An external sort of (key, payload) records: records gather in memory up to a budget, are
//! sorted by key and written as one run file to the side's temp folder; at the end the runs are
//! merged back in key order. Memory is the budget plus a read buffer per run, whatever the
//! number of records; a side that fits the budget never touches the disk.
//!
//! A run file is the sorted records one after another, each `[key length u32][payload length
//! u32][key][payload]` (little-endian).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

/// Run files merged at once; more are first merged in groups of this many.
const MAX_FAN_IN: usize = 64;
const READ_BUFFER: usize = 64 << 10;

/// Records to sort, gathered in one arena.
pub struct Sorter {
    dir: PathBuf,
    budget: usize,
    arena: Vec<u8>,
    /// (offset, key length, payload length) of each record in the arena.
    index: Vec<(usize, u32, u32)>,
    runs: Vec<PathBuf>,
    pub records: u64,
}

impl Sorter {
    /// Runs go to `dir` (which must exist) once `budget` bytes of records are held.
    pub fn new(dir: PathBuf, budget: usize) -> Sorter {
        Sorter {
            dir,
            budget,
            // Room for the budget and one more record: the arena never doubles past it.
            arena: Vec::with_capacity(budget.min(1 << 30) + (64 << 10)),
            index: Vec::new(),
            runs: Vec::new(),
            records: 0,
        }
    }

    pub fn push(&mut self, key: &[u8], payload: &[u8]) -> io::Result<()> {
        let at = self.arena.len();
        self.arena.extend_from_slice(key);
        self.arena.extend_from_slice(payload);
        self.index.push((at, len32(key)?, len32(payload)?));
        self.records += 1;
        if self.arena.len() >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn sort(&mut self) {
        let arena = &self.arena;
        let key = |&(at, k, _): &(usize, u32, u32)| &arena[at..at + k as usize];
        self.index.sort_unstable_by(|a, b| key(a).cmp(key(b)));
    }

    /// The records in hand, sorted, as the next run file.
    fn spill(&mut self) -> io::Result<()> {
        self.sort();
        let path = self.dir.join(format!("run-{}", self.runs.len()));
        let mut out = BufWriter::with_capacity(1 << 18, File::create(&path)?);
        for &(at, k, p) in &self.index {
            out.write_all(&k.to_le_bytes())?;
            out.write_all(&p.to_le_bytes())?;
            out.write_all(&self.arena[at..at + (k + p) as usize])?;
        }
        out.into_inner().map_err(|e| e.into_error())?;
        self.runs.push(path);
        self.arena.clear();
        self.index.clear();
        Ok(())
    }

    /// Every record in key order.
    pub fn finish(mut self) -> io::Result<Sorted> {
        if self.runs.is_empty() {
            self.sort();
            return Ok(Sorted::Memory {
                arena: self.arena,
                index: self.index.into_iter(),
            });
        }
        if !self.index.is_empty() {
            self.spill()?;
        }
        let mut runs = std::mem::take(&mut self.runs);
        let mut merged = 0;
        while runs.len() > MAX_FAN_IN {
            let group: Vec<PathBuf> = runs.drain(..MAX_FAN_IN).collect();
            let path = self.dir.join(format!("merged-{merged}"));
            merged += 1;
            let mut out = BufWriter::with_capacity(1 << 18, File::create(&path)?);
            let mut from = Merge::open(&group)?;
            while let Some((key, payload)) = from.next_record()? {
                write_record(&mut out, &key, &payload)?;
            }
            out.into_inner().map_err(|e| e.into_error())?;
            for run in group {
                std::fs::remove_file(run)?;
            }
            runs.push(path);
        }
        Ok(Sorted::Runs(Merge::open(&runs)?))
    }
}

fn len32(bytes: &[u8]) -> io::Result<u32> {
    u32::try_from(bytes.len()).map_err(|_| io::Error::other("a record over 4 GiB"))
}

fn write_record(out: &mut impl Write, key: &[u8], payload: &[u8]) -> io::Result<()> {
    out.write_all(&len32(key)?.to_le_bytes())?;
    out.write_all(&len32(payload)?.to_le_bytes())?;
    out.write_all(key)?;
    out.write_all(payload)
}

/// The records of a side in key order.
pub enum Sorted {
    Memory {
        arena: Vec<u8>,
        index: std::vec::IntoIter<(usize, u32, u32)>,
    },
    Runs(Merge),
}

impl Sorted {
    /// The next (key, payload) in key order; `None` at the end.
    pub fn next_record(&mut self) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
        match self {
            Sorted::Memory { arena, index } => Ok(index.next().map(|(at, k, p)| {
                let key = arena[at..at + k as usize].to_vec();
                let payload = arena[at + k as usize..at + (k + p) as usize].to_vec();
                (key, payload)
            })),
            Sorted::Runs(merge) => merge.next_record(),
        }
    }
}

/// The smallest unread record of one run: (key, run, payload), smallest key first.
type Head = Reverse<(Vec<u8>, usize, Vec<u8>)>;

/// A k-way merge of run files.
pub struct Merge {
    readers: Vec<BufReader<File>>,
    heap: BinaryHeap<Head>,
}

impl Merge {
    fn open(runs: &[PathBuf]) -> io::Result<Merge> {
        let mut merge = Merge {
            readers: Vec::with_capacity(runs.len()),
            heap: BinaryHeap::with_capacity(runs.len()),
        };
        for (i, path) in runs.iter().enumerate() {
            merge
                .readers
                .push(BufReader::with_capacity(READ_BUFFER, File::open(path)?));
            merge.refill(i)?;
        }
        Ok(merge)
    }

    fn refill(&mut self, run: usize) -> io::Result<()> {
        if let Some((key, payload)) = read_record(&mut self.readers[run])? {
            self.heap.push(Reverse((key, run, payload)));
        }
        Ok(())
    }

    pub fn next_record(&mut self) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
        let Some(Reverse((key, run, payload))) = self.heap.pop() else {
            return Ok(None);
        };
        self.refill(run)?;
        Ok(Some((key, payload)))
    }
}

fn read_record(r: &mut impl Read) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut lengths = [0u8; 8];
    match r.read_exact(&mut lengths) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let k = u32::from_le_bytes(lengths[..4].try_into().expect("4 bytes")) as usize;
    let p = u32::from_le_bytes(lengths[4..].try_into().expect("4 bytes")) as usize;
    let mut key = vec![0; k];
    r.read_exact(&mut key)?;
    let mut payload = vec![0; p];
    r.read_exact(&mut payload)?;
    Ok(Some((key, payload)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records pushed in a scrambled order come out sorted, whether they stayed in memory,
    /// spilled to a few runs, or to more runs than one merge takes.
    #[test]
    fn records_come_back_in_key_order_from_memory_and_from_runs() {
        for (budget, n) in [(1 << 20, 500u32), (200, 500), (20, 3000)] {
            let dir = tempfile::tempdir().unwrap();
            let mut sorter = Sorter::new(dir.path().to_path_buf(), budget);
            for i in 0..n {
                let k = (i * 7919) % n; // a permutation of 0..n
                sorter
                    .push(format!("{k:05}").as_bytes(), format!("v{k}").as_bytes())
                    .unwrap();
            }
            let spilled = std::fs::read_dir(dir.path()).unwrap().count();
            let mut sorted = sorter.finish().unwrap();
            let mut seen = 0;
            while let Some((key, payload)) = sorted.next_record().unwrap() {
                assert_eq!(key, format!("{seen:05}").into_bytes());
                assert_eq!(payload, format!("v{seen}").into_bytes());
                seen += 1;
            }
            assert_eq!(seen, n, "budget {budget}");
            match budget {
                1048576 => assert_eq!(spilled, 0),
                _ => assert!(spilled > 1, "budget {budget}: {spilled} runs"),
            }
        }
    }
}
