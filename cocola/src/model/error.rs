//! Everything that can go wrong writing, loading or running a model, worded
//! for the person who has to fix it.

use std::path::PathBuf;

use super::runtime::RuntimeError;

/// One feature setting on which a model and this build disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractDifference {
    pub key: String,
    /// The model's value; `None` if the model does not record the key.
    pub model: Option<String>,
    /// This build's value; `None` if this build does not know the key.
    pub expected: Option<String>,
}

impl std::fmt::Display for ContractDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| v.as_ref().map_or("(missing)".to_string(), |v| format!("'{v}'"));
        write!(
            f,
            "{}: model has {}, expected {}",
            self.key,
            show(&self.model),
            show(&self.expected)
        )
    }
}

fn list(diffs: &[ContractDifference]) -> String {
    diffs.iter().map(|d| format!("\n  - {d}")).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file {0} does not exist")]
    FileMissing(PathBuf),

    #[error("{}", crate::default_model::NO_DEFAULT_MESSAGE)]
    NoDefaultModel,

    #[error("cannot import {}: {source}", .path.display())]
    Import {
        path: PathBuf,
        source: Box<crate::checkpoint::ImportError>,
    },

    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },

    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },

    #[error("{what} is not an ONNX model: {detail}")]
    NotOnnx { what: String, detail: String },

    #[error("{what} is an ONNX model but not a COCOLA model: {detail}")]
    NotCocola { what: String, detail: String },

    #[error(
        "the model was made for model format {found}, this build reads format {supported}; \
         use a cocola version that matches the model or re-export the model"
    )]
    UnsupportedFormat { found: String, supported: String },

    #[error(
        "the model was trained with different audio features than this build computes, \
         so its scores would be meaningless here:{}\nUse a model exported for feature contract '{}' \
         (or a cocola version matching the model).",
        list(.differences), .input.contract_version()
    )]
    ContractMismatch {
        /// The input kind the model claims (HPS when it claims none this build knows).
        input: crate::contract::InputKind,
        differences: Vec<ContractDifference>,
    },

    #[error("the model was made for feature contract '{found}', {why}")]
    SupersededContract { found: String, why: &'static str },

    #[error("model metadata '{key}' is invalid: {detail}")]
    BadMetadata { key: String, detail: String },

    #[error("weights lack parameter '{name}' (shape {shape:?})")]
    MissingParameter { name: String, shape: Vec<usize> },

    #[error("parameter '{name}' has shape {found:?}, expected {expected:?}")]
    WrongShape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },

    #[error("parameter '{name}' has a non-finite value ({value}) at flat index {index}")]
    NonFinite { name: String, index: usize, value: f32 },

    #[error("weights contain '{name}', which the COCOLA network has no parameter for (misnamed?)")]
    UnexpectedParameter { name: String },

    #[error("tensor '{name}': {detail}")]
    BadTensor { name: String, detail: String },

    #[error("bad encoder input: {0}")]
    BadInput(String),

    #[error(transparent)]
    Runtime(#[from] RuntimeError),

    #[error("ONNX Runtime failed to {action}: {message}")]
    Ort { action: String, message: String },
}

impl ModelError {
    pub(crate) fn ort(action: &str, e: impl std::fmt::Display) -> Self {
        ModelError::Ort {
            action: action.to_string(),
            message: e.to_string(),
        }
    }
}
