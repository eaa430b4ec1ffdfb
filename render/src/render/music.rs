//! The musical facts of a MIDI file that came without a facts sidecar (or
//! with one that leaves some out): tempo, meter and key signature as the
//! file states them.

use super::midi::Song;
use crate::facts::{Facts, KeyFact, MeterFact};

/// Facts read from the MIDI file alone.
pub fn from_midi(song: &Song, piece: &str) -> Facts {
    complete(
        Facts {
            source: "midi".into(),
            piece: piece.into(),
            ..Default::default()
        },
        song,
    )
}

/// `facts` with what they leave out taken from the MIDI file: tempo (the
/// first, if the file changes tempo), meter, and the key its first key
/// signature implies.
pub fn complete(mut facts: Facts, song: &Song) -> Facts {
    if facts.tempo_qpm.is_none() {
        facts.tempo_qpm = song.tempo_qpm;
    }
    if facts.meter.is_none() {
        facts.meter = song.meter.map(|(numerator, denominator)| MeterFact {
            numerator,
            denominator,
            beats: vec![beat_quarters(numerator, denominator); beat_count(numerator, denominator)],
        });
    }
    if facts.tempo_bpm.is_none() {
        if let (Some(qpm), Some(m)) = (facts.tempo_qpm, &facts.meter) {
            let beat = m.beats.first().copied().unwrap_or(1.0);
            facts.tempo_bpm = Some(qpm / beat);
        }
    }
    if facts.key.is_none() {
        if let Some((sharps, minor)) = song.key_signature {
            let major_tonic = (sharps as i32 * 7).rem_euclid(12) as u8;
            facts.key = Some(if minor {
                KeyFact::new((major_tonic + 9) % 12, "minor")
            } else {
                KeyFact::new(major_tonic, "major")
            });
            facts.key_from = Some("midi key signature".into());
        }
    }
    facts
}

/// Whether x/8 (or x/16) groups in threes: 6/8, 9/8, 12/8.
fn compound(numerator: u8, denominator: u8) -> bool {
    denominator >= 8 && numerator.is_multiple_of(3) && numerator > 3
}

/// Length of the counted beat in quarter notes.
fn beat_quarters(numerator: u8, denominator: u8) -> f64 {
    let unit = 4.0 / denominator.max(1) as f64;
    if compound(numerator, denominator) {
        3.0 * unit
    } else {
        unit
    }
}

fn beat_count(numerator: u8, denominator: u8) -> usize {
    if compound(numerator, denominator) {
        numerator as usize / 3
    } else {
        numerator as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn song(tempo: Option<f64>, meter: Option<(u8, u8)>, key: Option<(i8, bool)>) -> Song {
        Song {
            parts: vec![],
            duration: 0.0,
            tempo_qpm: tempo,
            tempi: 1,
            meter,
            key_signature: key,
        }
    }

    #[test]
    fn meta_events_become_facts() {
        let f = from_midi(&song(Some(120.0), Some((6, 8)), Some((-3, true))), "p");
        let m = f.meter.unwrap();
        assert_eq!((m.numerator, m.denominator, m.beats), (6, 8, vec![1.5, 1.5]));
        assert_eq!(f.tempo_bpm, Some(80.0));
        assert_eq!(f.key.unwrap().name, "C minor");
        let f = from_midi(&song(Some(100.0), Some((4, 4)), Some((2, false))), "p");
        assert_eq!((f.tempo_bpm, f.key.unwrap().name.as_str()), (Some(100.0), "D major"));
        let f = from_midi(&song(None, None, None), "p");
        assert!(f.tempo_bpm.is_none() && f.meter.is_none() && f.key.is_none());
    }
}
