//! `cocola eval --stems DIR --sensitivity`: the sensitivity test (transposed,
//! shifted and foreign negatives, with the model-free floor beside the model).

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use cocola::eval::csv_out;
use cocola::eval::sensitivity::{
    evaluate_sensitivity, KindResult, NegativeKind, SensitivityOptions, SensitivityReport, TargetBreakdown,
};
use cocola::eval::Progress;
use cocola::mode::Mode;
use cocola::model::Model;
use cocola::model_source::ModelInfo;
use serde::Serialize;

use crate::bars::Bars;
use crate::eval_cmd::{open_cache, EvalArgs};
use crate::eval_output::{kind_table, margin_cell, real_time_factor, win_cell, EXIT_SOME_FAILED};

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
    let cache = open_cache(args, &facts.sha256, progress);
    let options = SensitivityOptions {
        anchors: usize::try_from(args.anchors.unwrap_or(DEFAULT_ANCHORS)).context("--anchors is too large")?,
        seed: args.seed,
        modes: modes.to_vec(),
        calibration: model.metadata().calibration,
        ..SensitivityOptions::default()
    };
    let report = evaluate_sensitivity(&mut model, &cache, root, &options, progress)?;
    if let Some(error) = cache.first_write_error() {
        progress.warn(&format!(
            "the embedding cache could not be written ({error}); results are unaffected"
        ));
    }
    if let Some(out) = &args.out {
        csv_out::write_file(out, |w| csv_out::write_sensitivity(w, &report, modes))?;
    }
    if args.json {
        #[derive(Serialize)]
        struct Doc<'a> {
            kind: &'static str,
            model: &'a ModelInfo,
            cache_dir: Option<&'a Path>,
            real_time_factor: Option<f64>,
            #[serde(flatten)]
            report: &'a SensitivityReport,
            out: Option<&'a Path>,
        }
        let doc = Doc {
            kind: "sensitivity",
            model: &facts,
            cache_dir: cache.dir(),
            real_time_factor: real_time_factor(report.audio_seconds, report.seconds),
            report: &report,
            out: args.out.as_deref(),
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", render(&facts, &report, cache.dir(), args.out.as_deref()));
    }
    Ok(if report.failed_tracks.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SOME_FAILED)
    })
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
    if let Some(p) = out {
        let _ = writeln!(text, "\nper-anchor results: {}", p.display());
    }
    text
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

#[cfg(test)]
mod tests {
    use cocola::eval::sensitivity::{kind_result, FloorResult, ModeResult};

    use super::*;

    /// A family whose true stems win `model_wins` of `n` comparisons of
    /// every kind under the model and `floor_wins` under the floor.
    fn family(target: &str, n: usize, model_wins: usize, floor_wins: usize, combined: bool) -> TargetBreakdown {
        let pairs = |wins: usize| -> Vec<(f64, f64)> {
            (0..n).map(|i| if i < wins { (1.0, 0.0) } else { (0.0, 1.0) }).collect()
        };
        let kinds = |wins| -> Vec<KindResult> {
            (NegativeKind::ALL.iter())
                .map(|&k| kind_result(k, &pairs(wins)).unwrap())
                .collect()
        };
        TargetBreakdown {
            target: target.into(),
            anchors: n,
            model: vec![ModeResult {
                mode: Mode::Both,
                kinds: kinds(model_wins),
            }],
            combined: if combined { kinds(n) } else { Vec::new() },
            floor: (kinds(floor_wins).into_iter())
                .map(|result| FloorResult {
                    measure: result.kind.floor_measure(),
                    result,
                })
                .collect(),
        }
    }

    #[test]
    fn the_table_shows_each_large_family_beside_the_floor() {
        let names = ["transposed", "shifted", "foreign"];
        let mut text = String::new();
        let breakdowns = [family("bass", 40, 30, 36, false), family("organ", 5, 5, 5, false)];
        render_by_target(&mut text, &breakdowns, &names);
        assert!(text.contains("bass (40)"), "{text}");
        assert!(text.contains("75.0 | 90.0"), "{text}");
        assert!(!text.contains("organ"), "{text}");
        assert!(
            text.contains("both | floor; 1 stem family with fewer than 20 anchors left out (5 anchors)"),
            "{text}"
        );

        let mut text = String::new();
        render_by_target(&mut text, &[family("bass", 40, 30, 36, true)], &names);
        assert!(
            text.contains("100.0 | 90.0") && text.contains("(win rates in %: combined | floor)"),
            "{text}"
        );
    }

    #[test]
    fn a_long_family_name_widens_the_label_column() {
        let mut text = String::new();
        let breakdowns = [
            family("chromatic-percussion", 32, 16, 32, false),
            family("bass", 40, 30, 36, false),
        ];
        render_by_target(&mut text, &breakdowns, &["transposed", "shifted", "foreign"]);
        let columns: Vec<usize> = (text.lines())
            .filter(|l| l.contains(" | ") && !l.starts_with("(win rates"))
            .map(|l| l.find(" | ").unwrap())
            .collect();
        assert_eq!(columns.len(), 2, "{text}");
        assert_eq!(columns[0], columns[1], "the cells line up: {text}");
        assert!(text.contains("chromatic-percussion (32) "), "{text}");
    }

    #[test]
    fn no_large_family_no_table() {
        let mut text = String::new();
        render_by_target(&mut text, &[family("organ", 5, 5, 5, false)], &["transposed"]);
        assert!(text.is_empty(), "{text}");
    }
}
