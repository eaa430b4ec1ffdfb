//! The procedural multi-stem music generator: seeded pieces in many styles
//! whose parts follow one harmony and one grid, written as multi-track MIDI
//! (one part per track, one stem each) with their facts beside them.
//!
//! - [`theory`]: keys, modes, chords.
//! - [`grid`]: meters, feels, ticks.
//! - [`style`]: what each style draws (tempo, meter, feel, modes, parts, instruments).
//! - [`progression`]: chord grammars per style.
//! - [`form`]: sections, energy, key changes.
//! - [`voicing`]: voice-led chord voicings.
//! - [`parts`]: bass, comping, arpeggio, pad, melody, counter-melody, drums.
//! - [`perform`]: feel and humanisation.
//! - [`midi_out`]: the MIDI file.
//!
//! A piece is a pure function of (corpus seed, piece index): the same
//! arguments give the same bytes on any machine.

pub mod form;
pub mod grid;
pub mod midi_out;
pub mod parts;
pub mod perform;
pub mod progression;
pub mod random;
pub mod score;
pub mod style;
pub mod theory;
pub mod voicing;

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use rand::Rng;

use crate::facts::{ChordFact, Facts, KeyChange, KeyFact, MeterFact, PartFact, SectionFact};
use grid::{Feel, Meter, PPQ};
use perform::{ms_to_ticks, perform, Played};
use random::{chance, one_of, pick, uniform};
use score::{ChordSpan, Part, Role, Score, Section};
use style::{FeelKind, Style, StyleSpec};
use theory::Key;

/// A generated piece: its score, its parts as written and as played.
#[derive(Clone, Debug)]
pub struct Piece {
    pub id: String,
    pub seed: u64,
    pub index: u64,
    pub style: Style,
    pub score: Score,
    pub parts: Vec<Part>,
    /// `parts[i]` as played (feel and humanisation).
    pub played: Vec<Vec<Played>>,
    /// Timing spread of the pitched parts in ticks (drums: two thirds).
    pub timing_sd: f64,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// Styles to draw from (uniformly).
    pub styles: Vec<Style>,
    /// Length of a piece in seconds, drawn uniformly (whole sections: the
    /// piece ends with the first section that reaches it).
    pub seconds: (f64, f64),
}

/// The piece with index `index` of a corpus with seed `seed`.
pub fn generate(seed: u64, index: u64, options: &GenerateOptions) -> Piece {
    assert!(!options.styles.is_empty(), "no styles to generate");
    let id = piece_id(index);
    let mut rng = cocola::seeded::stream(b"cocola-generate-v1", &[&seed.to_le_bytes(), id.as_bytes()]);
    let style = one_of(&mut rng, &options.styles);
    let spec = style.spec();
    let score = compose(spec, options.seconds, &mut rng);
    let parts = arrange(&score, spec, &mut rng);
    let timing_sd = ms_to_ticks(spec.humanize_ms, score.qpm());
    let played = parts
        .iter()
        .map(|p| {
            let sd = if p.role == Role::Drums {
                timing_sd * 2.0 / 3.0
            } else {
                timing_sd
            };
            perform(&p.notes, &score.meter, &score.feel, sd, 6.0, &mut rng)
        })
        .collect();
    Piece {
        id,
        seed,
        index,
        style,
        score,
        parts,
        played,
        timing_sd,
    }
}

/// File name (without extension) of piece `index`.
pub fn piece_id(index: u64) -> String {
    format!("gen{index:08}")
}

/// Meter, tempo, feel, key, form and harmony.
fn compose(spec: &StyleSpec, seconds: (f64, f64), rng: &mut impl Rng) -> Score {
    let meter = Meter::named(pick(rng, spec.meters)).expect("styles name known meters");
    let qpm = uniform(rng, spec.bpm.0, spec.bpm.1).round();
    let bpm = qpm * PPQ as f64 / meter.beats[0] as f64;
    let simple = meter.beats.iter().all(|&b| b == PPQ);
    let feel = match pick(rng, spec.feels) {
        _ if !simple => Feel::Straight,
        FeelKind::Straight => Feel::Straight,
        FeelKind::Swing => Feel::Swing {
            ratio: (uniform(rng, 0.58, 0.67) * 100.0).round() / 100.0,
        },
        FeelKind::Shuffle => Feel::Shuffle,
    };
    let home = Key {
        tonic: cocola::seeded::below(rng, 12) as u8,
        mode: pick(rng, spec.modes),
    };
    let bar_seconds = meter.bar_ticks() as f64 / PPQ as f64 * 60.0 / qpm;
    let target = uniform(rng, seconds.0, seconds.1);
    let sections = form::sections(rng, spec.style, home, target, bar_seconds, spec.key_change);
    let chords = harmony(&sections, &meter, spec.style, rng);
    Score {
        meter,
        feel,
        bpm,
        sections,
        chords,
    }
}

/// The chord timeline: each section label's progression (drawn once per
/// label and key, so repeated sections repeat), bars split between their
/// chords at the beat nearest the middle.
fn harmony(sections: &[Section], meter: &Meter, style: Style, rng: &mut impl Rng) -> Vec<ChordSpan> {
    let bar = meter.bar_ticks();
    let starts = meter.beat_starts();
    let mut memo: HashMap<(&str, u8, u8), Vec<Vec<theory::Chord>>> = HashMap::new();
    let mut spans: Vec<ChordSpan> = Vec::new();
    for s in sections {
        let k = (s.label, s.key.tonic, s.key.mode as u8);
        let prog = memo
            .entry(k)
            .or_insert_with(|| progression::section_progression(rng, style, s.key, s.label, s.bars, meter.beats.len()))
            .clone();
        for (i, chords) in prog.iter().enumerate() {
            let bar_start = (s.start_bar + i) as u32 * bar;
            let n = chords.len();
            for (j, chord) in chords.iter().enumerate() {
                let split = |j: usize| {
                    if j == 0 {
                        0
                    } else if j == n {
                        bar
                    } else {
                        let ideal = bar * j as u32 / n as u32;
                        *starts
                            .iter()
                            .min_by_key(|&&b| (b as i64 - ideal as i64).abs())
                            .unwrap_or(&ideal)
                    }
                };
                let (from, to) = (bar_start + split(j), bar_start + split(j + 1));
                // Merge with the previous span when the chord just continues.
                if let Some(last) = spans.last_mut() {
                    if last.chord == *chord && last.key == s.key && last.end == from {
                        last.end = to;
                        continue;
                    }
                }
                spans.push(ChordSpan {
                    start: from,
                    end: to,
                    chord: *chord,
                    key: s.key,
                });
            }
        }
    }
    spans
}

/// A program from `pool`, different from the ones already `used` where
/// the pool allows.
fn choose_program(pool: &[u8], used: &mut Vec<u8>, rng: &mut impl Rng) -> u8 {
    let fresh: Vec<u8> = pool.iter().copied().filter(|p| !used.contains(p)).collect();
    let p = one_of(rng, if fresh.is_empty() { pool } else { &fresh });
    used.push(p);
    p
}

/// The keys a melodic instrument plays comfortably (GM program).
pub fn register(program: u8) -> (i32, i32) {
    match program {
        42 | 70 => (43, 67),                // cello, bassoon
        57 | 58 | 67 => (43, 67),           // trombone, tuba, baritone sax
        41 | 60 | 61 | 66 | 69 => (50, 74), // viola, horn, brass section, tenor sax, cor anglais
        71 => (52, 79),                     // clarinet
        40 | 110 => (57, 86),               // violin, fiddle
        72 => (72, 96),                     // piccolo
        73..=79 => (62, 88),                // flutes, recorder, pan pipes, ocarina
        56 | 59 => (55, 80),                // trumpet
        65 | 68 => (57, 81),                // alto sax, oboe
        _ => (57, 84),
    }
}

/// Which parts play, their instruments and notes.
fn arrange(score: &Score, spec: &StyleSpec, rng: &mut impl Rng) -> Vec<Part> {
    let odds = spec.parts;
    let pools = spec.programs;
    let drum_style = pick(rng, spec.drums);
    let with_drums = drum_style != style::DrumStyle::None && chance(rng, odds.drums);
    let mut comping = chance(rng, odds.comping);
    let arpeggio = chance(rng, odds.arpeggio);
    let pad = chance(rng, odds.pad);
    let counter = chance(rng, odds.counter);
    if !(comping || arpeggio || pad) {
        comping = true;
    }
    let mut used = Vec::new();
    let mut parts = Vec::new();
    if with_drums {
        parts.push(Part {
            role: Role::Drums,
            program: 0,
            notes: parts::drums::write(score, drum_style, rng),
        });
    }
    let bass_program = choose_program(pools.bass, &mut used, rng);
    parts.push(Part {
        role: Role::Bass,
        program: bass_program,
        notes: parts::bass::write(score, pick(rng, spec.bass), rng),
    });
    if comping {
        let program = choose_program(pools.comping, &mut used, rng);
        parts.push(Part {
            role: Role::Comping,
            program,
            notes: parts::comping::write(score, pick(rng, spec.comping), rng),
        });
    }
    if arpeggio {
        let program = choose_program(pools.arpeggio, &mut used, rng);
        parts.push(Part {
            role: Role::Arpeggio,
            program,
            notes: parts::arpeggio::write(score, rng),
        });
    }
    if pad {
        let program = choose_program(pools.pad, &mut used, rng);
        parts.push(Part {
            role: Role::Pad,
            program,
            notes: parts::pad::write(score),
        });
    }
    let melody_program = choose_program(pools.melody, &mut used, rng);
    let (low, high) = register(melody_program);
    let melody = parts::melody::write(score, low, high, rng);
    if counter {
        let program = choose_program(pools.counter, &mut used, rng);
        let (c_low, c_high) = register(program);
        let notes = parts::melody::counter(score, &melody, c_low, c_high.min(high - 5), rng);
        parts.push(Part {
            role: Role::CounterMelody,
            program,
            notes,
        });
    }
    parts.push(Part {
        role: Role::Melody,
        program: melody_program,
        notes: melody,
    });
    parts
}

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
            Role::Pad => 72,
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

/// The corpus splits. Pieces are split by index range, so a larger corpus
/// contains every piece of a smaller one in the same split, and the
/// held-out styles are generated only for the out-of-distribution split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Split {
    Train,
    Validation,
    Test,
    #[value(name = "test-ood")]
    TestOod,
}

impl Split {
    /// Index of the split's first piece.
    pub fn first_index(self) -> u64 {
        match self {
            Split::Train => 0,
            Split::Validation => 100_000_000,
            Split::Test => 200_000_000,
            Split::TestOod => 300_000_000,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
            Split::TestOod => "test-ood",
        }
    }

    /// The styles of the split's pieces.
    pub fn styles(self) -> Vec<Style> {
        let held_out = |s: &Style| style::HELD_OUT_STYLES.contains(s);
        style::ALL_STYLES
            .iter()
            .copied()
            .filter(|s| held_out(s) == (self == Split::TestOod))
            .collect()
    }
}

/// Writes pieces `0..count` of `split` into `dir` (skipping those already
/// there); returns how many were written.
pub fn write_split(dir: &Path, split: Split, count: u64, seed: u64, seconds: (f64, f64)) -> anyhow::Result<usize> {
    use rayon::prelude::*;
    let options = GenerateOptions {
        styles: split.styles(),
        seconds,
    };
    let todo: Vec<u64> = (0..count)
        .map(|i| split.first_index() + i)
        .filter(|&i| !crate::facts::sidecar_path(&dir.join(format!("{}.mid", piece_id(i)))).is_file())
        .collect();
    todo.par_iter()
        .map(|&i| write_piece(&generate(seed, i, &options), dir))
        .collect::<anyhow::Result<Vec<()>>>()?;
    Ok(todo.len())
}
