//! Turning a [`ModelChoice`] into a ready [`Scorer`], or into the state the
//! GUI shows when that is impossible. Runs on the worker thread only.

use std::time::Instant;

use cocola::model::{LoadOptions, Model, ModelError};
use cocola::score::Scorer;

use crate::params::ModelChoice;
use crate::snapshot::{ModelInfo, State};

pub struct LoadedModel {
    pub scorer: Scorer,
    pub info: ModelInfo,
}

pub enum LoadOutcome {
    Loaded(LoadedModel),
    /// The state to show instead (no default, bad file, no ONNX Runtime).
    Unavailable(State),
}

/// Message for the GUI when no model is chosen and the build has none.
pub const NO_DEFAULT_MODEL: &str = "no default model installed: choose a COCOLA .onnx model file below";

pub fn load(choice: &ModelChoice) -> LoadOutcome {
    let options = LoadOptions {
        // The bundle keeps libonnxruntime next to the plugin binary.
        library_dir_hint: crate::location::own_binary_dir(),
        // One thread: the worker must stay a small, predictable load in the host.
        intra_op_threads: 1,
        ..LoadOptions::default()
    };
    let started = Instant::now();
    let (result, source) = match choice {
        ModelChoice::File(path) => (Model::load(path, &options), path.display().to_string()),
        // The same lookup as the CLI: $COCOLA_MODEL, else the embedded default.
        ModelChoice::Default => match cocola::default_model::resolve(None) {
            Ok(source) => (source.load(&options), source.describe()),
            Err(_) => return LoadOutcome::Unavailable(State::NoModel),
        },
    };
    match result {
        Ok(model) => {
            let meta = model.metadata();
            let info = ModelInfo {
                name: meta.name.clone(),
                version: meta.version.clone(),
                description: meta.description.clone(),
                source,
                calibrated: meta.calibration.is_some(),
                load_ms: started.elapsed().as_secs_f32() * 1e3,
            };
            LoadOutcome::Loaded(LoadedModel {
                scorer: Scorer::new(model),
                info,
            })
        }
        Err(ModelError::Runtime(e)) => LoadOutcome::Unavailable(State::OrtNotFound(e.to_string())),
        Err(e) => LoadOutcome::Unavailable(State::ModelFailed(format!("{source}: {e}"))),
    }
}
