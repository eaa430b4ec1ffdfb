//! `cocola eval --stems DIR --sensitivity`: the sensitivity test (transposed,
//! shifted and foreign negatives, with the model-free floor beside the model).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use cocola::calibration::Calibration;
use cocola::eval::csv_out;
use cocola::eval::sensitivity::paired::{self, Side};
use cocola::eval::sensitivity::{
    evaluate_sensitivity, ConditionBreakdown, IntervalBreakdown, KindResult, NegativeKind, PairedMeasure,
    ProcessingControl, SensitivityOptions, SensitivityReport, TargetBreakdown, TransposedResults, VerdictShares,
};
use cocola::eval::Progress;
use cocola::mode::Mode;
use cocola::model::Model;
use cocola::model_source::ModelInfo;
use serde::Serialize;

use crate::bars::Bars;
use crate::eval_cmd::{open_cache, EvalArgs};
use crate::eval_output::{kind_table, margin_cell, real_time_factor, win_cell, EXIT_SOME_FAILED};
use crate::ModelArgs;

/// Anchors when `--anchors` is not given: a win rate near 90 % is then known
/// to about +-3.5 points (95 %).
const DEFAULT_ANCHORS: u64 = 300;

pub fn run(
    args: &EvalArgs,
    root: &Path,
    mut model: Model,
    facts: ModelInfo,
    modes: &[Mode],
    progress: &Bars,
) -> anyhow::Result<ExitCode> {
    // A baseline that cannot load fails before the long run, not after.
    let baseline = (args.baseline.as_deref())
        .map(|path| Baseline::load(args, path, modes))
        .transpose()?;
    let calibration = model.metadata().calibration;
    let (report, cache_dir) = measure(args, root, &mut model, &facts, modes, calibration, progress)?;
    // This model's results are saved before the baseline runs, so a baseline
    // that fails part-way (a corrupt file, a killed run) loses none of them.
    if let Some(out) = &args.out {
        csv_out::write_file(out, |w| csv_out::write_sensitivity(w, &report, modes))?;
    }
    let this = Side {
        anchors: &report.anchors,
        modes,
        calibration: calibration.as_ref(),
    };
    let (paired, baseline_error) = match baseline.map(|b| b.compare(args, root, &this, progress)) {
        Some(Ok(paired)) => (Some(paired), None),
        Some(Err(error)) => (None, Some(error)),
        None => (None, None),
    };
    if args.json {
        #[derive(Serialize)]
        struct Doc<'a> {
            kind: &'static str,
            model: &'a ModelInfo,
            cache_dir: Option<&'a Path>,
            real_time_factor: Option<f64>,
            #[serde(flatten)]
            report: &'a SensitivityReport,
            #[serde(skip_serializing_if = "Option::is_none")]
            paired: Option<&'a Paired>,
            out: Option<&'a Path>,
        }
        let doc = Doc {
            kind: "sensitivity",
            model: &facts,
            cache_dir: cache_dir.as_deref(),
            real_time_factor: real_time_factor(report.audio_seconds, report.seconds),
            report: &report,
            paired: paired.as_ref(),
            out: args.out.as_deref(),
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        let mut text = render(&facts, &report, cache_dir.as_deref(), args.out.as_deref());
        if let Some(paired) = &paired {
            render_paired(&mut text, paired, report.anchors.len());
        }
        print!("{text}");
    }
    if let Some(error) = baseline_error {
        return Err(error.context("the baseline comparison failed; this model's results above stand"));
    }
    let failed = !report.failed_tracks.is_empty();
    Ok(if failed {
        ExitCode::from(EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs the test with `model` through its own embedding cache (returned:
/// where that cache is, if on).
fn measure(
    args: &EvalArgs,
    root: &Path,
    model: &mut Model,
    facts: &ModelInfo,
    modes: &[Mode],
    calibration: Option<Calibration>,
    progress: &Bars,
) -> anyhow::Result<(SensitivityReport, Option<PathBuf>)> {
    let cache = open_cache(args, &facts.sha256, progress);
    let options = SensitivityOptions {
        anchors: usize::try_from(args.anchors.unwrap_or(DEFAULT_ANCHORS)).context("--anchors is too large")?,
        seed: args.seed,
        modes: modes.to_vec(),
        calibration,
        ..SensitivityOptions::default()
    };
    let report = evaluate_sensitivity(model, &cache, root, &options, progress)?;
    if let Some(error) = cache.first_write_error() {
        progress.warn(&format!(
            "the embedding cache could not be written ({error}); results are unaffected"
        ));
    }
    Ok((report, cache.dir().map(Path::to_owned)))
}

/// The baseline model and how this model compares with it.
#[derive(Serialize)]
struct Paired {
    baseline: ModelInfo,
    measures: Vec<PairedMeasure>,
}

/// The `--baseline` model, loaded, with the modes it shares with this one.
struct Baseline {
    path: PathBuf,
    model: Model,
    facts: ModelInfo,
    modes: Vec<Mode>,
}

impl Baseline {
    fn load(args: &EvalArgs, path: &Path, modes: &[Mode]) -> anyhow::Result<Baseline> {
        let context = || format!("--baseline {}", path.display());
        let (model, facts) = ModelArgs {
            model: Some(path.to_owned()),
            ..args.model_args().clone()
        }
        .load()
        .with_context(context)?;
        let shared: Vec<Mode> = (modes.iter().copied())
            .filter(|&m| model.input().check_mode(m).is_ok())
            .collect();
        if shared.is_empty() {
            anyhow::bail!(
                "{}: the model has none of the modes measured ({})",
                context(),
                modes.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
            );
        }
        Ok(Baseline {
            path: path.to_owned(),
            model,
            facts,
            modes: shared,
        })
    }

    /// Runs the test on the same anchors (the draw depends only on the
    /// tracks and the seed) and compares `this` run with it anchor by anchor.
    fn compare(mut self, args: &EvalArgs, root: &Path, this: &Side, progress: &Bars) -> anyhow::Result<Paired> {
        let context = || format!("--baseline {}", self.path.display());
        let calibration = self.model.metadata().calibration;
        let (report, _) = measure(
            args,
            root,
            &mut self.model,
            &self.facts,
            &self.modes,
            calibration,
            progress,
        )
        .with_context(context)?;
        let baseline = Side {
            anchors: &report.anchors,
            modes: &self.modes,
            calibration: calibration.as_ref(),
        };
        let measures = paired::compare(this, &baseline).with_context(context)?;
        Ok(Paired {
            baseline: self.facts,
            measures,
        })
    }
}

fn render(model: &ModelInfo, report: &SensitivityReport, cache_dir: Option<&Path>, out: Option<&Path>) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "stems      {}", report.root.display());
    let _ = writeln!(
        text,
        "model      {} {} (sha256 {:.12})",
        model.name, model.version, model.sha256
    );
    let _ = writeln!(
        text,
        "tracks     {} found, {} used, {} failed to decode; {} anchors, seed {}",
        report.tracks_found,
        report.tracks_used,
        report.failed_tracks.len(),
        report.anchors.len(),
        report.seed
    );
    let speed = real_time_factor(report.audio_seconds, report.seconds).map_or(String::new(), |r| {
        format!(" ({r:.0}x real time over {:.0} s of tracks)", report.audio_seconds)
    });
    let cache = match cache_dir {
        None => "cache off".to_string(),
        Some(_) => format!(
            "{} of {} embeddings from the cache",
            report.cache.hits,
            report.cache.hits + report.cache.misses
        ),
    };
    let _ = writeln!(
        text,
        "windows    {} embedded in {:.1} s{speed}; {cache}",
        report.windows, report.seconds
    );

    let kinds = cocola::eval::sensitivity::NegativeKind::ALL;
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    let mut wins: Vec<(String, Vec<String>)> = (report.model.iter())
        .map(|m| {
            let cells = kinds
                .iter()
                .map(|&kind| win_cell(m.kinds.iter().find(|r| r.kind == kind).map(|r| &r.win)));
            (m.mode.name().to_string(), cells.collect())
        })
        .collect();
    let combined_cell = |kind, cell: &dyn Fn(&KindResult) -> String| {
        (report.combined.iter().find(|r| r.kind == kind)).map_or("-".to_string(), cell)
    };
    if !report.combined.is_empty() {
        let cells = kinds
            .iter()
            .map(|&kind| combined_cell(kind, &|r| win_cell(Some(&r.win))));
        wins.push(("combined".into(), cells.collect()));
    }
    let floor = kinds.iter().map(|&kind| {
        win_cell(
            report
                .floor
                .iter()
                .map(|f| &f.result)
                .find(|r| r.kind == kind)
                .map(|r| &r.win),
        )
    });
    wins.push(("floor (no model)".into(), floor.collect()));
    let measures = kinds.iter().map(|kind| match kind.floor_measure() {
        "chroma cosine + onset correlation" => "chroma + onsets".to_string(),
        other => other.to_string(),
    });
    wins.push(("  floor measures".into(), measures.collect()));
    kind_table(&mut text, "true stem wins over", &names, &wins);
    let _ = writeln!(text, "(win rates with their 95 % interval; chance is 50 %)");
    render_processing(&mut text, &report.processing);
    render_verdicts(&mut text, &report.verdicts);

    let mut margins: Vec<(String, Vec<String>)> = (report.model.iter())
        .map(|m| {
            let cells = kinds.iter().map(|&kind| {
                (m.kinds.iter().find(|r| r.kind == kind)).map_or("-".to_string(), |r| margin_cell(&r.margin))
            });
            (m.mode.name().to_string(), cells.collect())
        })
        .collect();
    if !report.combined.is_empty() {
        let cells = kinds
            .iter()
            .map(|&kind| combined_cell(kind, &|r| margin_cell(&r.margin)));
        margins.push(("combined (log-odds)".into(), cells.collect()));
    }
    kind_table(&mut text, "mean margin (raw)", &names, &margins);
    render_by_target(&mut text, &report.by_target, &names);
    render_by_interval(&mut text, &report.by_interval);
    render_by_condition(&mut text, &report.by_condition);
    if let Some(p) = out {
        let _ = writeln!(text, "\nper-anchor results: {}", p.display());
    }
    text
}

/// The processing control: how often the untouched true stem beats its
/// in-key copy, per measure. Near 50 % the transposed column is decided by
/// the key; far above, the model also hears the shifter.
fn render_processing(text: &mut String, controls: &[ProcessingControl]) {
    if controls.is_empty() {
        return;
    }
    let _ = writeln!(
        text,
        "\nprocessing control: the untouched true stem over itself through the pitch shifter and back\n\
         (the transposed column's truth; same key, so 50 % = the shifter is not heard)"
    );
    for control in controls {
        let _ = writeln!(text, "  {:<20}{}", control.measure, win_cell(Some(&control.win)));
    }
}

/// How the combined verdict falls on the true stems and on each kind of
/// negative: the words a user reads, where the win rates only compare.
fn render_verdicts(text: &mut String, verdicts: &[VerdictShares]) {
    if verdicts.is_empty() {
        return;
    }
    let _ = writeln!(
        text,
        "
combined verdict (a true stem should fit, a negative clash)
  {:<18}{:>8}{:>9}{:>9}{:>9}",
        "window", "windows", "fits", "unsure", "clashes"
    );
    let percent = |share: f64| format!("{:.1} %", 100.0 * share);
    for v in verdicts {
        let _ = writeln!(
            text,
            "  {:<18}{:>8}{:>9}{:>9}{:>9}",
            v.window,
            v.windows,
            percent(v.fits),
            percent(v.unsure),
            percent(v.clashes)
        );
    }
}

/// Target families with fewer anchors than this are left out of the text
/// table (their interval would span tens of points); JSON has them all.
const MIN_FAMILY_ANCHORS: usize = 20;

/// The win rates per family of target stem: the headline measure (the
/// combined fit when the model is calibrated, else the first mode) beside
/// the floor.
fn render_by_target(text: &mut String, breakdowns: &[TargetBreakdown], names: &[&str]) {
    fn headline(b: &TargetBreakdown) -> (&'static str, &[KindResult]) {
        match b.model.first() {
            _ if !b.combined.is_empty() => ("combined", &b.combined),
            Some(m) => (m.mode.name(), &m.kinds),
            None => ("model", &[]),
        }
    }
    let rate = |results: &[KindResult], kind: NegativeKind| {
        (results.iter().find(|r| r.kind == kind)).map_or("-".to_string(), |r| format!("{:.1}", 100.0 * r.win.rate))
    };
    let (shown, left_out): (Vec<&TargetBreakdown>, Vec<&TargetBreakdown>) =
        breakdowns.iter().partition(|b| b.anchors >= MIN_FAMILY_ANCHORS);
    let Some(first) = shown.first() else { return };
    let measure = headline(first).0;
    let rows: Vec<(String, Vec<String>)> = shown
        .iter()
        .map(|b| {
            let model = headline(b).1;
            let floor: Vec<KindResult> = b.floor.iter().map(|f| f.result).collect();
            let cells =
                (NegativeKind::ALL.iter()).map(|&kind| format!("{} | {}", rate(model, kind), rate(&floor, kind)));
            (format!("{} ({})", b.target, b.anchors), cells.collect())
        })
        .collect();
    kind_table(text, "by target stem (n)", names, &rows);
    let rest = match left_out.len() {
        0 => String::new(),
        n => format!(
            "; {n} stem famil{} with fewer than {MIN_FAMILY_ANCHORS} anchors left out ({} anchors)",
            if n == 1 { "y" } else { "ies" },
            left_out.iter().map(|b| b.anchors).sum::<usize>()
        ),
    };
    let _ = writeln!(text, "(win rates in %: {measure} | floor{rest})");
}

/// The transposed copies' win rates per interval, each measure beside the
/// floor: where the key is heard, and where a near-consonant interval (5
/// semitones: a fourth or a fifth) passes for in key.
fn render_by_interval(text: &mut String, breakdowns: &[IntervalBreakdown]) {
    let rows: Vec<(String, &TransposedResults)> = (breakdowns.iter())
        .map(|b| {
            let unit = if b.semitones == 1 { "semitone" } else { "semitones" };
            (format!("{} {unit} ({})", b.semitones, b.results.anchors), &b.results)
        })
        .collect();
    if render_transposed_table(text, "transposed, by interval (n)", &rows) {
        let _ = writeln!(
            text,
            "(win rates in %; up or down: 5 semitones is a fourth up or a fifth down)"
        );
    }
}

/// The transposed kind where the condition has a pitched stem and where it
/// is drums alone, which have no key a transposed stem could clash with.
fn render_by_condition(text: &mut String, breakdowns: &[ConditionBreakdown]) {
    let rows: Vec<(String, &TransposedResults)> = (breakdowns.iter())
        .map(|b| {
            let what = if b.pitched { "pitched stems" } else { "drums alone" };
            (format!("{what} ({})", b.results.anchors), &b.results)
        })
        .collect();
    if render_transposed_table(text, "transposed, by condition (n)", &rows) {
        let _ = writeln!(
            text,
            "(win rates in %; against drums alone no score can hear a key, so these anchors sit near 50 %)"
        );
    }
}

/// One row per group of anchors: the transposed kind's win rate per mode,
/// combined (when calibrated) and floor. False, writing nothing, without
/// rows.
fn render_transposed_table(text: &mut String, title: &str, rows: &[(String, &TransposedResults)]) -> bool {
    let Some((_, first)) = rows.first() else { return false };
    let mut names: Vec<&str> = first.modes.iter().map(|m| m.mode.name()).collect();
    names.extend(first.combined.map(|_| "combined"));
    names.push("floor");
    let percent = |r: &KindResult| format!("{:.1}", 100.0 * r.win.rate);
    let rows: Vec<(String, Vec<String>)> = rows
        .iter()
        .map(|(label, b)| {
            let results = (b.modes.iter().map(|m| Some(m.result))).chain(first.combined.map(|_| b.combined));
            let cells = results
                .chain([b.floor])
                .map(|r| r.as_ref().map_or("-".to_string(), percent));
            (label.clone(), cells.collect())
        })
        .collect();
    kind_table(text, title, &names, &rows);
    true
}

/// The paired comparison with `--baseline`: per measure and kind, this
/// model's win rate minus the baseline's, the anchors each decides better,
/// and the McNemar p-value of that split.
fn render_paired(text: &mut String, paired: &Paired, anchors: usize) {
    let baseline = &paired.baseline;
    let _ = writeln!(
        text,
        "\nbaseline   {} {} (sha256 {:.12}), on the same {anchors} anchors",
        baseline.name, baseline.version, baseline.sha256
    );
    let names: Vec<&str> = NegativeKind::ALL.iter().map(|k| k.name()).collect();
    let rows: Vec<(String, Vec<String>)> = (paired.measures.iter())
        .map(|m| {
            let cells = NegativeKind::ALL.iter().map(|&kind| {
                (m.kinds.iter().find(|k| k.kind == kind)).map_or("-".to_string(), |k| {
                    let points = 100.0 * (k.candidate.rate - k.baseline.rate);
                    format!("{points:+5.1} ({}/{}) p {}", k.gained, k.lost, p_value(k.p_value))
                })
            });
            (m.measure.clone(), cells.collect())
        })
        .collect();
    kind_table(text, "this model - baseline", &names, &rows);
    let _ = writeln!(
        text,
        "(win rate difference in points; (anchors this model decides better/worse); exact McNemar p:\n \
         below 0.05, the difference is unlikely to be chance)"
    );
}

/// A p-value with the digits that matter.
fn p_value(p: f64) -> String {
    if p < 0.001 {
        "<0.001".to_string()
    } else if p < 0.01 {
        format!("{p:.3}")
    } else {
        format!("{p:.2}")
    }
}

#[cfg(test)]
mod tests;
