//! Scoring a pair set (paper Table III): every (condition, stem) pair over
//! sliding windows with [`Scorer::score_files`], then mean, spread and 95 %
//! confidence interval per mode.
//!
//! A pair that cannot be scored (missing or corrupt file, model failure) is
//! kept in the report with its error and left out of the statistics; it
//! never stops the rest of the set. So is a pair whose windows are all
//! silent, which has no score (and no error).
//!
//! Memory is bounded by a window, not by the files: a helper thread checks
//! and measures the next pairs' files (one decoding pass each, nothing
//! kept, [`PairFiles::open`]) while the current pair is read one window at
//! a time through the features and the encoder.

use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::pairset::PairSpec;
use super::progress::Progress;
use super::stats::Summary;
use crate::audio::DecodedInfo;
use crate::mode::Mode;
use crate::score::{PairFiles, PairReport, ScoreFilesError, Scorer, WindowOptions};

/// Pairs measured ahead of the one being scored.
const PREFETCH: usize = 2;

/// What became of one pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum PairStatus {
    /// Scored: at least one window was audible on both sides.
    Scored,
    /// Every window is silent on one side or both: no score.
    Silent,
    /// Could not be scored; the message names the file.
    Failed { error: String },
}

/// One pair of the set and its result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairOutcome {
    pub id: String,
    pub condition: std::path::PathBuf,
    pub stem: std::path::PathBuf,
    #[serde(flatten)]
    pub status: PairStatus,
    /// The scorer's full report (absent for failed pairs).
    #[serde(skip)]
    pub report: Option<PairReport>,
}

impl PairOutcome {
    /// Mean raw score of `mode` over the pair's scored windows.
    pub fn raw(&self, mode: Mode) -> Option<f32> {
        Some(self.report.as_ref()?.aggregate.as_ref()?.get(mode)?.raw)
    }

    /// Calibrated fit of `mode` (calibrated models only).
    pub fn fit(&self, mode: Mode) -> Option<f32> {
        self.report.as_ref()?.aggregate.as_ref()?.get(mode)?.fit
    }

    /// The combined fit of every mode (calibrated models, every mode scored).
    pub fn combined_fit(&self) -> Option<f32> {
        Some(self.report.as_ref()?.aggregate.as_ref()?.combined()?.fit)
    }
}

/// Statistics of one mode over the scored pairs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModeSummary {
    pub mode: Mode,
    pub raw: Option<Summary>,
    /// Present when the model is calibrated.
    pub fit: Option<Summary>,
}

/// Counts and per-mode statistics of a pair set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairSetSummary {
    pub pairs: usize,
    pub scored: usize,
    pub silent: usize,
    pub failed: usize,
    pub modes: Vec<ModeSummary>,
}

/// The outcome of a pair-set evaluation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairSetReport {
    pub pairs: Vec<PairOutcome>,
    pub summary: PairSetSummary,
    pub calibrated: bool,
    /// Audio scored: the sum of the scored pairs' durations.
    pub audio_seconds: f64,
    pub seconds: f64,
}

/// Scores every pair with `scorer` (see the module documentation).
pub fn evaluate_pairs(
    scorer: &mut Scorer,
    pairs: &[PairSpec],
    windows: &WindowOptions,
    modes: &[Mode],
    progress: &dyn Progress,
) -> PairSetReport {
    let calibrated = scorer.model().metadata().calibration.is_some();
    evaluate_pairs_with(
        pairs,
        |path| {
            crate::audio::probe(path)
                .map(|info| (path.to_path_buf(), info))
                .map_err(|e| e.to_string())
        },
        |condition: &(PathBuf, DecodedInfo), stem: &(PathBuf, DecodedInfo)| {
            let files = PairFiles {
                condition: condition.clone(),
                stem: stem.clone(),
            };
            scorer.score_files(&files, windows, |_, _| {}).map_err(|e| match e {
                ScoreFilesError::Model(e) => format!("scoring failed: {e}"),
                ScoreFilesError::Audio(e) => e.to_string(),
            })
        },
        calibrated,
        modes,
        progress,
    )
}

/// [`evaluate_pairs`] with the loader and the scorer passed in (tests use
/// stand-ins): `load` turns a path into what `score` takes (a file's
/// measure, or its samples), on a helper thread; `score` runs on the caller's.
pub fn evaluate_pairs_with<T: Send>(
    pairs: &[PairSpec],
    load: impl Fn(&Path) -> Result<T, String> + Sync,
    mut score: impl FnMut(&T, &T) -> Result<PairReport, String>,
    calibrated: bool,
    modes: &[Mode],
    progress: &dyn Progress,
) -> PairSetReport {
    let started = Instant::now();
    progress.begin("scoring pairs", pairs.len() as u64);
    let mut outcomes = Vec::with_capacity(pairs.len());
    std::thread::scope(|scope| {
        let (sender, receiver) = sync_channel(PREFETCH);
        let load = &load;
        scope.spawn(move || {
            for pair in pairs {
                let decoded = match &pair.problem {
                    Some(problem) => Err(problem.clone()),
                    None => both(rayon::join(|| load(&pair.condition), || load(&pair.stem))),
                };
                if sender.send(decoded).is_err() {
                    return;
                }
            }
        });
        for (pair, decoded) in pairs.iter().zip(receiver) {
            let result = decoded.and_then(|(condition, stem)| score(&condition, &stem));
            let outcome = classify(pair, result);
            if let PairStatus::Failed { error } = &outcome.status {
                progress.warn(&format!("pair {}: {error}", pair.id));
            }
            outcomes.push(outcome);
            progress.advance(1);
        }
    });
    progress.end();
    PairSetReport::from_outcomes(outcomes, calibrated, modes, started.elapsed().as_secs_f64())
}

impl PairSetReport {
    /// The report of scored pairs, in set order (the statistics depend on
    /// the order only through float rounding, and merged shards restore it).
    pub fn from_outcomes(outcomes: Vec<PairOutcome>, calibrated: bool, modes: &[Mode], seconds: f64) -> Self {
        let summary = summarize(&outcomes, calibrated, modes);
        let audio_seconds = outcomes
            .iter()
            .filter_map(|o| o.report.as_ref())
            .map(|r| r.duration_seconds)
            .sum::<f64>();
        PairSetReport {
            pairs: outcomes,
            summary,
            calibrated,
            audio_seconds,
            seconds,
        }
    }
}

/// Both sides loaded, or every error (both files may be broken).
fn both<T>(decoded: (Result<T, String>, Result<T, String>)) -> Result<(T, T), String> {
    match decoded {
        (Ok(condition), Ok(stem)) => Ok((condition, stem)),
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
        (Err(a), Err(b)) => Err(format!("{a}; {b}")),
    }
}

fn classify(pair: &PairSpec, result: Result<PairReport, String>) -> PairOutcome {
    let (status, report) = match result {
        Err(error) => (PairStatus::Failed { error }, None),
        Ok(report) => match &report.aggregate {
            None => (PairStatus::Silent, Some(report)),
            Some(a) if a.modes().iter().any(|m| !m.raw.is_finite()) => (
                PairStatus::Failed {
                    error: "the model produced a non-finite score".into(),
                },
                None,
            ),
            Some(_) => (PairStatus::Scored, Some(report)),
        },
    };
    PairOutcome {
        id: pair.id.clone(),
        condition: pair.condition.clone(),
        stem: pair.stem.clone(),
        status,
        report,
    }
}

fn summarize(outcomes: &[PairOutcome], calibrated: bool, modes: &[Mode]) -> PairSetSummary {
    let count = |f: fn(&PairStatus) -> bool| outcomes.iter().filter(|o| f(&o.status)).count();
    let modes = modes
        .iter()
        .map(|&mode| {
            let raw: Vec<f64> = outcomes.iter().filter_map(|o| o.raw(mode)).map(f64::from).collect();
            let fit: Vec<f64> = outcomes.iter().filter_map(|o| o.fit(mode)).map(f64::from).collect();
            ModeSummary {
                mode,
                raw: Summary::of(&raw),
                fit: if calibrated { Summary::of(&fit) } else { None },
            }
        })
        .collect();
    PairSetSummary {
        pairs: outcomes.len(),
        scored: count(|s| matches!(s, PairStatus::Scored)),
        silent: count(|s| matches!(s, PairStatus::Silent)),
        failed: count(|s| matches!(s, PairStatus::Failed { .. })),
        modes,
    }
}
