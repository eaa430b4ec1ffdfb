//! `cocola` for Python: the COCOLA library behind a numpy API.
//!
//! The binding is thin on purpose: every number comes from the `cocola`
//! crate (features, model runtime, [`cocola::score::Scorer`], evaluation,
//! calibration). This crate only converts arrays, checks what Python hands
//! over, releases the GIL while the library works, and turns errors into
//! Python exceptions. The pure-Python side (`cocola/__init__.py`) re-exports
//! this module; `cocola/_native.pyi` types it.
//!
//! - [`audio`]: numpy arrays (any rate, mono or `[channels, samples]`) -> 16 kHz mono.
//! - [`model`]: `cocola.Model`: embed, score, score_matrix, rank.
//! - [`score`]: `cocola.Score`, one pair's result.
//! - [`ranking`]: `cocola.Ranking`, candidates best first.
//! - [`eval`]: `cocola.eval_pairs`, `cocola.eval_stems` (the CLI's `eval`).
//! - [`errors`]: `cocola.ModelError`, `cocola.AudioError`.
//! - [`runtime`]: ONNX Runtime from the installed `onnxruntime` wheel.
//! - [`fork_guard`]: a clear error, not a hang, in a process forked after scoring.

mod audio;
mod errors;
mod eval;
mod fork_guard;
mod model;
mod python_values;
mod ranking;
mod runtime;
mod score;

use pyo3::prelude::*;

/// Native part of the `cocola` package (import `cocola`, not this module).
#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("CocolaError", py.get_type::<errors::CocolaError>())?;
    m.add("ModelError", py.get_type::<errors::ModelError>())?;
    m.add("AudioError", py.get_type::<errors::AudioError>())?;
    m.add("SAMPLE_RATE", cocola::contract::SAMPLE_RATE)?;
    m.add(
        "WINDOW_SECONDS",
        cocola::contract::WINDOW_SAMPLES as f64 / cocola::contract::SAMPLE_RATE as f64,
    )?;
    m.add("EMBEDDING_DIM", cocola::contract::EMBEDDING_DIM)?;
    m.add("MODES", cocola::mode::Mode::ALL.map(|m| m.name()).to_vec())?;
    m.add("ORT_VERSION", cocola::model::runtime::ORT_VERSION)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<model::Model>()?;
    m.add_class::<score::Score>()?;
    m.add_class::<ranking::Ranking>()?;
    m.add_function(wrap_pyfunction!(audio::load_audio, m)?)?;
    m.add_function(wrap_pyfunction!(audio::features, m)?)?;
    m.add_function(wrap_pyfunction!(eval::eval_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(eval::eval_stems, m)?)?;
    fork_guard::register(m)
}
