//! Drums: a style's groove on the meter's grid, a crash on each new
//! section, fills in the last bar of a section, ghost notes where the style
//! has them. General MIDI drum notes.

use rand::Rng;

use super::super::grid::{Meter, EIGHTH, PPQ, SIXTEENTH};
use super::super::random::{chance, one_of};
use super::super::score::{Note, Score};
use super::super::style::DrumStyle;
use super::bars;

pub const KICK: u8 = 36;
pub const SIDE_STICK: u8 = 37;
pub const SNARE: u8 = 38;
pub const CLAP: u8 = 39;
pub const CLOSED_HAT: u8 = 42;
pub const PEDAL_HAT: u8 = 44;
pub const OPEN_HAT: u8 = 46;
pub const CRASH: u8 = 49;
pub const RIDE: u8 = 51;
pub const TAMBOURINE: u8 = 54;
pub const COWBELL: u8 = 56;
pub const CONGA_MUTE: u8 = 62;
pub const CONGA_OPEN: u8 = 63;
pub const CONGA_LOW: u8 = 64;
pub const CLAVES: u8 = 75;
/// Toms from high to low, for fills.
pub const TOMS: [u8; 5] = [50, 48, 45, 43, 41];

const HIT: u32 = SIXTEENTH;

struct Kit {
    notes: Vec<Note>,
}

impl Kit {
    fn hit(&mut self, t: u32, key: u8, velocity: u8) {
        self.notes.push(Note {
            start: t,
            length: HIT,
            key,
            velocity: velocity.clamp(1, 127),
        });
    }
}

/// Kick on the downbeat and accented beats, snare on the beat before an
/// accent and on the last beat: a backbeat in 4/4 (1 and 3, 2 and 4), the
/// same logic in 3/4, 6/8, 5/4 (3+2), 7/8 (2+2+3) and 12/8.
fn backbeat(meter: &Meter, beat: usize) -> Option<u8> {
    let n = meter.beats.len();
    if beat == 0 {
        Some(KICK)
    } else if beat + 1 == n || meter.accents.contains(&(beat + 1)) {
        Some(SNARE)
    } else if meter.accents.contains(&beat) {
        Some(KICK)
    } else {
        None
    }
}

/// Timekeeping on every eighth (or sixteenth) of the bar.
fn cymbal_grid(kit: &mut Kit, bar_start: u32, bar_len: u32, step: u32, key: u8, meter: &Meter, energy: f32) {
    for t in (0..bar_len).step_by(step as usize) {
        let v = 58.0 + 25.0 * meter.strength(t) + 15.0 * energy;
        kit.hit(bar_start + t, key, v as u8);
    }
}

pub fn write(score: &Score, style: DrumStyle, rng: &mut impl Rng) -> Vec<Note> {
    let meter = &score.meter;
    let bar_len = meter.bar_ticks();
    let starts = meter.beat_starts();
    let simple = meter.beats.iter().all(|&b| b == PPQ);
    let four = meter.numerator == 4 && meter.denominator == 4;
    // Grooves written for 4/4 fall back to the meter-generic backbeat.
    let style = match style {
        DrumStyle::Funk | DrumStyle::FourOnFloor | DrumStyle::Bossa | DrumStyle::Salsa | DrumStyle::JazzRide
            if !simple =>
        {
            DrumStyle::Odd
        }
        s => s,
    };
    let kick_variant = one_of(rng, &[0u32, 1, 2]);
    let mut kit = Kit { notes: Vec::new() };
    for (bar, bar_start, _) in bars(score) {
        let section = score.section_of_bar(bar);
        let energy = section.energy;
        let fill = score.ends_section(bar) && bar + 1 < score.bars() && chance(rng, 0.75);
        let groove_end = if fill {
            bar_len - fill_length(meter, energy)
        } else {
            bar_len
        };
        let at = |o: u32| bar_start + o;
        // The groove, up to where a fill takes over.
        let mut groove = Kit { notes: Vec::new() };
        match style {
            DrumStyle::Rock | DrumStyle::Odd | DrumStyle::Folk | DrumStyle::Shuffle | DrumStyle::HalfTime => {
                let ride = energy >= 0.9 && chance(rng, 0.5);
                let cymbal = if style == DrumStyle::Folk {
                    TAMBOURINE
                } else if ride {
                    RIDE
                } else {
                    CLOSED_HAT
                };
                let step = if energy < 0.5 && simple { PPQ } else { EIGHTH };
                cymbal_grid(&mut groove, bar_start, bar_len, step, cymbal, meter, energy);
                for (i, &s) in starts.iter().enumerate() {
                    let piece = if style == DrumStyle::HalfTime {
                        // Snare only on the middle accent, kick on the downbeat.
                        match i {
                            0 => Some(KICK),
                            _ if meter.accents.get(1) == Some(&i) => Some(SNARE),
                            _ => None,
                        }
                    } else {
                        backbeat(meter, i)
                    };
                    match piece {
                        Some(SNARE) if style == DrumStyle::Folk && chance(rng, 0.5) => {
                            groove.hit(at(s), SIDE_STICK, 90)
                        }
                        Some(p) => groove.hit(at(s), p, if p == KICK { 105 } else { 100 }),
                        None => {}
                    }
                }
                // Kick variations between beats (rock): the and of 3, or of 2.
                if four && style == DrumStyle::Rock && kick_variant > 0 {
                    let extra = if kick_variant == 1 {
                        2 * PPQ + EIGHTH
                    } else {
                        PPQ + EIGHTH
                    };
                    groove.hit(at(extra), KICK, 90);
                }
            }
            DrumStyle::JazzRide => {
                for (i, &s) in starts.iter().enumerate() {
                    groove.hit(at(s), RIDE, 80 + 10 * (i % 2) as u8);
                    if i % 2 == 1 {
                        groove.hit(at(s + EIGHTH), RIDE, 65);
                        groove.hit(at(s), PEDAL_HAT, 70);
                    }
                    groove.hit(at(s), KICK, 35); // feathered
                    if chance(rng, 0.15) {
                        groove.hit(at(s + EIGHTH), SNARE, 45);
                    }
                }
            }
            DrumStyle::Bossa => {
                let rim: &[u32] = if bar % 2 == 0 { &[0, 3, 6] } else { &[2, 4] };
                for &e in rim {
                    groove.hit(at(e * EIGHTH), SIDE_STICK, 85);
                }
                cymbal_grid(&mut groove, bar_start, bar_len, EIGHTH, CLOSED_HAT, meter, energy * 0.5);
                for o in [0, PPQ + EIGHTH, 2 * PPQ, 3 * PPQ + EIGHTH] {
                    if o < bar_len {
                        groove.hit(at(o), KICK, if o % PPQ == 0 { 95 } else { 70 });
                    }
                }
            }
            DrumStyle::Salsa => {
                // Son clave 3-2 over two bars, cowbell on the beats, conga tumbao.
                let clave: &[u32] = if bar % 2 == 0 { &[0, 3, 6] } else { &[2, 4] };
                for &e in clave {
                    groove.hit(at(e * EIGHTH), CLAVES, 95);
                }
                for &s in &starts {
                    groove.hit(at(s), COWBELL, 85);
                }
                for (e, drum) in [
                    (3, CONGA_OPEN),
                    (6, CONGA_OPEN),
                    (7, CONGA_LOW),
                    (1, CONGA_MUTE),
                    (5, CONGA_MUTE),
                ] {
                    if e * EIGHTH < bar_len {
                        groove.hit(at(e * EIGHTH), drum, 80);
                    }
                }
                groove.hit(at(bar_len * 3 / 8), KICK, 85);
                groove.hit(at(bar_len * 3 / 4), KICK, 90);
            }
            DrumStyle::Funk => {
                let kicks: [&[u32]; 3] = [&[0, 3, 8, 10], &[0, 6, 10, 13], &[0, 2, 7, 10]];
                let pattern = kicks[kick_variant as usize];
                for s in (0..bar_len / SIXTEENTH).map(|i| i * SIXTEENTH) {
                    let open = s % PPQ == EIGHTH && chance(rng, 0.12);
                    groove.hit(
                        at(s),
                        if open { OPEN_HAT } else { CLOSED_HAT },
                        if s % EIGHTH == 0 { 80 } else { 55 },
                    );
                    let sixteenth = s / SIXTEENTH;
                    if pattern.contains(&sixteenth) {
                        groove.hit(at(s), KICK, 100);
                    } else if sixteenth % 8 == 4 {
                        groove.hit(at(s), SNARE, 110);
                    } else if chance(rng, 0.18) {
                        groove.hit(at(s), SNARE, 38); // ghost note
                    }
                }
            }
            DrumStyle::FourOnFloor => {
                for &s in &starts {
                    groove.hit(at(s), KICK, 110);
                    groove.hit(at(s + EIGHTH), if energy >= 0.7 { OPEN_HAT } else { CLOSED_HAT }, 80);
                }
                for (i, &s) in starts.iter().enumerate() {
                    if i % 2 == 1 {
                        groove.hit(at(s), if chance(rng, 0.5) { CLAP } else { SNARE }, 100);
                    }
                }
                if energy >= 0.9 {
                    cymbal_grid(&mut groove, bar_start, bar_len, SIXTEENTH, CLOSED_HAT, meter, 0.0);
                }
            }
            DrumStyle::None => {}
        }
        kit.notes
            .extend(groove.notes.into_iter().filter(|n| n.start < bar_start + groove_end));
        if fill {
            write_fill(&mut kit, bar_start + groove_end, bar_start + bar_len, rng);
        }
        // A crash (with the kick) opens every section after the first.
        if bar > 0 && bar == section.start_bar && energy >= 0.5 {
            kit.hit(bar_start, CRASH, 105);
            if !kit.notes.iter().any(|n| n.start == bar_start && n.key == KICK) {
                kit.hit(bar_start, KICK, 100);
            }
        }
    }
    kit.notes.sort_by_key(|n| (n.start, n.key));
    kit.notes.dedup_by_key(|n| (n.start, n.key));
    kit.notes
}

/// One beat of fill, two at high energy (never the whole bar).
fn fill_length(meter: &Meter, energy: f32) -> u32 {
    let n = meter.beats.len();
    let beats = if energy >= 0.8 && n >= 3 { 2 } else { 1 };
    meter.beats[n - beats..].iter().sum()
}

/// Sixteenths from the snare down the toms, getting louder.
fn write_fill(kit: &mut Kit, from: u32, to: u32, rng: &mut impl Rng) {
    let step = SIXTEENTH;
    let count = (to - from) / step;
    let start_drum = if chance(rng, 0.5) { 0 } else { 1 };
    for i in 0..count {
        let t = from + i * step;
        let progress = i as f32 / count.max(1) as f32;
        let drum = if i < count / 3 + start_drum {
            SNARE
        } else {
            TOMS[((progress * TOMS.len() as f32) as usize).min(TOMS.len() - 1)]
        };
        kit.hit(t, drum, (80.0 + 35.0 * progress) as u8);
    }
}
