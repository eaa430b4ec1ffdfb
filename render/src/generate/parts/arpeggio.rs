//! Arpeggios: the chord's tones one at a time in a repeating figure.

use rand::Rng;

use super::super::grid::{EIGHTH, SIXTEENTH};
use super::super::random::{chance, one_of};
use super::super::score::{Note, Score};
use super::super::voicing::{Spread, Voicer};
use super::{bars, note, velocity};

/// Orders of the voicing's tones (indices, 0 = lowest; 4 = the lowest an
/// octave up).
const FIGURES: [&[usize]; 5] = [
    &[0, 1, 2, 3],
    &[3, 2, 1, 0],
    &[0, 1, 2, 3, 4, 3, 2, 1],
    &[0, 2, 1, 3],
    &[0, 2, 4, 2],
];

pub fn write(score: &Score, rng: &mut impl Rng) -> Vec<Note> {
    let mut voicer = Voicer::new(55, 79, 4, Spread::Close);
    let figure = one_of(rng, &FIGURES);
    let fast = score.bpm < 110.0 && score.meter.denominator == 4 && chance(rng, 0.5);
    let step = if fast { SIXTEENTH } else { EIGHTH };
    let end = score.end_tick();
    let mut notes = Vec::new();
    let mut i = 0;
    for (bar, bar_start, bar_end) in bars(score) {
        let energy = score.section_of_bar(bar).energy;
        if energy < 0.5 && chance(rng, 0.5) {
            continue;
        }
        let mut last_chord = None;
        let mut keys: Vec<u8> = Vec::new();
        for t in (bar_start..bar_end).step_by(step as usize) {
            let chord = score.chord_at(t).chord;
            if last_chord != Some(chord) {
                keys = voicer.voice(&chord);
                last_chord = Some(chord);
            }
            let idx = figure[i % figure.len()];
            let key = if idx >= keys.len() {
                keys[idx - keys.len()] as i32 + 12
            } else {
                keys[idx] as i32
            };
            let v = velocity(score.meter.strength(t - bar_start), energy, 60.0);
            // Let each tone ring a little into the next, as on a harp or guitar.
            notes.push(note(t, step * 2, key, v, end));
            i += 1;
        }
    }
    notes
}
