//! What orders candidates and what a headline shows: one mode's score, or
//! every mode's calibrated evidence combined (docs/DESIGN.md "Score
//! semantics").
//!
//! A mode is measured by its raw score; the combined measure by the mean of
//! the modes' calibrated log-odds ([`crate::calibration::CombinedFit`]).
//! Both order pairs as their fit does (the fit is a monotonic function of
//! either), without the fit's saturation near 0 and 100.

use serde::{Deserialize, Serialize};

use super::WindowScores;
use crate::calibration::{Calibration, Verdict};
use crate::contract::InputKind;
use crate::mode::Mode;

/// One mode's score, or the modes combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// The mean calibrated log-odds of every mode: needs a calibrated model.
    Combined,
    /// The raw score of one mode.
    #[serde(untagged)]
    Mode(Mode),
}

/// A [`Measure`] of one pair or window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeasureScore {
    /// What orders pairs: the mode's raw score, or the combined log-odds.
    pub value: f32,
    /// Calibrated 0-100 fit (`None` for a mode of an uncalibrated model).
    pub fit: Option<f32>,
    pub verdict: Option<Verdict>,
}

impl Measure {
    /// Every measure, in the order they are listed.
    pub const ALL: [Measure; 4] = [
        Measure::Combined,
        Measure::Mode(Mode::Both),
        Measure::Mode(Mode::Harmonic),
        Measure::Mode(Mode::Percussive),
    ];

    /// The single mode measured; `None` for the combined measure.
    pub fn mode(self) -> Option<Mode> {
        match self {
            Measure::Combined => None,
            Measure::Mode(mode) => Some(mode),
        }
    }

    /// Lower-case name used in CLI output, JSON and Python.
    pub fn name(self) -> &'static str {
        self.mode().map_or("combined", Mode::name)
    }

    /// The measure in words: "combined fit", "harmonic score".
    pub fn label(self) -> String {
        match self {
            Measure::Combined => "combined fit".to_string(),
            Measure::Mode(mode) => format!("{mode} score"),
        }
    }

    /// Fails, saying why, unless scores of a model with `input` whose scores
    /// are read with `calibration` (`None`: uncalibrated, or read in a
    /// direction it was not measured in) carry this measure: a mode of the
    /// input kind, or the combined fit, which needs a calibration of every
    /// mode the model has.
    pub fn check(self, input: InputKind, calibration: Option<&Calibration>) -> Result<(), String> {
        match self {
            Measure::Mode(mode) => input.check_mode(mode),
            Measure::Combined if calibration.is_some_and(|c| c.combines(input.modes())) => Ok(()),
            Measure::Combined => Err(format!(
                "the combined fit needs a model calibrated in every mode it has ({}), with its \
                 scores read in the calibrated direction (condition -> stem); rank by a mode instead",
                input.modes().iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// The measure to go by when the user names none: the combined fit where
    /// the scores carry it (it hears an off-beat stem or another song's best),
    /// otherwise the plain score.
    pub fn default_for(input: InputKind, calibration: Option<&Calibration>) -> Measure {
        if Measure::Combined.check(input, calibration).is_ok() {
            Measure::Combined
        } else {
            Measure::Mode(Mode::Both)
        }
    }

    /// The short column header of [`MeasureScore::value`]: "log-odds", "raw".
    pub fn column(self) -> &'static str {
        match self {
            Measure::Combined => "log-odds",
            Measure::Mode(_) => "raw",
        }
    }

    /// What [`MeasureScore::value`] is, in words.
    pub fn value_name(self) -> &'static str {
        match self {
            Measure::Combined => "log-odds",
            Measure::Mode(_) => "raw score",
        }
    }

    /// This measure of `scores`; `None` when they lack it (a mode the model
    /// does not have, or no combined fit: an uncalibrated model).
    pub fn of(self, scores: &WindowScores) -> Option<MeasureScore> {
        match self {
            Measure::Mode(mode) => scores.get(mode).map(|s| MeasureScore {
                value: s.raw,
                fit: s.fit,
                verdict: s.verdict,
            }),
            Measure::Combined => scores.combined().map(|c| MeasureScore {
                value: c.log_odds,
                fit: Some(c.fit),
                verdict: Some(c.verdict),
            }),
        }
    }
}

impl From<Mode> for Measure {
    fn from(mode: Mode) -> Self {
        Measure::Mode(mode)
    }
}

// Named "mode" in errors: the option that takes it is `--mode` (`mode=` in Python).
crate::named::named_enum!(Measure, "mode");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibration::{Calibration, ModeCalibration, ScoreDistribution};

    fn calibration() -> Calibration {
        let dist = |mean: f32| ScoreDistribution {
            mean,
            std: 1.0,
            count: 100,
        };
        let mode = |coherent: f32| ModeCalibration::random_only(dist(coherent), dist(0.0));
        Calibration {
            both: mode(1.0),
            harmonic: Some(mode(2.0)),
            percussive: Some(mode(0.5)),
        }
    }

    #[test]
    fn names_round_trip_through_text_and_json() {
        for measure in Measure::ALL {
            assert_eq!(measure.name().parse::<Measure>().unwrap(), measure);
            let json = serde_json::to_value(measure).unwrap();
            assert_eq!(json, measure.name());
            assert_eq!(serde_json::from_value::<Measure>(json).unwrap(), measure);
        }
        // A mode reads as its measure: "mode": "both" in older JSON still parses.
        assert_eq!(Measure::from(Mode::Harmonic).to_string(), "harmonic");
        assert_eq!(Measure::Combined.label(), "combined fit");
        assert_eq!(Measure::from(Mode::Percussive).label(), "percussive score");
        let err = "drums".parse::<Measure>().unwrap_err();
        assert!(err.contains("combined, both, harmonic or percussive"), "{err}");
    }

    #[test]
    fn the_combined_fit_needs_a_calibration_of_every_mode_the_model_has() {
        let full = calibration();
        let both_only = Calibration {
            harmonic: None,
            percussive: None,
            ..full
        };
        let (hps, mel) = (InputKind::Hps, InputKind::Mel);
        assert!(Measure::Combined.check(hps, Some(&full)).is_ok());
        assert_eq!(Measure::default_for(hps, Some(&full)), Measure::Combined);
        for missing in [None, Some(&both_only)] {
            let err = Measure::Combined.check(hps, missing).unwrap_err();
            assert!(
                err.contains("calibrated in every mode it has (both, harmonic, percussive)"),
                "{err}"
            );
            assert_eq!(Measure::default_for(hps, missing), Measure::Mode(Mode::Both));
        }
        // A mel model has `both` only: calibrated in it, it has a combined fit.
        assert!(Measure::Combined.check(mel, Some(&both_only)).is_ok());
        let err = Measure::Mode(Mode::Harmonic).check(mel, Some(&full)).unwrap_err();
        assert!(
            err.contains("needs a model with harmonic/percussive (HPS) input"),
            "{err}"
        );
    }

    #[test]
    fn a_mode_is_measured_by_its_raw_score_the_combination_by_its_log_odds() {
        let cal = calibration();
        let scores = WindowScores::from_raw(&Mode::ALL, &[1.0, -0.5, 2.0], Some(&cal));
        let harmonic = Measure::Mode(Mode::Harmonic).of(&scores).unwrap();
        assert_eq!(harmonic.value, -0.5);
        assert_eq!(harmonic.fit, scores.get(Mode::Harmonic).unwrap().fit);
        let combined = Measure::Combined.of(&scores).unwrap();
        let expected = scores.combined().unwrap();
        assert_eq!(
            (combined.value, combined.fit, combined.verdict),
            (expected.log_odds, Some(expected.fit), Some(expected.verdict))
        );
        // Without calibration there is no combined measure, and modes carry no fit.
        let plain = WindowScores::from_raw(&Mode::ALL, &[1.0, -0.5, 2.0], None);
        assert!(Measure::Combined.of(&plain).is_none());
        assert_eq!(Measure::Mode(Mode::Both).of(&plain).unwrap().fit, None);
        // A mel model has no harmonic score.
        let mel = WindowScores::from_raw(&[Mode::Both], &[1.0], Some(&cal));
        assert!(Measure::Mode(Mode::Harmonic).of(&mel).is_none());
    }
}
