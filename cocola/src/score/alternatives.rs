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
//!   bands, one band per semitone ([`transpose_semitone_bands`]), in the
//!   features; no pitch shifter runs. Only pitch-input models can be asked
//!   (mel bands are not semitones);
//! - a move reads the stem's window earlier or later in the stem.
//!
//! Each alternative is scored on the same windows as the stem and averaged
//! like the pair's aggregate, then read with the model's calibration.

use serde::Serialize;

use super::windows::{level_is_silent, window_level_dbfs, window_starts};
use super::{fill_masked_copies, Measure, Scorer, WindowOptions, WindowScores};
use crate::contract::{InputKind, SAMPLE_RATE, WINDOW_SAMPLES};
use crate::dsp::onset::{beat_period, OnsetAnalyzer};
use crate::features::transpose_semitone_bands;
use crate::model::ModelError;
use crate::perturb::{delayed_window, DEFAULT_BEAT_SECONDS};

/// How far (in combined log-odds) the best transposition must fit better
/// than the stem as it is before the stem reads "out of key": the gain that
/// only 10 % of true stems' own transpositions exceed, measured on 300
/// validation anchors of 10 s with the default model 0.13.0, where it flags
/// 67 % of stems transposed by 1-6 semitones (docs/EVALUATION.md, "The stem
/// against itself").
pub const KEY_MARGIN: f32 = 0.27;
/// The same for the best move and "off the beat" (there: 94 % of stems
/// delayed off the beat grid flagged).
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

/// The moves (in samples, later when positive) for a beat of
/// `beat_seconds`: +-1..=`per_side` eighths of it.
fn move_offsets(beat_seconds: f64, per_side: u32) -> Vec<isize> {
    let step = beat_seconds / 8.0 * f64::from(SAMPLE_RATE);
    let per_side = per_side as isize;
    (-per_side..=per_side)
        .filter(|&k| k != 0)
        .map(|k| (k as f64 * step).round() as isize)
        .collect()
}

impl Scorer {
    /// Scores `stem` as it is and changed (see the module documentation)
    /// against `condition`, both 16 kHz mono, on the windows
    /// [`Scorer::score_pair`] would score.
    pub fn score_alternatives(
        &mut self,
        condition: &[f32],
        stem: &[f32],
        windows: &WindowOptions,
        options: &AlternativeOptions,
        progress: impl FnMut(usize, usize),
    ) -> Result<Alternatives, AlternativesError> {
        let starts = window_starts(condition.len().max(stem.len()), windows.hop_samples());
        self.score_alternatives_at(condition, stem, &starts, windows.silence_dbfs, options, progress)
    }

    /// [`score_alternatives`](Self::score_alternatives) on the windows that
    /// start at `starts` (in samples), skipping those where either side is
    /// quieter than `silence_dbfs`. Moves read the stem around each window,
    /// so an excerpt of a longer piece is best scored with the whole piece
    /// and the excerpt's starts.
    pub fn score_alternatives_at(
        &mut self,
        condition: &[f32],
        stem: &[f32],
        starts: &[usize],
        silence_dbfs: f32,
        options: &AlternativeOptions,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Alternatives, AlternativesError> {
        let input = self.model().input();
        if options.max_semitones > 0 && input != InputKind::Pitch {
            return Err(AlternativesError::NotPitchInput(input.name()));
        }
        let beat = beat_period(&OnsetAnalyzer::new().envelope(condition));
        let offsets = move_offsets(beat.map_or(DEFAULT_BEAT_SECONDS, f64::from), options.moves_per_side);
        let max = options.max_semitones as i32;
        let mut changes: Vec<Change> = (-max..=max)
            .filter(|&t| t != 0)
            .map(|semitones| Change::Transpose { semitones })
            .collect();
        changes.extend(offsets.iter().map(|&d| Change::Move {
            seconds: d as f64 / f64::from(SAMPLE_RATE),
        }));

        let modes = self.modes().len();
        // Sums of raw scores per side (the stem as it is, then each change)
        // and mode.
        let mut sums = vec![0.0f64; (1 + changes.len()) * modes];
        let mut scored = 0usize;
        for (done, &start) in starts.iter().enumerate() {
            let condition_window = delayed_window(condition, start, WINDOW_SAMPLES, 0);
            let stem_window = delayed_window(stem, start, WINDOW_SAMPLES, 0);
            let audible = |w: &[f32]| !level_is_silent(window_level_dbfs(w), silence_dbfs);
            if audible(&condition_window) && audible(&stem_window) {
                let moved: Vec<Vec<f32>> = (offsets.iter())
                    .map(|&delay| delayed_window(stem, start, WINDOW_SAMPLES, delay))
                    .collect();
                let raw = self.score_changed_window(&condition_window, &stem_window, &changes, &moved)?;
                for (sum, r) in sums.iter_mut().zip(raw) {
                    *sum += f64::from(r);
                }
                scored += 1;
            }
            progress(done + 1, starts.len());
        }
        if scored == 0 {
            return Err(AlternativesError::NothingAudible);
        }
        let calibration = self.calibration();
        let mut sides = sums.chunks_exact(modes).map(|side| {
            let means: Vec<f32> = side.iter().map(|s| (s / scored as f64) as f32).collect();
            WindowScores::from_raw(self.modes(), &means, calibration)
        });
        let as_is = sides.next().expect("the stem as it is is the first side");
        Ok(Alternatives {
            beat_seconds: beat,
            windows: scored,
            as_is,
            changes: changes
                .into_iter()
                .zip(sides)
                .map(|(change, scores)| Alternative { change, scores })
                .collect(),
        })
    }

    /// Raw scores of one window: the stem as it is, then each change (the
    /// moves read from `moved`, in order), every mode of each, in one
    /// encoder run.
    fn score_changed_window(
        &mut self,
        condition: &[f32],
        stem: &[f32],
        changes: &[Change],
        moved: &[Vec<f32>],
    ) -> Result<Vec<f32>, ModelError> {
        let input = self.model().input();
        let row = input.feature_len();
        let side = self.modes().len() * row;
        let sides = 2 + changes.len();
        self.batch.resize(sides * side, 0.0);
        let (fixed, changed) = self.batch.split_at_mut(2 * side);
        let (condition_rows, stem_rows) = fixed.split_at_mut(side);
        super::masked_features_into(input, condition, condition_rows);
        super::masked_features_into(input, stem, stem_rows);
        let stem_features = &stem_rows[..row];
        let mut moved = moved.iter();
        for (out, change) in changed.chunks_exact_mut(side).zip(changes) {
            match *change {
                Change::Transpose { semitones } => {
                    out[..row].copy_from_slice(stem_features);
                    transpose_semitone_bands(&mut out[..row], semitones);
                    fill_masked_copies(input, out);
                }
                Change::Move { .. } => {
                    let window = moved.next().expect("one moved window per move");
                    super::masked_features_into(input, window, out);
                }
            }
        }
        let modes = self.modes().len();
        let embeddings = super::embed_split(&mut self.sessions, &self.batch, sides * modes)?;
        Ok((1..sides)
            .flat_map(|s| (0..modes).map(move |m| (m, s * modes + m)))
            .map(|(m, stem_row)| self.read_score(&embeddings, m, stem_row))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_are_eighths_of_the_beat_both_ways() {
        let offsets = move_offsets(0.5, 4);
        assert_eq!(offsets, vec![-4000, -3000, -2000, -1000, 1000, 2000, 3000, 4000]);
        assert!(move_offsets(0.5, 0).is_empty());
    }

    #[test]
    fn a_window_reads_zeros_outside_the_signal() {
        let signal: Vec<f32> = (1..=10).map(|i| i as f32).collect();
        let early = delayed_window(&signal, 0, WINDOW_SAMPLES, 3);
        assert_eq!(&early[..5], &[0.0, 0.0, 0.0, 1.0, 2.0]);
        assert_eq!((early[12], early[13]), (10.0, 0.0));
        let late = delayed_window(&signal, 8, WINDOW_SAMPLES, 0);
        assert_eq!(&late[..3], &[9.0, 10.0, 0.0]);
        assert!(delayed_window(&signal, 20, WINDOW_SAMPLES, 0).iter().all(|&s| s == 0.0));
    }

    #[test]
    fn changes_describe_themselves() {
        assert_eq!(Change::Transpose { semitones: -2 }.describe(), "2 semitones down");
        assert_eq!(Change::Transpose { semitones: 1 }.describe(), "1 semitone up");
        assert_eq!(Change::Move { seconds: 0.125 }.describe(), "0.125 s later");
        assert_eq!(Change::Move { seconds: -0.0625 }.describe(), "0.062 s earlier");
    }
}
