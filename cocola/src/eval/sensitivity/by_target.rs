//! The sensitivity test's win rates per kind of target stem: where a model
//! hears key and groove, and where it does not (a bass line, a lead, a pad
//! fail differently). The same summaries as the whole report, computed on
//! the anchors whose target belongs to one stem family.

use serde::Serialize;

use super::{summarize_combined, summarize_floor, summarize_model, AnchorRecord, FloorResult, KindResult, ModeResult};
use crate::calibration::Calibration;
use crate::mode::Mode;

/// The results of the anchors whose target stem is of one family.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetBreakdown {
    /// The family: the stem's name without a trailing number (`bass-2` and
    /// `bass` are both `bass`).
    pub target: String,
    pub anchors: usize,
    #[serde(rename = "modes")]
    pub model: Vec<ModeResult>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub combined: Vec<KindResult>,
    pub floor: Vec<FloorResult>,
}

/// A stem's family: its name without a trailing number and the separator
/// before it, so that the second bass of a track counts with the first.
pub fn stem_family(name: &str) -> &str {
    let without_number = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let family = without_number.trim_end_matches(['-', '_', ' ', '.']);
    if family.is_empty() {
        name
    } else {
        family
    }
}

/// The results per target family, the family with the most anchors first
/// (ties by name).
pub fn by_target(records: &[AnchorRecord], modes: &[Mode], calibration: Option<&Calibration>) -> Vec<TargetBreakdown> {
    let mut breakdowns: Vec<TargetBreakdown> = group_by(records, |r| stem_family(&r.target))
        .into_iter()
        .map(|(family, group)| TargetBreakdown {
            target: family.to_string(),
            anchors: group.len(),
            model: summarize_model(&group, modes),
            combined: calibration.map_or_else(Vec::new, |c| summarize_combined(&group, modes, c)),
            floor: summarize_floor(&group),
        })
        .collect();
    breakdowns.sort_by(|a, b| b.anchors.cmp(&a.anchors).then_with(|| a.target.cmp(&b.target)));
    breakdowns
}

/// The records grouped by `key`, the groups in the order their first
/// record comes.
pub(super) fn group_by<'a, K: PartialEq>(
    records: &'a [AnchorRecord],
    key: impl Fn(&'a AnchorRecord) -> K,
) -> Vec<(K, Vec<AnchorRecord>)> {
    let mut groups: Vec<(K, Vec<AnchorRecord>)> = Vec::new();
    for record in records {
        let k = key(record);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, group)) => group.push(record.clone()),
            None => groups.push((k, vec![record.clone()])),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::sensitivity::NegativeKind;

    #[test]
    fn a_family_is_the_name_without_its_number() {
        assert_eq!(stem_family("bass-2"), "bass");
        assert_eq!(stem_family("bass"), "bass");
        assert_eq!(stem_family("guitar_10"), "guitar");
        assert_eq!(stem_family("counter-melody"), "counter-melody");
        assert_eq!(stem_family("synth-lead"), "synth-lead");
        assert_eq!(stem_family("808"), "808");
    }

    fn record(target: &str, truth: f32, transposed: f32) -> AnchorRecord {
        crate::eval::sensitivity::test_record(0, target, truth, transposed)
    }

    #[test]
    fn each_family_is_summarized_on_its_own_anchors() {
        // Basses always win over their transposed copies, pianos never.
        let records = [
            record("bass", 2.0, 1.0),
            record("piano", 1.0, 2.0),
            record("bass-2", 2.0, 1.0),
            record("piano-2", 1.0, 2.0),
            record("bass", 3.0, 1.0),
        ];
        let breakdown = by_target(&records, &[Mode::Both], None);
        let families: Vec<(&str, usize)> = breakdown.iter().map(|b| (b.target.as_str(), b.anchors)).collect();
        assert_eq!(families, [("bass", 3), ("piano", 2)]);
        let transposed = |b: &TargetBreakdown| {
            let kinds = &b.model[0].kinds;
            kinds
                .iter()
                .find(|k| k.kind == NegativeKind::Transposed)
                .unwrap()
                .win
                .rate
        };
        assert_eq!(transposed(&breakdown[0]), 1.0);
        assert_eq!(transposed(&breakdown[1]), 0.0);
        assert!(breakdown.iter().all(|b| b.combined.is_empty()));
        assert_eq!(breakdown[1].floor.len(), 2, "no foreign negatives, no foreign floor");
    }
}
