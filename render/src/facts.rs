//! Musical facts about a piece: tempo, meter, key and key changes, style,
//! form, chords, and what each MIDI part plays.
//!
//! A MIDI file may come with `<name>.facts.json` beside it (the generator
//! writes one; the corpus script writes them for MMA and music21 pieces).
//! Times are seconds of the MIDI file as written. The renderer carries them
//! into each track's `render.json` as `music`, with times and tempo scaled,
//! the key transposed and everything after a crop left out, so that what
//! it says is true of the rendered audio.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// Where the piece comes from: generated, mma, music21, planetblupi, musescore, ...
    pub source: String,
    /// The piece: every rendering (variant) of it shares this id.
    pub piece: String,
    /// The generator's seed (piece index) where generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composer: Option<String>,
    /// Beats per minute, the beat being the meter's (a dotted quarter in 6/8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tempo_bpm: Option<f64>,
    /// Quarter notes per minute (the MIDI tempo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tempo_qpm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter: Option<MeterFact>,
    /// straight, swing or shuffle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feel: Option<String>,
    /// Where the second eighth of a beat falls (0.5 straight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swing_ratio: Option<f64>,
    /// The key at the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeyFact>,
    /// How `key` was known: "generator", "chart", "midi key signature".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_from: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_changes: Vec<KeyChange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<SectionFact>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chords: Vec<ChordFact>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartFact>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeterFact {
    pub numerator: u8,
    pub denominator: u8,
    /// Length of each counted beat in quarter notes (7/8: [1, 1, 1.5]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub beats: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyFact {
    /// Pitch class of the tonic, 0 = C.
    pub tonic: u8,
    pub name: String,
    /// major, minor, harmonic-minor, dorian, mixolydian, lydian, phrygian.
    pub mode: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyChange {
    pub seconds: f64,
    pub key: KeyFact,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SectionFact {
    pub label: String,
    pub start_seconds: f64,
    pub bars: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChordFact {
    pub start_seconds: f64,
    pub end_seconds: f64,
    pub symbol: String,
    pub root: u8,
    pub pitch_classes: Vec<u8>,
}

/// The role of the MIDI part (track, channel).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartFact {
    pub midi_track: usize,
    pub channel: u8,
    /// bass, comping, arpeggio, pad, melody, counter-melody, drums, ...
    pub role: String,
}

/// `piece.mid` -> `piece.facts.json`.
pub fn sidecar_path(midi: &Path) -> PathBuf {
    midi.with_extension("facts.json")
}

/// The facts beside `midi`, if there are any; a sidecar that exists but
/// cannot be read is an error naming it.
pub fn read_sidecar(midi: &Path) -> anyhow::Result<Option<Facts>> {
    let path = sidecar_path(midi);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let facts = serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: not valid facts: {e}", path.display()))?;
    Ok(Some(facts))
}

/// Pitch-class names used in the facts (sharps).
pub const PC_NAMES: [&str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];

impl KeyFact {
    pub fn new(tonic: u8, mode: &str) -> KeyFact {
        KeyFact {
            tonic: tonic % 12,
            name: format!("{} {mode}", PC_NAMES[(tonic % 12) as usize]),
            mode: mode.to_string(),
        }
    }

    pub fn transposed(&self, semitones: i32) -> KeyFact {
        KeyFact::new((self.tonic as i32 + semitones).rem_euclid(12) as u8, &self.mode)
    }
}

impl Facts {
    /// These facts for a rendering played `tempo` times faster, transposed by
    /// `transpose` semitones (pitched parts), cut at `until` seconds (of
    /// the rendering): times scaled, keys and chords moved, what starts
    /// after the cut dropped and what runs past it shortened.
    pub fn rendered(&self, tempo: f64, transpose: i32, until: f64) -> Facts {
        let time = |s: f64| s / tempo;
        let mut f = self.clone();
        // A rendering's stems say what each part plays.
        f.parts = Vec::new();
        f.tempo_bpm = self.tempo_bpm.map(|t| t * tempo);
        f.tempo_qpm = self.tempo_qpm.map(|t| t * tempo);
        f.key = self.key.as_ref().map(|k| k.transposed(transpose));
        f.key_changes = self
            .key_changes
            .iter()
            .map(|k| KeyChange {
                seconds: time(k.seconds),
                key: k.key.transposed(transpose),
            })
            .filter(|k| k.seconds < until)
            .collect();
        f.sections = self
            .sections
            .iter()
            .map(|s| SectionFact {
                start_seconds: time(s.start_seconds),
                ..s.clone()
            })
            .filter(|s| s.start_seconds < until)
            .collect();
        f.chords = self
            .chords
            .iter()
            .map(|c| {
                let root = (c.root as i32 + transpose).rem_euclid(12) as u8;
                let name_len = if c.symbol.chars().nth(1) == Some('#') { 2 } else { 1 };
                ChordFact {
                    start_seconds: time(c.start_seconds),
                    end_seconds: time(c.end_seconds).min(until),
                    symbol: format!(
                        "{}{}",
                        PC_NAMES[root as usize],
                        &c.symbol[name_len.min(c.symbol.len())..]
                    ),
                    root,
                    pitch_classes: c
                        .pitch_classes
                        .iter()
                        .map(|p| (*p as i32 + transpose).rem_euclid(12) as u8)
                        .collect(),
                }
            })
            .filter(|c| c.start_seconds < until)
            .collect();
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_facts_follow_tempo_transposition_and_crop() {
        let f = Facts {
            source: "generated".into(),
            piece: "g1".into(),
            tempo_bpm: Some(100.0),
            tempo_qpm: Some(100.0),
            key: Some(KeyFact::new(0, "major")),
            key_changes: vec![
                KeyChange {
                    seconds: 10.0,
                    key: KeyFact::new(2, "major"),
                },
                KeyChange {
                    seconds: 30.0,
                    key: KeyFact::new(5, "major"),
                },
            ],
            chords: vec![
                ChordFact {
                    start_seconds: 0.0,
                    end_seconds: 12.0,
                    symbol: "C#m7".into(),
                    root: 1,
                    pitch_classes: vec![1, 4, 8, 11],
                },
                ChordFact {
                    start_seconds: 12.0,
                    end_seconds: 40.0,
                    symbol: "G7".into(),
                    root: 7,
                    pitch_classes: vec![7, 11, 2, 5],
                },
            ],
            ..Default::default()
        };
        let r = f.rendered(2.0, 2, 10.0);
        assert_eq!(r.tempo_qpm, Some(200.0));
        assert_eq!(r.key.unwrap().name, "D major");
        assert_eq!(r.key_changes.len(), 1);
        assert_eq!(r.key_changes[0].seconds, 5.0);
        assert_eq!(r.key_changes[0].key.name, "E major");
        assert_eq!(r.chords.len(), 2);
        assert_eq!((r.chords[0].symbol.as_str(), r.chords[0].root), ("D#m7", 3));
        assert_eq!(r.chords[0].end_seconds, 6.0);
        assert_eq!((r.chords[1].symbol.as_str(), r.chords[1].end_seconds), ("A7", 10.0));
    }
}
