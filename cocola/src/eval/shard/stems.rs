//! Accuracy@K, sharded by track: every shard decodes all tracks and draws
//! the same plans, embeds the sub-mixes ("slots") of its own tracks, and
//! writes their embedding halves; the merge fills the similarity matrices
//! from every part and computes Eq. 4 exactly as a single run does.
//!
//! A part holds, per slot of its tracks, one half-embedding per mode (512
//! f32 each, f(anchor) or W f(positive)) as little-endian bytes in base64:
//! 8 KB per slot with three modes, about 64 MB over all parts for the
//! default 1 000 anchors per K = 2, 8, 16, 64.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::part::{self, MergeError, Part, PartHeader, SetIdentity};
use super::Shard;
use crate::content_hash::hex;
use crate::eval::cache::{CacheStats, EmbeddingCache};
use crate::eval::embed::{EmbedStats, Encoder};
use crate::eval::progress::Progress;
use crate::eval::protocol::Plan;
use crate::eval::submix::slots::{self, SlotLayout, SlotStore};
use crate::eval::submix::{run_passes, ScanSummary, SubmixError, SubmixOptions, SubmixReport};
use crate::eval::tracks::TrackListing;
use crate::model_source::ModelInfo;

/// The `kind` of an accuracy@K part.
pub const KIND: &str = "stems";

/// The settings a part records: the options, with the Ks in the order they
/// are evaluated (ascending, without repeats), so that "8,2" and "2,8" agree.
fn settings(options: &SubmixOptions) -> SubmixOptions {
    let mut ks = options.ks.clone();
    ks.sort_unstable();
    ks.dedup();
    SubmixOptions { ks, ..options.clone() }
}

/// The embedding halves of one slot, every mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlotRecord {
    pub slot: usize,
    /// modes x 512 f32, little-endian, base64.
    pub halves: String,
}

/// An accuracy@K part's body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StemsBody {
    /// Pass 1 over all tracks: the same in every part.
    pub scan: ScanSummary,
    /// The plans drawn from all tracks: the same in every part.
    pub plans: Vec<Plan>,
    pub slots: Vec<SlotRecord>,
    pub embed: EmbedStats,
    /// Whether the shard used an embedding cache, and its counters.
    pub cache_on: bool,
    pub cache: CacheStats,
    /// Wall-clock seconds of the shard.
    pub seconds: f64,
}

/// Runs one shard of accuracy@K on `listing` and returns its part.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_shard<E: Encoder>(
    encoder: &mut E,
    cache: &EmbeddingCache,
    root: &Path,
    listing: TrackListing,
    options: &SubmixOptions,
    model: ModelInfo,
    shard: Shard,
    progress: &dyn Progress,
) -> Result<Part<StemsBody>, SubmixError> {
    let passes = run_passes(encoder, cache, root, &listing, options, progress, shard)?;
    let slots = (0..passes.store.slots())
        .filter(|&slot| passes.owned[slot])
        .map(|slot| SlotRecord {
            slot,
            halves: encode(passes.store.slot(slot)),
        })
        .collect();
    let identity = SetIdentity {
        path: root.to_owned(),
        items: passes.store.slots(),
        fingerprint: passes.fingerprint.clone(),
    };
    let header =
        PartHeader::new(KIND, model, &settings(options), identity, shard).expect("the settings are plain data");
    Ok(Part {
        header,
        body: StemsBody {
            scan: passes.summary,
            plans: passes.plans,
            slots,
            embed: passes.embed,
            cache_on: cache.dir().is_some(),
            cache: passes.cache,
            seconds: passes.seconds,
        },
    })
}

/// SHA-256 over the tracks' names and audio hashes, and the names of the
/// tracks that failed to decode: equal fingerprints mean the shards saw the
/// same audio.
pub(crate) fn fingerprint<'a>(tracks: impl Iterator<Item = (&'a str, &'a [u8; 32])>, failed: &[String]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"cocola-stems-set-v1");
    for (name, hash) in tracks {
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update(hash);
    }
    for name in failed {
        hasher.update(b"failed");
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
    }
    hex(&hasher.finalize())
}

fn encode(values: &[f32]) -> String {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    BASE64.encode(bytes)
}

fn decode(text: &str, width: usize) -> Result<Vec<f32>, String> {
    // Checked before decoding: a record cannot make us allocate more than a slot.
    if text.len() != (width * 4).div_ceil(3) * 4 {
        return Err(format!(
            "{} base64 characters, expected {}",
            text.len(),
            (width * 4).div_ceil(3) * 4
        ));
    }
    let bytes = BASE64.decode(text).map_err(|e| e.to_string())?;
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if values.len() != width || values.iter().any(|v| !v.is_finite()) {
        return Err(format!("expected {width} finite values"));
    }
    Ok(values)
}

/// Merges accuracy@K parts whose headers [`part::check_headers`] accepted
/// into the report of the whole set. Embedding and cache counters and
/// seconds are the shards' sums; the flag says whether any shard cached.
pub fn merge(header: &PartHeader, paths: &[PathBuf]) -> Result<(SubmixReport, bool), MergeError> {
    let settings: SubmixOptions = header.settings()?;
    let width = SlotStore::slot_width(settings.modes.len());
    let mut first: Option<(PathBuf, ScanSummary, Vec<Plan>)> = None;
    let mut embed = EmbedStats::default();
    let mut cache = CacheStats::default();
    let mut seconds = 0.0;
    let mut cache_on = false;
    let mut parts = Vec::new();
    for path in paths {
        let body = part::read_part::<StemsBody>(path)?.body;
        cache_on |= body.cache_on;
        match &first {
            None => first = Some((path.clone(), body.scan.clone(), body.plans.clone())),
            Some((first_path, scan, plans)) => {
                let what = if *scan != body.scan {
                    Some("decoded tracks (failures, warnings or durations)")
                } else if *plans != body.plans {
                    Some("drawn windows")
                } else {
                    None
                };
                if let Some(what) = what {
                    return Err(MergeError::Mismatch {
                        what,
                        first_path: first_path.clone(),
                        first: "as in this part".into(),
                        other_path: path.clone(),
                        other: "differs from the first part".into(),
                    });
                }
            }
        }
        add_embed(&mut embed, &body.embed);
        add_cache(&mut cache, &body.cache);
        seconds += body.seconds;
        let records = body
            .slots
            .into_iter()
            .map(|r| {
                let values = decode(&r.halves, width).map_err(|reason| MergeError::Invalid {
                    path: path.clone(),
                    reason: format!("slot {}: {reason}", r.slot),
                })?;
                Ok((r.slot, values))
            })
            .collect::<Result<Vec<_>, MergeError>>()?;
        parts.push((path.clone(), records));
    }
    let (first_path, scan, plans) = first.ok_or(MergeError::NoParts)?;
    let layout = SlotLayout::of(&plans);
    if layout.len() != header.set.items {
        return Err(MergeError::Invalid {
            path: first_path,
            reason: format!(
                "{} slots in the plans, {} in the header",
                layout.len(),
                header.set.items
            ),
        });
    }
    // Records first: they are in memory already, and only once every slot is
    // there is the store (items x modes x 2 KB) allocated.
    let records = part::assemble(layout.len(), parts)?;
    let mut store = SlotStore::new(layout.len(), settings.modes.len());
    for (slot, values) in records.into_iter().enumerate() {
        store.put_slot(slot, &values);
    }
    let results = slots::accuracies(&plans, &store, &settings);
    let report = SubmixReport::new(
        &header.set.path,
        settings.seed,
        scan,
        results,
        layout.len() as u64,
        embed,
        cache,
        seconds,
    );
    Ok((report, cache_on))
}

fn add_embed(total: &mut EmbedStats, part: &EmbedStats) {
    total.windows += part.windows;
    total.cached_rows += part.cached_rows;
    total.encoder_rows += part.encoder_rows;
    total.encoder_runs += part.encoder_runs;
}

fn add_cache(total: &mut CacheStats, part: &CacheStats) {
    total.hits += part.hits;
    total.misses += part.misses;
    total.files_written += part.files_written;
    total.files_ignored += part.files_ignored;
    total.write_failures += part.write_failures;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_round_trip_and_bad_records_are_refused() {
        let values: Vec<f32> = (0..1536).map(|i| (i as f32 * 0.37).sin() * 1e3).collect();
        let text = encode(&values);
        assert_eq!(decode(&text, 1536).unwrap(), values);
        assert!(decode(&text, 512).is_err());
        assert!(decode("AAAA", 1).unwrap_err().contains("base64 characters"));
        assert_eq!(decode(&encode(&[0.5]), 1).unwrap(), [0.5]);
        let mut nan = values.clone();
        nan[3] = f32::NAN;
        assert!(decode(&encode(&nan), 1536).is_err());
        let garbage = "!".repeat(text.len());
        assert!(decode(&garbage, 1536).is_err());
    }
}
