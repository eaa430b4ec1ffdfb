//! Two models on the same anchors: is the candidate really better than the
//! baseline? Two win rates measured on 1 000 anchors each have intervals of
//! about +-2.5 points, wider than most differences between fine-tunes. But
//! both models decide the *same* comparisons, so only the anchors they
//! decide differently carry evidence; an exact McNemar test on those says
//! whether the split between them is more lopsided than chance.

use serde::Serialize;

use super::{combined_pair, model_pair, AnchorRecord, NegativeKind};
use crate::calibration::Calibration;
use crate::eval::stats::{mcnemar_exact_p, win, WinRate};
use crate::mode::Mode;

/// One model's run of the sensitivity test, as the comparison reads it.
#[derive(Clone, Copy, Debug)]
pub struct Side<'a> {
    pub anchors: &'a [AnchorRecord],
    /// The modes measured, in the order of each anchor's scores.
    pub modes: &'a [Mode],
    /// With it (on both sides) the combined fit is compared too.
    pub calibration: Option<&'a Calibration>,
}

/// Candidate against baseline on one kind of negative.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PairedKind {
    pub kind: NegativeKind,
    pub candidate: WinRate,
    pub baseline: WinRate,
    /// Anchors the candidate decides better: it wins where the baseline
    /// ties or loses, or ties where the baseline loses.
    pub gained: usize,
    /// Anchors the baseline decides better.
    pub lost: usize,
    /// Two-sided exact McNemar p-value of `gained` against `lost`: small
    /// when the difference is more than chance.
    pub p_value: f64,
}

/// Candidate against baseline under one measure.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairedMeasure {
    /// A mode (`both`, `harmonic`, `percussive`) or `combined`.
    pub measure: String,
    pub kinds: Vec<PairedKind>,
}

/// Why two runs cannot be compared anchor by anchor.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum PairingError {
    #[error("the runs drew {candidate} and {baseline} anchors: compare runs of one set with one seed")]
    DifferentCount { candidate: usize, baseline: usize },
    #[error("anchor {index} differs ({candidate} against {baseline}): compare runs of one set with one seed")]
    DifferentAnchor {
        index: usize,
        candidate: String,
        baseline: String,
    },
}

/// Compares the runs measure by measure: every mode both measured, then the
/// combined fit when both have a calibration that combines their modes.
pub fn compare(candidate: &Side, baseline: &Side) -> Result<Vec<PairedMeasure>, PairingError> {
    check_same_anchors(candidate.anchors, baseline.anchors)?;
    let mut measures = Vec::new();
    for (m, &mode) in candidate.modes.iter().enumerate() {
        let Some(b) = baseline.modes.iter().position(|&other| other == mode) else {
            continue;
        };
        let kinds = paired_kinds(candidate.anchors, baseline.anchors, |c, bl, kind| {
            Some((model_pair(c, m, kind)?, model_pair(bl, b, kind)?))
        });
        measures.push(PairedMeasure {
            measure: mode.name().to_string(),
            kinds,
        });
    }
    if let (Some(cc), Some(bc)) = (candidate.calibration, baseline.calibration) {
        let kinds = paired_kinds(candidate.anchors, baseline.anchors, |c, bl, kind| {
            Some((
                combined_pair(c, candidate.modes, cc, kind)?,
                combined_pair(bl, baseline.modes, bc, kind)?,
            ))
        });
        if !kinds.is_empty() {
            measures.push(PairedMeasure {
                measure: "combined".to_string(),
                kinds,
            });
        }
    }
    Ok(measures)
}

/// An anchor as the plan drew it: what must agree between the two runs.
fn describe(record: &AnchorRecord) -> String {
    let foreign = record
        .foreign
        .as_ref()
        .map_or(String::new(), |f| format!(", foreign {}/{}", f.track, f.stem));
    format!(
        "{}/{} at {:.3} s, {:+} semitones (carrier {:+}){foreign}",
        record.track, record.target, record.start_seconds, record.semitones, record.carrier
    )
}

fn check_same_anchors(candidate: &[AnchorRecord], baseline: &[AnchorRecord]) -> Result<(), PairingError> {
    if candidate.len() != baseline.len() {
        return Err(PairingError::DifferentCount {
            candidate: candidate.len(),
            baseline: baseline.len(),
        });
    }
    for (index, (c, b)) in candidate.iter().zip(baseline).enumerate() {
        let (c, b) = (describe(c), describe(b));
        if c != b {
            return Err(PairingError::DifferentAnchor {
                index,
                candidate: c,
                baseline: b,
            });
        }
    }
    Ok(())
}

/// The paired results per kind, from each anchor's (candidate, baseline)
/// pairs of (true stem, negative) scores; a kind no anchor has is left out.
fn paired_kinds(
    candidate: &[AnchorRecord],
    baseline: &[AnchorRecord],
    pairs: impl Fn(&AnchorRecord, &AnchorRecord, NegativeKind) -> Option<((f64, f64), (f64, f64))>,
) -> Vec<PairedKind> {
    NegativeKind::ALL
        .iter()
        .filter_map(|&kind| {
            let outcomes: Vec<(f64, f64)> = candidate
                .iter()
                .zip(baseline)
                .filter_map(|(c, b)| pairs(c, b, kind))
                .map(|((ct, cn), (bt, bn))| (win(ct, cn), win(bt, bn)))
                .collect();
            let gained = outcomes.iter().filter(|(c, b)| c > b).count();
            let lost = outcomes.iter().filter(|(c, b)| c < b).count();
            let rate = |side: fn(&(f64, f64)) -> f64| WinRate::of(&outcomes.iter().map(side).collect::<Vec<_>>());
            Some(PairedKind {
                kind,
                candidate: rate(|o| o.0)?,
                baseline: rate(|o| o.1)?,
                gained,
                lost,
                p_value: mcnemar_exact_p(gained, lost),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(index: usize, truth: f32, transposed: f32) -> AnchorRecord {
        crate::eval::sensitivity::test_record(index, "bass", truth, transposed)
    }

    fn side(anchors: &[AnchorRecord]) -> Side<'_> {
        Side {
            anchors,
            modes: &[Mode::Both],
            calibration: None,
        }
    }

    #[test]
    fn only_anchors_decided_differently_count_as_gained_or_lost() {
        // The candidate wins anchors 0-9 on transpositions, the baseline
        // only 0-1 and ties 2; both win every shift.
        let candidate: Vec<AnchorRecord> = (0..12)
            .map(|i| {
                if i < 10 {
                    record(i, 2.0, 1.0)
                } else {
                    record(i, 1.0, 2.0)
                }
            })
            .collect();
        let baseline: Vec<AnchorRecord> = (0..12)
            .map(|i| match i {
                0 | 1 => record(i, 2.0, 1.0),
                2 => record(i, 1.0, 1.0),
                _ => record(i, 1.0, 2.0),
            })
            .collect();
        let measures = compare(&side(&candidate), &side(&baseline)).unwrap();
        assert_eq!(measures.len(), 1, "one mode, no calibration: no combined fit");
        assert_eq!(measures[0].measure, "both");
        let kinds: Vec<NegativeKind> = measures[0].kinds.iter().map(|k| k.kind).collect();
        assert_eq!(
            kinds,
            [NegativeKind::Transposed, NegativeKind::Shifted],
            "no foreign negatives"
        );
        let transposed = measures[0].kinds[0];
        assert_eq!((transposed.gained, transposed.lost), (8, 0));
        assert!((transposed.candidate.rate - 10.0 / 12.0).abs() < 1e-12);
        assert!((transposed.baseline.rate - 2.5 / 12.0).abs() < 1e-12);
        assert!((transposed.p_value - 2.0 / 256.0).abs() < 1e-12);
        let shifted = measures[0].kinds[1];
        assert_eq!((shifted.gained, shifted.lost, shifted.p_value), (0, 0, 1.0));
    }

    #[test]
    fn a_model_against_itself_gains_and_loses_nothing() {
        let anchors: Vec<AnchorRecord> = (0..5).map(|i| record(i, i as f32, 2.0)).collect();
        let measures = compare(&side(&anchors), &side(&anchors)).unwrap();
        for kind in &measures[0].kinds {
            assert_eq!((kind.gained, kind.lost, kind.p_value), (0, 0, 1.0));
            assert_eq!(kind.candidate, kind.baseline);
        }
    }

    #[test]
    fn runs_of_different_draws_are_refused() {
        let a: Vec<AnchorRecord> = (0..3).map(|i| record(i, 1.0, 0.0)).collect();
        let mut b = a.clone();
        assert_eq!(
            compare(&side(&a), &side(&b[..2])),
            Err(PairingError::DifferentCount {
                candidate: 3,
                baseline: 2
            })
        );
        b[1].semitones = -4;
        let error = compare(&side(&a), &side(&b)).unwrap_err();
        assert!(
            matches!(error, PairingError::DifferentAnchor { index: 1, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("-4 semitones"), "{error}");
    }

    #[test]
    fn only_modes_both_runs_measured_are_compared() {
        let anchors: Vec<AnchorRecord> = (0..3).map(|i| record(i, 1.0, 0.0)).collect();
        let harmonic = Side {
            modes: &[Mode::Harmonic],
            ..side(&anchors)
        };
        assert!(compare(&side(&anchors), &harmonic).unwrap().is_empty());
    }
}
