//! Coherent sub-mix classification accuracy@K on tracks of stems (paper
//! Tables I-II): the [`protocol`](super::protocol) with real audio, the
//! model and the embedding cache.
//!
//! Two passes over the tracks keep time and memory bounded on large sets:
//! the first streams every track once to learn where its mix is audible and
//! to hash its files, or finds that in the cache
//! ([`track_index`](super::track_index)), and the plans are drawn
//! ([`prepare`]); the second reads and embeds only the windows drawn
//! ([`slots`]), or nothing at all when their embeddings are cached. A shard
//! ([`crate::eval::shard`]) runs the first pass over every track and the
//! second over its own tracks only.

pub mod prepare;
pub mod slots;
pub mod whole_file;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::cache::{CacheStats, EmbeddingCache};
use super::embed::{EmbedStats, Encoder};
use super::progress::Progress;
use super::protocol::{Accuracy, Plan};
pub use super::scan::FailedTrack;
use super::shard::Shard;
use super::track_index::WindowError;
use super::tracks::{discover_tracks, TrackListing, TrackSetError};
use crate::calibration::{Calibration, ScoreDistribution};
use crate::mode::Mode;
use crate::model::ModelError;
use crate::score::Measure;
use prepare::Prepared;
pub use prepare::ScanSummary;
use slots::{SlotLayout, SlotStore};

/// Settings of an accuracy@K evaluation (also the settings of its part files).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubmixOptions {
    /// Batch sizes K (each >= 2).
    pub ks: Vec<usize>,
    pub modes: Vec<Mode>,
    /// Anchors per K when `batches` is not given: ceil(anchors / K) batches.
    pub anchors: usize,
    /// Batches per K, overriding `anchors`.
    pub batches: Option<usize>,
    pub seed: u64,
    /// Windows whose full mix is quieter than this (RMS dBFS) are not drawn.
    pub silence_dbfs: f32,
    /// The model's calibration: where it covers every mode of `modes`, the
    /// combined fit's accuracy@K is reported after the modes' (each pair
    /// scored by the mean of its modes' calibrated log-odds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

impl Default for SubmixOptions {
    fn default() -> Self {
        Self {
            ks: vec![2, 8, 16, 64],
            modes: Mode::ALL.to_vec(),
            anchors: 1000,
            batches: None,
            seed: 0,
            silence_dbfs: -60.0,
            calibration: None,
        }
    }
}

impl SubmixOptions {
    /// Batches drawn for batch size `k`.
    pub fn batches_for(&self, k: usize) -> usize {
        self.batches.unwrap_or_else(|| self.anchors.div_ceil(k.max(1))).max(1)
    }

    /// The calibration the combined fit is computed with: `None` without
    /// one, or when `modes` lacks a mode it calibrates.
    pub fn combined_calibration(&self) -> Option<&Calibration> {
        self.calibration.as_ref().filter(|c| c.combines(&self.modes))
    }
}

/// Accuracy@K of one measure (a mode, or the combined fit), and the scores
/// it was decided on: those of the coherent pairs (each anchor with its own
/// positive, the matrix diagonal) and of the random ones (every other
/// entry). A mode's two distributions are raw scores, a model's calibration
/// (`cocola import --calibrate-on`); the combined fit's are log-odds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ModeAccuracy {
    pub mode: Measure,
    #[serde(flatten)]
    pub accuracy: Accuracy,
    /// `None` when a score was not finite.
    pub coherent: Option<ScoreDistribution>,
    pub random: Option<ScoreDistribution>,
}

/// A K that could not be evaluated, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SkippedK {
    pub k: usize,
    pub reason: String,
}

/// The outcome of an accuracy@K evaluation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SubmixReport {
    pub root: PathBuf,
    pub seed: u64,
    pub tracks_found: usize,
    /// Tracks with >= 2 stems and some audible window.
    pub tracks_used: usize,
    pub failed_tracks: Vec<FailedTrack>,
    /// One entry per (K, measure), K ascending: the modes in the order
    /// asked, then the combined fit where calibrated.
    pub results: Vec<ModeAccuracy>,
    pub skipped: Vec<SkippedK>,
    pub warnings: Vec<String>,
    /// Total duration of the decoded tracks.
    pub audio_seconds: f64,
    /// Sub-mix windows embedded (each 5 s, all modes).
    pub windows: u64,
    pub embed: EmbedStats,
    pub cache: CacheStats,
    pub seconds: f64,
}

/// Why an accuracy@K evaluation could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum SubmixError {
    #[error(transparent)]
    Tracks(#[from] TrackSetError),
    #[error("{}: no usable track (every track failed to decode, has fewer than 2 stems, or is silent)", .0.display())]
    NoUsableTrack(PathBuf),
    #[error("{track}: {error}")]
    Window { track: String, error: WindowError },
    /// Only the whole-file reference path ([`whole_file`]) decodes tracks again.
    #[error(transparent)]
    Rescan(#[from] super::scan::RescanError),
    #[error("the encoder failed: {0}")]
    Model(#[from] ModelError),
}

/// Both passes over a set, for a whole run or for one shard: the plans, and
/// the store filled with the slots of the shard's tracks.
pub(crate) struct Passes {
    pub summary: ScanSummary,
    pub plans: Vec<Plan>,
    pub store: SlotStore,
    /// Per slot: whether this run embedded it (its track is the shard's).
    pub owned: Vec<bool>,
    /// Identifies the tracks' audio (see [`crate::eval::shard::stems`]).
    pub fingerprint: String,
    pub embed: EmbedStats,
    pub cache: CacheStats,
    pub seconds: f64,
}

/// Evaluates accuracy@K on `root/<track>/<stem>.<ext>`.
pub fn evaluate_submixes<E: Encoder>(
    encoder: &mut E,
    cache: &EmbeddingCache,
    root: &Path,
    options: &SubmixOptions,
    progress: &dyn Progress,
) -> Result<SubmixReport, SubmixError> {
    let listing = discover_tracks(root)?;
    evaluate_listing(encoder, cache, root, listing, options, progress)
}

/// Evaluates accuracy@K on tracks listed by the caller, for layouts other
/// than `root/<track>/<stem>.<ext>` (the trainer's dataset readers); `root`
/// only names the set in the report and in errors.
pub fn evaluate_listing<E: Encoder>(
    encoder: &mut E,
    cache: &EmbeddingCache,
    root: &Path,
    listing: TrackListing,
    options: &SubmixOptions,
    progress: &dyn Progress,
) -> Result<SubmixReport, SubmixError> {
    let passes = run_passes(encoder, cache, root, &listing, options, progress, Shard::WHOLE)?;
    debug_assert!(passes.owned.iter().all(|&o| o), "a whole run embeds every slot");
    let results = slots::accuracies(&passes.plans, &passes.store, options);
    Ok(SubmixReport::new(
        root,
        options.seed,
        passes.summary,
        results,
        passes.plans.iter().map(|p| 2 * p.anchors() as u64).sum(),
        passes.embed,
        passes.cache,
        passes.seconds,
    ))
}

/// Pass 1 over every track, then pass 2 over the tracks of `shard` (by
/// position in the listing).
pub(crate) fn run_passes<E: Encoder>(
    encoder: &mut E,
    cache: &EmbeddingCache,
    root: &Path,
    listing: &TrackListing,
    options: &SubmixOptions,
    progress: &dyn Progress,
    shard: Shard,
) -> Result<Passes, SubmixError> {
    // Before hours of decoding: the modes must be the model's.
    for &mode in &options.modes {
        encoder.input().check_mode(mode).map_err(ModelError::BadInput)?;
    }
    let started = Instant::now();
    let Prepared { tracks, plans, summary } =
        prepare::prepare(listing, root, options, progress, &cache.track_indexes())?;
    let failed: Vec<String> = summary.failed_tracks.iter().map(|f| f.track.clone()).collect();
    let fingerprint = super::shard::stems::fingerprint(tracks.iter().map(|t| (t.name.as_str(), &t.key)), &failed);
    let owns_track: Vec<bool> = tracks.iter().map(|t| shard.owns(t.listing_index)).collect();
    let (store, embed) = slots::embed_slots(
        encoder,
        cache,
        &tracks,
        &plans,
        &options.modes,
        |t| owns_track[t],
        progress,
    )?;
    let owned = SlotLayout::of(&plans)
        .slots
        .iter()
        .map(|&(t, _)| owns_track[t])
        .collect();
    debug_assert!(
        SlotLayout::of(&plans)
            .slots
            .iter()
            .enumerate()
            .all(|(slot, &(t, _))| !owns_track[t] || store.is_filled(slot)),
        "every slot of the shard's tracks was embedded"
    );
    Ok(Passes {
        summary,
        plans,
        store,
        owned,
        fingerprint,
        embed,
        cache: cache.stats(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

impl SubmixReport {
    /// The report of a finished run (or of merged shards).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        root: &Path,
        seed: u64,
        summary: ScanSummary,
        results: Vec<ModeAccuracy>,
        windows: u64,
        embed: EmbedStats,
        cache: CacheStats,
        seconds: f64,
    ) -> Self {
        Self {
            root: root.to_owned(),
            seed,
            tracks_found: summary.tracks_found,
            tracks_used: summary.tracks_used,
            failed_tracks: summary.failed_tracks,
            results,
            skipped: summary.skipped,
            warnings: summary.warnings,
            audio_seconds: summary.audio_seconds,
            windows,
            embed,
            cache,
            seconds,
        }
    }
}
