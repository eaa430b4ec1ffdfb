//! Evaluations split over many machines: `cocola eval ... --shard I/N` on
//! each (e.g. the tasks of a cluster's array job), then `cocola merge` of the
//! parts, which gives the numbers of one unsharded run, bit for bit.
//!
//! - [`Shard`]: which items a shard does. Items are split round-robin by
//!   their position in the set: pair `p` of a pair set, or track `t` of a
//!   stems folder (in listing order), belongs to shard `p mod N`.
//! - [`part`]: the part file a shard writes: a self-describing header
//!   (model hash, settings, set fingerprint, shard, tool version) and
//!   per-item records from which the final numbers are computed; merging
//!   checks the headers agree and every shard is there exactly once.
//! - [`pairs`], [`stems`]: what a part holds for each kind of evaluation,
//!   and how the parts become the unsharded run's report.
//!
//! A pair's score depends on that pair alone, so a pair-set part holds each
//! pair's scored timeline. Accuracy@K compares sub-mixes of different tracks
//! in one similarity matrix, so no shard can compute it alone: every shard
//! decodes all tracks to draw the same plans (pass 1 is cheap next to the
//! encoder), embeds the sub-mixes of its own tracks, and its part holds
//! those embeddings; the merge fills the matrices from all parts. Exactness
//! rests on the encoder giving a window the same embedding whatever it is
//! batched with (tested in `tests/batch_invariance.rs`).

pub mod pairs;
pub mod part;
pub mod stems;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use part::{MergeError, Part, PartHeader};

/// Largest shard count accepted (a typo guard, far above any cluster job).
pub const MAX_SHARDS: usize = 1_000_000;

/// Shard `index` of `count` (0-based, as a scheduler's array task ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole set: one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    pub fn new(index: usize, count: usize) -> Result<Self, String> {
        if count == 0 || count > MAX_SHARDS {
            return Err(format!(
                "the shard count must be between 1 and {MAX_SHARDS} (got {count})"
            ));
        }
        if index >= count {
            return Err(format!(
                "shard {index} of {count} does not exist: shards are numbered 0 to {} (as array task ids 0-{})",
                count - 1,
                count - 1
            ));
        }
        Ok(Self { index, count })
    }

    /// Whether item `position` (a pair, or a track, in set order) is this shard's.
    pub fn owns(&self, position: usize) -> bool {
        position % self.count == self.index
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let usage = || format!("'{text}' is not a shard: expected I/N, e.g. 3/64 (shard 3 of 64, counted from 0)");
        let (index, count) = text.trim().split_once('/').ok_or_else(usage)?;
        let index = index.trim().parse().map_err(|_| usage())?;
        let count = count.trim().parse().map_err(|_| usage())?;
        Shard::new(index, count)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The unsharded run's report, rebuilt from the parts.
#[derive(Clone, Debug, PartialEq)]
pub enum Merged {
    Pairs(crate::eval::PairSetReport),
    /// With whether any shard used an embedding cache.
    Stems(crate::eval::SubmixReport, bool),
}

/// What `cocola merge` produces: the common header and the report.
#[derive(Clone, Debug, PartialEq)]
pub struct MergeOutcome {
    /// The parts' common header, with `shard` the whole set.
    pub header: PartHeader,
    pub merged: Merged,
}

/// Reads and merges part files of any kind; refuses parts of different
/// models, settings, seeds, sets or tool versions, and missing or duplicated
/// shards.
pub fn merge_files(paths: &[PathBuf]) -> Result<MergeOutcome, MergeError> {
    let headers = paths
        .iter()
        .map(|p| Ok((p.clone(), part::read_header(p)?)))
        .collect::<Result<Vec<_>, MergeError>>()?;
    let header = part::check_headers(&headers)?;
    let merged = match header.kind.as_str() {
        pairs::KIND => Merged::Pairs(pairs::merge(&header, paths)?),
        stems::KIND => {
            let (report, cached) = stems::merge(&header, paths)?;
            Merged::Stems(report, cached)
        }
        other => return Err(MergeError::UnknownKind(other.to_string())),
    };
    Ok(MergeOutcome { header, merged })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_split_round_robin() {
        let s: Shard = "3/64".parse().unwrap();
        assert_eq!(s, Shard { index: 3, count: 64 });
        assert_eq!(s.to_string(), "3/64");
        assert!(s.owns(3) && s.owns(67) && !s.owns(4));
        assert_eq!(" 0 / 1 ".parse::<Shard>().unwrap(), Shard::WHOLE);
        for bad in ["64/64", "1/0", "x/4", "3", "-1/4", "1/2/3", "0/2000000"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert!("4/4".parse::<Shard>().unwrap_err().contains("numbered 0 to 3"));
        // Every position belongs to exactly one shard.
        for count in 1..6 {
            for position in 0..20 {
                let owners = (0..count).filter(|&i| Shard::new(i, count).unwrap().owns(position));
                assert_eq!(owners.count(), 1);
            }
        }
    }
}
