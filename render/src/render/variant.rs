//! What makes one variant of a piece differ from another: its random stream,
//! the programs chosen for its parts, and the transformed events (transposed,
//! tempo-scaled, humanised, cropped) that get rendered.

use cocola::seeded::{below, unit};
use rand::Rng;
use rand_chacha::ChaCha12Rng;

use super::midi::{Event, Msg, Part};
use super::options::{Ensemble, Range};

/// GM programs of each ensemble, highest register first.
const STRINGS: [u8; 4] = [40, 41, 42, 43];
const BRASS: [u8; 4] = [56, 60, 57, 58];
const WOODWIND: [u8; 4] = [73, 68, 71, 70];

/// The random stream of one job: every choice a variant makes comes from it,
/// so output does not depend on thread count or order.
pub(super) fn job_rng(seed: u64, track: &str) -> ChaCha12Rng {
    cocola::seeded::stream(b"cocola-render-v1", &[&seed.to_le_bytes(), track.as_bytes()])
}

/// A value of `r`: its fixed value, or uniform in it.
pub(super) fn draw(rng: &mut impl Rng, r: Range) -> f64 {
    if r.lo == r.hi {
        r.lo
    } else {
        r.lo + (r.hi - r.lo) * unit(rng)
    }
}

/// Programs per part (None: keep the file's own program changes).
pub(super) fn choose_programs(parts: &[Part], ensemble: Ensemble, rng: &mut impl Rng) -> (Ensemble, Vec<Option<u8>>) {
    let ensemble = if ensemble == Ensemble::Mixed {
        [Ensemble::Random, Ensemble::Strings, Ensemble::Brass, Ensemble::Woodwind][below(rng, 4)]
    } else {
        ensemble
    };
    let melodic: Vec<usize> = (0..parts.len()).filter(|&i| !parts[i].is_drums).collect();
    let mut programs = vec![None; parts.len()];
    match ensemble {
        Ensemble::Random | Ensemble::Mixed => {
            // Melodic pool: families piano..synth-pad without bass, timpani, orchestra hit.
            let pool: Vec<u8> = (0u8..96)
                .filter(|p| !(32..40).contains(p) && *p != 47 && *p != 55)
                .collect();
            for &i in &melodic {
                let p = if (32..40).contains(&parts[i].program()) {
                    32 + below(rng, 8) as u8
                } else {
                    pool[below(rng, pool.len())]
                };
                programs[i] = Some(p);
            }
        }
        family => {
            let list = match family {
                Ensemble::Strings => STRINGS,
                Ensemble::Brass => BRASS,
                _ => WOODWIND,
            };
            // Highest part gets the highest instrument, as in CocoChorales.
            let mut order = melodic.clone();
            order.sort_by(|&a, &b| parts[b].mean_key().total_cmp(&parts[a].mean_key()));
            // Highest part -> first instrument, lowest -> last, spread between.
            let n = order.len();
            for (rank, &i) in order.iter().enumerate() {
                let idx = if n <= 1 {
                    0
                } else {
                    ((rank * (list.len() - 1)) as f64 / (n - 1) as f64).round() as usize
                };
                programs[i] = Some(list[idx.min(list.len() - 1)]);
            }
        }
    }
    (ensemble, programs)
}

/// Drops the events from `at` on and releases everything there: sustain
/// pedal up (CC 64), then all notes off (CC 123).
pub(super) fn crop(events: &mut Vec<Event>, at: f64, channel: u8) {
    events.retain(|e| e.time < at);
    for cc in [64, 123] {
        events.push(Event {
            time: at,
            channel,
            msg: Msg::Controller { cc, value: 0 },
        });
    }
}

/// `key` moved by `semitones`; `None` off the MIDI keyboard (0-127).
fn shifted_key(key: u8, semitones: i32) -> Option<u8> {
    let k = key as i32 + semitones;
    (0..=127).contains(&k).then_some(k as u8)
}

/// `events` with every note moved by `semitones` (notes pushed off the MIDI
/// keyboard dropped) and everything else kept: the same performance in
/// another key.
pub(super) fn transposed_notes(events: &[Event], semitones: i32) -> Vec<Event> {
    (events.iter())
        .filter_map(|e| {
            let msg = match e.msg {
                Msg::NoteOn { key, vel } => Msg::NoteOn {
                    key: shifted_key(key, semitones)?,
                    vel,
                },
                Msg::NoteOff { key } => Msg::NoteOff {
                    key: shifted_key(key, semitones)?,
                },
                Msg::KeyPressure { key, value } => Msg::KeyPressure {
                    key: shifted_key(key, semitones)?,
                    value,
                },
                m => m,
            };
            Some(Event { msg, ..*e })
        })
        .collect()
}

/// The part's events after program override, transposition, tempo scaling
/// and velocity humanisation.
pub(super) fn transform(
    part: &Part,
    program: Option<u8>,
    transpose: i32,
    tempo: f64,
    humanize: u8,
    rng: &mut impl Rng,
) -> Vec<Event> {
    let mut out = Vec::with_capacity(part.events.len() + 2);
    if let Some(p) = program {
        out.push(Event {
            time: 0.0,
            channel: part.channel,
            msg: Msg::Controller { cc: 0, value: 0 },
        });
        out.push(Event {
            time: 0.0,
            channel: part.channel,
            msg: Msg::Program(p),
        });
    }
    let shift = |key: u8| -> Option<u8> {
        if part.is_drums {
            return Some(key);
        }
        shifted_key(key, transpose)
    };
    for e in &part.events {
        let msg = match e.msg {
            Msg::Program(_) | Msg::Controller { cc: 0 | 32, .. } if program.is_some() => continue,
            Msg::NoteOn { key, vel } => {
                let Some(key) = shift(key) else { continue };
                let vel = if humanize > 0 {
                    let j = below(rng, 2 * humanize as usize + 1) as i32 - humanize as i32;
                    (vel as i32 + j).clamp(1, 127) as u8
                } else {
                    vel
                };
                Msg::NoteOn { key, vel }
            }
            Msg::NoteOff { key } => match shift(key) {
                Some(key) => Msg::NoteOff { key },
                None => continue,
            },
            Msg::KeyPressure { key, value } => match shift(key) {
                Some(key) => Msg::KeyPressure { key, value },
                None => continue,
            },
            m => m,
        };
        out.push(Event {
            time: e.time / tempo,
            channel: e.channel,
            msg,
        });
    }
    out
}
