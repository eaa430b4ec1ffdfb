//! The report of `cocola score`: one pair's overall scores and timeline.

use std::path::Path;

use super::{fit_cell, footer, seconds, value_cell, verdict_cell, ModelLine};
use crate::mode::Mode;
use crate::score::{Measure, PairReport, WindowOptions, WindowOutcome};
use crate::visual::chart::{to_svg, ChartError};
use crate::visual::html::{Cell, Page, Table};
use crate::visual::timeline::Timeline;

/// The timeline of all three modes and their combined fit, silent windows shaded.
pub fn score_chart(stem: &Path, report: &PairReport) -> Timeline {
    let name = stem
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    Timeline::of_pair(report, &format!("COCOLA score over time: {name}"))
}

fn level(dbfs: f32) -> Cell {
    let value = dbfs.is_finite().then_some(f64::from(dbfs));
    let mut cell = Cell::number(value, 1);
    if value.is_none() {
        cell.text = "-inf".into();
        cell.sort = Some(-1e9);
    }
    cell
}

/// The whole page.
pub fn score_page(
    condition: &Path,
    stem: &Path,
    model: &ModelLine,
    options: &WindowOptions,
    report: &PairReport,
) -> Result<String, ChartError> {
    let mut page = Page::new(
        "COCOLA score",
        "How well the stem fits the condition, harmonically and rhythmically.",
    );
    let silent = report.windows.len() - report.scored_windows();
    page.facts(&[
        ("condition", condition.display().to_string()),
        ("stem", stem.display().to_string()),
        ("model", model.text()),
        (
            "audio",
            format!(
                "{}, {} window(s) of 5 s every {} s: {} scored, {} silent (below {} dBFS)",
                seconds(report.duration_seconds),
                report.windows.len(),
                options.hop_seconds,
                report.scored_windows(),
                silent,
                options.silence_dbfs
            ),
        ),
    ]);
    page.heading("Overall (mean over the scored windows)");
    match &report.aggregate {
        None => page.paragraph("No window could be scored: every window is silent on one side or both."),
        Some(overall) => page.table(&Table {
            headers: ["mode", "raw score", "fit (0-100)", "verdict"]
                .map(String::from)
                .to_vec(),
            // Every mode the model has, then the combined fit where calibrated
            // (it has no raw score: it combines the modes' calibrated log-odds).
            rows: Measure::ALL
                .into_iter()
                .filter_map(|m| Some((m, m.of(overall)?)))
                .map(|(m, s)| {
                    let raw = match m {
                        Measure::Combined => Cell::number(None, 0),
                        Measure::Mode(_) => value_cell(Some(s)),
                    };
                    vec![Cell::text(m.name()), raw, fit_cell(Some(s)), verdict_cell(s.verdict)]
                })
                .collect(),
            sortable: false,
        }),
    }
    page.heading("Timeline");
    page.chart(
        &to_svg(&score_chart(stem, report))?,
        "Each point is a 5 s window at its centre; grey bands are silent windows (not scored).",
    );
    let mut headers: Vec<String> = ["start (s)", "end (s)", "condition (dBFS)", "stem (dBFS)", "window"]
        .map(String::from)
        .to_vec();
    headers.extend(Mode::ALL.iter().map(|m| format!("raw {m}")));
    headers.extend(Measure::ALL.iter().map(|m| format!("fit {m}")));
    let rows = report
        .windows
        .iter()
        .map(|w| {
            let mut row = vec![
                Cell::number(Some(w.start_seconds), 1),
                Cell::number(Some(w.end_seconds), 1),
                level(w.condition_dbfs),
                level(w.stem_dbfs),
            ];
            match &w.outcome {
                WindowOutcome::Scored(s) => {
                    row.push(Cell::text("scored"));
                    row.extend(Mode::ALL.map(|m| value_cell(Measure::from(m).of(s))));
                    row.extend(Measure::ALL.map(|m| fit_cell(m.of(s))));
                }
                WindowOutcome::Silent { condition, stem } => {
                    let which = match (condition, stem) {
                        (true, true) => "silent (both sides)",
                        (true, false) => "silent (condition)",
                        _ => "silent (stem)",
                    };
                    row.push(Cell::text(which).with_class("muted"));
                    row.extend((0..Mode::ALL.len() + Measure::ALL.len()).map(|_| Cell::number(None, 0)));
                }
            }
            row
        })
        .collect();
    page.table(&Table {
        headers,
        rows,
        sortable: true,
    });
    Ok(page.finish(&footer()))
}
