//! `cocola.eval_pairs` and `cocola.eval_stems`: the CLI's `cocola eval`,
//! returning its `--json` document as a dict, plus pandas-friendly records.
//! The evaluation itself is the library's ([`cocola::eval`]).

use std::path::PathBuf;

use cocola::eval::stats::real_time_factor;
use cocola::eval::{
    evaluate_pairs, evaluate_submixes, read_pair_set, EmbeddingCache, NoProgress, PairSetReport, PairSpec, PairStatus,
    SubmixError, SubmixOptions,
};
use cocola::mode::Mode;
use cocola::score::Direction;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::{io_error, pair_set_error, AudioError, ModelError};
use crate::fork_guard;
use crate::model::{default_threads, direction, window_options, Model};
use crate::python_values::{as_printed, parse_modes, to_python};

/// The model argument of the evaluations: a loaded `cocola.Model`, a model
/// file, or `None` for the default model.
fn resolve_model<'py>(py: Python<'py>, model: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, Model>> {
    match model {
        Some(m) if m.is_instance_of::<Model>() => Ok(m.cast::<Model>()?.clone()),
        Some(m) => {
            let path: PathBuf = m
                .extract()
                .map_err(|_| PyTypeError::new_err("model must be a cocola.Model, a model file path, or None"))?;
            Bound::new(py, Model::load(py, Some(path), default_threads())?)
        }
        None => Bound::new(py, Model::load(py, None, default_threads())?),
    }
}

/// The pairs to score: a CSV file or folder (read by the library, as the
/// CLI does), or `(condition, stem)` / `(id, condition, stem)` path tuples.
fn pair_specs(pairs: &Bound<'_, PyAny>) -> PyResult<(Vec<PairSpec>, Option<PathBuf>)> {
    if let Ok(set) = pairs.extract::<PathBuf>() {
        return Ok((read_pair_set(&set).map_err(pair_set_error)?, Some(set)));
    }
    let bad = || PyTypeError::new_err("pairs must be a CSV file or folder, or a list of (condition, stem) paths");
    let mut specs = Vec::new();
    for (i, item) in pairs.try_iter().map_err(|_| bad())?.enumerate() {
        let item = item?;
        let (id, condition, stem) = if let Ok((condition, stem)) = item.extract::<(PathBuf, PathBuf)>() {
            ((i + 1).to_string(), condition, stem)
        } else if let Ok((id, condition, stem)) = item.extract::<(String, PathBuf, PathBuf)>() {
            (id, condition, stem)
        } else {
            return Err(bad());
        };
        specs.push(PairSpec {
            id,
            condition,
            stem,
            problem: None,
            comparison: None,
        });
    }
    if specs.is_empty() {
        return Err(PyValueError::new_err("pairs is empty"));
    }
    Ok((specs, None))
}

/// One record per pair, with the columns of `cocola eval --out`.
fn pair_records<'py>(py: Python<'py>, report: &PairSetReport, modes: &[Mode]) -> PyResult<Bound<'py, PyList>> {
    let records = PyList::empty(py);
    for pair in &report.pairs {
        let d = PyDict::new(py);
        let (status, error) = match &pair.status {
            PairStatus::Scored => ("scored", None),
            PairStatus::Silent => ("silent", None),
            PairStatus::Failed { error } => ("failed", Some(error.as_str())),
        };
        let r = pair.report.as_ref();
        d.set_item("id", &pair.id)?;
        d.set_item("condition", pair.condition.display().to_string())?;
        d.set_item("stem", pair.stem.display().to_string())?;
        d.set_item("status", status)?;
        d.set_item("duration_s", r.map(|r| r.duration_seconds))?;
        d.set_item("windows_scored", r.map(|r| r.scored_windows()))?;
        d.set_item("windows_silent", r.map(|r| r.windows.len() - r.scored_windows()))?;
        for &mode in modes {
            d.set_item(format!("raw_{mode}"), pair.raw(mode).map(as_printed))?;
        }
        if report.calibrated {
            for &mode in modes {
                d.set_item(format!("fit_{mode}"), pair.fit(mode).map(as_printed))?;
            }
            d.set_item("fit_combined", pair.combined_fit().map(as_printed))?;
        }
        d.set_item("error", error)?;
        records.append(d)?;
    }
    Ok(records)
}

/// Scores a pair set, as ``cocola eval PAIRS`` (the paper's Table III).
///
/// ``pairs`` is a CSV file (``condition,stem`` or ``id,condition,stem``
/// columns) or a folder of ``<id>/condition.*`` + ``<id>/stem.*``, or a list
/// of ``(condition, stem)`` / ``(id, condition, stem)`` paths. ``model`` is
/// a ``cocola.Model``, a model file or checkpoint, or ``None`` for the
/// default model. ``modes`` defaults to the model's. ``symmetric=True``
/// scores the mean of both directions (no fit), as ``cocola eval
/// --symmetric``; ``hop=2.5, silence_db=float("-inf"), symmetric=True`` is
/// ``--protocol published --symmetric``.
///
/// Returns the CLI's ``--json`` document as a dict: ``summary`` (per mode:
/// n, mean, std, std_error and 95 % confidence interval of the raw score
/// and of the fit), ``failed``, timings, and ``pairs``: one record per pair
/// with the columns of ``cocola eval --out`` (``pandas.DataFrame(result["pairs"])``).
/// A pair that cannot be decoded is reported as failed, never raised.
#[pyfunction]
#[pyo3(
    signature = (pairs, model=None, *, hop=5.0, silence_db=-60.0, modes=None, symmetric=false),
    text_signature = "(pairs, model=None, *, hop=5.0, silence_db=-60.0, modes=None, symmetric=False)"
)]
pub fn eval_pairs<'py>(
    py: Python<'py>,
    pairs: &Bound<'py, PyAny>,
    model: Option<&Bound<'py, PyAny>>,
    hop: f32,
    silence_db: f32,
    modes: Option<Vec<String>>,
    symmetric: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let windows = window_options(hop, silence_db)?;
    let direction = direction(symmetric);
    let (specs, set) = pair_specs(pairs)?;
    let model = resolve_model(py, model)?;
    let model = model.get();
    let modes = parse_modes(modes, model.modes())?;
    for &mode in &modes {
        model.check_mode(mode)?;
    }
    fork_guard::enter()?;
    fork_guard::threads_started();
    let report = py.detach(|| {
        model.with_scorer(direction, |scorer| {
            evaluate_pairs(scorer, &specs, &windows, &modes, &NoProgress)
        })
    });

    let doc = PyDict::new(py);
    doc.set_item("kind", "pairs")?;
    doc.set_item("set", set.map(|p| p.display().to_string()))?;
    doc.set_item("model", to_python(py, model.info())?)?;
    doc.set_item("direction", to_python(py, &direction)?)?;
    doc.set_item("hop_seconds", hop)?;
    doc.set_item("silence_dbfs", silence_db)?;
    doc.set_item("summary", to_python(py, &report.summary)?)?;
    let failed = PyList::empty(py);
    for pair in &report.pairs {
        if let PairStatus::Failed { error } = &pair.status {
            let d = PyDict::new(py);
            d.set_item("id", &pair.id)?;
            d.set_item("error", error)?;
            failed.append(d)?;
        }
    }
    doc.set_item("failed", failed)?;
    doc.set_item("audio_seconds", report.audio_seconds)?;
    doc.set_item("seconds", report.seconds)?;
    doc.set_item(
        "real_time_factor",
        real_time_factor(report.audio_seconds, report.seconds),
    )?;
    doc.set_item("pairs", pair_records(py, &report, &modes)?)?;
    Ok(doc)
}

/// Coherent sub-mix classification accuracy@K, as ``cocola eval --stems``
/// (the paper's Tables I-II, Eq. 4).
///
/// ``root`` holds ``<track>/<stem>.<ext>`` (files named ``mixture.*`` are
/// ignored). Batches of K random 5 s windows are drawn from ``seed``; each
/// window's stems are split into two disjoint random sub-mixes, and an
/// anchor counts as right when its own positive scores highest among the
/// K. Embeddings are cached on disk (``cache_dir``, default
/// ``~/.cache/cocola/embeddings``; ``cache=False`` turns it off), so a
/// re-run only decodes the audio.
///
/// Returns the CLI's ``--json`` document as a dict; ``results`` holds one
/// record per (mode, K), and per K one of mode "combined" (the combined
/// fit) where the model is calibrated: mode, k, batches, anchors, accuracy,
/// std_error, chance (``pandas.DataFrame(result["results"])``).
#[pyfunction]
#[pyo3(
    signature = (
        root, model=None, *, k=vec![2, 8, 16, 64], anchors=1000, batches=None, seed=0, silence_db=-60.0,
        modes=None, cache_dir=None, cache=true
    ),
    text_signature = "(root, model=None, *, k=(2, 8, 16, 64), anchors=1000, batches=None, seed=0, \
                      silence_db=-60.0, modes=None, cache_dir=None, cache=True)"
)]
#[allow(clippy::too_many_arguments)] // the Python signature
pub fn eval_stems<'py>(
    py: Python<'py>,
    root: PathBuf,
    model: Option<&Bound<'py, PyAny>>,
    k: Vec<usize>,
    anchors: usize,
    batches: Option<usize>,
    seed: u64,
    silence_db: f32,
    modes: Option<Vec<String>>,
    cache_dir: Option<PathBuf>,
    cache: bool,
) -> PyResult<Bound<'py, PyAny>> {
    if let Some(small) = k.iter().find(|&&k| k < 2) {
        return Err(PyValueError::new_err(format!("K must be at least 2, not {small}")));
    }
    if anchors == 0 || batches == Some(0) {
        return Err(PyValueError::new_err("anchors and batches must be at least 1"));
    }
    let model = resolve_model(py, model)?;
    let model = model.get();
    let modes = parse_modes(modes, model.modes())?;
    for &mode in &modes {
        model.check_mode(mode)?;
    }
    let options = SubmixOptions {
        ks: k,
        modes,
        anchors,
        batches,
        seed,
        silence_dbfs: silence_db,
        // The combined fit's accuracy too, where the model is calibrated.
        calibration: model.metadata().calibration,
    };
    let warnings = py.import("warnings")?;
    let cache = if cache {
        let (cache, warning) = EmbeddingCache::open_or_disabled(cache_dir.as_deref(), &model.info().sha256);
        if let Some(warning) = warning {
            warnings.call_method1("warn", (warning,))?;
        }
        cache
    } else {
        EmbeddingCache::disabled()
    };
    fork_guard::enter()?;
    fork_guard::threads_started();
    let report = py
        .detach(|| {
            model.with_scorer(Direction::default(), |scorer| {
                evaluate_submixes(scorer, &cache, &root, &options, &NoProgress)
            })
        })
        .map_err(submix_error)?;
    if let Some(error) = cache.first_write_error() {
        let message = format!("the embedding cache could not be written ({error}); results are unaffected");
        warnings.call_method1("warn", (message,))?;
    }
    let doc = to_python(py, &report)?;
    doc.set_item("kind", "stems")?;
    doc.set_item("model", to_python(py, model.info())?)?;
    doc.set_item("cache_dir", cache.dir().map(|p| p.display().to_string()))?;
    Ok(doc)
}

fn submix_error(error: SubmixError) -> PyErr {
    match error {
        SubmixError::Tracks(cocola::eval::tracks::TrackSetError::Io { path, error }) => {
            io_error(format!("{}: {error}", path.display()), error.kind())
        }
        SubmixError::Tracks(e) => PyValueError::new_err(e.to_string()),
        SubmixError::NoUsableTrack(_) => PyValueError::new_err(error.to_string()),
        // A track whose window no longer decodes, or that changed, after it was scanned.
        SubmixError::Rescan(_) | SubmixError::Window { .. } => AudioError::new_err(error.to_string()),
        SubmixError::Model(_) => ModelError::new_err(error.to_string()),
    }
}
