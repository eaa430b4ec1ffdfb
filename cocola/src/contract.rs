//! The feature contract (docs/DESIGN.md, "Feature contract"): the settings that
//! training, the ONNX model and every consumer must agree on.
//!
//! These constants are the single source of truth. The feature extractors are
//! built from them, the ONNX writer records them in the model's metadata, and
//! the model loader compares a model's recorded settings against them.
//!
//! There are three input kinds ([`InputKind`]). Two are the paper's model
//! families (Table I): the harmonic/percussive log-mel of librosa (2
//! channels, "HPS", the default) and the plain log-mel of torchaudio (1
//! channel, "w/o HPS"). They share the framing (16 kHz, 5 s, STFT
//! 1024/400/160, 64 mels from 60 to 7800 Hz) and differ in everything after
//! it. The third, *pitch*, is this project's: the HPS input with a harmonic
//! channel that keeps key (a 128 ms window read in semitone bands, where the
//! contract's 25 ms window and mel bands blur a transposition away). Each
//! kind has its own contract version, which is how a model file says which
//! one it was trained on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::mode::Mode;

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
/// Feature channels of the HPS input: 0 harmonic, 1 percussive.
pub const N_CHANNELS: usize = 2;
/// Values in one channel: [mels, frames] = 64 x 501.
pub const CHANNEL_LEN: usize = N_MELS * N_FRAMES;
/// Shape of one HPS feature tensor: [channels, mels, frames] = [2, 64, 501]
/// (the mel input is [1, 64, 501]: [`InputKind::feature_shape`]).
pub const FEATURE_SHAPE: [usize; 3] = [N_CHANNELS, N_MELS, N_FRAMES];
/// Number of f32 values in one HPS feature tensor (the larger of the two kinds).
pub const FEATURE_LEN: usize = N_CHANNELS * CHANNEL_LEN;
/// Embedding size of the encoder.
pub const EMBEDDING_DIM: usize = 512;

/// Version tag of the HPS contract; bump when any setting's meaning changes.
pub const CONTRACT_VERSION: &str = "cocola-features-1";
/// Version tag of the mel (w/o HPS) contract.
pub const MEL_CONTRACT_VERSION: &str = "cocola-mel-features-1";

/// Version tag of the pitch contract (HPS with a semitone harmonic channel).
/// Version 1 had bands twice as wide ([`SUPERSEDED_CONTRACTS`]).
pub const PITCH_CONTRACT_VERSION: &str = "cocola-pitch-features-2";

/// Contract versions this build no longer computes, with what changed, so
/// that a model made for one is refused with a reason.
pub const SUPERSEDED_CONTRACTS: [(&str, &str); 1] = [(
    "cocola-pitch-features-1",
    "the pitch input's first band layout (each semitone band reached the neighbouring notes, \
     blurring the key), which this build no longer computes (it computes cocola-pitch-features-2, \
     whose bands reach half way). Train the model again, e.g. from an HPS model \
     (`cocola-trainer train --input pitch --init-from`)",
)];

/// Mel input: `AmplitudeToDB`'s floor on power before the log (torchaudio default).
pub const MEL_DB_AMIN: f32 = 1e-10;

/// Pitch input, harmonic channel: STFT size, and the Hann window's length
/// (the whole frame: 128 ms, fine enough in frequency to resolve semitones
/// from about 100 Hz up). Same hop and centring as the contract's STFT, so
/// its 501 frames line up with the percussive channel's.
pub const PITCH_N_FFT: usize = 2048;
pub const PITCH_WIN_LENGTH: usize = 2048;
/// Pitch input, harmonic channel: one band per semitone, as many as the mel
/// bands (the tensor keeps its [2, 64, 501] shape), the lowest centred on
/// C2 (MIDI note 36, A4 = 440 Hz tuning): C2 to D#7, 65 Hz to 2.5 kHz.
pub const PITCH_LOWEST_MIDI_NOTE: u8 = 36;
/// Pitch input, harmonic channel: each band's triangle rises from this
/// many semitones below its note and falls to as many above, so that
/// neighbouring bands touch but do not overlap (features/semitone.rs).
pub const PITCH_BAND_HALF_WIDTH_SEMITONES: f64 = 0.5;

/// What the encoder sees: which of the paper's two model families a model
/// belongs to. Recorded in the model file as its `feature.contract`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    /// Harmonic and percussive log-mel spectrograms (librosa HPSS, dB relative
    /// to each channel's maximum), 2 channels: the paper's HPS models, which
    /// score in three modes.
    #[default]
    Hps,
    /// One log-mel spectrogram (torchaudio `MelSpectrogram` + `AmplitudeToDB`,
    /// absolute dB), 1 channel: the paper's models "w/o HPS", which have only
    /// the plain COCOLA score.
    Mel,
    /// HPS with a harmonic channel that keeps key: channel 0 is the harmonic
    /// part of a 2048-point (128 ms) STFT in 64 semitone bands from C2,
    /// channel 1 the HPS input's percussive channel unchanged. 2 channels,
    /// three modes, the HPS tensor's shape. This project's own input (no
    /// published checkpoint uses it).
    Pitch,
}

impl InputKind {
    pub const ALL: [InputKind; 3] = [InputKind::Hps, InputKind::Mel, InputKind::Pitch];

    /// Lower-case name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            InputKind::Hps => "hps",
            InputKind::Mel => "mel",
            InputKind::Pitch => "pitch",
        }
    }

    /// A few words for people.
    pub fn describe(self) -> &'static str {
        match self {
            InputKind::Hps => "harmonic/percussive log-mel, 2 channels",
            InputKind::Mel => "log-mel without HPS, 1 channel",
            InputKind::Pitch => "harmonic semitone bands + percussive log-mel, 2 channels",
        }
    }

    /// Feature channels the encoder takes.
    pub fn channels(self) -> usize {
        match self {
            InputKind::Hps | InputKind::Pitch => N_CHANNELS,
            InputKind::Mel => 1,
        }
    }

    /// Whether the input has a harmonic and a percussive channel, which the
    /// harmonic and percussive modes and the trainer's channel masks need.
    pub fn splits_harmonic_percussive(self) -> bool {
        self.channels() == N_CHANNELS
    }

    /// `[channels, mels, frames]` of one feature tensor.
    pub fn feature_shape(self) -> [usize; 3] {
        [self.channels(), N_MELS, N_FRAMES]
    }

    /// f32 values in one feature tensor.
    pub fn feature_len(self) -> usize {
        self.channels() * CHANNEL_LEN
    }

    /// The modes a model of this kind can score: masking a channel needs
    /// the two HPS channels, so a mel model has only the plain score.
    pub fn modes(self) -> &'static [Mode] {
        if self.splits_harmonic_percussive() {
            &Mode::ALL
        } else {
            &[Mode::Both]
        }
    }

    /// Fails, with a message naming the model kind, if `mode` needs channels
    /// this kind does not have.
    pub fn check_mode(self, mode: Mode) -> Result<(), String> {
        if self.modes().contains(&mode) {
            return Ok(());
        }
        Err(format!(
            "the {mode} score needs a model with harmonic/percussive (HPS) input; this model's input is \
             {} ({}), which has only the plain COCOLA score (mode 'both')",
            self.name(),
            self.describe()
        ))
    }

    /// The `feature.contract` value of this kind.
    pub fn contract_version(self) -> &'static str {
        match self {
            InputKind::Hps => CONTRACT_VERSION,
            InputKind::Mel => MEL_CONTRACT_VERSION,
            InputKind::Pitch => PITCH_CONTRACT_VERSION,
        }
    }

    /// The kind whose contract version is `version`.
    pub fn from_contract_version(version: &str) -> Option<InputKind> {
        Self::ALL.into_iter().find(|k| k.contract_version() == version)
    }

    /// The contract as `key -> value` strings, exactly as recorded in a
    /// model's ONNX `metadata_props` under the `feature.` prefix. A model is
    /// accepted only when every one of these keys is present with exactly
    /// this value.
    pub fn feature_metadata(self) -> BTreeMap<&'static str, String> {
        match self {
            InputKind::Hps => hps_feature_metadata(),
            InputKind::Mel => mel_feature_metadata(),
            InputKind::Pitch => pitch_feature_metadata(),
        }
    }
}

crate::named::named_enum!(InputKind, "input kind");

/// The settings both kinds share: framing and the STFT's size.
fn framing_metadata() -> [(&'static str, String); 6] {
    [
        ("feature.sample_rate", SAMPLE_RATE.to_string()),
        ("feature.window_samples", WINDOW_SAMPLES.to_string()),
        ("feature.n_fft", N_FFT.to_string()),
        ("feature.win_length", WIN_LENGTH.to_string()),
        ("feature.window", "hann".to_string()),
        ("feature.hop_length", HOP_LENGTH.to_string()),
    ]
}

/// The mel (w/o HPS) contract: torchaudio's `MelSpectrogram(sample_rate
/// 16000, n_fft 1024, win_length 400, hop_length 160, f_min 60, f_max 7800,
/// n_mels 64)` with its defaults (periodic Hann window, centred reflect
/// padding, power 2, HTK mel scale, no filter normalisation), then
/// `AmplitudeToDB()` (power, `10 log10(max(x, 1e-10))`, no reference
/// maximum, no top_db). Values are absolute dB: silence is -100.
fn mel_feature_metadata() -> BTreeMap<&'static str, String> {
    let mut m = BTreeMap::from(framing_metadata());
    m.extend([
        ("feature.contract", MEL_CONTRACT_VERSION.to_string()),
        ("feature.center", "true".to_string()),
        ("feature.pad_mode", "reflect".to_string()),
        ("feature.power", "2".to_string()),
        ("feature.n_mels", N_MELS.to_string()),
        ("feature.f_min", F_MIN.to_string()),
        ("feature.f_max", F_MAX.to_string()),
        ("feature.mel_scale", "htk".to_string()),
        ("feature.mel_norm", "none".to_string()),
        ("feature.db_ref", "1".to_string()),
        ("feature.db_amin", MEL_DB_AMIN.to_string()),
        ("feature.db_top", "none".to_string()),
        ("feature.channels", "mel".to_string()),
        ("feature.shape", "1x64x501".to_string()),
    ]);
    m
}

/// The HPS contract (the keys every model before the mel kind carries).
fn hps_feature_metadata() -> BTreeMap<&'static str, String> {
    let mut m = BTreeMap::from(framing_metadata());
    m.extend([
        ("feature.contract", CONTRACT_VERSION.to_string()),
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
    ]);
    m
}

/// The pitch contract: the HPS keys (the percussive channel is HPS's, on
/// the contract's STFT), with the channel names and the harmonic channel's
/// own STFT and bands added. Its HPSS has the contract's kernel, masks and
/// dB scaling, on the longer STFT.
fn pitch_feature_metadata() -> BTreeMap<&'static str, String> {
    let mut m = hps_feature_metadata();
    m.extend([
        ("feature.contract", PITCH_CONTRACT_VERSION.to_string()),
        ("feature.channels", "harmonic-semitones,percussive".to_string()),
        ("feature.harmonic_n_fft", PITCH_N_FFT.to_string()),
        ("feature.harmonic_win_length", PITCH_WIN_LENGTH.to_string()),
        ("feature.harmonic_bands", "semitone".to_string()),
        ("feature.harmonic_n_bands", N_MELS.to_string()),
        ("feature.harmonic_lowest_midi_note", PITCH_LOWEST_MIDI_NOTE.to_string()),
        ("feature.harmonic_tuning_a4_hz", "440".to_string()),
        ("feature.harmonic_band_norm", "area".to_string()),
        (
            "feature.harmonic_band_half_width_semitones",
            PITCH_BAND_HALF_WIDTH_SEMITONES.to_string(),
        ),
    ]);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_sizes_match_the_design_document() {
        assert_eq!(N_BINS, 513);
        assert_eq!(N_FRAMES, 501);
        assert_eq!(FEATURE_SHAPE, [2, 64, 501]);
        assert_eq!(InputKind::Hps.feature_shape(), FEATURE_SHAPE);
        assert_eq!(InputKind::Mel.feature_shape(), [1, 64, 501]);
        assert_eq!(InputKind::Mel.feature_len() * 2, FEATURE_LEN);
    }

    #[test]
    fn each_kind_records_its_own_contract_and_shape() {
        for kind in InputKind::ALL {
            let m = kind.feature_metadata();
            assert_eq!(m["feature.contract"], kind.contract_version());
            assert_eq!(InputKind::from_contract_version(&m["feature.contract"]), Some(kind));
            let shape = kind.feature_shape().map(|d| d.to_string()).join("x");
            assert_eq!(m["feature.shape"], shape);
            assert_eq!(kind.name().parse::<InputKind>().unwrap(), kind);
        }
        // The HPS keys are exactly those every HPS model file already carries.
        assert_eq!(InputKind::Hps.feature_metadata().len(), 22);
        assert_ne!(InputKind::Hps.feature_metadata(), InputKind::Mel.feature_metadata());
        assert_eq!(InputKind::Pitch.feature_shape(), FEATURE_SHAPE);
    }

    #[test]
    fn the_pitch_contract_is_hps_plus_its_harmonic_channel() {
        let (hps, pitch) = (InputKind::Hps.feature_metadata(), InputKind::Pitch.feature_metadata());
        let changed: Vec<&str> = hps.keys().filter(|k| hps[*k] != pitch[*k]).copied().collect();
        assert_eq!(changed, ["feature.channels", "feature.contract"]);
        let added: Vec<&str> = pitch.keys().filter(|k| !hps.contains_key(*k)).copied().collect();
        assert_eq!(added.len(), 8, "{added:?}");
        assert!(added.iter().all(|k| k.starts_with("feature.harmonic_")));
        assert_eq!(InputKind::Pitch.modes(), Mode::ALL);
    }

    #[test]
    fn a_mel_model_has_only_the_plain_score() {
        assert_eq!(InputKind::Mel.modes(), [Mode::Both]);
        assert!(InputKind::Mel.check_mode(Mode::Both).is_ok());
        let err = InputKind::Mel.check_mode(Mode::Harmonic).unwrap_err();
        assert!(err.contains("harmonic score needs") && err.contains("mel"), "{err}");
        assert!(InputKind::Hps.check_mode(Mode::Percussive).is_ok());
    }
}
