//! The HTML reports of `score`, `eval` (pairs and stems), `merge` and
//! `rank`: a summary table, the command's charts and its per-item table, on
//! one self-contained page ([`super::html`]).

mod eval;
mod rank;
mod score;

pub use eval::{pairs_chart, pairs_page, stems_chart, stems_page};
pub use rank::{rank_chart, rank_page};
pub use score::{score_chart, score_page};

use super::html::Cell;
use crate::calibration::Verdict;
use crate::score::MeasureScore;

/// The model as a report names it.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelLine {
    pub name: String,
    pub version: String,
    /// Where it came from, or its SHA-256.
    pub detail: String,
}

impl ModelLine {
    fn text(&self) -> String {
        format!("{} {} ({})", self.name, self.version, self.detail)
    }
}

/// The page's footer: what wrote it.
fn footer() -> String {
    format!(
        "Written by cocola {}. COCOLA: Ciranni et al., 2024 (arXiv:2404.16969). Raw scores compare only \
         within one model; fit is the model's calibrated 0-100 reading (fits >= 70, clashes < 30).",
        env!("CARGO_PKG_VERSION")
    )
}

/// A verdict word coloured by what it says.
fn verdict_cell(verdict: Option<Verdict>) -> Cell {
    match verdict {
        None => Cell::text(""),
        Some(v) => {
            let class = match v {
                Verdict::Fits => "fits",
                Verdict::Unsure => "unsure",
                Verdict::Clashes => "clashes",
            };
            Cell::text(v.word()).with_class(class)
        }
    }
}

/// A mode's raw score, or the combined measure's log-odds.
fn value_cell(score: Option<MeasureScore>) -> Cell {
    Cell::number(score.map(|s| f64::from(s.value)), 3)
}

fn fit_cell(score: Option<MeasureScore>) -> Cell {
    Cell::number(score.and_then(|s| s.fit).map(f64::from), 1)
}

fn seconds(value: f64) -> String {
    format!("{value:.1} s")
}
