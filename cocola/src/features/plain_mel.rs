//! The mel input kind (the paper's models "w/o HPS"): one log-mel
//! spectrogram exactly as the reference computes it with torchaudio,
//!
//! ```text
//! MelSpectrogram(sample_rate=16000, n_fft=1024, win_length=400, hop_length=160,
//!                f_min=60, f_max=7800, n_mels=64)          -> [1, 64, 501]
//! AmplitudeToDB()                                          (power, absolute dB)
//! ```
//!
//! with torchaudio's defaults: periodic Hann window, centred frames with
//! reflect padding, power 2 (`|X|^2` of torch's complex64 STFT), HTK mel
//! scale without filter normalisation, `10 log10(max(x, 1e-10))`.
//!
//! The STFT runs in f64 and is rounded where torch's float32 pipeline
//! stores a value (the spectrum's parts, `abs`, the square), as the HPS
//! extractor does for librosa (see stft.rs); the mel product then runs in
//! f32 like torch's. What remains is torch's own float32 FFT round-off,
//! which only shows in bands more than ~100 dB below a frame's loudest one.

use super::mel::{self, Filterbank};
use super::stft::{Padding, Stft};
use super::transpose::transpose;
use super::{db, load_window, BIN_STRIDE, FRAME_STRIDE};
use crate::contract::{InputKind, N_BINS, N_FRAMES, N_MELS, WINDOW_SAMPLES};

/// Computes the [1, 64, 501] log-mel tensor of 5 s windows of 16 kHz mono audio.
///
/// Owns the FFT plan, the window, the filterbank and every scratch buffer, so
/// [`extract_into`](Self::extract_into) never allocates. One per thread.
pub struct MelExtractor {
    stft: Stft,
    mel: Filterbank,
    signal: Vec<f32>,
    /// |STFT|, frame-major: `[N_FRAMES][BIN_STRIDE]`.
    magnitude_by_frame: Vec<f32>,
    /// |STFT|^2, bin-major: `[N_BINS][FRAME_STRIDE]`.
    power_by_bin: Vec<f32>,
    /// Mel power, `[N_MELS][FRAME_STRIDE]`.
    mel_power: Vec<f32>,
}

impl MelExtractor {
    pub fn new() -> Self {
        MelExtractor {
            stft: Stft::contract(Padding::Reflect),
            mel: Filterbank::htk(),
            signal: vec![0.0; WINDOW_SAMPLES],
            magnitude_by_frame: vec![0.0; N_FRAMES * BIN_STRIDE],
            power_by_bin: vec![0.0; N_BINS * FRAME_STRIDE],
            mel_power: vec![0.0; N_MELS * FRAME_STRIDE],
        }
    }

    /// Writes the `[1, 64, 501]` features of `samples_16k` (16 kHz mono; the
    /// first 5 s, zero-padded on the right, non-finite samples as 0) into
    /// `out`, row-major `[mel][frame]` in absolute dB. No heap allocation.
    ///
    /// # Panics
    ///
    /// If `out.len()` is not 64 x 501 (a programming error, not bad input).
    pub fn extract_into(&mut self, samples_16k: &[f32], out: &mut [f32]) {
        assert_eq!(
            out.len(),
            InputKind::Mel.feature_len(),
            "mel feature output buffer must hold 1 x 64 x 501 values"
        );
        load_window(samples_16k, &mut self.signal);
        self.stft
            .magnitudes(&self.signal, &mut self.magnitude_by_frame, BIN_STRIDE);
        // torch: `spec.abs().pow(2.0)` on the float32 magnitudes.
        for m in &mut self.magnitude_by_frame {
            *m *= *m;
        }
        transpose(
            &self.magnitude_by_frame,
            BIN_STRIDE,
            N_FRAMES,
            N_BINS,
            &mut self.power_by_bin,
            FRAME_STRIDE,
        );
        self.mel_power.fill(0.0);
        for k in self.mel.used_bins() {
            let power = &self.power_by_bin[k * FRAME_STRIDE..(k + 1) * FRAME_STRIDE];
            for &(m, w) in self.mel.bin(k) {
                mel::accumulate(&mut self.mel_power[m * FRAME_STRIDE..(m + 1) * FRAME_STRIDE], w, power);
            }
        }
        db::power_to_absolute_db(&self.mel_power, N_MELS, FRAME_STRIDE, out);
    }

    /// Allocating convenience around [`extract_into`](Self::extract_into).
    pub fn extract(&mut self, samples_16k: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; InputKind::Mel.feature_len()];
        self.extract_into(samples_16k, &mut out);
        out
    }
}

impl Default for MelExtractor {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, amplitude: f32) -> Vec<f32> {
        (0..WINDOW_SAMPLES)
            .map(|i| amplitude * (2.0 * std::f32::consts::PI * freq * i as f32 / 16_000.0).sin())
            .collect()
    }

    #[test]
    fn silence_is_minus_one_hundred_db_everywhere() {
        let out = MelExtractor::new().extract(&[]);
        assert_eq!(out.len(), 64 * 501);
        assert!(out.iter().all(|&v| (v + 100.0).abs() < 1e-4), "{}", out[0]);
    }

    #[test]
    fn a_tone_lights_its_band_and_scales_with_level() {
        let mut fx = MelExtractor::new();
        let loud = fx.extract(&tone(1000.0, 0.5));
        let quiet = fx.extract(&tone(1000.0, 0.05));
        let band_energy = |x: &[f32], m: usize| x[m * 501 + 250];
        let peak = (0..64)
            .max_by(|&a, &b| band_energy(&loud, a).total_cmp(&band_energy(&loud, b)))
            .unwrap();
        // 1 kHz sits in the lower middle of a 60-7800 Hz HTK scale (~ band 21).
        assert!((18..=24).contains(&peak), "peak band {peak}");
        // Absolute dB: a tenth of the amplitude is 20 dB less power.
        let drop = band_energy(&loud, peak) - band_energy(&quiet, peak);
        assert!((drop - 20.0).abs() < 0.01, "{drop}");
    }

    #[test]
    fn reflect_padding_keeps_the_first_frame_alive() {
        // A cosine mirrored at its first sample continues seamlessly, so the
        // first frame (centred on sample 0) sees the same tone as any other;
        // with zero padding it would see half a window of silence (-3 dB).
        let cosine: Vec<f32> = (0..WINDOW_SAMPLES)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 500.0 * i as f32 / 16_000.0).cos())
            .collect();
        let out = MelExtractor::new().extract(&cosine);
        let band = (0..64)
            .max_by(|&a, &b| out[a * 501 + 250].total_cmp(&out[b * 501 + 250]))
            .unwrap();
        let edge = out[band * 501] - out[band * 501 + 250];
        assert!(edge.abs() < 0.1, "first frame {edge} dB from the middle one");
    }

    #[test]
    fn non_finite_samples_count_as_zero_and_long_input_is_cut() {
        let clean = tone(300.0, 0.3);
        let mut dirty = clean.clone();
        let mut zeroed = clean.clone();
        for i in [5, 40_000, 79_999] {
            dirty[i] = f32::NAN;
            zeroed[i] = 0.0;
        }
        let mut fx = MelExtractor::new();
        assert_eq!(fx.extract(&dirty), fx.extract(&zeroed));
        let mut long = clean.clone();
        long.extend(tone(900.0, 0.9).iter().take(10_000));
        assert_eq!(fx.extract(&long), fx.extract(&clean));
    }
}
