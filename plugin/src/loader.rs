//! Turning a [`ModelChoice`] into a ready [`Scorer`], or into the state the
//! GUI shows when that is impossible. Runs on the worker thread only.
//!
//! The model is found by the same resolver as the CLI's
//! ([`cocola::model_source::resolve`]): a chosen file (an `.onnx` model or a
//! `.ckpt` checkpoint, imported once into the user cache), else
//! `$COCOLA_MODEL`, else the embedded default.

use std::time::Instant;

use cocola::model::{LoadOptions, ModelError};
use cocola::model_source::{self, ModelInfo};
use cocola::score::Scorer;

use crate::params::ModelChoice;
use crate::snapshot::State;

pub struct LoadedModel {
    pub scorer: Scorer,
    pub info: ModelInfo,
    /// Resolving (and importing, the first time) plus loading, in ms.
    pub load_ms: f32,
}

pub enum LoadOutcome {
    Loaded(LoadedModel),
    /// The state to show instead (no default, bad file, no ONNX Runtime).
    Unavailable(State),
}

/// Message for the GUI when no model is chosen and the build has none.
pub const NO_DEFAULT_MODEL: &str =
    "no default model installed: choose a COCOLA .onnx model (or an authors' .ckpt checkpoint) below";

pub fn load(choice: &ModelChoice) -> LoadOutcome {
    let options = LoadOptions {
        // The bundle keeps libonnxruntime next to the plugin binary.
        library_dir_hint: crate::location::own_binary_dir(),
        // One thread: the worker must stay a small, predictable load in the host.
        intra_op_threads: 1,
        ..LoadOptions::default()
    };
    let started = Instant::now();
    let explicit = match choice {
        ModelChoice::File(path) => Some(path.as_path()),
        ModelChoice::Default => None,
    };
    let mut log = |message: &str| nice_plug::nice_log!("COCOLA {message}");
    let loaded = model_source::resolve(explicit, &mut log).and_then(|source| {
        let model = source.load(&options)?;
        let info = source.info(model.metadata())?;
        Ok((model, info))
    });
    match loaded {
        Ok((model, info)) => LoadOutcome::Loaded(LoadedModel {
            scorer: Scorer::new(model),
            info,
            load_ms: started.elapsed().as_secs_f32() * 1e3,
        }),
        Err(ModelError::NoDefaultModel) => LoadOutcome::Unavailable(State::NoModel),
        Err(ModelError::Runtime(e)) => LoadOutcome::Unavailable(State::OrtNotFound(e.to_string())),
        Err(e) => {
            let what = explicit.map_or("the default model".to_string(), |p| p.display().to_string());
            LoadOutcome::Unavailable(State::ModelFailed(format!("{what}: {e}")))
        }
    }
}
