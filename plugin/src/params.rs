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

/// Which score is the big number: one mode's, or every mode's evidence
/// together (the combined fit, the surest on a transposed or off-beat stem).
/// Saved by id, so the order of the variants can change.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadlineMode {
    #[id = "combined"]
    #[name = "Combined"]
    Combined,
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
    /// The single mode shown; `None` for the combined fit.
    pub fn mode(self) -> Option<Mode> {
        match self {
            HeadlineMode::Combined => None,
            HeadlineMode::Both => Some(Mode::Both),
            HeadlineMode::Harmonic => Some(Mode::Harmonic),
            HeadlineMode::Percussive => Some(Mode::Percussive),
        }
    }

    /// How the headline names what it shows.
    pub fn name(self) -> &'static str {
        self.mode().map_or("combined", Mode::name)
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
            headline: EnumParam::new("Headline mode", HeadlineMode::Combined),
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
