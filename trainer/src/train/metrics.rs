//! Metrics as JSON Lines (`metrics.jsonl` in the run directory): one object
//! per training step and per validation, for plotting with any tool.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Record {
    Train {
        step: u64,
        /// The contrastive loss.
        loss: f64,
        /// The shared-threshold loss (weighted), in runs that have one.
        #[serde(skip_serializing_if = "Option::is_none")]
        threshold_loss: Option<f64>,
        accuracy: f64,
        windows_per_s: f64,
        elapsed_s: f64,
    },
    Validation {
        step: u64,
        loss: f64,
        accuracy: f64,
    },
    /// The sensitivity test on the validation split: win rates (0-1) of the
    /// true stem per mode ("both", ...) and for the model-free "floor", each
    /// per negative kind ("transposed", "shifted", "foreign").
    Sensitivity {
        step: u64,
        /// Anchors the rates were measured on (their interval's width).
        anchors: usize,
        win_rates: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>>,
    },
    /// The recipe's own hard negatives on validation pairs: how often the
    /// positive scored above the hard negative made from it (0-1), and on
    /// how many pairs, per mode (the pair's mask) and kind ("transposed",
    /// "shifted", "stretched").
    #[serde(rename = "hard_negatives")]
    HardNegatives {
        step: u64,
        pairs: std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>,
        win_rates: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>>,
    },
}

pub struct Metrics {
    file: File,
    pub path: PathBuf,
}

impl Metrics {
    /// Opens `dir/metrics.jsonl` for appending; when resuming at `resume_step`,
    /// records after that step (from the interrupted tail) are dropped first so
    /// the file reads like one uninterrupted run.
    pub fn open(dir: &Path, resume_step: Option<u64>) -> anyhow::Result<Metrics> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("metrics.jsonl");
        if let (Some(step), Ok(f)) = (resume_step, File::open(&path)) {
            let kept: Vec<String> = BufReader::new(f)
                .lines()
                .map_while(Result::ok)
                .filter(|l| {
                    serde_json::from_str::<serde_json::Value>(l)
                        .ok()
                        .and_then(|v| v.get("step").and_then(|s| s.as_u64()))
                        .is_some_and(|s| s <= step)
                })
                .collect();
            let text: String = kept.iter().map(|l| format!("{l}\n")).collect();
            cocola::atomic_file::write_bytes(&path, text.as_bytes())?;
        } else if resume_step.is_none() {
            let _ = std::fs::remove_file(&path);
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Metrics { file, path })
    }

    pub fn write(&mut self, record: &Record) -> anyhow::Result<()> {
        let mut line = serde_json::to_string(record)?;
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        Ok(())
    }
}
