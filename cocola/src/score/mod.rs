//! COCOLA scores of a (condition, stem) pair: per mode, per 5 s window, and
//! aggregated over a whole file, with the model's calibration applied.
//!
//! One window costs one batched encoder run: the condition and the stem, each
//! under the three mode masks, are six rows of a single ORT call. Longer
//! signals are cut into sliding windows ([`windows`]), one encoder run each;
//! the features of a window's two sides are computed in parallel.

pub mod rank;
pub mod windows;

use std::cell::RefCell;

use rayon::prelude::*;
use serde::{Deserialize, Deserializer, Serialize};

use crate::calibration::{Calibration, Verdict};
use crate::contract::{EMBEDDING_DIM, FEATURE_LEN, SAMPLE_RATE, WINDOW_SAMPLES};
use crate::features::FeatureExtractor;
use crate::mode::Mode;
use crate::model::{Embeddings, Model, ModelError};
pub use windows::WindowOptions;
use windows::{level_is_silent, window_level_dbfs, window_slice, window_starts};

/// Encoder rows per window: (condition, stem) x 3 modes.
const ROWS_PER_WINDOW: usize = 2 * Mode::ALL.len();
/// Encoder rows per run when embedding loose windows ([`Scorer::embed_windows`]),
/// the evaluation's measured best (see `eval::embed::ROWS_PER_RUN`).
const ROWS_PER_RUN: usize = crate::eval::embed::ROWS_PER_RUN;
/// Windows per encoder run. One window (6 rows) is the fastest per row: the
/// per-call overhead is negligible, while larger batches outgrow the caches
/// (32 rows cost ~1.3x per row of 6-8 rows, measured with ONNX Runtime 1.31
/// on this encoder; see `eval::embed::ROWS_PER_RUN`).
const WINDOWS_PER_RUN: usize = 1;

/// The score of one mode.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModeScore {
    pub mode: Mode,
    /// Raw bilinear COCOLA score f(condition)^T W f(stem).
    pub raw: f32,
    /// Calibrated 0-100 fit; `None` when the model carries no calibration.
    pub fit: Option<f32>,
    pub verdict: Option<Verdict>,
}

impl ModeScore {
    fn new(mode: Mode, raw: f32, calibration: Option<&Calibration>) -> Self {
        let fit = calibration.map(|c| c.mode(mode).fit(raw));
        Self {
            mode,
            raw,
            fit,
            verdict: fit.map(Verdict::from_fit),
        }
    }
}

/// Scores of all three modes, in [`Mode::ALL`] order.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowScores {
    pub modes: [ModeScore; 3],
}

impl WindowScores {
    pub fn get(&self, mode: Mode) -> &ModeScore {
        &self.modes[Mode::ALL.iter().position(|&m| m == mode).expect("every mode is in ALL")]
    }

    fn from_raw(raw: [f32; 3], calibration: Option<&Calibration>) -> Self {
        let modes = std::array::from_fn(|i| ModeScore::new(Mode::ALL[i], raw[i], calibration));
        Self { modes }
    }
}

/// What happened to one window.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum WindowOutcome {
    Scored(WindowScores),
    /// Not scored: one side (or both) is below the silence threshold.
    Silent {
        condition: bool,
        stem: bool,
    },
}

/// One window of a pair's timeline.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowReport {
    pub start_seconds: f64,
    pub end_seconds: f64,
    /// RMS level of each side; -inf (JSON `null`) for digital silence.
    #[serde(deserialize_with = "level_from_json")]
    pub condition_dbfs: f32,
    #[serde(deserialize_with = "level_from_json")]
    pub stem_dbfs: f32,
    pub outcome: WindowOutcome,
}

/// The whole result for a pair of signals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairReport {
    pub duration_seconds: f64,
    pub windows: Vec<WindowReport>,
    /// Mean raw score per mode over the scored windows, calibrated; `None`
    /// when every window was silent.
    pub aggregate: Option<WindowScores>,
}

/// JSON has no infinities: serde_json writes the -inf level of a silent
/// window as `null`, so `null` reads back as -inf (a report read from JSON
/// equals the one written, bit for bit).
fn level_from_json<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f32, D::Error> {
    Ok(Option::<f32>::deserialize(deserializer)?.unwrap_or(f32::NEG_INFINITY))
}

impl PairReport {
    pub fn scored_windows(&self) -> usize {
        self.windows
            .iter()
            .filter(|w| matches!(w.outcome, WindowOutcome::Scored(_)))
            .count()
    }
}

thread_local! {
    // Each rayon worker keeps its own extractor (FFT plans, scratch) alive.
    static EXTRACTOR: RefCell<FeatureExtractor> = RefCell::new(FeatureExtractor::new());
}

/// Writes the three mode-masked feature tensors of `audio` into `out`
/// (3 x FEATURE_LEN), computing the features once.
fn masked_features_into(audio: &[f32], out: &mut [f32]) {
    let (first, rest) = out.split_at_mut(FEATURE_LEN);
    EXTRACTOR.with(|e| e.borrow_mut().extract_into(audio, first));
    for (chunk, mode) in rest.chunks_exact_mut(FEATURE_LEN).zip(&Mode::ALL[1..]) {
        chunk.copy_from_slice(first);
        mode.apply_mask(chunk);
    }
    // Mode::ALL[0] is Both: the first copy stays unmasked.
}

/// Scores pairs of 16 kHz mono signals with one model.
///
/// A scorer may hold several sessions of the same model: the rows of one
/// encoder run are then split between them and run in parallel, one thread
/// each. On this encoder that beats one session with several intra-op
/// threads (measured with ONNX Runtime 1.31 on 2 cores: 4.5 ms per row with
/// 3 rows on one thread, 7.8 ms per row with 6 rows on two intra-op threads).
pub struct Scorer {
    sessions: Vec<Model>,
    batch: Vec<f32>,
}

impl Scorer {
    /// A scorer running one session (the plugin's worker, `cocola score -j 1`).
    pub fn new(model: Model) -> Self {
        Self::with_sessions(vec![model])
    }

    /// A scorer splitting each run between `sessions`, which must all be the
    /// same model (loaded once each, e.g. with one intra-op thread).
    ///
    /// # Panics
    /// If `sessions` is empty.
    pub fn with_sessions(sessions: Vec<Model>) -> Self {
        assert!(!sessions.is_empty(), "a scorer needs at least one session");
        Self {
            sessions,
            batch: Vec::new(),
        }
    }

    pub fn model(&self) -> &Model {
        &self.sessions[0]
    }

    /// Embeds `rows` feature tensors (`rows x FEATURE_LEN` values), split
    /// evenly between the sessions, which run in parallel.
    pub fn embed_features(&mut self, features: &[f32], rows: usize) -> Result<Embeddings, ModelError> {
        embed_split(&mut self.sessions, features, rows)
    }

    /// Embeddings of 5 s windows (longer input is cut to 5 s, shorter is
    /// zero-padded) seen under `mode`: row i is `windows[i]`. Features run in
    /// parallel, the encoder over a few rows per run.
    pub fn embed_windows(&mut self, windows: &[&[f32]], mode: Mode) -> Result<Embeddings, ModelError> {
        let mut all = Embeddings {
            embedding: Vec::with_capacity(windows.len() * EMBEDDING_DIM),
            w_embedding: Vec::with_capacity(windows.len() * EMBEDDING_DIM),
            batch: 0,
        };
        for chunk in windows.chunks(ROWS_PER_RUN) {
            self.batch.resize(chunk.len() * FEATURE_LEN, 0.0);
            self.batch
                .par_chunks_mut(FEATURE_LEN)
                .zip(chunk)
                .for_each(|(out, window)| {
                    EXTRACTOR.with(|e| e.borrow_mut().extract_into(window, out));
                    mode.apply_mask(out);
                });
            let part = embed_split(&mut self.sessions, &self.batch, chunk.len())?;
            all.embedding.extend_from_slice(&part.embedding);
            all.w_embedding.extend_from_slice(&part.w_embedding);
            all.batch += part.batch;
        }
        Ok(all)
    }

    /// The paper's similarity matrix under `mode`: entry `[i][j]` (row-major,
    /// `conditions.len() x stems.len()`) is the raw score of `stems[j]` with
    /// `conditions[i]`, each side one 5 s window as in [`Self::embed_windows`].
    pub fn score_matrix(
        &mut self,
        conditions: &[&[f32]],
        stems: &[&[f32]],
        mode: Mode,
    ) -> Result<Vec<f32>, ModelError> {
        let windows: Vec<&[f32]> = conditions.iter().chain(stems).copied().collect();
        let embeddings = self.embed_windows(&windows, mode)?;
        let first_stem = conditions.len();
        Ok((0..conditions.len())
            .flat_map(|i| (0..stems.len()).map(move |j| (i, first_stem + j)))
            .map(|(condition, stem)| crate::model::score(&embeddings, condition, stem))
            .collect())
    }

    /// Scores of one 5 s window of each side (longer input is cut to 5 s,
    /// shorter is zero-padded), all three modes in one encoder run.
    pub fn score_window(&mut self, condition: &[f32], stem: &[f32]) -> Result<WindowScores, ModelError> {
        Ok(self.score_windows(&[(condition, stem)])?[0])
    }

    /// Scores many window pairs: features in parallel, encoder runs batched.
    pub fn score_windows(&mut self, pairs: &[(&[f32], &[f32])]) -> Result<Vec<WindowScores>, ModelError> {
        let mut results = Vec::with_capacity(pairs.len());
        for chunk in pairs.chunks(WINDOWS_PER_RUN) {
            let rows = chunk.len() * ROWS_PER_WINDOW;
            self.batch.resize(rows * FEATURE_LEN, 0.0);
            // Row layout per window: condition x modes, then stem x modes.
            self.batch
                .par_chunks_mut(3 * FEATURE_LEN)
                .enumerate()
                .for_each(|(i, out)| {
                    let (condition, stem) = chunk[i / 2];
                    masked_features_into(if i % 2 == 0 { condition } else { stem }, out);
                });
            let embeddings = embed_split(&mut self.sessions, &self.batch, rows)?;
            let calibration = self.model().metadata().calibration.as_ref();
            for w in 0..chunk.len() {
                let base = w * ROWS_PER_WINDOW;
                let raw =
                    std::array::from_fn(|m| crate::model::score(&embeddings, base + m, base + Mode::ALL.len() + m));
                results.push(WindowScores::from_raw(raw, calibration));
            }
        }
        Ok(results)
    }

    /// Scores a pair of whole signals over sliding windows. The shorter side
    /// counts as silence where it has ended. `progress(done, total)` is called
    /// as windows complete.
    pub fn score_pair(
        &mut self,
        condition: &[f32],
        stem: &[f32],
        options: &WindowOptions,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<PairReport, ModelError> {
        let len = condition.len().max(stem.len());
        let starts = window_starts(len, options.hop_samples());
        let mut windows: Vec<WindowReport> = starts
            .iter()
            .map(|&start| {
                let condition_dbfs = window_level_dbfs(window_slice(condition, start));
                let stem_dbfs = window_level_dbfs(window_slice(stem, start));
                let condition_silent = level_is_silent(condition_dbfs, options.silence_dbfs);
                let stem_silent = level_is_silent(stem_dbfs, options.silence_dbfs);
                let seconds = |s: usize| s as f64 / SAMPLE_RATE as f64;
                WindowReport {
                    start_seconds: seconds(start),
                    end_seconds: seconds(start + WINDOW_SAMPLES),
                    condition_dbfs,
                    stem_dbfs,
                    outcome: WindowOutcome::Silent {
                        condition: condition_silent,
                        stem: stem_silent,
                    },
                }
            })
            .collect();
        let audible: Vec<usize> = (0..windows.len())
            .filter(|&i| {
                windows[i].outcome
                    == WindowOutcome::Silent {
                        condition: false,
                        stem: false,
                    }
            })
            .collect();
        progress(windows.len() - audible.len(), windows.len());
        let mut done = windows.len() - audible.len();
        for group in audible.chunks(WINDOWS_PER_RUN) {
            let pairs: Vec<(&[f32], &[f32])> = group
                .iter()
                .map(|&i| (window_slice(condition, starts[i]), window_slice(stem, starts[i])))
                .collect();
            for (&i, scores) in group.iter().zip(self.score_windows(&pairs)?) {
                windows[i].outcome = WindowOutcome::Scored(scores);
            }
            done += group.len();
            progress(done, windows.len());
        }
        let aggregate = aggregate(&windows, self.model().metadata().calibration.as_ref());
        Ok(PairReport {
            duration_seconds: len as f64 / SAMPLE_RATE as f64,
            windows,
            aggregate,
        })
    }
}

/// Embeds `rows` feature tensors, split evenly between `sessions`, which run
/// in parallel (one rayon task each).
fn embed_split(sessions: &mut [Model], features: &[f32], rows: usize) -> Result<Embeddings, ModelError> {
    // One session, one row, or input of the wrong size (which the model's
    // own check reports): nothing to split.
    if sessions.len() == 1 || rows <= 1 || features.len() != rows * FEATURE_LEN {
        return sessions[0].embed(features, rows);
    }
    let per_session = rows.div_ceil(sessions.len());
    let parts: Vec<Result<Embeddings, ModelError>> = sessions
        .par_iter_mut()
        .zip(features[..rows * FEATURE_LEN].par_chunks(per_session * FEATURE_LEN))
        .map(|(session, features)| session.embed(features, features.len() / FEATURE_LEN))
        .collect();
    let mut all = Embeddings {
        embedding: Vec::with_capacity(rows * EMBEDDING_DIM),
        w_embedding: Vec::with_capacity(rows * EMBEDDING_DIM),
        batch: 0,
    };
    for part in parts {
        let part = part?;
        all.embedding.extend_from_slice(&part.embedding);
        all.w_embedding.extend_from_slice(&part.w_embedding);
        all.batch += part.batch;
    }
    Ok(all)
}

/// Mean raw score per mode over the scored windows, then calibrated.
fn aggregate(windows: &[WindowReport], calibration: Option<&Calibration>) -> Option<WindowScores> {
    let mut sums = [0.0f64; 3];
    let mut count = 0usize;
    for w in windows {
        if let WindowOutcome::Scored(s) = &w.outcome {
            for (sum, m) in sums.iter_mut().zip(&s.modes) {
                *sum += m.raw as f64;
            }
            count += 1;
        }
    }
    (count > 0).then(|| WindowScores::from_raw(sums.map(|s| (s / count as f64) as f32), calibration))
}
