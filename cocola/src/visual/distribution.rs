//! How a pair set's scores are distributed: one panel per mode, a histogram
//! of the pairs' mean raw scores per group (all pairs, or coherent pairs
//! against negatives when a set names kinds), each group's mean marked.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::chart::{draw_legend, font, mode_color, padded_range, series_color, Chart, DrawResult, GRID};
use crate::mode::Mode;

/// The scores of one group of pairs under one mode.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub label: String,
    pub values: Vec<f64>,
}

/// One mode's panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    pub mode: Mode,
    pub groups: Vec<Group>,
}

/// Histograms of per-pair scores, one panel per mode.
#[derive(Clone, Debug, PartialEq)]
pub struct Distributions {
    pub title: String,
    pub panels: Vec<Panel>,
    pub x_label: String,
}

/// Bins for `n` values: the square-root rule, within [6, 40].
fn bin_count(n: usize) -> usize {
    ((n as f64).sqrt().ceil() as usize).clamp(6, 40)
}

impl Distributions {
    /// Histograms of `groups` (label, per-mode scores in `modes` order).
    pub fn new(title: &str, modes: &[Mode], groups: &[(String, Vec<Vec<f64>>)]) -> Self {
        let panels = modes
            .iter()
            .enumerate()
            .map(|(m, &mode)| Panel {
                mode,
                groups: groups
                    .iter()
                    .map(|(label, per_mode)| Group {
                        label: label.clone(),
                        values: per_mode.get(m).cloned().unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect();
        Self {
            title: title.to_string(),
            panels,
            x_label: "pair score: mean raw COCOLA score over its windows".into(),
        }
    }

    fn draw_panel<DB: DrawingBackend>(&self, panel: &Panel, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let values = || {
            panel
                .groups
                .iter()
                .flat_map(|g| g.values.iter().copied())
                .filter(|v| v.is_finite())
        };
        // Bins span the data; the axis adds a margin around them.
        let (lo, hi) = values().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = if lo < hi {
            (lo, hi)
        } else if lo.is_finite() {
            (lo - 0.5, lo + 0.5)
        } else {
            (0.0, 1.0)
        };
        let (x0, x1) = padded_range([lo, hi].into_iter());
        let n = panel.groups.iter().map(|g| g.values.len()).max().unwrap_or(0);
        let bins = bin_count(n);
        let width = (hi - lo) / bins as f64;
        let counts: Vec<Vec<usize>> = panel
            .groups
            .iter()
            .map(|g| {
                let mut c = vec![0; bins];
                for v in g.values.iter().filter(|v| v.is_finite()) {
                    c[(((v - lo) / width) as usize).min(bins - 1)] += 1;
                }
                c
            })
            .collect();
        let top = counts.iter().flatten().copied().max().unwrap_or(0).max(1) as f64 * 1.15;
        let mut chart = ChartBuilder::on(area)
            .caption(format!("{} mode", panel.mode), font(17.0))
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(52)
            .build_cartesian_2d(x0..x1, 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc("pairs")
            .x_labels(6)
            // Counts are whole numbers: label only whole ticks.
            .y_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-9 {
                    format!("{v:.0}")
                } else {
                    String::new()
                }
            })
            .label_style(font(13.0))
            .axis_desc_style(font(14.0))
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .draw()?;
        let several = panel.groups.len() > 1;
        for (g, (group, counts)) in panel.groups.iter().zip(&counts).enumerate() {
            let color = if several {
                series_color(g)
            } else {
                mode_color(panel.mode)
            };
            let bars = counts.iter().enumerate().filter(|(_, &c)| c > 0).map(|(b, &c)| {
                let left = lo + b as f64 * width;
                Rectangle::new([(left, 0.0), (left + width, c as f64)], color.mix(0.45).filled())
            });
            chart
                .draw_series(bars)?
                .label(format!("{} (n = {})", group.label, group.values.len()))
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], color.mix(0.6).filled()));
            if !group.values.is_empty() {
                let mean = group.values.iter().sum::<f64>() / group.values.len() as f64;
                chart.draw_series(LineSeries::new([(mean, 0.0), (mean, top)], color.stroke_width(2)))?;
            }
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}

impl Chart for Distributions {
    fn size(&self) -> (u32, u32) {
        (960, 70 + 240 * self.panels.len().max(1) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let body = root.titled(&self.title, font(20.0))?;
        let note = "vertical line: the group's mean";
        body.draw_text(note, &font(13.0).color(&RGBColor(90, 90, 90)), (12, 0))?;
        let below = body.margin(18, 0, 0, 0);
        let areas = below.split_evenly((self.panels.len().max(1), 1));
        for (panel, area) in self.panels.iter().zip(&areas) {
            self.draw_panel(panel, area)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_grow_with_the_square_root() {
        assert_eq!(bin_count(0), 6);
        assert_eq!(bin_count(100), 10);
        assert_eq!(bin_count(1_000_000), 40);
    }
}
