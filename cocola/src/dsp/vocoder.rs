//! Time stretch without changing pitch: a phase vocoder with identity phase
//! locking (Laroche & Dolson, "Improved phase vocoder time-scale
//! modification of audio", IEEE TSAP 1999).
//!
//! The signal's STFT is read at fractional frame positions `m * rate`
//! (magnitudes interpolated between the two neighbouring frames) and written
//! at the same hop, so `rate` > 1 shortens the sound and `rate` < 1 lengthens
//! it. A plain phase vocoder advances every bin's phase by its own measured
//! frequency, which lets the bins of one partial drift apart in phase: the
//! "phasiness" that smears a stretched piano into a chorus. Identity phase
//! locking advances only the spectral peaks that way; every other bin keeps
//! the phase offset it had from its peak in the analysis frame, so each
//! partial keeps its shape.

use std::f32::consts::PI;

use realfft::num_complex::Complex32;

use super::stft::{magnitude, Spectrogram, Stft};

/// Transform size at 16 kHz: 128 ms, enough resolution (7.8 Hz bins) to
/// separate the partials of bass notes; transients smear over ~30 ms.
pub const N_FFT: usize = 2048;
/// Hop: a quarter of the frame (Hann windows overlapping 75 %).
pub const HOP: usize = N_FFT / 4;

/// `signal` played `rate` times as fast at the same pitch: `round(len / rate)`
/// samples. `rate` must be finite and within 0.25..=4.
pub fn time_stretch(signal: &[f32], rate: f64) -> Vec<f32> {
    assert!(
        rate.is_finite() && (0.25..=4.0).contains(&rate),
        "stretch rate {rate} outside 0.25..=4"
    );
    let out_len = (signal.len() as f64 / rate).round() as usize;
    if signal.is_empty() || out_len == 0 {
        return vec![0.0; out_len];
    }
    let mut stft = Stft::new(N_FFT, HOP);
    let analysis = stft.forward(signal);
    let synthesis = stretch_spectrogram(&analysis, rate, stft.frames_for(out_len));
    stft.inverse(&synthesis, out_len)
}

/// The stretched spectrogram: `frames` output frames, frame `m` read at
/// analysis position `m * rate`.
fn stretch_spectrogram(analysis: &Spectrogram, rate: f64, frames: usize) -> Spectrogram {
    let n_bins = analysis.n_bins;
    // Expected phase advance of bin k over one hop: its centre frequency.
    let omega: Vec<f32> = (0..n_bins)
        .map(|k| 2.0 * PI * k as f32 * HOP as f32 / N_FFT as f32)
        .collect();
    // Every output frame reads two neighbouring analysis frames, and a slow
    // stretch reads each one several times: their magnitudes and phases are
    // computed once here (frames past the end read as silence).
    let polar = PolarFrames::of(analysis);

    let mut out = Vec::with_capacity(frames * n_bins);
    let mut magnitude = vec![0.0f32; n_bins];
    let mut advance = vec![0.0f32; n_bins];
    // The analysis frame `advance` was measured from.
    let mut advance_of = None;
    let mut phase_out: Vec<f32> = polar.phase(0).to_vec();
    let mut peaks = Vec::with_capacity(n_bins / 2);
    for m in 0..frames {
        let position = m as f64 * rate;
        let t0 = position.floor() as usize;
        let frac = (position - t0 as f64) as f32;
        let (a, b) = (polar.norm(t0), polar.norm(t0 + 1));
        for k in 0..n_bins {
            magnitude[k] = (1.0 - frac) * a[k] + frac * b[k];
        }
        let phase_now = polar.phase(t0);
        if advance_of != Some(t0) {
            let next = polar.phase(t0 + 1);
            for k in 0..n_bins {
                advance[k] = omega[k] + wrap(next[k] - phase_now[k] - omega[k]);
            }
            advance_of = Some(t0);
        }
        if m > 0 {
            find_peaks(&magnitude, &mut peaks);
            lock_phases(&peaks, &magnitude, phase_now, &advance, &mut phase_out);
        }
        out.extend(
            magnitude
                .iter()
                .zip(&phase_out)
                .map(|(&r, &phi)| Complex32::from_polar(r, phi)),
        );
    }
    Spectrogram {
        frames,
        n_bins,
        bins: out,
    }
}

/// Magnitude and phase of every bin of a spectrogram, frame-major; one
/// silent frame (magnitude and phase 0, as `norm` and `arg` of zero give)
/// stands for every frame past the end.
struct PolarFrames {
    n_bins: usize,
    frames: usize,
    norms: Vec<f32>,
    phases: Vec<f32>,
}

impl PolarFrames {
    fn of(spec: &Spectrogram) -> Self {
        let silent = spec.frames * spec.n_bins;
        let mut norms = Vec::with_capacity(silent + spec.n_bins);
        let mut phases = Vec::with_capacity(silent + spec.n_bins);
        norms.extend(spec.bins.iter().map(|&z| magnitude(z)));
        phases.extend(spec.bins.iter().map(|z| z.arg()));
        norms.resize(silent + spec.n_bins, 0.0);
        phases.resize(silent + spec.n_bins, Complex32::default().arg());
        Self {
            n_bins: spec.n_bins,
            frames: spec.frames,
            norms,
            phases,
        }
    }

    fn at(&self, t: usize) -> std::ops::Range<usize> {
        let t = t.min(self.frames);
        t * self.n_bins..(t + 1) * self.n_bins
    }

    fn norm(&self, t: usize) -> &[f32] {
        &self.norms[self.at(t)]
    }

    fn phase(&self, t: usize) -> &[f32] {
        &self.phases[self.at(t)]
    }
}

/// Local maxima of the magnitude over two neighbours on each side.
fn find_peaks(magnitude: &[f32], peaks: &mut Vec<usize>) {
    peaks.clear();
    let n = magnitude.len();
    for k in 0..n {
        let m = magnitude[k];
        let higher = |j: usize| magnitude[j] < m || (magnitude[j] == m && j > k);
        if m > 0.0 && (k.saturating_sub(2)..k).all(higher) && (k + 1..(k + 3).min(n)).all(higher) {
            peaks.push(k);
        }
    }
}

/// Advances each peak's phase by its measured frequency and sets every bin in
/// the peak's region (up to the lowest bin between two peaks) to the peak's
/// new phase plus the offset it had from the peak in the analysis frame.
/// Without peaks (silence) every bin advances on its own.
fn lock_phases(peaks: &[usize], magnitude: &[f32], phase_now: &[f32], advance: &[f32], phase_out: &mut [f32]) {
    if peaks.is_empty() {
        for (p, &a) in phase_out.iter_mut().zip(advance) {
            *p = wrap(*p + a);
        }
        return;
    }
    let n = magnitude.len();
    let mut region_start = 0;
    for (i, &peak) in peaks.iter().enumerate() {
        let region_end = match peaks.get(i + 1) {
            // The trough between this peak and the next closes the region.
            Some(&next) => (peak..next)
                .min_by(|&x, &y| magnitude[x].total_cmp(&magnitude[y]))
                .map_or(next, |trough| trough + 1),
            None => n,
        };
        let peak_phase = wrap(phase_out[peak] + advance[peak]);
        for k in region_start..region_end {
            phase_out[k] = wrap(peak_phase + phase_now[k] - phase_now[peak]);
        }
        region_start = region_end;
    }
}

/// The angle in (-pi, pi].
fn wrap(angle: f32) -> f32 {
    let wrapped = angle - 2.0 * PI * (angle / (2.0 * PI)).round();
    if wrapped <= -PI {
        wrapped + 2.0 * PI
    } else {
        wrapped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::test_signals::{dominant_frequency, energy_near, sine};

    #[test]
    fn stretching_keeps_the_pitch_and_scales_the_length() {
        let x = sine(440.0, 0.5, 32_000);
        for rate in [0.7, 0.89, 1.0, 1.12, 1.41] {
            let y = time_stretch(&x, rate);
            assert_eq!(y.len(), (32_000.0 / rate).round() as usize);
            let middle = &y[y.len() / 4..3 * y.len() / 4];
            let f = dominant_frequency(middle);
            let cents = 1200.0 * (f / 440.0).log2();
            assert!(cents.abs() < 5.0, "rate {rate}: {f} Hz ({cents:+.1} cents)");
            let level = (middle.iter().map(|s| s * s).sum::<f32>() / middle.len() as f32).sqrt();
            assert!((level - 0.5 / 2f32.sqrt()).abs() < 0.03, "rate {rate}: RMS {level}");
        }
    }

    #[test]
    fn a_stretched_chord_stays_three_clean_partials() {
        // The partials keep their frequencies and amplitudes, and nothing
        // else appears: at least 99 % of the energy within 4 Hz of the notes.
        let notes = [261.63, 329.63, 392.0];
        let mut x = vec![0.0f32; 48_000];
        for f in notes {
            for (a, b) in x.iter_mut().zip(sine(f, 0.2, 48_000)) {
                *a += b;
            }
        }
        for rate in [0.8, 0.89, 1.12, 1.25] {
            let y = time_stretch(&x, rate);
            let middle = &y[8_000..y.len() - 8_000];
            let share = energy_near(middle, &notes, 4.0);
            assert!(
                share > 0.99,
                "rate {rate}: {:.2} % of the energy on the notes",
                100.0 * share
            );
        }
    }

    #[test]
    fn silence_and_empty_input() {
        assert!(time_stretch(&[], 1.2).is_empty());
        assert!(time_stretch(&vec![0.0; 5_000], 0.8).iter().all(|&s| s == 0.0));
    }

    #[test]
    fn wrap_is_the_principal_value() {
        for a in [-7.0f32, -PI, -1.0, 0.0, 1.0, PI, 4.0, 13.0] {
            let w = wrap(a);
            assert!(w > -PI - 1e-6 && w <= PI + 1e-6, "{a} -> {w}");
            assert!(((a - w) / (2.0 * PI) - ((a - w) / (2.0 * PI)).round()).abs() < 1e-4);
        }
    }
}
