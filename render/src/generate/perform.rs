//! Performance: the straight grid played with the piece's feel (swing) and
//! a human's timing and dynamics.
//!
//! Each note moves by a roughly normal offset (standard deviation `sd`,
//! bounded at ±3.5 sd) plus the part's own small constant push or drag (up
//! to ±0.5 sd), so no note is further than [`MAX_OFFSET_SD`] sd from its
//! swung grid position.

use rand::Rng;

use super::grid::{Feel, Meter, PPQ};
use super::random::{uniform, wobble};
use super::score::Note;

/// Bound on how far humanisation moves a note start, in standard deviations.
pub const MAX_OFFSET_SD: f64 = 4.0;
/// Shortest played note (ticks).
const MIN_TICKS: f64 = 12.0;

/// A note as played, in ticks from the start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Played {
    pub start: u32,
    pub end: u32,
    pub key: u8,
    pub velocity: u8,
}

/// Timing standard deviation in ticks for `ms` milliseconds at `qpm`.
pub fn ms_to_ticks(ms: f64, qpm: f64) -> f64 {
    ms / 1000.0 * qpm / 60.0 * PPQ as f64
}

/// Plays `notes` with `feel` on `meter`, timing spread `sd` ticks and
/// velocity spread `velocity_sd`; the result is in the order of `notes`.
pub fn perform(
    notes: &[Note],
    meter: &Meter,
    feel: &Feel,
    sd: f64,
    velocity_sd: f64,
    rng: &mut impl Rng,
) -> Vec<Played> {
    let push = uniform(rng, -0.5, 0.5) * sd;
    notes
        .iter()
        .map(|n| {
            let start = (feel.place(n.start, meter) + push + wobble(rng, sd)).max(0.0);
            let end = feel.place(n.start + n.length, meter) + push + wobble(rng, sd * 0.5);
            let end = end.max(start + MIN_TICKS);
            let velocity = (n.velocity as f64 + wobble(rng, velocity_sd)).round().clamp(1.0, 127.0) as u8;
            Played {
                start: start.round() as u32,
                end: end.round() as u32,
                key: n.key,
                velocity,
            }
        })
        .collect()
}
