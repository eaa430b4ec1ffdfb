//! The training loop (paper Sec. III-A, IV-C): batches from the feature
//! pipeline, the contrastive loss of Eq. 3, Adam, validation, checkpoints,
//! metrics, resume.
//!
//! Reproducibility: batch s is drawn from its own seeded stream, and
//! libtorch's generator (dropout, drop-connect) is re-seeded from (seed, s)
//! before step s, so a run resumed from a checkpoint at step s takes exactly
//! the steps an uninterrupted run would have, up to the nondeterminism of the
//! device's kernels.

pub mod checkpoint;
pub mod config;
pub mod metrics;
pub mod step;
pub mod stop;
pub mod validation;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use cocola::model::arch::{Architecture, Segment};
use indicatif::{ProgressBar, ProgressStyle};
use tch::{Device, Tensor};

use crate::data::dataset::Split;
use crate::data::feature_cache::FeatureCache;
use crate::data::pipeline::{Pipeline, Source};
use crate::data::prepare::{load_split, SplitData};
use crate::data::sampler::Stream;
use crate::model::adam::Adam;
use crate::model::{Network, Params};
use checkpoint::CheckpointInfo;
use config::TrainConfig;
use metrics::{Metrics, Record};
pub use step::{batch_tensors, hard_negative_owners, train_step, HardNegativeTerms, StepResult};
use validation::ValidationSet;

/// What a finished run reports.
#[derive(Debug)]
pub struct Outcome {
    /// Step the run started from (0, or the resumed checkpoint's).
    pub start_step: u64,
    pub steps: u64,
    /// Training loss of every step this process ran.
    pub losses: Vec<f64>,
    pub last_checkpoint: Option<PathBuf>,
    pub best_validation_loss: Option<f64>,
    /// The run stopped on request ([`stop`]) at `last_step`, before `steps`.
    pub stopped_early: bool,
    /// The last step taken.
    pub last_step: u64,
}

/// The device training runs on.
pub fn device(cfg: &TrainConfig) -> Device {
    if cfg.cpu {
        Device::Cpu
    } else {
        Device::cuda_if_available()
    }
}

pub fn device_name(d: Device) -> String {
    match d {
        Device::Cpu => "cpu".into(),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}"),
    }
}

/// The seed of libtorch's generator for step `step`.
fn step_seed(seed: u64, step: u64) -> i64 {
    (cocola::seeded::mix64(seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15)) >> 1) as i64
}

/// Trains per `cfg`; with `resume`, continues from the newest checkpoint in
/// `cfg.out/checkpoints` (starting fresh if there is none).
pub fn run(cfg: &TrainConfig, resume: bool, show_progress: bool) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    check_config(cfg)?;
    if cfg.torch_threads > 0 {
        tch::set_num_threads(cfg.torch_threads as i32);
    }
    let device = device(cfg);
    let ckpt_dir = cfg.out.join("checkpoints");
    std::fs::create_dir_all(&ckpt_dir)?;
    let (train, validation) = load_data(cfg, show_progress)?;

    tch::manual_seed(cfg.seed as i64);
    let mut state = TrainingState::start(cfg, resume, &ckpt_dir, device, started)?;
    let cfg = &state.cfg.clone();
    std::fs::write(cfg.out.join("config.json"), serde_json::to_vec_pretty(cfg)?)?;
    // A resume that found no checkpoint starts over, base validation included.
    let mut metrics = Metrics::open(&cfg.out, (resume && state.start > 0).then_some(state.start))?;
    let feature_cache = open_feature_cache(cfg)?;
    let checks = ValidationSet::prepare(cfg, validation.as_ref(), &feature_cache);

    let source = Source {
        input: cfg.input,
        store: train.store.clone(),
        pools: train.pools.clone(),
        config: cfg.sampler(),
        seed: cfg.seed,
        stream: Stream::Train,
        features: feature_cache.clone(),
    };
    let mut pipeline = Pipeline::start(source, state.start, cfg.workers, cfg.prefetch);
    let progress = bar(show_progress, cfg.steps, "");
    progress.set_position(state.start);
    // A fine-tune's base model gets validated first: its numbers are the
    // run's own baseline, on the same batches and anchors.
    if state.start == 0 && cfg.init_from.is_some() && !checks.is_empty() {
        checks.run_base(cfg, &state.net, &mut metrics, &progress)?;
    }
    let mut losses = Vec::new();
    let mut last_checkpoint = checkpoint::latest(&ckpt_dir).map(|c| c.path);
    if cfg.steps == 0 && state.start == 0 {
        // `--steps 0`: the start itself (the base model, widened and started)
        // as a checkpoint that `export` can calibrate and ship, untouched. A
        // resumed run already past step 0 keeps its own checkpoints.
        last_checkpoint = Some(state.save_periodic(cfg, &ckpt_dir, 0, &[], device)?);
    }
    let mut interval_losses = Vec::new();
    let (mut last_step, mut stopped_early) = (state.start, false);
    stop::arm();
    for step in state.start..cfg.steps {
        let t0 = Instant::now();
        let lr = cfg.lr_at(step, state.clock.seconds());
        let batch = pipeline.next_batch()?;
        let (anchors, candidates) = batch_tensors(&batch, device);
        tch::manual_seed(step_seed(cfg.seed, step));
        let owners = hard_negative_owners(&batch);
        let hard = HardNegativeTerms {
            owners: &owners,
            emphasis: cfg.hard_negative_emphasis,
            threshold: cfg.threshold_loss,
        };
        let step_result = train_step(&state.net, &mut state.adam, &anchors, &candidates, hard, lr);
        let StepResult { loss, accuracy, .. } = step_result;
        if let Some(bad) = [Some(loss), step_result.threshold_loss]
            .into_iter()
            .flatten()
            .find(|l| !l.is_finite())
        {
            let loss = bad;
            let kept = last_checkpoint
                .as_ref()
                .map_or("none was written yet".to_string(), |p| p.display().to_string());
            anyhow::bail!(
                "the training loss became {loss} at step {step}; stopped without updating the weights. \
                 The last good checkpoint is kept: {kept}. Lower --lr or check the data, then --resume."
            );
        }
        losses.push(loss);
        interval_losses.push(loss);
        let windows_per_s = (2 * batch.k + batch.negative_count()) as f64 / t0.elapsed().as_secs_f64();
        metrics.write(&Record::Train {
            step: step + 1,
            loss,
            threshold_loss: step_result.threshold_loss,
            accuracy,
            windows_per_s,
            elapsed_s: state.clock.seconds(),
        })?;
        progress.set_message(format!(
            "loss {loss:.4}  acc {accuracy:.3}  {windows_per_s:.1} windows/s"
        ));
        progress.inc(1);
        let done = step + 1;
        let last = cfg.is_last_step(done, state.clock.seconds());
        if checks.due(cfg, done, last) {
            let improved = checks.run(cfg, &mut state, done, last, &mut metrics, &progress)?;
            if improved {
                let info = state.info(cfg, done, &interval_losses, device);
                checkpoint::save(&ckpt_dir, "best", &state.net.params, &state.adam, &info)?;
            }
        }
        last_step = done;
        stopped_early = stop::requested() && !last;
        if done % cfg.checkpoint_every.max(1) == 0 || last || stopped_early {
            last_checkpoint = Some(state.save_periodic(cfg, &ckpt_dir, done, &interval_losses, device)?);
            interval_losses.clear();
        }
        if stopped_early || last {
            break;
        }
    }
    if stopped_early {
        progress.abandon();
    } else {
        progress.finish();
    }
    if let Some(c) = &feature_cache {
        let s = c.stats();
        eprintln!(
            "feature cache {}: {} hits, {} misses, {} entries written",
            c.dir().display(),
            s.hits,
            s.misses,
            s.written
        );
    }
    Ok(Outcome {
        start_step: state.start,
        steps: cfg.steps,
        losses,
        last_checkpoint,
        best_validation_loss: state.best,
        stopped_early,
        last_step,
    })
}

/// Refuses configurations that cannot train, before any data is read.
fn check_config(cfg: &TrainConfig) -> anyhow::Result<()> {
    anyhow::ensure!(
        cfg.batch >= 2,
        "the batch size K must be at least 2 (one positive, one negative)"
    );
    anyhow::ensure!(
        cfg.steps > 0 || cfg.init_from.is_some(),
        "--steps 0 writes the starting weights as a checkpoint, and a fresh network has none worth keeping: \
         name the model to start from (--init-from)"
    );
    anyhow::ensure!(
        !cfg.freeze_backbone || cfg.init_from.is_some(),
        "freezing the backbone needs a trained one to keep: name the model to start from (--init-from)"
    );
    anyhow::ensure!(
        cfg.input.splits_harmonic_percussive() || cfg.masks == crate::data::sampler::Masks::Off,
        "channel masks need the two channels of an HPS model; a {} model has one (masks off)",
        cfg.input
    );
    Ok(())
}

/// The training split and, when there is one, the validation split, with
/// their stems cached; each listing warning is printed once.
fn load_data(cfg: &TrainConfig, show_progress: bool) -> anyhow::Result<(SplitData, Option<SplitData>)> {
    let cache_bar = bar(show_progress, 0, "caching stems");
    let tick = || cache_bar.inc(1);
    let train = load_split(&cfg.data, Split::Train, cfg.seed, &cfg.cache, cfg.workers, &tick)?;
    let validation = match load_split(&cfg.data, Split::Validation, cfg.seed, &cfg.cache, cfg.workers, &tick) {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!("warning: no validation: {e}");
            None
        }
    };
    cache_bar.finish_and_clear();
    let twinned = train.store.tracks.iter().filter(|t| t.twin_semitones != 0).count();
    if twinned > 0 && cfg.hard_negatives > 0.0 {
        eprintln!(
            "{twinned} of {} training tracks have transposed twins: their transposed hard negatives are exact",
            train.store.tracks.len()
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for w in train.warnings.iter().chain(validation.iter().flat_map(|v| &v.warnings)) {
        if seen.insert(w.clone()) {
            eprintln!("warning: {w}");
        }
    }
    note_unused_cache_entries(cfg);
    Ok((train, validation))
}

/// Says how much of the stem cache no track of this run's data sets uses
/// (a re-rendered corpus leaves its old entries behind: GBs), and how to
/// remove it. Only a note: a cache may be shared with other data sets.
fn note_unused_cache_entries(cfg: &TrainConfig) {
    let Ok(keys) = crate::data::prepare::cache_keys(&cfg.data, cfg.seed) else {
        return;
    };
    let Ok(unused) = crate::data::stem_cache::unused_entries(&cfg.cache, &keys) else {
        return;
    };
    let bytes: u64 = unused.iter().map(|(_, len)| len).sum();
    if !unused.is_empty() {
        eprintln!(
            "note: unused stem cache entries: {} ({:.1} GB), of no track of these data sets; \
             `cocola-trainer prune-stem-cache {} --data ... --delete` removes them",
            unused.len(),
            bytes as f64 / 1e9,
            cfg.cache.display()
        );
    }
}

fn open_feature_cache(cfg: &TrainConfig) -> anyhow::Result<Option<Arc<FeatureCache>>> {
    cfg.feature_cache
        .as_ref()
        .map(|dir| {
            let max_bytes = cfg.feature_cache_max_gb.saturating_mul(1 << 30);
            Ok(Arc::new(FeatureCache::open(dir, max_bytes, cfg.input)?))
        })
        .transpose()
}

/// The network, the optimiser and the run's bookkeeping, from scratch, from
/// `--init-from`, or from the newest checkpoint.
struct TrainingState {
    /// The run's configuration, as recorded in checkpoints.
    cfg: TrainConfig,
    net: Network,
    adam: Adam,
    /// The first step this process takes.
    start: u64,
    /// The lowest validation loss so far.
    best: Option<f64>,
    /// The latest validation loss and accuracy.
    last_validation: (Option<f64>, Option<f64>),
    clock: TrainingClock,
}

impl TrainingState {
    fn start(
        cfg: &TrainConfig,
        resume: bool,
        ckpt_dir: &Path,
        device: Device,
        started: Instant,
    ) -> anyhow::Result<TrainingState> {
        let arch = Architecture::new(cfg.input, cfg.pooling);
        let resumed_from = if resume { checkpoint::latest(ckpt_dir) } else { None };
        if resume && resumed_from.is_none() {
            eprintln!("no checkpoint in {}; starting from scratch", ckpt_dir.display());
        }
        // A resumed run keeps the record of its base model as it was when
        // the run started: the file may since have been replaced (e.g. by
        // this run's own export), and the checkpoints and export must name
        // the model the weights really came from.
        let mut cfg = match &resumed_from {
            Some(ck) => {
                cfg.check_resumable(&ck.info.config)?;
                TrainConfig {
                    init_from: ck.info.config.init_from.clone(),
                    ..cfg.clone()
                }
            }
            None => cfg.clone(),
        };
        let params = match (&resumed_from, &mut cfg.init_from) {
            (None, Some(init)) => {
                eprintln!("starting from the weights of {} ({})", init.model, init.path.display());
                let (params, started) = initial_params(init, &arch, device)?;
                init.started_dimensions = started;
                params
            }
            // A resumed run overwrites these with the checkpoint's.
            _ => Params::init_with_w_std(&arch, device, cfg.w_init_std),
        };
        let mut net = Network::new(arch, params);
        if cfg.freeze_backbone {
            net.freeze_backbone();
        }
        let mut adam = Adam::new(&net.params, cfg.lr);
        if let Some(init) = cfg.init_from.as_ref().filter(|i| i.hold_starts) {
            hold_started_dimensions(&mut adam, &net.arch, &init.started_dimensions, device)?;
        }
        let mut state = TrainingState {
            adam,
            net,
            cfg,
            start: 0,
            best: None,
            last_validation: (None, None),
            clock: TrainingClock { before: 0.0, started },
        };
        if let Some(ck) = resumed_from {
            state.net.params.load(&ck.tensors)?;
            state.adam.load(&ck.tensors, ck.info.step as i64)?;
            state.start = ck.info.step;
            state.best = ck.info.best_validation_loss;
            state.clock.before = ck.info.elapsed_s;
            eprintln!("resuming from {} (step {})", ck.path.display(), state.start);
        }
        Ok(state)
    }

    /// Writes the periodic checkpoint of `step` in `dir` (`losses`: the
    /// training losses since the previous one).
    fn save_periodic(
        &self,
        cfg: &TrainConfig,
        dir: &Path,
        step: u64,
        losses: &[f64],
        device: Device,
    ) -> anyhow::Result<PathBuf> {
        let info = self.info(cfg, step, losses, device);
        checkpoint::save_periodic(dir, &self.net.params, &self.adam, &info)
    }

    /// What a checkpoint written after `step` records.
    fn info(&self, cfg: &TrainConfig, step: u64, losses: &[f64], device: Device) -> CheckpointInfo {
        CheckpointInfo {
            step,
            config: cfg.clone(),
            train_loss: (!losses.is_empty()).then(|| losses.iter().sum::<f64>() / losses.len() as f64),
            validation_loss: self.last_validation.0,
            validation_accuracy: self.last_validation.1,
            best_validation_loss: self.best,
            device: device_name(device),
            elapsed_s: self.clock.seconds(),
        }
    }
}

/// The weights and BatchNorm statistics of the model `init` names, checked
/// against the network (see `cocola::model::reader`).
fn initial_params(
    init: &config::InitFrom,
    arch: &Architecture,
    device: Device,
) -> anyhow::Result<(Params, Vec<usize>)> {
    let stored = cocola::model::read_weights_file(&init.path)
        .map_err(|e| anyhow::anyhow!("cannot initialise from {}: {e}", init.path.display()))?;
    let model = format!("{} {}", stored.metadata.name, stored.metadata.version);
    anyhow::ensure!(
        model == init.model,
        "{} changed since the run was configured: it is now {model}, not {}",
        init.path.display(),
        init.model
    );
    let weights = if stored.metadata.pooling == arch.pooling {
        stored.weights
    } else {
        // A narrower pooling widened (InitFrom::read refused anything else): a
        // new time profile's conv starts from a fresh draw.
        let fresh = Params::init(arch, device).to_named_tensors()?;
        let widened = cocola::model::widen_pooling(
            arch.input,
            (stored.metadata.pooling, &stored.weights),
            (arch.pooling, &fresh),
        )?;
        eprintln!(
            "widened its {} pooling to {} (new projection columns start at zero)",
            stored.metadata.pooling, arch.pooling
        );
        widened
    };
    let starts = [
        (Segment::PitchClassProfile, init.pitch_class_start),
        (Segment::OnsetProfile, init.onset_start),
        (Segment::HarmonyProfile, init.harmony_start),
    ];
    let (weights, started) = cocola::model::start_profile_agreements(arch, &weights, &starts)?;
    for p in &started {
        let what = match p.segment {
            Segment::PitchClassProfile => "pitch classes",
            Segment::OnsetProfile => "onset cells",
            _ => "harmony cells",
        };
        eprintln!(
            "{what} start (gain {}, weight {}, {} agreement): on embedding dimensions {:?}",
            p.agreement.gain, p.agreement.weight, p.agreement.intervals, p.dims
        );
    }
    let started = started.into_iter().flat_map(|p| p.dims).collect();
    Ok((Params::from_named(arch, &weights, device)?, started))
}

/// `--hold-starts`: the started dimensions' projection rows (weights and
/// bias) and LayerNorm entries stay exactly as the starts wrote them, so
/// those dimensions keep reading only their profile while everything else,
/// W included, trains. Without it Adam moves every zero weight of those
/// rows by about the learning rate a step: within ~150 steps the rows read
/// every other feature as much as the profile (model card, run `pc1`).
fn hold_started_dimensions(adam: &mut Adam, arch: &Architecture, dims: &[usize], device: Device) -> anyhow::Result<()> {
    anyhow::ensure!(
        !dims.is_empty(),
        "--hold-starts needs started dimensions, and this run recorded none"
    );
    let mut trains = vec![1f32; arch.embedding_dim];
    for &dim in dims {
        trains[dim] = 0.0;
    }
    let per_dimension = Tensor::from_slice(&trains).to_device(device);
    let (d, width) = (arch.embedding_dim as i64, arch.projection.in_features as i64);
    let rows = per_dimension.reshape([d, 1]).expand([d, width], false).contiguous();
    adam.hold(&format!("{}.weight", arch.projection.name), rows)?;
    for name in [
        format!("{}.bias", arch.projection.name),
        format!("{}.weight", arch.layer_norm),
        format!("{}.bias", arch.layer_norm),
    ] {
        adam.hold(&name, per_dimension.copy())?;
    }
    eprintln!(
        "holding the {} started dimensions' projection rows and LayerNorm entries",
        dims.len()
    );
    Ok(())
}

/// Training time summed over this process and the runs it resumed, so a
/// checkpoint (and the exported model) tells the whole run's time.
struct TrainingClock {
    before: f64,
    started: Instant,
}

impl TrainingClock {
    fn seconds(&self) -> f64 {
        self.before + self.started.elapsed().as_secs_f64()
    }
}

fn bar(show: bool, len: u64, prefix: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{prefix}{bar:30} {pos}/{len} {msg} [{elapsed_precise}, ETA {eta}]")
        .expect("valid template");
    pb.set_style(style);
    pb.set_prefix(if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix} ")
    });
    pb
}
