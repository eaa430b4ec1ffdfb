//! Which model to run and where its bytes come from: the one resolver the
//! CLI and the plugin share (every front end should use it).
//!
//! Order: an explicit path (`--model`, the plugin's picker), then
//! `COCOLA_MODEL`, then the default model embedded at build time
//! ([`crate::default_model`]). A path may name a COCOLA `.onnx` file or one
//! of the authors' PyTorch Lightning checkpoints (`.ckpt`): a checkpoint is
//! imported once ([`crate::checkpoint`]) into the user cache,
//! `<cache>/imported/<sha256 of the checkpoint>.<format>.onnx`, and that
//! file is what runs from then on; a changed checkpoint has another hash
//! and is imported again.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::checkpoint::{read_checkpoint, sha256_file};
use crate::contract::InputKind;
use crate::default_model;
use crate::model::{read_metadata, write_model, LoadOptions, Model, ModelError, ModelMetadata};

/// The environment variable naming the model when no path is given.
pub const ENV_COCOLA_MODEL: &str = "COCOLA_MODEL";
/// How the default model is described.
pub const EMBEDDED_DESCRIPTION: &str = "default (embedded)";
/// Bumped when the importer's output for the same checkpoint changes, so
/// that models imported by an older cocola are imported again.
const IMPORT_FORMAT: &str = "import1";

/// Where a model's bytes come from.
#[derive(Clone, Debug)]
pub enum ModelSource {
    /// A COCOLA `.onnx` file on disk.
    File(PathBuf),
    /// A checkpoint, imported into the cache as `model`.
    Imported { checkpoint: PathBuf, model: PathBuf },
    /// The default model compiled into this binary.
    Embedded(&'static [u8]),
}

impl ModelSource {
    /// A short description for people: the path, "X.ckpt (imported)" or
    /// "default (embedded)".
    pub fn describe(&self) -> String {
        match self {
            ModelSource::File(p) => p.display().to_string(),
            ModelSource::Imported { checkpoint, .. } => format!("{} (imported)", checkpoint.display()),
            ModelSource::Embedded(_) => EMBEDDED_DESCRIPTION.to_string(),
        }
    }

    /// The model file's bytes (read from disk, or the embedded ones).
    pub fn bytes(&self) -> std::io::Result<Cow<'static, [u8]>> {
        match self {
            ModelSource::File(p) | ModelSource::Imported { model: p, .. } => Ok(std::fs::read(p)?.into()),
            ModelSource::Embedded(bytes) => Ok((*bytes).into()),
        }
    }

    /// Loads the model (one ONNX Runtime session with `options`).
    pub fn load(&self, options: &LoadOptions) -> Result<Model, ModelError> {
        match self {
            ModelSource::File(p) | ModelSource::Imported { model: p, .. } => Model::load(p, options),
            ModelSource::Embedded(bytes) => Model::from_bytes(bytes, options),
        }
    }

    /// SHA-256 of the model file's bytes, hex: identifies the model in caches
    /// and reports.
    pub fn sha256(&self) -> Result<String, ModelError> {
        let bytes = self.bytes().map_err(|source| ModelError::Read {
            path: PathBuf::from(self.describe()),
            source,
        })?;
        Ok(hex(&Sha256::digest(&bytes)))
    }

    /// What the front ends show about a model
    /// loaded from here.
    pub fn info(&self, metadata: &ModelMetadata) -> Result<ModelInfo, ModelError> {
        Ok(ModelInfo {
            name: metadata.name.clone(),
            version: metadata.version.clone(),
            description: metadata.description.clone(),
            input: metadata.input,
            source: self.describe(),
            sha256: self.sha256()?,
            calibrated: metadata.calibration.is_some(),
        })
    }
}

/// A model as the user sees it, and as a sharded evaluation's part files
/// record it (what identifies the model there: name, version, SHA-256 and
/// whether it is calibrated; the rest is description and may differ between
/// machines, e.g. the path).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    /// HPS (2 channels, three modes) or mel (1 channel, the plain score only).
    #[serde(default)]
    pub input: InputKind,
    /// The path, "X.ckpt (imported)" or "default (embedded)".
    #[serde(default)]
    pub source: String,
    /// SHA-256 of the model file.
    pub sha256: String,
    pub calibrated: bool,
}

/// Resolves the model to use: `explicit`, else `$COCOLA_MODEL`, else the
/// embedded default. A checkpoint is imported into the cache first (once;
/// `progress` is told, it takes a few seconds).
pub fn resolve(explicit: Option<&Path>, progress: &mut dyn FnMut(&str)) -> Result<ModelSource, ModelError> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => match std::env::var_os(ENV_COCOLA_MODEL).filter(|v| !v.is_empty()) {
            Some(path) => PathBuf::from(path),
            None => {
                return default_model::embedded()
                    .map(ModelSource::Embedded)
                    .ok_or(ModelError::NoDefaultModel)
            }
        },
    };
    if !is_checkpoint(&path) {
        return Ok(ModelSource::File(path));
    }
    let model = import_into_cache(&path, progress)?;
    Ok(ModelSource::Imported {
        checkpoint: path,
        model,
    })
}

/// Whether `path` names a PyTorch checkpoint rather than an ONNX model: by
/// its content (a zip archive, or torch's legacy format), else by its
/// extension (`.ckpt`, `.pt`, `.pth`), so that a broken checkpoint still
/// gets the importer's message.
pub fn is_checkpoint(path: &Path) -> bool {
    let mut head = [0u8; 4];
    let read = std::fs::File::open(path).and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head));
    if read.is_ok() && (head == *b"PK\x03\x04" || head[..3] == *b"\x80\x02\x8a") {
        return true;
    }
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| ["ckpt", "pt", "pth"].iter().any(|c| e.eq_ignore_ascii_case(c)))
}

/// The cached import of `checkpoint`, made now if missing or unusable.
fn import_into_cache(checkpoint: &Path, progress: &mut dyn FnMut(&str)) -> Result<PathBuf, ModelError> {
    if !checkpoint.exists() {
        return Err(ModelError::FileMissing(checkpoint.to_path_buf()));
    }
    let sha = sha256_file(checkpoint).map_err(|source| ModelError::Read {
        path: checkpoint.to_path_buf(),
        source,
    })?;
    let dir = crate::user_cache::dir()
        .unwrap_or_else(|| std::env::temp_dir().join("cocola"))
        .join("imported");
    let cached = dir.join(format!("{sha}.{IMPORT_FORMAT}.onnx"));
    if is_import_of(&cached, &sha) {
        return Ok(cached);
    }
    progress(&format!(
        "importing checkpoint {} (once; the model is kept in {})...",
        checkpoint.display(),
        dir.display()
    ));
    let imported = read_checkpoint(checkpoint).map_err(|source| ModelError::Import {
        path: checkpoint.to_path_buf(),
        source: Box::new(source),
    })?;
    let bytes = write_model(&imported.weights, &imported.metadata(None, None))?;
    let write_error = |source| ModelError::Write {
        path: cached.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(write_error)?;
    crate::atomic_file::write_bytes(&cached, &bytes).map_err(write_error)?;
    Ok(cached)
}

/// Whether `model` is a readable COCOLA model imported from a checkpoint
/// with hash `sha` (a truncated or foreign file in the cache is redone).
fn is_import_of(model: &Path, sha: &str) -> bool {
    std::fs::read(model)
        .ok()
        .and_then(|bytes| read_metadata(&bytes, "the cached import").ok())
        .is_some_and(|meta| meta.training["imported_from"]["sha256"] == sha)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
