//! `cocola model-info M.onnx`: what a model file is and what it was trained on.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::ModelArgs;

#[derive(Args)]
pub struct ModelInfoArgs {
    /// The model file (default: $COCOLA_MODEL, else the built-in default).
    pub model: Option<PathBuf>,
    /// The ONNX Runtime library (see `cocola score --help`).
    #[arg(long, value_name = "libonnxruntime.so")]
    pub ort_lib: Option<PathBuf>,
    /// Print the metadata as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ModelInfoArgs) -> anyhow::Result<ExitCode> {
    let model_args = ModelArgs { model: args.model, ort_lib: args.ort_lib, threads: Some(1) };
    let (model, source) = model_args.load()?;
    let meta = model.metadata();
    if args.json {
        println!("{}", serde_json::to_string_pretty(meta)?);
    } else {
        println!("source       {}", source.describe());
        print!("{meta}");
    }
    Ok(ExitCode::SUCCESS)
}
