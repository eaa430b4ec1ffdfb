//! Where the Python package finds ONNX Runtime: inside the installed
//! `onnxruntime` wheel (a dependency of this package), whose `capi/` folder
//! holds `libonnxruntime.so.<version>`. It is handed to the library as the
//! directory hint, so `COCOLA_ORT_LIB` / `ORT_DYLIB_PATH` still win and the
//! user cache of `cargo xtask setup` remains the last resort (see
//! `cocola::model::runtime`).
//!
//! The package is located, not imported: importing it would start its own
//! copy of the runtime for nothing.

use std::path::PathBuf;

use pyo3::prelude::*;

/// The `capi/` folder of the installed `onnxruntime` package, if any.
pub fn onnxruntime_capi_dir(py: Python<'_>) -> Option<PathBuf> {
    let spec = py
        .import("importlib.util")
        .ok()?
        .call_method1("find_spec", ("onnxruntime",))
        .ok()?;
    if spec.is_none() {
        return None;
    }
    let locations: Vec<PathBuf> = spec.getattr("submodule_search_locations").ok()?.extract().ok()?;
    locations
        .into_iter()
        .map(|dir| dir.join("capi"))
        .find(|dir| dir.is_dir())
}

/// Added to an ONNX-Runtime-not-found error when the package is missing.
pub const INSTALL_HINT: &str = "The Python package `onnxruntime`, where cocola looks for the library, is not \
installed: pip install onnxruntime==1.31.1";
