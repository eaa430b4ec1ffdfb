//! How the encoder turns its last feature map (1280 channels x 2 frequency
//! cells x 15 time cells of ~0.33 s) into the vector it projects to the
//! embedding, and the parameter-free pitch-class profile one pooling adds.
//!
//! The projection's input is a concatenation of *segments*, always in this
//! order: the global pool, the time profile, the pitch-class profile. A
//! pooling whose segments start with another's can be widened from it
//! without changing what the network computes ([`super::widen`]).

use serde::{Deserialize, Serialize};

use crate::contract::InputKind;

/// Channels of the time profile ([`Pooling::TimeProfile`]).
pub const TIME_PROFILE_CHANNELS: usize = 16;
/// Module path of the time profile's 1x1 conv.
pub const TIME_PROFILE_NAME: &str = "encoder.time_profile";

/// Values of the pitch-class profile: one per semitone of the octave.
pub const PITCH_CLASSES: usize = 12;
/// Name of the constant that folds channel 0's band means into the profile
/// (an ONNX initializer, not a parameter: nothing trains it).
pub const PITCH_CLASS_FOLD_NAME: &str = "encoder.pitch_class_fold";
/// Decibels per unit of the pitch-class profile. A stem's centred profile
/// spreads about 3-7 dB (measured on rendered validation stems), so its
/// values spread about +-50 units. The scale sets how fast training can
/// put the profile to use: Adam moves each projection weight by about the
/// learning rate per step whatever its input's scale, and the profile's
/// columns start at zero. Measured on CPU pilots (docs/EVALUATION.md): at
/// 5 dB per unit (values near +-1, like the pooled features; `pitch2`) and
/// at 0.5 dB (`pitch3`), 400-600 steps left the score at chance on
/// transposed stems, the embedding moving by about 1 % for a transposition.
pub const PITCH_CLASS_DB_PER_UNIT: f32 = 0.1;

/// How the last feature map becomes the projection's input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pooling {
    /// The paper's global average pool: 1280 features. It averages over
    /// time, so the embeddings of two windows cannot say *when* things
    /// happen in them: a stem moved off the beat embeds (up to the window's
    /// edges) like the original, and no bilinear score can tell them apart.
    #[default]
    Global,
    /// The global pool plus a time profile: a 1x1 conv with bias (1280 ->
    /// [`TIME_PROFILE_CHANNELS`]) over the last feature map, averaged over
    /// frequency and kept per time cell, flattened channel-major. The
    /// projection then sees 1280 + 16 x 15 = 1520 features, so the score can
    /// compare where in the window the onsets of the two sides fall.
    TimeProfile,
    /// The time profile's features plus a pitch-class profile of the
    /// input's harmonic channel (pitch input only): channel 0's semitone
    /// bands averaged over time, folded into the 12 pitch classes, centred
    /// and scaled ([`pitch_class_fold`]): 1520 + 12 = 1532 features. The
    /// convolutions pool frequency away, so they barely see *where* the
    /// notes are (a transposition moves channel 0 up or down a few rows);
    /// this profile hands the projection the notes' classes directly, so
    /// the bilinear score can compare the two sides' keys.
    TimePitchClass,
}

/// One part of the projection's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment {
    GlobalPool,
    TimeProfile,
    PitchClassProfile,
}

impl Pooling {
    pub const ALL: [Pooling; 3] = [Pooling::Global, Pooling::TimeProfile, Pooling::TimePitchClass];

    /// The name used on command lines and in training records.
    pub fn name(self) -> &'static str {
        match self {
            Pooling::Global => "global",
            Pooling::TimeProfile => "time-profile",
            Pooling::TimePitchClass => "time-pitch-class",
        }
    }

    /// The projection input's segments, in order.
    pub fn segments(self) -> &'static [Segment] {
        match self {
            Pooling::Global => &[Segment::GlobalPool],
            Pooling::TimeProfile => &[Segment::GlobalPool, Segment::TimeProfile],
            Pooling::TimePitchClass => &[Segment::GlobalPool, Segment::TimeProfile, Segment::PitchClassProfile],
        }
    }

    pub fn has(self, segment: Segment) -> bool {
        self.segments().contains(&segment)
    }

    /// Whether a network for `input` can pool this way: the pitch-class
    /// profile reads channel 0 as semitone bands, which only the pitch
    /// input has.
    pub fn supports(self, input: InputKind) -> bool {
        !self.has(Segment::PitchClassProfile) || input == InputKind::Pitch
    }

    /// Whether weights of a `self` network can start a `to` network that
    /// computes the same until training moves it: `self`'s segments are the
    /// first of `to`'s.
    pub fn widens_to(self, to: Pooling) -> bool {
        to.segments().starts_with(self.segments())
    }
}

crate::named::named_enum!(Pooling, "pooling");

/// The constant `[bands, 12]` matrix M with `profile = band_means · M`:
/// `band_means[k]` is channel 0's band k (a semitone, band 0 a C) averaged
/// over time, in dB. Column c averages the bands of pitch class c, subtracts
/// the mean over the 12 classes (so loudness moves nothing, only the
/// balance between classes) and divides by [`PITCH_CLASS_DB_PER_UNIT`].
/// Row-major.
pub fn pitch_class_fold(bands: usize) -> Vec<f32> {
    let per_class: Vec<usize> = (0..PITCH_CLASSES)
        .map(|c| (c..bands).step_by(PITCH_CLASSES).count())
        .collect();
    let mut m = vec![0.0f32; bands * PITCH_CLASSES];
    for k in 0..bands {
        let class = k % PITCH_CLASSES;
        let weight = 1.0 / (per_class[class] as f32 * PITCH_CLASS_DB_PER_UNIT);
        for c in 0..PITCH_CLASSES {
            let own = if c == class { 1.0 } else { 0.0 };
            m[k * PITCH_CLASSES + c] = (own - 1.0 / PITCH_CLASSES as f32) * weight;
        }
    }
    m
}

/// [`pitch_class_fold`] for the whole of `input`'s time-averaged features,
/// flattened channel-major: `profile = flatten(mean over time of features)
/// · M`, M of shape `[channels x bands, 12]` whose rows for channels other
/// than 0 are zero. One matrix product in the graph and in the trainer.
pub fn input_pitch_class_fold(input: InputKind) -> ([usize; 2], Vec<f32>) {
    let [channels, bands, _] = input.feature_shape();
    let mut m = pitch_class_fold(bands);
    m.resize(channels * bands * PITCH_CLASSES, 0.0);
    ([channels * bands, PITCH_CLASSES], m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(band_means: &[f32]) -> Vec<f32> {
        let m = pitch_class_fold(band_means.len());
        (0..PITCH_CLASSES)
            .map(|c| {
                band_means
                    .iter()
                    .enumerate()
                    .map(|(k, v)| v * m[k * PITCH_CLASSES + c])
                    .sum()
            })
            .collect()
    }

    #[test]
    fn the_profile_names_the_notes_classes_and_ignores_loudness() {
        // A C major triad (C, E, G) in three octaves, 40 dB above the rest.
        let triad: Vec<f32> = (0..64)
            .map(|k| if [0, 4, 7].contains(&(k % 12)) { -20.0 } else { -60.0 })
            .collect();
        let p = profile(&triad);
        let lit = 40.0 * (1.0 - 3.0 / 12.0) / PITCH_CLASS_DB_PER_UNIT;
        let dark = -40.0 * 3.0 / 12.0 / PITCH_CLASS_DB_PER_UNIT;
        let close = |a: f32, b: f32, tolerance: f32| (a - b).abs() <= tolerance * lit;
        for (c, v) in p.iter().enumerate() {
            let want = if [0, 4, 7].contains(&c) { lit } else { dark };
            assert!(close(*v, want, 1e-5), "class {c}: {v} vs {want}");
        }
        // 10 dB louder everywhere: the same profile.
        let louder: Vec<f32> = triad.iter().map(|v| v + 10.0).collect();
        let q = profile(&louder);
        assert!(p.iter().zip(&q).all(|(a, b)| close(*a, *b, 1e-5)));
        // A semitone up (every band one row higher) rotates it by one class
        // (up to the lowest C, which leaves the bands).
        let up: Vec<f32> = (0..64).map(|k| if k == 0 { -60.0 } else { triad[k - 1] }).collect();
        let r = profile(&up);
        for c in 0..PITCH_CLASSES {
            assert!(
                close(r[(c + 1) % 12], p[c], 0.1),
                "class {c}: {} vs {}",
                r[(c + 1) % 12],
                p[c]
            );
        }
    }

    #[test]
    fn segments_decide_widening_and_support() {
        assert!(Pooling::Global.widens_to(Pooling::TimePitchClass));
        assert!(Pooling::TimeProfile.widens_to(Pooling::TimePitchClass));
        assert!(Pooling::TimeProfile.widens_to(Pooling::TimeProfile));
        assert!(!Pooling::TimePitchClass.widens_to(Pooling::TimeProfile));
        assert!(!Pooling::TimeProfile.widens_to(Pooling::Global));
        assert!(Pooling::TimePitchClass.supports(InputKind::Pitch));
        assert!(!Pooling::TimePitchClass.supports(InputKind::Hps));
        assert!(Pooling::ALL.iter().all(|p| p.supports(InputKind::Pitch)));
        let (dims, m) = input_pitch_class_fold(InputKind::Pitch);
        assert_eq!(dims, [128, 12]);
        assert_eq!(m[..64 * 12], pitch_class_fold(64)[..]);
        assert!(m[64 * 12..].iter().all(|&v| v == 0.0));
        for pooling in Pooling::ALL {
            assert_eq!(pooling.name().parse::<Pooling>(), Ok(pooling));
        }
    }
}
