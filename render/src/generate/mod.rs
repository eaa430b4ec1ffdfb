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
//! - [`arrange`]: which parts play, on which instruments.
//! - [`midi_out`], [`output`]: the MIDI file and the facts sidecar.
//! - [`splits`]: pieces per corpus split (index ranges, held-out styles).
//!
//! A piece is a pure function of (corpus seed, piece index): the same
//! arguments give the same bytes on any machine.

mod arrange;
pub mod form;
pub mod grid;
pub mod midi_out;
mod output;
pub mod parts;
pub mod perform;
pub mod progression;
pub mod random;
pub mod score;
mod splits;
pub mod style;
pub mod theory;
pub mod voicing;

pub use arrange::register;
pub use output::write_piece;
pub use splits::{write_split, Split};

use std::collections::HashMap;

use rand::Rng;

use arrange::arrange;
use grid::{Feel, Meter, PPQ};
use perform::{ms_to_ticks, perform, Played};
use random::{one_of, pick, uniform};
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
