//! Magnitude STFT, as `np.abs(librosa.stft(y, n_fft=1024, win_length=400,
//! hop_length=160))` computes it for float32 `y` (librosa 0.10.1 defaults).
//!
//! What librosa does, and what is reproduced here:
//! - window: `scipy.signal.get_window('hann', 400, fftbins=True)`, the
//!   *periodic* Hann window, in float64, zero-padded centred to 1024
//!   (`util.pad_center`: 312 zeros on the left);
//! - `center=True`, `pad_mode='constant'`: the signal is padded with
//!   `n_fft / 2` zeros on both sides, so frame `t` is centred on sample `t * hop`;
//! - the windowed frames are float64 (float32 samples times the float64
//!   window), transformed by numpy's float64 `rfft`, and the result is stored
//!   as complex64: each part is rounded to float32;
//! - `np.abs` of complex64 is `hypotf`, i.e. the float32 rounding of the exact
//!   magnitude of those rounded parts.
//!
//! The transform runs in f64 like librosa's: the magnitudes feed order
//! statistics and soft masks whose quiet bins end up in the output near the
//! -80 dB floor, where an f32 FFT's round-off (relative to the loudest bin of
//! the frame) shows. Measured on the golden fixtures: an f32 FFT is off by up
//! to 1.4e-3 dB, this f64 one by at most 1.5e-5 dB (two f32 ulps).
//!
//! Each frame gets its own real FFT (`realfft`), so a frame's spectrum never
//! carries round-off from another one: an all-zero frame is exactly zero, as
//! in librosa, which matters for the soft masks' zero handling (see hpss.rs).
//!
//! The mel input kind (torchaudio's `Spectrogram`) frames the signal the same
//! way but pads it by reflection ([`Padding::Reflect`], torch's default
//! `pad_mode='reflect'`): the window is the same periodic Hann window
//! (`torch.hann_window(400)`), and torch's complex64 spectrum and `abs()`
//! are what [`complex64_abs`] rounds to.
//!
//! The pitch input's harmonic channel frames the signal the same way with a
//! longer window (2048 samples filling a 2048-point frame, zero padding):
//! [`Stft::new`] takes the sizes, [`Stft::contract`] is the contract's.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use crate::contract::{HOP_LENGTH, N_FFT, N_FRAMES, WINDOW_SAMPLES, WIN_LENGTH};

/// How the signal is extended by `n_fft / 2` samples on each side (centred frames).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Padding {
    /// Zeros (librosa 0.10 `pad_mode='constant'`): the HPS input.
    Zeros,
    /// The signal mirrored without repeating its edge sample (`x[-i] = x[i]`,
    /// numpy/torch `'reflect'`): the mel input.
    Reflect,
}

/// Plan, window and scratch for the magnitude STFT of one 5 s window.
pub(crate) struct Stft {
    padding: Padding,
    n_fft: usize,
    /// Offset of the Hann window inside the frame (`pad_center`).
    window_offset: usize,
    fft: Arc<dyn RealToComplex<f64>>,
    window: Vec<f64>,
    frame: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

impl Stft {
    /// The contract's STFT: 1024 points, a 400-sample window.
    pub(crate) fn contract(padding: Padding) -> Self {
        Self::new(padding, N_FFT, WIN_LENGTH)
    }

    /// An STFT of `n_fft` points whose periodic Hann window of `win_length`
    /// samples sits centred in the frame; hop and centring are the contract's.
    pub(crate) fn new(padding: Padding, n_fft: usize, win_length: usize) -> Self {
        assert!(win_length <= n_fft && n_fft / 2 < WINDOW_SAMPLES);
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n_fft);
        Stft {
            padding,
            n_fft,
            window_offset: (n_fft - win_length) / 2,
            window: periodic_hann(win_length),
            frame: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
        }
    }

    /// Frequency bins of one frame: `n_fft / 2 + 1`.
    pub(crate) fn bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Magnitudes of all `N_FRAMES` frames of `signal` (exactly
    /// `WINDOW_SAMPLES` finite samples), frame-major:
    /// `by_frame[t * frame_stride + k]` is bin `k` of frame `t`.
    pub(crate) fn magnitudes(&mut self, signal: &[f32], by_frame: &mut [f32], frame_stride: usize) {
        let bins = self.bins();
        debug_assert_eq!(signal.len(), WINDOW_SAMPLES);
        debug_assert!(frame_stride >= bins && by_frame.len() >= N_FRAMES * frame_stride);

        for t in 0..N_FRAMES {
            self.load_frame(signal, t);
            self.fft
                .process_with_scratch(&mut self.frame, &mut self.spectrum, &mut self.scratch)
                .expect("FFT buffers are sized by the plan itself");
            let row = &mut by_frame[t * frame_stride..t * frame_stride + bins];
            for (m, z) in row.iter_mut().zip(&self.spectrum) {
                *m = complex64_abs(z.re, z.im);
            }
        }
    }

    /// Fills the FFT input with frame `t`, windowed and placed as librosa
    /// places it (the FFT uses the buffer as scratch, so it is rebuilt whole).
    fn load_frame(&mut self, signal: &[f32], t: usize) {
        self.frame.fill(0.0);
        let (offset, win_length) = (self.window_offset, self.window.len());
        // Frame `t` of the centre-padded signal starts at original sample
        // t * hop - n_fft / 2; the window's first sample sits `offset` later.
        let start = (t * HOP_LENGTH + offset) as isize - (self.n_fft / 2) as isize;
        if self.padding == Padding::Reflect {
            let last = WINDOW_SAMPLES as isize - 1;
            for (n, (x, &w)) in self.frame[offset..offset + win_length]
                .iter_mut()
                .zip(&self.window)
                .enumerate()
            {
                // The padding is n_fft / 2 < WINDOW_SAMPLES: one reflection suffices.
                let i = start + n as isize;
                let i = if i < 0 {
                    -i
                } else if i > last {
                    2 * last - i
                } else {
                    i
                };
                *x = f64::from(signal[i as usize]) * w;
            }
            return;
        }
        // Window positions outside the signal read the zero padding of
        // `pad_mode='constant'`, i.e. stay zero.
        let first = (-start).clamp(0, win_length as isize) as usize;
        let end = (WINDOW_SAMPLES as isize - start).clamp(first as isize, win_length as isize) as usize;
        let samples = &signal[(start + first as isize) as usize..(start + end as isize) as usize];
        let dst = &mut self.frame[offset + first..offset + end];
        for ((x, &y), &w) in dst.iter_mut().zip(samples).zip(&self.window[first..end]) {
            *x = f64::from(y) * w;
        }
    }
}

/// `scipy.signal.get_window('hann', len, fftbins=True)`: scipy builds the
/// symmetric window of `len + 1` points from `np.linspace(-pi, pi, len + 1)`
/// as `0.5 + 0.5 cos(x)` and drops the last point. Reproduced with the same
/// arithmetic so the f64 window agrees with scipy's to the last bit or so.
pub(crate) fn periodic_hann(len: usize) -> Vec<f64> {
    let m = len + 1;
    let start = -std::f64::consts::PI;
    let step = (std::f64::consts::PI - start) / (m - 1) as f64;
    (0..len)
        .map(|n| {
            let x = n as f64 * step + start;
            0.5 + 0.5 * x.cos()
        })
        .collect()
}

/// `np.abs` of the complex64 value librosa stores for an f64 spectrum value:
/// both parts are rounded to f32 first, then `hypotf` returns the f32
/// rounding of the magnitude, which the f64 computation below gives exactly
/// (the squares of f32 values are exact in f64).
#[inline]
fn complex64_abs(re: f64, im: f64) -> f32 {
    let re = f64::from(re as f32);
    let im = f64::from(im as f32);
    (re * re + im * im).sqrt() as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::N_BINS;

    #[test]
    fn window_is_periodic_hann() {
        let w = periodic_hann(WIN_LENGTH);
        assert_eq!(w.len(), 400);
        assert_eq!(w[0], 0.0);
        assert!((w[200] - 1.0).abs() < 1e-15);
        for n in 1..400 {
            // periodic: symmetric around len / 2, w[n] == w[len - n]
            assert!((w[n] - w[400 - n]).abs() < 1e-15, "n={n}");
            let exact = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / 400.0).cos();
            assert!((w[n] - exact).abs() < 1e-15, "n={n}");
        }
    }

    /// Direct DFT of one centred, windowed frame in f64 (`n_fft` points, a
    /// `win`-sample window), the signal padded explicitly (zeros, or numpy's
    /// `np.pad(mode='reflect')`).
    fn naive_magnitudes(signal: &[f32], frame: usize, padding: Padding, n_fft: usize, win: usize) -> Vec<f64> {
        let w = periodic_hann(win);
        let (pad, offset) = (n_fft / 2, (n_fft - win) / 2);
        let mut extended = vec![0.0f32; WINDOW_SAMPLES + 2 * pad];
        extended[pad..pad + WINDOW_SAMPLES].copy_from_slice(signal);
        if padding == Padding::Reflect {
            for k in 1..=pad {
                extended[pad - k] = signal[k];
                extended[pad + WINDOW_SAMPLES - 1 + k] = signal[WINDOW_SAMPLES - 1 - k];
            }
        }
        let mut padded = vec![0.0f64; n_fft];
        for n in 0..win {
            padded[offset + n] = f64::from(extended[frame * HOP_LENGTH + offset + n]) * w[n];
        }
        (0..=n_fft / 2)
            .map(|k| {
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for (m, &x) in padded.iter().enumerate() {
                    let ph = -2.0 * std::f64::consts::PI * ((k * m) % n_fft) as f64 / n_fft as f64;
                    re += x * ph.cos();
                    im += x * ph.sin();
                }
                (re * re + im * im).sqrt()
            })
            .collect()
    }

    #[test]
    fn matches_a_direct_dft_on_first_middle_and_last_frames() {
        let all = [0, 1, 2, 3, 250, 251, 498, 499, 500];
        for padding in [Padding::Zeros, Padding::Reflect] {
            matches_a_direct_dft(padding, N_FFT, WIN_LENGTH, &all);
        }
        // The pitch input's harmonic STFT: the window fills the frame.
        matches_a_direct_dft(Padding::Zeros, 2048, 2048, &[0, 5, 250, 500]);
    }

    fn matches_a_direct_dft(padding: Padding, n_fft: usize, win: usize, frames: &[usize]) {
        let mut state = 0x1234_5678u32;
        let signal: Vec<f32> = (0..WINDOW_SAMPLES)
            .map(|i| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                0.3 * (i as f32 * 0.05).sin() + 0.1 * noise
            })
            .collect();
        let mut stft = Stft::new(padding, n_fft, win);
        let bins = stft.bins();
        assert_eq!(bins, n_fft / 2 + 1);
        let fs = bins + 7;
        let mut by_frame = vec![0.0; N_FRAMES * fs];
        stft.magnitudes(&signal, &mut by_frame, fs);
        for &frame in frames {
            let expected = naive_magnitudes(&signal, frame, padding, n_fft, win);
            let peak = expected.iter().cloned().fold(0.0, f64::max);
            for k in 0..bins {
                let got = f64::from(by_frame[frame * fs + k]);
                // f32 rounding of the value plus a tiny multiple of the frame's peak
                let tol = expected[k] * 3e-7 + peak * 1e-12;
                assert!(
                    (got - expected[k]).abs() <= tol,
                    "{padding:?} {n_fft}/{win} frame {frame} bin {k}: {got} vs {}",
                    expected[k]
                );
            }
        }
    }

    #[test]
    fn silent_frames_are_exactly_zero() {
        let mut signal = vec![0.0f32; WINDOW_SAMPLES];
        signal[40_000] = 1.0;
        let mut by_frame = vec![1.0; N_FRAMES * N_BINS];
        Stft::contract(Padding::Zeros).magnitudes(&signal, &mut by_frame, N_BINS);
        // sample 40000 is the centre of frame 250; the window spans +-200 samples,
        // and the window is exactly zero at its first sample (250*160-200 = 39800).
        for t in 0..N_FRAMES {
            let nonzero = by_frame[t * N_BINS..(t + 1) * N_BINS].iter().any(|&m| m != 0.0);
            assert_eq!(nonzero, (249..=251).contains(&t), "frame {t}");
        }
    }
}
