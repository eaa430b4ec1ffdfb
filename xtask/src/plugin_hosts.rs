//! The plugin in real hosts, for `cargo xtask test`: builds the release
//! bundles, installs DawDreamer (PyPI) into `.venv-plugin/`, then runs the
//! plugin's ignored host tests (DawDreamer VST3 with sidechain, CLAP ABI).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run_ok;

/// The DawDreamer release the tests were written against (ENV.md).
const DAWDREAMER: &str = "dawdreamer==0.9.0";

pub fn run(extra: &[String]) -> Result<(), String> {
    crate::bundle::run(&["cocola".to_string(), "--release".to_string()])?;
    let root = crate::bundle::workspace_root();
    let python = ensure_dawdreamer(&root)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "test",
            "-p",
            "cocola-plugin",
            "--test",
            "real_hosts",
            "--test",
            "clap_abi",
        ])
        .args(extra)
        .args(["--", "--ignored"])
        .env("COCOLA_HOST_PYTHON", &python)
        .env("COCOLA_BUNDLE_DIR", root.join("target").join("bundled"))
        .status()
        .map_err(|e| format!("could not run cargo test: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("plugin host tests failed ({status})"))
    }
}

/// A venv with DawDreamer; created once, reused afterwards.
fn ensure_dawdreamer(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join(".venv-plugin");
    let python = venv.join("bin").join("python");
    let has_it = |python: &Path| {
        Command::new(python)
            .args(["-c", "import dawdreamer, numpy"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.is_file() && has_it(&python) {
        return Ok(python);
    }
    run_ok(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv .venv-plugin",
    )?;
    run_ok(
        Command::new(&python).args(["-m", "pip", "install", "-q", DAWDREAMER, "numpy"]),
        "pip install dawdreamer",
    )?;
    Ok(python)
}
