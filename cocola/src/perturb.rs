//! Perturbations of a stem that keep its sound but break its fit with the
//! rest of the track: transposed (out of key), delayed (off the beat),
//! stretched (off the tempo). One implementation, shared by the sensitivity
//! test (`eval::sensitivity`) and the trainer's hard negatives.
//!
//! Window functions read from the whole stem, never wrap around: a delayed
//! window holds what the stem played before the window (silence before the
//! stem's start), and a transposed window is processed with context on both
//! sides, so its first and last samples carry no edge artefacts.

use crate::contract::SAMPLE_RATE;
use crate::dsp::interpolate::resample_range;
use crate::dsp::onset::{beat_period, OnsetAnalyzer};
use crate::dsp::vocoder;

pub use crate::dsp::vocoder::time_stretch;

/// Context read on each side of a window before transposing it: one
/// vocoder frame, so the window's edges are as clean as its middle.
pub const CONTEXT: usize = vocoder::N_FFT;

/// Shortest and longest delay of the shifted negative, in seconds.
const DELAY_RANGE_S: (f64, f64) = (0.2, 0.7);
/// The beat assumed when none can be measured (120 BPM), in seconds.
pub const DEFAULT_BEAT_SECONDS: f64 = 0.5;

/// The delay of the shifted negative, in samples: an odd multiple of half a
/// sixteenth note of the measured beat (`(n + 1/2) * beat / 4`), between 0.2
/// and 0.7 s, the `choice`-th (0..1) of those. Such a delay falls between
/// the sixteenth-note grid lines, so it is off the eighth-note grid even if
/// the beat was measured at half or double the true tempo (a half-tempo
/// reading puts the delay on odd sixteenths, still off the eighths).
pub fn off_grid_delay(beat_seconds: Option<f32>, choice: f64) -> usize {
    let sixteenth = beat_seconds.map_or(DEFAULT_BEAT_SECONDS, f64::from) / 4.0;
    let (lo, hi) = DELAY_RANGE_S;
    let first = (lo / sixteenth - 0.5).ceil().max(0.0) as usize;
    let last = ((hi / sixteenth - 0.5).floor() as usize).max(first);
    let n = first + ((choice.clamp(0.0, 1.0) * (last - first + 1) as f64) as usize).min(last - first);
    ((n as f64 + 0.5) * sixteenth * SAMPLE_RATE as f64).round() as usize
}

/// The delay of a stem made to miss the beat of `reference` (what it is
/// played against): the beat measured on the reference's onsets
/// ([`beat_period`]), then [`off_grid_delay`]. Returns the delay in samples
/// and the measured beat (`None`: none measurable, 120 BPM assumed).
pub fn off_beat_delay(onsets: &mut OnsetAnalyzer, reference: &[f32], choice: f64) -> (usize, Option<f32>) {
    let beat = beat_period(&onsets.envelope(reference));
    (off_grid_delay(beat, choice), beat)
}

/// A transposition of +-1..=`max` semitones, uniform over those `2 * max`
/// values: the amount the sensitivity test, the trainer's hard negatives and
/// the renderer's transposed twins all draw.
pub fn draw_transposition(rng: &mut impl rand::Rng, max: u32) -> i32 {
    let magnitude = crate::seeded::inclusive(rng, 1, max as usize) as i32;
    if crate::seeded::below(rng, 2) == 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// `signal` transposed by `semitones` (any real number, within +-24) with
/// its duration kept to the sample: time-stretched by the pitch ratio with
/// the phase vocoder, then read back at that ratio with band-limited
/// interpolation (which raises the pitch and restores the length).
pub fn pitch_shift(signal: &[f32], semitones: f64) -> Vec<f32> {
    pitch_shift_range(signal, semitones, 0..signal.len())
}

/// Samples `range` of [`pitch_shift`]`(signal, semitones)`, without
/// computing the others.
fn pitch_shift_range(signal: &[f32], semitones: f64, range: std::ops::Range<usize>) -> Vec<f32> {
    assert!(
        semitones.is_finite() && semitones.abs() <= 24.0,
        "transposition of {semitones} semitones outside +-24"
    );
    if semitones == 0.0 {
        return signal[range].to_vec();
    }
    let ratio = 2f64.powf(semitones / 12.0);
    let stretched = time_stretch(signal, 1.0 / ratio);
    resample_range(&stretched, ratio, range)
}

/// Samples `start..start + len` of `stem` transposed by `semitones`,
/// computed with context around the window (zeros beyond the stem).
pub fn transposed_window(stem: &[f32], start: usize, len: usize, semitones: f64) -> Vec<f32> {
    let from = start as isize - CONTEXT as isize;
    let padded = read(stem, from, len + 2 * CONTEXT);
    pitch_shift_range(&padded, semitones, CONTEXT..CONTEXT + len)
}

/// Samples `start..start + len` of `stem` passed through the shifter twice:
/// transposed by `first`, then the result by each of `seconds`, one window
/// per entry (the first pass is computed once, with context kept around it
/// for the second). Two copies that both went through it differ only by
/// their key, not by whether they were processed: the sensitivity test's
/// in-key and transposed stems, and the trainer's matched hard negatives.
pub fn transposed_twice_windows(stem: &[f32], start: usize, len: usize, first: f64, seconds: &[f64]) -> Vec<Vec<f32>> {
    let once = transposed_window(stem, start.saturating_sub(CONTEXT), len + 2 * CONTEXT, first);
    // `once` starts CONTEXT before the window, or where the stem starts.
    let at = start.min(CONTEXT);
    (seconds.iter())
        .map(|&second| transposed_window(&once, at, len, second))
        .collect()
}

/// The window `start..start + len` of `stem` as heard when the stem is
/// delayed by `delay` samples (negative: played early): samples
/// `start - delay ..`, zeros outside the stem.
pub fn delayed_window(stem: &[f32], start: usize, len: usize, delay: isize) -> Vec<f32> {
    read(stem, start as isize - delay, len)
}

/// `len` samples of `stem` from `start` on, played `rate` times as fast
/// (the window's first beat stays in place, later ones drift).
pub fn stretched_window(stem: &[f32], start: usize, len: usize, rate: f64) -> Vec<f32> {
    let source_len = (len as f64 * rate).ceil() as usize + CONTEXT;
    let mut out = time_stretch(&read(stem, start as isize, source_len), rate);
    out.resize(len, 0.0);
    out
}

/// `len` samples of `signal` from `from` (may be negative or past the end:
/// zeros there).
fn read(signal: &[f32], from: isize, len: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; len];
    let lo = from.max(0);
    let hi = (from + len as isize).min(signal.len() as isize);
    if lo < hi {
        out[(lo - from) as usize..(hi - from) as usize].copy_from_slice(&signal[lo as usize..hi as usize]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::chroma::ChromaAnalyzer;
    use crate::dsp::test_signals::{dominant_frequency, energy_near, sine};

    /// A tone with four harmonics (1, 1/2, 1/3, 1/4), like a plucked string.
    fn harmonic_tone(freq: f32, len: usize) -> Vec<f32> {
        let mut x = vec![0.0f32; len];
        for h in 1..=4 {
            for (a, b) in x.iter_mut().zip(sine(freq * h as f32, 0.2 / h as f32, len)) {
                *a += b;
            }
        }
        x
    }

    #[test]
    fn transposition_moves_the_pitch_by_k_semitones_and_keeps_the_length() {
        let x = harmonic_tone(220.0, 40_007);
        let mut analyzer = ChromaAnalyzer::new();
        let class = |c: [f32; 12]| (0..12).max_by(|&a, &b| c[a].total_cmp(&c[b])).unwrap() as i64;
        let a3 = class(analyzer.chroma(&x));
        assert_eq!(a3, 9);
        for k in [-6i64, -5, -3, -1, 1, 2, 4, 6] {
            let y = pitch_shift(&x, k as f64);
            assert_eq!(y.len(), x.len(), "k = {k}");
            let expected = 220.0 * 2f32.powf(k as f32 / 12.0);
            let f = dominant_frequency(&y[4_000..36_000]);
            let cents = 1200.0 * (f / expected).log2();
            assert!(cents.abs() < 5.0, "k = {k}: {f} Hz, {cents:+.1} cents off {expected}");
            assert_eq!(class(analyzer.chroma(&y)), (a3 + k).rem_euclid(12), "k = {k}");
        }
    }

    #[test]
    fn a_transposed_sine_is_clean_without_clicks() {
        // A click is a jump between neighbouring samples far larger than the
        // steepest slope of the tone itself (2 pi f A / sr per sample).
        let x = sine(330.0, 0.5, 48_000);
        for k in [-4.0, 3.0, 5.5] {
            let y = pitch_shift(&x, k);
            let f = 330.0 * 2f32.powf(k as f32 / 12.0);
            let middle = &y[2_000..46_000];
            assert!(energy_near(middle, &[f], 4.0) > 0.99, "k = {k}: energy off the tone");
            let steepest = 2.0 * std::f32::consts::PI * f * 0.5 / 16_000.0;
            let jump = middle.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f32::max);
            assert!(jump < 1.15 * steepest, "k = {k}: jump {jump} vs slope {steepest}");
        }
    }

    #[test]
    fn a_transposed_window_has_clean_edges() {
        // Read with context on both sides, the window's first and last 50 ms
        // are as loud as its middle: no fade-in or fade-out from the
        // vocoder's first and last frames.
        let stem = harmonic_tone(196.0, 64_000);
        let w = transposed_window(&stem, 16_000, 24_000, 3.0);
        assert_eq!(w.len(), 24_000);
        let f = dominant_frequency(&w);
        assert!((1200.0 * (f / (196.0 * 2f32.powf(0.25))).log2()).abs() < 5.0, "{f} Hz");
        let rms = |s: &[f32]| (s.iter().map(|v| v * v).sum::<f32>() / s.len() as f32).sqrt();
        let (head, tail) = (rms(&w[..800]), rms(&w[23_200..]));
        let middle = rms(&w[11_600..12_400]);
        assert!(
            (head / middle - 1.0).abs() < 0.1 && (tail / middle - 1.0).abs() < 0.1,
            "{head} {middle} {tail}"
        );
    }

    #[test]
    fn a_twice_transposed_window_lands_on_the_sum_of_its_passes_with_clean_edges() {
        let stem = harmonic_tone(196.0, 64_000);
        for start in [16_000, 300] {
            let windows = transposed_twice_windows(&stem, start, 24_000, 3.0, &[-3.0, 2.0]);
            assert_eq!(windows.len(), 2);
            for (w, net) in windows.iter().zip([0.0f32, 5.0]) {
                assert_eq!(w.len(), 24_000);
                let expected = 196.0 * 2f32.powf(net / 12.0);
                let f = dominant_frequency(w);
                assert!((1200.0 * (f / expected).log2()).abs() < 5.0, "{net}: {f} Hz");
            }
        }
        let round_trip = &transposed_twice_windows(&stem, 16_000, 24_000, 3.0, &[-3.0])[0];
        let rms = |s: &[f32]| (s.iter().map(|v| v * v).sum::<f32>() / s.len() as f32).sqrt();
        let (head, tail, middle) = (
            rms(&round_trip[..800]),
            rms(&round_trip[23_200..]),
            rms(&round_trip[11_600..12_400]),
        );
        assert!(
            (head / middle - 1.0).abs() < 0.1 && (tail / middle - 1.0).abs() < 0.1,
            "{head} {middle} {tail}"
        );
        // back in key, but not the untouched samples
        let clean = &stem[16_000..40_000];
        let difference = rms(&clean.iter().zip(round_trip).map(|(a, b)| a - b).collect::<Vec<_>>());
        assert!(difference > 1e-3 * rms(clean), "{difference}");
    }

    #[test]
    fn a_delayed_window_reads_earlier_samples_and_never_wraps() {
        let stem: Vec<f32> = (0..100).map(|i| i as f32).collect();
        assert_eq!(delayed_window(&stem, 50, 5, 10), vec![40.0, 41.0, 42.0, 43.0, 44.0]);
        assert_eq!(delayed_window(&stem, 5, 4, 7), vec![0.0, 0.0, 0.0, 1.0]);
        assert_eq!(delayed_window(&stem, 97, 5, -1), vec![98.0, 99.0, 0.0, 0.0, 0.0]);
        assert_eq!(delayed_window(&stem, 0, 3, 0), vec![0.0, 1.0, 2.0]);
    }

    #[test]
    fn a_stretched_window_keeps_the_pitch_and_length() {
        let stem = harmonic_tone(220.0, 80_000);
        for rate in [0.94, 1.06] {
            let w = stretched_window(&stem, 8_000, 40_000, rate);
            assert_eq!(w.len(), 40_000);
            let f = dominant_frequency(&w[4_000..36_000]);
            assert!((1200.0 * (f / 220.0).log2()).abs() < 5.0, "rate {rate}: {f} Hz");
        }
    }

    #[test]
    fn zero_transposition_is_the_identity() {
        let x = sine(500.0, 0.3, 1_000);
        assert_eq!(pitch_shift(&x, 0.0), x);
    }

    #[test]
    fn delays_fall_between_the_sixteenth_grid_lines_within_range() {
        for beat in [0.3f32, 0.4, 0.5, 0.6, 0.75, 1.0, 1.2] {
            let sixteenth = f64::from(beat) / 4.0 * SAMPLE_RATE as f64;
            for step in 0..20 {
                let d = off_grid_delay(Some(beat), step as f64 / 20.0);
                let seconds = d as f64 / SAMPLE_RATE as f64;
                assert!(
                    (0.2 - 1e-3..=0.7 + 0.16).contains(&seconds),
                    "beat {beat}: delay {seconds}"
                );
                let phase = (d as f64 / sixteenth).fract();
                assert!(
                    (phase - 0.5).abs() < 0.01,
                    "beat {beat}: delay {seconds} s at grid phase {phase}"
                );
                // hence also off the eighth-note grid
                assert!(((d as f64 / (2.0 * sixteenth)).fract() - 0.5).abs() > 0.2);
            }
        }
        assert_eq!(off_grid_delay(None, 0.0), off_grid_delay(Some(0.5), 0.0));
    }

    #[test]
    fn every_choice_is_reachable() {
        let all: std::collections::BTreeSet<usize> =
            (0..100).map(|i| off_grid_delay(Some(0.5), i as f64 / 100.0)).collect();
        // beat 0.5 s: sixteenth 0.125 s, delays 0.1875 (too short), 0.3125, 0.4375, 0.5625, 0.6875
        assert_eq!(all.len(), 4, "{all:?}");
        assert_eq!(*all.iter().next().unwrap(), 5_000);
    }
}
