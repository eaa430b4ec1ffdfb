//! Complex short-time Fourier transform and its exact inverse.
//!
//! Frames are centred: frame `t` covers samples `t * hop - n_fft / 2 ..
//! t * hop + n_fft / 2`, zeros outside the signal, under a periodic Hann
//! window. The inverse is the weighted overlap-add of the inverse FFTs under
//! the same window, divided by the overlapped squared windows, so
//! `inverse(forward(x)) == x` (to float rounding) for any hop up to
//! `n_fft / 2`.

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// `|z|`, as `z.norm()` (`hypotf`) gives it but inlined: the exact sum of
/// squares in f64, square-rooted and rounded once. That is how glibc's
/// `hypotf` computes it (bit for bit the same on 5e7 random pairs), at a
/// fraction of the cost of the call; the envelopes and the vocoder take it
/// for every bin of every frame. Non-finite parts go to `hypotf` (an
/// infinite part beside a NaN is infinite there).
#[inline]
pub fn magnitude(z: Complex32) -> f32 {
    if z.re.is_finite() && z.im.is_finite() {
        let (re, im) = (f64::from(z.re), f64::from(z.im));
        (re * re + im * im).sqrt() as f32
    } else {
        z.norm()
    }
}

/// A complex spectrogram, frame-major: `bins[t * n_bins + k]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Spectrogram {
    pub frames: usize,
    pub n_bins: usize,
    pub bins: Vec<Complex32>,
}

impl Spectrogram {
    /// Frame `t`'s bins.
    pub fn frame(&self, t: usize) -> &[Complex32] {
        &self.bins[t * self.n_bins..(t + 1) * self.n_bins]
    }
}

/// Plans, window and scratch for one transform size and hop.
pub struct Stft {
    n_fft: usize,
    hop: usize,
    window: Vec<f32>,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    frame: Vec<f32>,
    spectrum: Vec<Complex32>,
    scratch: Vec<Complex32>,
}

impl Stft {
    /// An STFT of `n_fft` points (even) every `hop` samples (1..=n_fft / 2).
    pub fn new(n_fft: usize, hop: usize) -> Self {
        assert!(n_fft >= 4 && n_fft.is_multiple_of(2), "n_fft must be even, got {n_fft}");
        assert!((1..=n_fft / 2).contains(&hop), "hop {hop} outside 1..={}", n_fft / 2);
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(n_fft);
        let inverse = planner.plan_fft_inverse(n_fft);
        let scratch_len = forward.get_scratch_len().max(inverse.get_scratch_len());
        Self {
            n_fft,
            hop,
            window: crate::features::periodic_hann(n_fft)
                .into_iter()
                .map(|w| w as f32)
                .collect(),
            frame: forward.make_input_vec(),
            spectrum: forward.make_output_vec(),
            scratch: vec![Complex32::default(); scratch_len],
            forward,
            inverse,
        }
    }

    pub fn n_fft(&self) -> usize {
        self.n_fft
    }

    pub fn hop(&self) -> usize {
        self.hop
    }

    /// Bins per frame: `n_fft / 2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Frames of a signal of `len` samples: `1 + len / hop`.
    pub fn frames_for(&self, len: usize) -> usize {
        1 + len / self.hop
    }

    /// The spectrogram of `signal`.
    pub fn forward(&mut self, signal: &[f32]) -> Spectrogram {
        let frames = self.frames_for(signal.len());
        let n_bins = self.n_bins();
        let mut bins = Vec::with_capacity(frames * n_bins);
        let half = (self.n_fft / 2) as isize;
        for t in 0..frames {
            let start = (t * self.hop) as isize - half;
            // The part of the frame inside the signal; zeros around it.
            let first = (-start).clamp(0, self.n_fft as isize) as usize;
            let end = (signal.len() as isize - start).clamp(first as isize, self.n_fft as isize) as usize;
            self.frame[..first].fill(0.0);
            self.frame[end..].fill(0.0);
            let inside = &signal[(start + first as isize) as usize..(start + end as isize) as usize];
            for ((x, &s), &w) in self.frame[first..end]
                .iter_mut()
                .zip(inside)
                .zip(&self.window[first..end])
            {
                *x = s * w;
            }
            self.forward
                .process_with_scratch(&mut self.frame, &mut self.spectrum, &mut self.scratch)
                .expect("FFT buffers are sized by the plan itself");
            bins.extend_from_slice(&self.spectrum);
        }
        Spectrogram { frames, n_bins, bins }
    }

    /// The signal of `len` samples whose spectrogram is `spec` (frames past
    /// `len` are ignored, missing ones read as silence).
    pub fn inverse(&mut self, spec: &Spectrogram, len: usize) -> Vec<f32> {
        assert_eq!(spec.n_bins, self.n_bins(), "spectrogram of another transform size");
        let half = (self.n_fft / 2) as isize;
        let mut out = vec![0.0f32; len];
        let mut norm = vec![0.0f32; len];
        let scale = 1.0 / self.n_fft as f32;
        for t in 0..spec.frames {
            let start = (t * self.hop) as isize - half;
            if start >= len as isize {
                break;
            }
            self.spectrum.copy_from_slice(spec.frame(t));
            // A real signal's DC and Nyquist bins are real; realfft refuses
            // anything else, and a modified spectrum may not be exactly so.
            self.spectrum[0].im = 0.0;
            let last = self.spectrum.len() - 1;
            self.spectrum[last].im = 0.0;
            self.inverse
                .process_with_scratch(&mut self.spectrum, &mut self.frame, &mut self.scratch)
                .expect("FFT buffers are sized by the plan itself");
            for (n, &x) in self.frame.iter().enumerate() {
                let i = start + n as isize;
                if (0..len as isize).contains(&i) {
                    let w = self.window[n];
                    out[i as usize] += x * scale * w;
                    norm[i as usize] += w * w;
                }
            }
        }
        // Where the windows barely overlap (the very first samples) dividing
        // would amplify round-off; those samples keep the un-normalised sum.
        let floor = 1e-3 * self.window.iter().map(|w| w * w).sum::<f32>() / self.hop as f32;
        for (o, &w2) in out.iter_mut().zip(&norm) {
            if w2 > floor {
                *o /= w2;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(len: usize, seed: u32) -> Vec<f32> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn magnitude_is_hypot() {
        let parts = [
            0.0f32,
            -0.0,
            1e-30,
            3e-8,
            0.5,
            -1.25,
            7.0,
            1e3,
            -3.4e12,
            1e19,
            3.3e38,
            f32::INFINITY,
            f32::NAN,
        ];
        for &re in &parts {
            for &im in &parts {
                let z = Complex32::new(re, im);
                assert_eq!(magnitude(z).to_bits(), z.norm().to_bits(), "{z}");
                assert_eq!(magnitude(-z).to_bits(), (-z).norm().to_bits(), "{z}");
            }
        }
    }

    #[test]
    fn inverse_of_forward_is_the_signal() {
        for (n_fft, hop) in [(2048, 512), (1024, 256), (512, 256)] {
            let x = noise(10_007, 3);
            let mut stft = Stft::new(n_fft, hop);
            let spec = stft.forward(&x);
            assert_eq!(spec.frames, 1 + x.len() / hop);
            let y = stft.inverse(&spec, x.len());
            let err = x.iter().zip(&y).skip(2).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(err < 1e-4, "n_fft {n_fft} hop {hop}: max error {err}");
        }
    }

    #[test]
    fn a_sine_peaks_in_its_bin() {
        let sr = 16_000.0;
        let f = 1_000.0;
        let x: Vec<f32> = (0..8_000)
            .map(|i| (2.0 * std::f32::consts::PI * f * i as f32 / sr).sin())
            .collect();
        let mut stft = Stft::new(1024, 256);
        let spec = stft.forward(&x);
        let frame = spec.frame(15);
        let peak = (0..frame.len())
            .max_by(|&a, &b| frame[a].norm().total_cmp(&frame[b].norm()))
            .unwrap();
        assert_eq!(peak, 64, "1 kHz at 16 kHz with 1024 points is bin 64");
    }
}
