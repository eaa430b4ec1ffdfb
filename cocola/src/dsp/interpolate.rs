//! Band-limited resampling by any ratio: windowed-sinc interpolation.
//!
//! Output sample `i` is the input's band-limited value at position
//! `i * step` (in input samples). Reading faster than one input sample per
//! output sample (`step` > 1) would alias, so the sinc's cutoff drops to
//! `1 / step` of the input's Nyquist frequency, and the kernel widens with it.
//! The kernel (Kaiser window, beta 8.6: sidelobes near -90 dB) is tabulated
//! at `PHASES` sub-sample offsets and linearly interpolated between them,
//! so a 5 s window costs a few milliseconds instead of a sine per tap.

/// Zero crossings of the sinc on each side of the centre, at the cutoff.
const ZERO_CROSSINGS: usize = 16;
/// Tabulated offsets per input sample.
const PHASES: usize = 256;
const KAISER_BETA: f64 = 8.6;

/// `out_len` samples read from `input` at positions `0, step, 2 step, ...`;
/// positions outside the input read silence. `step` must be finite and
/// positive.
pub fn resample_by_step(input: &[f32], step: f64, out_len: usize) -> Vec<f32> {
    resample_range(input, step, 0..out_len)
}

/// Output samples `range` of [`resample_by_step`] (the same values, without
/// computing the others).
pub fn resample_range(input: &[f32], step: f64, range: std::ops::Range<usize>) -> Vec<f32> {
    assert!(
        step.is_finite() && step > 0.0,
        "resampling step {step} must be positive"
    );
    let cutoff = (1.0 / step).min(1.0);
    // Kernel half-width in input samples.
    let half_width = (ZERO_CROSSINGS as f64 / cutoff).ceil() as usize;
    let table = kernel_table(cutoff, half_width);
    // From here on `position - n` is exact for every tap n (Sterbenz), so
    // all taps on one side of the position share one table offset.
    let exact_from = (4 * half_width + 4) as f64;
    range
        .map(|i| {
            let position = i as f64 * step;
            let centre = position.floor() as isize;
            let taps =
                (centre - half_width as isize + 1).max(0)..(centre + half_width as isize + 1).min(input.len() as isize);
            if position >= exact_from {
                sample_exact(input, &table, position, centre, taps)
            } else {
                sample_at(input, &table, position, taps)
            }
        })
        .collect()
}

/// The band-limited value at `position` from input samples `taps`, each
/// tap's distance computed on its own.
fn sample_at(input: &[f32], table: &[f32], position: f64, taps: std::ops::Range<isize>) -> f32 {
    let mut acc = 0.0f32;
    for n in taps {
        // Distance of input sample n from the read position, in samples.
        let distance = (n as f64 - position).abs();
        acc += input[n as usize] * kernel_at(table, distance);
    }
    acc
}

/// [`sample_at`] where `position - n` is exact for every tap: the taps at
/// and before `centre` are `f + k` from the position (`f` its fraction), the
/// taps after it `k - f`, so each side reads the table at one fractional
/// offset, every [`PHASES`] entries. Bit for bit the same sums, in the same
/// order.
fn sample_exact(input: &[f32], table: &[f32], position: f64, centre: isize, taps: std::ops::Range<isize>) -> f32 {
    let scaled = (position - centre as f64) * PHASES as f64;
    let below = scaled.floor();
    let above = scaled.ceil();
    let (left_j, left_frac) = (below as usize, (scaled - below) as f32);
    let right_frac = (above - scaled) as f32;
    let weight = |j: usize, frac: f32| {
        if j + 1 >= table.len() {
            0.0
        } else {
            table[j] + frac * (table[j + 1] - table[j])
        }
    };
    let mut acc = 0.0f32;
    for n in taps {
        let w = if n <= centre {
            weight(left_j + (centre - n) as usize * PHASES, left_frac)
        } else {
            weight((n - centre) as usize * PHASES - above as usize, right_frac)
        };
        acc += input[n as usize] * w;
    }
    acc
}

/// The kernel at distances `0, 1/PHASES, 2/PHASES, ... half_width` (plus one
/// guard entry of zero for the interpolation at the edge).
fn kernel_table(cutoff: f64, half_width: usize) -> Vec<f32> {
    let len = half_width * PHASES + 2;
    let i0_beta = bessel_i0(KAISER_BETA);
    (0..len)
        .map(|j| {
            let x = j as f64 / PHASES as f64;
            if x >= half_width as f64 {
                return 0.0;
            }
            let r = x / half_width as f64;
            let window = bessel_i0(KAISER_BETA * (1.0 - r * r).sqrt()) / i0_beta;
            (cutoff * sinc(cutoff * x) * window) as f32
        })
        .collect()
}

#[inline]
fn kernel_at(table: &[f32], distance: f64) -> f32 {
    let scaled = distance * PHASES as f64;
    let j = scaled as usize;
    if j + 1 >= table.len() {
        return 0.0;
    }
    let frac = (scaled - j as f64) as f32;
    table[j] + frac * (table[j + 1] - table[j])
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let px = std::f64::consts::PI * x;
        px.sin() / px
    }
}

/// Modified Bessel function of the first kind, order 0 (power series).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let half = x / 2.0;
    for k in 1..64 {
        term *= (half / k as f64) * (half / k as f64);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::test_signals::{dominant_frequency, sine};

    #[test]
    fn step_one_is_the_identity() {
        let x = sine(1_234.0, 0.7, 4_000);
        let y = resample_by_step(&x, 1.0, x.len());
        let err = x
            .iter()
            .zip(&y)
            .skip(64)
            .take(3_800)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(err < 1e-4, "max error {err}");
    }

    #[test]
    fn reading_faster_raises_the_frequency_by_the_step() {
        for step in [0.75, 1.0 / 1.12, 1.25, 1.41] {
            let x = sine(300.0, 0.5, 40_000);
            let y = resample_by_step(&x, step, (40_000.0 / step) as usize - 100);
            let f = dominant_frequency(&y[1_000..y.len() - 1_000]);
            let cents = 1200.0 * (f / (300.0 * step as f32)).log2();
            assert!(cents.abs() < 2.0, "step {step}: {f} Hz, {cents:+.2} cents");
        }
    }

    #[test]
    fn reading_faster_does_not_alias() {
        // 7 kHz read at step 1.4 would land at 9.8 kHz, above the 8 kHz
        // Nyquist: the cutoff must remove it instead of folding it to 6.2 kHz.
        let x = sine(7_000.0, 0.5, 32_000);
        let y = resample_by_step(&x, 1.4, 20_000);
        let rms = (y[2_000..18_000].iter().map(|s| s * s).sum::<f32>() / 16_000.0).sqrt();
        assert!(rms < 1e-3, "aliased energy RMS {rms}");
    }

    #[test]
    fn shared_offsets_give_the_per_tap_sums_bit_for_bit() {
        let x: Vec<f32> = (0..3_000).map(|i| ((i * 7919) % 1013) as f32 / 1013.0 - 0.5).collect();
        // The pitch ratios of -6, -1, 0, +2 and +6 semitones.
        for step in [-6.0f64, -1.0, 0.0, 2.0, 6.0].map(|k| 2f64.powf(k / 12.0)) {
            let cutoff = (1.0f64 / step).min(1.0);
            let half_width = (ZERO_CROSSINGS as f64 / cutoff).ceil() as usize;
            let table = kernel_table(cutoff, half_width);
            let fast = resample_range(&x, step, 0..2_900);
            for (i, &y) in fast.iter().enumerate() {
                let position = i as f64 * step;
                let centre = position.floor() as isize;
                let taps = (centre - half_width as isize + 1).max(0)..(centre + half_width as isize + 1).min(3_000);
                let slow = sample_at(&x, &table, position, taps);
                assert_eq!(y.to_bits(), slow.to_bits(), "step {step}, sample {i}");
            }
            assert_eq!(resample_range(&x, step, 100..200)[..], fast[100..200]);
        }
    }

    #[test]
    fn kaiser_window_edges() {
        assert!((bessel_i0(0.0) - 1.0).abs() < 1e-15);
        // I0(1) = 1.2660658777520082
        assert!((bessel_i0(1.0) - 1.266_065_877_752_008_2).abs() < 1e-12);
    }
}
