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
use crate::calibration::Calibration;
use crate::contract::{InputKind, SAMPLE_RATE, WINDOW_SAMPLES};
use crate::dsp::onset::{beat_period, OnsetAnalyzer};
use crate::features::transpose_semitone_bands;
use crate::mode::Mode;
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

/// One window's raw scores of the stem as it is and of each change, every
/// mode of each (as-is first): what [`AlternativesTally`] sums.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangedWindow {
    pub changes: Vec<Change>,
    pub raw: Vec<f32>,
    /// The beat the moves are eighths of (`None`: none measured, 120 BPM assumed).
    pub beat_seconds: Option<f32>,
}

/// Raw scores of the stem as it is and changed, summed over windows, then
/// averaged and read with the model's calibration: how a whole pair
/// ([`Scorer::score_alternatives`]) and the plugin's recent windows become
/// one [`Alternatives`].
#[derive(Clone, Debug)]
pub struct AlternativesTally {
    changes: Vec<Change>,
    modes: &'static [Mode],
    /// Per side (as-is, then each change) and mode.
    sums: Vec<f64>,
    windows: usize,
}

impl AlternativesTally {
    pub fn new(changes: Vec<Change>, modes: &'static [Mode]) -> Self {
        Self {
            sums: vec![0.0; (1 + changes.len()) * modes.len()],
            changes,
            modes,
            windows: 0,
        }
    }

    /// Reads windows scored one at a time ([`Scorer::score_window_alternatives`])
    /// as one: moves are tallied by step (eighths of each window's beat) and
    /// described in the last window's seconds and beat. `None` without
    /// windows.
    pub fn read_windows<'a>(
        windows: impl IntoIterator<Item = &'a ChangedWindow>,
        modes: &'static [Mode],
        calibration: Option<&Calibration>,
    ) -> Option<Alternatives> {
        let windows: Vec<&ChangedWindow> = windows.into_iter().collect();
        let newest = windows.last()?;
        let mut tally = Self::new(newest.changes.clone(), modes);
        for w in &windows {
            tally.add(&w.raw);
        }
        tally.finish(calibration, newest.beat_seconds)
    }

    /// Adds one window's raw scores (as-is, then each change in this
    /// tally's order, every mode of each).
    pub fn add(&mut self, raw: &[f32]) {
        assert_eq!(raw.len(), self.sums.len(), "one raw score per side and mode");
        for (sum, r) in self.sums.iter_mut().zip(raw) {
            *sum += f64::from(*r);
        }
        self.windows += 1;
    }

    pub fn windows(&self) -> usize {
        self.windows
    }

    /// The mean scores, read with `calibration`; `None` before any window.
    pub fn finish(&self, calibration: Option<&Calibration>, beat_seconds: Option<f32>) -> Option<Alternatives> {
        if self.windows == 0 {
            return None;
        }
        let mut sides = self.sums.chunks_exact(self.modes.len()).map(|side| {
            let means: Vec<f32> = side.iter().map(|s| (s / self.windows as f64) as f32).collect();
            WindowScores::from_raw(self.modes, &means, calibration)
        });
        let as_is = sides.next().expect("the stem as it is is the first side");
        Some(Alternatives {
            beat_seconds,
            windows: self.windows,
            as_is,
            changes: (self.changes.iter().copied())
                .zip(sides)
                .map(|(change, scores)| Alternative { change, scores })
                .collect(),
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

/// Where a window starts (in samples) and the level below which a side of
/// it counts as silent.
#[derive(Clone, Copy)]
struct WindowAt {
    start: usize,
    silence_dbfs: f32,
}

/// Transpositions by +-1..=`max_semitones`, lowest first.
fn transpositions(max_semitones: u32) -> Vec<Change> {
    let max = max_semitones as i32;
    (-max..=max)
        .filter(|&t| t != 0)
        .map(|semitones| Change::Transpose { semitones })
        .collect()
}

/// How far a move can reach, in samples, either way: the largest move at the
/// longest beat measured. A window's stem must be at hand this far before
/// and after it for every move to read real audio.
pub fn move_reach_samples(options: &AlternativeOptions) -> usize {
    let eighth = f64::from(crate::dsp::onset::BEAT_MAX_S) / 8.0;
    (f64::from(options.moves_per_side) * eighth * f64::from(SAMPLE_RATE)).ceil() as usize
}

/// How much of each side a reading of `windows` consecutive windows, end
/// to end, reads: the windows and the moves' reach before the first and
/// after the last. The plugin measures its checks' beat on this much of
/// the condition, so that the windows it averages share one beat.
pub fn windows_span_samples(windows: usize, options: &AlternativeOptions) -> usize {
    windows * WINDOW_SAMPLES + 2 * move_reach_samples(options)
}

/// How much of a history `heard` samples long a reading of up to `windows`
/// recent windows reads: all of it, up to [`windows_span_samples`] of them,
/// and at least one window's span (zeros before the start, as moves read
/// before the start of a file).
pub fn recent_excerpt_len(heard: u64, windows: usize, options: &AlternativeOptions) -> usize {
    let most = windows_span_samples(windows, options) as u64;
    (heard.min(most) as usize).max(windows_span_samples(1, options))
}

/// The changes to score (transpositions first, then moves) and each move's
/// delay in samples, for the beat measured on `condition`.
fn changes_for(condition: &[f32], options: &AlternativeOptions) -> (Vec<Change>, Vec<isize>, Option<f32>) {
    let beat = beat_period(&OnsetAnalyzer::new().envelope(condition));
    let offsets = move_offsets(beat.map_or(DEFAULT_BEAT_SECONDS, f64::from), options.moves_per_side);
    let mut changes = transpositions(options.max_semitones);
    changes.extend(offsets.iter().map(|&d| Change::Move {
        seconds: d as f64 / f64::from(SAMPLE_RATE),
    }));
    (changes, offsets, beat)
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
        self.check_can_transpose(options)?;
        let (changes, offsets, beat) = changes_for(condition, options);
        let mut tally = AlternativesTally::new(changes, self.modes());
        for (done, &start) in starts.iter().enumerate() {
            let at = WindowAt { start, silence_dbfs };
            if let Some(raw) = self.score_changed_window_at(condition, stem, at, &tally.changes, &offsets)? {
                tally.add(&raw);
            }
            progress(done + 1, starts.len());
        }
        tally
            .finish(self.calibration(), beat)
            .ok_or(AlternativesError::NothingAudible)
    }

    /// One window: the stem as it is and changed against the same condition,
    /// the window starting at `start` of `condition` and `stem` (16 kHz mono,
    /// one timeline). Moves read the stem around the window (zeros beyond
    /// its ends; [`move_reach_samples`] says how far they reach), and the
    /// beat is measured on the whole of `condition`. `None` when either side
    /// of the window is quieter than `silence_dbfs`. What the plugin checks
    /// key and timing with, on its recent audio.
    pub fn score_window_alternatives(
        &mut self,
        condition: &[f32],
        stem: &[f32],
        start: usize,
        silence_dbfs: f32,
        options: &AlternativeOptions,
    ) -> Result<Option<ChangedWindow>, AlternativesError> {
        self.check_can_transpose(options)?;
        let (changes, offsets, beat_seconds) = changes_for(condition, options);
        let at = WindowAt { start, silence_dbfs };
        Ok(self
            .score_changed_window_at(condition, stem, at, &changes, &offsets)?
            .map(|raw| ChangedWindow {
                changes,
                raw,
                beat_seconds,
            }))
    }

    /// [`score_window_alternatives`](Self::score_window_alternatives) on the
    /// window ending the moves' reach before the end of `condition` and
    /// `stem` (one timeline, ending at the newest sample): what the plugin
    /// checks, on [`recent_excerpt_len`] samples of its history. Panics
    /// unless both sides are as long, at least one window's span.
    pub fn score_newest_window_alternatives(
        &mut self,
        condition: &[f32],
        stem: &[f32],
        silence_dbfs: f32,
        options: &AlternativeOptions,
    ) -> Result<Option<ChangedWindow>, AlternativesError> {
        let len = condition.len();
        assert!(
            len == stem.len() && len >= windows_span_samples(1, options),
            "recent audio: {len} and {} samples, at least one window's span each",
            stem.len()
        );
        let start = len - WINDOW_SAMPLES - move_reach_samples(options);
        self.score_window_alternatives(condition, stem, start, silence_dbfs, options)
    }

    fn check_can_transpose(&self, options: &AlternativeOptions) -> Result<(), AlternativesError> {
        let input = self.model().input();
        if options.max_semitones > 0 && input != InputKind::Pitch {
            return Err(AlternativesError::NotPitchInput(input.name()));
        }
        Ok(())
    }

    /// [`score_changed_window`](Self::score_changed_window) on the window
    /// `at` says, the moves delayed by `offsets`; `None` when either side of
    /// it is silent.
    fn score_changed_window_at(
        &mut self,
        condition: &[f32],
        stem: &[f32],
        at: WindowAt,
        changes: &[Change],
        offsets: &[isize],
    ) -> Result<Option<Vec<f32>>, ModelError> {
        let condition_window = delayed_window(condition, at.start, WINDOW_SAMPLES, 0);
        let stem_window = delayed_window(stem, at.start, WINDOW_SAMPLES, 0);
        let audible = |w: &[f32]| !level_is_silent(window_level_dbfs(w), at.silence_dbfs);
        if !(audible(&condition_window) && audible(&stem_window)) {
            return Ok(None);
        }
        let moved: Vec<Vec<f32>> = (offsets.iter())
            .map(|&delay| delayed_window(stem, at.start, WINDOW_SAMPLES, delay))
            .collect();
        self.score_changed_window(&condition_window, &stem_window, changes, &moved)
            .map(Some)
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
    fn recent_audio_is_read_whole_between_one_window_span_and_all_of_them() {
        let o = AlternativeOptions::default();
        let (one, six) = (windows_span_samples(1, &o), windows_span_samples(6, &o));
        assert_eq!(six - one, 5 * WINDOW_SAMPLES);
        assert_eq!(recent_excerpt_len(0, 6, &o), one);
        assert_eq!(recent_excerpt_len(one as u64 + 7, 6, &o), one + 7);
        assert_eq!(recent_excerpt_len(10 * six as u64, 6, &o), six);
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
    fn a_tally_averages_each_side_and_mode_over_its_windows() {
        let mut tally = AlternativesTally::new(transpositions(1), &[Mode::Both]);
        assert!(tally.finish(None, None).is_none(), "nothing to read before a window");
        tally.add(&[1.0, 2.0, 3.0]);
        tally.add(&[3.0, 4.0, 7.0]);
        let read = tally.finish(None, Some(0.5)).unwrap();
        assert_eq!((read.windows, read.beat_seconds), (2, Some(0.5)));
        let raw = |s: &WindowScores| s.get(Mode::Both).unwrap().raw;
        assert_eq!(raw(&read.as_is), 2.0);
        let changes: Vec<(Change, f32)> = read.changes.iter().map(|a| (a.change, raw(&a.scores))).collect();
        assert_eq!(
            changes,
            vec![
                (Change::Transpose { semitones: -1 }, 3.0),
                (Change::Transpose { semitones: 1 }, 5.0)
            ]
        );
        assert_eq!(read.reading(true), None, "no calibration, no reading");
    }

    #[test]
    fn changes_describe_themselves() {
        assert_eq!(Change::Transpose { semitones: -2 }.describe(), "2 semitones down");
        assert_eq!(Change::Transpose { semitones: 1 }.describe(), "1 semitone up");
        assert_eq!(Change::Move { seconds: 0.125 }.describe(), "0.125 s later");
        assert_eq!(Change::Move { seconds: -0.0625 }.describe(), "0.062 s earlier");
    }
}
