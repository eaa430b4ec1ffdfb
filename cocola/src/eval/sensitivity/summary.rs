//! From the anchors' scores to the report's numbers: win rates and margins
//! per mode and kind for the model, the combined fit, the floor and the
//! processing control.

use super::{
    AnchorRecord, AnchorScores, FloorResult, KindResult, ModeResult, NegativeKind, ProcessingControl, VerdictShares,
};
use crate::calibration::{Calibration, CombinedFit, Verdict};
use crate::eval::stats::{win, Summary, WinRate};
use crate::mode::Mode;

/// Win rate and margin of the first of `pairs` over the second; `None`
/// without any.
fn win_and_margin(pairs: &[(f64, f64)]) -> Option<(WinRate, Summary)> {
    let wins: Vec<f64> = pairs.iter().map(|&(t, n)| win(t, n)).collect();
    let margins: Vec<f64> = pairs.iter().map(|&(t, n)| t - n).filter(|m| m.is_finite()).collect();
    Some((WinRate::of(&wins)?, Summary::of(&margins)?))
}

/// Win rate and margin of the true stem over `pairs` of (truth, negative);
/// `None` without any.
pub fn kind_result(kind: NegativeKind, pairs: &[(f64, f64)]) -> Option<KindResult> {
    let (win, margin) = win_and_margin(pairs)?;
    Some(KindResult { kind, win, margin })
}

/// The processing control per mode, then for the combined fit when
/// `calibration` combines `modes`.
pub fn summarize_processing(
    records: &[AnchorRecord],
    modes: &[Mode],
    calibration: Option<&Calibration>,
) -> Vec<ProcessingControl> {
    let control = |measure: &str, pairs: Vec<(f64, f64)>| {
        win_and_margin(&pairs).map(|(win, margin)| ProcessingControl {
            measure: measure.to_string(),
            win,
            margin,
        })
    };
    let per_mode = modes.iter().enumerate().filter_map(|(m, mode)| {
        let pairs = (records.iter())
            .map(|r| (f64::from(r.scores[m].truth), f64::from(r.scores[m].in_key)))
            .collect();
        control(mode.name(), pairs)
    });
    let combined = calibration.and_then(|c| {
        let pairs: Option<Vec<(f64, f64)>> = (records.iter())
            .map(|r| {
                Some((
                    combined_score(r, modes, c, |s| Some(s.truth))?,
                    combined_score(r, modes, c, |s| Some(s.in_key))?,
                ))
            })
            .collect();
        control("combined", pairs?)
    });
    per_mode.chain(combined).collect()
}

/// Win rates per kind of the (truth, negative) pairs `pair` reads from
/// each anchor (`None`: the anchor has no such negative).
fn summarize_kinds(
    records: &[AnchorRecord],
    pair: impl Fn(&AnchorRecord, NegativeKind) -> Option<(f64, f64)>,
) -> Vec<KindResult> {
    NegativeKind::ALL
        .iter()
        .filter_map(|&kind| {
            let pairs: Vec<(f64, f64)> = records.iter().filter_map(|r| pair(r, kind)).collect();
            kind_result(kind, &pairs)
        })
        .collect()
}

/// The (true stem, negative) scores of one anchor in the `m`-th mode
/// measured (`None`: the anchor has no negative of `kind`).
pub(crate) fn model_pair(record: &AnchorRecord, m: usize, kind: NegativeKind) -> Option<(f64, f64)> {
    let s = record.scores[m];
    Some((f64::from(s.truth_for(kind)), f64::from(s.negative(kind)?)))
}

/// The (true stem, negative) combined log-odds of one anchor: `None` when it
/// has no negative of `kind` or `calibration` cannot combine `modes` (not
/// every calibrated mode measured).
pub(crate) fn combined_pair(
    record: &AnchorRecord,
    modes: &[Mode],
    calibration: &Calibration,
    kind: NegativeKind,
) -> Option<(f64, f64)> {
    let negative = |s: &AnchorScores| s.negative(kind);
    Some((
        combined_score(record, modes, calibration, |s| Some(s.truth_for(kind)))?,
        combined_score(record, modes, calibration, negative)?,
    ))
}

/// The combined log-odds of one window of an anchor, from its score in each
/// mode (`score`: `None` when the anchor has no such window); `None` when
/// `calibration` cannot combine `modes`.
fn combined_score(
    record: &AnchorRecord,
    modes: &[Mode],
    calibration: &Calibration,
    score: impl Fn(&AnchorScores) -> Option<f32>,
) -> Option<f64> {
    combined_fit(record, modes, calibration, score).map(|c| f64::from(c.log_odds))
}

/// The combined fit of one window of an anchor ([`combined_score`] says
/// when it is `None`).
fn combined_fit(
    record: &AnchorRecord,
    modes: &[Mode],
    calibration: &Calibration,
    score: impl Fn(&AnchorScores) -> Option<f32>,
) -> Option<CombinedFit> {
    let raw: Option<Vec<(Mode, f32)>> = (modes.iter().zip(&record.scores))
        .map(|(&m, s)| Some((m, score(s)?)))
        .collect();
    calibration.combined(raw?)
}

/// The model's win rates per mode and kind, from the anchors' scores.
pub fn summarize_model(records: &[AnchorRecord], modes: &[Mode]) -> Vec<ModeResult> {
    modes
        .iter()
        .enumerate()
        .map(|(m, &mode)| ModeResult {
            mode,
            kinds: summarize_kinds(records, |r, kind| model_pair(r, m, kind)),
        })
        .collect()
}

/// The win rates of the combined fit per kind: the true stem's combined
/// log-odds against the negative's. Empty when `calibration` cannot combine
/// `modes`.
pub fn summarize_combined(records: &[AnchorRecord], modes: &[Mode], calibration: &Calibration) -> Vec<KindResult> {
    summarize_kinds(records, |r, kind| combined_pair(r, modes, calibration, kind))
}

/// How the combined verdict falls on the untouched true stems, then on each
/// kind of negative. Empty when `calibration` cannot combine `modes`.
pub fn summarize_verdicts(records: &[AnchorRecord], modes: &[Mode], calibration: &Calibration) -> Vec<VerdictShares> {
    let shares = |window: &str, score: &dyn Fn(&AnchorScores) -> Option<f32>| {
        let verdicts: Vec<Verdict> = (records.iter())
            .filter_map(|r| combined_fit(r, modes, calibration, score).map(|c| c.verdict))
            .collect();
        let n = verdicts.len();
        let share = |v: Verdict| verdicts.iter().filter(|&&x| x == v).count() as f64 / n as f64;
        (n > 0).then(|| VerdictShares {
            window: window.to_string(),
            windows: n,
            fits: share(Verdict::Fits),
            unsure: share(Verdict::Unsure),
            clashes: share(Verdict::Clashes),
        })
    };
    let truth = shares("true stem", &|s| Some(s.truth));
    let negatives = (NegativeKind::ALL.iter()).filter_map(|&kind| shares(kind.name(), &|s| s.negative(kind)));
    truth.into_iter().chain(negatives).collect()
}

/// The floor's win rates per kind, from the anchors' floor scores.
pub fn summarize_floor(records: &[AnchorRecord]) -> Vec<FloorResult> {
    NegativeKind::ALL
        .iter()
        .enumerate()
        .filter_map(|(k, &kind)| {
            let pairs: Vec<(f64, f64)> = records
                .iter()
                .map(|r| r.floor[k])
                .filter(|(_, n)| !n.is_nan())
                .collect();
            Some(FloorResult {
                measure: kind.floor_measure(),
                result: kind_result(kind, &pairs)?,
            })
        })
        .collect()
}

/// An anchor of the `both` mode alone, for tests: its target named `target`,
/// the true stem scoring `truth`, its transposed copy `transposed`, its
/// shifted copy one less than the truth, and no foreign negative.
#[cfg(test)]
pub(crate) fn test_record(index: usize, target: &str, truth: f32, transposed: f32) -> AnchorRecord {
    AnchorRecord {
        index,
        track: format!("track{index}"),
        start_seconds: 1.5,
        target: target.into(),
        condition: vec!["drums".into()],
        semitones: 3,
        carrier: -2,
        beat_seconds: Some(0.5),
        delay_seconds: 0.3,
        foreign: None,
        scores: vec![AnchorScores {
            truth,
            in_key: truth,
            transposed,
            shifted: truth - 1.0,
            foreign: None,
        }],
        floor: vec![(1.0, 0.0), (1.0, 0.0), (f64::NAN, f64::NAN)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibration::{ModeCalibration, ScoreDistribution};

    #[test]
    fn verdict_shares_count_each_window_under_the_combined_fit() {
        let dist = |mean| ScoreDistribution {
            mean,
            std: 1.0,
            count: 100,
        };
        // Log-odds 10 x (raw - 5): raw 10 fits, 5 is unsure (fit 50), 4 and 0 clash.
        let calibration =
            Calibration::from_modes([(Mode::Both, ModeCalibration::random_only(dist(10.0), dist(0.0)))]).unwrap();
        // Truths 10 and 5; transposed 0 and 5; shifted (truth - 1) 9 and 4; no foreign stems.
        let records = [test_record(0, "bass", 10.0, 0.0), test_record(1, "bass", 5.0, 5.0)];
        let shares = summarize_verdicts(&records, &[Mode::Both], &calibration);
        let rows: Vec<_> = (shares.iter())
            .map(|s| (s.window.as_str(), s.windows, s.fits, s.unsure, s.clashes))
            .collect();
        assert_eq!(
            rows,
            [
                ("true stem", 2, 0.5, 0.5, 0.0),
                ("transposed", 2, 0.0, 0.5, 0.5),
                ("shifted", 2, 0.5, 0.0, 0.5),
            ]
        );
        // A calibration of more modes than were measured gives none.
        let two = Calibration::from_modes([
            (Mode::Both, ModeCalibration::random_only(dist(10.0), dist(0.0))),
            (Mode::Harmonic, ModeCalibration::random_only(dist(10.0), dist(0.0))),
        ])
        .unwrap();
        assert!(summarize_verdicts(&records, &[Mode::Both], &two).is_empty());
    }
}
