//! Per-part synthesis with rustysynth, and GM program choice.
//!
//! Every part gets its own synthesizer, so stems never bleed into each other
//! and all of them start at sample 0 of the same timeline (time-aligned by
//! construction).

use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustysynth::{SoundFont, Synthesizer, SynthesizerSettings};

use super::midi::{Event, Msg};

/// The 16 GM program families (8 programs each), as stem names.
pub const FAMILIES: [&str; 16] = [
    "piano",
    "chromatic-percussion",
    "organ",
    "guitar",
    "bass",
    "strings",
    "ensemble",
    "brass",
    "reed",
    "pipe",
    "synth-lead",
    "synth-pad",
    "synth-fx",
    "ethnic",
    // Unpitched families get names starting with "percussion": the corpus
    // promises that every stem not named drums* or percussion* has pitch.
    "percussion",
    "percussion-fx",
];

pub fn family(program: u8) -> &'static str {
    FAMILIES[(program as usize / 8).min(15)]
}

/// Loads a SoundFont; errors (including a panic inside the parser on a
/// malformed file) name the file.
pub fn load_soundfont(path: &Path) -> anyhow::Result<Arc<SoundFont>> {
    let file = std::fs::File::open(path).with_context(|| format!("{}: cannot open SoundFont", path.display()))?;
    let mut reader = BufReader::new(file);
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| SoundFont::new(&mut reader)));
    match parsed {
        Ok(Ok(sf)) => {
            anyhow::ensure!(
                !sf.get_presets().is_empty(),
                "{}: SoundFont has no presets",
                path.display()
            );
            Ok(Arc::new(sf))
        }
        Ok(Err(e)) => Err(anyhow::anyhow!(
            "{}: not a readable SoundFont ({e}; only .sf2 is supported, not .sf3)",
            path.display()
        )),
        Err(_) => Err(anyhow::anyhow!(
            "{}: not a readable SoundFont (parser failed)",
            path.display()
        )),
    }
}

/// Plays `events` (sorted by time) through a fresh synthesizer and returns
/// `total` mono samples ((L + R) / 2).
pub fn render_events(
    sf: &Arc<SoundFont>,
    events: &[Event],
    total: usize,
    sample_rate: u32,
    reverb_chorus: bool,
) -> anyhow::Result<Vec<f32>> {
    let mut settings = SynthesizerSettings::new(sample_rate as i32);
    settings.enable_reverb_and_chorus = reverb_chorus;
    let mut synth = Synthesizer::new(sf, &settings).map_err(|e| anyhow::anyhow!("synthesizer: {e}"))?;
    let mut left = vec![0f32; total];
    let mut right = vec![0f32; total];
    let mut pos = 0usize;
    for e in events {
        let at = ((e.time * sample_rate as f64).round().max(0.0) as usize).min(total);
        if at > pos {
            synth.render(&mut left[pos..at], &mut right[pos..at]);
            pos = at;
        }
        let ch = e.channel as i32;
        match e.msg {
            Msg::NoteOn { key, vel } => synth.note_on(ch, key as i32, vel as i32),
            Msg::NoteOff { key } => synth.note_off(ch, key as i32),
            Msg::KeyPressure { key, value } => synth.process_midi_message(ch, 0xA0, key as i32, value as i32),
            Msg::Controller { cc, value } => synth.process_midi_message(ch, 0xB0, cc as i32, value as i32),
            Msg::Program(p) => synth.process_midi_message(ch, 0xC0, p as i32, 0),
            Msg::ChannelPressure(v) => synth.process_midi_message(ch, 0xD0, v as i32, 0),
            Msg::PitchBend(b) => synth.process_midi_message(ch, 0xE0, (b & 0x7F) as i32, (b >> 7) as i32),
        }
    }
    if total > pos {
        synth.render(&mut left[pos..], &mut right[pos..]);
    }
    Ok(left.iter().zip(&right).map(|(l, r)| 0.5 * (l + r)).collect())
}
