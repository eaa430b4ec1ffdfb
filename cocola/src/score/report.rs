//! What scoring a pair reports: per mode, per window and for the whole pair,
//! as the CLI prints it and as JSON writes and reads it back.

use serde::{Deserialize, Deserializer, Serialize};

use crate::calibration::{Calibration, CombinedFit, Verdict};
use crate::mode::Mode;

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
        let fit = calibration.and_then(|c| c.mode(mode)).map(|c| c.fit(raw));
        Self {
            mode,
            raw,
            fit,
            verdict: fit.map(Verdict::from_fit),
        }
    }
}

/// The scores of every mode the model has, in [`Mode::ALL`] order: three
/// for an HPS model, `both` alone for a mel model, and for a calibrated
/// model their [`CombinedFit`]. `Copy`, so the plugin can keep a timeline of
/// them without allocating. In JSON (reports, part files): `{"modes": [...],
/// "combined": {...}}`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(into = "ModeList", try_from = "ModeList")]
pub struct WindowScores {
    scores: [ModeScore; 3],
    len: usize,
    combined: Option<CombinedFit>,
}

impl WindowScores {
    /// Scores of `modes` (in that order) from their raw values.
    pub fn from_raw(modes: &[Mode], raw: &[f32], calibration: Option<&Calibration>) -> Self {
        assert!(
            modes.len() == raw.len() && modes.len() <= 3,
            "one raw score per mode, at most 3"
        );
        let placeholder = ModeScore::new(Mode::Both, f32::NAN, None);
        let mut scores = [placeholder; 3];
        for (slot, (&mode, &raw)) in scores.iter_mut().zip(modes.iter().zip(raw)) {
            *slot = ModeScore::new(mode, raw, calibration);
        }
        Self {
            scores,
            len: modes.len(),
            combined: calibration.and_then(|c| c.combined(modes.iter().copied().zip(raw.iter().copied()))),
        }
    }

    /// Every mode's score.
    pub fn modes(&self) -> &[ModeScore] {
        &self.scores[..self.len]
    }

    /// The score of `mode`; `None` when the model has no such mode (a mel
    /// model has only `both`).
    pub fn get(&self, mode: Mode) -> Option<&ModeScore> {
        self.modes().iter().find(|s| s.mode == mode)
    }

    /// Every mode's evidence together; `None` for an uncalibrated model,
    /// or when not every calibrated mode was scored.
    pub fn combined(&self) -> Option<&CombinedFit> {
        self.combined.as_ref()
    }
}

impl PartialEq for WindowScores {
    /// Equal when the model's modes score the same (the unused slots hold
    /// nothing) and so does their combination.
    fn eq(&self, other: &Self) -> bool {
        self.modes() == other.modes() && self.combined == other.combined
    }
}

/// [`WindowScores`] as it is written.
#[derive(Serialize, Deserialize)]
struct ModeList {
    modes: Vec<ModeScore>,
    /// Absent in reports of uncalibrated models (and in part files written
    /// before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    combined: Option<CombinedFit>,
}

impl From<WindowScores> for ModeList {
    fn from(w: WindowScores) -> Self {
        ModeList {
            modes: w.modes().to_vec(),
            combined: w.combined,
        }
    }
}

impl TryFrom<ModeList> for WindowScores {
    type Error = String;
    fn try_from(list: ModeList) -> Result<Self, String> {
        if list.modes.is_empty() || list.modes.len() > 3 {
            return Err(format!("{} mode scores, expected 1 to 3", list.modes.len()));
        }
        let mut scores = [list.modes[0]; 3];
        scores[..list.modes.len()].copy_from_slice(&list.modes);
        Ok(WindowScores {
            scores,
            len: list.modes.len(),
            combined: list.combined,
        })
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
/// window (or the -inf threshold of `--protocol published`) as `null`, so
/// `null` reads back as -inf (a report read from JSON equals the one
/// written, bit for bit).
pub fn level_from_json<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f32, D::Error> {
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
