//! The parts of an arrangement, each written from the [`Score`]'s harmony
//! and grid. All return notes on the straight grid; feel and humanisation
//! come later, for all parts alike.

pub mod arpeggio;
pub mod bass;
pub mod comping;
pub mod drums;
pub mod melody;
pub mod pad;

use super::score::{Note, Score};
use super::theory::nearest_key;

/// Velocity for a note at `strength` (0-1, see `Meter::strength`) in a
/// section of `energy` (0-1), before humanisation.
pub fn velocity(strength: f32, energy: f32, base: f32) -> u8 {
    (base + 22.0 * energy + 18.0 * (strength - 0.5))
        .round()
        .clamp(20.0, 127.0) as u8
}

/// The key of pitch class `pc` nearest to `near`, moved by octaves into
/// `low..=high`.
pub fn in_range(pc: u8, near: i32, low: i32, high: i32) -> i32 {
    let mut k = nearest_key(pc, near.clamp(low, high));
    while k < low {
        k += 12;
    }
    while k > high {
        k -= 12;
    }
    k
}

/// The bars of a score as (index, start tick, end tick).
pub fn bars(score: &Score) -> impl Iterator<Item = (usize, u32, u32)> + '_ {
    (0..score.bars()).map(|b| (b, score.bar_start(b), score.bar_start(b + 1)))
}

/// A note, shortened so that it never runs past `limit`.
pub fn note(start: u32, length: u32, key: i32, velocity: u8, limit: u32) -> Note {
    Note {
        start,
        length: length.min(limit.saturating_sub(start)).max(1),
        key: key.clamp(0, 127) as u8,
        velocity,
    }
}
