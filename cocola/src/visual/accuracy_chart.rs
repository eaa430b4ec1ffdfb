//! Accuracy@K per mode (and of the combined fit, where calibrated) against
//! chance (1/K), with 95 % intervals (± 1.96 standard errors over batches).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::chart::{draw_legend, font, mode_color, Chart, DrawResult, GRID};
use crate::eval::SubmixReport;
use crate::score::Measure;

/// One measure's points: (K, accuracy in %, half-width of the 95 % interval in %).
type Points = Vec<(usize, f64, Option<f64>)>;

/// Accuracy@K of a sub-mix classification run.
#[derive(Clone, Debug, PartialEq)]
pub struct AccuracyChart {
    pub title: String,
    pub ks: Vec<usize>,
    pub modes: Vec<(Measure, Points)>,
}

impl AccuracyChart {
    pub fn new(report: &SubmixReport, title: &str) -> Self {
        let mut ks: Vec<usize> = report.results.iter().map(|r| r.accuracy.k).collect();
        ks.sort_unstable();
        ks.dedup();
        let mut modes: Vec<(Measure, Points)> = Vec::new();
        for r in &report.results {
            let point = (
                r.accuracy.k,
                100.0 * r.accuracy.accuracy,
                r.accuracy.std_error.map(|e| 196.0 * e),
            );
            match modes.iter_mut().find(|(m, _)| *m == r.mode) {
                Some((_, points)) => points.push(point),
                None => modes.push((r.mode, vec![point])),
            }
        }
        Self {
            title: title.to_string(),
            ks,
            modes,
        }
    }

    /// Position of K on the x axis: K values are spread evenly (they are
    /// usually powers of two).
    fn x(&self, k: usize) -> f64 {
        self.ks.iter().position(|&x| x == k).unwrap_or(0) as f64
    }
}

impl Chart for AccuracyChart {
    fn size(&self) -> (u32, u32) {
        (960, 460)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let last = self.ks.len().max(1) as f64 - 1.0;
        let ks = self.ks.clone();
        let k_label = move |x: &f64| -> String {
            let i = x.round();
            match ks.get(i as usize) {
                Some(k) if (x - i).abs() < 1e-6 && i >= 0.0 => format!("K = {k}"),
                _ => String::new(),
            }
        };
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, font(20.0))
            .margin(14)
            .margin_bottom(34)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.4..last + 0.4, 0.0..100.0)?;
        chart
            .configure_mesh()
            .x_desc("batch size K (candidates per anchor)")
            .y_desc("accuracy (%)")
            .x_labels(4 * self.ks.len().max(1) + 1)
            .x_label_formatter(&k_label)
            .disable_x_mesh()
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(font(14.0))
            .axis_desc_style(font(15.0))
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .draw()?;
        let chance = self.ks.iter().map(|&k| (self.x(k), 100.0 / k as f64));
        chart
            .draw_series(DashedLineSeries::new(
                chance,
                6,
                4,
                RGBColor(90, 90, 90).stroke_width(2),
            ))?
            .label("chance (1/K)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RGBColor(90, 90, 90).stroke_width(2)));
        let spread = 0.06;
        for (i, (mode, points)) in self.modes.iter().enumerate() {
            let color = mode_color(*mode);
            let shift = (i as f64 - (self.modes.len() as f64 - 1.0) / 2.0) * spread;
            let at = |k: usize| self.x(k) + shift;
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|&(k, a, _)| (at(k), a)),
                    color.stroke_width(2),
                ))?
                .label(mode.name())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3)));
            chart.draw_series(
                points
                    .iter()
                    .map(|&(k, a, _)| Circle::new((at(k), a), 4, color.filled())),
            )?;
            chart.draw_series(points.iter().filter_map(|&(k, a, half)| {
                let half = half?;
                let (lo, hi) = ((a - half).max(0.0), (a + half).min(100.0));
                Some(PathElement::new(vec![(at(k), lo), (at(k), hi)], color.stroke_width(2)))
            }))?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.draw_text(
            "bars: 95 % interval (± 1.96 standard errors over batches)",
            &font(13.0).color(&RGBColor(90, 90, 90)),
            (80, self.size().1 as i32 - 24),
        )?;
        Ok(())
    }
}
