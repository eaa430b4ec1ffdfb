//! Coherent sub-mix classification accuracy@K on tracks of stems (paper
//! Tables I-II): the [`protocol`](super::protocol) with real audio, the
//! model and the embedding cache.
//!
//! Two passes over the tracks keep memory bounded on large sets: the first
//! decodes every track once to learn where its mix is audible (and hashes it
//! for the cache), the plans are drawn, then the second pass embeds each
//! track's requested windows. Decoded tracks are kept between the passes
//! while they fit in [`RETAIN_BYTES`]; larger sets are decoded again.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use super::cache::{CacheStats, Digest32, EmbeddingCache};
use super::embed::{EmbedStats, Encoder, WindowEmbedder};
use super::progress::Progress;
use super::protocol::{self, Accuracy, Plan, PlanError, Side, TrackProfile};
use super::tracks::{discover_tracks, TrackAudio, TrackListing, TrackSetError, TrackSpec};
use crate::calibration::ScoreDistribution;
use crate::contract::{EMBEDDING_DIM, SAMPLE_RATE};
use crate::mode::Mode;
use crate::model::{self, Embeddings, ModelError};

/// Decoded audio kept in memory between the two passes (1 GiB: a test split
/// of MUSDB18-HQ at 16 kHz is about 3 GB, a quick check far less).
pub const RETAIN_BYTES: usize = 1 << 30;

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

/// Accuracy@K of one mode, and the scores it was decided on: those of the
/// coherent pairs (each anchor with its own positive, the matrix diagonal)
/// and of the random ones (every other entry). These two distributions are
/// a model's calibration (`cocola import --calibrate-on`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ModeAccuracy {
    pub mode: Mode,
    #[serde(flatten)]
    pub accuracy: Accuracy,
    /// `None` when a score was not finite.
    pub coherent: Option<ScoreDistribution>,
    pub random: Option<ScoreDistribution>,
}

/// A K that could not be evaluated, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SkippedK {
    pub k: usize,
    pub reason: String,
}

/// A track that could not be decoded.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FailedTrack {
    pub track: String,
    pub error: String,
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
    #[error("{track}: the stem files changed while the evaluation ran")]
    TrackChanged { track: String },
    #[error("{track}: {error}")]
    Decode { track: String, error: String },
    #[error("the encoder failed: {0}")]
    Model(#[from] ModelError),
    #[error("{0}")]
    UnsupportedMode(String),
}

/// One window a track must provide: `slot` numbers it among all requests.
#[derive(Clone)]
struct TrackRequest {
    slot: usize,
    start: usize,
    stems: Vec<usize>,
}

/// A track after the first pass.
struct Scanned {
    name: String,
    spec: TrackSpec,
    profile: TrackProfile,
    hash: Digest32,
    seconds: f64,
    audio: Option<TrackAudio>,
}

fn decode_track(spec: &TrackSpec) -> Result<(TrackAudio, Option<String>), String> {
    let stems = spec
        .stems
        .iter()
        .map(|p| crate::audio::load_mono_16k(p).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TrackAudio::from_stems(&spec.name, stems))
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
    for &mode in &options.modes {
        encoder.input().check_mode(mode).map_err(SubmixError::UnsupportedMode)?;
    }
    let started = Instant::now();
    let mut warnings = listing.warnings.clone();
    for w in &listing.warnings {
        progress.warn(w);
    }

    // Pass 1: decode, profile, hash; keep the audio while it fits.
    progress.begin("decoding tracks", listing.tracks.len() as u64);
    let retained = AtomicUsize::new(0);
    let pass_warnings = Mutex::new(Vec::new());
    let scanned: Vec<Result<Scanned, FailedTrack>> = listing
        .tracks
        .par_iter()
        .map(|spec| {
            let result = decode_track(spec);
            progress.advance(1);
            let (audio, warning) = result.map_err(|error| FailedTrack {
                track: spec.name.clone(),
                error,
            })?;
            if let Some(w) = warning {
                progress.warn(&w);
                pass_warnings.lock().unwrap_or_else(|e| e.into_inner()).push(w);
            }
            let profile = TrackProfile::from_mix(&audio.mix(), audio.stems.len(), options.silence_dbfs);
            let bytes = audio.bytes();
            let keep = retained.fetch_add(bytes, Ordering::Relaxed) + bytes <= RETAIN_BYTES;
            if !keep {
                retained.fetch_sub(bytes, Ordering::Relaxed);
            }
            Ok(Scanned {
                name: spec.name.clone(),
                spec: spec.clone(),
                hash: audio.content_hash(),
                seconds: audio.len() as f64 / SAMPLE_RATE as f64,
                profile,
                audio: keep.then_some(audio),
            })
        })
        .collect();
    progress.end();
    let mut pass_warnings = pass_warnings.into_inner().unwrap_or_else(|e| e.into_inner());
    pass_warnings.sort();
    warnings.extend(pass_warnings);

    let mut tracks = Vec::new();
    let mut failed_tracks = Vec::new();
    for s in scanned {
        match s {
            Ok(track) => tracks.push(track),
            Err(failed) => {
                let w = format!("{}: skipped, cannot decode: {}", failed.track, failed.error);
                progress.warn(&w);
                warnings.push(w);
                failed_tracks.push(failed);
            }
        }
    }
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
        let audio = match track.audio.take() {
            Some(audio) => audio,
            None => {
                let (audio, _) = decode_track(&track.spec).map_err(|error| SubmixError::Decode {
                    track: track.name.clone(),
                    error,
                })?;
                if audio.content_hash() != track.hash {
                    return Err(SubmixError::TrackChanged {
                        track: track.name.clone(),
                    });
                }
                audio
            }
        };
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
            let (mut coherent, mut random) = (Vec::new(), Vec::new());
            let accuracy = protocol::accuracy(plan, &plan_slots, |rows: &[usize]| {
                let k = rows.len() / 2;
                let e = Embeddings {
                    embedding: (0..k).flat_map(|i| half(rows[2 * i]).iter().copied()).collect(),
                    w_embedding: (0..k).flat_map(|j| half(rows[2 * j + 1]).iter().copied()).collect(),
                    batch: k,
                };
                let sim: Vec<f32> = (0..k)
                    .flat_map(|i| (0..k).map(move |j| (i, j)))
                    .map(|(i, j)| model::score(&e, i, j))
                    .collect();
                for (at, &s) in sim.iter().enumerate() {
                    if at / k == at % k {
                        coherent.push(s);
                    } else {
                        random.push(s);
                    }
                }
                sim
            });
            results.push(ModeAccuracy {
                mode,
                accuracy,
                coherent: ScoreDistribution::from_scores(&coherent),
                random: ScoreDistribution::from_scores(&random),
            });
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
