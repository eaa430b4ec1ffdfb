//! The arrangement: which parts play, on which GM instruments, and their notes.

use rand::Rng;

use super::parts;
use super::random::{chance, one_of, pick};
use super::score::{Part, Role, Score};
use super::style::{self, StyleSpec};

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
pub(super) fn arrange(score: &Score, spec: &StyleSpec, rng: &mut impl Rng) -> Vec<Part> {
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
