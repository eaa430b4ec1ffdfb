//! Installs the ONNX Runtime shared library that `ort` loads at run time.
//!
//! ONNX Runtime is not on crates.io; PyPI's `onnxruntime` wheel carries the
//! plain C library (`onnxruntime/capi/libonnxruntime.so.1.31.1`, needing only
//! libc/libstdc++), so we take it from there with pip and unpack that one file.
//! The location must stay in step with `cocola::model::runtime`, which searches
//! it as its last resort.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const VERSION: &str = "1.31.1";
const LIB_NAME: &str = "libonnxruntime.so.1.31.1";
const MEMBER: &str = "onnxruntime/capi/libonnxruntime.so.1.31.1";
/// SHA-256 of the library inside the cp311 manylinux_2_28 x86_64 wheel, so a
/// damaged or substituted download is noticed here rather than as a crash later.
const LIB_SHA256: &str = "fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3";

/// `${XDG_CACHE_HOME:-~/.cache}/cocola/onnxruntime/1.31.1/`.
pub fn install_dir() -> Result<PathBuf, String> {
    let cache = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").ok_or("HOME is not set")?).join(".cache"),
    };
    Ok(cache.join("cocola").join("onnxruntime").join(VERSION))
}

/// Returns the installed library, downloading it first if needed.
pub fn ensure_installed() -> Result<PathBuf, String> {
    let dir = install_dir()?;
    let lib = dir.join(LIB_NAME);
    if lib.is_file() && sha256_of(&lib)? == LIB_SHA256 {
        return Ok(lib);
    }
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Err(format!(
            "automatic set-up only knows Linux x86_64; install ONNX Runtime {VERSION} yourself \
             and set COCOLA_ORT_LIB to the library's path"
        ));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let download = dir.join("download");
    let _ = std::fs::remove_dir_all(&download);
    eprintln!("fetching ONNX Runtime {VERSION} from PyPI (onnxruntime wheel, ~24 MB)...");
    let pip = Command::new("python3")
        .args(["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"])
        .args(["--python-version", "311", "--implementation", "cp", "--abi", "cp311"])
        .args(["--platform", "manylinux_2_28_x86_64"])
        .arg(format!("onnxruntime=={VERSION}"))
        .arg("-d")
        .arg(&download)
        .status()
        .map_err(|e| format!("cannot run python3 -m pip (needed once to fetch ONNX Runtime): {e}"))?;
    if !pip.success() {
        return Err(format!("pip could not download onnxruntime=={VERSION} ({pip})"));
    }
    let wheel = std::fs::read_dir(&download)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or("pip reported success but left no wheel")?;
    // Unpack to a temporary name and rename: a killed set-up never leaves a
    // half-written library where the runtime would pick it up.
    let partial = dir.join(format!("{LIB_NAME}.partial"));
    let unzip = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; open(sys.argv[3], 'wb').write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))",
        ])
        .arg(&wheel)
        .arg(MEMBER)
        .arg(&partial)
        .status()
        .map_err(|e| format!("cannot run python3 to unpack the wheel: {e}"))?;
    if !unzip.success() {
        return Err(format!("could not extract {MEMBER} from {}", wheel.display()));
    }
    let got = sha256_of(&partial)?;
    if got != LIB_SHA256 {
        return Err(format!(
            "the downloaded library has SHA-256 {got}, expected {LIB_SHA256}; refusing to install it"
        ));
    }
    std::fs::rename(&partial, &lib).map_err(|e| format!("cannot install {}: {e}", lib.display()))?;
    let _ = std::fs::remove_dir_all(&download);
    Ok(lib)
}

fn sha256_of(path: &Path) -> Result<String, String> {
    // sha256sum is in coreutils on every Linux this targets; no crate needed.
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run sha256sum: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .next()
        .map(str::to_string)
        .ok_or_else(|| format!("sha256sum gave no output for {}", path.display()))
}
