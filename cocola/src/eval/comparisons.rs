//! Comparison sets: pair sets whose pairs come in groups sharing a
//! condition, one coherent stem and its negatives (a transposed copy, an
//! off-beat copy, another song's stem...), as the `group` and `kind` columns
//! of a pair CSV name them ([`Comparison`](crate::eval::pairset::Comparison)). What counts is then not the
//! mean score but how often the coherent stem scores above each kind of
//! negative: the win rates of the sensitivity test
//! ([`sensitivity`](super::sensitivity)), for sets built any way.
//!
//! The model-free floor is computed from the files themselves: chroma and
//! onset envelopes of each whole condition and stem, judged by the kind's
//! measure ([`NegativeKind::floor_for`]).

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use super::pairs::PairOutcome;
use super::pairset::PairSpec;
use super::sensitivity::floor::{floor_score, Descriptors, FloorAnalyzer, NegativeKind};
use super::stats::{win, Summary, WinRate};
use crate::mode::Mode;

/// How the coherent stem fared against one kind of negative.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KindWinRate {
    pub kind: String,
    pub win: WinRate,
    /// Raw score of the coherent stem minus the negative's (absent for the floor).
    pub margin: Option<Summary>,
}

/// The model's win rates in one mode.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModeWinRates {
    pub mode: Mode,
    pub kinds: Vec<KindWinRate>,
}

/// The floor's win rate on one kind, and what it measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FloorWinRate {
    pub measure: &'static str,
    #[serde(flatten)]
    pub result: KindWinRate,
}

/// The win rates of a comparison set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComparisonReport {
    /// Groups with exactly one coherent pair.
    pub groups: usize,
    /// Groups left out, and why (no coherent pair, or several).
    pub skipped_groups: Vec<String>,
    pub model: Vec<ModeWinRates>,
    pub floor: Vec<FloorWinRate>,
}

/// One comparison: the coherent pair and a negative pair of a group.
struct Duel {
    kind: String,
    coherent: usize,
    negative: usize,
}

/// The duels of a set, and the groups that cannot form any.
fn duels(specs: &[PairSpec]) -> (Vec<Duel>, usize, Vec<String>) {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, spec) in specs.iter().enumerate() {
        if let Some(c) = &spec.comparison {
            groups.entry(c.group.as_str()).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    let mut used = 0;
    let mut skipped = Vec::new();
    for (group, members) in groups {
        let is_coherent = |&i: &usize| specs[i].comparison.as_ref().is_some_and(|c| c.is_coherent());
        let coherent: Vec<usize> = members.iter().copied().filter(is_coherent).collect();
        match coherent.as_slice() {
            [c] => {
                used += 1;
                out.extend(members.iter().filter(|&i| !is_coherent(i)).map(|&n| {
                    Duel {
                        kind: specs[n]
                            .comparison
                            .as_ref()
                            .expect("grouped pairs compare")
                            .kind
                            .clone(),
                        coherent: *c,
                        negative: n,
                    }
                }));
            }
            [] => skipped.push(format!("group {group}: no coherent pair (kind 'coherent')")),
            many => skipped.push(format!("group {group}: {} coherent pairs, expected one", many.len())),
        }
    }
    (out, used, skipped)
}

/// Kinds of negatives in first-seen order.
fn kinds_of(duels: &[Duel]) -> Vec<String> {
    let mut kinds: Vec<String> = Vec::new();
    for d in duels {
        if !kinds.contains(&d.kind) {
            kinds.push(d.kind.clone());
        }
    }
    kinds
}

/// Win rates of a scored comparison set (`outcomes` in the order of
/// `specs`); `None` when the set has no `group`/`kind` columns. Pairs that
/// failed or were silent take no part in the duels they belong to.
pub fn compare(specs: &[PairSpec], outcomes: &[PairOutcome], modes: &[Mode]) -> Option<ComparisonReport> {
    if specs.iter().all(|s| s.comparison.is_none()) {
        return None;
    }
    let (duels, groups, skipped_groups) = duels(specs);
    let kinds = kinds_of(&duels);
    let model = modes
        .iter()
        .map(|&mode| ModeWinRates {
            mode,
            kinds: kinds
                .iter()
                .filter_map(|kind| {
                    let pairs: Vec<(f64, f64)> = duels
                        .iter()
                        .filter(|d| &d.kind == kind)
                        .filter_map(|d| {
                            let score = |i: usize| outcomes[i].raw(mode).map(f64::from);
                            Some((score(d.coherent)?, score(d.negative)?))
                        })
                        .collect();
                    kind_win_rate(kind, &pairs, true)
                })
                .collect(),
        })
        .collect();

    // The floor, from every pair that takes part in a duel.
    let mut involved: Vec<usize> = duels.iter().flat_map(|d| [d.coherent, d.negative]).collect();
    involved.sort_unstable();
    involved.dedup();
    let described: BTreeMap<usize, (Descriptors, Descriptors)> = involved
        .par_iter()
        .filter_map(|&i| describe_pair(&specs[i]).map(|d| (i, d)))
        .collect();
    let floor = kinds
        .iter()
        .filter_map(|kind| {
            let judge = NegativeKind::floor_for(kind);
            let score = |i: usize| described.get(&i).map(|(c, s)| floor_score(judge, c, s));
            let pairs: Vec<(f64, f64)> = duels
                .iter()
                .filter(|d| &d.kind == kind)
                .filter_map(|d| Some((score(d.coherent)?, score(d.negative)?)))
                .collect();
            Some(FloorWinRate {
                measure: judge.floor_measure(),
                result: kind_win_rate(kind, &pairs, false)?,
            })
        })
        .collect();
    Some(ComparisonReport {
        groups,
        skipped_groups,
        model,
        floor,
    })
}

fn kind_win_rate(kind: &str, pairs: &[(f64, f64)], with_margin: bool) -> Option<KindWinRate> {
    let wins: Vec<f64> = pairs.iter().map(|&(c, n)| win(c, n)).collect();
    let margins: Vec<f64> = pairs.iter().map(|&(c, n)| c - n).collect();
    Some(KindWinRate {
        kind: kind.to_string(),
        win: WinRate::of(&wins)?,
        margin: if with_margin { Summary::of(&margins) } else { None },
    })
}

/// The floor's descriptors of a pair's whole condition and stem; `None`
/// when a file cannot be decoded (the pair failed in scoring too).
fn describe_pair(spec: &PairSpec) -> Option<(Descriptors, Descriptors)> {
    let condition = crate::audio::load_mono_16k(&spec.condition).ok()?;
    let stem = crate::audio::load_mono_16k(&spec.stem).ok()?;
    let mut analyzer = FloorAnalyzer::new();
    Some((analyzer.describe(&condition), analyzer.describe(&stem)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::pairset::Comparison;

    fn spec(id: &str, group: &str, kind: &str) -> PairSpec {
        PairSpec {
            id: id.into(),
            condition: "/nonexistent/c.wav".into(),
            stem: "/nonexistent/s.wav".into(),
            problem: None,
            comparison: Some(Comparison {
                group: group.into(),
                kind: kind.into(),
            }),
        }
    }

    #[test]
    fn groups_form_duels_of_their_coherent_pair_with_each_negative() {
        let specs = vec![
            spec("a0", "a", "coherent"),
            spec("a1", "a", "transposed"),
            spec("a2", "a", "shifted"),
            spec("b0", "b", "TRUE"),
            spec("b1", "b", "transposed"),
            spec("c1", "c", "transposed"),
            spec("d0", "d", "coherent"),
            spec("d1", "d", "original"),
        ];
        let (duels, used, skipped) = duels(&specs);
        assert_eq!(used, 2);
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(skipped[0].contains("group c") && skipped[1].contains("group d"));
        let found: Vec<(String, usize, usize)> =
            duels.iter().map(|d| (d.kind.clone(), d.coherent, d.negative)).collect();
        assert_eq!(
            found,
            vec![
                ("transposed".into(), 0, 1),
                ("shifted".into(), 0, 2),
                ("transposed".into(), 3, 4)
            ]
        );
        assert_eq!(kinds_of(&duels), vec!["transposed".to_string(), "shifted".to_string()]);
    }

    #[test]
    fn a_plain_pair_set_has_no_comparisons() {
        let mut plain = spec("x", "g", "coherent");
        plain.comparison = None;
        assert_eq!(compare(&[plain], &[], &[Mode::Both]), None);
    }
}
