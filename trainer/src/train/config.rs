//! Training settings: the paper's recipe by default (Sec. IV-C).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::data::source::DatasetSpec;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub data: Vec<DatasetSpec>,
    /// Run directory: checkpoints, metrics.
    pub out: PathBuf,
    /// Stem cache directory.
    pub cache: PathBuf,
    pub seed: u64,
    /// K: windows per batch (paper: 32).
    pub batch: usize,
    /// Adam learning rate (paper: 1e-3).
    pub lr: f64,
    pub steps: u64,
    /// Largest overlap ratio r of two windows of one track in a batch (0.5).
    pub max_overlap: f64,
    /// Single-stem sub-mixes instead of random subsets.
    pub single_stem: bool,
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
}

fn default_feature_cache_gb() -> u64 {
    20
}

impl TrainConfig {
    pub fn paper(data: Vec<DatasetSpec>, out: PathBuf, cache: PathBuf) -> TrainConfig {
        TrainConfig {
            data,
            out,
            cache,
            seed: 0,
            batch: 32,
            lr: 1e-3,
            steps: 100_000,
            max_overlap: 0.5,
            single_stem: false,
            noise_std: 1e-3,
            validate_every: 1000,
            validation_batches: 20,
            checkpoint_every: 1000,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()).saturating_sub(1).max(1),
            prefetch: 8,
            cpu: false,
            torch_threads: 0,
            feature_cache: None,
            feature_cache_max_gb: default_feature_cache_gb(),
        }
    }

    pub fn sampler(&self) -> crate::data::sampler::SamplerConfig {
        let mut s = crate::data::sampler::SamplerConfig::paper(self.batch);
        s.max_overlap = self.max_overlap;
        s.single_stem = self.single_stem;
        s.noise_std = self.noise_std;
        s
    }

    /// Settings a resumed run must share with the run it continues: anything
    /// else would silently train a different model.
    pub fn check_resumable(&self, saved: &TrainConfig) -> anyhow::Result<()> {
        let mut differences = Vec::new();
        if self.data != saved.data {
            differences.push("data");
        }
        if self.seed != saved.seed {
            differences.push("seed");
        }
        if self.batch != saved.batch {
            differences.push("batch");
        }
        if self.lr != saved.lr {
            differences.push("lr");
        }
        if self.max_overlap != saved.max_overlap || self.single_stem != saved.single_stem || self.noise_std != saved.noise_std {
            differences.push("sampling (max-overlap, single-stem, noise)");
        }
        anyhow::ensure!(
            differences.is_empty(),
            "cannot resume: {} differ(s) from the checkpoint's run; use the same settings or a new --out",
            differences.join(", ")
        );
        Ok(())
    }
}
