//! `cocola-trainer export`: a checkpoint -> the self-describing `.onnx` file
//! that `cocola` and the plugin run, through `cocola`'s own ONNX writer (the
//! trainer writes no graph of its own: parameter names are shared, so the
//! weights are handed over by name).
//!
//! The metadata records the training data and run, and two things measured
//! here on validation batches drawn as in training (without noise or random
//! masks, each mode applied to every pair instead):
//! - the score calibration: per mode, the scores of coherent pairs (the
//!   diagonal of each batch's similarity matrix), of random pairs (the
//!   off-diagonal entries: sub-mixes of different windows) and of hard
//!   negatives (each positive transposed, shifted off the beat or stretched,
//!   scored against its own anchor), so that the verdict does not call a
//!   transposed or off-beat stem a fit when the model scores it as high;
//! - the validation accuracy, per mode, at K = the training batch size
//!   (paper Eq. 4 on each batch, averaged).
//!
//! Optionally (`--recalibrate-bn N`) BatchNorm's running statistics are
//! first recomputed for the checkpoint's weights from N training batches.
//! During training they are an exponential average (momentum 0.01) over
//! roughly the last 100 steps, which lags the weights, and for the first few
//! hundred steps still holds much of their initial (0, 1): measured on this
//! project's first CPU run, the eval-mode network of step 250 mapped every
//! input to the same embedding (spread across a batch 1e-6), and after
//! recomputing the statistics it did not (0.07).

use std::path::Path;

use cocola::calibration::{Calibration, ModeCalibration, ScoreDistribution};
use cocola::eval::protocol::batch_accuracy;
use cocola::model::arch::Architecture;
use cocola::model::{write_model_file, ModelMetadata};
use tch::{Device, Tensor};

use crate::data::dataset::Split;
use crate::data::hard_negatives::{self, HardNegativeKind};
use crate::data::pipeline::Source;
use crate::data::prepare::load_split;
use crate::data::sampler::Stream;
use crate::model::{Network, Params};
use crate::train::{batch_tensors, checkpoint};

/// Name, version and how much validation data to measure on.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    pub name: String,
    pub version: String,
    pub description: String,
    pub license: String,
    /// Validation batches (of the training K) for calibration and accuracy.
    pub batches: u64,
    /// What the model was trained on, in words; empty: the run's datasets.
    pub training_data: String,
    /// Training batches to recompute BatchNorm statistics from (0: keep the checkpoint's).
    pub recalibrate_bn_batches: u64,
}

/// Loads a checkpoint's network (weights and BatchNorm statistics).
pub fn load_network(path: &Path, device: Device) -> anyhow::Result<(Network, checkpoint::Loaded)> {
    let ck = checkpoint::load(path)?;
    let arch = Architecture::new(ck.info.config.input, ck.info.config.pooling);
    let mut params = Params::init(&arch, device);
    params.load(&ck.tensors)?;
    Ok((Network::new(arch, params), ck))
}

/// Embeds `rows` feature tensors (of the network's input kind) in
/// inference mode: (f(x), W f(x)).
pub fn embed(net: &Network, features: &[f32], rows: usize) -> (Tensor, Tensor) {
    let [c, h, w] = net.arch.input.feature_shape();
    tch::no_grad(|| {
        let x = Tensor::from_slice(features)
            .reshape([rows as i64, c as i64, h as i64, w as i64])
            .to_device(net.device());
        let e = net.embed(&x, false);
        let we = net.w_embedding(&e);
        (e, we)
    })
}

/// Calibration and accuracy per mode (those of the network's input kind) on
/// validation batches. Coherent scores are each anchor against its own
/// positive, random ones against the other positives; when the batches carry
/// hard negatives (the run's recipe had them), each is scored against its
/// pair's anchor in the modes that should reject its kind (transposition:
/// harmonic and both; off-beat shift and stretch: percussive and both).
pub fn measure(net: &Network, source: &Source, batches: u64) -> anyhow::Result<(Calibration, serde_json::Value)> {
    let mut extractor = source.extractor();
    let modes = net.arch.input.modes();
    let row = net.arch.input.feature_len();
    let k = source.config.k;
    let mut coherent = vec![Vec::new(); modes.len()];
    let mut random = vec![Vec::new(); modes.len()];
    let mut hard = vec![Vec::new(); modes.len()];
    let mut accuracy = vec![0.0; modes.len()];
    for b in 0..batches {
        let batch = source.batch(b, &mut extractor)?;
        // Which anchor each hard negative belongs to, and its kind.
        let negative_of: Vec<(usize, HardNegativeKind)> = batch
            .pairs
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.negative.map(|(kind, _)| (i, kind)))
            .collect();
        for (m, mode) in modes.iter().enumerate() {
            let mask = |x: &[f32]| {
                let mut x = x.to_vec();
                x.chunks_mut(row).for_each(|c| mode.apply_mask(c));
                x
            };
            let (a, _) = embed(net, &mask(&batch.anchors), k);
            let (p, _) = embed(net, &mask(&batch.positives), k);
            let sim: Vec<f32> = Vec::try_from(net.similarity(&a, &p).to_device(Device::Cpu).flatten(0, -1))?;
            for i in 0..k {
                for j in 0..k {
                    if i == j {
                        coherent[m].push(sim[i * k + j])
                    } else {
                        random[m].push(sim[i * k + j])
                    }
                }
            }
            accuracy[m] += batch_accuracy(&sim, k) / batches as f64;
            if !negative_of.is_empty() {
                let (n, _) = embed(net, &mask(&batch.negatives), negative_of.len());
                let sim: Vec<f32> = Vec::try_from(net.similarity(&a, &n).to_device(Device::Cpu).flatten(0, -1))?;
                for (col, &(anchor, kind)) in negative_of.iter().enumerate() {
                    if hard_negatives::kinds_for(*mode).contains(&kind) {
                        hard[m].push(sim[anchor * negative_of.len() + col]);
                    }
                }
            }
        }
    }
    let cal = |m: usize| -> anyhow::Result<ModeCalibration> {
        let d = |s: &[f32]| {
            ScoreDistribution::from_scores(s).ok_or_else(|| anyhow::anyhow!("non-finite scores on validation data"))
        };
        Ok(ModeCalibration {
            coherent: d(&coherent[m])?,
            random: d(&random[m])?,
            hard: if hard[m].is_empty() { None } else { Some(d(&hard[m])?) },
        })
    };
    let per_mode = (0..modes.len())
        .map(|m| Ok((modes[m], cal(m)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let calibration = Calibration::from_modes(per_mode).expect("every input kind has the plain mode");
    let mut acc = serde_json::Map::new();
    for (m, mode) in modes.iter().enumerate() {
        acc.insert(mode.name().into(), serde_json::json!({ k.to_string(): accuracy[m] }));
    }
    Ok((calibration, serde_json::Value::Object(acc)))
}

/// Replaces every BatchNorm's running statistics by the mean of its batch
/// statistics over `batches` batches of `source`, in training mode as in
/// training (same sampling, augmentation and anchor+positive batches).
pub fn recalibrate_batch_norm(net: &Network, source: &Source, batches: u64) -> anyhow::Result<()> {
    let mut extractor = source.extractor();
    for b in 0..batches {
        let batch = source.batch(b, &mut extractor)?;
        let (anchors, positives) = batch_tensors(&batch, net.device());
        net.accumulate_bn_statistics(&anchors, &positives, b);
    }
    Ok(())
}

/// Exports `checkpoint` to `out`.
pub fn export(checkpoint_path: &Path, out: &Path, opts: &ExportOptions) -> anyhow::Result<ModelMetadata> {
    let (net, ck) = load_network(checkpoint_path, Device::Cpu)?;
    let cfg = &ck.info.config;
    if opts.recalibrate_bn_batches > 0 {
        let train = load_split(&cfg.data, Split::Train, cfg.seed, &cfg.cache, cfg.workers, &|| {})
            .map_err(|e| anyhow::anyhow!("recalibrating BatchNorm needs the run's training split: {e}"))?;
        let source = Source {
            input: cfg.input,
            store: train.store,
            pools: train.pools,
            config: cfg.sampler(),
            seed: cfg.seed ^ 0xB47C_4A11,
            stream: Stream::Train,
            features: None,
        };
        recalibrate_batch_norm(&net, &source, opts.recalibrate_bn_batches)?;
    }
    let validation = load_split(&cfg.data, Split::Validation, cfg.seed, &cfg.cache, cfg.workers, &|| {})
        .map_err(|e| anyhow::anyhow!("the calibration needs the run's validation split: {e}"))?;
    let mut sampler = cfg.sampler();
    sampler.noise_std = 0.0;
    sampler.masks = crate::data::sampler::Masks::Off;
    // Every pair gets a hard negative for the calibration, whatever the
    // training recipe was (the paper's has none).
    sampler.hard_negatives = 1.0;
    // ... and in the equal mix the calibration contract describes.
    sampler.hard_negative_weights = Default::default();
    // ... with clean positives: a user's stems have seen no pitch shifter.
    sampler.matched_processing = false;
    // ... and exact twins wherever the validation split has them.
    sampler.twin_share = 1.0;
    let source = Source {
        input: cfg.input,
        store: validation.store,
        pools: validation.pools,
        config: sampler,
        seed: cfg.seed,
        stream: Stream::Validation,
        features: None,
    };
    let (calibration, accuracy) = measure(&net, &source, opts.batches.max(1))?;

    let mut meta = ModelMetadata::new(&opts.name, &opts.version);
    meta.input = cfg.input;
    meta.pooling = cfg.pooling;
    meta.description = opts.description.clone();
    meta.license = opts.license.clone();
    let datasets = cfg
        .data
        .iter()
        .map(|d| format!("{} (train split, weight {})", d.kind.label(), d.weight))
        .collect::<Vec<_>>()
        .join(", ");
    meta.training_data = if opts.training_data.is_empty() {
        datasets
    } else {
        format!("{}; {datasets}", opts.training_data)
    };
    meta.training = serde_json::json!({
        "trainer": format!("cocola-trainer {}", env!("CARGO_PKG_VERSION")),
        "steps": ck.info.step,
        "batch": cfg.batch,
        "lr": cfg.lr,
        "warmup_steps": cfg.warmup_steps,
        "lr_schedule": cfg.lr_schedule,
        "masks": cfg.masks,
        "mask_weights": cfg.mask_weights.to_string(),
        "hard_negatives": cfg.hard_negatives,
        "hard_negative_weights": cfg.hard_negative_weights.to_string(),
        "matched_processing": cfg.matched_processing,
        "twin_share": cfg.twin_share,
        "threshold_loss": cfg.threshold_loss,
        "hard_negative_emphasis": cfg.hard_negative_emphasis,
        "freeze_backbone": cfg.freeze_backbone,
        "pooling": cfg.pooling,
        "seed": cfg.seed,
        "max_overlap": cfg.max_overlap,
        "single_stem": cfg.single_stem,
        "target_stem": cfg.target_stem,
        "noise_std": cfg.noise_std,
        "hardware": ck.info.device,
        "train_seconds": ck.info.elapsed_s,
        "bn_recalibration_batches": opts.recalibrate_bn_batches,
        "train_loss": ck.info.train_loss,
        "validation_loss": ck.info.validation_loss,
    });
    match &cfg.init_from {
        // Only a run from scratch drew W: a fine-tuned run's W came from its
        // base model, and --w-init-std never applied.
        None => meta.training["w_init_std"] = serde_json::json!(cfg.w_init_std),
        // The lineage: steps above count this run only, the base model's own
        // record says how it was trained.
        Some(init) => {
            meta.training["initialized_from"] = serde_json::json!({
                "model": init.model,
                "training": init.training,
                "pitch_class_start": init.pitch_class_start,
                "onset_start": init.onset_start,
                "harmony_start": init.harmony_start,
                "hold_starts": init.hold_starts,
            })
        }
    }
    meta.validation_accuracy = accuracy;
    meta.calibration = Some(calibration);
    write_model_file(out, &net.params.to_named_tensors()?, &meta)?;
    Ok(meta)
}
