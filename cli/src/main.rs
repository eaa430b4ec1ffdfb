//! `cocola` — does this stem fit this track? Offline COCOLA scoring from the
//! command line.
//!
//! Exit codes (scripts can rely on them):
//! - 0: success
//! - 1: an error: unreadable or corrupt audio, a bad or missing model, no ONNX Runtime, I/O
//! - 2: the command line itself is wrong (usage)
//! - 3: `eval`/`merge`/`rank` finished, but some pairs (tracks, candidates)
//!   could not be scored (see the CSV or the report)

mod bars;
mod eval_cmd;
mod eval_output;
mod features_cmd;
mod import_cmd;
mod merge_cmd;
mod model_info_cmd;
mod perturb_cmd;
mod quantize_cmd;
mod rank_cmd;
mod report;
mod score_cmd;
mod sensitivity_cmd;
mod visual_args;
mod window_args;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use cocola::model::{LoadOptions, Model};
use cocola::model_source::{self, ModelInfo, ModelSource};
use cocola::score::Scorer;

#[derive(Parser)]
#[command(
    name = "cocola",
    version,
    about = "COCOLA: how well does a stem fit a track, harmonically and rhythmically?",
    long_about = "COCOLA scores the coherence of two pieces of music: a CONDITION (the rest of \
the track) and a STEM (the part to judge, e.g. a generated accompaniment). It reports the raw \
COCOLA score of the paper (higher = more coherent), a harmonic and a percussive score, and, when \
the model is calibrated, a 0-100 fit with a verdict for each and for all three combined (the \
surest verdict on an off-beat stem or another song's).\n\nExit codes: 0 ok, 1 error (bad audio, \
bad model, missing ONNX Runtime), 2 usage error, 3 eval/merge/rank finished with some failed pairs \
(tracks, candidates).",
    after_help = "Examples:\n  cocola score mix.wav bass.wav\n  cocola score mix.wav bass.wav --hop 1 --plot timeline.png\n  \
cocola rank mix.wav --dir generated/ --report ranking.html\n  \
cocola eval pairs.csv --out scores.csv --report report.html\n  cocola eval --stems musdb/test --seed 0\n  \
cocola eval pairs.csv --shard 0/4 --part p0.json  (... 3/4)  then  cocola merge p*.json\n  \
cocola features clip.wav --out clip.npy\n  cocola model-info model.onnx\n  \
cocola import COCOLA_HP_v1.ckpt --out cocola-hp.onnx"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    // `about` rather than doc comments: a doc comment here would also reset
    // the subcommand's own `long_about`, hiding its --help text.
    #[command(about = "Score how well STEM fits CONDITION, per 5 s window and overall")]
    Score(score_cmd::ScoreArgs),
    #[command(about = "Rank candidate stems for one condition (best of N), with each one's worst window")]
    Rank(rank_cmd::RankArgs),
    #[command(about = "Evaluate a whole set: pairs (paper Table III) or tracks of stems (accuracy @K); --shard I/N")]
    Eval(eval_cmd::EvalArgs),
    #[command(about = "Merge the part files of a sharded evaluation into the unsharded run's results")]
    Merge(merge_cmd::MergeArgs),
    #[command(about = "Write the [2, 64, 501] harmonic/percussive features of a file to .npy")]
    Features(features_cmd::FeaturesArgs),
    #[command(about = "Print a model file's metadata (name, version, training data, accuracy, calibration)")]
    ModelInfo(model_info_cmd::ModelInfoArgs),
    #[command(about = "Convert one of the authors' PyTorch Lightning checkpoints (.ckpt) into a model file")]
    Import(import_cmd::ImportArgs),
    #[command(about = "Write a copy of a stem transposed or moved off the beat: what the score should reject")]
    Perturb(perturb_cmd::PerturbArgs),
    #[command(about = "Write an INT8 copy of a model (faster on CPUs; measure its scores before relying on them)")]
    Quantize(quantize_cmd::QuantizeArgs),
}

/// Options shared by every command that runs the model.
#[derive(Args, Clone, Debug)]
pub struct ModelArgs {
    /// The COCOLA model: a .onnx file, or one of the authors' Lightning checkpoints (.ckpt),
    /// imported on first use into the user cache. Default: $COCOLA_MODEL, else the model built
    /// into cocola.
    #[arg(long, short = 'm', value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// The ONNX Runtime 1.31.1 library. Default: $COCOLA_ORT_LIB, next to the executable,
    /// then the cache filled by `cargo xtask setup`.
    #[arg(long, value_name = "libonnxruntime.so")]
    pub ort_lib: Option<PathBuf>,
    /// Worker threads for features and the encoder (default: all cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,
}

impl ModelArgs {
    pub fn threads(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    }

    /// Sizes the global rayon pool (features run there) to `--threads`.
    pub fn init_thread_pool(&self) {
        // Fails only if a pool already exists, which is then the one we use.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads())
            .build_global();
    }

    /// Where the model comes from (a checkpoint is imported first, once).
    pub fn source(&self) -> anyhow::Result<ModelSource> {
        Ok(model_source::resolve(self.model.as_deref(), &mut |message| {
            eprintln!("{message}")
        })?)
    }

    /// Loads the model with the ONNX Runtime found as documented, one
    /// session using `--threads` intra-op threads.
    pub fn load(&self) -> anyhow::Result<(Model, ModelInfo)> {
        let source = self.source()?;
        let model = self.load_session(&source, self.threads())?;
        let info = source.info(model.metadata())?;
        Ok((model, info))
    }

    /// A scorer with one single-threaded session per `--threads`: it runs the
    /// rows of each window on all of them in parallel, which is faster than
    /// one session's intra-op threads on this small network.
    pub fn load_scorer(&self) -> anyhow::Result<(Scorer, ModelInfo)> {
        let source = self.source()?;
        let sessions = (0..self.threads())
            .map(|_| self.load_session(&source, 1))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let info = source.info(sessions[0].metadata())?;
        Ok((Scorer::with_sessions(sessions), info))
    }

    fn load_session(&self, source: &ModelSource, intra_op_threads: usize) -> anyhow::Result<Model> {
        let options = LoadOptions {
            ort_library: self.ort_lib.clone(),
            intra_op_threads,
            ..LoadOptions::default()
        };
        source
            .load(&options)
            .with_context(|| format!("cannot use model {}", source.describe()))
    }
}

/// Reads audio as 16 kHz mono, with the file name in any error.
pub fn load_audio(path: &Path) -> anyhow::Result<Vec<f32>> {
    Ok(cocola::audio::load_mono_16k(path)?)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Score(args) => score_cmd::run(args),
        Command::Rank(args) => rank_cmd::run(args),
        Command::Merge(args) => merge_cmd::run(args),
        Command::Eval(args) => (|| {
            args.model_args().init_thread_pool();
            let (model, info) = args.model_args().load()?;
            eval_cmd::run(args, model, info)
        })(),
        Command::Features(args) => features_cmd::run(args),
        Command::ModelInfo(args) => model_info_cmd::run(args),
        Command::Import(args) => import_cmd::run(args),
        Command::Perturb(args) => perturb_cmd::run(args),
        Command::Quantize(args) => quantize_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
