//! The feature contract (docs/DESIGN.md, "Feature contract"): the settings that
//! training, the ONNX model and every consumer must agree on.
//!
//! These constants are the single source of truth. The feature extractor is
//! built from them, the ONNX writer records them in the model's metadata, and
//! the model loader compares a model's recorded settings against them.

use std::collections::BTreeMap;

/// Sample rate every signal is converted to before feature extraction.
pub const SAMPLE_RATE: u32 = 16_000;
/// One analysis window: 5 s at 16 kHz. Shorter input is zero-padded on the right.
pub const WINDOW_SAMPLES: usize = 80_000;
/// STFT size (the Hann window is shorter and zero-padded, centred, to this size).
pub const N_FFT: usize = 1024;
/// Length of the Hann window inside each FFT frame.
pub const WIN_LENGTH: usize = 400;
/// STFT hop in samples (10 ms).
pub const HOP_LENGTH: usize = 160;
/// Frequency bins of one STFT frame: N_FFT / 2 + 1.
pub const N_BINS: usize = N_FFT / 2 + 1;
/// STFT frames of one window with centre padding: 1 + WINDOW_SAMPLES / HOP_LENGTH.
pub const N_FRAMES: usize = 1 + WINDOW_SAMPLES / HOP_LENGTH;
/// HPSS median-filter length along time (harmonic) and along frequency (percussive).
pub const HPSS_KERNEL: usize = 31;
/// Exponent of the HPSS soft masks.
pub const HPSS_MASK_POWER: f32 = 2.0;
/// HPSS margin (1 = plain soft masks, H + P = S).
pub const HPSS_MARGIN: f32 = 1.0;
/// Mel bands.
pub const N_MELS: usize = 64;
/// Lowest mel band edge in Hz.
pub const F_MIN: f32 = 60.0;
/// Highest mel band edge in Hz.
pub const F_MAX: f32 = 7800.0;
/// `power_to_db` floor on power before the log.
pub const DB_AMIN: f32 = 1e-10;
/// `power_to_db` dynamic range below the per-channel maximum.
pub const DB_TOP: f32 = 80.0;
/// Feature channels: 0 harmonic, 1 percussive.
pub const N_CHANNELS: usize = 2;
/// Shape of one feature tensor: [channels, mels, frames] = [2, 64, 501].
pub const FEATURE_SHAPE: [usize; 3] = [N_CHANNELS, N_MELS, N_FRAMES];
/// Number of f32 values in one feature tensor.
pub const FEATURE_LEN: usize = N_CHANNELS * N_MELS * N_FRAMES;
/// Embedding size of the encoder.
pub const EMBEDDING_DIM: usize = 512;

/// Version tag of this contract; bump when any setting's meaning changes.
pub const CONTRACT_VERSION: &str = "cocola-features-1";

/// The contract as `key -> value` strings, exactly as recorded in a model's
/// ONNX `metadata_props` under the `feature.` prefix. A model is accepted only
/// when every one of these keys is present with exactly this value.
pub fn feature_metadata() -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("feature.contract", CONTRACT_VERSION.to_string()),
        ("feature.sample_rate", SAMPLE_RATE.to_string()),
        ("feature.window_samples", WINDOW_SAMPLES.to_string()),
        ("feature.n_fft", N_FFT.to_string()),
        ("feature.win_length", WIN_LENGTH.to_string()),
        ("feature.window", "hann".to_string()),
        ("feature.hop_length", HOP_LENGTH.to_string()),
        ("feature.center", "true".to_string()),
        ("feature.pad_mode", "constant".to_string()),
        ("feature.hpss_kernel", HPSS_KERNEL.to_string()),
        ("feature.hpss_power", HPSS_MASK_POWER.to_string()),
        ("feature.hpss_margin", HPSS_MARGIN.to_string()),
        ("feature.n_mels", N_MELS.to_string()),
        ("feature.f_min", F_MIN.to_string()),
        ("feature.f_max", F_MAX.to_string()),
        ("feature.mel_scale", "slaney".to_string()),
        ("feature.mel_norm", "slaney".to_string()),
        ("feature.db_ref", "max".to_string()),
        ("feature.db_amin", DB_AMIN.to_string()),
        ("feature.db_top", DB_TOP.to_string()),
        ("feature.channels", "harmonic,percussive".to_string()),
        ("feature.shape", "2x64x501".to_string()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_sizes_match_the_design_document() {
        assert_eq!(N_BINS, 513);
        assert_eq!(N_FRAMES, 501);
        assert_eq!(FEATURE_SHAPE, [2, 64, 501]);
    }
}
