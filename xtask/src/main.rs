//! `cargo xtask` — project chores that plain cargo cannot do.
//!
//! - `cargo xtask setup [--trainer]`: fetch what the project needs at run time
//!   but cannot get from crates.io: the ONNX Runtime shared library, and with
//!   `--trainer` the CPU libtorch the trainer links against (~1.3 GB).
//! - `cargo xtask test`: `setup`, the formatting check, then every test of
//!   the workspace, then the plugin's no-allocation proof and its real-host
//!   tests (release bundle).
//! - `cargo xtask bundle cocola [--release]`: the VST3 and CLAP plugin
//!   bundles in `target/bundled/`, with ONNX Runtime inside.
//! - `cargo xtask corpus`: the offline training corpus (see `corpus.rs`).
//! - `cargo xtask python`: the Python wheel, installed into a fresh venv and
//!   tested (part of `test`; see `python.rs`).

mod bundle;
mod corpus;
mod libtorch;
mod onnxruntime;
mod plugin_hosts;
mod python;

use std::process::{Command, ExitCode};

const USAGE: &str = "\
cargo xtask <command>

commands:
  setup [--trainer]
          fetch the ONNX Runtime 1.31.1 library (from the PyPI wheel) into the
          user cache, where `cocola` finds it; with --trainer also the CPU
          libtorch 2.11.0 the trainer needs (into .cache/libtorch); does
          nothing for what is already there
  test    setup --trainer, check formatting (cargo fmt), lints (clippy) and
          the library's API docs (cargo doc -p cocola), then run every test
          of the workspace, the plugin in real hosts and the Python package
          (the CI command)
  bundle cocola [--release]
          build COCOLA.vst3 and COCOLA.clap into target/bundled/, with the
          ONNX Runtime library next to the plugin binary
  corpus [--out DIR] [--large] ...
          build the offline training corpus: procedural multi-stem pieces,
          music21 scores, MMA grooves and more, rendered with GM SoundFonts
          and sampled instruments into DIR/audio/{train,validation,test,
          test-ood} (default .cache/corpus); installs what it needs; resumable
          (corpus --help, docs/CORPUS.md)
  plugin-hosts
          bundle (release), then run the plugin in real hosts: DawDreamer
          (VST3 with sidechain, from PyPI into .venv-plugin) and the CLAP ABI
          (part of `test`)
  python  build the Python wheel (abi3, manylinux_2_28) into target/wheels/,
          install it into a fresh venv and run its tests (part of `test`)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => match &args[1..] {
            [] => setup(false),
            [flag] if flag == "--trainer" => setup(true),
            other => Err(format!("setup takes only --trainer, not {other:?}\n\n{USAGE}")),
        },
        Some("test") => setup(true).and_then(|()| run_tests(&args[1..])),
        Some("bundle") => bundle::run(&args[1..]),
        Some("plugin-hosts") => plugin_hosts::run(&args[1..]),
        Some("python") => python::run(&args[1..]),
        Some("corpus") => corpus::run(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!(
            "unknown command {}\n\n{USAGE}",
            other.map_or("(none)".to_string(), |c| format!("'{c}'"))
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command to completion; a failure says what was being done.
fn run_ok(cmd: &mut Command, what: &str) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("could not run {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// Installs ONNX Runtime and, for the trainer, libtorch.
fn setup(trainer: bool) -> Result<(), String> {
    let lib = onnxruntime::ensure_installed()?;
    println!("ONNX Runtime ready: {}", lib.display());
    if trainer {
        let torch = libtorch::ensure_installed()?;
        println!(
            "libtorch {} ready (for the trainer): {}",
            libtorch::VERSION,
            torch.display()
        );
    }
    Ok(())
}

/// Runs the whole workspace's tests; extra arguments go to `cargo test`.
fn run_tests(extra: &[String]) -> Result<(), String> {
    check_formatting()?;
    check_lints()?;
    check_library_docs()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["test", "--workspace"])
        .args(extra)
        // OpenMP/BLAS thread pools spin on a busy 2-core machine.
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .status()
        .map_err(|e| format!("could not run cargo test: {e}"))?;
    if !status.success() {
        return Err(format!("cargo test failed ({status})"));
    }
    plugin_no_alloc_test(extra)?;
    plugin_hosts::run(extra)?;
    python::test(python::Cli::BuiltByTests)
}

/// `cargo fmt --check` against rustfmt.toml (seconds; fails before the long
/// build).
fn check_formatting() -> Result<(), String> {
    run_cargo_check(
        "fmt",
        &["--all", "--", "--check"],
        "cargo fmt --check (run `cargo fmt --all`)",
    )
}

/// `cargo clippy` over every target with warnings as errors (a few minutes
/// of checking, no code generation).
fn check_lints() -> Result<(), String> {
    run_cargo_check(
        "clippy",
        &["--workspace", "--all-targets", "--", "-D", "warnings"],
        "cargo clippy (warnings are errors)",
    )
}

/// The library's API documentation (`cargo doc -p cocola`), the page
/// researchers program against, with warnings as errors: a link that
/// points nowhere fails here rather than in a reader's browser.
fn check_library_docs() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_ok(
        Command::new(cargo)
            .args(["doc", "-p", "cocola", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"),
        "cargo doc -p cocola (warnings are errors)",
    )
}

/// Runs the cargo subcommand `tool` (a rustup component); skipped with a
/// warning where it is not installed, so that a minimal toolchain still tests.
fn run_cargo_check(tool: &str, args: &[&str], what: &str) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let installed = Command::new(&cargo)
        .args([tool, "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        eprintln!("xtask: warning: {tool} is not installed (rustup component add {tool}); {what} skipped");
        return Ok(());
    }
    run_ok(Command::new(cargo).arg(tool).args(args), what)
}

/// The plugin's proof that process() never allocates needs nice-plug's
/// allocation checker, a feature the normal build must not carry.
fn plugin_no_alloc_test(extra: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "test",
            "-p",
            "cocola-plugin",
            "--features",
            "assert_process_allocs",
            "--test",
            "no_alloc",
        ])
        .args(extra)
        .status()
        .map_err(|e| format!("could not run cargo test: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("plugin no-allocation test failed ({status})"))
    }
}
