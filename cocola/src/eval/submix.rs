//! Coherent sub-mix classification accuracy@K on tracks of stems (paper
//! Tables I-II): the [`protocol`](super::protocol) with real audio, the
//! model and the embedding cache.
//!
//! Two passes over the tracks ([`scan`](super::scan)) keep memory bounded on
//! large sets: the first decodes every track once to learn where its mix is
//! audible (and hashes it for the cache), the plans are drawn, then the
//! second pass embeds each track's requested windows.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::cache::{CacheStats, EmbeddingCache};
use super::embed::{EmbedStats, Encoder, WindowEmbedder};
use super::progress::Progress;
use super::protocol::{self, Accuracy, Plan, PlanError, Side, TrackProfile};
pub use super::scan::FailedTrack;
use super::scan::{scan_tracks, RescanError, Scan};
use super::tracks::{discover_tracks, TrackListing, TrackSetError};
use crate::contract::EMBEDDING_DIM;
use crate::mode::Mode;
use crate::model::{self, Embeddings, ModelError};

/// Settings of an accuracy@K evaluation.
#[derive(Clone, Debug, PartialEq)]
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
        }
    }
}

impl SubmixOptions {
    /// Batches drawn for batch size `k`.
    pub fn batches_for(&self, k: usize) -> usize {
        self.batches.unwrap_or_else(|| self.anchors.div_ceil(k.max(1))).max(1)
    }
}

/// Accuracy@K of one mode.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ModeAccuracy {
    pub mode: Mode,
    #[serde(flatten)]
    pub accuracy: Accuracy,
}

/// A K that could not be evaluated, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
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
    /// One entry per (K, mode), K ascending, modes in the order asked.
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
    #[error(transparent)]
    Rescan(#[from] RescanError),
    #[error("the encoder failed: {0}")]
    Model(#[from] ModelError),
}

/// One window a track must provide: `slot` numbers it among all requests.
#[derive(Clone)]
struct TrackRequest {
    slot: usize,
    start: usize,
    stems: Vec<usize>,
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
    let started = Instant::now();
    // Pass 1: decode, profile, hash; keep the audio while it fits.
    let Scan {
        mut tracks,
        failed: failed_tracks,
        mut warnings,
    } = scan_tracks(&listing, progress, |audio, _| {
        TrackProfile::from_mix(&audio.mix(), audio.stems.len(), options.silence_dbfs)
    });
    for t in tracks
        .iter()
        .filter(|t| t.profile.stems >= 2 && t.profile.audible_starts.is_empty())
    {
        let w = format!(
            "{}: skipped, the mix is silent (below {} dBFS) throughout",
            t.name, options.silence_dbfs
        );
        progress.warn(&w);
        warnings.push(w);
    }
    let profiles: Vec<TrackProfile> = tracks.iter().map(|t| t.profile.clone()).collect();
    let tracks_used = profiles.iter().filter(|p| p.usable()).count();
    if tracks_used == 0 {
        return Err(SubmixError::NoUsableTrack(root.to_owned()));
    }

    // The plans: one per K, each reproducible from the seed on its own.
    let mut ks = options.ks.clone();
    ks.sort_unstable();
    ks.dedup();
    let mut plans: Vec<Plan> = Vec::new();
    let mut skipped = Vec::new();
    for &k in &ks {
        match protocol::plan(&profiles, k, options.batches_for(k), options.seed) {
            Ok(plan) => plans.push(plan),
            Err(e @ (PlanError::NotEnoughMaterial { .. } | PlanError::KTooSmall(_))) => {
                let w = format!("K = {k} skipped: {e}");
                progress.warn(&w);
                warnings.push(w);
                skipped.push(SkippedK {
                    k,
                    reason: e.to_string(),
                });
            }
            Err(PlanError::NoUsableTrack) => return Err(SubmixError::NoUsableTrack(root.to_owned())),
        }
    }

    // Pass 2: every requested window, track by track. Slot = global request
    // number; the store keeps, per slot and mode, only the half the matrix
    // needs: f(anchor) for rows, W f(positive) for columns.
    let mut offsets = Vec::with_capacity(plans.len());
    let mut per_track: Vec<Vec<TrackRequest>> = vec![Vec::new(); tracks.len()];
    let mut sides = Vec::new();
    for plan in &plans {
        offsets.push(sides.len());
        for r in plan.requests() {
            per_track[r.track].push(TrackRequest {
                slot: sides.len(),
                start: r.start,
                stems: r.stems.to_vec(),
            });
            sides.push(r.side);
        }
    }
    let slots = sides.len();
    let modes = options.modes.clone();
    let mut store = vec![0.0f32; slots * modes.len() * EMBEDDING_DIM];
    let mut filled = vec![false; slots * modes.len()];
    let mut sink = |slot: usize, m: usize, f: &[f32], wf: &[f32]| {
        let at = slot * modes.len() + m;
        let half = if sides[slot] == Side::Anchor { f } else { wf };
        store[at * EMBEDDING_DIM..(at + 1) * EMBEDDING_DIM].copy_from_slice(half);
        filled[at] = true;
    };

    progress.begin("embedding sub-mixes", slots as u64);
    let mut embedder = WindowEmbedder::new(encoder, cache, &modes);
    for (t, requests) in per_track.iter().enumerate() {
        if requests.is_empty() {
            continue;
        }
        let track = &mut tracks[t];
        let audio = track.take_audio()?;
        embedder.open_group(track.hash);
        for r in requests {
            embedder.submit(track.hash, r.slot, audio.submix_window(r.start, &r.stems), &mut sink)?;
            progress.advance(1);
        }
        embedder.close_group(track.hash);
    }
    embedder.finish(&mut sink)?;
    let embed_stats = embedder.stats();
    progress.end();
    debug_assert!(filled.iter().all(|&f| f), "every slot and mode was embedded");

    // Eq. 4 per K and mode, with the model's own score function.
    let mut results = Vec::new();
    for (plan, &offset) in plans.iter().zip(&offsets) {
        let plan_slots: Vec<usize> = (offset..offset + 2 * plan.anchors()).collect();
        for (m, &mode) in modes.iter().enumerate() {
            let half = |slot: usize| {
                let at = slot * modes.len() + m;
                &store[at * EMBEDDING_DIM..(at + 1) * EMBEDDING_DIM]
            };
            let accuracy = protocol::accuracy(plan, &plan_slots, |rows: &[usize]| {
                let k = rows.len() / 2;
                let e = Embeddings {
                    embedding: (0..k).flat_map(|i| half(rows[2 * i]).iter().copied()).collect(),
                    w_embedding: (0..k).flat_map(|j| half(rows[2 * j + 1]).iter().copied()).collect(),
                    batch: k,
                };
                (0..k)
                    .flat_map(|i| (0..k).map(move |j| (i, j)))
                    .map(|(i, j)| model::score(&e, i, j))
                    .collect()
            });
            results.push(ModeAccuracy { mode, accuracy });
        }
    }

    Ok(SubmixReport {
        root: root.to_owned(),
        seed: options.seed,
        tracks_found: listing.tracks.len(),
        tracks_used,
        failed_tracks,
        results,
        skipped,
        warnings,
        audio_seconds: tracks.iter().map(|t| t.seconds).sum(),
        windows: slots as u64,
        embed: embed_stats,
        cache: cache.stats(),
        seconds: started.elapsed().as_secs_f64(),
    })
}
