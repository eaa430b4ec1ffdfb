//! The transposed copies' win rates per interval of transposition. Not every
//! interval clashes alike: a copy a fourth or a fifth away (5 semitones,
//! either way) keeps most of its pitch classes in the key, a semitone away
//! keeps few, so a model (and the chroma floor) hears some intervals far
//! better than others. The same summaries as the whole report, computed on
//! the anchors transposed by one interval, for the transposed kind alone.

use serde::Serialize;

use super::by_target::group_by;
use super::{summarize_combined, summarize_floor, summarize_model, AnchorRecord, KindResult, NegativeKind};
use crate::calibration::Calibration;
use crate::mode::Mode;

/// The transposed kind's results on the anchors transposed by one interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IntervalBreakdown {
    /// The interval in semitones, up or down (`+5` and `-5` are both 5).
    pub semitones: u32,
    pub anchors: usize,
    /// Per mode measured, in the order of the options.
    pub modes: Vec<ModeKindResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub combined: Option<KindResult>,
    pub floor: Option<KindResult>,
}

/// One mode's result on the transposed kind.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ModeKindResult {
    pub mode: Mode,
    #[serde(flatten)]
    pub result: KindResult,
}

/// The results per interval, the smallest first.
pub fn by_interval(
    records: &[AnchorRecord],
    modes: &[Mode],
    calibration: Option<&Calibration>,
) -> Vec<IntervalBreakdown> {
    let transposed = |results: Vec<KindResult>| results.into_iter().find(|r| r.kind == NegativeKind::Transposed);
    let mut breakdowns: Vec<IntervalBreakdown> = group_by(records, |r| r.semitones.unsigned_abs())
        .into_iter()
        .map(|(semitones, group)| IntervalBreakdown {
            semitones,
            anchors: group.len(),
            modes: (summarize_model(&group, modes).into_iter())
                .filter_map(|m| transposed(m.kinds).map(|result| ModeKindResult { mode: m.mode, result }))
                .collect(),
            combined: calibration.and_then(|c| transposed(summarize_combined(&group, modes, c))),
            floor: transposed(summarize_floor(&group).into_iter().map(|f| f.result).collect()),
        })
        .collect();
    breakdowns.sort_by_key(|b| b.semitones);
    breakdowns
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(index: usize, semitones: i32, truth: f32, transposed: f32) -> AnchorRecord {
        AnchorRecord {
            semitones,
            ..crate::eval::sensitivity::test_record(index, "bass", truth, transposed)
        }
    }

    #[test]
    fn each_interval_counts_both_directions_on_its_own_anchors() {
        // Copies 5 semitones away (either way) beat the true stem, copies 1 away never do.
        let records = [
            record(0, 5, 1.0, 2.0),
            record(1, 1, 2.0, 1.0),
            record(2, -5, 1.0, 3.0),
            record(3, -1, 3.0, 1.0),
            record(4, 1, 2.0, 0.0),
        ];
        let breakdown = by_interval(&records, &[Mode::Both], None);
        let intervals: Vec<(u32, usize)> = breakdown.iter().map(|b| (b.semitones, b.anchors)).collect();
        assert_eq!(intervals, [(1, 3), (5, 2)]);
        let rate = |b: &IntervalBreakdown| b.modes[0].result.win.rate;
        assert_eq!((rate(&breakdown[0]), rate(&breakdown[1])), (1.0, 0.0));
        assert!(breakdown.iter().all(|b| b.modes[0].mode == Mode::Both));
        assert!(breakdown.iter().all(|b| b.combined.is_none()));
        assert!(
            breakdown
                .iter()
                .all(|b| b.floor.map(|f| f.kind) == Some(NegativeKind::Transposed)),
            "the floor's transposed result, not its shifted one"
        );
    }
}
