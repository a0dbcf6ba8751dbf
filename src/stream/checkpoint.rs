//! The checkpoint of a stream run: per shard, the sequence number up to which every record is
//! done. It never passes a record that failed: `Progress::settle` is the one rule that moves it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::errors::Failure;

/// Per shard of one stream, the sequence number up to which every record is done.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub stream_arn: String,
    pub shards: BTreeMap<String, String>,
}

impl Checkpoint {
    /// None when the file does not exist yet.
    pub fn load(path: &Path) -> Result<Option<Checkpoint>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| format!("reading checkpoint {}", path.display()))
            }
        };
        let checkpoint = crate::model::jsonfile::parse(path, &text)
            .map_err(|e| Failure::InvalidInput(format!("{e} (not a ddb checkpoint)")))?;
        Ok(Some(checkpoint))
    }

    /// Write to a temporary file next to it and rename: a crash leaves the old or the new
    /// checkpoint, never half of one.
    pub fn save(&self, path: &Path) -> Result<()> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "checkpoint".into());
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let text = serde_json::to_string_pretty(self)?;
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().with_context(|| format!("writing checkpoint {}", path.display()))
    }
}

/// The checkpoint, and the shards whose checkpoint must not move again in this run.
#[derive(Debug)]
pub struct Progress {
    pub checkpoint: Checkpoint,
    held: BTreeSet<String>,
}

impl Progress {
    pub fn new(checkpoint: Checkpoint) -> Progress {
        Progress {
            checkpoint,
            held: BTreeSet::new(),
        }
    }

    /// After a handled batch of one shard, `done[i]` tells whether record i is done (applied,
    /// skipped, or sent to the dead-letter file). The checkpoint moves to the last record
    /// before the first one not done, as Lambda's ReportBatchItemFailures does; a shard with a
    /// record not done keeps that checkpoint for the rest of the run, so later batches never
    /// carry it past the failure. Returns whether the checkpoint moved.
    pub fn settle(&mut self, shard_id: &str, sequence_numbers: &[&str], done: &[bool]) -> bool {
        if self.held.contains(shard_id) {
            return false;
        }
        let prefix = done.iter().take_while(|d| **d).count();
        if prefix < done.len() {
            self.held.insert(shard_id.to_string());
        }
        match prefix.checked_sub(1).and_then(|i| sequence_numbers.get(i)) {
            Some(seq) => {
                self.checkpoint
                    .shards
                    .insert(shard_id.to_string(), seq.to_string());
                true
            }
            None => false,
        }
    }

    /// Shards held at a record not done, for the summary.
    pub fn held(&self) -> impl Iterator<Item = &str> {
        self.held.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkpoint_stops_before_the_first_record_not_done_and_stays_there() {
        let mut p = Progress::new(Checkpoint::default());
        let seqs = ["1", "2", "3", "4"];
        assert!(p.settle("a", &seqs, &[true, true, true, true]));
        assert_eq!(p.checkpoint.shards["a"], "4");
        // A failure at the third record: the checkpoint ends at the second...
        let seqs = ["5", "6", "7", "8"];
        assert!(p.settle("a", &seqs, &[true, true, false, true]));
        assert_eq!(p.checkpoint.shards["a"], "6");
        // ...and later batches of that shard, all done, never carry it past the failure.
        assert!(!p.settle("a", &["9", "10"], &[true, true]));
        assert_eq!(p.checkpoint.shards["a"], "6");
        assert_eq!(p.held().collect::<Vec<_>>(), ["a"]);
        // A failure at the first record moves nothing; other shards go on.
        assert!(!p.settle("b", &["1", "2"], &[false, true]));
        assert!(!p.checkpoint.shards.contains_key("b"));
        assert!(p.settle("c", &["1"], &[true]));
        assert_eq!(p.checkpoint.shards["c"], "1");
    }

    #[test]
    fn checkpoint_round_trip_is_atomic_file() {
        let dir = std::env::temp_dir().join(format!("ddb-cp-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cp.json");
        assert_eq!(Checkpoint::load(&path).unwrap(), None);
        let cp = Checkpoint {
            stream_arn: "arn:x".into(),
            shards: BTreeMap::from([("shard-1".into(), "42".into())]),
        };
        cp.save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), Some(cp));
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary file left behind");
        std::fs::write(&path, "{\"stream_arn\": 1}").unwrap();
        let err = Checkpoint::load(&path).unwrap_err().to_string();
        assert!(err.contains("cp.json:1:"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
