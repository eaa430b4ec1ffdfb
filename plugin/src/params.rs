//! Host-visible parameters and the state saved with the project.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use cocola::mode::Mode;
use nice_plug::prelude::*;
use serde::{Deserialize, Serialize};

/// Which model the analyzer runs; saved with the project.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelChoice {
    /// `$COCOLA_MODEL`, else the model built into the plugin.
    #[default]
    Default,
    /// A `.onnx` model or a `.ckpt` checkpoint (imported once) on disk.
    File(PathBuf),
}

/// Which mode's score is the big number.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadlineMode {
    #[id = "both"]
    #[name = "Both"]
    Both,
    #[id = "harmonic"]
    #[name = "Harmonic"]
    Harmonic,
    #[id = "percussive"]
    #[name = "Percussive"]
    Percussive,
}

impl HeadlineMode {
    pub fn mode(self) -> Mode {
        match self {
            HeadlineMode::Both => Mode::Both,
            HeadlineMode::Harmonic => Mode::Harmonic,
            HeadlineMode::Percussive => Mode::Percussive,
        }
    }
}

pub const HOP_RANGE: (f32, f32) = (0.5, 5.0);

#[derive(Params)]
pub struct CocolaParams {
    /// Seconds between scored windows.
    #[id = "hop"]
    pub hop_seconds: FloatParam,
    /// RMS level (dBFS over the 5 s window) below which a side counts as silent.
    #[id = "silence"]
    pub silence_dbfs: FloatParam,
    /// Exponential smoothing of the displayed scores: 0 shows each window as
    /// is, 0.9 averages over roughly the last ten windows.
    #[id = "smooth"]
    pub smoothing: FloatParam,
    #[id = "headline"]
    pub headline: EnumParam<HeadlineMode>,

    #[persist = "model"]
    pub model: Arc<RwLock<ModelChoice>>,
}

impl Default for CocolaParams {
    fn default() -> Self {
        Self {
            hop_seconds: FloatParam::new(
                "Hop",
                1.0,
                FloatRange::Linear {
                    min: HOP_RANGE.0,
                    max: HOP_RANGE.1,
                },
            )
            .with_step_size(0.1)
            .with_unit(" s"),
            silence_dbfs: FloatParam::new(
                "Silence threshold",
                -60.0,
                FloatRange::Linear {
                    min: -100.0,
                    max: -20.0,
                },
            )
            .with_step_size(1.0)
            .with_unit(" dBFS"),
            smoothing: FloatParam::new("Smoothing", 0.5, FloatRange::Linear { min: 0.0, max: 0.95 })
                .with_step_size(0.05),
            headline: EnumParam::new("Headline mode", HeadlineMode::Both),
            model: Arc::new(RwLock::new(ModelChoice::Default)),
        }
    }
}

impl CocolaParams {
    pub fn model_choice(&self) -> ModelChoice {
        self.model.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_model_choice(&self, choice: ModelChoice) {
        *self.model.write().unwrap_or_else(|e| e.into_inner()) = choice;
    }
}
