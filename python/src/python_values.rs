//! Small conversions between the library's values and Python ones.

use cocola::mode::Mode;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde::Serialize;

/// Any serialisable library value as plain Python objects (dicts, lists,
/// floats, strings, None), through JSON: the same fields and numbers the
/// CLI's `--json` prints.
pub fn to_python<'py>(py: Python<'py>, value: &impl Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value).map_err(|e| PyValueError::new_err(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// A mode from its name ("both", "harmonic", "percussive").
pub fn parse_mode(name: &str) -> PyResult<Mode> {
    name.parse().map_err(PyValueError::new_err)
}

/// Modes from their names; `None` means `all` (the model's modes).
pub fn parse_modes(names: Option<Vec<String>>, all: &[Mode]) -> PyResult<Vec<Mode>> {
    let Some(names) = names else {
        return Ok(all.to_vec());
    };
    let mut modes = names.iter().map(|n| parse_mode(n)).collect::<PyResult<Vec<_>>>()?;
    modes.dedup();
    if modes.is_empty() {
        return Err(PyValueError::new_err(
            "modes is empty: give at least one of both, harmonic, percussive",
        ));
    }
    Ok(modes)
}

/// A library `f32` as the Python float of the decimal the CLI prints for it
/// (the shortest that reads back as the same `f32`): `121.16521`, not
/// `121.16520690917969`, so numbers compare equal to the CLI's JSON.
pub fn as_printed(value: f32) -> f64 {
    value.to_string().parse().unwrap_or(f64::from(value))
}
