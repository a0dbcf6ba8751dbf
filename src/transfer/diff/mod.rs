//! `ddb diff`'s engine: two sides (a table, through a parallel Scan, or an export in AWS's
//! layout) compared item by item, matched by key, in memory that stays flat in their size.
//!
//! How: an **external sort** to a temp folder. Each side streams its items into its own
//! `sort::Sorter`: records of (key bytes, item line) gather up to `SORT_BUDGET` (8 MB), are
//! sorted by key and written as a run file; both sides are read at once. Then each side's runs
//! are merged back in key order and the two ordered streams are joined like a merge of two
//! sorted files: a key on the right only is added, on the left only removed, on both compared
//! (byte-equal lines are the same without parsing; others are parsed and compared attribute by
//! attribute, `model::changes`). Differences come out in key order. Memory: the two budgets,
//! the scan's pages in flight and a read buffer per run file.

pub mod key;
pub mod show;
pub mod side;
pub mod sort;

use std::path::Path;

use anyhow::{Context, Result};

use crate::errors::Failure;
use crate::model::item::Item;
use crate::term::safe::truncate;
use crate::transfer::export_read::parse_line;

pub use key::KeyNames;
pub use side::Side;

/// Bytes of records a side holds in memory before it writes a sorted run.
pub const SORT_BUDGET: usize = 8 << 20;

/// What to compare.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Attributes left out of the comparison.
    pub ignore: Vec<String>,
    /// Compare which keys exist, not what the items hold (no `Changed`).
    pub keys_only: bool,
    /// Only items whose partition key starts with this (a string partition key).
    pub pk_prefix: Option<String>,
}

/// One difference between the sides, for the key they share or not.
#[derive(Clone, Debug, PartialEq)]
pub enum Difference {
    /// Only on the right.
    Added(Item),
    /// Only on the left.
    Removed(Item),
    /// On both, with different attributes (`--ignore`d ones aside).
    Changed { left: Item, right: Item },
}

/// What was compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub left: u64,
    pub right: u64,
    pub same: u64,
}

/// Compare `left` with `right`, in key order, handing each difference to `each`. Temporary
/// run files go to a folder under `temp` that is removed when the comparison ends.
pub async fn compare(
    left: Side,
    right: Side,
    keys: &KeyNames,
    opts: &Options,
    temp: &Path,
    mut each: impl FnMut(Difference) -> Result<()>,
) -> Result<Totals> {
    let dir = tempfile::Builder::new()
        .prefix("ddb-diff-")
        .tempdir_in(temp)
        .with_context(|| format!("creating a temporary folder in {}", temp.display()))?;
    let gather = |side: Side, name: &'static str| {
        let folder = dir.path().join(name);
        let (keys, opts) = (keys.clone(), opts.clone());
        tokio::spawn(async move {
            std::fs::create_dir(&folder)
                .with_context(|| format!("creating {}", folder.display()))?;
            side.sorted(keys, opts, folder).await
        })
    };
    let (l, r) = (gather(left, "left"), gather(right, "right"));
    // Dropping a handle does not stop its task: abort both when either side fails.
    let (l_abort, r_abort) = (l.abort_handle(), r.abort_handle());
    let both = async { tokio::try_join!(flatten(l), flatten(r)) }.await;
    if both.is_err() {
        l_abort.abort();
        r_abort.abort();
    }
    let ((mut lsorted, lcount), (mut rsorted, rcount)) = both?;
    let mut totals = Totals {
        left: lcount,
        right: rcount,
        same: 0,
    };
    let mut join = Join::default();
    let (mut l, mut r) = (lsorted.next_record()?, rsorted.next_record()?);
    loop {
        let order = match (&l, &r) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((lk, _)), Some((rk, _))) => lk.cmp(rk),
        };
        match order {
            std::cmp::Ordering::Less | std::cmp::Ordering::Greater => {
                // A key on one side only: removed from the left, or added on the right.
                let left = order == std::cmp::Ordering::Less;
                let (k, line) = if left { l.take() } else { r.take() }.expect("compared");
                if let Some(side) = join.repeated(&k, left, !left) {
                    return Err(twice(side, keys, &line));
                }
                let item = parse(&line)?;
                if left {
                    each(Difference::Removed(item))?;
                    l = lsorted.next_record()?;
                } else {
                    each(Difference::Added(item))?;
                    r = rsorted.next_record()?;
                }
            }
            std::cmp::Ordering::Equal => {
                let ((k, lline), (_, rline)) = (l.take().expect("l"), r.take().expect("r"));
                if let Some(side) = join.repeated(&k, true, true) {
                    return Err(twice(side, keys, &lline));
                }
                match changed(&lline, &rline, opts)? {
                    Some(d) => each(d)?,
                    None => totals.same += 1,
                }
                l = lsorted.next_record()?;
                r = rsorted.next_record()?;
            }
        }
    }
    Ok(totals)
}

async fn flatten<T>(task: tokio::task::JoinHandle<Result<T>>) -> Result<T> {
    task.await.context("a side of the comparison panicked")?
}

/// The same key twice in a row on one side (an export can hold that; a table cannot).
#[derive(Default)]
struct Join {
    last: [Option<Vec<u8>>; 2],
}

impl Join {
    /// `key` was read from the left side, the right side, or both: the side that read it
    /// right before, if any.
    fn repeated(&mut self, key: &[u8], left: bool, right: bool) -> Option<&'static str> {
        let mut repeated = None;
        for (i, name) in [(0, "left"), (1, "right")] {
            if [left, right][i] {
                if self.last[i].as_deref() == Some(key) {
                    repeated = repeated.or(Some(name));
                }
                self.last[i] = Some(key.to_vec());
            }
        }
        repeated
    }
}

/// A side held the item of `line`'s key twice.
fn twice(side: &str, keys: &KeyNames, line: &[u8]) -> anyhow::Error {
    let key = parse(line).map(|item| keys.of(&item)).unwrap_or_default();
    let key = crate::model::item::item_to_plain(&key).to_string();
    Failure::InvalidInput(format!(
        "the {side} side holds the same key twice ({}): an export of one table never does",
        truncate(&key, 200)
    ))
    .into()
}

fn parse(line: &[u8]) -> Result<Item> {
    parse_line(line).map_err(|e| anyhow::anyhow!("a sorted record does not read back: {e}"))
}

/// The two lines of one key: the same (byte for byte, or attribute by attribute) or changed.
fn changed(left: &[u8], right: &[u8], opts: &Options) -> Result<Option<Difference>> {
    if opts.keys_only || left == right {
        return Ok(None);
    }
    let (l, r) = (parse(left)?, parse(right)?);
    if crate::model::changes::same_item(&l, &r, &opts.ignore) {
        return Ok(None);
    }
    Ok(Some(Difference::Changed { left: l, right: r }))
}
