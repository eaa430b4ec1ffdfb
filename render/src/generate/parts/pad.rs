//! Pads: the harmony held, one voice-led chord per change.

use super::super::score::{Note, Score};
use super::super::voicing::{Spread, Voicer};
use super::note;

pub fn write(score: &Score) -> Vec<Note> {
    let mut voicer = Voicer::new(50, 76, 4, Spread::Close);
    let end = score.end_tick();
    let bar = score.bar_ticks();
    let mut notes = Vec::new();
    for span in &score.chords {
        let keys = voicer.voice(&span.chord);
        let energy = score.section_of_bar((span.start / bar) as usize).energy;
        let v = (60.0 + 25.0 * energy).round() as u8;
        for k in keys {
            notes.push(note(span.start, span.end - span.start, k as i32, v, end));
        }
    }
    notes
}
