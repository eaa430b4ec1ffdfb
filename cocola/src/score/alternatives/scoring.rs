//! Scoring the stem as it is and changed against the same condition, one
//! encoder run per window.

use super::span::{move_reach_samples, windows_span_samples};
use super::{AlternativeOptions, Alternatives, AlternativesError, AlternativesTally, Change, ChangedWindow};
use crate::contract::{InputKind, SAMPLE_RATE, WINDOW_SAMPLES};
use crate::dsp::onset::{beat_period, OnsetAnalyzer};
use crate::features::transpose_semitone_bands;
use crate::model::ModelError;
use crate::perturb::{delayed_window, DEFAULT_BEAT_SECONDS};
use crate::score::windows::{level_is_silent, window_level_dbfs, window_starts};
use crate::score::{embed_split, fill_masked_copies, masked_features_into, Scorer, WindowOptions};

/// Where a window starts (in samples) and the level below which a side of
/// it counts as silent.
#[derive(Clone, Copy)]
struct WindowAt {
    start: usize,
    silence_dbfs: f32,
}

/// Transpositions by +-1..=`max_semitones`, lowest first.
pub(super) fn transpositions(max_semitones: u32) -> Vec<Change> {
    let max = max_semitones as i32;
    (-max..=max)
        .filter(|&t| t != 0)
        .map(|semitones| Change::Transpose { semitones })
        .collect()
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
            if let Some(raw) = self.score_changed_window_at(condition, stem, at, tally.changes(), &offsets)? {
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
    /// checks, on [`recent_excerpt_len`](super::recent_excerpt_len) samples of its history. Panics
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
        masked_features_into(input, condition, condition_rows);
        masked_features_into(input, stem, stem_rows);
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
                    masked_features_into(input, window, out);
                }
            }
        }
        let modes = self.modes().len();
        let embeddings = embed_split(&mut self.sessions, &self.batch, sides * modes)?;
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
}
