//! A ranking at a glance: one row of bars per ranked candidate (best at the
//! top), a bar per mode (and the combined fit, where calibrated), and below
//! it the timelines of the best candidates in the ranking measure, which
//! show where each one drifts.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::chart::{draw_legend_strip, font, mode_color, padded_range, shorten, Chart, DrawResult, GRID, LEGEND_ROW};
use super::timeline::Timeline;
use crate::score::rank::Ranking;
use crate::score::Measure;

/// Candidates whose timelines are drawn below the bars.
pub const TIMELINES_SHOWN: usize = 6;
/// Candidates whose bars are drawn (the report's table lists them all).
pub const BARS_SHOWN: usize = 30;

/// The ranking chart.
#[derive(Clone, Debug, PartialEq)]
pub struct RankChart {
    pub title: String,
    /// What ranks the candidates.
    pub measure: Measure,
    /// (label, value per measure in [`Measure::ALL`] order), best first; NaN
    /// where there is none (a mode the model lacks; the combined measure
    /// without a fit).
    pub rows: Vec<(String, [f64; 4])>,
    /// Fit (0-100) when true, else raw scores.
    pub fit: bool,
    /// Candidates not drawn: not ranked (silent, failed) or beyond [`BARS_SHOWN`].
    pub not_drawn: usize,
    pub timeline: Timeline,
}

impl RankChart {
    pub fn new(ranking: &Ranking, title: &str) -> Self {
        let ranked: Vec<_> = ranking.candidates.iter().filter(|c| c.rank().is_some()).collect();
        let fit = ranked
            .iter()
            .all(|c| c.scores.is_some_and(|s| s.modes().iter().all(|m| m.fit.is_some())));
        let rows: Vec<(String, [f64; 4])> = ranked
            .iter()
            .take(BARS_SHOWN)
            .filter_map(|c| {
                let v = |measure: Measure| match c.score(measure) {
                    Some(s) if fit => s.fit.map_or(f64::NAN, f64::from),
                    // Raw scores share one axis; the combined log-odds does not.
                    Some(s) if measure != Measure::Combined => f64::from(s.value),
                    _ => f64::NAN,
                };
                Some((format!("#{} {}", c.rank()?, shorten(&c.name, 28)), Measure::ALL.map(v)))
            })
            .collect();
        let timeline_title = format!(
            "{} {} over time, best {}",
            ranking.measure,
            if ranking.measure == Measure::Combined {
                "fit"
            } else {
                "score"
            },
            TIMELINES_SHOWN.min(ranked.len())
        );
        Self {
            title: title.to_string(),
            measure: ranking.measure,
            not_drawn: ranking.candidates.len() - rows.len(),
            rows,
            fit,
            timeline: Timeline::of_ranking(ranking, TIMELINES_SHOWN, &timeline_title),
        }
    }

    fn draw_bars<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let (x0, x1) = if self.fit {
            (0.0, 100.0)
        } else {
            padded_range(self.rows.iter().flat_map(|r| r.1).filter(|v| v.is_finite()))
        };
        let n = self.rows.len().max(1);
        // The legend below the axis: inside, it would cover the longest
        // bars. Its four mode names always fit one row.
        let (plot, legend) = area.split_vertically(area.dim_in_pixel().1.saturating_sub(LEGEND_ROW));
        let mut chart = ChartBuilder::on(&plot)
            .caption(&self.title, font(20.0))
            .margin(12)
            .x_label_area_size(46)
            .y_label_area_size(250)
            .build_cartesian_2d(x0..x1, 0.0..n as f64)?;
        let x_desc = if self.fit {
            format!(
                "fit (0-100, calibrated) per mode; ranked by the {} {}",
                self.measure,
                self.measure.value_name()
            )
        } else {
            format!(
                "raw COCOLA score per mode; ranked by the {} {}",
                self.measure,
                self.measure.value_name()
            )
        };
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_labels(0)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .disable_y_mesh()
            .label_style(font(14.0))
            .axis_desc_style(font(15.0))
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .draw()?;
        // Only the measures someone has: a model without HPS has `both` only.
        let drawn: Vec<usize> = (0..Measure::ALL.len())
            .filter(|&m| self.rows.iter().any(|r| !r.1[m].is_nan()))
            .collect();
        let bar = 0.8 / drawn.len().max(1) as f64;
        for (slot, &m) in drawn.iter().enumerate() {
            let measure = Measure::ALL[m];
            let color = mode_color(measure);
            let emphasis = if measure == self.measure { 0.95 } else { 0.55 };
            let bars = self.rows.iter().enumerate().map(move |(i, row)| {
                let top = (n - i) as f64 - 0.1 - slot as f64 * bar;
                Rectangle::new([(x0, top - bar), (row.1[m], top)], color.mix(emphasis).filled())
            });
            chart.draw_series(bars)?;
        }
        // Candidate names beside their rows, right-aligned against the axis.
        let base = plot.get_base_pixel();
        let style = font(14.0).pos(Pos::new(HPos::Right, VPos::Center));
        for (i, row) in self.rows.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(x0, (n - i) as f64 - 0.5));
            plot.draw_text(&row.0, &style, (x - base.0 - 10, y - base.1))?;
        }
        let items: Vec<(&str, RGBColor)> = drawn
            .iter()
            .map(|&m| (Measure::ALL[m].name(), mode_color(Measure::ALL[m])))
            .collect();
        draw_legend_strip(&legend, &items)
    }

    fn bars_height(&self) -> u32 {
        110 + LEGEND_ROW + 42 * self.rows.len().max(1) as u32
    }
}

impl Chart for RankChart {
    fn size(&self) -> (u32, u32) {
        (960, self.bars_height() + 40 + self.timeline.size.1)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let (bars, rest) = root.split_vertically(self.bars_height());
        self.draw_bars(&bars)?;
        let (note, timeline) = rest.split_vertically(40);
        if self.not_drawn > 0 {
            let text = format!(
                "{} candidate(s) not drawn (not ranked, or beyond the first {BARS_SHOWN}): see the table",
                self.not_drawn
            );
            note.draw_text(&text, &font(14.0).color(&RGBColor(90, 90, 90)), (16, 10))?;
        }
        self.timeline.draw_on(&timeline)
    }
}
