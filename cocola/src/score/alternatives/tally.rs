//! Raw scores of a stem as it is and changed, summed window by window and
//! read as one [`Alternatives`]: how a whole pair and the plugin's recent
//! windows become one reading.

use super::{Alternative, Alternatives, Change};
use crate::calibration::Calibration;
use crate::mode::Mode;
use crate::score::WindowScores;

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
/// ([`Scorer::score_alternatives`](crate::score::Scorer::score_alternatives)) and the plugin's recent windows become
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

    /// Reads windows scored one at a time ([`Scorer::score_window_alternatives`](crate::score::Scorer::score_window_alternatives))
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

    /// The changes, in the order each window's raw scores list them.
    pub fn changes(&self) -> &[Change] {
        &self.changes
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::alternatives::scoring::transpositions;

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
}
