//! Pair sets, sharded by pair: a part holds the full result of each of its
//! pairs (status, and the scored timeline), and the merge puts them back in
//! set order and summarises them exactly as a single run does.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::part::{self, MergeError, Part, PartHeader, SetIdentity};
use super::Shard;
use crate::content_hash::hex;
use crate::eval::pairs::{PairOutcome, PairSetReport, PairStatus};
use crate::eval::pairset::PairSpec;
use crate::mode::Mode;
use crate::model_source::ModelInfo;
use crate::score::{Direction, PairReport, WindowOptions};

/// The `kind` of a pair-set part.
pub const KIND: &str = "pairs";

/// What every shard of a pair set must run with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairSettings {
    pub hop_seconds: f32,
    /// -inf (`--protocol published`) is written as `null`.
    #[serde(deserialize_with = "crate::score::level_from_json")]
    pub silence_dbfs: f32,
    pub modes: Vec<Mode>,
    /// Which way the scores were read (parts without it: the paper's).
    #[serde(default)]
    pub direction: Direction,
}

impl PairSettings {
    pub fn new(windows: &WindowOptions, modes: &[Mode], direction: Direction) -> Self {
        Self {
            hop_seconds: windows.hop_seconds,
            silence_dbfs: windows.silence_dbfs,
            modes: modes.to_vec(),
            direction,
        }
    }
}

/// One pair's result, with its position in the set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairRecord {
    pub index: usize,
    pub id: String,
    pub condition: PathBuf,
    pub stem: PathBuf,
    pub status: PairStatus,
    /// The scored timeline (absent for failed pairs).
    pub report: Option<PairReport>,
}

/// A pair-set part's body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairsBody {
    /// Wall-clock seconds the shard spent scoring.
    pub seconds: f64,
    pub pairs: Vec<PairRecord>,
}

/// The pairs of `shard`: their positions in the set, and the pairs.
pub fn select(pairs: &[PairSpec], shard: Shard) -> (Vec<usize>, Vec<PairSpec>) {
    pairs
        .iter()
        .enumerate()
        .filter(|(p, _)| shard.owns(*p))
        .map(|(p, s)| (p, s.clone()))
        .unzip()
}

/// SHA-256 over the pairs' ids and file paths, relative to the set's folder
/// where they lie inside it (so the set may be mounted elsewhere on other
/// machines).
pub fn fingerprint(set: &Path, pairs: &[PairSpec]) -> String {
    let base = if set.is_dir() {
        set
    } else {
        set.parent().unwrap_or(Path::new(""))
    };
    let mut hasher = Sha256::new();
    hasher.update(b"cocola-pair-set-v1");
    hasher.update((pairs.len() as u64).to_le_bytes());
    for pair in pairs {
        for field in [
            pair.id.as_str().into(),
            pair.condition
                .strip_prefix(base)
                .unwrap_or(&pair.condition)
                .to_string_lossy(),
            pair.stem.strip_prefix(base).unwrap_or(&pair.stem).to_string_lossy(),
        ] {
            hasher.update((field.len() as u64).to_le_bytes());
            hasher.update(field.as_bytes());
        }
    }
    hex(&hasher.finalize())
}

/// The header of a pair-set part.
pub fn header(
    set: &Path,
    pairs: &[PairSpec],
    settings: &PairSettings,
    model: ModelInfo,
    shard: Shard,
) -> serde_json::Result<PartHeader> {
    let identity = SetIdentity {
        path: set.to_owned(),
        items: pairs.len(),
        fingerprint: fingerprint(set, pairs),
    };
    PartHeader::new(KIND, model, settings, identity, shard)
}

/// A shard's part from the report of its pairs (`positions` as [`select`]
/// gave them, in the same order as the report's pairs).
pub fn part(header: PartHeader, positions: &[usize], report: PairSetReport) -> Part<PairsBody> {
    let pairs = positions
        .iter()
        .zip(report.pairs)
        .map(|(&index, o)| PairRecord {
            index,
            id: o.id,
            condition: o.condition,
            stem: o.stem,
            status: o.status,
            report: o.report,
        })
        .collect();
    Part {
        header,
        body: PairsBody {
            seconds: report.seconds,
            pairs,
        },
    }
}

/// Merges pair-set parts whose headers [`part::check_headers`] accepted into
/// the report of the whole set. `seconds` is the shards' total scoring time.
pub fn merge(header: &PartHeader, paths: &[PathBuf]) -> Result<PairSetReport, MergeError> {
    let settings: PairSettings = header.settings()?;
    let mut seconds = 0.0;
    let mut parts = Vec::new();
    for path in paths {
        let body = part::read_part::<PairsBody>(path)?.body;
        seconds += body.seconds;
        parts.push((path.clone(), body.pairs.into_iter().map(|r| (r.index, r)).collect()));
    }
    let records = part::assemble(header.set.items, parts)?;
    let outcomes = records
        .into_iter()
        .map(|r| PairOutcome {
            id: r.id,
            condition: r.condition,
            stem: r.stem,
            status: r.status,
            report: r.report,
        })
        .collect();
    Ok(PairSetReport::from_outcomes(
        outcomes,
        header.model.calibrated,
        &settings.modes,
        seconds,
    ))
}
