//! The key check: does the stem fit the rest of the track better
//! transposed? Every [`KEY_CHECK_SAMPLES`] of audio, one window's stem is
//! scored as it is and transposed by +-1..6 semitones against the same
//! condition ([`Scorer::score_window_transpositions`]); the last
//! [`KEY_WINDOWS`] such windows are averaged and read as `cocola score
//! --alternatives` reads a pair ([`Alternatives::reading`]).
//!
//! Why it is spaced and averaged: a check costs seven plain scores, and one
//! 5 s window is a noisy witness of a key (on unseen music, one true stem
//! in five reads "out of key" over 10 s, one in seven over 30 s:
//! docs/EVALUATION.md, "The stem against itself").

use std::collections::VecDeque;

use cocola::contract::WINDOW_SAMPLES;
use cocola::score::alternatives::{AlternativeOptions, AlternativesError, AlternativesTally, ChangedWindow};
use cocola::score::Scorer;

use crate::snapshot::KeyCheck;

/// Windows averaged: 30 s of audio at one check per window length.
pub const KEY_WINDOWS: usize = 6;
/// Audio (16 kHz samples) between two checks: windows do not overlap.
pub const KEY_CHECK_SAMPLES: u64 = WINDOW_SAMPLES as u64;

/// The recent checks and when the next one is due.
pub struct KeyChecker {
    recent: VecDeque<ChangedWindow>,
    /// History length (16 kHz samples since the last restart) from which
    /// the next check is due.
    next_due: u64,
}

impl Default for KeyChecker {
    fn default() -> Self {
        Self {
            recent: VecDeque::with_capacity(KEY_WINDOWS),
            next_due: 0,
        }
    }
}

impl KeyChecker {
    /// Forgets the checks so far (the history no longer joins up).
    pub fn restart(&mut self) {
        self.recent.clear();
        self.next_due = 0;
    }

    /// Checks the window pair ending at history sample `end` if a check is
    /// due; returns what to show, or `None` when nothing changed.
    pub fn check(&mut self, scorer: &mut Scorer, condition: &[f32], stem: &[f32], end: u64) -> Option<KeyCheck> {
        if end < self.next_due {
            return None;
        }
        if scorer.model().metadata().calibration.is_none() {
            return Some(KeyCheck::Unavailable(
                "an uncalibrated model has no fit to compare".into(),
            ));
        }
        let window =
            match scorer.score_window_transpositions(condition, stem, AlternativeOptions::default().max_semitones) {
                Ok(w) => w,
                Err(AlternativesError::NotPitchInput(input)) => {
                    return Some(KeyCheck::Unavailable(format!(
                        "this model's {input} input has no semitone bands to transpose"
                    )))
                }
                Err(e) => return Some(KeyCheck::Unavailable(format!("failed: {e}"))),
            };
        self.next_due = end + KEY_CHECK_SAMPLES;
        if self.recent.len() == KEY_WINDOWS {
            self.recent.pop_front();
        }
        let mut tally = AlternativesTally::new(window.changes.clone(), scorer.modes());
        self.recent.push_back(window);
        for w in &self.recent {
            tally.add(&w.raw);
        }
        let alternatives = tally.finish(scorer.model().metadata().calibration.as_ref(), None)?;
        let reading = alternatives.reading(true)?;
        Some(KeyCheck::Read {
            out_of_key: reading.better,
            best: reading.best.change,
            gain: reading.gain,
            windows: alternatives.windows,
            words: alternatives.reading_words(true)?,
        })
    }
}
