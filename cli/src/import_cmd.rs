//! `cocola import MODEL.ckpt --out M.onnx`: one of the authors' PyTorch
//! Lightning checkpoints as a COCOLA model file, optionally calibrated on a
//! folder of stems. No Python or libtorch: see `cocola::checkpoint`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use cocola::calibration::{Calibration, ModeCalibration};
use cocola::checkpoint::read_checkpoint;
use cocola::eval::cache::EmbeddingCache;
use cocola::eval::submix::{evaluate_submixes, ModeAccuracy, SubmixOptions};
use cocola::mode::Mode;
use cocola::model::{write_model, write_model_file, LoadOptions, Model, ModelMetadata};

use crate::bars::Bars;

#[derive(Args)]
#[command(
    long_about = "Converts a COCOLA checkpoint written by the authors' code (PyTorch Lightning, \
e.g. COCOLA_HP_v1.ckpt) into a model file that cocola, the plugin and any ONNX Runtime can run. \
The checkpoint is read without Python and nothing in it is executed: its state_dict must hold \
exactly the reference network's tensors (a list of what is missing, unexpected or mis-shaped is \
printed otherwise) and its hyper-parameters an input type cocola runs (HPS or mel) and a \
512-dimensional embedding.\n\nThe model records where it came from (file name, SHA-256, epoch, \
step, Lightning version, hyper-parameters). It has no calibration, so cocola shows raw scores \
only, unless --calibrate-on DIR measures one: the scores of coherent and of random sub-mix pairs \
drawn from DIR/<track>/<stem>.<ext> as `cocola eval --stems` draws them (K = --k per batch).\n\n\
Any --model option and COCOLA_MODEL also accept a .ckpt directly; it is then imported once into \
the user cache.",
    after_help = "Examples:\n  cocola import COCOLA_HP_v1.ckpt --out cocola-hp.onnx\n  \
cocola import COCOLA_HP_v1.ckpt --out cocola-hp.onnx --calibrate-on moisesdb/validation"
)]
pub struct ImportArgs {
    /// The checkpoint (.ckpt) to convert.
    pub checkpoint: PathBuf,
    /// The model file to write.
    #[arg(long, short = 'o', value_name = "M.onnx")]
    pub out: PathBuf,
    /// Model name recorded in the file [default: the checkpoint's file name].
    #[arg(long)]
    pub name: Option<String>,
    /// Model version recorded in the file [default: epoch<E>-step<S> of the checkpoint].
    #[arg(long)]
    pub version: Option<String>,
    /// Measure a calibration on the tracks of stems in DIR (DIR/<track>/<stem>.<ext>).
    #[arg(long, value_name = "DIR")]
    pub calibrate_on: Option<PathBuf>,
    /// Calibration: anchors drawn (batches = anchors / K).
    #[arg(long, default_value_t = 1024, value_name = "N", value_parser = clap::value_parser!(u64).range(2..))]
    pub anchors: u64,
    /// Calibration: sub-mixes per batch (the training batch of the reference: 32).
    #[arg(long = "k", default_value_t = 32, value_name = "K", value_parser = clap::value_parser!(u64).range(2..=4096))]
    pub k: u64,
    /// Calibration: seed of every random draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The ONNX Runtime library (calibration only).
    #[arg(long, value_name = "libonnxruntime.so")]
    pub ort_lib: Option<PathBuf>,
}

pub fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let checkpoint =
        read_checkpoint(&args.checkpoint).with_context(|| format!("cannot import {}", args.checkpoint.display()))?;
    let mut meta = checkpoint.metadata(args.name.as_deref(), args.version.as_deref());
    let record = &checkpoint.origin.record;
    eprintln!(
        "read {}: {} input ({}), epoch {}, step {}, {} layout{}",
        args.checkpoint.display(),
        checkpoint.input,
        checkpoint.input.describe(),
        record.epoch.map_or("-".to_string(), |e| e.to_string()),
        record.global_step.map_or("-".to_string(), |s| s.to_string()),
        record.layout,
        record
            .lightning_version
            .as_ref()
            .map_or(String::new(), |v| format!(", Lightning {v}"))
    );
    if let Some(dir) = &args.calibrate_on {
        let bytes = write_model(&checkpoint.weights, &meta)?;
        calibrate(&args, dir, &bytes, &mut meta)?;
    }
    write_model_file(&args.out, &checkpoint.weights, &meta)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "wrote {} ({} {}, {})",
        args.out.display(),
        meta.name,
        meta.version,
        if meta.calibration.is_some() {
            "calibrated"
        } else {
            "uncalibrated: raw scores only"
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// Measures the calibration (and accuracy@K) on `dir` with the imported
/// model and records it in `meta`.
fn calibrate(args: &ImportArgs, dir: &std::path::Path, bytes: &[u8], meta: &mut ModelMetadata) -> anyhow::Result<()> {
    let options = LoadOptions {
        ort_library: args.ort_lib.clone(),
        intra_op_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        ..LoadOptions::default()
    };
    let mut model = Model::from_bytes(bytes, &options).context("cannot run the imported model")?;
    let k = usize::try_from(args.k)?;
    let submix = SubmixOptions {
        ks: vec![k],
        modes: meta.input.modes().to_vec(),
        anchors: usize::try_from(args.anchors).context("--anchors is too large")?,
        batches: None,
        seed: args.seed,
        silence_dbfs: -60.0,
        calibration: None,
    };
    let report = evaluate_submixes(&mut model, &EmbeddingCache::disabled(), dir, &submix, &Bars::new())
        .with_context(|| format!("cannot calibrate on {}", dir.display()))?;
    anyhow::ensure!(
        !report.results.is_empty(),
        "cannot calibrate on {}: {}",
        dir.display(),
        report
            .skipped
            .first()
            .map_or("no batch could be drawn".to_string(), |s| s.reason.clone())
    );
    // Uncalibrated so far, so every result is one mode's.
    let per_mode: Vec<(Mode, &ModeAccuracy)> = report
        .results
        .iter()
        .filter_map(|r| Some((r.mode.mode()?, r)))
        .collect();
    let modes = per_mode.iter().map(|&(mode, r)| {
        let both = r.coherent.zip(r.random);
        both.map(|(coherent, random)| (mode, ModeCalibration::random_only(coherent, random)))
            .ok_or_else(|| anyhow::anyhow!("the {mode} scores on {} are not finite", dir.display()))
    });
    let calibration = Calibration::from_modes(modes.collect::<anyhow::Result<Vec<_>>>()?)
        .context("the calibration lacks the plain (both) mode")?;
    meta.validation_accuracy = serde_json::Value::Object(
        per_mode
            .iter()
            .map(|(mode, r)| {
                (
                    mode.name().to_string(),
                    serde_json::json!({ k.to_string(): r.accuracy.accuracy }),
                )
            })
            .collect(),
    );
    meta.training["calibration"] = serde_json::json!({
        "folder": dir.display().to_string(),
        "tracks": report.tracks_used,
        "k": k,
        "anchors": report.results[0].accuracy.anchors,
        "seed": args.seed,
    });
    for &(mode, r) in &per_mode {
        eprintln!(
            "calibration {:<10} coherent {:.3} ± {:.3}, random {:.3} ± {:.3}, accuracy@{k} {:.1} %",
            mode.name(),
            calibration.mode(mode).map_or(f32::NAN, |c| c.coherent.mean),
            calibration.mode(mode).map_or(f32::NAN, |c| c.coherent.std),
            calibration.mode(mode).map_or(f32::NAN, |c| c.random.mean),
            calibration.mode(mode).map_or(f32::NAN, |c| c.random.std),
            100.0 * r.accuracy.accuracy
        );
    }
    meta.calibration = Some(calibration);
    Ok(())
}
