//! A process forked after cocola started its worker threads must not use it.
//!
//! The library computes features on rayon's thread pool. `fork()` copies
//! the pool's bookkeeping into the child but not its threads, so work handed
//! to the pool in the child would wait forever: a hang, with multiprocessing's
//! default start method on Linux. Instead, a child forked after any
//! computation gets a RuntimeError that says what to do; a child forked
//! before any (e.g. workers created before the first score) works normally.

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// Set once a computation may have started the thread pool.
static THREADS_STARTED: AtomicBool = AtomicBool::new(false);
/// Set in a child forked after that.
static FORKED_AFTER_THREADS: AtomicBool = AtomicBool::new(false);

const MESSAGE: &str = "this process was forked after cocola had started its worker threads, which do not \
survive fork(): use multiprocessing with the 'spawn' or 'forkserver' start method \
(multiprocessing.get_context('spawn')), or create the workers before scoring anything in the parent";

/// Called before every computation that uses the thread pool.
pub fn enter() -> PyResult<()> {
    if FORKED_AFTER_THREADS.load(Ordering::Relaxed) {
        return Err(PyRuntimeError::new_err(MESSAGE));
    }
    THREADS_STARTED.store(true, Ordering::Relaxed);
    Ok(())
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
