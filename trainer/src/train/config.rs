//! Training settings: the paper's recipe by default (Sec. IV-C).

use std::path::PathBuf;

use cocola::contract::InputKind;
use cocola::model::arch::{Pooling, Segment};
use cocola::model::ProfileAgreement;
use serde::{Deserialize, Serialize};

use crate::data::dataset::DatasetSpec;
use crate::data::hard_negatives::KindWeights;
use crate::data::sampler::{MaskWeights, Masks};
use crate::model::threshold::ThresholdLoss;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub data: Vec<DatasetSpec>,
    /// What the network sees: HPS (2 channels, the paper's default) or mel
    /// (1 channel, the paper's models "w/o HPS"; no channel masks).
    #[serde(default)]
    pub input: InputKind,
    /// How the encoder pools its last feature map (paper: global; see
    /// `cocola::model::arch::Pooling`).
    #[serde(default)]
    pub pooling: Pooling,
    /// Run directory: checkpoints, metrics.
    pub out: PathBuf,
    /// Stem cache directory.
    pub cache: PathBuf,
    pub seed: u64,
    /// K: windows per batch (paper: 32).
    pub batch: usize,
    /// Adam learning rate (paper: 1e-3).
    pub lr: f64,
    /// Steps over which the learning rate rises linearly to `lr` (paper: 0).
    #[serde(default)]
    pub warmup_steps: u64,
    /// How the learning rate moves after the warm-up (paper: constant).
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    /// Standard deviation of the bilinear W at initialisation (paper: 0.05).
    #[serde(default = "default_w_init_std")]
    pub w_init_std: f64,
    /// How channel masks are drawn (paper: per pair).
    #[serde(default)]
    pub masks: Masks,
    /// How often each channel mask is drawn (paper: equally).
    #[serde(default)]
    pub mask_weights: MaskWeights,
    /// Share of pairs that get a hard negative made from their positive
    /// (paper: 0; see `data::hard_negatives`).
    #[serde(default)]
    pub hard_negatives: f64,
    /// How often each kind of hard negative is drawn (default: equally).
    #[serde(default)]
    pub hard_negative_weights: KindWeights,
    /// Transposed hard negatives and their positives both pass through the
    /// pitch shifter twice, so only the key tells them apart.
    #[serde(default)]
    pub matched_processing: bool,
    /// Share of a twinned track's transpositions made from its twins; the
    /// rest go through the shifter (default and before the setting: 1).
    #[serde(default = "crate::data::hard_negatives::all_twins")]
    pub twin_share: f64,
    /// The shared-threshold loss beside the contrastive one (paper: none;
    /// see `model::threshold`).
    #[serde(default)]
    pub threshold_loss: Option<ThresholdLoss>,
    /// How many times each anchor's own hard negative counts in the
    /// contrastive loss (1, and before the setting: once).
    #[serde(default = "no_emphasis")]
    pub hard_negative_emphasis: f64,
    /// Anchors of the sensitivity test run on the validation split at each
    /// validation (0: off).
    #[serde(default)]
    pub sensitivity_anchors: usize,
    /// Anchors of the sensitivity test at the run's last step, which is then
    /// always validated (0: the last step is like any other). The per-step
    /// test is kept small to be cheap (64 anchors leave +-10 points); the
    /// last one is what runs are chosen on, so it can be given +-3 points.
    #[serde(default)]
    pub final_sensitivity_anchors: usize,
    pub steps: u64,
    /// Seconds of run time (as checkpoints record it: loading included,
    /// summed over resumes) after which the run ends like one that reached
    /// `steps`, which then only bounds it. The cosine schedule follows
    /// whichever of steps and time is further along, so a run that must
    /// fit a fixed lease (a borrowed GPU) still ends at a learning rate of 0
    /// with a checkpoint. `None`: steps alone.
    #[serde(default)]
    pub time_budget_s: Option<f64>,
    /// Largest overlap ratio r of two windows of one track in a batch (0.5).
    pub max_overlap: f64,
    /// Single-stem sub-mixes instead of random subsets.
    pub single_stem: bool,
    /// Positives of one stem, against a sub-mix of the others.
    #[serde(default)]
    pub target_stem: bool,
    /// Noise sigma on positives (1e-3).
    pub noise_std: f32,
    pub validate_every: u64,
    pub validation_batches: u64,
    pub checkpoint_every: u64,
    /// Feature worker threads and batches prefetched.
    pub workers: usize,
    pub prefetch: usize,
    /// Train on the CPU even when CUDA is available.
    pub cpu: bool,
    /// libtorch intra-op threads on the CPU (0: libtorch's default).
    pub torch_threads: usize,
    /// On-disk cache of window features (off when `None`); see
    /// [`crate::data::feature_cache`]. Not part of what a resume must match.
    #[serde(default)]
    pub feature_cache: Option<PathBuf>,
    /// Size cap of the feature cache, GiB.
    #[serde(default = "default_feature_cache_gb")]
    pub feature_cache_max_gb: u64,
    /// An exported model whose weights (and BatchNorm statistics) a fresh
    /// run starts from instead of a random initialisation: fine-tuning.
    #[serde(default)]
    pub init_from: Option<InitFrom>,
    /// Train the head alone (see `model::net::Network::freeze_backbone`):
    /// the EfficientNet backbone keeps its weights and BatchNorm statistics.
    #[serde(default)]
    pub freeze_backbone: bool,
}

/// The learning rate after the warm-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum LrSchedule {
    /// `lr` until the last step (the paper's).
    #[default]
    Constant,
    /// Half a cosine from `lr` down to 0 at the run's last step (`steps`):
    /// a run that can only be short ends with small, averaging steps
    /// instead of stopping mid-stride.
    Cosine,
}

/// The model a run was initialised from, as it was when the run started
/// (the file may later be replaced, e.g. by the run's own export).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InitFrom {
    pub path: PathBuf,
    /// "name version" from the model's metadata.
    pub model: String,
    /// The model's own training record (its `cocola.training` metadata).
    pub training: serde_json::Value,
    /// `--pitch-class-start`: the pitch-class agreement written into the
    /// weights once they are loaded (`cocola::model::profile_start`).
    #[serde(default)]
    pub pitch_class_start: Option<ProfileAgreement>,
    /// `--onset-start`: the onset profile's agreement, written after the
    /// pitch classes'.
    #[serde(default)]
    pub onset_start: Option<ProfileAgreement>,
    /// `--harmony-start`: the harmony profile's agreement, written after
    /// the onsets'.
    #[serde(default)]
    pub harmony_start: Option<ProfileAgreement>,
    /// `--hold-starts`: the started dimensions keep reading only their
    /// profile while the rest trains (their projection rows and LayerNorm
    /// entries never move; W still does).
    #[serde(default)]
    pub hold_starts: bool,
    /// The embedding dimensions the starts took, recorded when the run
    /// starts, so that a resumed run holds the same ones.
    #[serde(default)]
    pub started_dimensions: Vec<usize>,
}

impl InitFrom {
    /// Reads the model's identity; its weights are read when the run starts.
    /// Fails unless the model's input has the shape of `input` (an hps model
    /// can start a pitch run: same tensor, the harmonic channel re-learnt)
    /// and its pooling can become `pooling` (the same, or one it widens to:
    /// `cocola::model::pooling::Pooling::widens_to`).
    pub fn read(path: &std::path::Path, input: InputKind, pooling: Pooling) -> anyhow::Result<InitFrom> {
        let stored = cocola::model::read_weights_file(path)
            .map_err(|e| anyhow::anyhow!("cannot initialise from {}: {e}", path.display()))?;
        let base = stored.metadata.input;
        anyhow::ensure!(
            base.feature_shape() == input.feature_shape(),
            "cannot initialise from {}: it is a {base} model ({}), this run trains a {input} model ({}) (--input)",
            path.display(),
            base.describe(),
            input.describe()
        );
        if base != input {
            eprintln!(
                "note: {} is a {base} model; its weights start a {input} model (same input shape)",
                path.display()
            );
        }
        anyhow::ensure!(
            stored.metadata.pooling.widens_to(pooling),
            "cannot initialise from {}: its pooling is {}, which cannot be widened to {pooling} (--pooling); \
             a model widens only to a pooling that keeps all its pooled features",
            path.display(),
            stored.metadata.pooling,
        );
        Ok(InitFrom {
            path: path.to_path_buf(),
            model: format!("{} {}", stored.metadata.name, stored.metadata.version),
            training: stored.metadata.training,
            pitch_class_start: None,
            onset_start: None,
            harmony_start: None,
            hold_starts: false,
            started_dimensions: Vec::new(),
        })
    }
}

/// The profile starts a fine-tune asks for: `--pitch-class-start`,
/// `--onset-start`, `--harmony-start` and `--hold-starts`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProfileStarts {
    pub pitch_class: Option<ProfileAgreement>,
    pub onset: Option<ProfileAgreement>,
    pub harmony: Option<ProfileAgreement>,
    pub hold: bool,
}

impl TrainConfig {
    /// Writes `starts` into `init_from`. Fails unless the pooling has each
    /// started profile, a base model is named, and a hold has a start.
    pub fn start_profiles(&mut self, starts: ProfileStarts) -> anyhow::Result<()> {
        for (start, segment, flag, pooling) in [
            (
                starts.pitch_class,
                Segment::PitchClassProfile,
                "--pitch-class-start",
                "time-pitch-class (or time-pitch-class-onset)",
            ),
            (
                starts.onset,
                Segment::OnsetProfile,
                "--onset-start",
                "time-pitch-class-onset",
            ),
            (
                starts.harmony,
                Segment::HarmonyProfile,
                "--harmony-start",
                "time-pitch-class-onset-harmony",
            ),
        ] {
            let Some(start) = start else { continue };
            start.check_fits(segment).map_err(|e| anyhow::anyhow!("{flag}: {e}"))?;
            anyhow::ensure!(
                self.pooling.has(segment),
                "{flag} writes the {} profile's start: it needs --pooling {pooling}",
                match segment {
                    Segment::OnsetProfile => "onset",
                    Segment::HarmonyProfile => "harmony",
                    _ => "pitch-class",
                }
            );
            anyhow::ensure!(
                self.init_from.is_some(),
                "{flag} rewrites the weights of --init-from: name the model to start from"
            );
        }
        let started = starts.pitch_class.is_some() || starts.onset.is_some() || starts.harmony.is_some();
        anyhow::ensure!(
            !starts.hold || started,
            "--hold-starts holds the dimensions a start writes: give --pitch-class-start, --onset-start or \
             --harmony-start"
        );
        if let Some(init) = self.init_from.as_mut() {
            (
                init.pitch_class_start,
                init.onset_start,
                init.harmony_start,
                init.hold_starts,
            ) = (starts.pitch_class, starts.onset, starts.harmony, starts.hold);
        }
        Ok(())
    }
}

fn default_w_init_std() -> f64 {
    crate::model::params::W_INIT_STD
}

/// Each hard negative counts once (plain Eq. 3).
fn no_emphasis() -> f64 {
    1.0
}

fn default_feature_cache_gb() -> u64 {
    20
}

impl TrainConfig {
    pub fn paper(data: Vec<DatasetSpec>, out: PathBuf, cache: PathBuf) -> TrainConfig {
        TrainConfig {
            data,
            input: InputKind::Hps,
            pooling: Pooling::Global,
            out,
            cache,
            seed: 0,
            batch: 32,
            lr: 1e-3,
            warmup_steps: 0,
            lr_schedule: LrSchedule::Constant,
            w_init_std: default_w_init_std(),
            masks: Masks::PerPair,
            mask_weights: MaskWeights::default(),
            hard_negatives: 0.0,
            hard_negative_weights: KindWeights::default(),
            matched_processing: false,
            twin_share: crate::data::hard_negatives::all_twins(),
            threshold_loss: None,
            hard_negative_emphasis: no_emphasis(),
            sensitivity_anchors: 0,
            final_sensitivity_anchors: 0,
            time_budget_s: None,
            steps: 100_000,
            max_overlap: 0.5,
            single_stem: false,
            target_stem: false,
            noise_std: 1e-3,
            validate_every: 1000,
            validation_batches: 20,
            checkpoint_every: 1000,
            workers: std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .saturating_sub(1)
                .max(1),
            prefetch: 8,
            cpu: false,
            torch_threads: 0,
            feature_cache: None,
            feature_cache_max_gb: default_feature_cache_gb(),
            init_from: None,
            freeze_backbone: false,
        }
    }

    pub fn sampler(&self) -> crate::data::sampler::SamplerConfig {
        let mut s = crate::data::sampler::SamplerConfig::paper(self.batch);
        s.max_overlap = self.max_overlap;
        s.single_stem = self.single_stem;
        s.target_stem = self.target_stem;
        s.noise_std = self.noise_std;
        s.masks = self.masks;
        s.mask_weights = self.mask_weights;
        s.hard_negatives = self.hard_negatives;
        s.hard_negative_weights = self.hard_negative_weights;
        s.matched_processing = self.matched_processing;
        s.twin_share = self.twin_share;
        s
    }

    /// The learning rate of step `step` (0-based): linear warm-up, then
    /// `lr` constant or on a cosine down to 0 at step `steps`.
    /// The learning rate of `step`, taken after `elapsed_s` seconds of run time.
    pub fn lr_at(&self, step: u64, elapsed_s: f64) -> f64 {
        if step < self.warmup_steps {
            return self.lr * (step + 1) as f64 / self.warmup_steps as f64;
        }
        match self.lr_schedule {
            LrSchedule::Constant => self.lr,
            LrSchedule::Cosine => {
                let span = self.steps.saturating_sub(self.warmup_steps).max(1) as f64;
                let by_steps = (step - self.warmup_steps) as f64 / span;
                let progress = by_steps.max(self.time_spent_share(elapsed_s)).min(1.0);
                self.lr * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }

    /// The share of `time_budget_s` spent after `elapsed_s` (0 without one).
    fn time_spent_share(&self, elapsed_s: f64) -> f64 {
        self.time_budget_s.map_or(0.0, |budget| elapsed_s / budget.max(1e-9))
    }

    /// Whether the step that ends `done` steps, after `elapsed_s` seconds of
    /// run time, is the run's last.
    pub fn is_last_step(&self, done: u64, elapsed_s: f64) -> bool {
        done >= self.steps || self.time_spent_share(elapsed_s) >= 1.0
    }

    /// Settings a resumed run must share with the run it continues: anything
    /// else would silently train a different model.
    pub fn check_resumable(&self, saved: &TrainConfig) -> anyhow::Result<()> {
        let mut differences = Vec::new();
        if self.data != saved.data {
            differences.push("data");
        }
        if self.input != saved.input {
            differences.push("input");
        }
        if self.pooling != saved.pooling {
            differences.push("pooling");
        }
        if self.seed != saved.seed {
            differences.push("seed");
        }
        if self.batch != saved.batch {
            differences.push("batch");
        }
        if self.lr != saved.lr || self.warmup_steps != saved.warmup_steps || self.lr_schedule != saved.lr_schedule {
            differences.push("lr (or its warm-up or schedule)");
        }
        // A cosine ends at `steps`: resuming with more steps would bend the
        // curve already followed.
        if self.lr_schedule == LrSchedule::Cosine && self.steps != saved.steps {
            differences.push("steps (the cosine schedule ends there)");
        }
        if self.lr_schedule == LrSchedule::Cosine && self.time_budget_s != saved.time_budget_s {
            differences.push("time budget (the cosine schedule ends there)");
        }
        let start = |c: &TrainConfig| {
            (c.init_from.as_ref()).map(|i| {
                let starts = [i.pitch_class_start, i.onset_start, i.harmony_start];
                (i.path.clone(), starts, i.hold_starts)
            })
        };
        if start(self) != start(saved) {
            differences.push("init-from (or its pitch-class, onset or harmony start, or --hold-starts)");
        }
        if self.threshold_loss != saved.threshold_loss {
            differences.push("threshold loss");
        }
        if self.hard_negative_emphasis != saved.hard_negative_emphasis {
            differences.push("hard-negative emphasis");
        }
        // The optimiser's state holds moments for the trained tensors only.
        if self.freeze_backbone != saved.freeze_backbone {
            differences.push("freeze-backbone");
        }
        if self.masks != saved.masks || self.mask_weights != saved.mask_weights {
            differences.push("masks (or their weights)");
        }
        if self.max_overlap != saved.max_overlap
            || self.single_stem != saved.single_stem
            || self.target_stem != saved.target_stem
            || self.noise_std != saved.noise_std
            || self.hard_negatives != saved.hard_negatives
            || self.hard_negative_weights != saved.hard_negative_weights
            || self.matched_processing != saved.matched_processing
            || self.twin_share != saved.twin_share
        {
            differences.push(
                "sampling (max-overlap, single-stem, target-stem, noise, hard-negatives, their weights, matched processing and twin share)",
            );
        }
        anyhow::ensure!(
            differences.is_empty(),
            "cannot resume: {} differ(s) from the checkpoint's run; use the same settings or a new --out",
            differences.join(", ")
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests;
