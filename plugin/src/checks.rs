//! The key and timing checks: would the stem fit the rest of the track
//! better transposed, or earlier or later? Every [`CHECK_EVERY_SAMPLES`] of
//! audio, one window's stem is scored as it is, transposed by +-1..6
//! semitones and moved by +-1..4 eighths of the beat against the same
//! condition ([`Scorer::score_window_alternatives`]); the last
//! [`CHECK_WINDOWS`] such windows are averaged and read as `cocola score
//! --alternatives` reads a pair
//! ([`Alternatives::reading`](cocola::score::alternatives::Alternatives::reading)).
//!
//! Why it is spaced and averaged: a check costs about twelve plain scores, and
//! one 5 s window is a noisy witness of a key (on unseen music, one true
//! stem in five reads "out of key" over 10 s, one in seven over 30 s:
//! docs/EVALUATION.md, "The stem against itself").
//!
//! Why it lags: a move reads the stem up to half a beat beyond the window,
//! so the checked window ends [`check_reach`] before the newest audio.
//!
//! Why the beat comes from the last 30 s: the moves are eighths of the
//! condition's beat, and the windows averaged should share one, as the
//! windows of a pair share the beat of the whole condition in `cocola score
//! --alternatives`. Measured on each window's 6.2 s alone, it changed a
//! timing flag for 10 of 450 stems of unseen music (docs/EVALUATION.md, "In
//! the plugin").

use std::collections::VecDeque;

use cocola::contract::{InputKind, WINDOW_SAMPLES};
use cocola::score::alternatives::{
    move_reach_samples, recent_excerpt_len, windows_span_samples, AlternativeOptions, AlternativesTally, ChangedWindow,
};
use cocola::score::Scorer;

use crate::snapshot::{Check, Checks};

/// Windows averaged: 30 s of audio at one check per window length.
pub const CHECK_WINDOWS: usize = 6;
/// Audio (16 kHz samples) between two checks: windows do not overlap.
pub const CHECK_EVERY_SAMPLES: u64 = WINDOW_SAMPLES as u64;

/// How far (16 kHz samples) the moves reach either side of the checked
/// window, and so how far that window lags the newest audio.
pub fn check_reach() -> usize {
    move_reach_samples(&AlternativeOptions::default())
}

/// The least audio a check reads, per side: the window and the reach
/// either side.
pub fn check_excerpt_samples() -> usize {
    windows_span_samples(1, &AlternativeOptions::default())
}

/// The most audio a check reads, per side: the windows averaged and the
/// reach either side; the beat is measured on all of it.
pub fn check_history_samples() -> usize {
    windows_span_samples(CHECK_WINDOWS, &AlternativeOptions::default())
}

/// How much of a history `heard` samples long a check reads: all of it, up
/// to [`check_history_samples`], and at least [`check_excerpt_samples`]
/// (zeros before the start, as moves read before the start of a file).
pub fn check_excerpt_len(heard: u64) -> usize {
    recent_excerpt_len(heard, CHECK_WINDOWS, &AlternativeOptions::default())
}

/// The recent checks and when the next one is due.
pub struct Checker {
    recent: VecDeque<ChangedWindow>,
    /// History length (16 kHz samples since the last restart) from which
    /// the next check is due.
    next_due: u64,
}

impl Default for Checker {
    fn default() -> Self {
        Self {
            recent: VecDeque::with_capacity(CHECK_WINDOWS),
            next_due: first_due(),
        }
    }
}

/// The first window can be checked once its reach after it has been heard
/// (before the start, moves read silence, as at the start of a file).
fn first_due() -> u64 {
    (WINDOW_SAMPLES + check_reach()) as u64
}

impl Checker {
    /// Forgets the checks so far (the history no longer joins up).
    pub fn restart(&mut self) {
        self.recent.clear();
        self.next_due = first_due();
    }

    /// Whether the history, `end` samples long, is due a check.
    pub fn is_due(&self, end: u64) -> bool {
        end >= self.next_due
    }

    /// Checks the window [`check_reach`] before the end of `condition` and
    /// `stem`, the last [`check_excerpt_len`] samples of each side's history
    /// (`end` samples long), the beat measured on all of `condition`, if a
    /// check is due. Returns what to show, or `None` when nothing changed
    /// (not due, or the window is silent on either side: tried again at
    /// the next window).
    pub fn check(
        &mut self,
        scorer: &mut Scorer,
        condition: &[f32],
        stem: &[f32],
        end: u64,
        silence_dbfs: f32,
    ) -> Option<Checks> {
        if !self.is_due(end) {
            return None;
        }
        if scorer.model().metadata().calibration.is_none() {
            return Some(Checks::both(Check::Unavailable(
                "an uncalibrated model has no fit to compare".into(),
            )));
        }
        // Moves work on any input; transpositions need semitone bands.
        let input = scorer.model().input();
        let transposes = input == InputKind::Pitch;
        let options = AlternativeOptions {
            max_semitones: if transposes {
                AlternativeOptions::default().max_semitones
            } else {
                0
            },
            ..AlternativeOptions::default()
        };
        let window = match scorer.score_newest_window_alternatives(condition, stem, silence_dbfs, &options) {
            Ok(Some(w)) => w,
            Ok(None) => return None,
            Err(e) => return Some(Checks::both(Check::Unavailable(format!("failed: {e}")))),
        };
        self.next_due = end + CHECK_EVERY_SAMPLES;
        if self.recent.len() == CHECK_WINDOWS {
            self.recent.pop_front();
        }
        self.recent.push_back(window);
        let calibration = scorer.model().metadata().calibration;
        let alternatives = AlternativesTally::read_windows(&self.recent, scorer.modes(), calibration.as_ref())?;
        let read = |key: bool| -> Option<Check> {
            let reading = alternatives.reading(key)?;
            Some(Check::Read {
                flagged: reading.better,
                best: reading.best.change,
                gain: reading.gain,
                windows: alternatives.windows,
                words: alternatives.reading_words(key)?,
            })
        };
        let key = if transposes {
            read(true)?
        } else {
            Check::Unavailable(format!(
                "this model's {} input has no semitone bands to transpose",
                input.name()
            ))
        };
        Some(Checks {
            key,
            timing: read(false)?,
        })
    }
}
