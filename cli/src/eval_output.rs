//! What `cocola eval` and `cocola merge` print and write once a pair set or
//! an accuracy@K evaluation is finished: the terminal table or JSON, the
//! CSV (`--out`), the chart (`--plot`) and the HTML report (`--report`).
//! A merged evaluation goes through the same code as a single run, so both
//! print the same numbers.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cocola::eval::comparisons::{ComparisonReport, KindWinRate};
use cocola::eval::csv_out;
use cocola::eval::pairs::PairSetReport;
use cocola::eval::stats::{Summary, WinRate};
use cocola::eval::submix::SubmixReport;
use cocola::mode::Mode;
use cocola::model_source::ModelInfo;
use cocola::score::Direction;
use cocola::visual::{pages, ModelLine};
use serde::Serialize;

use crate::visual_args::VisualArgs;

/// Exit code of an evaluation that finished but could not score some pairs
/// (or decode some tracks); the CSV / report says which and why.
pub const EXIT_SOME_FAILED: u8 = 3;

/// Where a finished evaluation goes.
pub struct Outputs<'a> {
    /// `--out`: the CSV.
    pub csv: Option<&'a Path>,
    pub json: bool,
    pub visual: &'a VisualArgs,
}

/// Settings of a pair-set evaluation, as the outputs show them.
pub struct PairsRun<'a> {
    pub set: &'a Path,
    pub model: &'a ModelInfo,
    pub direction: Direction,
    pub hop_seconds: f32,
    pub silence_dbfs: f32,
    pub modes: &'a [Mode],
    /// Set by `merge`: the part files.
    pub parts: Option<&'a [PathBuf]>,
    /// Win rates of a comparison set (a set with `group` and `kind` columns).
    pub comparisons: Option<&'a ComparisonReport>,
    /// Each pair's kind in a comparison set (`coherent` or the negative's
    /// kind), in the report's order: the charts draw one histogram per kind.
    pub kinds: Option<&'a [String]>,
}

fn model_line(model: &ModelInfo) -> ModelLine {
    ModelLine {
        name: model.name.clone(),
        version: model.version.clone(),
        detail: format!("sha256 {:.12}", model.sha256),
    }
}

/// The model line of the terminal summaries.
fn model_text(model: &ModelInfo) -> String {
    format!(
        "model      {} {} (sha256 {:.12})",
        model.name, model.version, model.sha256
    )
}

pub use cocola::eval::stats::real_time_factor;

/// Writes and prints a finished pair-set evaluation; exit code 3 when some pairs failed.
pub fn finish_pairs(run: &PairsRun, report: &PairSetReport, out: &Outputs) -> anyhow::Result<ExitCode> {
    if let Some(path) = out.csv {
        csv_out::write_file(path, |w| csv_out::write_pairs(w, report, run.modes))?;
    }
    out.visual
        .write_plot(|| pages::pairs_chart(report, run.modes, run.kinds))?;
    out.visual.write_report(|| {
        pages::pairs_page(
            run.set,
            &model_line(run.model),
            run.hop_seconds,
            run.silence_dbfs,
            run.modes,
            report,
            run.kinds,
        )
    })?;
    if out.json {
        #[derive(Serialize)]
        struct Failed<'a> {
            id: &'a str,
            error: &'a str,
        }
        #[derive(Serialize)]
        struct Doc<'a> {
            kind: &'static str,
            set: &'a Path,
            model: &'a ModelInfo,
            direction: Direction,
            hop_seconds: f32,
            silence_dbfs: f32,
            summary: &'a cocola::eval::PairSetSummary,
            #[serde(skip_serializing_if = "Option::is_none")]
            comparisons: Option<&'a ComparisonReport>,
            failed: Vec<Failed<'a>>,
            audio_seconds: f64,
            seconds: f64,
            real_time_factor: Option<f64>,
            out: Option<&'a Path>,
            #[serde(skip_serializing_if = "Option::is_none")]
            merged_parts: Option<&'a [PathBuf]>,
        }
        let failed = report
            .pairs
            .iter()
            .filter_map(|p| match &p.status {
                cocola::eval::PairStatus::Failed { error } => Some(Failed { id: &p.id, error }),
                _ => None,
            })
            .collect();
        let doc = Doc {
            kind: "pairs",
            set: run.set,
            model: run.model,
            direction: run.direction,
            hop_seconds: run.hop_seconds,
            silence_dbfs: run.silence_dbfs,
            summary: &report.summary,
            comparisons: run.comparisons,
            failed,
            audio_seconds: report.audio_seconds,
            seconds: report.seconds,
            real_time_factor: real_time_factor(report.audio_seconds, report.seconds),
            out: out.csv,
            merged_parts: run.parts,
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!(
            "{}",
            render_pairs(run.set, run.model, report, out.csv, run.parts.is_some())
        );
        if let Some(comparisons) = run.comparisons {
            print!("{}", render_comparisons(comparisons));
        }
        if let Some(parts) = run.parts {
            println!("merged     {} part file(s)", parts.len());
        }
        print!("{}", out.visual.written());
    }
    Ok(if report.summary.failed > 0 {
        ExitCode::from(EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes and prints a finished accuracy@K evaluation; exit code 3 when
/// some tracks could not be decoded. `cache`: where embeddings were cached
/// (`None`: the cache was off).
pub fn finish_stems(
    model: &ModelInfo,
    report: &SubmixReport,
    cache: Option<&str>,
    parts: Option<&[PathBuf]>,
    out: &Outputs,
) -> anyhow::Result<ExitCode> {
    if let Some(path) = out.csv {
        csv_out::write_file(path, |w| csv_out::write_accuracy(w, report))?;
    }
    out.visual.write_plot(|| pages::stems_chart(report))?;
    out.visual
        .write_report(|| pages::stems_page(&model_line(model), report))?;
    if out.json {
        #[derive(Serialize)]
        struct Doc<'a> {
            kind: &'static str,
            model: &'a ModelInfo,
            /// The embedding cache's folder (a single run with the cache on).
            cache_dir: Option<&'a str>,
            #[serde(flatten)]
            report: &'a SubmixReport,
            out: Option<&'a Path>,
            #[serde(skip_serializing_if = "Option::is_none")]
            merged_parts: Option<&'a [PathBuf]>,
        }
        let doc = Doc {
            kind: "stems",
            model,
            cache_dir: cache.filter(|_| parts.is_none()),
            report,
            out: out.csv,
            merged_parts: parts,
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", render_stems(model, report, cache, out.csv, parts.is_some()));
        if let Some(parts) = parts {
            println!("merged     {} part file(s)", parts.len());
        }
        print!("{}", out.visual.written());
    }
    Ok(if report.failed_tracks.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SOME_FAILED)
    })
}

fn summary_cells(s: &Option<Summary>) -> String {
    match s {
        None => format!("{:>5}  {:>9}  {:>8}  {}", 0, "-", "-", "-"),
        Some(s) => {
            let std = s.std.map_or("-".to_string(), |v| format!("{v:.3}"));
            let ci = s
                .ci95
                .map_or("-".to_string(), |c| format!("[{:.3}, {:.3}]", c.low, c.high));
            format!("{:>5}  {:>9.3}  {:>8}  {ci}", s.n, s.mean, std)
        }
    }
}

/// `merged`: the seconds are the shards' sum, not one run's.
fn render_pairs(set: &Path, model: &ModelInfo, report: &PairSetReport, out: Option<&Path>, merged: bool) -> String {
    let s = &report.summary;
    let mut text = String::new();
    let _ = writeln!(text, "set        {}", set.display());
    let _ = writeln!(text, "{}", model_text(model));
    let _ = writeln!(
        text,
        "pairs      {} ({} scored, {} all silent, {} failed)",
        s.pairs, s.scored, s.silent, s.failed
    );
    let speed = real_time_factor(report.audio_seconds, report.seconds)
        .map_or(String::new(), |r| format!(", {r:.0}x real time"));
    let (sum, speed) = if merged {
        (" (the shards' sum)", String::new())
    } else {
        ("", speed)
    };
    let _ = writeln!(
        text,
        "audio      {:.1} s scored in {:.1} s{sum}{speed}",
        report.audio_seconds, report.seconds
    );
    let _ = writeln!(text, "\nraw score      n       mean       std  95 % CI of the mean");
    for m in &s.modes {
        let _ = writeln!(text, "{:<10} {}", m.mode.name(), summary_cells(&m.raw));
    }
    if report.calibrated {
        let _ = writeln!(text, "\nfit (0-100)    n       mean       std  95 % CI of the mean");
        for m in &s.modes {
            let _ = writeln!(text, "{:<10} {}", m.mode.name(), summary_cells(&m.fit));
        }
    }
    if s.failed > 0 {
        let where_ = out.map_or("the warnings above".to_string(), |p| p.display().to_string());
        let _ = writeln!(
            text,
            "\n{} pair(s) failed and are not in the statistics: see {where_}.",
            s.failed
        );
    }
    if let Some(p) = out {
        let _ = writeln!(text, "\nper-pair results: {}", p.display());
    }
    text
}

/// A win rate and its 95 % interval, as the sensitivity and comparison tables show it.
pub fn win_cell(win: Option<&WinRate>) -> String {
    win.map_or("-".to_string(), |w| {
        format!(
            "{:5.1} % [{:4.1}, {:5.1}]",
            100.0 * w.rate,
            100.0 * w.ci95.low,
            100.0 * w.ci95.high
        )
    })
}

/// A mean margin and the half width of its 95 % interval.
pub fn margin_cell(m: &Summary) -> String {
    let half = m
        .ci95
        .map_or(String::new(), |c| format!(" ± {:.3}", (c.high - c.low) / 2.0));
    format!("{:+.3}{half}", m.mean)
}

/// A table with one column per kind of negative, as the sensitivity and
/// comparison tables print it: a blank line, the `title` and the kinds, then
/// one line per `(label, cells)`.
pub fn kind_table(text: &mut String, title: &str, kinds: &[&str], rows: &[(String, Vec<String>)]) {
    const COLUMN: usize = 24;
    // 22 columns, or wider for a long label (a stem family's name).
    let label_width = (rows.iter().map(|(label, _)| label.chars().count() + 1))
        .chain([title.chars().count() + 1, 22])
        .max()
        .unwrap_or(22);
    let _ = write!(text, "\n{title:<label_width$}");
    for kind in kinds {
        let _ = write!(text, "{kind:<COLUMN$}");
    }
    let _ = writeln!(text);
    for (label, cells) in rows {
        let _ = write!(text, "{label:<label_width$}");
        for cell in cells {
            let _ = write!(text, "{cell:<COLUMN$}");
        }
        let _ = writeln!(text);
    }
}

/// The win-rate table of a comparison set: one column per kind of negative,
/// one row per mode, the floor below.
fn render_comparisons(report: &ComparisonReport) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "\ncomparisons {} group(s) of one coherent pair and its negatives{}",
        report.groups,
        match report.skipped_groups.len() {
            0 => String::new(),
            n => format!("; {n} group(s) left out"),
        }
    );
    for reason in &report.skipped_groups {
        let _ = writeln!(text, "  left out: {reason}");
    }
    let mut kinds: Vec<&str> = Vec::new();
    for k in (report.model.iter().flat_map(|m| &m.kinds)).chain(report.floor.iter().map(|f| &f.result)) {
        if !kinds.contains(&k.kind.as_str()) {
            kinds.push(&k.kind);
        }
    }
    let mode_rows = |cell: &dyn Fn(&KindWinRate) -> String| -> Vec<(String, Vec<String>)> {
        (report.model.iter())
            .map(|m| {
                let cells = kinds
                    .iter()
                    .map(|kind| m.kinds.iter().find(|k| k.kind == *kind).map_or("-".to_string(), cell));
                (m.mode.name().to_string(), cells.collect())
            })
            .collect()
    };
    let mut wins = mode_rows(&|k| win_cell(Some(&k.win)));
    let floor = kinds.iter().map(|kind| {
        win_cell(
            report
                .floor
                .iter()
                .find(|f| f.result.kind == *kind)
                .map(|f| &f.result.win),
        )
    });
    wins.push(("floor (no model)".into(), floor.collect()));
    kind_table(&mut text, "coherent wins over", &kinds, &wins);
    let _ = writeln!(text, "(win rates with their 95 % interval; chance is 50 %)");
    let margins = mode_rows(&|k| k.margin.as_ref().map_or("-".to_string(), margin_cell));
    kind_table(&mut text, "mean margin (raw)", &kinds, &margins);
    text
}

/// `cache`: where embeddings were cached (`None`: the cache was off).
fn render_stems(
    model: &ModelInfo,
    report: &SubmixReport,
    cache: Option<&str>,
    out: Option<&Path>,
    merged: bool,
) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "stems      {}", report.root.display());
    let _ = writeln!(text, "{}", model_text(model));
    let _ = writeln!(
        text,
        "tracks     {} found, {} used, {} failed to decode; seed {}",
        report.tracks_found,
        report.tracks_used,
        report.failed_tracks.len(),
        report.seed
    );
    let cache = match cache {
        None => "cache off".to_string(),
        Some(place) => format!(
            "{} of {} embeddings from the cache ({})",
            report.cache.hits,
            report.cache.hits + report.cache.misses,
            place
        ),
    };
    let sum = if merged { " (the shards' sum)" } else { "" };
    let _ = writeln!(
        text,
        "windows    {} sub-mixes embedded in {:.1} s{sum}; {cache}",
        report.windows, report.seconds
    );
    let _ = writeln!(text, "\nmode          K  batches  anchors  accuracy   std err   chance");
    for r in &report.results {
        let a = &r.accuracy;
        let se = a.std_error.map_or("-".to_string(), |e| format!("{:.2} %", 100.0 * e));
        let _ = writeln!(
            text,
            "{:<10} {:>4}  {:>7}  {:>7}  {:>7.2} %  {:>8}  {:>5.2} %",
            r.mode.name(),
            a.k,
            a.batches,
            a.anchors,
            100.0 * a.accuracy,
            se,
            100.0 * a.chance
        );
    }
    for s in &report.skipped {
        let _ = writeln!(text, "K = {} skipped: {}", s.k, s.reason);
    }
    if let Some(p) = out {
        let _ = writeln!(text, "\nresults: {}", p.display());
    }
    text
}
