//! Which model to run when the user names none.
//!
//! Order: an explicit path (`--model`), then `COCOLA_MODEL`, then the default
//! model embedded at build time from `bundles/models/default.onnx` (see
//! `build.rs`). A random-weight model is never a default: only a trained model
//! committed under `bundles/models/` can be embedded.

use std::path::{Path, PathBuf};

use crate::model::{LoadOptions, Model, ModelError};

/// Where a model's bytes come from.
#[derive(Clone, Debug)]
pub enum ModelSource {
    /// A `.onnx` file on disk.
    File(PathBuf),
    /// The default model compiled into this binary.
    Embedded(&'static [u8]),
}

impl ModelSource {
    /// A short human description ("default (embedded)" or the path).
    pub fn describe(&self) -> String {
        match self {
            ModelSource::File(p) => p.display().to_string(),
            ModelSource::Embedded(_) => "default (embedded)".to_string(),
        }
    }

    /// The model file's bytes (read from disk, or the embedded ones).
    pub fn bytes(&self) -> std::io::Result<std::borrow::Cow<'static, [u8]>> {
        match self {
            ModelSource::File(p) => Ok(std::fs::read(p)?.into()),
            ModelSource::Embedded(bytes) => Ok((*bytes).into()),
        }
    }

    /// Loads the model (one ONNX Runtime session).
    pub fn load(&self, options: &LoadOptions) -> Result<Model, ModelError> {
        match self {
            ModelSource::File(path) => Model::load(path, options),
            ModelSource::Embedded(bytes) => Model::from_bytes(bytes, options),
        }
    }

    /// What a failure to load this model is about, to prefix its error:
    /// "cannot use model PATH" or "cannot use the built-in default model".
    pub fn load_context(&self) -> String {
        match self {
            ModelSource::File(path) => format!("cannot use model {}", path.display()),
            ModelSource::Embedded(_) => "cannot use the built-in default model".to_string(),
        }
    }

    /// SHA-256 (hex) of the model file's bytes: the model's identity in
    /// caches, whatever its path or name.
    pub fn sha256(&self) -> std::io::Result<String> {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(&self.bytes()?);
        Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// The embedded default model, if this build has one.
pub fn embedded() -> Option<&'static [u8]> {
    #[cfg(cocola_default_model)]
    {
        Some(include_bytes!(env!("COCOLA_DEFAULT_MODEL_PATH")))
    }
    #[cfg(not(cocola_default_model))]
    {
        None
    }
}

/// Message shown when no model was named and this build has no default.
pub const NO_DEFAULT_MESSAGE: &str = "no model given and this build has no default model \
(bundles/models/default.onnx was missing when it was built): pass --model PATH.onnx or set COCOLA_MODEL";

/// Resolves the model to use: `explicit`, else `$COCOLA_MODEL`, else the embedded default.
pub fn resolve(explicit: Option<&Path>) -> Result<ModelSource, String> {
    if let Some(path) = explicit {
        return Ok(ModelSource::File(path.to_path_buf()));
    }
    if let Some(path) = std::env::var_os("COCOLA_MODEL").filter(|v| !v.is_empty()) {
        return Ok(ModelSource::File(PathBuf::from(path)));
    }
    embedded()
        .map(ModelSource::Embedded)
        .ok_or_else(|| NO_DEFAULT_MESSAGE.to_string())
}
