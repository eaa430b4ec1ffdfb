//! Turning a raw COCOLA score into something a producer can read
//! (docs/DESIGN.md, "Score semantics for people").
//!
//! A raw bilinear score (roughly 45-60 in the paper's Table III) has no fixed
//! scale: it depends on the model. Every model therefore carries, per mode, the
//! distribution of its scores on coherent pairs (a window and its own other
//! stems) and on random pairs (stems from different tracks), measured on
//! validation data at export time. The "fit" is the probability, in percent,
//! that a score came from the coherent distribution rather than an incoherent
//! one, modelling both as Gaussians with a pooled variance and equal priors.
//! The pooled variance keeps the fit monotonic in the raw score: a higher
//! score never gives a lower fit.
//!
//! Random pairs alone teach the verdict only "same song or not". A model
//! calibrated since 0.9.2 also carries the scores of **hard negatives**: the
//! coherent stem itself transposed, shifted off the beat or stretched. The
//! incoherent side is then random pairs and hard negatives with equal weight
//! (a producer's wrong stem is as likely to be in the wrong key or off the
//! beat as to come from another song), summarised as one Gaussian with the
//! mixture's mean and variance. A score that hard negatives reach as easily
//! as coherent pairs then reads "unsure", not "fits": the verdict claims no
//! more than the model can tell.

use serde::{Deserialize, Serialize};

use crate::contract::InputKind;
use crate::mode::Mode;

/// Summary of the raw scores of one kind of pair.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreDistribution {
    pub mean: f32,
    pub std: f32,
    /// How many pairs the summary was measured on.
    pub count: u32,
}

impl ScoreDistribution {
    /// Mean and (population) standard deviation of `scores`; `None` if empty
    /// or not finite.
    pub fn from_scores(scores: &[f32]) -> Option<Self> {
        if scores.is_empty() || scores.iter().any(|s| !s.is_finite()) {
            return None;
        }
        let n = scores.len() as f64;
        let mean = scores.iter().map(|&s| s as f64).sum::<f64>() / n;
        let var = scores.iter().map(|&s| (s as f64 - mean).powi(2)).sum::<f64>() / n;
        Some(Self {
            mean: mean as f32,
            std: var.sqrt() as f32,
            count: scores.len() as u32,
        })
    }
}

/// Calibration of one mode: coherent pairs versus incoherent ones (random
/// pairs, and hard negatives where measured).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModeCalibration {
    pub coherent: ScoreDistribution,
    pub random: ScoreDistribution,
    /// Hard negatives: the coherent stem transposed, shifted off the beat or
    /// stretched (the kinds the mode should reject). Absent in models
    /// calibrated on random pairs only; their fit is unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hard: Option<ScoreDistribution>,
}

/// Verdict words shown beside the fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// fit >= 70: scores like the model's coherent pairs.
    Fits,
    /// 30 <= fit < 70: could be either.
    Unsure,
    /// fit < 30: scores like a random pairing.
    Clashes,
}

impl Verdict {
    pub fn from_fit(fit: f32) -> Self {
        if fit >= 70.0 {
            Verdict::Fits
        } else if fit >= 30.0 {
            Verdict::Unsure
        } else {
            Verdict::Clashes
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Verdict::Fits => "fits",
            Verdict::Unsure => "unsure",
            Verdict::Clashes => "clashes",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

impl ModeCalibration {
    /// Calibrated on coherent and random pairs only.
    pub fn random_only(coherent: ScoreDistribution, random: ScoreDistribution) -> Self {
        Self {
            coherent,
            random,
            hard: None,
        }
    }

    /// The incoherent side as (mean, variance): the random pairs, or the
    /// equal-weight mixture of random pairs and hard negatives.
    fn incoherent(&self) -> (f64, f64) {
        let moments = |d: &ScoreDistribution| (d.mean as f64, (d.std as f64).powi(2));
        let (rm, rv) = moments(&self.random);
        match &self.hard {
            None => (rm, rv),
            Some(h) => {
                let (hm, hv) = moments(h);
                let mean = (rm + hm) / 2.0;
                (mean, (rv + hv) / 2.0 + ((rm - hm) / 2.0).powi(2))
            }
        }
    }

    /// log p(coherent | s) / p(incoherent | s) of a raw score `s`, for
    /// equal-variance Gaussians with equal priors: an affine, increasing
    /// function of the score.
    pub fn log_odds(&self, raw: f32) -> f64 {
        let (cm, cv) = (self.coherent.mean as f64, (self.coherent.std as f64).powi(2));
        let (im, iv) = self.incoherent();
        let pooled_var = ((cv + iv) / 2.0).max(1e-12);
        let midpoint = (cm + im) / 2.0;
        (cm - im) / pooled_var * (raw as f64 - midpoint)
    }

    /// Calibrated fit in 0..=100 for a raw score.
    pub fn fit(&self, raw: f32) -> f32 {
        fit_of_log_odds(self.log_odds(raw))
    }

    /// Fails if a distribution is not finite.
    pub fn validate(&self) -> Result<(), String> {
        let ok = |d: &ScoreDistribution| d.mean.is_finite() && d.std.is_finite() && d.std >= 0.0;
        if !ok(&self.coherent) || !ok(&self.random) || !self.hard.as_ref().is_none_or(ok) {
            return Err("calibration has a non-finite mean or a negative/non-finite std".into());
        }
        Ok(())
    }
}

/// The probability, in percent, of the coherent side given its log-odds.
fn fit_of_log_odds(log_odds: f64) -> f32 {
    (100.0 / (1.0 + (-log_odds).exp())) as f32
}

/// The evidence of every mode of a model together (docs/DESIGN.md, "Score
/// semantics for people"): the mean of the modes' calibrated log-odds, and
/// the fit and verdict it gives.
///
/// Each mode hears the pair through other channels (both, the harmonic one,
/// the percussive one), and their errors differ: a transposed stem the
/// plain score misses is often caught by the harmonic or the percussive
/// score. The modes are one network looking at one pair, so their evidence
/// is far from independent: summing the log-odds (naive Bayes) would count
/// it up to three times and claim certainty. The mean keeps each mode's
/// scale (when the modes agree, the combined fit is theirs) and is the log
/// of the geometric mean of their odds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CombinedFit {
    /// Mean calibrated log-odds over the modes; orders pairs as the fit
    /// does, without its saturation near 0 and 100.
    pub log_odds: f32,
    /// Calibrated 0-100 fit of `log_odds`.
    pub fit: f32,
    pub verdict: Verdict,
}

/// Calibration for every mode of a model, as stored in its metadata (JSON).
/// A mel model (one channel) has only the plain score, so only `both`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub both: ModeCalibration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harmonic: Option<ModeCalibration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percussive: Option<ModeCalibration>,
}

impl Calibration {
    /// Builds a calibration from one entry per mode (in any order); modes
    /// not given stay uncalibrated.
    pub fn from_modes(modes: impl IntoIterator<Item = (Mode, ModeCalibration)>) -> Option<Self> {
        let mut both = None;
        let (mut harmonic, mut percussive) = (None, None);
        for (mode, cal) in modes {
            match mode {
                Mode::Both => both = Some(cal),
                Mode::Harmonic => harmonic = Some(cal),
                Mode::Percussive => percussive = Some(cal),
            }
        }
        Some(Calibration {
            both: both?,
            harmonic,
            percussive,
        })
    }

    /// The calibration of `mode`, if measured.
    pub fn mode(&self, mode: Mode) -> Option<&ModeCalibration> {
        match mode {
            Mode::Both => Some(&self.both),
            Mode::Harmonic => self.harmonic.as_ref(),
            Mode::Percussive => self.percussive.as_ref(),
        }
    }

    /// Whether scores of exactly `modes` have a combined fit: `modes` are the
    /// calibrated modes, each once.
    pub fn combines(&self, modes: &[Mode]) -> bool {
        self.combined(modes.iter().map(|&m| (m, 0.0))).is_some()
    }

    /// The combined fit of one pair from its raw score in each mode
    /// ([`CombinedFit`]). `None` unless `scores` holds each calibrated mode
    /// exactly once (and nothing else), so that "combined" always means the
    /// same modes together, or if a score is not finite.
    pub fn combined(&self, scores: impl IntoIterator<Item = (Mode, f32)>) -> Option<CombinedFit> {
        let mut seen = [false; 3];
        let mut sum = 0.0f64;
        for (mode, raw) in scores {
            if !raw.is_finite() || std::mem::replace(&mut seen[mode.index()], true) {
                return None;
            }
            sum += self.mode(mode)?.log_odds(raw);
        }
        let calibrated = Mode::ALL.map(|m| self.mode(m).is_some());
        if seen != calibrated {
            return None;
        }
        let log_odds = sum / seen.iter().filter(|&&s| s).count() as f64;
        let fit = fit_of_log_odds(log_odds);
        Some(CombinedFit {
            log_odds: log_odds as f32,
            fit,
            verdict: Verdict::from_fit(fit),
        })
    }

    /// Fails unless every mode a model of kind `input` scores is calibrated
    /// and valid.
    pub fn validate(&self, input: InputKind) -> Result<(), String> {
        for &mode in input.modes() {
            self.mode(mode)
                .ok_or_else(|| format!("{mode}: missing"))?
                .validate()
                .map_err(|e| format!("{mode}: {e}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(mean: f32, std: f32) -> ScoreDistribution {
        ScoreDistribution { mean, std, count: 100 }
    }

    fn cal() -> ModeCalibration {
        ModeCalibration::random_only(dist(58.0, 2.0), dist(48.0, 3.0))
    }

    #[test]
    fn fit_is_fifty_halfway_and_monotonic() {
        let c = cal();
        assert!((c.fit(53.0) - 50.0).abs() < 1e-4);
        let mut last = -1.0;
        for i in 0..200 {
            let f = c.fit(30.0 + i as f32 * 0.2);
            assert!(f >= last && (0.0..=100.0).contains(&f));
            last = f;
        }
        assert!(c.fit(60.0) > 90.0);
        assert!(c.fit(45.0) < 10.0);
    }

    #[test]
    fn hard_negatives_near_the_coherent_scores_keep_the_fit_from_claiming_a_fit() {
        let random_only = cal();
        let with_hard = ModeCalibration {
            hard: Some(dist(57.5, 2.0)),
            ..random_only
        };
        // A typical coherent score: random pairs alone call it a fit; with
        // hard negatives scoring just as high it is only "unsure".
        assert_eq!(Verdict::from_fit(random_only.fit(58.0)), Verdict::Fits);
        assert_eq!(Verdict::from_fit(with_hard.fit(58.0)), Verdict::Unsure);
        // Still monotonic, and a random-looking score still clashes.
        let mut last = -1.0;
        for i in 0..200 {
            let f = with_hard.fit(30.0 + i as f32 * 0.2);
            assert!(f >= last && (0.0..=100.0).contains(&f));
            last = f;
        }
        assert_eq!(Verdict::from_fit(with_hard.fit(46.0)), Verdict::Clashes);
        // Hard negatives the model separates well change little.
        let separated = ModeCalibration {
            hard: Some(dist(48.0, 3.0)),
            ..random_only
        };
        assert!((separated.fit(55.0) - random_only.fit(55.0)).abs() < 1e-3);
    }

    #[test]
    fn models_calibrated_without_hard_negatives_read_as_before() {
        let json = r#"{"coherent":{"mean":58.0,"std":2.0,"count":100},"random":{"mean":48.0,"std":3.0,"count":100}}"#;
        let c: ModeCalibration = serde_json::from_str(json).unwrap();
        assert_eq!(c, cal());
        assert_eq!(serde_json::to_string(&c).unwrap(), json);
        let bad = ModeCalibration {
            hard: Some(dist(f32::NAN, 1.0)),
            ..cal()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn verdict_thresholds() {
        assert_eq!(Verdict::from_fit(85.0), Verdict::Fits);
        assert_eq!(Verdict::from_fit(50.0), Verdict::Unsure);
        assert_eq!(Verdict::from_fit(5.0), Verdict::Clashes);
    }

    #[test]
    fn a_mel_model_needs_only_the_plain_mode() {
        let only_both = Calibration::from_modes([(Mode::Both, cal())]).unwrap();
        assert!(only_both.validate(InputKind::Mel).is_ok());
        assert!(only_both
            .validate(InputKind::Hps)
            .unwrap_err()
            .contains("harmonic: missing"));
        assert!(only_both.mode(Mode::Percussive).is_none());
        let json = serde_json::to_string(&only_both).unwrap();
        assert!(!json.contains("harmonic"), "{json}");
        assert_eq!(serde_json::from_str::<Calibration>(&json).unwrap(), only_both);
        assert!(Calibration::from_modes([(Mode::Harmonic, cal())]).is_none());
    }

    #[test]
    fn the_combined_fit_is_the_mean_of_the_modes_log_odds() {
        let (harmonic, percussive) = (
            ModeCalibration::random_only(dist(60.0, 2.0), dist(50.0, 2.0)),
            ModeCalibration::random_only(dist(40.0, 1.0), dist(38.0, 1.0)),
        );
        let c = Calibration {
            both: cal(),
            harmonic: Some(harmonic),
            percussive: Some(percussive),
        };
        let raw = [(Mode::Both, 56.0), (Mode::Harmonic, 52.0), (Mode::Percussive, 40.5)];
        let combined = c.combined(raw).unwrap();
        let mean = (cal().log_odds(56.0) + harmonic.log_odds(52.0) + percussive.log_odds(40.5)) / 3.0;
        assert!((f64::from(combined.log_odds) - mean).abs() < 1e-5);
        assert!((combined.fit - (100.0 / (1.0 + (-mean).exp())) as f32).abs() < 1e-4);
        assert_eq!(combined.verdict, Verdict::from_fit(combined.fit));
        // Modes that agree give their own fit: the mean does not claim more.
        let agree = [(Mode::Both, 53.0), (Mode::Harmonic, 55.0), (Mode::Percussive, 39.0)];
        assert!((c.combined(agree).unwrap().fit - 50.0).abs() < 1e-3);
        // Higher in one mode, the rest unchanged: higher combined.
        let higher = [(Mode::Both, 56.0), (Mode::Harmonic, 53.0), (Mode::Percussive, 40.5)];
        assert!(c.combined(higher).unwrap().log_odds > combined.log_odds);
        // Only the calibrated modes, each once, all finite.
        assert!(c.combined(raw[..2].iter().copied()).is_none());
        assert!(c.combined([raw[0], raw[1], raw[1]]).is_none());
        assert!(c.combined([raw[0], raw[1], (Mode::Percussive, f32::NAN)]).is_none());
        let mel = Calibration::from_modes([(Mode::Both, cal())]).unwrap();
        assert_eq!(mel.combined([(Mode::Both, 60.0)]).unwrap().fit, cal().fit(60.0));
        assert!(mel.combined(raw).is_none());
    }

    #[test]
    fn distribution_from_scores() {
        let d = ScoreDistribution::from_scores(&[1.0, 3.0]).unwrap();
        assert_eq!((d.mean, d.std, d.count), (2.0, 1.0, 2));
        assert!(ScoreDistribution::from_scores(&[]).is_none());
        assert!(ScoreDistribution::from_scores(&[f32::NAN]).is_none());
    }
}
