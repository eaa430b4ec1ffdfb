//! Embeds the shipped default model when the repository has one.
//!
//! `bundles/models/default.onnx` is the trained model the CLI and the plugin
//! use when the user names none. A checkout without it still builds: the CLI
//! then asks for `--model` and the plugin for a model file.

use std::path::PathBuf;

fn main() {
    println!("cargo:rustc-check-cfg=cfg(cocola_default_model)");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let models = manifest.join("..").join("bundles").join("models");
    let default = models.join("default.onnx");
    println!("cargo:rerun-if-changed={}", models.display());
    println!("cargo:rerun-if-changed={}", default.display());
    if default.is_file() {
        println!("cargo:rustc-cfg=cocola_default_model");
        println!("cargo:rustc-env=COCOLA_DEFAULT_MODEL_PATH={}", default.display());
    }
}
