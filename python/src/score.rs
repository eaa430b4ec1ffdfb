//! `cocola.Score`: one pair's result, read-only: the library's
//! [`PairReport`] with a headline mode.

use cocola::mode::Mode;
use cocola::score::{ModeScore, PairReport, WindowOutcome};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::python_values::{as_printed, to_python};

/// How well a stem fits a condition (``Model.score``).
///
/// ``raw``, ``fit`` and ``verdict`` are the headline ``mode``'s aggregate:
/// the mean raw COCOLA score over the scored windows, its calibrated 0-100
/// fit and the verdict word ("fits" >= 70, "unsure", "clashes" < 30). They
/// are ``None`` when every window was silent (and ``fit``/``verdict`` for an
/// uncalibrated model). ``modes`` has every mode of the model, ``timeline`` and
/// ``windows`` the per-window scores, ``to_dict()`` everything as
/// ``cocola score --json`` prints it.
#[pyclass(frozen, module = "cocola")]
pub struct Score {
    report: PairReport,
    mode: Mode,
    /// The model's modes (all three, or `both` for a model without HPS).
    modes: &'static [Mode],
    calibrated: bool,
}

impl Score {
    /// `mode` is one of `modes`, the model's.
    pub fn new(report: PairReport, mode: Mode, modes: &'static [Mode], calibrated: bool) -> Self {
        Self {
            report,
            mode,
            modes,
            calibrated,
        }
    }

    fn headline(&self) -> Option<&ModeScore> {
        self.report.aggregate.as_ref().and_then(|a| a.get(self.mode))
    }
}

/// `{"raw", "fit", "verdict"}` of one mode's score (`None` values when absent).
fn mode_dict<'py>(py: Python<'py>, score: Option<&ModeScore>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("raw", score.map(|s| as_printed(s.raw)))?;
    d.set_item("fit", score.and_then(|s| s.fit).map(as_printed))?;
    d.set_item("verdict", score.and_then(|s| s.verdict).map(|v| v.word()))?;
    Ok(d)
}

#[pymethods]
impl Score {
    /// The headline mode: "both", "harmonic" or "percussive".
    #[getter]
    fn mode(&self) -> &'static str {
        self.mode.name()
    }

    /// Mean raw COCOLA score of the headline mode over the scored windows.
    #[getter]
    fn raw(&self) -> Option<f64> {
        self.headline().map(|s| as_printed(s.raw))
    }

    /// Calibrated 0-100 fit of ``raw`` (``None`` for an uncalibrated model).
    #[getter]
    fn fit(&self) -> Option<f64> {
        self.headline().and_then(|s| s.fit).map(as_printed)
    }

    /// "fits", "unsure" or "clashes" (``None`` for an uncalibrated model).
    #[getter]
    fn verdict(&self) -> Option<&'static str> {
        self.headline().and_then(|s| s.verdict).map(|v| v.word())
    }

    /// Whether the model carries a calibration (so ``fit`` and ``verdict`` exist).
    #[getter]
    fn calibrated(&self) -> bool {
        self.calibrated
    }

    /// The aggregate of every mode of the model: ``{"both": {"raw", "fit",
    /// "verdict"}, ...}`` (``both`` alone for a model without HPS).
    #[getter]
    fn modes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for &mode in self.modes {
            let score = self.report.aggregate.as_ref().and_then(|a| a.get(mode));
            d.set_item(mode.name(), mode_dict(py, score)?)?;
        }
        Ok(d)
    }

    /// Every mode's evidence together (a calibrated model scoring all its
    /// modes): ``{"log_odds", "fit", "verdict"}``, the mean of the modes'
    /// calibrated log-odds and the fit and verdict it gives; ``None`` for an
    /// uncalibrated model or when every window was silent. It ranks a stem
    /// above its off-beat copy or another song's stem more often than any one mode.
    #[getter]
    fn combined<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(c) = self.report.aggregate.as_ref().and_then(|a| a.combined()) else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("log_odds", as_printed(c.log_odds))?;
        d.set_item("fit", as_printed(c.fit))?;
        d.set_item("verdict", c.verdict.word())?;
        Ok(Some(d))
    }

    /// Length of the longer signal, in seconds.
    #[getter]
    fn duration(&self) -> f64 {
        self.report.duration_seconds
    }

    /// Windows scored (audible on both sides).
    #[getter]
    fn scored_windows(&self) -> usize {
        self.report.scored_windows()
    }

    /// Windows not scored because one side (or both) was silent.
    #[getter]
    fn silent_windows(&self) -> usize {
        self.report.windows.len() - self.report.scored_windows()
    }

    /// Start of each window in seconds, float64 ``[windows]``.
    #[getter]
    fn starts<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_iter(py, self.report.windows.iter().map(|w| w.start_seconds))
    }

    /// The headline mode's raw score per window, float32 ``[windows]``; NaN
    /// for silent windows.
    #[getter]
    fn timeline<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        PyArray1::from_iter(
            py,
            self.report.windows.iter().map(|w| match &w.outcome {
                WindowOutcome::Scored(s) => s.get(self.mode).map_or(f32::NAN, |s| s.raw),
                WindowOutcome::Silent { .. } => f32::NAN,
            }),
        )
    }

    /// One flat record per window (``pandas.DataFrame(score.windows)``):
    /// start, end, condition_dbfs, stem_dbfs, state ("scored" / "silent"),
    /// silent_condition, silent_stem, then raw_<mode>, fit_<mode> and
    /// verdict_<mode> for every mode (``None`` where not scored, and for
    /// the modes a model without HPS lacks), and fit_combined and
    /// verdict_combined (``None`` also for an uncalibrated model).
    #[getter]
    fn windows<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.report
            .windows
            .iter()
            .map(|w| {
                let d = PyDict::new(py);
                d.set_item("start", w.start_seconds)?;
                d.set_item("end", w.end_seconds)?;
                d.set_item("condition_dbfs", as_printed(w.condition_dbfs))?;
                d.set_item("stem_dbfs", as_printed(w.stem_dbfs))?;
                let (scores, silent) = match &w.outcome {
                    WindowOutcome::Scored(s) => (Some(s), (false, false)),
                    WindowOutcome::Silent { condition, stem } => (None, (*condition, *stem)),
                };
                d.set_item("state", if scores.is_some() { "scored" } else { "silent" })?;
                d.set_item("silent_condition", silent.0)?;
                d.set_item("silent_stem", silent.1)?;
                for mode in Mode::ALL {
                    let score = scores.and_then(|s| s.get(mode));
                    d.set_item(format!("raw_{mode}"), score.map(|s| as_printed(s.raw)))?;
                    d.set_item(format!("fit_{mode}"), score.and_then(|s| s.fit).map(as_printed))?;
                    d.set_item(
                        format!("verdict_{mode}"),
                        score.and_then(|s| s.verdict).map(|v| v.word()),
                    )?;
                }
                let combined = scores.and_then(|s| s.combined());
                d.set_item("fit_combined", combined.map(|c| as_printed(c.fit)))?;
                d.set_item("verdict_combined", combined.map(|c| c.verdict.word()))?;
                Ok(d)
            })
            .collect()
    }

    /// Everything as plain Python objects, in the layout of
    /// ``cocola score --json`` (duration_seconds, windows, aggregate).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.report)
    }

    fn __repr__(&self) -> String {
        let number = |v: Option<f64>, digits: usize| v.map_or("None".to_string(), |v| format!("{v:.digits$}"));
        format!(
            "cocola.Score(mode='{}', raw={}, fit={}, verdict={}, windows={} scored / {} silent)",
            self.mode,
            number(self.raw(), 3),
            number(self.fit(), 1),
            self.verdict().map_or("None".to_string(), |v| format!("'{v}'")),
            self.scored_windows(),
            self.silent_windows()
        )
    }
}
