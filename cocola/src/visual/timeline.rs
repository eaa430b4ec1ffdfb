//! Score over time: one line per mode and the combined fit (a pair) or per
//! candidate (a ranking), each point a 5 s window at its centre; silent
//! windows break the lines and are shaded grey.
//!
//! With a calibrated model the y axis is the 0-100 fit, with the verdict
//! bands (clashes < 30, fits >= 70) tinted; otherwise the raw score.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::chart::{
    draw_legend_strip, font, legend_strip_height, mode_color, padded_range, series_color, shorten, Chart, DrawResult,
    GRID,
};
use crate::score::rank::Ranking;
use crate::score::{Measure, MeasureScore, PairReport, WindowOutcome};

/// A timeline's size in pixels, its legend strip below the axis included.
const SIZE: (u32, u32) = (960, 450);

/// The grey of silent windows' shading.
const SILENT_SHADE: RGBColor = RGBColor(150, 150, 150);

/// One line: segments of (seconds, value) between silent windows.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub label: String,
    pub color: RGBColor,
    pub segments: Vec<Vec<(f64, f64)>>,
}

/// Scores of windows over time.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    pub title: String,
    pub lines: Vec<Line>,
    /// Time spans of silent windows, shaded.
    pub silent: Vec<(f64, f64)>,
    /// The fit (0-100) when true, else the raw score.
    pub fit: bool,
    /// End of the time axis, seconds.
    pub seconds: f64,
    pub size: (u32, u32),
}

/// The value a timeline shows of a score: its fit, or its raw value (the
/// raw score of a mode).
fn value(score: MeasureScore, fit: bool) -> f64 {
    if fit {
        score.fit.map_or(f64::NAN, f64::from)
    } else {
        f64::from(score.value)
    }
}

/// Whether every scored window of `reports` carries a fit in every mode.
fn calibrated<'a>(mut reports: impl Iterator<Item = &'a PairReport>) -> bool {
    reports.all(|r| {
        r.windows.iter().all(|w| match &w.outcome {
            WindowOutcome::Scored(s) => s.modes().iter().all(|m| m.fit.is_some()),
            WindowOutcome::Silent { .. } => true,
        })
    })
}

fn centre(start: f64, end: f64) -> f64 {
    0.5 * (start + end)
}

/// The line of one measure of a report, broken at silent windows.
fn line(report: &PairReport, measure: Measure, fit: bool, label: String, color: RGBColor) -> Line {
    let mut segments = vec![Vec::new()];
    for w in &report.windows {
        match &w.outcome {
            // A mode the model does not have (no HPS) draws no line.
            WindowOutcome::Scored(s) => {
                if let Some(score) = measure.of(s) {
                    segments
                        .last_mut()
                        .expect("never empty")
                        .push((centre(w.start_seconds, w.end_seconds), value(score, fit)));
                }
            }
            WindowOutcome::Silent { .. } => segments.push(Vec::new()),
        }
    }
    segments.retain(|s| !s.is_empty());
    Line { label, color, segments }
}

fn time_axis_end<'a>(reports: impl Iterator<Item = &'a PairReport>) -> f64 {
    reports
        .flat_map(|r| r.windows.iter().map(|w| w.end_seconds))
        .fold(5.0, f64::max)
}

impl Timeline {
    /// Every mode of one pair (the model's: three, or `both` without HPS),
    /// and their combined fit where the model is calibrated.
    pub fn of_pair(report: &PairReport, title: &str) -> Self {
        let fit = calibrated(std::iter::once(report));
        let lines = Measure::ALL
            .iter()
            // The combined measure is drawn as a fit only (its raw value,
            // log-odds, shares no scale with raw scores).
            .filter(|&&m| fit || m != Measure::Combined)
            .map(|&m| line(report, m, fit, m.name().to_string(), mode_color(m)))
            .filter(|l| !l.segments.is_empty())
            .collect();
        // A silent window is shaded over the stretch it stands for: one hop
        // around its centre (the whole window when there is only one).
        let hop = match report.windows.as_slice() {
            [a, b, ..] => b.start_seconds - a.start_seconds,
            [w] => w.end_seconds - w.start_seconds,
            [] => 5.0,
        };
        let silent = report
            .windows
            .iter()
            .filter(|w| matches!(w.outcome, WindowOutcome::Silent { .. }))
            .map(|w| {
                let c = centre(w.start_seconds, w.end_seconds);
                (c - hop / 2.0, c + hop / 2.0)
            })
            .collect();
        Self {
            title: title.to_string(),
            lines,
            silent,
            fit,
            seconds: time_axis_end(std::iter::once(report)),
            size: SIZE,
        }
    }

    /// The ranking measure of the best `max` ranked candidates.
    pub fn of_ranking(ranking: &Ranking, max: usize, title: &str) -> Self {
        let shown: Vec<(&str, &PairReport)> = ranking
            .candidates
            .iter()
            .filter(|c| c.rank().is_some())
            .filter_map(|c| Some((c.name.as_str(), c.report.as_ref()?)))
            .take(max)
            .collect();
        let fit = calibrated(shown.iter().map(|(_, r)| *r));
        let lines = shown
            .iter()
            .enumerate()
            .map(|(i, (name, report))| line(report, ranking.measure, fit, shorten(name, 32), series_color(i)))
            .collect();
        Self {
            title: title.to_string(),
            lines,
            silent: Vec::new(),
            fit,
            seconds: time_axis_end(shown.iter().map(|(_, r)| *r)),
            size: SIZE,
        }
    }

    fn y_range(&self) -> (f64, f64) {
        if self.fit {
            (0.0, 100.0)
        } else {
            padded_range(self.lines.iter().flat_map(|l| l.segments.iter().flatten().map(|p| p.1)))
        }
    }

    /// Draws on an area that may be part of a larger chart.
    pub fn draw_on<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        // The legend below the axis: inside, it would cover the lines that
        // reach the "fits" band, the ones people look at.
        let items = self.legend_items();
        let strip = legend_strip_height(area, &items)?;
        let (plot, legend) = area.split_vertically(area.dim_in_pixel().1.saturating_sub(strip));
        let (y0, y1) = self.y_range();
        let mut chart = ChartBuilder::on(&plot)
            .caption(&self.title, font(20.0))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..self.seconds, y0..y1)?;
        let y_desc = if self.fit {
            "fit (0-100, calibrated)"
        } else {
            "raw COCOLA score"
        };
        let fit = self.fit;
        let long = self.seconds >= 8.0;
        chart
            .configure_mesh()
            .x_desc("time (s), window centres")
            .y_desc(y_desc)
            .x_label_formatter(&|x| if long { format!("{x:.0}") } else { format!("{x:.1}") })
            .y_label_formatter(&|y| if fit { format!("{y:.0}") } else { format!("{y:.1}") })
            .label_style(font(14.0))
            .axis_desc_style(font(15.0))
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .draw()?;
        if self.fit {
            let band = |lo: f64, hi: f64, color: RGBColor| {
                Rectangle::new([(0.0, lo), (self.seconds, hi)], color.mix(0.10).filled())
            };
            chart.draw_series([
                band(0.0, 30.0, RGBColor(213, 94, 0)),
                band(70.0, 100.0, RGBColor(0, 158, 115)),
            ])?;
        }
        if !self.silent.is_empty() {
            chart.draw_series(
                self.silent
                    .iter()
                    .map(|&(a, b)| Rectangle::new([(a.max(0.0), y0), (b, y1)], SILENT_SHADE.mix(0.25).filled())),
            )?;
        }
        for line in &self.lines {
            let style = line.color.stroke_width(2);
            let few = line.segments.iter().map(Vec::len).sum::<usize>() <= 80;
            for segment in &line.segments {
                chart.draw_series(LineSeries::new(segment.iter().copied(), style))?;
                if few {
                    chart.draw_series(segment.iter().map(|&p| Circle::new(p, 3, line.color.filled())))?;
                }
            }
        }
        draw_legend_strip(&legend, &items)
    }

    /// The legend: one item per line, then the silent windows' shade if any.
    fn legend_items(&self) -> Vec<(&str, RGBColor)> {
        let mut items: Vec<(&str, RGBColor)> = self.lines.iter().map(|l| (l.label.as_str(), l.color)).collect();
        if !self.silent.is_empty() {
            // The shade as it looks over white at the strength the legend needs.
            items.push(("silent window", RGBColor(205, 205, 205)));
        }
        items
    }
}

impl Chart for Timeline {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        self.draw_on(root)
    }
}
