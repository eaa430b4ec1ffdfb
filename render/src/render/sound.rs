//! What plays a part: a General-MIDI SoundFont (the part's own program, or
//! its drum kit on the GM drum channel), a drum-kit preset of a SoundFont
//! chosen explicitly, or a sampled instrument from the library; and the
//! rendering of the part's events with it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustysynth::SoundFont;
use serde::Serialize;

use super::midi::{Event, Msg};
use super::synth;
use crate::sampler::instrument::Instrument;
use crate::sampler::player;

#[derive(Clone)]
pub enum Voice<'a> {
    SoundFont {
        path: &'a Path,
        font: &'a Arc<SoundFont>,
    },
    /// A SoundFont preset played as a drum kit on a melodic channel (kits
    /// outside the GM drum bank).
    KitPreset {
        set: &'a str,
        path: &'a Path,
        font: &'a Arc<SoundFont>,
        bank: u8,
        program: u8,
    },
    Sampled {
        set: &'a str,
        instrument: Arc<Instrument>,
    },
}

/// What `render.json` records about a stem's sound source.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SoundInfo {
    /// The GM SoundFont at `path`, with the part's program (or GM drums).
    #[serde(rename = "soundfont")]
    SoundFont { path: PathBuf },
    /// Preset `bank:program` of the SoundFont at `path`, from sample set `set`.
    #[serde(rename = "soundfont-preset")]
    SoundFontPreset {
        set: String,
        path: PathBuf,
        bank: u8,
        program: u8,
    },
    /// Sample set `set` of the catalogue (docs/CORPUS.md).
    Sampled { set: String },
}

impl Voice<'_> {
    pub fn info(&self) -> SoundInfo {
        match self {
            Voice::SoundFont { path, .. } => SoundInfo::SoundFont {
                path: path.to_path_buf(),
            },
            Voice::KitPreset {
                set,
                path,
                bank,
                program,
                ..
            } => SoundInfo::SoundFontPreset {
                set: set.to_string(),
                path: path.to_path_buf(),
                bank: *bank,
                program: *program,
            },
            Voice::Sampled { set, .. } => SoundInfo::Sampled { set: set.to_string() },
        }
    }

    /// The SoundFont file, if this voice is one.
    pub fn soundfont(&self) -> Option<&Path> {
        match self {
            Voice::SoundFont { path, .. } | Voice::KitPreset { path, .. } => Some(path),
            Voice::Sampled { .. } => None,
        }
    }

    /// Renders `events` (sorted by time) into `total` mono samples.
    pub fn render(
        &self,
        events: &[Event],
        total: usize,
        sample_rate: u32,
        reverb_chorus: bool,
    ) -> anyhow::Result<Vec<f32>> {
        match self {
            Voice::SoundFont { font, .. } => synth::render_events(font, events, total, sample_rate, reverb_chorus),
            Voice::KitPreset {
                font, bank, program, ..
            } => {
                let moved = on_melodic_channel(events, *bank, *program);
                synth::render_events(font, &moved, total, sample_rate, reverb_chorus)
            }
            Voice::Sampled { instrument, .. } => {
                anyhow::ensure!(
                    sample_rate == crate::sampler::recordings::SAMPLE_RATE,
                    "sampled instruments render at {} Hz only",
                    crate::sampler::recordings::SAMPLE_RATE
                );
                Ok(player::render(instrument, events, total, sample_rate))
            }
        }
    }
}

/// The channel a kit preset is played on: any but the GM drum channel,
/// where synthesizers switch to the percussion bank.
const KIT_CHANNEL: u8 = 0;

/// `events` moved to [`KIT_CHANNEL`], preceded by the bank select and
/// program change of the kit, with the part's own program changes dropped.
fn on_melodic_channel(events: &[Event], bank: u8, program: u8) -> Vec<Event> {
    let at = |msg| Event {
        time: 0.0,
        channel: KIT_CHANNEL,
        msg,
    };
    let mut out = vec![at(Msg::Controller { cc: 0, value: bank }), at(Msg::Program(program))];
    out.extend(
        events
            .iter()
            .filter(|e| !matches!(e.msg, Msg::Program(_) | Msg::Controller { cc: 0 | 32, .. }))
            .map(|e| Event {
                channel: KIT_CHANNEL,
                ..*e
            }),
    );
    out
}
