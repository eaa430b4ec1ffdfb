//! Importing the authors' PyTorch Lightning checkpoints (`.ckpt`) as COCOLA
//! model files, in pure Rust: no Python, no libtorch.
//!
//! ```text
//! MODEL.ckpt (zip: data.pkl + storages)  torch_file: the archive, tensors on demand
//!   data.pkl -> inert value tree          pickle: never imports or calls anything
//!   -> state_dict + hyper-parameters      lightning: names, shapes, input kind, refusals
//!   -> NamedTensors + metadata            [`Checkpoint::metadata`]
//!   -> .onnx                              crate::model::write_model
//! ```
//!
//! # Why a reader of our own
//!
//! Evaluated on crates.io (2026-12): `serde-pickle` 1.2 (maintained) has no
//! persistent ids (`BINPERSID`), which every torch tensor uses, and resolves
//! only a fixed list of globals (an unknown class is an error or `None`, so
//! an enum's value is lost); `repugnant-pickle` 0.0.1 is a single "low
//! effort" release from 2023 on zip 0.6; candle's `candle_core::pickle`
//! reads torch files but covers only the opcodes its authors met (no
//! `STACK_GLOBAL`, `SHORT_BINUNICODE`, sets, `DUP`, ...), keeps no shared
//! memo, and comes with all of candle-core (gemm, safetensors, ...). A
//! pickle *reader* that executes nothing is a small, closed problem (about
//! 70 opcodes, all of Python's `pickletools`), so [`pickle`] implements it
//! with its own tests and a fuzz test over mutated checkpoints
//! (`tests/checkpoint_import.rs`). The zip container is read with the
//! maintained `zip` crate (no compression features: torch stores its entries
//! uncompressed).

pub mod lightning;
pub mod pickle;
pub mod torch_file;

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::contract::InputKind;
use crate::model::{ModelMetadata, NamedTensors};
pub use lightning::TrainingRecord;

/// Why a checkpoint cannot be imported; the message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("not a COCOLA checkpoint: {0}")]
    NotACheckpoint(String),
    #[error("not a readable checkpoint: {0}")]
    Pickle(#[from] pickle::PickleError),
    #[error("a COCOLA checkpoint this build cannot run: {0}")]
    Unsupported(String),
    #[error("the checkpoint's tensors do not match the COCOLA network:{}", .0.iter().map(|p| format!("\n  - {p}")).collect::<String>())]
    Tensors(Vec<String>),
}

/// Where an imported model came from: the file, and what it says about its
/// training.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    pub file_name: String,
    /// SHA-256 of the checkpoint file, hex.
    pub sha256: String,
    pub record: TrainingRecord,
}

/// A checkpoint's network, checked and ready to write as a model file.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    pub input: InputKind,
    pub weights: NamedTensors,
    pub origin: Origin,
}

/// Reads and checks the checkpoint at `path`. Executes nothing from it.
pub fn read_checkpoint(path: &Path) -> Result<Checkpoint, ImportError> {
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let sha256 = sha256_file(path).map_err(io)?;
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut head = [0u8; 16];
    let n = read_up_to(&mut file, &mut head).map_err(io)?;
    let file = std::fs::File::open(path).map_err(io)?;
    let mut torch = torch_file::TorchFile::open(std::io::BufReader::new(file), &head[..n])?;
    let network = lightning::read_network(&mut torch)?;
    Ok(Checkpoint {
        input: network.input,
        weights: network.weights,
        origin: Origin {
            file_name: path
                .file_name()
                .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned()),
            sha256,
            record: network.record,
        },
    })
}

impl Checkpoint {
    /// The model file's metadata: `name` (default: the file's stem) and
    /// `version` (default: `epoch<E>-step<S>`, else the hash's first 12
    /// digits), the origin under `training.imported_from`, no calibration.
    pub fn metadata(&self, name: Option<&str>, version: Option<&str>) -> ModelMetadata {
        let o = &self.origin;
        let r = &o.record;
        let stem = Path::new(&o.file_name)
            .file_stem()
            .map_or_else(|| o.file_name.clone(), |s| s.to_string_lossy().into_owned());
        let default_version = match (r.epoch, r.global_step) {
            (Some(e), Some(s)) => format!("epoch{e}-step{s}"),
            _ => format!("sha256-{}", &o.sha256[..12]),
        };
        let mut meta = ModelMetadata::new(
            name.filter(|n| !n.trim().is_empty()).unwrap_or(&stem),
            version.filter(|v| !v.trim().is_empty()).unwrap_or(&default_version),
        );
        meta.input = self.input;
        meta.description = format!(
            "imported from the PyTorch Lightning checkpoint {} ({} input: {})",
            o.file_name,
            self.input.name(),
            self.input.describe()
        );
        meta.training_data = "see the checkpoint's source".into();
        meta.training = serde_json::json!({
            "imported_from": {
                "file": o.file_name,
                "sha256": o.sha256,
                "layout": r.layout,
                "epoch": r.epoch,
                "global_step": r.global_step,
                "lightning_version": r.lightning_version,
                "hyper_parameters": r.hyper_parameters,
                "importer": format!("cocola {}", env!("CARGO_PKG_VERSION")),
            }
        });
        meta
    }
}

/// SHA-256 of a file's bytes, hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn read_up_to(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}
