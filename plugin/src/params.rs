//! Host-visible parameters and the state saved with the project.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use cocola::mode::Mode;
use cocola::score::Measure;
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
/// together (the combined fit, the surest on an off-beat stem or another song's).
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
    /// The library's measure this shows (the parameter is its own type
    /// because the host's enum trait cannot be implemented on a foreign one).
    pub fn measure(self) -> Measure {
        match self {
            HeadlineMode::Combined => Measure::Combined,
            HeadlineMode::Both => Mode::Both.into(),
            HeadlineMode::Harmonic => Mode::Harmonic.into(),
            HeadlineMode::Percussive => Mode::Percussive.into(),
        }
    }

    /// The single mode shown; `None` for the combined fit.
    pub fn mode(self) -> Option<Mode> {
        self.measure().mode()
    }

    /// How the headline names what it shows.
    pub fn name(self) -> &'static str {
        self.measure().name()
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
    /// Every 5 s, also score the stem transposed by +-1..6 semitones and
    /// moved by +-1..4 eighths of the beat, and say when a transposition or
    /// a move fits clearly better (about twelve plain scores of work per
    /// check). The id predates the timing check; kept so that saved
    /// sessions restore the switch.
    #[id = "keycheck"]
    pub checks: BoolParam,

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
            checks: BoolParam::new("Key and timing check", true),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_headline_shows_its_own_measure_saved_under_its_name() {
        let ids = HeadlineMode::ids().expect("saved by id");
        let shown: Vec<HeadlineMode> = (0..ids.len()).map(HeadlineMode::from_index).collect();
        for measure in Measure::ALL {
            assert_eq!(shown.iter().filter(|h| h.measure() == measure).count(), 1, "{measure}");
        }
        for (headline, id) in shown.iter().zip(ids) {
            assert_eq!(headline.name(), *id, "a preset names the measure as the library does");
        }
    }
}
