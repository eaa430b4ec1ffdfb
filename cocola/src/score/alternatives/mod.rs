//! Would the stem fit better in another key, or earlier or later?
//!
//! The fit compares a pair's score with other pairs' scores, so a pair that
//! scores high for other reasons (a dense mix, instruments that often play
//! together) can read "fits" while its stem is out of key or off the beat.
//! Here the stem competes with itself instead: the same condition is scored
//! against the stem transposed by +-1..6 semitones and moved earlier and
//! later by fractions of the condition's beat. A stem that fits as it is
//! should beat every change of itself; when a change fits clearly better,
//! the stem as it is is probably in the wrong key or off the beat, and the
//! change says by how much.
//!
//! Both kinds of change are exact, so the stem and its alternatives differ
//! in key or in timing only, never in processing artefacts a model could
//! hear (docs/EVALUATION.md, "Key or pitch shifter?"):
//! - a transposition moves the harmonic channel of the pitch input by whole
//!   bands, one band per semitone ([`transpose_semitone_bands`](crate::features::transpose_semitone_bands)), in the
//!   features; no pitch shifter runs. Only pitch-input models can be asked
//!   (mel bands are not semitones);
//! - a move reads the stem's window earlier or later in the stem.
//!
//! Each alternative is scored on the same windows as the stem and averaged
//! like the pair's aggregate, then read with the model's calibration.
//!
//! The module's parts: what a reading says (here), how windows are summed
//! into one reading ([`tally`]), how much audio a reading reads ([`span`]),
//! and the scoring itself ([`Scorer::score_alternatives`](crate::score::Scorer::score_alternatives), in `scoring`).

mod scoring;
pub mod span;
pub mod tally;

use serde::Serialize;

use super::{Measure, WindowScores};
use crate::model::ModelError;

pub use span::{move_reach_samples, recent_excerpt_len, windows_span_samples};
pub use tally::{AlternativesTally, ChangedWindow};

/// How far (in combined log-odds) the best transposition must fit better
/// than the stem as it is before the stem reads "out of key": the gain that
/// only 10 % of true stems' own transpositions exceed, measured on 300
/// validation anchors of 10 s with the default model 0.13.0 (0.272) and
/// again with 0.14.0 (0.270), which flags 77 % of stems transposed by 1-6
/// semitones (docs/EVALUATION.md, "The stem against itself").
pub const KEY_MARGIN: f32 = 0.27;
/// The same for the best move and "off the beat" (0.317 with 0.13.0, 0.313
/// with 0.14.0; 93 % of stems delayed off the beat grid flagged).
pub const TIMING_MARGIN: f32 = 0.32;

/// Which changes of the stem to score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlternativeOptions {
    /// Transpositions of +-1..=`max_semitones` (0: none).
    pub max_semitones: u32,
    /// Moves of +-1..=`moves_per_side` steps of an eighth of the beat (a
    /// thirty-second note); 4 reaches half a beat either way, so every
    /// offset from the beat grid has a move that undoes it to within a
    /// sixteenth of the beat (0: none).
    pub moves_per_side: u32,
}

impl Default for AlternativeOptions {
    fn default() -> Self {
        Self {
            max_semitones: 6,
            moves_per_side: 4,
        }
    }
}

/// One change of the stem.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Transposed by this many semitones (up when positive).
    Transpose { semitones: i32 },
    /// Played this many seconds later (earlier when negative).
    Move { seconds: f64 },
}

impl Change {
    /// The change in words: "2 semitones down", "0.125 s later".
    pub fn describe(self) -> String {
        match self {
            Change::Transpose { semitones } => {
                let n = semitones.unsigned_abs();
                let unit = if n == 1 { "semitone" } else { "semitones" };
                format!("{n} {unit} {}", if semitones > 0 { "up" } else { "down" })
            }
            Change::Move { seconds } => {
                format!(
                    "{:.3} s {}",
                    seconds.abs(),
                    if seconds > 0.0 { "later" } else { "earlier" }
                )
            }
        }
    }

    pub fn is_transposition(self) -> bool {
        matches!(self, Change::Transpose { .. })
    }
}

/// A change of the stem and how it scores against the same condition.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Alternative {
    pub change: Change,
    /// Averaged over the windows the stem was scored on.
    pub scores: WindowScores,
}

/// The stem as it is and its alternatives, over the same windows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alternatives {
    /// The condition's beat the moves are fractions of; `None` when none
    /// could be measured (120 BPM assumed).
    pub beat_seconds: Option<f32>,
    /// How many windows were scored (neither side silent).
    pub windows: usize,
    pub as_is: WindowScores,
    pub changes: Vec<Alternative>,
}

/// What one kind of change (transpositions, or moves) says about the stem.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Reading {
    /// The change of this kind that scores highest.
    pub best: Alternative,
    /// The best change's measure minus the stem's as it is (positive: the
    /// change fits better).
    pub gain: f32,
    /// The gain is beyond what true stems' own changes reach
    /// ([`KEY_MARGIN`], [`TIMING_MARGIN`]): the stem is probably out of key,
    /// or off the beat, and `best` says by how much.
    pub better: bool,
}

impl Alternatives {
    /// What the transpositions (`key`) or the moves say, read by the
    /// combined fit's log-odds (whose scale every calibrated model shares,
    /// so one margin fits all); `None` for an uncalibrated model or when no
    /// change of that kind was scored.
    pub fn reading(&self, key: bool) -> Option<Reading> {
        let value = |scores: &WindowScores| Some(Measure::Combined.of(scores)?.value);
        let as_is = value(&self.as_is)?;
        let margin = if key { KEY_MARGIN } else { TIMING_MARGIN };
        (self.changes.iter())
            .filter(|a| a.change.is_transposition() == key)
            .filter_map(|a| Some((*a, value(&a.scores)?)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(best, best_value)| Reading {
                best,
                gain: best_value - as_is,
                better: best_value - as_is > margin,
            })
    }
}

/// [`Alternatives`] with what each kind of change says: what `cocola score
/// --alternatives --json` and Python's `Model.alternatives` return.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlternativesReport {
    #[serde(flatten)]
    pub alternatives: Alternatives,
    /// The transpositions' reading; `None` for an uncalibrated model.
    pub key: Option<Reading>,
    /// The moves' reading; `None` for an uncalibrated model.
    pub timing: Option<Reading>,
}

impl From<Alternatives> for AlternativesReport {
    fn from(alternatives: Alternatives) -> Self {
        Self {
            key: alternatives.reading(true),
            timing: alternatives.reading(false),
            alternatives,
        }
    }
}

impl Alternatives {
    /// What [`reading`](Self::reading) says, in words: "probably out of
    /// key: 2 semitones up fits better (89.6 against 77.9 as it is)", or
    /// "in key: no transposition fits clearly better (best 1 semitone up:
    /// 80.2; as it is: 91.8)"; for moves "off the beat" and "on the beat".
    /// `None` where there is no reading.
    pub fn reading_words(&self, key: bool) -> Option<String> {
        let reading = self.reading(key)?;
        let as_is = self.as_is.combined()?.fit;
        let (fine, wrong) = if key {
            ("in key: no transposition", "probably out of key")
        } else {
            ("on the beat: no move", "probably off the beat")
        };
        let best = reading.best.scores.combined().map_or(f32::NAN, |c| c.fit);
        let change = reading.best.change.describe();
        Some(if reading.better {
            format!("{wrong}: {change} fits better ({best:.1} against {as_is:.1} as it is)")
        } else {
            format!("{fine} fits clearly better (best {change}: {best:.1}; as it is: {as_is:.1})")
        })
    }
}

/// Why alternatives could not be scored.
#[derive(Debug, thiserror::Error)]
pub enum AlternativesError {
    #[error("transpositions need a pitch-input model (one band per semitone); this model's input is {0}")]
    NotPitchInput(&'static str),
    #[error("no window has both the condition and the stem audible")]
    NothingAudible,
    #[error(transparent)]
    Model(#[from] ModelError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_describe_themselves() {
        assert_eq!(Change::Transpose { semitones: -2 }.describe(), "2 semitones down");
        assert_eq!(Change::Transpose { semitones: 1 }.describe(), "1 semitone up");
        assert_eq!(Change::Move { seconds: 0.125 }.describe(), "0.125 s later");
        assert_eq!(Change::Move { seconds: -0.0625 }.describe(), "0.062 s earlier");
    }
}
