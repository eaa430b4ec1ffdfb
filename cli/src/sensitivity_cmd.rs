//! `cocola eval --stems DIR --sensitivity`: the sensitivity test (transposed,
//! shifted and foreign negatives, with the model-free floor beside the model).

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use cocola::eval::csv_out;
use cocola::eval::sensitivity::{evaluate_sensitivity, KindResult, SensitivityOptions, SensitivityReport};
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
    if let Some(p) = out {
        let _ = writeln!(text, "\nper-anchor results: {}", p.display());
    }
    text
}
