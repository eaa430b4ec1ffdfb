//! The report of `cocola score`: one pair's overall scores and timeline.

use std::path::Path;

use super::{fit_cell, footer, raw_cell, seconds, verdict_cell, ModelLine};
use crate::mode::Mode;
use crate::score::{PairReport, WindowOptions, WindowOutcome};
use crate::visual::chart::{to_svg, ChartError};
use crate::visual::html::{Cell, Page, Table};
use crate::visual::timeline::Timeline;

/// The timeline of all three modes, silent windows shaded.
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
            rows: overall
                .modes()
                .iter()
                .map(|s| {
                    vec![
                        Cell::text(s.mode.name()),
                        raw_cell(Some(s)),
                        fit_cell(Some(s)),
                        verdict_cell(s.verdict),
                    ]
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
    headers.extend(Mode::ALL.iter().map(|m| format!("fit {m}")));
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
                    row.extend(Mode::ALL.iter().map(|&m| raw_cell(s.get(m))));
                    row.extend(Mode::ALL.iter().map(|&m| fit_cell(s.get(m))));
                }
                WindowOutcome::Silent { condition, stem } => {
                    let which = match (condition, stem) {
                        (true, true) => "silent (both sides)",
                        (true, false) => "silent (condition)",
                        _ => "silent (stem)",
                    };
                    row.push(Cell::text(which).with_class("muted"));
                    row.extend((0..6).map(|_| Cell::number(None, 0)));
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
