//! The report of `cocola rank`: candidates for one condition, best first.

use std::path::Path;

use super::{fit_cell, footer, value_cell, verdict_cell, ModelLine};
use crate::mode::Mode;
use crate::score::rank::{Ranking, Standing};
use crate::score::{Measure, WindowOptions};
use crate::visual::chart::{to_svg, ChartError};
use crate::visual::html::{Cell, Page, Table};
use crate::visual::rank_chart::{RankChart, TIMELINES_SHOWN};

/// Bars per candidate and the best candidates' timelines.
pub fn rank_chart(ranking: &Ranking) -> RankChart {
    let ranked = ranking.candidates.iter().filter(|c| c.rank().is_some()).count();
    RankChart::new(
        ranking,
        &format!("{ranked} candidate(s) ranked by {}", what_ranks(ranking.measure)),
    )
}

/// "the combined fit", "the harmonic score": what orders the candidates.
fn what_ranks(measure: Measure) -> String {
    format!("the {}", measure.label())
}

fn table(ranking: &Ranking) -> Table {
    let measure = ranking.measure;
    // A mode's value is its raw score; the combined measure's its log-odds.
    let value = measure.column();
    let mut headers: Vec<String> = ["rank", "candidate", "status", value, "fit", "verdict"]
        .map(String::from)
        .to_vec();
    headers.extend(Mode::ALL.iter().map(|m| format!("raw {m}")));
    headers.extend([
        "worst window (s)".to_string(),
        format!("worst {value}"),
        "worst fit".to_string(),
        "windows scored".to_string(),
        "note".to_string(),
    ]);
    let rows = ranking
        .candidates
        .iter()
        .map(|c| {
            let (status, note) = match &c.standing {
                Standing::Ranked { tied_with, .. } if tied_with.is_empty() => (Cell::text("ranked"), String::new()),
                Standing::Ranked { tied_with, .. } => {
                    (Cell::text("tied"), format!("same score as {}", tied_with.join(", ")))
                }
                Standing::Silent { reason } => (Cell::text("silent").with_class("muted"), reason.clone()),
                Standing::Failed { error } => (Cell::text("failed").with_class("clashes"), error.clone()),
            };
            let score = c.score(measure);
            let worst = c.worst_window.as_ref();
            let mut row = vec![
                Cell::number(c.rank().map(|r| r as f64), 0),
                Cell::text(&c.name),
                status,
                value_cell(score),
                fit_cell(score),
                verdict_cell(score.and_then(|s| s.verdict)),
            ];
            row.extend(Mode::ALL.iter().map(|&m| value_cell(c.score(m))));
            row.push(Cell {
                text: worst.map_or(String::new(), |w| {
                    format!("{:.1}-{:.1}", w.start_seconds, w.end_seconds)
                }),
                sort: worst.map(|w| w.start_seconds),
                class: None,
            });
            row.push(value_cell(worst.and_then(|w| w.score(measure))));
            row.push(fit_cell(worst.and_then(|w| w.score(measure))));
            row.push(Cell {
                text: format!("{} of {}", c.windows_scored, c.windows_total),
                sort: Some(c.windows_scored as f64),
                class: None,
            });
            row.push(Cell::text(note));
            row
        })
        .collect();
    Table {
        headers,
        rows,
        sortable: true,
    }
}

/// The whole page.
pub fn rank_page(
    condition: &Path,
    model: &ModelLine,
    options: &WindowOptions,
    ranking: &Ranking,
) -> Result<String, ChartError> {
    let mut page = Page::new(
        "COCOLA ranking",
        "Candidate stems for one condition, ranked by how well they fit it.",
    );
    let ranked = ranking.candidates.iter().filter(|c| c.rank().is_some()).count();
    page.facts(&[
        ("condition", condition.display().to_string()),
        ("model", model.text()),
        (
            "ranked by",
            format!(
                "{} of the mean scores over the windows audible on both sides",
                what_ranks(ranking.measure)
            ),
        ),
        ("candidates", format!("{} ({ranked} ranked)", ranking.candidates.len())),
        (
            "windows",
            format!(
                "5 s every {} s; silent below {} dBFS",
                options.hop_seconds, options.silence_dbfs
            ),
        ),
    ]);
    if !ranking.notes.is_empty() {
        page.heading("Notes");
        page.notes(&ranking.notes);
    }
    page.heading("Ranking");
    page.chart(
        &to_svg(&rank_chart(ranking))?,
        &format!(
            "Top: each candidate's score per mode (what ranks them darker). Bottom: {} of the \
             best {TIMELINES_SHOWN} over time; a dip is where a candidate drifts from the condition.",
            what_ranks(ranking.measure)
        ),
    );
    page.heading("Candidates (click a column to sort)");
    page.table(&table(ranking));
    Ok(page.finish(&footer()))
}
