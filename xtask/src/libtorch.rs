//! Installs the libtorch that `tch` 0.24 builds and links against (2.11.0),
//! for the trainer only.
//!
//! libtorch is not on crates.io, and the download site of the C++ archives is
//! not reachable from every machine this project is built on, but PyPI is:
//! the `torch==2.11.0` wheel carries `torch/lib` and `torch/include`, which is
//! all torch-sys needs. The lean CPU recipe installs it with `--no-deps` plus
//! the two CUDA libraries `libtorch_cpu` loads even on CPU (the CUDA runtime
//! and CUPTI), 1.3 GB instead of 4.6 GB.
//!
//! Layout, inside the repository's git-ignored `.cache/`:
//!
//! ```text
//! .cache/libtorch/venv/           python venv holding the wheels
//! .cache/libtorch/libtorch        symlink -> venv/lib/python3.X/site-packages/torch
//! .cache/libtorch/installed       "2.11.0" once everything is in place
//! ```
//!
//! `.cargo/config.toml` points `LIBTORCH` at the symlink, whose path does not
//! depend on the Python version. The marker is written last, so an
//! interrupted set-up simply runs pip again (pip skips what it already has).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run_ok;

pub const VERSION: &str = "2.11.0";
/// What `pip install` gets: torch without its dependency tree, plus the CUDA
/// libraries `libtorch_cpu.so` is linked against (found via its RUNPATH).
const PACKAGES: [&str; 3] = [
    "torch==2.11.0",
    "nvidia-cuda-runtime==13.0.96",
    "nvidia-cuda-cupti==13.0.85",
];

/// `<repo>/.cache/libtorch`, the repository being the parent of `xtask/`.
pub fn install_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the repository")
        .join(".cache")
        .join("libtorch")
}

/// Returns the libtorch directory (with `lib/` and `include/`), installing it
/// first if needed.
pub fn ensure_installed() -> Result<PathBuf, String> {
    let dir = install_dir();
    let link = dir.join("libtorch");
    let marker = dir.join("installed");
    let installed = std::fs::read_to_string(&marker).unwrap_or_default();
    if installed.trim() == VERSION && is_complete(&link) {
        return Ok(link);
    }
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Err(format!(
            "automatic set-up only knows Linux x86_64; install libtorch {VERSION} yourself and \
             set LIBTORCH to it (see the README, section Training)"
        ));
    }
    // A marker for another version must not survive a half-done upgrade.
    let _ = std::fs::remove_file(&marker);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let venv = dir.join("venv");
    let python = venv.join("bin").join("python");
    if !python.is_file() {
        eprintln!("creating a Python venv for libtorch in {}...", venv.display());
        run_ok(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
        )?;
    }
    eprintln!("installing libtorch {VERSION} from PyPI (torch wheel, CPU use, ~1.3 GB)...");
    run_ok(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-cache-dir",
                "--no-deps",
            ])
            .args(PACKAGES),
        "pip install torch",
    )?;
    let site_torch = torch_package_dir(&python)?;
    // Replace the link atomically: build a new one beside it, then rename.
    let fresh = dir.join("libtorch.new");
    let _ = std::fs::remove_file(&fresh);
    let target = site_torch
        .strip_prefix(&dir)
        .map(Path::to_path_buf)
        .unwrap_or(site_torch);
    std::os::unix::fs::symlink(&target, &fresh).map_err(|e| format!("cannot create {}: {e}", fresh.display()))?;
    std::fs::rename(&fresh, &link).map_err(|e| format!("cannot install {}: {e}", link.display()))?;
    if !is_complete(&link) {
        return Err(format!(
            "pip finished but {} lacks lib/libtorch_cpu.so or include/torch",
            link.display()
        ));
    }
    std::fs::write(&marker, VERSION).map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    Ok(link)
}

fn is_complete(libtorch: &Path) -> bool {
    libtorch.join("lib").join("libtorch_cpu.so").is_file() && libtorch.join("include").join("torch").is_dir()
}

/// Where pip put the `torch` package, asked from the venv's own Python
/// without importing torch (importing would need all of its dependencies).
fn torch_package_dir(python: &Path) -> Result<PathBuf, String> {
    let out = Command::new(python)
        .args([
            "-c",
            "import importlib.util as u; print(u.find_spec('torch').submodule_search_locations[0])",
        ])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "cannot locate the installed torch package: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}
