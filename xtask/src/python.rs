//! The Python package (`python/`), for `cargo xtask test` and on its own
//! (`cargo xtask python`): builds the wheel, installs it into a fresh venv
//! with its dependencies, and runs its pytest suite against the CLI.
//!
//! The wheel is the portable one: abi3 (CPython >= 3.9) and manylinux_2_28,
//! linked by zig (PyPI's `ziglang`) against glibc 2.28 whatever the build
//! machine's glibc, so it installs on clusters running RHEL 8 and later. It
//! lands in `target/wheels/`.
//!
//! Layout, inside the repository's git-ignored `.cache/`:
//!
//! ```text
//! .cache/python/build/   venv with maturin and zig (made once, reused)
//! .cache/python/test/    venv the wheel is tested in (made afresh every run)
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::run_ok;

/// The build tools, pinned: the wheel must not change with their releases.
const BUILD_TOOLS: [&str; 2] = ["maturin==1.16.0", "ziglang==0.15.2"];
/// What the tests need besides the wheel (which brings numpy and onnxruntime).
const TEST_TOOLS: [&str; 1] = ["pytest==9.2.0"];
/// The glibc the wheel is linked against (manylinux_2_28: RHEL 8, Debian 10, Ubuntu 18.10 and later).
const COMPATIBILITY: &str = "manylinux_2_28";

/// Which CLI the tests compare the package with.
pub enum Cli {
    /// `cargo test --workspace` has just built `target/debug/cocola`.
    BuiltByTests,
    /// Build it first (`cargo xtask python` on its own).
    Build,
}

/// `cargo xtask python`.
pub fn run(extra: &[String]) -> Result<(), String> {
    if !extra.is_empty() {
        return Err(format!("python takes no arguments, not {extra:?}"));
    }
    test(Cli::Build)
}

/// Builds the wheel, installs it into a fresh venv and runs its tests.
pub fn test(cli: Cli) -> Result<(), String> {
    let root = crate::bundle::workspace_root();
    let started = Instant::now();
    let wheel = build_wheel(&root)?;
    let built = started.elapsed().as_secs_f64();
    let python = fresh_test_venv(&root, &wheel)?;
    let installed = started.elapsed().as_secs_f64();
    if let Cli::Build = cli {
        build_cli()?;
    }
    let cli = root.join("target").join("debug").join("cocola");
    run_ok(
        Command::new(&python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(root.join("python").join("tests"))
            .current_dir(&root)
            .env("COCOLA_CLI", cli),
        "the Python package's tests (pytest)",
    )?;
    let size = std::fs::metadata(&wheel).map_or(0, |m| m.len());
    println!(
        "python: {} ({:.1} MB) built in {built:.0} s, installed in {:.0} s, tested in {:.0} s",
        wheel.file_name().unwrap_or_default().to_string_lossy(),
        size as f64 / 1e6,
        installed - built,
        started.elapsed().as_secs_f64() - installed
    );
    Ok(())
}

/// Builds the wheel into `target/wheels/` and returns its path.
fn build_wheel(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join(".cache").join("python").join("build");
    let bin = venv.join("bin");
    if !bin.join("python").is_file() {
        make_venv(&venv)?;
    }
    // A second of pip when the pinned versions are already there.
    run_ok(
        Command::new(bin.join("python"))
            .args(["-m", "pip", "install", "--quiet"])
            .args(BUILD_TOOLS),
        "pip install maturin ziglang",
    )?;
    let out = root.join("target").join("wheels");
    remove_old_wheels(&out)?;
    // maturin finds zig as `python3 -m ziglang`: the venv's python first.
    let path = std::env::join_paths(
        std::iter::once(bin.clone()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .map_err(|e| e.to_string())?;
    run_ok(
        Command::new(bin.join("maturin"))
            .args([
                "build",
                "--release",
                "--zig",
                "--compatibility",
                COMPATIBILITY,
                "--manifest-path",
            ])
            .arg(root.join("python").join("Cargo.toml"))
            .arg("--out")
            .arg(&out)
            .env("PATH", path),
        "maturin build (the Python wheel)",
    )?;
    std::fs::read_dir(&out)
        .map_err(|e| format!("cannot list {}: {e}", out.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| is_cocola_wheel(p))
        .ok_or_else(|| format!("maturin reported success but left no wheel in {}", out.display()))
}

fn is_cocola_wheel(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    name.starts_with("cocola-") && name.ends_with(".whl")
}

/// Earlier wheels would be ambiguous (another version, another tag).
fn remove_old_wheels(dir: &Path) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for path in entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_cocola_wheel(p))
    {
        std::fs::remove_file(&path).map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
    }
    Ok(())
}

/// A new venv holding the wheel, its dependencies and pytest; returns its python.
fn fresh_test_venv(root: &Path, wheel: &Path) -> Result<PathBuf, String> {
    let venv = root.join(".cache").join("python").join("test");
    if venv.exists() {
        std::fs::remove_dir_all(&venv).map_err(|e| format!("cannot remove {}: {e}", venv.display()))?;
    }
    make_venv(&venv)?;
    let python = venv.join("bin").join("python");
    run_ok(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet"])
            .arg(wheel)
            .args(TEST_TOOLS),
        "pip install the wheel (with numpy and onnxruntime) and pytest",
    )?;
    Ok(python)
}

fn make_venv(venv: &Path) -> Result<(), String> {
    run_ok(
        Command::new("python3").args(["-m", "venv"]).arg(venv),
        &format!("python3 -m venv {}", venv.display()),
    )
}

/// Builds the CLI the tests compare the package with (`target/debug/cocola`).
fn build_cli() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_ok(
        Command::new(cargo).args(["build", "-p", "cocola-cli", "--bin", "cocola"]),
        "cargo build -p cocola-cli (the CLI)",
    )
}
