//! COCOLA scores of a (condition, stem) pair: per mode, per 5 s window, and
//! aggregated over a whole file, with the model's calibration applied.
//!
//! One window costs one batched encoder run: the condition and the stem, each
//! under the mode masks of the model's input kind (three for an HPS model,
//! one for a mel model), are the rows of a single ORT call. Longer signals
//! are cut into sliding windows ([`windows`]), one encoder run each; the
//! features of a window's two sides are computed in parallel.
//!
//! # Direction
//!
//! The bilinear score is not symmetric. [`Direction::ConditionStem`] (the
//! default) is `f(condition)^T W f(stem)`, the authors' `CoCola.score(x, y)`
//! with `x` = condition and `y` = stem, the paper's score. [`Direction::Symmetric`]
//! is the mean of both directions, as later work with COCOLA reports it; the
//! model's calibration was measured in the one direction, so symmetric
//! scores carry no fit.

pub mod alternatives;
pub mod measure;
pub mod rank;
mod report;
pub mod windows;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::audio::{AudioError, DecodedInfo, WindowReader};
use crate::calibration::Calibration;
use crate::contract::{InputKind, EMBEDDING_DIM, SAMPLE_RATE, WINDOW_SAMPLES};
use crate::features::with_thread_extractor;
use crate::mode::Mode;
use crate::model::{Embeddings, Model, ModelError};
pub use measure::{Measure, MeasureScore};
pub use report::{level_from_json, ModeScore, PairReport, WindowOutcome, WindowReport, WindowScores};
pub use windows::WindowOptions;
use windows::{level_is_silent, window_level_dbfs, window_slice, window_starts};

/// Which way the bilinear score is read (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// `f(condition)^T W f(stem)`: the paper's score, calibrated.
    #[default]
    ConditionStem,
    /// `(f(c)^T W f(s) + f(s)^T W f(c)) / 2`: order-free, uncalibrated.
    Symmetric,
}

/// Encoder rows per run when embedding loose windows ([`Scorer::embed_windows`]),
/// the evaluation's measured best (see `eval::embed::ROWS_PER_RUN`).
const ROWS_PER_RUN: usize = crate::eval::embed::ROWS_PER_RUN;

/// Windows per encoder run. One window (6 rows) is the fastest per row: the
/// per-call overhead is negligible, while larger batches outgrow the caches
/// (32 rows cost ~1.3x per row of 6-8 rows, measured with ONNX Runtime 1.31
/// on this encoder; see `eval::embed::ROWS_PER_RUN`).
const WINDOWS_PER_RUN: usize = 1;

/// Writes the feature tensors of `audio` under each of `input`'s modes into
/// `out` (one row per mode), computing the features once.
fn masked_features_into(input: InputKind, audio: &[f32], out: &mut [f32]) {
    with_thread_extractor(input, |e| e.extract_into(audio, &mut out[..input.feature_len()]));
    fill_masked_copies(input, out);
}

/// Given the unmasked features in `out`'s first row, writes the other
/// modes' masked copies into the rows after it.
fn fill_masked_copies(input: InputKind, out: &mut [f32]) {
    let (first, rest) = out.split_at_mut(input.feature_len());
    for (chunk, mode) in rest.chunks_exact_mut(first.len()).zip(&input.modes()[1..]) {
        chunk.copy_from_slice(first);
        mode.apply_mask(chunk);
    }
    // modes()[0] is Both: the first copy stays unmasked.
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
    direction: Direction,
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
            direction: Direction::default(),
            batch: Vec::new(),
        }
    }

    /// Reads scores in `direction` from now on.
    pub fn with_direction(mut self, direction: Direction) -> Self {
        self.set_direction(direction);
        self
    }

    /// Reads scores in `direction` from now on (a scorer shared between
    /// callers who each ask for their own).
    pub fn set_direction(&mut self, direction: Direction) {
        self.direction = direction;
    }

    pub fn direction(&self) -> Direction {
        self.direction
    }

    pub fn model(&self) -> &Model {
        &self.sessions[0]
    }

    /// The modes this scorer reports: those of the model's input kind.
    pub fn modes(&self) -> &'static [Mode] {
        self.model().input().modes()
    }

    /// The calibration that applies to this scorer's scores: the model's,
    /// unless the direction is one it was not measured in.
    fn calibration(&self) -> Option<&Calibration> {
        match self.direction {
            Direction::ConditionStem => self.model().metadata().calibration.as_ref(),
            Direction::Symmetric => None,
        }
    }

    /// Fails, saying why, unless this scorer's scores carry `measure`: a mode
    /// of the model's input kind, or the combined fit, which needs the
    /// model's calibration of every mode and the calibrated direction.
    pub fn check_measure(&self, measure: Measure) -> Result<(), String> {
        measure.check(self.model().input(), self.calibration())
    }

    /// The measure to go by when the user names none ([`Measure::default_for`]).
    pub fn default_measure(&self) -> Measure {
        Measure::default_for(self.model().input(), self.calibration())
    }

    /// Embeds `rows` feature tensors (`rows x input().feature_len()` values),
    /// split evenly between the sessions, which run in parallel.
    pub fn embed_features(&mut self, features: &[f32], rows: usize) -> Result<Embeddings, ModelError> {
        embed_split(&mut self.sessions, features, rows)
    }

    /// Embeddings of 5 s windows (longer input is cut to 5 s, shorter is
    /// zero-padded) seen under `mode`: row i is `windows[i]`. Features run in
    /// parallel, the encoder over a few rows per run. Fails if the model's
    /// input has no such mode (a model without HPS has `both` only).
    pub fn embed_windows(&mut self, windows: &[&[f32]], mode: Mode) -> Result<Embeddings, ModelError> {
        let input = self.model().input();
        input.check_mode(mode).map_err(ModelError::BadInput)?;
        let row = input.feature_len();
        let mut all = Embeddings {
            embedding: Vec::with_capacity(windows.len() * EMBEDDING_DIM),
            w_embedding: Vec::with_capacity(windows.len() * EMBEDDING_DIM),
            batch: 0,
        };
        for chunk in windows.chunks(ROWS_PER_RUN) {
            self.batch.resize(chunk.len() * row, 0.0);
            self.batch.par_chunks_mut(row).zip(chunk).for_each(|(out, window)| {
                with_thread_extractor(input, |e| e.extract_into(window, out));
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
    /// shorter is zero-padded), every mode in one encoder run.
    pub fn score_window(&mut self, condition: &[f32], stem: &[f32]) -> Result<WindowScores, ModelError> {
        Ok(self.score_windows(&[(condition, stem)])?[0])
    }

    /// Scores many window pairs: features in parallel, encoder runs batched.
    pub fn score_windows(&mut self, pairs: &[(&[f32], &[f32])]) -> Result<Vec<WindowScores>, ModelError> {
        let input = self.model().input();
        let modes = input.modes();
        let side_len = modes.len() * input.feature_len();
        let mut results = Vec::with_capacity(pairs.len());
        for chunk in pairs.chunks(WINDOWS_PER_RUN) {
            // Row layout per window: condition x modes, then stem x modes.
            let rows = chunk.len() * 2 * modes.len();
            self.batch.resize(rows * input.feature_len(), 0.0);
            self.batch.par_chunks_mut(side_len).enumerate().for_each(|(i, out)| {
                let (condition, stem) = chunk[i / 2];
                masked_features_into(input, if i % 2 == 0 { condition } else { stem }, out);
            });
            let embeddings = embed_split(&mut self.sessions, &self.batch, rows)?;
            for w in 0..chunk.len() {
                let condition = w * 2 * modes.len();
                let stem = condition + modes.len();
                let raw: Vec<f32> = (0..modes.len())
                    .map(|m| self.read_score(&embeddings, condition + m, stem + m))
                    .collect();
                results.push(WindowScores::from_raw(modes, &raw, self.calibration()));
            }
        }
        Ok(results)
    }

    /// The score of embedding rows `condition` and `stem`, read in this
    /// scorer's [`Direction`].
    fn read_score(&self, embeddings: &Embeddings, condition: usize, stem: usize) -> f32 {
        let forward = crate::model::score(embeddings, condition, stem);
        match self.direction {
            Direction::ConditionStem => forward,
            Direction::Symmetric => {
                let backward = crate::model::score(embeddings, stem, condition);
                ((f64::from(forward) + f64::from(backward)) / 2.0) as f32
            }
        }
    }

    /// Scores a pair of whole signals over sliding windows. The shorter side
    /// counts as silence where it has ended. `progress(done, total)` is called
    /// as windows complete.
    pub fn score_pair(
        &mut self,
        condition: &[f32],
        stem: &[f32],
        options: &WindowOptions,
        progress: impl FnMut(usize, usize),
    ) -> Result<PairReport, ModelError> {
        let len = condition.len().max(stem.len());
        self.score_windows_of(
            len,
            options,
            |start| {
                Ok::<_, ModelError>((
                    Cow::Borrowed(window_slice(condition, start)),
                    Cow::Borrowed(window_slice(stem, start)),
                ))
            },
            progress,
        )
    }

    /// [`score_pair`](Self::score_pair) of two files, reading one window
    /// of each at a time ([`WindowReader`]): memory is bounded by a window,
    /// not by the files' length. The same report as `score_pair` on the
    /// whole decoded signals.
    pub fn score_files(
        &mut self,
        files: &PairFiles,
        options: &WindowOptions,
        progress: impl FnMut(usize, usize),
    ) -> Result<PairReport, ScoreFilesError> {
        let mut condition = WindowReader::new(&files.condition.0, files.condition.1);
        let mut stem = WindowReader::new(&files.stem.0, files.stem.1);
        let len = files.condition.1.samples_16k().max(files.stem.1.samples_16k());
        self.score_windows_of(
            len,
            options,
            |start| {
                let end = start + WINDOW_SAMPLES;
                Ok::<_, ScoreFilesError>((
                    Cow::Owned(condition.window(start, end)?),
                    Cow::Owned(stem.window(start, end)?),
                ))
            },
            progress,
        )
    }

    /// The sliding-window scoring of a pair of `len` samples, whose windows
    /// `window(start)` gives (each side cut at its own end), in order.
    fn score_windows_of<'s, E: From<ModelError>>(
        &mut self,
        len: usize,
        options: &WindowOptions,
        mut window: impl FnMut(usize) -> Result<(Cow<'s, [f32]>, Cow<'s, [f32]>), E>,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<PairReport, E> {
        let starts = window_starts(len, options.hop_samples());
        let mut windows = Vec::with_capacity(starts.len());
        for (done, &start) in starts.iter().enumerate() {
            let (condition, stem) = window(start)?;
            let condition_dbfs = window_level_dbfs(&condition);
            let stem_dbfs = window_level_dbfs(&stem);
            let silent = WindowOutcome::Silent {
                condition: level_is_silent(condition_dbfs, options.silence_dbfs),
                stem: level_is_silent(stem_dbfs, options.silence_dbfs),
            };
            let audible = WindowOutcome::Silent {
                condition: false,
                stem: false,
            };
            let outcome = if silent == audible {
                WindowOutcome::Scored(self.score_window(&condition, &stem)?)
            } else {
                silent
            };
            let seconds = |s: usize| s as f64 / SAMPLE_RATE as f64;
            windows.push(WindowReport {
                start_seconds: seconds(start),
                end_seconds: seconds(start + WINDOW_SAMPLES),
                condition_dbfs,
                stem_dbfs,
                outcome,
            });
            progress(done + 1, starts.len());
        }
        let aggregate = aggregate(&windows, self.modes(), self.calibration());
        Ok(PairReport {
            duration_seconds: len as f64 / SAMPLE_RATE as f64,
            windows,
            aggregate,
        })
    }
}

/// The two files of a pair, checked and measured (one decoding pass each,
/// nothing kept), ready for [`Scorer::score_files`].
#[derive(Clone, Debug, PartialEq)]
pub struct PairFiles {
    pub condition: (PathBuf, DecodedInfo),
    pub stem: (PathBuf, DecodedInfo),
}

impl PairFiles {
    /// Decodes both files once, at their own rate, for their length; fails
    /// as [`load_mono_16k`](crate::audio::load_mono_16k) would.
    pub fn open(condition: &Path, stem: &Path) -> Result<Self, AudioError> {
        Ok(Self {
            condition: (condition.to_path_buf(), crate::audio::probe(condition)?),
            stem: (stem.to_path_buf(), crate::audio::probe(stem)?),
        })
    }
}

/// Why two files could not be scored.
#[derive(Debug, thiserror::Error)]
pub enum ScoreFilesError {
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// Embeds `rows` feature tensors, split evenly between `sessions`, which run
/// in parallel (one rayon task each).
fn embed_split(sessions: &mut [Model], features: &[f32], rows: usize) -> Result<Embeddings, ModelError> {
    let row = sessions[0].input().feature_len();
    // One session, one row, or input of the wrong size (which the model's
    // own check reports): nothing to split.
    if sessions.len() == 1 || rows <= 1 || features.len() != rows * row {
        return sessions[0].embed(features, rows);
    }
    let per_session = rows.div_ceil(sessions.len());
    let parts: Vec<Result<Embeddings, ModelError>> = sessions
        .par_iter_mut()
        .zip(features.par_chunks(per_session * row))
        .map(|(session, features)| session.embed(features, features.len() / row))
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
fn aggregate(windows: &[WindowReport], modes: &[Mode], calibration: Option<&Calibration>) -> Option<WindowScores> {
    let mut sums = vec![0.0f64; modes.len()];
    let mut count = 0usize;
    for w in windows {
        if let WindowOutcome::Scored(s) = &w.outcome {
            for (sum, m) in sums.iter_mut().zip(s.modes()) {
                *sum += m.raw as f64;
            }
            count += 1;
        }
    }
    let means: Vec<f32> = sums.iter().map(|s| (s / count as f64) as f32).collect();
    (count > 0).then(|| WindowScores::from_raw(modes, &means, calibration))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_scores_hold_the_modes_they_were_given() {
        let both = WindowScores::from_raw(&[Mode::Both], &[2.5], None);
        assert_eq!(both.modes().len(), 1);
        assert_eq!(both.get(Mode::Both).unwrap().raw, 2.5);
        assert!(both.get(Mode::Harmonic).is_none());
        let json = serde_json::to_value(both).unwrap();
        assert_eq!(json["modes"].as_array().unwrap().len(), 1);
        assert_eq!(serde_json::from_value::<WindowScores>(json).unwrap(), both);
        let none = serde_json::json!({ "modes": [] });
        assert!(serde_json::from_value::<WindowScores>(none).is_err());
        let all = WindowScores::from_raw(&Mode::ALL, &[1.0, 2.0, 3.0], None);
        assert_eq!(all.get(Mode::Percussive).unwrap().raw, 3.0);
        assert!(all.combined().is_none(), "an uncalibrated model has no combined fit");
    }

    #[test]
    fn calibrated_window_scores_carry_the_combined_fit_through_json() {
        use crate::calibration::{ModeCalibration, ScoreDistribution};
        let dist = |mean, std| ScoreDistribution { mean, std, count: 10 };
        let mode = ModeCalibration::random_only(dist(58.0, 2.0), dist(48.0, 3.0));
        let calibration = Calibration::from_modes(Mode::ALL.map(|m| (m, mode))).unwrap();
        let raw = [55.0, 51.0, 60.0];
        let scores = WindowScores::from_raw(&Mode::ALL, &raw, Some(&calibration));
        assert_eq!(
            scores.combined(),
            calibration.combined(Mode::ALL.into_iter().zip(raw)).as_ref()
        );
        let json = serde_json::to_value(scores).unwrap();
        assert!(json["combined"]["fit"].is_number(), "{json}");
        assert_eq!(serde_json::from_value::<WindowScores>(json).unwrap(), scores);
        // Only some modes scored: no combination of them is called combined.
        let both = WindowScores::from_raw(&[Mode::Both], &[55.0], Some(&calibration));
        assert!(both.combined().is_none());
        assert!(!serde_json::to_string(&both).unwrap().contains("combined"));
    }
}
