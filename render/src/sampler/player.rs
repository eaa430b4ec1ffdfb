//! Plays a part's MIDI events on a sampled [`Instrument`]: one voice per
//! sounding note, cubic interpolation for pitch, crossfaded loops while a
//! sustaining note is held, an exponential release after note-off (or after
//! the sustain pedal lifts), volume (CC 7) and expression (CC 11) as the GM
//! squared-law gains, pitch bend over ±2 semitones.

use std::sync::Arc;

use super::instrument::{Instrument, Sample};
use crate::render::midi::{Event, Msg};

/// Voices beyond this steal the oldest (with a short fade).
const MAX_VOICES: usize = 48;
/// Fade of a voice cut by a choke, a steal or a repeated key: short enough
/// to free it, long enough not to click.
const CUT_SECONDS: f32 = 0.012;
/// A voice this quiet (after its release) is finished.
const SILENT: f32 = 1e-4;

struct Voice {
    key: u8,
    sample: Arc<Sample>,
    /// Read position in the sample (fractional).
    pos: f64,
    /// Read-position increment per output sample at no pitch bend.
    step: f64,
    gain: f32,
    envelope: f32,
    /// Per-sample envelope factor once released (1 while held).
    decay: f32,
    /// Note-off arrived while the sustain pedal was down.
    held_by_pedal: bool,
}

/// Per-sample factor of an exponential fade reaching -60 dB in `seconds`.
fn fade(seconds: f32, sample_rate: f32) -> f32 {
    (1e-3f32.ln() / (seconds.max(1e-3) * sample_rate)).exp()
}

impl Voice {
    fn release(&mut self, seconds: f32, sample_rate: f32) {
        // A release never slows a faster one already running.
        self.decay = self.decay.min(fade(seconds, sample_rate));
        self.held_by_pedal = false;
    }

    fn released(&self) -> bool {
        self.decay < 1.0
    }

    /// Adds this voice into `out`; false once it has finished.
    fn mix(&mut self, out: &mut [f32], bend: f64, channel_gain: f32) -> bool {
        let data = &self.sample.data;
        let len = data.len();
        let step = self.step * bend;
        let looping = if self.released() { None } else { self.sample.loop_range };
        for o in out.iter_mut() {
            if let Some((start, end)) = looping {
                if self.pos >= end as f64 {
                    self.pos -= (end - start) as f64;
                }
            }
            let i = self.pos as usize;
            if i + 2 >= len {
                return false;
            }
            let t = (self.pos - i as f64) as f32;
            let y0 = if i == 0 { data[0] } else { data[i - 1] };
            let (y1, y2, y3) = (data[i], data[i + 1], data[i + 2]);
            // Catmull-Rom (cubic Hermite) interpolation.
            let c1 = 0.5 * (y2 - y0);
            let c2 = y0 - 2.5 * y1 + 2.0 * y2 - 0.5 * y3;
            let c3 = 0.5 * (y3 - y0) + 1.5 * (y1 - y2);
            let v = ((c3 * t + c2) * t + c1) * t + y1;
            *o += v * self.gain * self.envelope * channel_gain;
            self.envelope *= self.decay;
            if self.envelope < SILENT {
                return false;
            }
            self.pos += step;
        }
        true
    }
}

/// Renders `events` (sorted by time, one channel's worth) into `total` mono
/// samples at `sample_rate`, which must be the rate the samples were loaded at.
pub fn render(instrument: &Instrument, events: &[Event], total: usize, sample_rate: u32) -> Vec<f32> {
    let sr = sample_rate as f32;
    let art = instrument.articulation;
    let mut out = vec![0f32; total];
    let mut voices: Vec<Voice> = Vec::new();
    let mut pos = 0usize;
    let (mut volume, mut expression) = (100u8, 127u8);
    let mut pedal = false;
    let mut bend = 1.0f64;
    let channel_gain = |v: u8, e: u8| (v as f32 / 127.0).powi(2) * (e as f32 / 127.0).powi(2);
    for e in events {
        let at = ((e.time * sample_rate as f64).round().max(0.0) as usize).min(total);
        if at > pos {
            let g = channel_gain(volume, expression);
            voices.retain_mut(|v| v.mix(&mut out[pos..at], bend, g));
            pos = at;
        }
        match e.msg {
            Msg::NoteOn { key, vel } => {
                let Some(zone) = instrument.zone(key, vel) else {
                    continue;
                };
                for v in voices.iter_mut() {
                    let repeated = art.pitched && v.key == key;
                    if repeated || instrument.chokes_of(key).contains(&v.key) {
                        v.release(CUT_SECONDS, sr);
                    }
                }
                if voices.len() >= MAX_VOICES {
                    // The oldest voice not already being cut.
                    let cut = fade(CUT_SECONDS, sr);
                    if let Some(oldest) = voices.iter_mut().find(|v| v.decay > cut) {
                        oldest.release(CUT_SECONDS, sr);
                    }
                }
                let step = if art.pitched {
                    2f64.powf((key as f64 - zone.sample.root) / 12.0)
                } else {
                    1.0
                };
                voices.push(Voice {
                    key,
                    sample: Arc::clone(&zone.sample),
                    pos: 0.0,
                    step,
                    gain: zone.velocity_gain(vel),
                    envelope: 1.0,
                    decay: 1.0,
                    held_by_pedal: false,
                });
            }
            Msg::NoteOff { key } if !art.one_shot => {
                for v in voices.iter_mut().filter(|v| v.key == key && !v.released()) {
                    if pedal {
                        v.held_by_pedal = true;
                    } else {
                        v.release(art.release_seconds, sr);
                    }
                }
            }
            Msg::Controller { cc: 7, value } => volume = value,
            Msg::Controller { cc: 11, value } => expression = value,
            Msg::Controller { cc: 64, value } => {
                pedal = value >= 64;
                if !pedal {
                    for v in voices.iter_mut().filter(|v| v.held_by_pedal) {
                        v.release(art.release_seconds, sr);
                    }
                }
            }
            // All sound off / all notes off (the renderer's crop sends 123).
            Msg::Controller { cc: 120 | 123, .. } => {
                pedal = false;
                for v in voices.iter_mut() {
                    v.release(art.release_seconds, sr);
                }
            }
            Msg::PitchBend(b) if art.pitched => {
                bend = 2f64.powf(2.0 * (b as f64 - 8192.0) / 8192.0 / 12.0);
            }
            _ => {}
        }
    }
    if total > pos {
        let g = channel_gain(volume, expression);
        voices.retain_mut(|v| v.mix(&mut out[pos..], bend, g));
    }
    out
}
