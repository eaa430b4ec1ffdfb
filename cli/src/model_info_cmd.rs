//! `cocola model-info M.onnx`: what a model file is and what it was trained on.
//! Reads the file's metadata only, so it works without ONNX Runtime.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use cocola::model::read_metadata;
use cocola::model_source;

#[derive(Args)]
#[command(
    long_about = "Prints a model file's metadata: name, version, licence, training data, \
validation accuracy per mode and K, and the score calibration. The model is checked against this \
build's feature contract (a model made for other feature settings is refused, naming each \
difference). Does not need ONNX Runtime."
)]
pub struct ModelInfoArgs {
    /// The model file, or a checkpoint (.ckpt, imported on first use) (default: $COCOLA_MODEL, else
    /// the built-in default).
    pub model: Option<PathBuf>,
    /// Print the metadata as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ModelInfoArgs) -> anyhow::Result<ExitCode> {
    let source = model_source::resolve(args.model.as_deref(), &mut |message| eprintln!("{message}"))?;
    let bytes = source
        .bytes()
        .with_context(|| format!("cannot read model {}", source.describe()))?;
    let meta = read_metadata(&bytes, &source.describe())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&meta)?);
    } else {
        println!("source       {}", source.describe());
        print!("{meta}");
    }
    Ok(ExitCode::SUCCESS)
}
