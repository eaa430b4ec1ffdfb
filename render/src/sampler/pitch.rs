//! Fundamental frequency of a (mostly) steady tone: YIN for the period, then
//! the exact peak of the windowed spectrum near it.
//!
//! Used to check and correct the tuning of recorded samples (a sample named
//! A4 that sounds 20 cents flat would detune every note played from it), to
//! cut loops a whole number of periods long, and by the tests that measure
//! rendered notes. YIN alone is accurate to a fraction of a sample period,
//! several cents at 16 kHz; the spectral refinement over a long window brings
//! that under a cent for a clean tone.

use std::f64::consts::PI;

/// YIN's threshold on the cumulative-mean-normalised difference: the first
/// dip below it is taken as the period (de Cheveigné & Kawahara 2002 use 0.1-0.15).
const YIN_THRESHOLD: f64 = 0.15;

/// Estimated fundamental (Hz) of `x` at `sample_rate`, searched between
/// `fmin` and `fmax`; `None` when no period stands out (noise, silence, a
/// chord) or the signal is shorter than two periods of `fmin`.
pub fn fundamental(x: &[f32], sample_rate: f64, fmin: f64, fmax: f64) -> Option<f64> {
    let coarse = yin(x, sample_rate, fmin, fmax)?;
    Some(refine(x, sample_rate, coarse))
}

/// Cents from `reference` to `f` (positive: `f` is sharp).
pub fn cents(f: f64, reference: f64) -> f64 {
    1200.0 * (f / reference).log2()
}

/// Frequency (Hz) of MIDI key `key` (A4 = 69 = 440 Hz), fractional keys allowed.
pub fn key_hz(key: f64) -> f64 {
    440.0 * 2f64.powf((key - 69.0) / 12.0)
}

/// YIN (difference function, cumulative mean normalisation, absolute
/// threshold, parabolic interpolation) over the first frame of `x` long
/// enough for two periods of `fmin`.
fn yin(x: &[f32], sample_rate: f64, fmin: f64, fmax: f64) -> Option<f64> {
    let max_lag = (sample_rate / fmin).ceil() as usize;
    let min_lag = ((sample_rate / fmax).floor() as usize).max(2);
    let window = (2 * max_lag).max(1024).min(x.len().saturating_sub(max_lag + 1));
    if window < max_lag || min_lag >= max_lag {
        return None;
    }
    let diff: Vec<f64> = (0..=max_lag + 1)
        .map(|lag| {
            (0..window)
                .map(|i| {
                    let d = x[i] as f64 - x[i + lag] as f64;
                    d * d
                })
                .sum()
        })
        .collect();
    let mut cmnd = vec![1.0; diff.len()];
    let mut running = 0.0;
    for lag in 1..diff.len() {
        running += diff[lag];
        cmnd[lag] = if running > 0.0 {
            diff[lag] * lag as f64 / running
        } else {
            1.0
        };
    }
    // First dip under the threshold, followed to its local minimum; without
    // one, the global minimum if it is clearly periodic.
    let mut lag = (min_lag..=max_lag).find(|&l| cmnd[l] < YIN_THRESHOLD);
    if let Some(l) = lag.as_mut() {
        while *l < max_lag && cmnd[*l + 1] < cmnd[*l] {
            *l += 1;
        }
    } else {
        let best = (min_lag..=max_lag).min_by(|&a, &b| cmnd[a].total_cmp(&cmnd[b]))?;
        if cmnd[best] > 0.35 {
            return None;
        }
        lag = Some(best);
    }
    let l = lag?;
    let (a, b, c) = (cmnd[l - 1], cmnd[l], cmnd[l + 1]);
    let denom = a - 2.0 * b + c;
    let shift = if denom.abs() > 1e-12 {
        0.5 * (a - c) / denom
    } else {
        0.0
    };
    Some(sample_rate / (l as f64 + shift.clamp(-1.0, 1.0)))
}

/// The frequency within ±60 cents of `coarse` where the Hann-windowed
/// spectrum of (up to 1 s of) `x` peaks: golden-section search on the
/// magnitude of the discrete-time Fourier transform.
fn refine(x: &[f32], sample_rate: f64, coarse: f64) -> f64 {
    let n = x.len().min(sample_rate as usize);
    let frame = &x[..n];
    let windowed: Vec<f64> = frame
        .iter()
        .enumerate()
        .map(|(i, &v)| v as f64 * (0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos()))
        .collect();
    // The phasor e^{-iwt} by rotation: one complex multiply per sample
    // instead of two trigonometric calls (f64 keeps the drift negligible).
    let magnitude = |f: f64| {
        let w = 2.0 * PI * f / sample_rate;
        let (rot_re, rot_im) = (w.cos(), -w.sin());
        let (mut p_re, mut p_im) = (1.0, 0.0);
        let (mut re, mut im) = (0.0, 0.0);
        for &a in &windowed {
            re += a * p_re;
            im += a * p_im;
            (p_re, p_im) = (p_re * rot_re - p_im * rot_im, p_re * rot_im + p_im * rot_re);
        }
        re * re + im * im
    };
    let ratio = 2f64.powf(60.0 / 1200.0);
    // Scan coarsely first: YIN may sit on a side lobe's slope.
    let steps = 24;
    let (lo, hi) = (coarse / ratio, coarse * ratio);
    let best = (0..=steps)
        .map(|k| lo + (hi - lo) * k as f64 / steps as f64)
        .max_by(|a, b| magnitude(*a).total_cmp(&magnitude(*b)))
        .unwrap_or(coarse);
    let step = (hi - lo) / steps as f64;
    let (mut a, mut b) = (best - step, best + step);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    let (mut fc, mut fd) = (magnitude(c), magnitude(d));
    for _ in 0..40 {
        if fc > fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = magnitude(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = magnitude(d);
        }
    }
    0.5 * (a + b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(f: f64, seconds: f64, harmonics: usize) -> Vec<f32> {
        let sr = 16_000.0;
        (0..(seconds * sr) as usize)
            .map(|i| {
                let t = i as f64 / sr;
                (1..=harmonics)
                    .map(|h| (2.0 * PI * f * h as f64 * t).sin() / h as f64)
                    .sum::<f64>() as f32
                    * 0.3
            })
            .collect()
    }

    #[test]
    fn measures_pure_and_rich_tones_to_a_cent() {
        for (f, h) in [(440.0, 1), (261.63, 6), (55.0, 8), (1318.5, 3), (97.3, 10)] {
            let got = fundamental(&tone(f, 1.0, h), 16_000.0, 30.0, 2000.0).unwrap();
            assert!(cents(got, f).abs() < 1.0, "{f} Hz x{h}: measured {got}");
        }
    }

    #[test]
    fn noise_and_silence_have_no_pitch() {
        assert!(fundamental(&vec![0.0; 16_000], 16_000.0, 50.0, 2000.0).is_none());
        let mut state = 12345u64;
        let noise: Vec<f32> = (0..16_000)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 33) as f32 / (1u64 << 31) as f32) - 1.0
            })
            .collect();
        assert!(fundamental(&noise, 16_000.0, 50.0, 2000.0).is_none());
    }

    #[test]
    fn key_frequencies() {
        assert!((key_hz(69.0) - 440.0).abs() < 1e-9);
        assert!((key_hz(60.0) - 261.6256).abs() < 1e-3);
        assert!((cents(key_hz(70.0), 440.0) - 100.0).abs() < 1e-9);
    }
}
