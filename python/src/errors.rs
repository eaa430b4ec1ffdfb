//! The exceptions `cocola` raises, with the library's (and so the CLI's)
//! messages.
//!
//! - `cocola.ModelError`: the model cannot be found, read, trusted or run;
//!   ONNX Runtime is missing.
//! - `cocola.AudioError`: an audio file cannot be decoded.
//! - `ValueError` / `TypeError`: arrays of the wrong shape or dtype, NaN or
//!   infinite samples, bad options (a programming error of the caller, not a
//!   property of the data on disk).

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::PyErr;

create_exception!(
    cocola,
    CocolaError,
    PyException,
    "Base class of the errors cocola raises about models and audio files."
);
create_exception!(
    cocola,
    ModelError,
    CocolaError,
    "The model cannot be found, read, trusted (wrong feature contract) or run, or ONNX Runtime is missing."
);
create_exception!(
    cocola,
    AudioError,
    CocolaError,
    "An audio file cannot be decoded: missing, unreadable, corrupt, truncated, unsupported."
);

/// An audio error. A bad sample rate given with an array is the caller's
/// mistake (ValueError); everything else is about a file.
pub fn audio_error(error: cocola::audio::AudioError) -> PyErr {
    match error {
        cocola::audio::AudioError::InvalidResampleRate { .. } => PyValueError::new_err(error.to_string()),
        other => AudioError::new_err(other.to_string()),
    }
}

/// An OS error with a message that names the file: FileNotFoundError when
/// it is missing, else OSError.
pub fn io_error(message: String, kind: std::io::ErrorKind) -> PyErr {
    if kind == std::io::ErrorKind::NotFound {
        PyFileNotFoundError::new_err(message)
    } else {
        PyOSError::new_err(message)
    }
}

/// A pair set that cannot be read: an OS error for a missing or unreadable
/// file, a ValueError for a malformed CSV.
pub fn pair_set_error(error: cocola::eval::PairSetError) -> PyErr {
    match &error {
        cocola::eval::PairSetError::Io { error: io, .. } => io_error(error.to_string(), io.kind()),
        _ => PyValueError::new_err(error.to_string()),
    }
}

/// What can fail once the GIL is released: turning arrays into 16 kHz mono,
/// or running the model.
#[derive(Debug)]
pub enum Failure {
    Audio(cocola::audio::AudioError),
    Model(cocola::model::ModelError),
}

impl From<cocola::audio::AudioError> for Failure {
    fn from(e: cocola::audio::AudioError) -> Self {
        Failure::Audio(e)
    }
}

impl From<cocola::model::ModelError> for Failure {
    fn from(e: cocola::model::ModelError) -> Self {
        Failure::Model(e)
    }
}

impl From<Failure> for PyErr {
    fn from(failure: Failure) -> PyErr {
        match failure {
            Failure::Audio(e) => audio_error(e),
            Failure::Model(e) => ModelError::new_err(e.to_string()),
        }
    }
}
