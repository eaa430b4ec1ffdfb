//! `cocola.Ranking`: candidates for one condition in order, best first
//! (`Model.rank`): the library's [`cocola::score::rank::Ranking`] with the
//! position of each candidate in the caller's input.

use std::collections::HashMap;

use cocola::mode::Mode;
use cocola::score::rank::{RankedCandidate, Ranking as LibraryRanking, Standing};
use cocola::score::Measure;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyMapping};

use crate::audio::{extract_many, Audio};
use crate::python_values::{as_printed, to_python};

/// Candidates ranked by their COCOLA score against one condition
/// (``Model.rank``), best first: ranked candidates, then silent ones, then
/// ones that could not be scored.
///
/// ``order`` gives the candidates' positions in the input, best first (so
/// ``candidates[ranking.order[0]]`` is the best); ``records`` one flat dict
/// per candidate (``pandas.DataFrame(ranking.records)``); ``notes`` explains
/// ties, partly silent and unscored candidates; ``to_dict()`` is the layout of
/// ``cocola rank --json``. Iterating yields the records.
#[pyclass(frozen, module = "cocola")]
pub struct Ranking {
    ranking: LibraryRanking,
    /// Each candidate's position in the caller's input, by name.
    positions: HashMap<String, usize>,
}

impl Ranking {
    /// `names[i]` is the name of input candidate `i` (names are unique).
    pub fn new(ranking: LibraryRanking, names: &[String]) -> Self {
        let positions = names.iter().enumerate().map(|(i, n)| (n.clone(), i)).collect();
        Self { ranking, positions }
    }

    fn position(&self, candidate: &RankedCandidate) -> usize {
        self.positions[&candidate.name]
    }

    fn record<'py>(&self, py: Python<'py>, c: &RankedCandidate) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let (status, rank, tied_with, why) = match &c.standing {
            Standing::Ranked { rank, tied_with } => ("ranked", Some(*rank), tied_with.clone(), None),
            Standing::Silent { reason } => ("silent", None, Vec::new(), Some(reason.as_str())),
            Standing::Failed { error } => ("failed", None, Vec::new(), Some(error.as_str())),
        };
        d.set_item("rank", rank)?;
        d.set_item("name", &c.name)?;
        d.set_item("index", self.position(c))?;
        d.set_item("status", status)?;
        let measure = self.ranking.measure;
        let headline = c.score(measure);
        // The combined measure has no raw score of its own (its value is a log-odds).
        let raw = headline.filter(|_| measure.mode().is_some());
        d.set_item("raw", raw.map(|s| as_printed(s.value)))?;
        d.set_item("fit", headline.and_then(|s| s.fit).map(as_printed))?;
        d.set_item("verdict", headline.and_then(|s| s.verdict).map(|v| v.word()))?;
        for mode in Mode::ALL {
            let score = c.score(mode);
            d.set_item(format!("raw_{mode}"), score.map(|s| as_printed(s.value)))?;
            d.set_item(format!("fit_{mode}"), score.and_then(|s| s.fit).map(as_printed))?;
        }
        let combined = c.score(Measure::Combined);
        d.set_item("fit_combined", combined.and_then(|c| c.fit).map(as_printed))?;
        d.set_item("windows_scored", c.windows_scored)?;
        d.set_item("windows_total", c.windows_total)?;
        d.set_item("worst_window_start", c.worst_window.map(|w| w.start_seconds))?;
        let worst = c.worst_window.and_then(|w| w.score(measure));
        d.set_item(
            "worst_window_raw",
            worst.filter(|_| measure.mode().is_some()).map(|s| as_printed(s.value)),
        )?;
        d.set_item("worst_window_fit", worst.and_then(|s| s.fit).map(as_printed))?;
        d.set_item("tied_with", tied_with)?;
        d.set_item("reason", why)?;
        Ok(d)
    }
}

#[pymethods]
impl Ranking {
    /// What orders the candidates: "combined" (the combined fit) or a mode
    /// (its mean raw score).
    #[getter]
    fn mode(&self) -> &'static str {
        self.ranking.measure.name()
    }

    /// Positions of the candidates in the input, best first.
    #[getter]
    fn order(&self) -> Vec<usize> {
        self.ranking.candidates.iter().map(|c| self.position(c)).collect()
    }

    /// One flat dict per candidate, best first: rank (``None`` unless
    /// ranked; tied candidates share one), name, index (position in the
    /// input), status ("ranked", "silent", "failed"), fit and verdict of
    /// what ranks (``mode``) and its raw score (``None`` for the combined
    /// fit, which has none), raw_<mode> and fit_<mode> of every mode,
    /// fit_combined, windows_scored, windows_total, worst_window_start,
    /// worst_window_raw and worst_window_fit (where the candidate drifts
    /// furthest), tied_with, and reason (why a candidate is silent or
    /// failed).
    #[getter]
    fn records<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.ranking.candidates.iter().map(|c| self.record(py, c)).collect()
    }

    /// Ties, partly silent, silent and failed candidates, in words.
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.ranking.notes.clone()
    }

    /// Everything, each candidate's timeline included, in the layout of
    /// ``cocola rank --json`` (mode, candidates, notes).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.ranking)
    }

    fn __len__(&self) -> usize {
        self.ranking.candidates.len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pyo3::types::PyList::new(py, self.records(py)?)?
            .as_any()
            .try_iter()?
            .into_any())
    }

    fn __repr__(&self) -> String {
        let best = self.ranking.candidates.first().filter(|c| c.rank().is_some());
        format!(
            "cocola.Ranking(mode='{}', {} candidates, best={})",
            self.ranking.measure,
            self.ranking.candidates.len(),
            best.map_or("None".to_string(), |c| format!("{:?}", c.name))
        )
    }
}

/// The candidates of `Model.rank`: a mapping name -> signal, or a sequence of
/// signals (named by position, "0", "1", ...). Returns the names and the
/// signals, in input order.
pub fn named_candidates(obj: &Bound<'_, PyAny>, sample_rate: f64) -> PyResult<(Vec<String>, Vec<Audio>)> {
    let Ok(mapping) = obj.cast::<PyMapping>() else {
        let audio = extract_many(obj, sample_rate, "candidates")?;
        return Ok(((0..audio.len()).map(|i| i.to_string()).collect(), audio));
    };
    let mut names = Vec::new();
    let mut audio = Vec::new();
    for item in mapping.items()?.try_iter()? {
        let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
        let name = key.str()?.to_string();
        if names.contains(&name) {
            return Err(PyValueError::new_err(format!("two candidates are named '{name}'")));
        }
        audio.push(Audio::extract(&value, sample_rate, &format!("candidates['{name}']"))?);
        names.push(name);
    }
    if names.is_empty() {
        return Err(PyValueError::new_err("candidates is empty"));
    }
    Ok((names, audio))
}
