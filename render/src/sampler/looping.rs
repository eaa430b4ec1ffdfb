//! Loops for sustaining recordings (strings, winds, brass, organ), so that a
//! note can be held longer than its sample.
//!
//! The loop spans the steady middle of the recording, a whole number of
//! fundamental periods long, and the samples just before its end are
//! crossfaded with those just before its start: when playback jumps from the
//! end back to the start it continues a waveform that already leads there,
//! without a click.

use super::instrument::Sample;
use super::pitch::key_hz;

/// Loop start and end as fractions of the recording: after the attack and
/// before the fade-out the sample libraries put at the end.
const START: f64 = 0.35;
const END: f64 = 0.8;
/// Shortest loop worth making (seconds); shorter recordings play once.
const MIN_SECONDS: f64 = 0.3;
const CROSSFADE_SECONDS: f64 = 0.08;

/// Adds a crossfaded loop to `sample` (at `sample_rate`) if it is long enough.
pub fn add_loop(sample: &mut Sample, sample_rate: u32) {
    let sr = sample_rate as f64;
    let len = sample.data.len();
    let start = (START * len as f64) as usize;
    let end_guess = (END * len as f64) as usize;
    if ((end_guess - start) as f64) < MIN_SECONDS * sr {
        return;
    }
    // A whole number of periods of the recorded pitch.
    let period = sr / key_hz(sample.root);
    let periods = ((end_guess - start) as f64 / period).floor().max(1.0);
    let end = start + (periods * period).round() as usize;
    let fade = ((CROSSFADE_SECONDS * sr) as usize).min(start).min((end - start) / 2);
    if fade < 2 || end >= len {
        return;
    }
    // Linear crossfade of [end - fade, end) towards [start - fade, start):
    // the two stretches are in phase (whole periods apart), so their gains
    // must sum to one (an equal-power fade would swell by up to 3 dB).
    for i in 0..fade {
        let t = (i as f32 + 0.5) / fade as f32;
        let a = sample.data[end - fade + i];
        let b = sample.data[start - fade + i];
        sample.data[end - fade + i] = (1.0 - t) * a + t * b;
    }
    sample.loop_range = Some((start, end));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_is_whole_periods_and_continuous() {
        let sr = 16_000;
        let root = 57.0; // A3, 220 Hz
        let f = key_hz(root);
        let data: Vec<f32> = (0..sr)
            .map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / sr as f64).sin() as f32)
            .collect();
        let mut s = Sample {
            data,
            root,
            loop_range: None,
        };
        add_loop(&mut s, sr as u32);
        let (a, b) = s.loop_range.expect("a 1 s recording gets a loop");
        let periods = (b - a) as f64 * f / sr as f64;
        assert!((periods - periods.round()).abs() < 0.05, "{periods} periods");
        // Jumping from b - 1 to a continues the waveform: the step across the
        // jump is no larger than the steps within the signal.
        let max_step = s.data.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0f32, f32::max);
        assert!((s.data[a] - s.data[b - 1]).abs() <= 1.2 * max_step);

        let mut short = Sample {
            data: vec![0.0; 2000],
            root,
            loop_range: None,
        };
        add_loop(&mut short, sr as u32);
        assert!(short.loop_range.is_none());
    }
}
