//! `cargo xtask bundle cocola [--release]`: the COCOLA.vst3 and COCOLA.clap
//! bundles (nice-plug-xtask builds the `cocola-plugin` crate and lays them
//! out in `target/bundled/`; `bundler.toml` names them), then ONNX Runtime
//! is put next to the plugin binary in each, where the plugin looks for it
//! relative to its own location (`cocola::model::runtime`, directory hint).

use std::path::{Path, PathBuf};

use crate::onnxruntime;

/// The product name users type; the crate that implements it.
const PRODUCT: &str = "cocola";
const PACKAGE: &str = "cocola-plugin";
const BUNDLE_NAME: &str = "COCOLA";

pub fn run(args: &[String]) -> Result<(), String> {
    let (name, rest) = args
        .split_first()
        .ok_or("usage: cargo xtask bundle cocola [--release]")?;
    if name != PRODUCT && name != PACKAGE {
        return Err(format!("unknown bundle '{name}': the only plugin here is '{PRODUCT}'"));
    }
    let ort = onnxruntime::ensure_installed()?;
    let forwarded = std::iter::once("bundle".to_string())
        .chain(std::iter::once(PACKAGE.to_string()))
        .chain(rest.iter().cloned());
    nice_plug_xtask::main_with_args("cargo xtask", forwarded).map_err(|e| format!("{e:#}"))?;
    let bundled = workspace_root().join("target").join("bundled");
    strip_debug_info(&bundled);
    for dir in plugin_binary_dirs(&bundled) {
        let dest = dir.join(ort.file_name().expect("library path has a file name"));
        std::fs::copy(&ort, &dest)
            .map_err(|e| format!("could not copy {} to {}: {e}", ort.display(), dest.display()))?;
        println!("ONNX Runtime copied to {}", dest.display());
    }
    println!(
        "Install: copy {b}.vst3 to ~/.vst3/, and {b}.clap together with {lib} to ~/.clap/.",
        b = BUNDLE_NAME,
        lib = ort.file_name().unwrap().to_string_lossy()
    );
    Ok(())
}

/// The workspace's release profile keeps debug info (for profiling); a
/// shipped plugin does not need it (it is ~75 % of the file). Best effort:
/// without binutils' `strip` the bundles simply stay larger.
fn strip_debug_info(bundled: &Path) {
    let binaries = [
        bundled.join(format!("{BUNDLE_NAME}.clap")),
        bundled
            .join(format!("{BUNDLE_NAME}.vst3"))
            .join("Contents")
            .join(vst3_arch_dir())
            .join(format!("{BUNDLE_NAME}.so")),
    ];
    for binary in binaries.iter().filter(|b| b.is_file()) {
        match std::process::Command::new("strip")
            .arg("--strip-debug")
            .arg(binary)
            .status()
        {
            Ok(s) if s.success() => {}
            Ok(s) => eprintln!(
                "note: strip {} failed ({s}); bundle keeps its debug info",
                binary.display()
            ),
            Err(e) => eprintln!("note: strip not available ({e}); bundle keeps its debug info"),
        }
    }
}

/// Directories holding a plugin binary: inside the VST3 bundle, and (CLAP on
/// Linux being a single file) the directory beside `COCOLA.clap`.
fn plugin_binary_dirs(bundled: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let vst3 = bundled
        .join(format!("{BUNDLE_NAME}.vst3"))
        .join("Contents")
        .join(vst3_arch_dir());
    if vst3.is_dir() {
        dirs.push(vst3);
    }
    if bundled.join(format!("{BUNDLE_NAME}.clap")).exists() {
        dirs.push(bundled.to_path_buf());
    }
    dirs
}

fn vst3_arch_dir() -> String {
    format!("{}-linux", std::env::consts::ARCH)
}

pub fn workspace_root() -> PathBuf {
    // xtask lives one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}
