//! The model's input (docs/DESIGN.md "Feature contract") for each input
//! kind ([`InputKind`]): harmonic/percussive mel spectrograms
//! ([`FeatureExtractor`], librosa 0.10.1) and the plain log-mel of the models
//! without HPS ([`MelExtractor`], torchaudio), both identical to the
//! reference implementation, and this project's pitch input
//! ([`PitchExtractor`]: HPS with a semitone harmonic channel). [`Extractor`]
//! is whichever a model needs.
//!
//! For one 5 s window of 16 kHz mono audio the reference computes
//!
//! ```text
//! S      = |stft(y, n_fft 1024, win 400, hop 160)|      513 x 501   stft.rs
//! harm   = median over 31 frames of S  (per bin)                    median.rs
//! perc   = median over 31 bins of S    (per frame)                  median.rs
//! H, P   = S * softmask(harm, perc), S * softmask(perc, harm)       hpss.rs
//! mel    = mel_basis @ |H|^2, mel_basis @ |P|^2         64 x 501    mel.rs
//! out    = power_to_db(mel, ref=max, top_db=80) per channel         db.rs
//! ```
//!
//! and so does [`FeatureExtractor`], matching librosa's float32/float64 choice
//! at every step (each module says which). The golden test
//! (`tests/golden_features.rs`) compares against fixtures made by librosa.
//!
//! Memory layout (`HpssSpectrogram`, hpss.rs): the spectrogram is
//! kept twice, frame-major for the median along time and bin-major for the
//! median along frequency, so that both run along contiguous memory, many
//! sequences per SIMD vector. The bin-major side then feeds the masks and
//! the (sparse) mel product one bin at a time, which leaves the mel bands in
//! the output's own `[mel][frame]` order.

mod db;
mod hpss;
mod median;
mod mel;
mod pitch;
mod plain_mel;
mod semitone;
mod stft;
mod transpose;

use std::cell::RefCell;

pub(crate) use stft::periodic_hann;

use crate::contract::{InputKind, FEATURE_LEN, N_BINS, N_CHANNELS, N_FRAMES, N_MELS, WINDOW_SAMPLES};
use hpss::HpssSpectrogram;
pub use mel::mel_band_centres_hz;
use mel::Filterbank;
pub use pitch::PitchExtractor;
pub use plain_mel::MelExtractor;
pub use semitone::{midi_note_hz, semitone_band_centres_hz, transpose_semitone_bands};
use stft::{Padding, Stft};

/// Row stride of the bin-major layouts: the 501 frames rounded up to whole
/// SIMD groups (the padding stays zero and never reaches the output).
const FRAME_STRIDE: usize = N_FRAMES.next_multiple_of(median::LANE_ALIGN);
/// Row stride of the contract STFT's frame-major layout (the mel input's).
const BIN_STRIDE: usize = N_BINS.next_multiple_of(median::LANE_ALIGN);

/// Computes the [2, 64, 501] feature tensor of 5 s windows of 16 kHz mono audio.
///
/// Owns the FFT plan, the window, the mel filterbank and every scratch
/// buffer, so [`extract_into`](Self::extract_into) never allocates: the
/// plugin's worker calls it every hop. One extractor per thread; it is `Send`.
pub struct FeatureExtractor {
    spectrogram: HpssSpectrogram,
    mel: Filterbank,
    /// The window being analysed: the input's first 5 s, cleaned, zero-padded.
    signal: Vec<f32>,
    /// Mel power, `[N_CHANNELS][N_MELS][FRAME_STRIDE]`.
    mel_power: Vec<f32>,
}

impl FeatureExtractor {
    /// Plans the FFT and builds the window, the mel filterbank and all buffers
    /// (about 6 MB).
    pub fn new() -> Self {
        FeatureExtractor {
            spectrogram: HpssSpectrogram::new(Stft::contract(Padding::Zeros)),
            mel: Filterbank::slaney(),
            signal: vec![0.0; WINDOW_SAMPLES],
            mel_power: vec![0.0; N_CHANNELS * N_MELS * FRAME_STRIDE],
        }
    }

    /// Writes the features of `samples_16k` (16 kHz mono) into `out`, the
    /// `[2, 64, 501]` tensor in row-major order: channel 0 harmonic, channel 1
    /// percussive, each `[mel][frame]` in dB relative to its own maximum.
    ///
    /// Uses the first 5 s (`WINDOW_SAMPLES`) of the input and zero-pads a
    /// shorter one on the right. No heap allocation.
    ///
    /// NaN and ±infinity samples are treated as 0. A single non-finite sample
    /// would otherwise spread through every FFT frame that sees it into every
    /// bin of those frames, then through the medians and the per-channel
    /// maximum of the dB scaling into the whole tensor — one glitch from a
    /// plugin host or a broken file would wipe out five seconds of scores.
    /// (librosa refuses such input outright.) Zeroing turns the glitch into a
    /// one-sample dropout, which barely changes the features.
    ///
    /// # Panics
    ///
    /// If `out.len() != FEATURE_LEN` (a programming error, not bad input).
    pub fn extract_into(&mut self, samples_16k: &[f32], out: &mut [f32]) {
        assert_eq!(
            out.len(),
            FEATURE_LEN,
            "feature output buffer must hold 2 x 64 x 501 values"
        );
        load_window(samples_16k, &mut self.signal);
        self.spectrogram.analyse(&self.signal);
        self.mel_power.fill(0.0);
        let (mel_harm, mel_perc) = self.mel_power.split_at_mut(N_MELS * FRAME_STRIDE);
        self.spectrogram
            .add_band_power(&self.mel, Some(&mut *mel_harm), Some(&mut *mel_perc));
        let (out_harm, out_perc) = out.split_at_mut(N_MELS * N_FRAMES);
        db::power_to_db(mel_harm, N_MELS, FRAME_STRIDE, out_harm);
        db::power_to_db(mel_perc, N_MELS, FRAME_STRIDE, out_perc);
    }

    /// Allocating convenience around [`extract_into`](Self::extract_into).
    pub fn extract(&mut self, samples_16k: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; FEATURE_LEN];
        self.extract_into(samples_16k, &mut out);
        out
    }
}

impl Default for FeatureExtractor {
    fn default() -> Self {
        Self::new()
    }
}

/// Copies the first 5 s of `samples_16k` into `signal` (`WINDOW_SAMPLES`
/// long), non-finite samples as 0 and zero-padded on the right: the window
/// both extractors analyse (see [`FeatureExtractor::extract_into`] for why
/// non-finite samples become zeros).
fn load_window(samples_16k: &[f32], signal: &mut [f32]) {
    let n = samples_16k.len().min(WINDOW_SAMPLES);
    for (dst, &x) in signal.iter_mut().zip(&samples_16k[..n]) {
        *dst = if x.is_finite() { x } else { 0.0 };
    }
    signal[n..].fill(0.0);
}

/// The feature extractor of one input kind: what a model needs.
pub enum Extractor {
    Hps(Box<FeatureExtractor>),
    Mel(Box<MelExtractor>),
    Pitch(Box<PitchExtractor>),
}

impl Extractor {
    pub fn new(kind: InputKind) -> Self {
        match kind {
            InputKind::Hps => Extractor::Hps(Box::default()),
            InputKind::Mel => Extractor::Mel(Box::default()),
            InputKind::Pitch => Extractor::Pitch(Box::default()),
        }
    }

    pub fn kind(&self) -> InputKind {
        match self {
            Extractor::Hps(_) => InputKind::Hps,
            Extractor::Mel(_) => InputKind::Mel,
            Extractor::Pitch(_) => InputKind::Pitch,
        }
    }

    /// Writes the features of `samples_16k` (the first 5 s, zero-padded) into
    /// `out`, `kind().feature_len()` values. No heap allocation.
    ///
    /// # Panics
    ///
    /// If `out` has the wrong length (a programming error, not bad input).
    pub fn extract_into(&mut self, samples_16k: &[f32], out: &mut [f32]) {
        match self {
            Extractor::Hps(e) => e.extract_into(samples_16k, out),
            Extractor::Mel(e) => e.extract_into(samples_16k, out),
            Extractor::Pitch(e) => e.extract_into(samples_16k, out),
        }
    }

    /// Allocating convenience around [`extract_into`](Self::extract_into).
    pub fn extract(&mut self, samples_16k: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; self.kind().feature_len()];
        self.extract_into(samples_16k, &mut out);
        out
    }

    /// The features of each window, one after the other
    /// (`windows.len() x kind().feature_len()` values), as `cocola features`
    /// writes them.
    pub fn extract_windows(&mut self, windows: &[&[f32]]) -> Vec<f32> {
        let row = self.kind().feature_len();
        let mut data = vec![0.0f32; windows.len() * row];
        for (window, out) in windows.iter().zip(data.chunks_exact_mut(row)) {
            self.extract_into(window, out);
        }
        data
    }
}

thread_local! {
    // One extractor per kind and thread, kept alive: the scorer and the
    // evaluation compute features on rayon workers, window after window.
    static THREAD_EXTRACTORS: RefCell<[Option<Extractor>; InputKind::ALL.len()]> =
        const { RefCell::new([const { None }; InputKind::ALL.len()]) };
}

/// Runs `f` with this thread's extractor for `kind` (created on first use,
/// then reused: the FFT plan and the scratch buffers are built once per thread).
pub fn with_thread_extractor<R>(kind: InputKind, f: impl FnOnce(&mut Extractor) -> R) -> R {
    THREAD_EXTRACTORS.with(|cell| {
        let mut slots = cell.borrow_mut();
        let slot = &mut slots[kind as usize];
        f(slot.get_or_insert_with(|| Extractor::new(kind)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_signal(len: usize) -> Vec<f32> {
        (0..len)
            .map(|i| {
                let t = i as f32 / 16_000.0;
                let click = if i % 8000 < 40 { 0.5 } else { 0.0 };
                0.3 * (2.0 * std::f32::consts::PI * 220.0 * t).sin() + click
            })
            .collect()
    }

    #[test]
    fn shape_and_range() {
        let out = FeatureExtractor::new().extract(&test_signal(WINDOW_SAMPLES));
        assert_eq!(out.len(), FEATURE_LEN);
        for c in 0..N_CHANNELS {
            let ch = &out[c * N_MELS * N_FRAMES..(c + 1) * N_MELS * N_FRAMES];
            let max = ch.iter().cloned().fold(f32::MIN, f32::max);
            let min = ch.iter().cloned().fold(f32::MAX, f32::min);
            assert!(max.abs() < 1e-5 && min >= -80.0 - 1e-4, "channel {c}: {min}..{max}");
        }
    }

    #[test]
    fn non_finite_samples_count_as_zero() {
        let clean = test_signal(WINDOW_SAMPLES);
        let mut zeroed = clean.clone();
        let mut dirty = clean.clone();
        for (i, bad) in [(100, f32::NAN), (40_123, f32::INFINITY), (79_999, f32::NEG_INFINITY)] {
            zeroed[i] = 0.0;
            dirty[i] = bad;
        }
        let mut fx = FeatureExtractor::new();
        let expected = fx.extract(&zeroed);
        let got = fx.extract(&dirty);
        assert!(got.iter().all(|v| v.is_finite()));
        assert_eq!(got, expected);
    }

    #[test]
    fn short_input_is_zero_padded_and_long_input_cut() {
        let sig = test_signal(WINDOW_SAMPLES);
        let mut fx = FeatureExtractor::new();
        let short = &sig[..30_000];
        let mut padded = short.to_vec();
        padded.resize(WINDOW_SAMPLES, 0.0);
        assert_eq!(fx.extract(short), fx.extract(&padded));
        let mut long = sig.clone();
        long.extend(test_signal(20_000).iter().map(|v| v * 3.0));
        assert_eq!(fx.extract(&long), fx.extract(&sig));
        assert_eq!(fx.extract(&[]), fx.extract(&vec![0.0; WINDOW_SAMPLES]));
    }

    #[test]
    fn reuse_gives_identical_results() {
        let a = test_signal(WINDOW_SAMPLES);
        let b: Vec<f32> = a.iter().rev().map(|v| v * 0.5).collect();
        let mut fx = FeatureExtractor::new();
        let first = fx.extract(&a);
        fx.extract(&b);
        assert_eq!(fx.extract(&a), first);
        assert_eq!(FeatureExtractor::default().extract(&a), first);
    }

    #[test]
    fn extractor_can_move_to_a_worker_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<FeatureExtractor>();
    }

    #[test]
    #[should_panic(expected = "2 x 64 x 501")]
    fn wrong_output_length_is_a_programming_error() {
        FeatureExtractor::new().extract_into(&[0.0; 10], &mut [0.0; 10]);
    }
}
