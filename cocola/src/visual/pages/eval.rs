//! The reports of `cocola eval` and `cocola merge`: a pair set (score
//! distributions and the per-pair table) or accuracy@K on tracks of stems.

use std::path::Path;

use super::{footer, seconds, ModelLine};
use crate::eval::pairs::{ModeSummary, PairSetReport, PairStatus};
use crate::eval::stats::Summary;
use crate::eval::SubmixReport;
use crate::mode::Mode;
use crate::visual::accuracy_chart::AccuracyChart;
use crate::visual::chart::{to_svg, ChartError};
use crate::visual::distribution::Distributions;
use crate::visual::html::{Cell, Page, Table};

/// Per-mode histograms of the pairs' scores: one group of all pairs, or,
/// given each pair's `kinds` (a comparison set: `coherent` or the kind of
/// negative, in the pairs' order), one group per kind, in order of first
/// appearance, so the coherent pairs' histogram sits beside each negative's.
pub fn pairs_chart(report: &PairSetReport, modes: &[Mode], kinds: Option<&[String]>) -> Distributions {
    let scores = |of_group: &dyn Fn(usize) -> bool| -> Vec<Vec<f64>> {
        (modes.iter())
            .map(|&m| {
                (report.pairs.iter().enumerate())
                    .filter(|&(i, _)| of_group(i))
                    .filter_map(|(_, p)| p.raw(m))
                    .map(f64::from)
                    .collect()
            })
            .collect()
    };
    let groups: Vec<(String, Vec<Vec<f64>>)> = match kinds {
        Some(kinds) if kinds.len() == report.pairs.len() => {
            let mut labels: Vec<&String> = Vec::new();
            for kind in kinds {
                if !labels.contains(&kind) {
                    labels.push(kind);
                }
            }
            (labels.into_iter())
                .map(|label| (label.clone(), scores(&|i| &kinds[i] == label)))
                .collect()
        }
        _ => vec![("scored pairs".to_string(), scores(&|_| true))],
    };
    let title = format!("Pair scores: {} scored pair(s)", report.summary.scored);
    Distributions::new(&title, modes, &groups)
}

/// mean, std and 95 % CI cells of one summary (empty when there is none).
fn summary_cells(s: Option<&Summary>) -> Vec<Cell> {
    let ci = s.and_then(|s| s.ci95);
    vec![
        Cell::number(s.map(|s| s.mean), 3),
        Cell::number(s.and_then(|s| s.std), 3),
        Cell::text(ci.map_or(String::new(), |c| format!("[{:.3}, {:.3}]", c.low, c.high))),
    ]
}

/// One row per mode: n, then the raw score's and (calibrated models) the fit's statistics.
fn summary_table(modes: &[ModeSummary], calibrated: bool) -> Table {
    let mut headers: Vec<String> = ["mode", "n", "raw mean", "raw std", "raw 95 % CI"]
        .map(String::from)
        .to_vec();
    if calibrated {
        headers.extend(["fit mean", "fit std", "fit 95 % CI"].map(String::from));
    }
    let rows = modes
        .iter()
        .map(|m| {
            let mut row = vec![
                Cell::text(m.mode.name()),
                Cell::number(Some(m.raw.as_ref().map_or(0, |s| s.n) as f64), 0),
            ];
            row.extend(summary_cells(m.raw.as_ref()));
            if calibrated {
                row.extend(summary_cells(m.fit.as_ref()));
            }
            row
        })
        .collect();
    Table {
        headers,
        rows,
        sortable: false,
    }
}

fn pairs_table(report: &PairSetReport, modes: &[Mode]) -> Table {
    let mut headers: Vec<String> = ["id", "status", "duration (s)", "windows scored", "windows silent"]
        .map(String::from)
        .to_vec();
    headers.extend(modes.iter().map(|m| format!("raw {m}")));
    if report.calibrated {
        headers.extend(modes.iter().map(|m| format!("fit {m}")));
    }
    headers.extend(["condition", "stem", "error"].map(String::from));
    let rows = report
        .pairs
        .iter()
        .map(|p| {
            let r = p.report.as_ref();
            let (status, error) = match &p.status {
                PairStatus::Scored => (Cell::text("scored"), ""),
                PairStatus::Silent => (Cell::text("silent").with_class("muted"), ""),
                PairStatus::Failed { error } => (Cell::text("failed").with_class("clashes"), error.as_str()),
            };
            let mut row = vec![
                Cell::text(&p.id),
                status,
                Cell::number(r.map(|r| r.duration_seconds), 1),
                Cell::number(r.map(|r| r.scored_windows() as f64), 0),
                Cell::number(r.map(|r| (r.windows.len() - r.scored_windows()) as f64), 0),
            ];
            row.extend(modes.iter().map(|&m| Cell::number(p.raw(m).map(f64::from), 3)));
            if report.calibrated {
                row.extend(modes.iter().map(|&m| Cell::number(p.fit(m).map(f64::from), 1)));
            }
            row.push(Cell::text(p.condition.display().to_string()));
            row.push(Cell::text(p.stem.display().to_string()));
            row.push(Cell::text(error));
            row
        })
        .collect();
    Table {
        headers,
        rows,
        sortable: true,
    }
}

/// The page of a pair-set evaluation.
pub fn pairs_page(
    set: &Path,
    model: &ModelLine,
    hop_seconds: f32,
    silence_dbfs: f32,
    modes: &[Mode],
    report: &PairSetReport,
    kinds: Option<&[String]>,
) -> Result<String, ChartError> {
    let s = &report.summary;
    let mut page = Page::new(
        "COCOLA evaluation of a pair set",
        "How well each stem fits its condition (paper Table III): per-pair scores and their summary.",
    );
    page.facts(&[
        ("set", set.display().to_string()),
        ("model", model.text()),
        (
            "pairs",
            format!(
                "{} ({} scored, {} all silent, {} failed)",
                s.pairs, s.scored, s.silent, s.failed
            ),
        ),
        (
            "windows",
            format!("5 s every {hop_seconds} s; silent below {silence_dbfs} dBFS (on either side)"),
        ),
        (
            "audio",
            format!(
                "{} scored in {}",
                seconds(report.audio_seconds),
                seconds(report.seconds)
            ),
        ),
    ]);
    page.heading("Summary");
    page.table(&summary_table(&s.modes, report.calibrated));
    page.paragraph(
        "A pair's raw score is the mean COCOLA score over its scored windows; fit is its calibrated 0-100 \
         reading. n: scored pairs; std: sample standard deviation; 95 % CI: confidence interval of the \
         mean (Student t, n - 1 degrees of freedom). Silent and failed pairs are not in the statistics.",
    );
    page.heading("Distributions");
    page.chart(
        &to_svg(&pairs_chart(report, modes, kinds))?,
        "Histogram of the pairs' scores per mode (per kind of pair in a comparison set); the vertical line is the mean.",
    );
    page.heading("Pairs (click a column to sort)");
    page.table(&pairs_table(report, modes));
    Ok(page.finish(&footer()))
}

/// Accuracy@K per mode against chance.
pub fn stems_chart(report: &SubmixReport) -> AccuracyChart {
    AccuracyChart::new(report, "Sub-mix classification accuracy@K")
}

/// The page of an accuracy@K evaluation.
pub fn stems_page(model: &ModelLine, report: &SubmixReport) -> Result<String, ChartError> {
    let mut page = Page::new(
        "COCOLA sub-mix classification accuracy@K",
        "Can the model tell which of K sub-mixes comes from the same window as the anchor (paper Tables I-II)?",
    );
    page.facts(&[
        ("stems", report.root.display().to_string()),
        ("model", model.text()),
        (
            "tracks",
            format!(
                "{} found, {} used, {} failed to decode; seed {}",
                report.tracks_found,
                report.tracks_used,
                report.failed_tracks.len(),
                report.seed
            ),
        ),
        (
            "windows",
            format!("{} sub-mixes embedded in {}", report.windows, seconds(report.seconds)),
        ),
    ]);
    page.heading("Accuracy");
    page.chart(
        &to_svg(&stems_chart(report))?,
        "Accuracy@K per mode; chance is 1/K. Bars: 95 % interval (± 1.96 standard errors over batches).",
    );
    let rows = report
        .results
        .iter()
        .map(|r| {
            let a = &r.accuracy;
            vec![
                Cell::text(r.mode.name()),
                Cell::number(Some(a.k as f64), 0),
                Cell::number(Some(a.batches as f64), 0),
                Cell::number(Some(a.anchors as f64), 0),
                Cell::number(Some(100.0 * a.accuracy), 2),
                Cell::number(a.std_error.map(|e| 100.0 * e), 2),
                Cell::number(Some(100.0 * a.chance), 2),
            ]
        })
        .collect();
    page.table(&Table {
        headers: [
            "mode",
            "K",
            "batches",
            "anchors",
            "accuracy (%)",
            "std error (%)",
            "chance (%)",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        sortable: true,
    });
    let mut notes: Vec<String> = report
        .skipped
        .iter()
        .map(|s| format!("K = {} skipped: {}", s.k, s.reason))
        .collect();
    notes.extend(
        report
            .failed_tracks
            .iter()
            .map(|f| format!("{}: cannot decode: {}", f.track, f.error)),
    );
    if !notes.is_empty() {
        page.heading("Notes");
        page.notes(&notes);
    }
    Ok(page.finish(&footer()))
}
