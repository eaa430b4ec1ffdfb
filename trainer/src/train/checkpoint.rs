//! Checkpoints: weights, BatchNorm statistics and Adam's moments in one
//! safetensors file, plus a small JSON (step, config, metrics).
//!
//! Both files are written under temporary names and renamed, the JSON last:
//! a checkpoint exists once its JSON does, so `kill -9` at any moment leaves
//! either the previous checkpoint or the new one, never a torn one, and loses
//! at most one interval. Periodic checkpoints are `step-NNNNNNNNN.*` (the last
//! [`KEEP`] kept); the best validation so far is `best.*`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::config::TrainConfig;
use crate::model::adam::Adam;
use crate::model::Params;

/// Periodic checkpoints kept on disk.
pub const KEEP: usize = 2;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointInfo {
    /// Optimiser steps taken.
    pub step: u64,
    pub config: TrainConfig,
    /// Mean training loss over the last interval.
    pub train_loss: Option<f64>,
    pub validation_loss: Option<f64>,
    pub validation_accuracy: Option<f64>,
    /// Best validation loss so far (decides `best.*`).
    pub best_validation_loss: Option<f64>,
    /// Device the run trained on, e.g. "cpu" or "cuda:0".
    pub device: String,
    /// Seconds of training up to this step, summed over resumed runs.
    pub elapsed_s: f64,
}

fn weights_path(json: &Path) -> PathBuf {
    json.with_extension("safetensors")
}

/// Writes `name.safetensors` and `name.json` in `dir`.
pub fn save(dir: &Path, name: &str, params: &Params, adam: &Adam, info: &CheckpointInfo) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let json = dir.join(format!("{name}.json"));
    let weights = weights_path(&json);
    let tmp_weights = dir.join(format!(".{name}.safetensors.tmp"));
    let mut named: Vec<(String, Tensor)> = params
        .iter()
        .map(|(n, t)| (n.to_string(), t.detach().to_device(tch::Device::Cpu)))
        .collect();
    named.extend(
        adam.state()
            .into_iter()
            .map(|(n, t)| (n, t.to_device(tch::Device::Cpu))),
    );
    Tensor::write_safetensors(&named, &tmp_weights)?;
    std::fs::rename(&tmp_weights, &weights)?;
    // The JSON goes last: a checkpoint exists once its JSON does.
    cocola::atomic_file::write_bytes(&json, &serde_json::to_vec_pretty(info)?)?;
    Ok(json)
}

/// Saves periodic checkpoint `step` and deletes the older ones beyond [`KEEP`].
pub fn save_periodic(dir: &Path, params: &Params, adam: &Adam, info: &CheckpointInfo) -> anyhow::Result<PathBuf> {
    let path = save(dir, &format!("step-{:09}", info.step), params, adam, info)?;
    let mut old = periodic(dir);
    old.reverse();
    for (_, json) in old.into_iter().skip(KEEP) {
        let _ = std::fs::remove_file(&json);
        let _ = std::fs::remove_file(weights_path(&json));
    }
    Ok(path)
}

/// Periodic checkpoints in `dir`, by step ascending.
pub fn periodic(dir: &Path) -> Vec<(u64, PathBuf)> {
    let mut out: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let step = name.strip_prefix("step-")?.strip_suffix(".json")?.parse().ok()?;
            Some((step, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// A checkpoint read back: its JSON and every tensor.
pub struct Loaded {
    pub info: CheckpointInfo,
    pub tensors: BTreeMap<String, Tensor>,
    pub path: PathBuf,
}

/// Reads a checkpoint given its `.json` or `.safetensors` path.
pub fn load(path: &Path) -> anyhow::Result<Loaded> {
    let json = path.with_extension("json");
    let text = std::fs::read_to_string(&json).map_err(|e| anyhow::anyhow!("{}: {e}", json.display()))?;
    let info: CheckpointInfo = serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", json.display()))?;
    let weights = weights_path(&json);
    let tensors = Tensor::read_safetensors(&weights)
        .map_err(|e| anyhow::anyhow!("{}: {e}", weights.display()))?
        .into_iter()
        .collect();
    Ok(Loaded {
        info,
        tensors,
        path: json,
    })
}

/// The checkpoint a user means by `path`: a checkpoint file itself, or a run
/// folder (or its `checkpoints/` folder), meaning its best checkpoint if
/// validation has chosen one, else its newest periodic one.
pub fn resolve(path: &Path) -> anyhow::Result<PathBuf> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let run_checkpoints = path.join("checkpoints");
    let dir = if run_checkpoints.is_dir() {
        run_checkpoints
    } else {
        path.to_path_buf()
    };
    let best = dir.join("best.json");
    if best.is_file() {
        return Ok(best);
    }
    periodic(&dir).pop().map(|(_, json)| json).ok_or_else(|| {
        anyhow::anyhow!(
            "{} holds no checkpoint yet: a run writes one every --checkpoint-every steps, \
             at its last step and when stopped with Ctrl-C",
            dir.display()
        )
    })
}

/// The newest periodic checkpoint of `dir` that loads, if any.
pub fn latest(dir: &Path) -> Option<Loaded> {
    periodic(dir).into_iter().rev().find_map(|(_, p)| load(&p).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::write(path, b"{}").unwrap();
    }

    #[test]
    fn a_run_folder_means_its_best_checkpoint_else_its_newest() {
        let run = tempfile::tempdir().unwrap();
        let dir = run.path().join("checkpoints");
        std::fs::create_dir(&dir).unwrap();
        let err = resolve(run.path()).unwrap_err().to_string();
        assert!(err.contains("holds no checkpoint yet"), "{err}");

        touch(&dir.join("step-000000025.json"));
        touch(&dir.join("step-000000100.json"));
        touch(&dir.join("step-000000050.json"));
        assert_eq!(resolve(run.path()).unwrap(), dir.join("step-000000100.json"));
        assert_eq!(resolve(&dir).unwrap(), dir.join("step-000000100.json"));

        touch(&dir.join("best.json"));
        assert_eq!(resolve(run.path()).unwrap(), dir.join("best.json"));
        // A file is taken as given.
        let file = dir.join("step-000000025.json");
        assert_eq!(resolve(&file).unwrap(), file);
    }
}
