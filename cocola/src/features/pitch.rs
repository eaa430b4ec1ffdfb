//! The pitch input kind (`cocola-pitch-features-2`, docs/DESIGN.md "Pitch
//! input"): the HPS input with a harmonic channel that keeps key.
//!
//! ```text
//! channel 0  harmonic part (HPSS, kernel 31, soft masks) of a 2048-point STFT
//!            with a 2048-sample (128 ms) window, in 64 semitone bands
//!            C2..D#7 (semitone.rs), power_to_db(ref=max, top_db=80)
//! channel 1  the HPS input's percussive channel, unchanged (bit for bit)
//! ```
//!
//! Both STFTs use hop 160 with centred, zero-padded frames, so their 501
//! frames are centred on the same samples. The percussive channel stays on
//! the contract's 25 ms window, which keeps onsets sharp; the long window
//! is what lets neighbouring semitones fall in different bins.

use super::hpss::HpssSpectrogram;
use super::mel::Filterbank;
use super::stft::{Padding, Stft};
use super::{db, load_window, semitone, FRAME_STRIDE};
use crate::contract::{FEATURE_LEN, N_CHANNELS, N_FRAMES, N_MELS, PITCH_N_FFT, PITCH_WIN_LENGTH, WINDOW_SAMPLES};

/// Computes the [2, 64, 501] pitch-input tensor of 5 s windows of 16 kHz
/// mono audio.
///
/// Owns both FFT plans, the filterbanks and every scratch buffer (about
/// 12 MB), so [`extract_into`](Self::extract_into) never allocates. One per
/// thread; it is `Send`.
pub struct PitchExtractor {
    /// The contract's STFT (1024 points, 400-sample window): the percussive channel.
    short: HpssSpectrogram,
    /// The 2048-point STFT with a 2048-sample window: the harmonic channel.
    long: HpssSpectrogram,
    mel: Filterbank,
    semitones: Filterbank,
    signal: Vec<f32>,
    /// Band power, `[N_CHANNELS][N_MELS][FRAME_STRIDE]`: harmonic semitone
    /// bands, then percussive mel bands.
    band_power: Vec<f32>,
}

impl PitchExtractor {
    pub fn new() -> Self {
        let semitones = Filterbank::from_dense(&semitone::semitone_weights());
        // The bands stop at 2.6 kHz: a third of the long STFT's bins.
        let long = Stft::new(Padding::Zeros, PITCH_N_FFT, PITCH_WIN_LENGTH);
        PitchExtractor {
            short: HpssSpectrogram::new(Stft::contract(Padding::Zeros)),
            long: HpssSpectrogram::up_to(long, semitones.used_end()),
            mel: Filterbank::slaney(),
            semitones,
            signal: vec![0.0; WINDOW_SAMPLES],
            band_power: vec![0.0; N_CHANNELS * N_MELS * FRAME_STRIDE],
        }
    }

    /// Writes the `[2, 64, 501]` features of `samples_16k` (16 kHz mono; the
    /// first 5 s, zero-padded on the right, non-finite samples as 0, as
    /// [`FeatureExtractor`](super::FeatureExtractor) reads them) into `out`:
    /// channel 0 the harmonic semitone bands, channel 1 percussive, each
    /// `[band][frame]` in dB relative to its own maximum. No heap allocation.
    ///
    /// # Panics
    ///
    /// If `out.len()` is not 2 x 64 x 501 (a programming error, not bad input).
    pub fn extract_into(&mut self, samples_16k: &[f32], out: &mut [f32]) {
        assert_eq!(
            out.len(),
            FEATURE_LEN,
            "pitch feature output buffer must hold 2 x 64 x 501 values"
        );
        load_window(samples_16k, &mut self.signal);
        self.band_power.fill(0.0);
        let (harm, perc) = self.band_power.split_at_mut(N_MELS * FRAME_STRIDE);
        self.long.analyse(&self.signal);
        self.long.add_band_power(&self.semitones, Some(&mut *harm), None);
        self.short.analyse(&self.signal);
        self.short.add_band_power(&self.mel, None, Some(&mut *perc));
        let (out_harm, out_perc) = out.split_at_mut(N_MELS * N_FRAMES);
        db::power_to_db(harm, N_MELS, FRAME_STRIDE, out_harm);
        db::power_to_db(perc, N_MELS, FRAME_STRIDE, out_perc);
    }

    /// Allocating convenience around [`extract_into`](Self::extract_into).
    pub fn extract(&mut self, samples_16k: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; FEATURE_LEN];
        self.extract_into(samples_16k, &mut out);
        out
    }
}

impl Default for PitchExtractor {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::super::FeatureExtractor;
    use super::*;
    use crate::contract::CHANNEL_LEN;

    /// A sustained note with a few harmonics (a harmonic sound for HPSS),
    /// plus a click every half second (a percussive one).
    fn note_and_clicks(hz: f32) -> Vec<f32> {
        (0..WINDOW_SAMPLES)
            .map(|i| {
                let t = i as f32 / 16_000.0;
                let note: f32 = (1..=4)
                    .map(|h| (2.0 * std::f32::consts::PI * hz * h as f32 * t).sin() * 0.3 / h as f32)
                    .sum();
                note + if i % 8000 < 20 { 0.5 } else { 0.0 }
            })
            .collect()
    }

    /// The band holding most of channel 0's energy, averaged over frames.
    fn loudest_harmonic_band(features: &[f32]) -> usize {
        let mean = |b: usize| features[b * N_FRAMES..(b + 1) * N_FRAMES].iter().sum::<f32>();
        (0..N_MELS).max_by(|&a, &b| mean(a).total_cmp(&mean(b))).unwrap()
    }

    #[test]
    fn the_percussive_channel_is_the_hps_inputs() {
        let x = note_and_clicks(220.0);
        let pitch = PitchExtractor::new().extract(&x);
        let hps = FeatureExtractor::new().extract(&x);
        assert_eq!(pitch[CHANNEL_LEN..], hps[CHANNEL_LEN..]);
        assert_ne!(pitch[..CHANNEL_LEN], hps[..CHANNEL_LEN]);
    }

    #[test]
    fn analysing_only_the_bins_the_bands_use_changes_nothing() {
        // Broadband noise and a note in the highest band: the medians next
        // to the cut see real neighbours either way.
        let mut state = 7u32;
        let x: Vec<f32> = note_and_clicks(2_489.0)
            .into_iter()
            .map(|v| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                v + 0.05 * ((state >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
            })
            .collect();
        let mut cut = PitchExtractor::new();
        let mut full = PitchExtractor::new();
        full.long = HpssSpectrogram::new(Stft::new(Padding::Zeros, PITCH_N_FFT, PITCH_WIN_LENGTH));
        assert!(
            cut.long.bins() < full.long.bins() / 2,
            "{} bins analysed",
            cut.long.bins()
        );
        assert_eq!(full.long.bins(), 1025);
        assert_eq!(cut.extract(&x), full.extract(&x));
    }

    #[test]
    fn a_note_lands_in_its_semitone_band_and_a_semitone_up_one_band_higher() {
        let mut fx = PitchExtractor::new();
        // A3 = 220 Hz is band 21 (C2 + 21 semitones); its octave, band 33, is
        // weaker. Every transposition moves the loudest band by as many bands.
        for (shift, expected) in [(0, 21), (1, 22), (-2, 19), (5, 26)] {
            let hz = 220.0 * 2f32.powf(shift as f32 / 12.0);
            let got = loudest_harmonic_band(&fx.extract(&note_and_clicks(hz)));
            assert_eq!(got, expected, "{hz} Hz");
        }
    }

    #[test]
    fn range_silence_and_bad_samples_are_handled_like_the_hps_input() {
        let mut fx = PitchExtractor::new();
        let out = fx.extract(&note_and_clicks(110.0));
        for channel in out.chunks_exact(CHANNEL_LEN) {
            let max = channel.iter().cloned().fold(f32::MIN, f32::max);
            let min = channel.iter().cloned().fold(f32::MAX, f32::min);
            assert!(max.abs() < 1e-5 && min >= -80.0 - 1e-4, "{min}..{max}");
        }
        assert!(fx.extract(&[]).iter().all(|&v| v == 0.0));
        let mut dirty = note_and_clicks(110.0);
        let mut zeroed = dirty.clone();
        dirty[1234] = f32::NAN;
        zeroed[1234] = 0.0;
        assert_eq!(fx.extract(&dirty), fx.extract(&zeroed));
        // Reuse gives identical results.
        assert_eq!(fx.extract(&note_and_clicks(110.0)), out);
    }

    #[test]
    #[should_panic(expected = "2 x 64 x 501")]
    fn wrong_output_length_is_a_programming_error() {
        PitchExtractor::new().extract_into(&[0.0; 10], &mut [0.0; 10]);
    }
}
