//! The transposed copies' win rates per group of anchors: per interval of
//! transposition, and per kind of condition.
//!
//! Not every interval clashes alike: a copy a fourth or a fifth away (5
//! semitones, either way) keeps most of its pitch classes in the key, a
//! semitone away keeps few, so a model (and the chroma floor) hears some
//! intervals far better than others.
//!
//! Nor does every condition have a key: the condition is a random sub-mix
//! of the window's other stems, and one of drums alone holds no notes a
//! transposed stem could clash with. No score can tell those transposed
//! copies from the true stem (7-9 % of the 300 anchors on the corpus
//! splits of December 2026), so the transposed column's reachable top is
//! below 100 %; the rows per condition show what a model reaches where
//! the key can be heard.
//!
//! The same summaries as the whole report, computed on each group's
//! anchors, for the transposed kind alone.

use serde::Serialize;

use super::by_target::group_by;
use super::{summarize_combined, summarize_floor, summarize_model, AnchorRecord, KindResult, NegativeKind};
use crate::calibration::Calibration;
use crate::files::is_unpitched_stem;
use crate::mode::Mode;

/// The transposed kind's results on one group of anchors.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TransposedResults {
    pub anchors: usize,
    /// Per mode measured, in the order of the options.
    pub modes: Vec<ModeKindResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub combined: Option<KindResult>,
    pub floor: Option<KindResult>,
}

/// The transposed kind's results on the anchors transposed by one interval.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IntervalBreakdown {
    /// The interval in semitones, up or down (`+5` and `-5` are both 5).
    pub semitones: u32,
    #[serde(flatten)]
    pub results: TransposedResults,
}

/// The transposed kind's results on the anchors whose condition has (or
/// has not) a pitched stem.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConditionBreakdown {
    /// Whether the condition holds a stem other than drums or percussion
    /// ([`is_unpitched_stem`]).
    pub pitched: bool,
    #[serde(flatten)]
    pub results: TransposedResults,
}

/// One mode's result on the transposed kind.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ModeKindResult {
    pub mode: Mode,
    #[serde(flatten)]
    pub result: KindResult,
}

/// The transposed kind's results per group of `records` (`group_of` names
/// each record's), in `group_by`'s order.
fn transposed_by<K: Ord + Copy>(
    records: &[AnchorRecord],
    modes: &[Mode],
    calibration: Option<&Calibration>,
    group_of: impl Fn(&AnchorRecord) -> K,
) -> Vec<(K, TransposedResults)> {
    let transposed = |results: Vec<KindResult>| results.into_iter().find(|r| r.kind == NegativeKind::Transposed);
    group_by(records, group_of)
        .into_iter()
        .map(|(key, group)| {
            let results = TransposedResults {
                anchors: group.len(),
                modes: (summarize_model(&group, modes).into_iter())
                    .filter_map(|m| transposed(m.kinds).map(|result| ModeKindResult { mode: m.mode, result }))
                    .collect(),
                combined: calibration.and_then(|c| transposed(summarize_combined(&group, modes, c))),
                floor: transposed(summarize_floor(&group).into_iter().map(|f| f.result).collect()),
            };
            (key, results)
        })
        .collect()
}

/// The results per interval, the smallest first.
pub fn by_interval(
    records: &[AnchorRecord],
    modes: &[Mode],
    calibration: Option<&Calibration>,
) -> Vec<IntervalBreakdown> {
    let mut breakdowns: Vec<IntervalBreakdown> =
        transposed_by(records, modes, calibration, |r| r.semitones.unsigned_abs())
            .into_iter()
            .map(|(semitones, results)| IntervalBreakdown { semitones, results })
            .collect();
    breakdowns.sort_by_key(|b| b.semitones);
    breakdowns
}

/// The results for conditions with a pitched stem, then for those of
/// drums or percussion alone (each only if it has anchors).
pub fn by_condition(
    records: &[AnchorRecord],
    modes: &[Mode],
    calibration: Option<&Calibration>,
) -> Vec<ConditionBreakdown> {
    let pitched = |r: &AnchorRecord| r.condition.iter().any(|stem| !is_unpitched_stem(stem));
    let mut breakdowns: Vec<ConditionBreakdown> = transposed_by(records, modes, calibration, pitched)
        .into_iter()
        .map(|(pitched, results)| ConditionBreakdown { pitched, results })
        .collect();
    breakdowns.sort_by_key(|b| !b.pitched);
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
        let intervals: Vec<(u32, usize)> = breakdown.iter().map(|b| (b.semitones, b.results.anchors)).collect();
        assert_eq!(intervals, [(1, 3), (5, 2)]);
        let rate = |b: &IntervalBreakdown| b.results.modes[0].result.win.rate;
        assert_eq!((rate(&breakdown[0]), rate(&breakdown[1])), (1.0, 0.0));
        assert!(breakdown.iter().all(|b| b.results.modes[0].mode == Mode::Both));
        assert!(breakdown.iter().all(|b| b.results.combined.is_none()));
        assert!(
            breakdown
                .iter()
                .all(|b| b.results.floor.map(|f| f.kind) == Some(NegativeKind::Transposed)),
            "the floor's transposed result, not its shifted one"
        );
    }

    #[test]
    fn conditions_of_drums_alone_are_counted_apart_pitched_ones_first() {
        let with = |index, condition: &[&str], truth, transposed| AnchorRecord {
            condition: condition.iter().map(|s| s.to_string()).collect(),
            ..record(index, 2, truth, transposed)
        };
        let records = [
            with(0, &["drums"], 1.0, 2.0),
            with(1, &["drums", "bass"], 2.0, 1.0),
            with(2, &["percussion-2", "drums"], 1.0, 3.0),
            with(3, &["piano"], 3.0, 1.0),
            with(4, &["pad", "strings"], 1.0, 2.0),
        ];
        let breakdown = by_condition(&records, &[Mode::Both], None);
        let rows: Vec<(bool, usize, f64)> = (breakdown.iter())
            .map(|b| (b.pitched, b.results.anchors, b.results.modes[0].result.win.rate))
            .collect();
        assert_eq!(rows, [(true, 3, 2.0 / 3.0), (false, 2, 0.0)]);
        let only_pitched = by_condition(&records[1..2], &[Mode::Both], None);
        assert_eq!(only_pitched.len(), 1);
    }
}
