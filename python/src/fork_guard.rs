//! A process forked after cocola started its worker threads must not use it.
//!
//! Every `Model` computes its features on its own rayon thread pool (and the
//! evaluations also use rayon's global one). `fork()` copies a pool's
//! bookkeeping into the child but not its threads, so work handed to it in
//! the child would wait forever: a hang, with multiprocessing's default start
//! method on Linux. Instead, a child forked after the first `Model` was made
//! gets a RuntimeError that says what to do; a child forked before (workers
//! started first, each making its own model) works normally.

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// Set once a model has started its threads.
static THREADS_STARTED: AtomicBool = AtomicBool::new(false);
/// Set in a child forked after that.
static FORKED_AFTER_THREADS: AtomicBool = AtomicBool::new(false);

const MESSAGE: &str = "this process was forked after cocola had started its worker threads, which do not \
survive fork(): use multiprocessing with the 'spawn' or 'forkserver' start method \
(multiprocessing.get_context('spawn')), or start the workers before making a cocola.Model in the parent";

/// Called before making a model and before every computation.
pub fn enter() -> PyResult<()> {
    if FORKED_AFTER_THREADS.load(Ordering::Relaxed) {
        return Err(PyRuntimeError::new_err(MESSAGE));
    }
    Ok(())
}

/// Called when a model (or an evaluation) has started threads.
pub fn threads_started() {
    THREADS_STARTED.store(true, Ordering::Relaxed);
}

/// Runs in the child after `os.fork()` (registered with `os.register_at_fork`).
#[pyfunction]
fn after_fork_in_child() {
    if THREADS_STARTED.load(Ordering::Relaxed) {
        FORKED_AFTER_THREADS.store(true, Ordering::Relaxed);
    }
}

/// Registers the fork handler; called once, when the module is imported.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let handler = wrap_pyfunction!(after_fork_in_child, m)?;
    let kwargs = pyo3::types::PyDict::new(m.py());
    kwargs.set_item("after_in_child", handler)?;
    m.py()
        .import("os")?
        .call_method("register_at_fork", (), Some(&kwargs))?;
    Ok(())
}
