//! Training curves: a run's `metrics.jsonl` (or several runs', to compare
//! them) drawn as one chart of six panels over the step: the training
//! losses, the validation loss, the validation accuracy, the sensitivity
//! test's win rates in the *both* mode beside the model-free floor, and how
//! often the recipe's own hard negatives lose to their positives (both
//! mode; the harmonic mode's transposed ones and the percussive mode's
//! shifted and stretched ones).
//!
//! Per-step training losses are one batch each and jump by half their size
//! from step to step, so they are drawn as a running mean; validations and
//! sensitivity tests are drawn as measured.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cocola::visual::chart::{draw_legend_strip, font, legend_strip_height, padded_range, series_color, GRID};
use cocola::visual::{Chart, ChartError};
use plotters::coord::Shift;
use plotters::prelude::*;

/// The sensitivity test's negative kinds, in the order they are drawn.
pub const KINDS: [&str; 3] = ["transposed", "shifted", "foreign"];
/// The hard negatives' kinds, in the order they are drawn.
pub const HARD_NEGATIVE_KINDS: [&str; 3] = ["transposed", "shifted", "stretched"];

/// A series: (step, value).
pub type Series = Vec<(u64, f64)>;

/// What one run's `metrics.jsonl` records, series by series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunCurves {
    /// The run's folder name.
    pub name: String,
    /// The contrastive loss of each training step.
    pub loss: Series,
    /// The shared-threshold loss of each step (runs that have one).
    pub threshold_loss: Series,
    pub validation_loss: Series,
    pub validation_accuracy: Series,
    /// Win rates (0-1) of the *both* mode per kind, at each sensitivity test.
    pub win_rates: BTreeMap<String, Series>,
    /// The floor's win rates per kind at each sensitivity test (flat while
    /// the anchors stay the same; the last test may use more).
    pub floor: BTreeMap<String, Series>,
    /// Win rates (0-1) of the positives over the hard negatives made from
    /// them, per (mode, kind), at each validation that measured them.
    pub hard_negatives: BTreeMap<(String, String), Series>,
    /// The run's time so far (the last step's), seconds.
    pub elapsed_s: f64,
}

/// Why a run's curves could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CurvesError {
    #[error("{}: cannot read the run's metrics ({error}); is this a run folder of cocola-trainer train?", path.display())]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{}:{line}: not a metrics record: {reason}", path.display())]
    Record { path: PathBuf, line: usize, reason: String },
    #[error("{}: nothing recorded yet (no training step, no validation)", .0.display())]
    Empty(PathBuf),
}

impl RunCurves {
    /// Reads `run/metrics.jsonl`. A last line cut short (a run killed while
    /// writing it) is passed over; any other line that is not a record is an
    /// error naming it.
    pub fn read(run: &Path) -> Result<RunCurves, CurvesError> {
        let path = run.join("metrics.jsonl");
        let text = std::fs::read_to_string(&path).map_err(|error| CurvesError::Read {
            path: path.clone(),
            error,
        })?;
        let name = run
            .canonicalize()
            .ok()
            .as_deref()
            .and_then(Path::file_name)
            .map_or_else(|| run.display().to_string(), |n| n.to_string_lossy().into_owned());
        let lines: Vec<&str> = text.lines().collect();
        let mut curves = RunCurves {
            name,
            ..RunCurves::default()
        };
        for (i, line) in lines.iter().enumerate() {
            let is_last = i + 1 == lines.len();
            match serde_json::from_str::<serde_json::Value>(line) {
                Ok(record) => curves.add(&record).map_err(|reason| CurvesError::Record {
                    path: path.clone(),
                    line: i + 1,
                    reason,
                })?,
                Err(_) if is_last && !text.ends_with('\n') => {}
                Err(e) => {
                    return Err(CurvesError::Record {
                        path,
                        line: i + 1,
                        reason: e.to_string(),
                    })
                }
            }
        }
        // A zero-step run (`train --steps 0`) records only its base model's
        // validation, at step 0: drawn as points.
        if curves.loss.is_empty() && curves.validation_loss.is_empty() {
            return Err(CurvesError::Empty(path));
        }
        Ok(curves)
    }

    /// Adds one record (`train`, `validation`, `sensitivity` or
    /// `hard_negatives`; other kinds
    /// are passed over, so newer runs' records do not break older readers).
    fn add(&mut self, record: &serde_json::Value) -> Result<(), String> {
        let number = |key: &str| {
            record
                .get(key)
                .and_then(serde_json::Value::as_f64)
                .ok_or_else(|| format!("no number \"{key}\""))
        };
        let step = record
            .get("step")
            .and_then(serde_json::Value::as_u64)
            .ok_or("no step")?;
        match record.get("kind").and_then(serde_json::Value::as_str) {
            Some("train") => {
                self.loss.push((step, number("loss")?));
                if let Ok(t) = number("threshold_loss") {
                    self.threshold_loss.push((step, t));
                }
                self.elapsed_s = number("elapsed_s")?;
            }
            Some("validation") => {
                self.validation_loss.push((step, number("loss")?));
                self.validation_accuracy.push((step, number("accuracy")?));
            }
            Some("sensitivity") => {
                let rates = record.get("win_rates").ok_or("no win_rates")?;
                for kind in KINDS {
                    if let Some(rate) = rates.pointer(&format!("/both/{kind}")).and_then(|v| v.as_f64()) {
                        self.win_rates.entry(kind.to_string()).or_default().push((step, rate));
                    }
                    if let Some(rate) = rates.pointer(&format!("/floor/{kind}")).and_then(|v| v.as_f64()) {
                        self.floor.entry(kind.to_string()).or_default().push((step, rate));
                    }
                }
            }
            Some("hard_negatives") => {
                let modes = record
                    .get("win_rates")
                    .and_then(serde_json::Value::as_object)
                    .ok_or("no win_rates")?;
                for (mode, kinds) in modes {
                    for (kind, rate) in kinds.as_object().into_iter().flatten() {
                        let rate = rate.as_f64().ok_or_else(|| format!("no number for {mode} {kind}"))?;
                        let key = (mode.clone(), kind.clone());
                        self.hard_negatives.entry(key).or_default().push((step, rate));
                    }
                }
            }
            Some(_) => {}
            None => return Err("no kind".into()),
        }
        Ok(())
    }

    /// The last step recorded.
    pub fn last_step(&self) -> u64 {
        self.loss.last().map_or(0, |&(s, _)| s)
    }
}

/// The running mean of the last `window` values of a series (fewer at its
/// start), at each of its steps.
pub fn running_mean(series: &[(u64, f64)], window: usize) -> Series {
    let window = window.max(1);
    let mut sum = 0.0;
    series
        .iter()
        .enumerate()
        .map(|(i, &(step, value))| {
            sum += value;
            if i >= window {
                sum -= series[i - window].1;
            }
            (step, sum / (i + 1).min(window) as f64)
        })
        .collect()
}

/// The chart of one or more runs' curves.
#[derive(Clone, Debug, PartialEq)]
pub struct CurvesChart {
    pub runs: Vec<RunCurves>,
    /// Steps in the running mean of the training losses.
    pub smooth: usize,
}

/// Panel size in pixels (three by two), and the title's height above them.
const PANEL: (u32, u32) = (640, 380);
const TITLE_HEIGHT: u32 = 40;

/// How a line's measured points are marked.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Marker {
    /// A running mean or a reference line: no points to mark.
    None,
    Circle,
    Triangle,
    Cross,
}

/// The colour index (one run) and marker (several runs share colours per
/// run, so the kinds are told apart by their markers) of each kind of
/// negative. Stretched copies are only hard negatives and foreign stems
/// only in the sensitivity test, so the two never share a panel.
fn kind_style(kind: &str) -> (usize, Marker) {
    match kind {
        "transposed" => (0, Marker::Circle),
        "shifted" => (1, Marker::Triangle),
        "foreign" => (2, Marker::Cross),
        _ => (3, Marker::Cross),
    }
}

/// One line of a panel.
struct Line {
    color: RGBColor,
    points: Vec<(f64, f64)>,
    dashed: bool,
    marker: Marker,
}

type Lines = Vec<Line>;

impl CurvesChart {
    fn title(&self) -> String {
        match self.runs.as_slice() {
            [run] if run.loss.is_empty() => format!("{}: no training step, validation of its base model", run.name),
            [run] => format!(
                "{}: {} steps in {:.0} min",
                run.name,
                run.last_step(),
                run.elapsed_s / 60.0
            ),
            runs => runs
                .iter()
                .map(|r| format!("{} ({} steps)", r.name, r.last_step()))
                .collect::<Vec<_>>()
                .join(" vs "),
        }
    }

    /// The last step of the longest run.
    fn last_step(&self) -> u64 {
        self.runs.iter().map(RunCurves::last_step).max().unwrap_or(1)
    }

    fn color(&self, run: usize, kind: usize) -> RGBColor {
        // One run: a colour per kind; several: a colour per run, the kinds
        // told apart by their markers.
        if self.runs.len() == 1 {
            series_color(kind)
        } else {
            series_color(run)
        }
    }

    fn losses(&self) -> Lines {
        let mut lines = Lines::new();
        for (r, run) in self.runs.iter().enumerate() {
            let color = series_color(r);
            let points = |s: &Series| {
                running_mean(s, self.smooth)
                    .iter()
                    .map(|&(x, y)| (x as f64, y))
                    .collect()
            };
            lines.push(Line {
                color,
                points: points(&run.loss),
                dashed: false,
                marker: Marker::None,
            });
            if !run.threshold_loss.is_empty() {
                lines.push(Line {
                    color,
                    points: points(&run.threshold_loss),
                    dashed: true,
                    marker: Marker::None,
                });
            }
        }
        lines
    }

    fn validation(&self, pick: fn(&RunCurves) -> &Series, scale: f64) -> Lines {
        (self.runs.iter().enumerate())
            .map(|(r, run)| Line {
                color: series_color(r),
                points: pick(run).iter().map(|&(x, y)| (x as f64, scale * y)).collect(),
                dashed: false,
                marker: Marker::Circle,
            })
            .collect()
    }

    /// Run `r`'s win rates (0-1) against `kind`, in percent, marked.
    fn rate_line(&self, r: usize, kind: &str, series: &Series) -> Line {
        let (k, marker) = kind_style(kind);
        Line {
            color: self.color(r, k),
            points: series.iter().map(|&(x, y)| (x as f64, 100.0 * y)).collect(),
            dashed: false,
            marker,
        }
    }

    fn sensitivity(&self) -> Lines {
        let mut lines = Lines::new();
        for (r, run) in self.runs.iter().enumerate() {
            for kind in KINDS {
                lines.extend(run.win_rates.get(kind).map(|series| self.rate_line(r, kind, series)));
            }
        }
        // Each run's floor: runs with other seeds draw other anchors, whose
        // floor differs (by several points on 64 anchors).
        for (r, run) in self.runs.iter().enumerate() {
            for kind in KINDS {
                let Some(series) = run.floor.get(kind) else { continue };
                let (k, _) = kind_style(kind);
                // The floor needs no model: drawn from step 0 to the end.
                let mut points: Vec<(f64, f64)> = series.iter().map(|&(x, y)| (x as f64, 100.0 * y)).collect();
                if let (Some(&(_, first)), Some(&(_, end))) = (points.first(), points.last()) {
                    points.insert(0, (0.0, first));
                    points.push((self.last_step() as f64, end));
                }
                lines.push(Line {
                    color: self.color(r, k),
                    points,
                    dashed: true,
                    marker: Marker::None,
                });
            }
        }
        lines
    }

    /// The hard negatives' win rates of `modes`, one line per run, mode
    /// and kind.
    fn hard_negatives(&self, modes: &[&str]) -> Lines {
        let mut lines = Lines::new();
        for (r, run) in self.runs.iter().enumerate() {
            for mode in modes {
                for kind in HARD_NEGATIVE_KINDS {
                    let series = run.hard_negatives.get(&(mode.to_string(), kind.to_string()));
                    lines.extend(series.map(|series| self.rate_line(r, kind, series)));
                }
            }
        }
        lines
    }

    /// Whether any run recorded stretched hard negatives.
    fn has_stretched(&self) -> bool {
        (self.runs.iter()).any(|run| run.hard_negatives.keys().any(|(_, kind)| kind == "stretched"))
    }
}

/// Draws one panel: its lines over the step, each point marked by its
/// line's marker.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    y_desc: &str,
    lines: &Lines,
    last_step: u64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (low, high) = padded_range(lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)));
    let mut chart = ChartBuilder::on(area)
        .caption(caption, font(16.0))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..(last_step.max(1) as f64), low..high)?;
    chart
        .configure_mesh()
        .x_desc("step")
        // Whole steps only: a run of a step or none would read 0 0 0 ... 1 1.
        .x_labels((last_step as usize + 1).clamp(2, 10))
        .y_desc(y_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .label_style(font(12.0))
        .axis_desc_style(font(13.0))
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .draw()?;
    if lines.iter().all(|l| l.points.is_empty()) {
        area.draw_text(
            "not recorded by this run",
            &font(14.0).color(&RGBColor(120, 120, 120)),
            (PANEL.0 as i32 / 2 - 80, PANEL.1 as i32 / 2),
        )?;
    }
    for line in lines {
        let (style, points) = (line.color.stroke_width(2), line.points.iter().copied());
        if line.dashed {
            chart.draw_series(DashedLineSeries::new(points, 6, 4, style))?;
        } else {
            chart.draw_series(LineSeries::new(points, style))?;
        }
        let fill = line.color.filled();
        match line.marker {
            Marker::None => {}
            Marker::Circle => {
                chart.draw_series(line.points.iter().map(|&p| Circle::new(p, 3, fill)))?;
            }
            Marker::Triangle => {
                chart.draw_series(line.points.iter().map(|&p| TriangleMarker::new(p, 4, fill)))?;
            }
            Marker::Cross => {
                chart.draw_series(
                    line.points
                        .iter()
                        .map(|&p| Cross::new(p, 4, line.color.stroke_width(2))),
                )?;
            }
        }
    }
    Ok(())
}

impl Chart for CurvesChart {
    fn size(&self) -> (u32, u32) {
        // The legend strip's rows: a generous bound, drawn rows are centred.
        let items = self.legend().len() as u32;
        (
            3 * PANEL.0,
            TITLE_HEIGHT + 2 * PANEL.1 + 28 * items.div_ceil(4).max(1) + 16,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> cocola::visual::chart::DrawResult<DB> {
        let (title, rest) = root.split_vertically(TITLE_HEIGHT);
        title.draw_text(&self.title(), &font(20.0), (16, 10))?;
        let (grid, legend) = rest.split_vertically(2 * PANEL.1);
        let panels = grid.split_evenly((2, 3));
        let last = self.last_step();
        panel(
            &panels[0],
            &format!(
                "training loss (running mean of {} steps; dashed: threshold)",
                self.smooth
            ),
            "loss",
            &self.losses(),
            last,
        )?;
        panel(
            &panels[1],
            "validation loss",
            "loss",
            &self.validation(|r| &r.validation_loss, 1.0),
            last,
        )?;
        panel(
            &panels[2],
            "validation accuracy (K = batch)",
            "accuracy (%)",
            &self.validation(|r| &r.validation_accuracy, 100.0),
            last,
        )?;
        panel(
            &panels[3],
            "sensitivity, both mode: true stem wins (dashed: the floor on the same anchors)",
            "win rate (%)",
            &self.sensitivity(),
            last,
        )?;
        panel(
            &panels[4],
            "own hard negatives, both mode: positive wins",
            "win rate (%)",
            &self.hard_negatives(&["both"]),
            last,
        )?;
        panel(
            &panels[5],
            "own hard negatives: harmonic (transposed), percussive (shifted, stretched)",
            "win rate (%)",
            &self.hard_negatives(&["harmonic", "percussive"]),
            last,
        )?;
        let items = self.legend();
        let items: Vec<(&str, RGBColor)> = items.iter().map(|(l, c)| (l.as_str(), *c)).collect();
        let height = legend_strip_height(&legend, &items)?;
        let (strip, _) = legend.split_vertically(height.min(legend.dim_in_pixel().1));
        draw_legend_strip(&strip, &items)
    }
}

impl CurvesChart {
    /// The legend: with one run, the kinds' colours; with several, the
    /// runs' colours and the kinds' markers.
    fn legend(&self) -> Vec<(String, RGBColor)> {
        let stretched = self.has_stretched().then_some("stretched");
        let kinds = KINDS.into_iter().chain(stretched);
        if self.runs.len() == 1 {
            return kinds
                .map(|kind| (kind.to_string(), series_color(kind_style(kind).0)))
                .collect();
        }
        let runs = (self.runs.iter().enumerate()).map(|(r, run)| (run.name.clone(), series_color(r)));
        let marker = |kind| match kind_style(kind).1 {
            Marker::Circle => "o",
            Marker::Triangle => "^",
            _ => "x",
        };
        let kinds = kinds.map(|kind| (format!("{} {kind}", marker(kind)), RGBColor(120, 120, 120)));
        runs.chain(kinds).collect()
    }
}

/// Reads `runs` and writes their chart to `out` (.png or .svg).
pub fn write(runs: &[PathBuf], out: &Path, smooth: usize) -> anyhow::Result<CurvesChart> {
    let runs = runs.iter().map(|r| RunCurves::read(r)).collect::<Result<Vec<_>, _>>()?;
    let chart = CurvesChart { runs, smooth };
    cocola::visual::write(&chart, out).map_err(|e: ChartError| anyhow::anyhow!(e))?;
    Ok(chart)
}

#[cfg(test)]
mod tests;
