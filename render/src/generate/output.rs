//! A piece written out: its MIDI file and its facts sidecar.

use std::path::Path;

use anyhow::Context;

use super::grid::{Feel, PPQ};
use super::midi_out;
use super::score::Role;
use super::theory::Key;
use super::Piece;
use crate::facts::{ChordFact, Facts, KeyChange, KeyFact, MeterFact, PartFact, SectionFact};

/// Writes `DIR/<id>.mid` and `DIR/<id>.facts.json`, each atomically.
pub fn write_piece(piece: &Piece, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let midi = dir.join(format!("{}.mid", piece.id));
    cocola::atomic_file::write_bytes(&midi, &piece.midi())
        .with_context(|| format!("{}: cannot write", midi.display()))?;
    let facts = crate::facts::sidecar_path(&midi);
    let json = serde_json::to_vec_pretty(&piece.facts())?;
    cocola::atomic_file::write_bytes(&facts, &json).with_context(|| format!("{}: cannot write", facts.display()))?;
    Ok(())
}

impl Piece {
    /// MIDI volume (CC 7) per role: a plausible mix before production.
    fn volume(role: Role) -> u8 {
        match role {
            Role::Drums | Role::Bass => 100,
            Role::Melody => 105,
            Role::Comping | Role::CounterMelody => 85,
            Role::Arpeggio => 80,
            Role::Pad => 90,
        }
    }

    fn tracks(&self) -> Vec<midi_out::TrackOut<'_>> {
        let mut pitched = 0;
        self.parts
            .iter()
            .zip(&self.played)
            .map(|(p, notes)| {
                let channel = midi_out::channel_of(pitched, p.role);
                if p.role != Role::Drums {
                    pitched += 1;
                }
                midi_out::TrackOut {
                    role: p.role,
                    program: p.program,
                    channel,
                    volume: Self::volume(p.role),
                    notes,
                }
            })
            .collect()
    }

    pub fn midi(&self) -> Vec<u8> {
        midi_out::write(&self.score, &self.tracks())
    }

    pub fn facts(&self) -> Facts {
        let s = &self.score;
        let key_fact = |k: &Key| KeyFact::new(k.tonic, k.mode.name());
        let home = s.sections[0].key;
        let mut key_changes = Vec::new();
        let mut current = home;
        for sec in &s.sections {
            if sec.key != current {
                key_changes.push(KeyChange {
                    seconds: s.seconds(s.bar_start(sec.start_bar) as f64),
                    key: key_fact(&sec.key),
                });
                current = sec.key;
            }
        }
        Facts {
            source: "generated".into(),
            piece: self.id.clone(),
            seed: Some(self.index),
            style: Some(self.style.name().into()),
            composer: None,
            tempo_bpm: Some(s.bpm),
            tempo_qpm: Some(s.qpm()),
            meter: Some(MeterFact {
                numerator: s.meter.numerator,
                denominator: s.meter.denominator,
                beats: s.meter.beats.iter().map(|&b| b as f64 / PPQ as f64).collect(),
            }),
            feel: Some(s.feel.name().into()),
            swing_ratio: Some(match s.feel {
                Feel::Straight => 0.5,
                Feel::Swing { ratio } => ratio,
                Feel::Shuffle => 2.0 / 3.0,
            }),
            key: Some(key_fact(&home)),
            key_from: Some("generator".into()),
            key_changes,
            sections: s
                .sections
                .iter()
                .map(|sec| SectionFact {
                    label: sec.label.into(),
                    start_seconds: s.seconds(s.bar_start(sec.start_bar) as f64),
                    bars: sec.bars,
                })
                .collect(),
            chords: s
                .chords
                .iter()
                .map(|c| ChordFact {
                    start_seconds: s.seconds(c.start as f64),
                    end_seconds: s.seconds(c.end as f64),
                    symbol: c.chord.symbol(),
                    root: c.chord.root,
                    pitch_classes: c.chord.pitch_classes(),
                })
                .collect(),
            parts: self
                .tracks()
                .iter()
                .enumerate()
                .map(|(i, t)| PartFact {
                    midi_track: i + 1,
                    channel: t.channel,
                    role: t.role.name().into(),
                })
                .collect(),
        }
    }
}
