//! The sensitivity test: does the score hear key and groove? For anchors
//! drawn from tracks of stems ([`plan`]), the true stem is scored against
//! its condition beside three negatives made from it or found elsewhere
//! ([`NegativeKind`]): transposed, shifted off the beat, and a stem of
//! another track. The result per mode and kind is a win rate (how often the
//! true stem scores higher) with its 95 % interval, and the mean margin; the
//! model-free [`floor`] decides the same comparisons beside it.
//!
//! A transposed stem is made by a pitch shifter, whose artefacts a model can
//! hear; so the true stem it is compared with goes through the same shifter
//! and back ("in key"), and only the key tells the two apart. The
//! processing control measures the shortcut itself: the untouched true stem
//! against its in-key copy, where only the processing differs.
//!
//! Passes as in accuracy@K ([`scan`](super::scan)): decode and profile every
//! track, draw the anchors, then build each track's windows (perturbing in
//! parallel), describe them for the floor and embed them through the cache;
//! the next batch of tracks is built while one is embedded.

pub mod activity;
pub mod by_interval;
pub mod by_target;
pub mod floor;
pub mod paired;
pub mod plan;
mod summary;
mod windows;

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use super::cache::{CacheStats, EmbeddingCache};
use super::embed::{EmbedStats, Encoder, WindowEmbedder};
use super::progress::Progress;
use super::scan::{scan_tracks, FailedTrack, RescanError, Scan, ScannedTrack};
use super::stats::{Summary, WinRate};
use super::tracks::{discover_tracks, TrackListing, TrackSetError};
use crate::calibration::Calibration;
use crate::contract::{EMBEDDING_DIM, SAMPLE_RATE};
use crate::files::stem_name;
use crate::mode::Mode;
use crate::model::ModelError;
pub use by_interval::{ConditionBreakdown, IntervalBreakdown, TransposedResults};
pub use by_target::TargetBreakdown;
pub use floor::NegativeKind;
pub use paired::{PairedKind, PairedMeasure, PairingError};
pub use plan::{Anchor, DrawRules, SensitivityPlanError};
#[cfg(test)]
pub(crate) use summary::test_record;
pub(crate) use summary::{combined_pair, model_pair};
pub use summary::{
    kind_result, summarize_combined, summarize_floor, summarize_model, summarize_processing, summarize_verdicts,
};
use windows::{Role, WindowRequest, ROLES};

/// Settings of a sensitivity test.
#[derive(Clone, Debug, PartialEq)]
pub struct SensitivityOptions {
    pub anchors: usize,
    pub seed: u64,
    pub modes: Vec<Mode>,
    pub rules: DrawRules,
    /// The model's calibration: with it (and every calibrated mode in
    /// `modes`) the report also has the win rates of the combined fit.
    pub calibration: Option<Calibration>,
}

impl Default for SensitivityOptions {
    fn default() -> Self {
        Self {
            anchors: 300,
            seed: 0,
            modes: Mode::ALL.to_vec(),
            rules: DrawRules::default(),
            calibration: None,
        }
    }
}

/// The win rate of the true stem over one kind of negative.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct KindResult {
    pub kind: NegativeKind,
    /// How often the true stem scored higher (ties count one half).
    pub win: WinRate,
    /// Score of the true stem minus score of the negative.
    pub margin: Summary,
}

/// The model's results in one mode.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModeResult {
    pub mode: Mode,
    pub kinds: Vec<KindResult>,
}

/// The floor's result on one kind, and what it measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FloorResult {
    pub measure: &'static str,
    #[serde(flatten)]
    pub result: KindResult,
}

/// Scores of one anchor under one mode: the true stem's (untouched, and
/// through the shifter and back) and each negative's (`None` for a foreign
/// negative that could not be drawn).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AnchorScores {
    pub truth: f32,
    /// The true stem through the shifter by the carrier and back: what the
    /// transposed negative is compared with.
    pub in_key: f32,
    pub transposed: f32,
    pub shifted: f32,
    pub foreign: Option<f32>,
}

impl AnchorScores {
    /// The score of the negative of `kind` (`None`: no foreign negative).
    pub fn negative(&self, kind: NegativeKind) -> Option<f32> {
        match kind {
            NegativeKind::Transposed => Some(self.transposed),
            NegativeKind::Shifted => Some(self.shifted),
            NegativeKind::Foreign => self.foreign,
        }
    }

    /// The score of the true stem compared with the negative of `kind`,
    /// processed as that negative is.
    pub fn truth_for(&self, kind: NegativeKind) -> f32 {
        match kind {
            NegativeKind::Transposed => self.in_key,
            NegativeKind::Shifted | NegativeKind::Foreign => self.truth,
        }
    }
}

/// The processing control under one measure: the untouched true stem
/// against its in-key copy (through the shifter and back). Nothing but the
/// processing differs, so a model that hears only the music is near 50 %;
/// far above, it tells the transposed negatives by their processing.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProcessingControl {
    /// A mode (`both`, `harmonic`, `percussive`) or `combined`.
    pub measure: String,
    /// How often the untouched stem scored higher (ties count one half).
    pub win: WinRate,
    /// Score of the untouched stem minus score of the in-key copy.
    pub margin: Summary,
}

/// What the combined verdict says about one kind of window: the true stem
/// (which should fit) or a kind of negative (which should clash). Shares of
/// the windows, 0-1; they sum to 1.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerdictShares {
    /// `true stem`, or a negative kind's name.
    pub window: String,
    pub windows: usize,
    pub fits: f64,
    pub unsure: f64,
    pub clashes: f64,
}

/// One anchor as drawn and measured: a row of the CSV.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnchorRecord {
    pub index: usize,
    pub track: String,
    pub start_seconds: f64,
    pub target: String,
    pub condition: Vec<String>,
    pub semitones: i32,
    /// The shifter's first pass, for the in-key and the transposed copy.
    pub carrier: i32,
    /// The window's beat period as measured from its full mix (`None`: no
    /// clear beat, 0.5 s assumed).
    pub beat_seconds: Option<f32>,
    pub delay_seconds: f64,
    pub foreign: Option<ForeignRecord>,
    /// One entry per mode, in the order of the options.
    pub scores: Vec<AnchorScores>,
    /// The floor's scores: the true stem's and the negative's, per kind
    /// (transposed, shifted, foreign).
    pub floor: Vec<(f64, f64)>,
}

/// Where a foreign negative came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ForeignRecord {
    pub track: String,
    pub stem: String,
    pub start_seconds: f64,
}

/// The outcome of a sensitivity test.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SensitivityReport {
    pub root: PathBuf,
    pub seed: u64,
    pub rules: DrawRules,
    pub tracks_found: usize,
    /// Tracks the anchors were drawn from (as the anchor's or the foreign stem's).
    pub tracks_used: usize,
    pub failed_tracks: Vec<FailedTrack>,
    /// The model's results per mode (`modes` in JSON, beside the model's
    /// own description).
    #[serde(rename = "modes")]
    pub model: Vec<ModeResult>,
    /// The win rates of the modes' combined fit (margins in log-odds);
    /// empty without a calibration that covers the modes measured.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub combined: Vec<KindResult>,
    pub floor: Vec<FloorResult>,
    /// How the combined verdict falls on the true stems and on each kind of
    /// negative: what a user reads; empty without a calibration that covers
    /// the modes measured.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verdicts: Vec<VerdictShares>,
    /// The processing control, per mode measured (`None` without anchors),
    /// then for the combined fit when there is one.
    pub processing: Vec<ProcessingControl>,
    /// The same results per family of target stem (bass, drums, ...), the
    /// family with the most anchors first.
    pub by_target: Vec<TargetBreakdown>,
    /// The transposed kind's results per interval of transposition, the
    /// smallest first.
    pub by_interval: Vec<IntervalBreakdown>,
    /// The transposed kind's results where the condition has a pitched
    /// stem, and where it is drums alone (no key to clash with).
    pub by_condition: Vec<ConditionBreakdown>,
    pub anchors: Vec<AnchorRecord>,
    pub warnings: Vec<String>,
    pub audio_seconds: f64,
    pub windows: u64,
    pub embed: EmbedStats,
    pub cache: CacheStats,
    pub seconds: f64,
}

/// Why a sensitivity test could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum SensitivityError {
    #[error(transparent)]
    Tracks(#[from] TrackSetError),
    #[error("{}: {source}", root.display())]
    Plan {
        root: PathBuf,
        source: SensitivityPlanError,
    },
    #[error("{}: the sensitivity test needs at least one anchor", .0.display())]
    NoAnchors(PathBuf),
    #[error(transparent)]
    Rescan(#[from] RescanError),
    #[error("the encoder failed: {0}")]
    Model(#[from] ModelError),
}

/// Runs the sensitivity test on `root/<track>/<stem>.<ext>`.
pub fn evaluate_sensitivity<E: Encoder>(
    encoder: &mut E,
    cache: &EmbeddingCache,
    root: &Path,
    options: &SensitivityOptions,
    progress: &dyn Progress,
) -> Result<SensitivityReport, SensitivityError> {
    let listing = discover_tracks(root)?;
    evaluate_sensitivity_listing(encoder, cache, root, listing, options, progress)
}

/// Runs the sensitivity test on tracks listed by the caller (the trainer's
/// dataset readers); `root` only names the set in the report and in errors.
pub fn evaluate_sensitivity_listing<E: Encoder>(
    encoder: &mut E,
    cache: &EmbeddingCache,
    root: &Path,
    listing: TrackListing,
    options: &SensitivityOptions,
    progress: &dyn Progress,
) -> Result<SensitivityReport, SensitivityError> {
    let started = Instant::now();
    if options.anchors == 0 {
        return Err(SensitivityError::NoAnchors(root.to_owned()));
    }
    let Scan {
        mut tracks,
        failed: failed_tracks,
        warnings,
    } = scan_tracks(&listing, progress, |audio, spec| {
        let names: Vec<String> = spec.stems.iter().map(|p| stem_name(p)).collect();
        (activity::track_activity(audio, &names), names)
    });
    let activities: Vec<plan::TrackActivity> = tracks.iter().map(|t| t.profile.0.clone()).collect();
    let anchors = plan::plan(&activities, options.anchors, options.seed, &options.rules).map_err(|source| {
        SensitivityError::Plan {
            root: root.to_owned(),
            source,
        }
    })?;
    let tracks_used = anchors
        .iter()
        .flat_map(|a| std::iter::once(a.track).chain(a.foreign.map(|f| f.track)))
        .collect::<std::collections::BTreeSet<usize>>()
        .len();

    // Pass 2: each track builds the windows drawn from it.
    let mut per_track: Vec<Vec<WindowRequest>> = vec![Vec::new(); tracks.len()];
    for (i, anchor) in anchors.iter().enumerate() {
        for role in ROLES {
            if let Some(track) = windows::source_track(anchor, role) {
                per_track[track].push(WindowRequest { anchor: i, role });
            }
        }
    }
    let modes = options.modes.clone();
    let slots = anchors.len() * ROLES.len();
    let mut store = vec![0.0f32; slots * modes.len() * EMBEDDING_DIM];
    let mut sink = |slot: usize, m: usize, f: &[f32], wf: &[f32]| {
        // The condition is the row of the bilinear score, every other role a column.
        let half = if slot % ROLES.len() == Role::Condition as usize {
            f
        } else {
            wf
        };
        let at = slot * modes.len() + m;
        store[at * EMBEDDING_DIM..(at + 1) * EMBEDDING_DIM].copy_from_slice(half);
    };
    let mut descriptors = vec![None; slots];
    let mut beats = vec![(None, 0usize); anchors.len()];

    let requested: usize = per_track.iter().map(Vec::len).sum();
    progress.begin("embedding windows", requested as u64);
    let mut embedder = WindowEmbedder::new(encoder, cache, &modes)?;
    // Batches of tracks are built in parallel while the previous batch is
    // embedded on this thread: the perturbations fill the gaps between
    // encoder runs. Windows reach the embedder in track and request order,
    // as if built one by one.
    let mut batches = batches(&mut tracks, &per_track).into_iter();
    let mut ready = batches
        .next()
        .map(|b| build_batch(b, &anchors, &per_track))
        .transpose()?;
    while let Some(built) = ready.take() {
        let mut next = None;
        let mut submitted = Ok(());
        rayon::in_place_scope(|scope| {
            if let Some(batch) = batches.next() {
                let (next, anchors, per_track) = (&mut next, &anchors, &per_track);
                scope.spawn(move |_| *next = Some(build_batch(batch, anchors, per_track)));
            }
            submitted = (|| {
                for track in built {
                    embedder.open_group(track.hash);
                    for window in track.windows {
                        let slot = window.request.anchor * ROLES.len() + window.request.role as usize;
                        if let Some(beat) = window.beat {
                            beats[window.request.anchor] = beat;
                        }
                        descriptors[slot] = Some(window.descriptors);
                        embedder.submit(track.hash, slot, window.samples, &mut sink)?;
                        progress.advance(1);
                    }
                    embedder.close_group(track.hash);
                }
                Ok::<(), ModelError>(())
            })();
        });
        submitted?;
        ready = next.transpose()?;
    }
    embedder.finish(&mut sink)?;
    let embed = embedder.stats();
    progress.end();

    let half = |slot: usize, m: usize| {
        let at = slot * modes.len() + m;
        &store[at * EMBEDDING_DIM..(at + 1) * EMBEDDING_DIM]
    };
    let score = |i: usize, role: Role, m: usize| -> f32 {
        let row = half(i * ROLES.len() + Role::Condition as usize, m);
        let column = half(i * ROLES.len() + role as usize, m);
        row.iter().zip(column).map(|(a, b)| a * b).sum()
    };
    let names = |t: usize| &tracks[t].profile.1;
    let records: Vec<AnchorRecord> = anchors
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let described = |role: Role| descriptors[i * ROLES.len() + role as usize].as_ref();
            let condition = described(Role::Condition).expect("every anchor's condition was built");
            let floor = NegativeKind::ALL
                .iter()
                .map(|&kind| {
                    let truth = described(windows::truth_role_of(kind)).expect("every anchor's truths were built");
                    let negative = described(windows::role_of(kind));
                    let judge = |d: &floor::Descriptors| floor::floor_score(kind, condition, d);
                    (judge(truth), negative.map_or(f64::NAN, judge))
                })
                .collect();
            let (beat_seconds, delay) = beats[i];
            AnchorRecord {
                index: i,
                track: tracks[a.track].name.clone(),
                start_seconds: a.start as f64 / SAMPLE_RATE as f64,
                target: names(a.track)[a.target].clone(),
                condition: a.condition.iter().map(|&s| names(a.track)[s].clone()).collect(),
                semitones: a.semitones,
                carrier: a.carrier,
                beat_seconds,
                delay_seconds: delay as f64 / SAMPLE_RATE as f64,
                foreign: a.foreign.map(|f| ForeignRecord {
                    track: tracks[f.track].name.clone(),
                    stem: names(f.track)[f.stem].clone(),
                    start_seconds: f.start as f64 / SAMPLE_RATE as f64,
                }),
                scores: (0..modes.len())
                    .map(|m| AnchorScores {
                        truth: score(i, Role::Target, m),
                        in_key: score(i, Role::InKey, m),
                        transposed: score(i, Role::Transposed, m),
                        shifted: score(i, Role::Shifted, m),
                        foreign: a.foreign.map(|_| score(i, Role::Foreign, m)),
                    })
                    .collect(),
                floor,
            }
        })
        .collect();

    Ok(SensitivityReport {
        root: root.to_owned(),
        seed: options.seed,
        rules: options.rules,
        tracks_found: listing.tracks.len(),
        tracks_used,
        failed_tracks,
        model: summarize_model(&records, &modes),
        combined: options
            .calibration
            .map_or_else(Vec::new, |c| summarize_combined(&records, &modes, &c)),
        floor: summarize_floor(&records),
        verdicts: options
            .calibration
            .map_or_else(Vec::new, |c| summarize_verdicts(&records, &modes, &c)),
        processing: summarize_processing(&records, &modes, options.calibration.as_ref()),
        by_target: by_target::by_target(&records, &modes, options.calibration.as_ref()),
        by_interval: by_interval::by_interval(&records, &modes, options.calibration.as_ref()),
        by_condition: by_interval::by_condition(&records, &modes, options.calibration.as_ref()),
        anchors: records,
        warnings,
        audio_seconds: tracks.iter().map(|t| t.seconds).sum(),
        windows: embed.windows,
        embed,
        cache: cache.stats(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Windows per batch of tracks built together in pass 2: a few encoder
/// flushes' worth, so that building one batch overlaps embedding the last.
const BATCH_WINDOWS: usize = 48;

/// A track with windows to build, and its position in the scan.
type Pending<'t, P> = (usize, &'t mut ScannedTrack<P>);

/// The tracks with requests, in order, cut into batches of at least
/// [`BATCH_WINDOWS`] windows.
fn batches<'t, P>(tracks: &'t mut [ScannedTrack<P>], per_track: &[Vec<WindowRequest>]) -> Vec<Vec<Pending<'t, P>>> {
    let mut batches = vec![Vec::new()];
    let mut windows = 0;
    for (t, track) in tracks.iter_mut().enumerate().filter(|(t, _)| !per_track[*t].is_empty()) {
        if windows >= BATCH_WINDOWS {
            batches.push(Vec::new());
            windows = 0;
        }
        windows += per_track[t].len();
        batches.last_mut().expect("never empty").push((t, track));
    }
    batches.retain(|b| !b.is_empty());
    batches
}

/// The windows of one track, built.
struct BuiltTrack {
    hash: crate::content_hash::Digest32,
    windows: Vec<windows::BuiltWindow>,
}

/// Builds the requested windows of a batch of tracks, in parallel.
fn build_batch<P: Send>(
    mut batch: Vec<Pending<'_, P>>,
    anchors: &[Anchor],
    per_track: &[Vec<WindowRequest>],
) -> Result<Vec<BuiltTrack>, RescanError> {
    batch
        .par_iter_mut()
        .map(|(t, track)| {
            let audio = track.take_audio()?;
            Ok(BuiltTrack {
                hash: track.hash,
                windows: windows::build(&audio, anchors, &per_track[*t]),
            })
        })
        .collect()
}
