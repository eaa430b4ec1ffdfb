//! How the encoder turns its last feature map (1280 channels x 2 frequency
//! cells x 15 time cells of ~0.33 s) into the vector it projects to the
//! embedding, and the parameter-free profiles of the input some poolings
//! add: the pitch-class profile (which notes), the onset profile (when) and
//! the harmony profile (which notes, second by second).
//!
//! The projection's input is a concatenation of *segments*, always in this
//! order: the global pool, the time profile, the pitch-class profile, the
//! onset profile, the harmony profile. A
//! pooling whose segments start with another's can be widened from it
//! without changing what the network computes ([`super::widen`]).

use serde::{Deserialize, Serialize};

use crate::contract::{InputKind, N_FRAMES};

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

/// Frames (10 ms each) per cell of the onset profile: 50 ms cells, finer
/// than any off-beat delay the sensitivity test and the hard negatives
/// draw (at least half a sixteenth note away from the grid). Measured with
/// `cargo run --release -p cocola --example onset_in_features` (300
/// validation anchors): the profile's correlation alone tells a stem from
/// its off-beat copy in 88.7 % of windows with 5 frames a cell, 86.0 % with
/// 10 (the model-free floor, from a 1024-point spectrum: 91.7 %).
pub const ONSET_FRAMES_PER_CELL: usize = 5;
/// Cells of the onset profile: the window's 500 frame-to-frame rises.
pub const ONSET_CELLS: usize = (N_FRAMES - 1) / ONSET_FRAMES_PER_CELL;
/// Prefix of the graph's nodes that compute the onset profile.
pub const ONSET_PROFILE_NAME: &str = "encoder.onset_profile";
/// Name of the constant [`ONSET_EPSILON`] in the graph.
pub const ONSET_EPSILON_NAME: &str = "encoder.onset_epsilon";
/// Added to the profile's mean square (dB² per frame²) before dividing by
/// its root: a profile whose rises spread less than ~0.1 dB a frame (no
/// onsets to speak of, or a masked channel: exactly zero) shrinks towards
/// zero instead of being blown up to full scale.
pub const ONSET_EPSILON: f32 = 0.01;
/// The input channel the onset profile reads: the percussive one.
pub const ONSET_CHANNEL: usize = 1;

/// Time cells of the harmony profile: 1 s each (100 frames; the window's
/// last frame is left out). Chords change within a 5 s window; a profile
/// per second lets the score ask whether the stem's notes fit the chord
/// *of that second*, where one profile of the whole window only compares
/// scales. Measured with no model on exact transposed twins (rest of the
/// track against stem and twin, dot product of profiles; 1 281 windows of
/// 160 training tracks): one cell over all bands (the pitch-class
/// profile) 90.0 %, five cells from C4 95.9 %, ten 95.9 %; the model-free
/// floor's chroma 93.1 %.
pub const HARMONY_CELLS: usize = 5;
/// Frames per cell of the harmony profile.
pub const HARMONY_FRAMES_PER_CELL: usize = 100;
/// The harmony profile reads channel 0 from this band up: C4 (262 Hz),
/// two octaves above the lowest band. Below it the 128 ms window's main
/// lobe spans neighbouring semitones, so low notes light several classes
/// (a bass note's own overtones still reach the bands read). Same
/// measurement: five cells from C2 93.8 %, from C3 94.8 %, from C4 95.9 %,
/// from C5 94.4 %.
pub const HARMONY_LOWEST_BAND: usize = 24;
/// Values of the harmony profile: 12 pitch classes per cell, cell-major.
pub const HARMONY_VALUES: usize = HARMONY_CELLS * PITCH_CLASSES;
/// Name of the constant that folds each cell's band means into its
/// pitch classes.
pub const HARMONY_FOLD_NAME: &str = "encoder.harmony_fold";
const _: () = assert!(HARMONY_CELLS * HARMONY_FRAMES_PER_CELL <= N_FRAMES);

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
    /// The time-pitch-class features plus an onset profile of the input's
    /// percussive channel: the mean over its bands of each frame's rise in
    /// dB since the one before (rises only), averaged over
    /// [`ONSET_CELLS`] cells of 50 ms, centred and scaled to a root mean
    /// square of 1 ([`onset_cells`], [`ONSET_EPSILON`]): 1532 + 100 = 1632
    /// features. The time profile's cells are ~0.33 s, coarser than an
    /// off-beat delay; this profile hands the projection *when* the onsets
    /// fall, 50 ms sharp, so the bilinear score can correlate the two
    /// sides' grooves as the model-free floor does.
    TimePitchClassOnset,
    /// The time-pitch-class-onset features plus a harmony profile of the
    /// input's harmonic channel: the pitch-class profile's fold applied to
    /// each of [`HARMONY_CELLS`] cells of 1 s, from band
    /// [`HARMONY_LOWEST_BAND`] up ([`harmony_fold`]): 1632 + 60 = 1692
    /// features. The pitch-class profile averages the whole window, so it
    /// holds the scale; this one holds the chords, so the bilinear score
    /// can ask, second by second, whether the two sides sound the same
    /// notes.
    TimePitchClassOnsetHarmony,
}

/// One part of the projection's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment {
    GlobalPool,
    TimeProfile,
    PitchClassProfile,
    OnsetProfile,
    HarmonyProfile,
}

impl Segment {
    /// Whether the segment is a parameter-free profile read off the input
    /// itself (pitch classes, onsets, harmony), not pooled from the
    /// network's feature map.
    pub fn is_input_profile(self) -> bool {
        matches!(
            self,
            Segment::PitchClassProfile | Segment::OnsetProfile | Segment::HarmonyProfile
        )
    }
}

impl Pooling {
    pub const ALL: [Pooling; 5] = [
        Pooling::Global,
        Pooling::TimeProfile,
        Pooling::TimePitchClass,
        Pooling::TimePitchClassOnset,
        Pooling::TimePitchClassOnsetHarmony,
    ];

    /// The name used on command lines and in training records.
    pub fn name(self) -> &'static str {
        match self {
            Pooling::Global => "global",
            Pooling::TimeProfile => "time-profile",
            Pooling::TimePitchClass => "time-pitch-class",
            Pooling::TimePitchClassOnset => "time-pitch-class-onset",
            Pooling::TimePitchClassOnsetHarmony => "time-pitch-class-onset-harmony",
        }
    }

    /// The projection input's segments, in order.
    pub fn segments(self) -> &'static [Segment] {
        match self {
            Pooling::Global => &[Segment::GlobalPool],
            Pooling::TimeProfile => &[Segment::GlobalPool, Segment::TimeProfile],
            Pooling::TimePitchClass => &[Segment::GlobalPool, Segment::TimeProfile, Segment::PitchClassProfile],
            Pooling::TimePitchClassOnset => &[
                Segment::GlobalPool,
                Segment::TimeProfile,
                Segment::PitchClassProfile,
                Segment::OnsetProfile,
            ],
            Pooling::TimePitchClassOnsetHarmony => &[
                Segment::GlobalPool,
                Segment::TimeProfile,
                Segment::PitchClassProfile,
                Segment::OnsetProfile,
                Segment::HarmonyProfile,
            ],
        }
    }

    pub fn has(self, segment: Segment) -> bool {
        self.segments().contains(&segment)
    }

    /// Whether a network for `input` can pool this way: the pitch-class
    /// and harmony profiles read channel 0 as semitone bands, which only
    /// the pitch input has; the onset profile reads a percussive channel.
    pub fn supports(self, input: InputKind) -> bool {
        let semitone_bands = self.has(Segment::PitchClassProfile) || self.has(Segment::HarmonyProfile);
        (!semitone_bands || input == InputKind::Pitch)
            && (!self.has(Segment::OnsetProfile) || input.channels() > ONSET_CHANNEL)
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
    pitch_class_fold_from(bands, 0)
}

/// [`pitch_class_fold`] of bands `lowest..bands` only: the rows of the
/// bands below are zero, and each class averages its bands from `lowest`
/// up.
fn pitch_class_fold_from(bands: usize, lowest: usize) -> Vec<f32> {
    let per_class: Vec<usize> = (0..PITCH_CLASSES)
        .map(|c| (lowest..bands).filter(|k| k % PITCH_CLASSES == c).count())
        .collect();
    let mut m = vec![0.0f32; bands * PITCH_CLASSES];
    for k in lowest..bands {
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

/// The constant `[channels x bands, 12]` matrix M with `cell profile =
/// flatten(cell means) · M`: one cell's features averaged over its
/// [`HARMONY_FRAMES_PER_CELL`] frames, flattened channel-major, folded as
/// [`pitch_class_fold`] folds, from band [`HARMONY_LOWEST_BAND`] of
/// channel 0 up (every other row zero). The graph and the trainer apply it
/// to each of the [`HARMONY_CELLS`] cells. Row-major.
pub fn harmony_fold(input: InputKind) -> ([usize; 2], Vec<f32>) {
    let [channels, bands, _] = input.feature_shape();
    let mut m = pitch_class_fold_from(bands, HARMONY_LOWEST_BAND.min(bands));
    m.resize(channels * bands * PITCH_CLASSES, 0.0);
    ([channels * bands, PITCH_CLASSES], m)
}

/// The harmony profile of one window's features (`[channels, bands,
/// frames]`, row-major), computed as the graph and the trainer do: the
/// reference the tests hold both to. Cell-major: the 12 classes of the
/// first second, then of the next.
pub fn harmony_profile(input: InputKind, features: &[f32]) -> Vec<f32> {
    let [channels, bands, frames] = input.feature_shape();
    let ([rows, _], m) = harmony_fold(input);
    let mut out = Vec::with_capacity(HARMONY_VALUES);
    for cell in 0..HARMONY_CELLS {
        let span = cell * HARMONY_FRAMES_PER_CELL..(cell + 1) * HARMONY_FRAMES_PER_CELL;
        let means: Vec<f32> = (0..channels * bands)
            .map(|row| features[row * frames..][span.clone()].iter().sum::<f32>() / HARMONY_FRAMES_PER_CELL as f32)
            .collect();
        out.extend((0..PITCH_CLASSES).map(|c| (0..rows).map(|r| means[r] * m[r * PITCH_CLASSES + c]).sum::<f32>()));
    }
    out
}

/// The constant `[500, ONSET_CELLS]` matrix M with `cells = rises · M`:
/// `rises[t]` is the percussive channel's mean rise from frame t to t + 1.
/// Column k averages the rises of cell k and subtracts the mean over all
/// cells, so a steady level or a constant trickle of rises moves nothing,
/// only where in the window the onsets fall. Row-major.
pub fn onset_cells() -> ([usize; 2], Vec<f32>) {
    onset_cells_of(ONSET_FRAMES_PER_CELL)
}

/// [`onset_cells`] for cells of `frames_per_cell` frames (rises beyond the
/// last whole cell are left out): what the contract fixes at
/// [`ONSET_FRAMES_PER_CELL`], open for probes that compare cell sizes.
pub fn onset_cells_of(frames_per_cell: usize) -> ([usize; 2], Vec<f32>) {
    let rises = N_FRAMES - 1;
    let cells = rises / frames_per_cell;
    let mut m = vec![0.0f32; rises * cells];
    for t in 0..cells * frames_per_cell {
        let cell = t / frames_per_cell;
        for k in 0..cells {
            let own = if k == cell { 1.0 } else { 0.0 };
            m[t * cells + k] = (own - 1.0 / cells as f32) / frames_per_cell as f32;
        }
    }
    ([rises, cells], m)
}

/// The constant `[1, channels, 1, 2]` convolution kernel whose output is
/// the percussive channel's rise from each frame to the next
/// (`x[t + 1] - x[t]`), the other channels' weights zero.
pub fn onset_rise_kernel(input: InputKind) -> ([usize; 4], Vec<f32>) {
    let channels = input.channels();
    let mut k = vec![0.0f32; channels * 2];
    k[ONSET_CHANNEL * 2] = -1.0;
    k[ONSET_CHANNEL * 2 + 1] = 1.0;
    ([1, channels, 1, 2], k)
}

/// The onset profile of one window's features (`[channels, bands,
/// frames]`, row-major), computed as the graph and the trainer do: the
/// reference the tests hold both to.
pub fn onset_profile(input: InputKind, features: &[f32]) -> Vec<f32> {
    onset_profile_in_cells(input, features, ONSET_FRAMES_PER_CELL)
}

/// [`onset_profile`] in cells of `frames_per_cell` frames ([`onset_cells_of`]).
pub fn onset_profile_in_cells(input: InputKind, features: &[f32], frames_per_cell: usize) -> Vec<f32> {
    let [_, bands, frames] = input.feature_shape();
    let channel = &features[ONSET_CHANNEL * bands * frames..(ONSET_CHANNEL + 1) * bands * frames];
    let mut rises = vec![0.0f32; frames - 1];
    for band in channel.chunks_exact(frames) {
        for (t, r) in rises.iter_mut().enumerate() {
            *r += (band[t + 1] - band[t]).max(0.0) / bands as f32;
        }
    }
    let ([_, cells], m) = onset_cells_of(frames_per_cell);
    let mut p = vec![0.0f32; cells];
    for (t, r) in rises.iter().enumerate() {
        for (k, v) in p.iter_mut().enumerate() {
            *v += r * m[t * cells + k];
        }
    }
    let mean_square = p.iter().map(|v| v * v).sum::<f32>() / cells as f32;
    let rms = (mean_square + ONSET_EPSILON).sqrt();
    p.iter().map(|v| v / rms).collect()
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

    /// Pitch features (`[2, 64, 501]`) whose channel 0 sounds, in second
    /// `s`, the classes `chords[s]` at -20 dB in every octave (the rest at
    /// -60 dB), plus `bass` in the lowest octave throughout.
    fn chords(chords: &[[usize; 3]; HARMONY_CELLS], bass: usize) -> Vec<f32> {
        let [channels, bands, frames] = InputKind::Pitch.feature_shape();
        let mut x = vec![-60.0f32; channels * bands * frames];
        for band in 0..bands {
            for t in 0..frames {
                let cell = (t / HARMONY_FRAMES_PER_CELL).min(HARMONY_CELLS - 1);
                let lit = chords[cell].contains(&(band % PITCH_CLASSES)) || band == bass;
                if lit {
                    x[band * frames + t] = -20.0;
                }
            }
        }
        x
    }

    #[test]
    fn the_harmony_profile_names_each_seconds_classes_from_c4_up() {
        let progression = [[0, 4, 7], [5, 9, 0], [7, 11, 2], [9, 0, 4], [0, 4, 7]];
        let p = harmony_profile(InputKind::Pitch, &chords(&progression, 1));
        assert_eq!(p.len(), HARMONY_VALUES);
        let lit = 40.0 * (1.0 - 3.0 / 12.0) / PITCH_CLASS_DB_PER_UNIT;
        let dark = -40.0 * 3.0 / 12.0 / PITCH_CLASS_DB_PER_UNIT;
        for (cell, chord) in progression.iter().enumerate() {
            for c in 0..PITCH_CLASSES {
                let want = if chord.contains(&c) { lit } else { dark };
                let v = p[cell * PITCH_CLASSES + c];
                // The C# in band 1 lies below C4: it moves nothing.
                assert!((v - want).abs() < 1e-3 * lit, "cell {cell} class {c}: {v} vs {want}");
            }
        }
        // 10 dB louder everywhere: the same profile.
        let louder: Vec<f32> = chords(&progression, 1).iter().map(|v| v + 10.0).collect();
        let q = harmony_profile(InputKind::Pitch, &louder);
        assert!(p.iter().zip(&q).all(|(a, b)| (a - b).abs() < 1e-3 * lit));
        // Folded by one matrix product per cell, as the graph and trainer do.
        let ([rows, cols], m) = harmony_fold(InputKind::Pitch);
        assert_eq!([rows, cols], [128, 12]);
        assert!(m[..HARMONY_LOWEST_BAND * 12].iter().all(|&v| v == 0.0));
        assert!(m[64 * 12..].iter().all(|&v| v == 0.0));
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
        assert!(Pooling::TimePitchClass.widens_to(Pooling::TimePitchClassOnset));
        assert!(!Pooling::TimePitchClassOnset.widens_to(Pooling::TimePitchClass));
        assert!(!Pooling::TimePitchClassOnset.supports(InputKind::Hps));
        assert!(!Pooling::TimePitchClassOnset.supports(InputKind::Mel));
        assert!(Pooling::TimePitchClassOnset.widens_to(Pooling::TimePitchClassOnsetHarmony));
        assert!(!Pooling::TimePitchClassOnsetHarmony.widens_to(Pooling::TimePitchClassOnset));
        assert!(!Pooling::TimePitchClassOnsetHarmony.supports(InputKind::Hps));
    }

    /// Features of a pitch-input window whose percussive channel jumps by
    /// `db` in every band at each frame of `hits`, and decays back after.
    fn hits_at(hits: &[usize], db: f32) -> Vec<f32> {
        let [channels, bands, frames] = InputKind::Pitch.feature_shape();
        let mut x = vec![-80.0f32; channels * bands * frames];
        let percussive = &mut x[ONSET_CHANNEL * bands * frames..(ONSET_CHANNEL + 1) * bands * frames];
        for band in percussive.chunks_exact_mut(frames) {
            for &h in hits {
                for (i, v) in band[h..].iter_mut().take(8).enumerate() {
                    *v = v.max(-80.0 + db - 5.0 * i as f32);
                }
            }
        }
        x
    }

    #[test]
    fn the_onset_profile_marks_where_the_hits_fall_and_ignores_level_and_harmony() {
        let beat: Vec<usize> = (0..10).map(|b| 20 + 50 * b).collect();
        let p = onset_profile(InputKind::Pitch, &hits_at(&beat, 40.0));
        assert_eq!(p.len(), ONSET_CELLS);
        let rms = (p.iter().map(|v| v * v).sum::<f32>() / ONSET_CELLS as f32).sqrt();
        assert!((rms - 1.0).abs() < 1e-3, "rms {rms}");
        assert!(p.iter().sum::<f32>().abs() < 1e-3, "centred");
        // A hit at frame 20 is the rise from frame 19 to 20: cell 3 (rises 15-19).
        for (cell, v) in p.iter().enumerate() {
            if cell % 10 == 3 {
                assert!(*v > 2.0, "cell {cell}: {v}");
            } else {
                assert!(*v < 0.0, "cell {cell}: {v}");
            }
        }
        // Louder hits: the same profile; anything in the harmonic channel: the same.
        let louder = onset_profile(InputKind::Pitch, &hits_at(&beat, 60.0));
        let mut with_harmony = hits_at(&beat, 40.0);
        with_harmony[..64 * 501]
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = (i % 7) as f32);
        let harmony = onset_profile(InputKind::Pitch, &with_harmony);
        for other in [&louder, &harmony] {
            for (a, b) in p.iter().zip(other) {
                assert!((a - b).abs() < 5e-3, "{a} vs {b}");
            }
        }
        // The same hits 200 ms later: the profile moves by 4 cells.
        let late: Vec<usize> = beat.iter().map(|b| b + 20).filter(|&b| b < 500).collect();
        let q = onset_profile(InputKind::Pitch, &hits_at(&late, 40.0));
        let correlation: f32 = p.iter().zip(&q).map(|(a, b)| a * b).sum::<f32>() / ONSET_CELLS as f32;
        assert!(correlation < 0.0, "{correlation}");
        assert!(q[7] > 2.0, "{}", q[7]);
        // No onsets (a masked channel): all zero.
        let silent = onset_profile(InputKind::Pitch, &hits_at(&[], 40.0));
        assert!(silent.iter().all(|&v| v == 0.0));
    }
}
