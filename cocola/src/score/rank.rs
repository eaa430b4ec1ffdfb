//! Best of N: candidate stems for one condition, ranked by their COCOLA score.
//!
//! A generator produces several candidates for one condition; the user wants
//! them in order, with each one's scores per mode and where it drifts (its
//! worst window). Each candidate is scored like `cocola score`
//! ([`Scorer::score_pair`]) and ranked by one [`Measure`] of its mean scores:
//! the raw score of one mode, or the combined log-odds of every mode. The
//! calibrated fit is a monotonic function of either, so it gives the same
//! order.
//!
//! Rules, each explained in [`Ranking::notes`] when it applies:
//! - **Ties**: candidates with exactly the same score (e.g. the same audio
//!   twice) share a rank (competition ranking: 1, 2, 2, 4) and keep the order
//!   they were given in.
//! - **Partly silent candidates** are scored on the windows where both they
//!   and the condition are audible. When candidates were scored on different
//!   numbers of windows, their means cover different parts of the condition,
//!   and the notes say so.
//! - **Silent candidates** (no window audible on both sides) have no score
//!   and no rank: they follow the ranked ones, with the side that was silent.
//! - **Failed candidates** (unreadable file, model error, non-finite score)
//!   come last, with their error.

use serde::{Deserialize, Serialize};

use super::{Measure, MeasureScore, PairReport, Scorer, WindowOptions, WindowOutcome, WindowScores};

/// One candidate's scoring result, as [`rank`] takes it: the report of
/// [`Scorer::score_pair`], or why there is none.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub name: String,
    pub result: Result<PairReport, String>,
}

/// Where a candidate stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Standing {
    /// Ranked: `rank` counts from 1; `tied_with` names the candidates with
    /// exactly the same score (they share the rank).
    Ranked { rank: usize, tied_with: Vec<String> },
    /// No window is audible on both sides; `reason` says which side is silent.
    Silent { reason: String },
    /// Could not be scored.
    Failed { error: String },
}

/// The window of a candidate lowest in the ranking's measure: where it
/// drifts furthest from the condition.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorstWindow {
    pub start_seconds: f64,
    pub end_seconds: f64,
    /// The window's scores, every mode (and the combined fit where calibrated).
    pub scores: WindowScores,
}

/// One candidate of a [`Ranking`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankedCandidate {
    pub name: String,
    #[serde(flatten)]
    pub standing: Standing,
    /// Mean scores over the scored windows, every mode (ranked candidates only).
    pub scores: Option<WindowScores>,
    pub worst_window: Option<WorstWindow>,
    pub windows_scored: usize,
    pub windows_total: usize,
    /// The candidate's timeline (absent for failed candidates).
    pub report: Option<PairReport>,
}

impl RankedCandidate {
    pub fn rank(&self) -> Option<usize> {
        match self.standing {
            Standing::Ranked { rank, .. } => Some(rank),
            _ => None,
        }
    }

    /// `measure` of the candidate's mean scores (ranked candidates only).
    pub fn score(&self, measure: impl Into<Measure>) -> Option<MeasureScore> {
        measure.into().of(self.scores.as_ref()?)
    }
}

impl WorstWindow {
    /// `measure` of the window's scores.
    pub fn score(&self, measure: impl Into<Measure>) -> Option<MeasureScore> {
        measure.into().of(&self.scores)
    }
}

/// Candidates in order: ranked best first, then silent, then failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    /// What orders the candidates (written as `mode`, the name it had when
    /// only modes could).
    #[serde(rename = "mode")]
    pub measure: Measure,
    pub candidates: Vec<RankedCandidate>,
    /// Ties, unequal coverage, silent and failed candidates, in words.
    pub notes: Vec<String>,
}

/// Scores every candidate against `condition` and ranks them by `measure`
/// (which the scorer must carry: [`Scorer::check_measure`]).
/// Candidates are taken one at a time (an iterator that decodes lazily keeps
/// one candidate's audio in memory); `Err` is a candidate that could not be
/// read. `progress(done)` is called after each candidate.
pub fn score_and_rank(
    scorer: &mut Scorer,
    condition: &[f32],
    candidates: impl IntoIterator<Item = (String, Result<Vec<f32>, String>)>,
    options: &WindowOptions,
    measure: Measure,
    mut progress: impl FnMut(usize),
) -> Ranking {
    let mut scored = Vec::new();
    for (name, audio) in candidates {
        let result = audio.and_then(|stem| {
            scorer
                .score_pair(condition, &stem, options, |_, _| {})
                .map_err(|e| format!("scoring failed: {e}"))
        });
        scored.push(Candidate { name, result });
        progress(scored.len());
    }
    rank(scored, measure)
}

/// Ranks scored candidates by `measure` of their mean scores (see the module
/// documentation for ties, silence and failures). A candidate whose scores
/// lack the measure fails (the caller checks it first).
pub fn rank(candidates: Vec<Candidate>, measure: Measure) -> Ranking {
    let mut ranked = Vec::new();
    let mut silent = Vec::new();
    let mut failed = Vec::new();
    for Candidate { name, result } in candidates {
        let report = match result {
            Err(error) => {
                failed.push(unscored(name, Standing::Failed { error }, None));
                continue;
            }
            Ok(report) => report,
        };
        match report.aggregate {
            None => {
                let reason = silence_reason(&report);
                silent.push(unscored(name, Standing::Silent { reason }, Some(report)));
            }
            Some(a) if a.modes().iter().any(|m| !m.raw.is_finite()) => {
                let error = "the model produced a non-finite score".to_string();
                failed.push(unscored(name, Standing::Failed { error }, None));
            }
            Some(a) if measure.of(&a).is_none() => {
                let error = format!("the scores carry no {}", measure.label());
                failed.push(unscored(name, Standing::Failed { error }, Some(report)));
            }
            Some(aggregate) => ranked.push(RankedCandidate {
                worst_window: worst_window(&report, measure),
                windows_scored: report.scored_windows(),
                windows_total: report.windows.len(),
                name,
                standing: Standing::Ranked {
                    rank: 0,
                    tied_with: Vec::new(),
                },
                scores: Some(aggregate),
                report: Some(report),
            }),
        }
    }
    let value = |c: &RankedCandidate| c.score(measure).map_or(f32::NEG_INFINITY, |s| s.value);
    // Stable: tied candidates keep the order they were given in.
    ranked.sort_by(|a, b| value(b).total_cmp(&value(a)));
    let mut notes = Vec::new();
    assign_ranks(&mut ranked, measure, &mut notes);
    coverage_note(&ranked, &mut notes);
    if !ranked.is_empty() || !silent.is_empty() {
        silence_notes(&silent, ranked.is_empty(), &mut notes);
    }
    if !failed.is_empty() {
        notes.push(format!(
            "{} candidate(s) could not be scored and are listed last with their error.",
            failed.len()
        ));
    }
    ranked.extend(silent);
    ranked.extend(failed);
    Ranking {
        measure,
        candidates: ranked,
        notes,
    }
}

fn unscored(name: String, standing: Standing, report: Option<PairReport>) -> RankedCandidate {
    RankedCandidate {
        windows_scored: 0,
        windows_total: report.as_ref().map_or(0, |r| r.windows.len()),
        name,
        standing,
        scores: None,
        worst_window: None,
        report,
    }
}

/// Competition ranks over candidates sorted best first; equal scores share a
/// rank, and each tie gets a note.
fn assign_ranks(ranked: &mut [RankedCandidate], measure: Measure, notes: &mut Vec<String>) {
    let value = |c: &RankedCandidate| c.score(measure).map(|s| s.value);
    let mut start = 0;
    while start < ranked.len() {
        let end = start
            + ranked[start..]
                .iter()
                .take_while(|c| value(c) == value(&ranked[start]))
                .count();
        let names: Vec<String> = ranked[start..end].iter().map(|c| c.name.clone()).collect();
        for c in &mut ranked[start..end] {
            let tied_with = names.iter().filter(|n| **n != c.name).cloned().collect();
            c.standing = Standing::Ranked {
                rank: start + 1,
                tied_with,
            };
        }
        if names.len() > 1 {
            notes.push(format!(
                "{} have exactly the same {} ({} {:.3}): they share rank {}, in the order given.",
                names.join(", "),
                measure.label(),
                measure.column(),
                value(&ranked[start]).unwrap_or(f32::NAN),
                start + 1
            ));
        }
        start = end;
    }
}

fn coverage_note(ranked: &[RankedCandidate], notes: &mut Vec<String>) {
    let most = ranked.iter().map(|c| c.windows_scored).max().unwrap_or(0);
    let fewer: Vec<String> = ranked
        .iter()
        .filter(|c| c.windows_scored < most)
        .map(|c| format!("{} {} of {}", c.name, c.windows_scored, c.windows_total))
        .collect();
    if !fewer.is_empty() {
        notes.push(format!(
            "Not every candidate was scored on the same windows (silent windows are skipped): {}; \
             the others on {most}. A mean covers only the windows where both sides are audible.",
            fewer.join(", ")
        ));
    }
}

fn silence_notes(silent: &[RankedCandidate], none_ranked: bool, notes: &mut Vec<String>) {
    let condition_silent = silent
        .iter()
        .filter_map(|c| c.report.as_ref())
        .any(|r| r.windows.iter().all(|w| silent_sides(w.outcome).0));
    if none_ranked && condition_silent {
        notes.push("The condition is silent throughout: no candidate can be scored.".into());
    } else if !silent.is_empty() {
        notes.push(format!(
            "{} candidate(s) have no window audible on both sides: not ranked, listed after the ranked ones.",
            silent.len()
        ));
    }
}

/// (condition silent, stem silent) of a window; a scored window is neither.
fn silent_sides(outcome: WindowOutcome) -> (bool, bool) {
    match outcome {
        WindowOutcome::Scored(_) => (false, false),
        WindowOutcome::Silent { condition, stem } => (condition, stem),
    }
}

fn silence_reason(report: &PairReport) -> String {
    let sides: Vec<(bool, bool)> = report.windows.iter().map(|w| silent_sides(w.outcome)).collect();
    if sides.iter().all(|s| s.1) {
        "the candidate is silent throughout (below the silence threshold)".into()
    } else if sides.iter().all(|s| s.0) {
        "the condition is silent throughout (below the silence threshold)".into()
    } else {
        "the candidate is audible only where the condition is silent".into()
    }
}

/// The scored window lowest in `measure` (the earliest of equals).
fn worst_window(report: &PairReport, measure: Measure) -> Option<WorstWindow> {
    report
        .windows
        .iter()
        .filter_map(|w| match &w.outcome {
            WindowOutcome::Scored(s) => Some((
                measure.of(s)?.value,
                WorstWindow {
                    start_seconds: w.start_seconds,
                    end_seconds: w.end_seconds,
                    scores: *s,
                },
            )),
            WindowOutcome::Silent { .. } => None,
        })
        .reduce(|worst, w| if w.0 < worst.0 { w } else { worst })
        .map(|(_, window)| window)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibration::{Calibration, ModeCalibration, ScoreDistribution};
    use crate::mode::Mode;
    use crate::score::WindowReport;

    fn scores(raw: f32) -> WindowScores {
        WindowScores::from_raw(&Mode::ALL, &[raw, raw - 1.0, raw + 1.0], None)
    }

    fn window(start: f64, outcome: WindowOutcome) -> WindowReport {
        WindowReport {
            start_seconds: start,
            end_seconds: start + 5.0,
            condition_dbfs: -20.0,
            stem_dbfs: -20.0,
            outcome,
        }
    }

    /// A candidate whose windows score `raws` (None = a silent window of the
    /// given sides), aggregated as the scorer does.
    fn candidate(name: &str, raws: &[Result<f32, (bool, bool)>]) -> Candidate {
        let windows: Vec<WindowReport> = raws
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let outcome = match *r {
                    Ok(raw) => WindowOutcome::Scored(scores(raw)),
                    Err((condition, stem)) => WindowOutcome::Silent { condition, stem },
                };
                window(5.0 * i as f64, outcome)
            })
            .collect();
        let aggregate = super::super::aggregate(&windows, &Mode::ALL, None);
        Candidate {
            name: name.into(),
            result: Ok(PairReport {
                duration_seconds: 5.0 * raws.len() as f64,
                windows,
                aggregate,
            }),
        }
    }

    fn order(r: &Ranking) -> Vec<(&str, Option<usize>)> {
        r.candidates.iter().map(|c| (c.name.as_str(), c.rank())).collect()
    }

    #[test]
    fn candidates_are_ordered_by_the_chosen_mode() {
        let ranking = rank(
            vec![
                candidate("low", &[Ok(1.0), Ok(2.0)]),
                candidate("high", &[Ok(9.0), Ok(8.0)]),
                candidate("mid", &[Ok(4.0), Ok(6.0)]),
            ],
            Mode::Both.into(),
        );
        assert_eq!(order(&ranking), [("high", Some(1)), ("mid", Some(2)), ("low", Some(3))]);
        assert!(ranking.notes.is_empty(), "{:?}", ranking.notes);
        let high = &ranking.candidates[0];
        assert_eq!(high.score(Mode::Both).unwrap().value, 8.5);
        // The worst window of "high" is its second (8.0 < 9.0).
        let worst = high.worst_window.unwrap();
        assert_eq!(
            (worst.start_seconds, worst.score(Mode::Both).unwrap().value),
            (5.0, 8.0)
        );
        assert_eq!((high.windows_scored, high.windows_total), (2, 2));
        // Harmonic is raw - 1 in every window: the same order, its own numbers.
        let harmonic = rank(
            vec![candidate("a", &[Ok(3.0)]), candidate("b", &[Ok(5.0)])],
            Mode::Harmonic.into(),
        );
        assert_eq!(order(&harmonic), [("b", Some(1)), ("a", Some(2))]);
        assert_eq!(
            harmonic.candidates[0]
                .worst_window
                .unwrap()
                .score(Mode::Harmonic)
                .unwrap()
                .value,
            4.0
        );
    }

    /// Every mode calibrated alike: log-odds = raw - 0.5.
    fn calibration() -> Calibration {
        let dist = |mean: f32| ScoreDistribution {
            mean,
            std: 1.0,
            count: 100,
        };
        let mode = ModeCalibration::random_only(dist(1.0), dist(0.0));
        Calibration {
            both: mode,
            harmonic: Some(mode),
            percussive: Some(mode),
        }
    }

    /// A calibrated candidate whose windows score `[both, harmonic, percussive]`.
    fn calibrated(name: &str, windows: &[[f32; 3]]) -> Candidate {
        let cal = calibration();
        let windows: Vec<WindowReport> = windows
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                window(
                    5.0 * i as f64,
                    WindowOutcome::Scored(WindowScores::from_raw(&Mode::ALL, raw, Some(&cal))),
                )
            })
            .collect();
        let aggregate = super::super::aggregate(&windows, &Mode::ALL, Some(&cal));
        Candidate {
            name: name.into(),
            result: Ok(PairReport {
                duration_seconds: 5.0 * windows.len() as f64,
                windows,
                aggregate,
            }),
        }
    }

    #[test]
    fn the_combined_measure_orders_by_every_mode_together() {
        // "loud" wins on the plain score alone; "agreed" is good in every mode.
        let candidates = || {
            vec![
                calibrated("loud", &[[5.0, 0.0, 0.0]]),
                calibrated("agreed", &[[4.0, 3.0, 3.0], [4.0, 3.0, 3.0]]),
                calibrated("drifts", &[[6.0, 4.0, 4.0], [6.0, -2.0, -2.0]]),
            ]
        };
        let by_both = rank(candidates(), Mode::Both.into());
        assert_eq!(
            order(&by_both),
            [("drifts", Some(1)), ("loud", Some(2)), ("agreed", Some(3))]
        );
        let combined = rank(candidates(), Measure::Combined);
        assert_eq!(combined.measure, Measure::Combined);
        // Mean log-odds: agreed (3.5 + 2.5 + 2.5) / 3 = 2.83, drifts 2.83 - 1/3
        // (its means are 6, 1, 1), loud (4.5 - 0.5 - 0.5) / 3 = 1.17.
        assert_eq!(
            order(&combined),
            [("agreed", Some(1)), ("drifts", Some(2)), ("loud", Some(3))]
        );
        let best = combined.candidates[0].score(Measure::Combined).unwrap();
        assert!((best.value - 8.5 / 3.0).abs() < 1e-5, "{best:?}");
        assert!(best.fit.unwrap() > 90.0);
        // The worst window in the combined measure is the second of "drifts"
        // (log-odds 1/6 against 4.5), though its plain score is the higher.
        let drifts = &combined.candidates[1];
        let worst = drifts.worst_window.unwrap();
        assert_eq!(worst.start_seconds, 5.0);
        assert!((worst.score(Measure::Combined).unwrap().value - 0.5 / 3.0).abs() < 1e-5);
        assert_eq!(by_both.candidates[0].worst_window.unwrap().start_seconds, 0.0);
        // The JSON names the measure where it named the mode.
        let json = serde_json::to_value(&combined).unwrap();
        assert_eq!(json["mode"], "combined");
        assert_eq!(serde_json::from_value::<Ranking>(json).unwrap(), combined);
    }

    #[test]
    fn candidates_without_the_measure_fail_with_the_reason() {
        // Uncalibrated scores have no combined fit.
        let ranking = rank(vec![candidate("plain", &[Ok(1.0)])], Measure::Combined);
        assert_eq!(order(&ranking), [("plain", None)]);
        assert!(
            matches!(&ranking.candidates[0].standing, Standing::Failed { error } if error.contains("no combined")),
            "{:?}",
            ranking.candidates[0].standing
        );
    }

    #[test]
    fn ties_share_a_rank_keep_the_given_order_and_are_explained() {
        let ranking = rank(
            vec![
                candidate("x", &[Ok(2.0)]),
                candidate("twin-b", &[Ok(5.0)]),
                candidate("best", &[Ok(7.0)]),
                candidate("twin-a", &[Ok(5.0)]),
            ],
            Mode::Both.into(),
        );
        assert_eq!(
            order(&ranking),
            [
                ("best", Some(1)),
                ("twin-b", Some(2)),
                ("twin-a", Some(2)),
                ("x", Some(4))
            ]
        );
        assert_eq!(
            ranking.candidates[1].standing,
            Standing::Ranked {
                rank: 2,
                tied_with: vec!["twin-a".into()]
            }
        );
        assert_eq!(ranking.notes.len(), 1);
        assert!(ranking.notes[0].contains("twin-b, twin-a") && ranking.notes[0].contains("rank 2"));
    }

    #[test]
    fn silent_and_failed_candidates_follow_the_ranked_ones_with_reasons() {
        let ranking = rank(
            vec![
                Candidate {
                    name: "broken".into(),
                    result: Err("cannot decode broken.wav".into()),
                },
                candidate("quiet", &[Err((false, true)), Err((false, true))]),
                candidate("partial", &[Ok(3.0), Err((false, true))]),
                candidate("full", &[Ok(1.0), Ok(1.0)]),
                candidate("where-condition-rests", &[Err((false, true)), Err((true, false))]),
            ],
            Mode::Both.into(),
        );
        assert_eq!(
            order(&ranking),
            [
                ("partial", Some(1)),
                ("full", Some(2)),
                ("quiet", None),
                ("where-condition-rests", None),
                ("broken", None)
            ]
        );
        let reason = |i: usize| match &ranking.candidates[i].standing {
            Standing::Silent { reason } => reason.clone(),
            other => panic!("{other:?}"),
        };
        assert!(reason(2).contains("candidate is silent throughout"));
        assert!(reason(3).contains("only where the condition is silent"));
        assert!(matches!(&ranking.candidates[4].standing, Standing::Failed { error } if error.contains("decode")));
        let notes = ranking.notes.join("\n");
        assert!(notes.contains("partial 1 of 2"), "{notes}");
        assert!(notes.contains("2 candidate(s) have no window audible"), "{notes}");
        assert!(notes.contains("1 candidate(s) could not be scored"), "{notes}");
    }

    #[test]
    fn a_silent_condition_is_named_and_nothing_is_ranked() {
        let ranking = rank(
            vec![
                candidate("a", &[Err((true, false))]),
                candidate("b", &[Err((true, true))]),
            ],
            Mode::Percussive.into(),
        );
        assert!(ranking.candidates.iter().all(|c| c.rank().is_none()));
        assert_eq!(
            ranking.notes,
            ["The condition is silent throughout: no candidate can be scored."]
        );
    }

    #[test]
    fn non_finite_scores_fail_and_rankings_round_trip_through_json() {
        let ranking = rank(
            vec![
                candidate("nan", &[Ok(f32::NAN)]),
                candidate("ok", &[Ok(1.0), Err((false, true))]),
            ],
            Mode::Both.into(),
        );
        assert_eq!(order(&ranking), [("ok", Some(1)), ("nan", None)]);
        let json = serde_json::to_string(&ranking).unwrap();
        // The silent window's -inf level is written as null and read back as -inf.
        let mut silent_level = ranking.clone();
        silent_level.candidates[0].report.as_mut().unwrap().windows[1].stem_dbfs = f32::NEG_INFINITY;
        let json_inf = serde_json::to_string(&silent_level).unwrap();
        assert!(json_inf.contains("\"stem_dbfs\":null"));
        assert_eq!(serde_json::from_str::<Ranking>(&json_inf).unwrap(), silent_level);
        assert_eq!(serde_json::from_str::<Ranking>(&json).unwrap(), ranking);
    }
}
