//! A start for a parameter-free profile of the input (the pitch-class,
//! onset and harmony profiles) that already hears what the profile holds:
//! the score gains a term that grows with how much the two sides' profiles
//! agree, the chroma or onset correlation the model-free floor uses.
//!
//! Widening a network to a pooling with a profile starts the profile's
//! projection columns at zero ([`super::widen`]); contrastive training then
//! has to discover the profile from scratch, and on CPU budgets it barely
//! did (docs/EVALUATION.md, pilots `pitch2`-`pitch4`). This start gives one
//! embedding dimension to each of the profile's values instead:
//!
//! - the dimensions the score relies on least are chosen (smallest
//!   `g_i^2 (|W_i.|^2 + |W_.i|^2)`, with `g` the LayerNorm gain);
//! - their projection rows read only the profile: dimension `d_k` gets
//!   `gain x` value `k`, no bias, a plain LayerNorm (gain 1, bias 0);
//! - their rows and columns of `W` are cleared and their block set to
//!   `weight` times the centring matrix (`1 - 1/n` on the diagonal, `-1/n`
//!   off it, for `n` dimensions), so the score becomes the old score on the
//!   other dimensions plus `weight x sum_k (e_c[d_k] - mean_c)(e_s[d_k] -
//!   mean_s)`, where `e[d_k] = tanh((gain x p_k - mu) / sigma)` follows the
//!   profile `p` (mu, sigma: the window's LayerNorm mean and spread).
//!   That is the unison agreement; a consonance agreement (pitch-class
//!   profiles only) also pairs each class with the other side's classes
//!   in the same cell, by their interval
//!   ([`super::agreement_block::CONSONANCE`]), double-centred likewise.
//!
//! Why centred: LayerNorm subtracts the mean over all 512 dimensions, so
//! every profile dimension carries the same offset `-mu / sigma` beside its
//! value, different from window to window. A plain diagonal would score the
//! product of the two sides' offsets, n times over: measured on 0.11.0 with
//! the onset profile (gain 0.1, weight 600), that term swamped the score,
//! even in the harmonic mode, whose profile is zero (transposed 52.7 %
//! against 80.0 %). The profiles are centred (their values sum to zero), so
//! the centring matrix removes the offset and keeps their agreement.
//! A consonance block is centred on both sides for the same reason.
//!
//! Training moves all of it afterwards; this only chooses where it starts.

use serde::{Deserialize, Serialize};

use super::agreement_block::{agreement_block, IntervalAgreement};
use super::arch::{Architecture, SIMILARITY_W};
use super::pooling::Segment;
use super::{validate_weights, ModelError, NamedTensors};

/// How strongly a profile enters the start.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileAgreement {
    /// Projection weight from each profile value (in the profile's units:
    /// 0.1 dB for the pitch classes, the root mean square for the onsets)
    /// to its dimension, before LayerNorm: sets how soon `tanh` saturates.
    pub gain: f32,
    /// The agreement term's weight in the score: `W` on the profile's
    /// dimensions is this times the block `intervals` asks for.
    pub weight: f32,
    /// Which pairs of values the term rewards: the same value on both
    /// sides (the default), or, for pitch classes, every interval by its
    /// consonance. Not written when the default, so files from before the
    /// choice read the same.
    #[serde(default, skip_serializing_if = "IntervalAgreement::is_unison")]
    pub intervals: IntervalAgreement,
}

impl ProfileAgreement {
    /// Unison agreement of `gain` and `weight`.
    pub fn unison(gain: f32, weight: f32) -> Self {
        ProfileAgreement {
            gain,
            weight,
            intervals: IntervalAgreement::Unison,
        }
    }

    /// Whether this agreement can start `profile`: intervals other than
    /// unison need pitch classes, which the onset profile has not. The
    /// trainer asks before reading any data; the start asks again.
    pub fn check_fits(&self, profile: Segment) -> Result<(), String> {
        let pitch_classes = matches!(profile, Segment::PitchClassProfile | Segment::HarmonyProfile);
        if self.intervals.is_unison() || pitch_classes {
            Ok(())
        } else {
            Err(format!(
                "the {} has no pitch classes, so only a unison agreement (GAIN,WEIGHT) starts it",
                profile_name(profile)
            ))
        }
    }
}

/// `GAIN,WEIGHT[,INTERVALS]`, as the command lines take it: two finite
/// numbers above 0, then optionally which intervals the agreement rewards
/// (`unison`, the default, or `consonance`).
impl std::str::FromStr for ProfileAgreement {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let expected = "GAIN,WEIGHT[,unison|consonance] (two numbers above 0, e.g. 0.01,100 or 0.005,50,consonance)";
        let fields: Vec<&str> = text.split(',').map(str::trim).collect();
        let (numbers, intervals) = match fields[..] {
            [gain, weight] => ([gain, weight], IntervalAgreement::Unison),
            [gain, weight, intervals] => ([gain, weight], intervals.parse().map_err(|e| format!("'{text}': {e}"))?),
            _ => return Err(format!("'{text}' is not {expected}")),
        };
        match numbers.map(str::parse::<f32>) {
            [Ok(gain), Ok(weight)] if [gain, weight].iter().all(|v| v.is_finite() && *v > 0.0) => {
                Ok(ProfileAgreement {
                    gain,
                    weight,
                    intervals,
                })
            }
            _ => Err(format!("'{text}' is not {expected}")),
        }
    }
}

/// `weights` of `arch` with the agreement term of its `profile` segment
/// written in, and the embedding dimension each of the profile's values
/// got. Fails if `arch` has no such segment, if `profile` is not a profile
/// of the input (the pooled features are not), if `agreement` cannot start
/// it ([`ProfileAgreement::check_fits`]), or if `weights` do not fit.
pub fn start_profile_agreement(
    arch: &Architecture,
    weights: &NamedTensors,
    profile: Segment,
    agreement: ProfileAgreement,
) -> Result<(NamedTensors, Vec<usize>), ModelError> {
    if !profile.is_input_profile() {
        return Err(ModelError::BadInput(format!(
            "{profile:?} is not a profile of the input: only the pitch-class, onset and harmony profiles have an \
             agreement start"
        )));
    }
    if !arch.pooling.has(profile) {
        return Err(ModelError::BadInput(format!(
            "a {} pooling has no {} to start",
            arch.pooling,
            profile_name(profile)
        )));
    }
    agreement.check_fits(profile).map_err(ModelError::BadInput)?;
    validate_weights(arch, weights)?;
    let d = arch.embedding_dim;
    let tensor = |name: &str| weights.get(name).expect("validated").data.clone();
    let projection_w = format!("{}.weight", arch.projection.name);
    let projection_b = format!("{}.bias", arch.projection.name);
    let ln_w = format!("{}.weight", arch.layer_norm);
    let ln_b = format!("{}.bias", arch.layer_norm);
    let (mut w, mut proj, mut bias, mut gain, mut shift) = (
        tensor(SIMILARITY_W),
        tensor(&projection_w),
        tensor(&projection_b),
        tensor(&ln_w),
        tensor(&ln_b),
    );

    let values = arch.segment_width(profile);
    let width = arch.projection.in_features;
    let started = started_dimensions(arch, &proj);
    let dims = least_used_dimensions(&w, &gain, d, values, &started);
    let offset = segment_offset(arch, profile);
    for (value, &dim) in dims.iter().enumerate() {
        let row = &mut proj[dim * width..(dim + 1) * width];
        row.fill(0.0);
        row[offset + value] = agreement.gain;
        bias[dim] = 0.0;
        gain[dim] = 1.0;
        shift[dim] = 0.0;
        for other in 0..d {
            w[dim * d + other] = 0.0;
            w[other * d + dim] = 0.0;
        }
    }
    let block = agreement_block(values, agreement.intervals)?;
    for (a, &i) in dims.iter().enumerate() {
        for (b, &j) in dims.iter().enumerate() {
            w[i * d + j] = agreement.weight * block[a * values + b];
        }
    }

    let mut out = weights.clone();
    out.insert(SIMILARITY_W, vec![d, d], w)?;
    out.insert(projection_w, vec![d, width], proj)?;
    out.insert(projection_b, vec![d], bias)?;
    out.insert(ln_w, vec![d], gain)?;
    out.insert(ln_b, vec![d], shift)?;
    Ok((out, dims))
}

/// A profile [`start_profile_agreements`] started: its agreement and the
/// embedding dimensions its values got.
#[derive(Clone, Debug, PartialEq)]
pub struct StartedProfile {
    pub segment: Segment,
    pub agreement: ProfileAgreement,
    pub dims: Vec<usize>,
}

/// Each profile's start of `starts` that is given, in the order the
/// segments come in the projection's input (pitch classes, onsets,
/// harmony), each on dimensions none before it took; with the dimensions
/// each started segment got.
pub fn start_profile_agreements(
    arch: &Architecture,
    weights: &NamedTensors,
    starts: &[(Segment, Option<ProfileAgreement>)],
) -> Result<(NamedTensors, Vec<StartedProfile>), ModelError> {
    if let Some((segment, _)) = starts.iter().find(|(s, a)| a.is_some() && !arch.pooling.has(*s)) {
        return Err(ModelError::BadInput(format!(
            "a {} pooling has no {} to start",
            arch.pooling,
            profile_name(*segment)
        )));
    }
    let mut weights = weights.clone();
    let mut started = Vec::new();
    for &segment in arch.pooling.segments() {
        let given = starts.iter().find(|(s, _)| *s == segment).and_then(|(_, a)| *a);
        let Some(agreement) = given else { continue };
        let (with_start, dims) = start_profile_agreement(arch, &weights, segment, agreement)?;
        weights = with_start;
        started.push(StartedProfile {
            segment,
            agreement,
            dims,
        });
    }
    Ok((weights, started))
}

/// The profile's name in messages.
fn profile_name(profile: Segment) -> &'static str {
    match profile {
        Segment::OnsetProfile => "onset profile",
        Segment::HarmonyProfile => "harmony profile",
        _ => "pitch-class profile",
    }
}

/// Where `segment` starts in the projection's input.
fn segment_offset(arch: &Architecture, segment: Segment) -> usize {
    arch.pooling
        .segments()
        .iter()
        .take_while(|&&s| s != segment)
        .map(|&s| arch.segment_width(s))
        .sum()
}

/// The dimensions an earlier start gave a profile: their projection rows
/// read nothing but the input's parameter-free profiles. A start's weight
/// can be small beside the learnt dimensions' (an onset block of 0.5
/// against random W rows), so "least used" alone would take them again.
fn started_dimensions(arch: &Architecture, projection: &[f32]) -> Vec<usize> {
    let width = arch.projection.in_features;
    let profiles: Vec<std::ops::Range<usize>> = arch
        .pooling
        .segments()
        .iter()
        .filter(|s| s.is_input_profile())
        .map(|&s| {
            let from = segment_offset(arch, s);
            from..from + arch.segment_width(s)
        })
        .collect();
    let reads_profile = |c: usize| profiles.iter().any(|r| r.contains(&c));
    (0..arch.embedding_dim)
        .filter(|&dim| {
            let row = &projection[dim * width..(dim + 1) * width];
            let mut read = row
                .iter()
                .enumerate()
                .filter(|(_, &v)| v != 0.0)
                .map(|(c, _)| c)
                .peekable();
            read.peek().is_some() && read.all(reads_profile)
        })
        .collect()
}

/// The `count` dimensions whose embedding values the score weighs least
/// (an embedding value's spread follows its LayerNorm gain), in increasing
/// order, leaving out `taken`.
fn least_used_dimensions(w: &[f32], ln_gain: &[f32], d: usize, count: usize, taken: &[usize]) -> Vec<usize> {
    let use_of = |i: usize| {
        let row: f32 = w[i * d..(i + 1) * d].iter().map(|v| v * v).sum();
        let column: f32 = (0..d).map(|j| w[j * d + i] * w[j * d + i]).sum();
        ln_gain[i] * ln_gain[i] * (row + column)
    };
    let mut order: Vec<(f32, usize)> = (0..d).filter(|i| !taken.contains(i)).map(|i| (use_of(i), i)).collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut dims: Vec<usize> = order.iter().take(count).map(|&(_, i)| i).collect();
    dims.sort_unstable();
    dims
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::InputKind;
    use crate::model::arch::Pooling;
    use crate::model::pooling::{HARMONY_VALUES, ONSET_CELLS, PITCH_CLASSES};
    use crate::model::testing::random_weights_for;

    /// `weights` with dimensions `quiet` made the least used (tiny W rows
    /// and columns).
    fn quieten(weights: &mut NamedTensors, quiet: &[usize]) {
        let mut w = weights.get(SIMILARITY_W).unwrap().data.clone();
        for &i in quiet {
            for j in 0..512 {
                w[i * 512 + j] *= 1e-3;
                w[j * 512 + i] *= 1e-3;
            }
        }
        weights.insert(SIMILARITY_W, vec![512, 512], w).unwrap();
    }

    /// Dimensions `dims` read only `profile`'s values (value k: dims[k])
    /// with `agreement`, and everything else of `before` is untouched.
    fn assert_started(
        arch: &Architecture,
        (before, after): (&NamedTensors, &NamedTensors),
        profile: Segment,
        dims: &[usize],
        agreement: ProfileAgreement,
    ) {
        let width = arch.projection.in_features;
        let offset = segment_offset(arch, profile);
        let proj = &after.get("encoder.projection.weight").unwrap().data;
        let new_w = &after.get(SIMILARITY_W).unwrap().data;
        for (value, &dim) in dims.iter().enumerate() {
            let row = &proj[dim * width..(dim + 1) * width];
            for (c, &v) in row.iter().enumerate() {
                let want = if c == offset + value { agreement.gain } else { 0.0 };
                assert_eq!(v, want, "row {dim} column {c}");
            }
            assert_eq!(after.get("encoder.projection.bias").unwrap().data[dim], 0.0);
            assert_eq!(after.get("layer_norm.weight").unwrap().data[dim], 1.0);
            assert_eq!(after.get("layer_norm.bias").unwrap().data[dim], 0.0);
            let n = dims.len();
            let block = agreement_block(n, agreement.intervals).unwrap();
            for j in 0..512 {
                let (want, want_transposed) = match dims.iter().position(|&d| d == j) {
                    Some(b) => (block[value * n + b], block[b * n + value]),
                    None => (0.0, 0.0),
                };
                assert_eq!(new_w[dim * 512 + j], agreement.weight * want);
                assert_eq!(new_w[j * 512 + dim], agreement.weight * want_transposed);
            }
        }
        let old_w = &before.get(SIMILARITY_W).unwrap().data;
        let old_proj = &before.get("encoder.projection.weight").unwrap().data;
        for i in (0..512).filter(|i| !dims.contains(i)) {
            for j in (0..512).filter(|j| !dims.contains(j)) {
                assert_eq!(new_w[i * 512 + j], old_w[i * 512 + j]);
            }
            assert_eq!(&proj[i * width..(i + 1) * width], &old_proj[i * width..(i + 1) * width]);
        }
        for (name, t) in before.iter() {
            if ![SIMILARITY_W, "encoder.projection.weight", "encoder.projection.bias"].contains(&name)
                && !name.starts_with("layer_norm")
            {
                assert_eq!(after.get(name), Some(t), "{name}");
            }
        }
    }

    #[test]
    fn the_least_used_dimensions_read_only_the_pitch_classes_and_score_their_agreement() {
        let arch = Architecture::new(InputKind::Pitch, Pooling::TimePitchClass);
        let mut weights = random_weights_for(&arch, 11);
        let quiet: Vec<usize> = (0..PITCH_CLASSES).map(|k| 3 + 40 * k).collect();
        quieten(&mut weights, &quiet);
        let agreement = ProfileAgreement::unison(0.02, 3.0);
        let (out, dims) = start_profile_agreement(&arch, &weights, Segment::PitchClassProfile, agreement).unwrap();
        assert_eq!(dims, quiet);
        assert_started(&arch, (&weights, &out), Segment::PitchClassProfile, &dims, agreement);
    }

    #[test]
    fn the_onset_profile_starts_on_other_dimensions_than_the_pitch_classes() {
        let arch = Architecture::new(InputKind::Pitch, Pooling::TimePitchClassOnset);
        let mut weights = random_weights_for(&arch, 13);
        // The pitch classes started first (on the quietest 12), then 100
        // more quiet dimensions for the onsets: the started pitch classes
        // carry weight now, so the onsets must not take them.
        let quiet: Vec<usize> = (0..PITCH_CLASSES + ONSET_CELLS).map(|k| 1 + 4 * k).collect();
        quieten(&mut weights, &quiet);
        let pitch = ProfileAgreement::unison(0.01, 100.0);
        let (pitched, pitch_dims) =
            start_profile_agreement(&arch, &weights, Segment::PitchClassProfile, pitch).unwrap();
        let onset = ProfileAgreement::unison(0.5, 6.0);
        let (out, onset_dims) = start_profile_agreement(&arch, &pitched, Segment::OnsetProfile, onset).unwrap();
        assert_eq!(onset_dims.len(), ONSET_CELLS);
        assert!(onset_dims.iter().all(|d| quiet.contains(d) && !pitch_dims.contains(d)));
        assert_started(&arch, (&pitched, &out), Segment::OnsetProfile, &onset_dims, onset);
    }

    #[test]
    fn a_start_never_takes_the_dimensions_of_an_earlier_one() {
        // Small start weights leave the started dimensions the least used
        // by W, yet each later start must go elsewhere: their projection
        // rows read profiles alone.
        let arch = Architecture::new(InputKind::Pitch, Pooling::TimePitchClassOnsetHarmony);
        let weights = random_weights_for(&arch, 14);
        let weak = ProfileAgreement::unison(0.01, 0.25);
        let starts = [
            (Segment::PitchClassProfile, Some(weak)),
            (Segment::OnsetProfile, Some(weak)),
            (Segment::HarmonyProfile, Some(weak)),
        ];
        let (out, started) = start_profile_agreements(&arch, &weights, &starts).unwrap();
        let widths: Vec<usize> = started.iter().map(|p| p.dims.len()).collect();
        assert_eq!(widths, [PITCH_CLASSES, ONSET_CELLS, HARMONY_VALUES]);
        let mut all: Vec<usize> = started.iter().flat_map(|p| p.dims.clone()).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(
            all.len(),
            PITCH_CLASSES + ONSET_CELLS + HARMONY_VALUES,
            "no dimension taken twice"
        );
        assert_eq!(started[2].agreement, weak);
        assert_started(&arch, (&out, &out), Segment::HarmonyProfile, &started[2].dims, weak);
    }

    #[test]
    fn several_starts_go_in_segment_order_whatever_the_order_asked() {
        let arch = Architecture::new(InputKind::Pitch, Pooling::TimePitchClassOnsetHarmony);
        let weights = random_weights_for(&arch, 15);
        let pitch = ProfileAgreement::unison(0.01, 100.0);
        let harmony = ProfileAgreement::unison(0.005, 40.0);
        let asked = [
            (Segment::HarmonyProfile, Some(harmony)),
            (Segment::OnsetProfile, None),
            (Segment::PitchClassProfile, Some(pitch)),
        ];
        let (out, started) = start_profile_agreements(&arch, &weights, &asked).unwrap();
        let segments: Vec<Segment> = started.iter().map(|p| p.segment).collect();
        assert_eq!(segments, [Segment::PitchClassProfile, Segment::HarmonyProfile]);
        let (pitched, pitch_dims) =
            start_profile_agreement(&arch, &weights, Segment::PitchClassProfile, pitch).unwrap();
        let (one_by_one, harmony_dims) =
            start_profile_agreement(&arch, &pitched, Segment::HarmonyProfile, harmony).unwrap();
        assert_eq!((&started[0].dims, &started[1].dims), (&pitch_dims, &harmony_dims));
        assert!(out == one_by_one);
        let narrow = Architecture::new(InputKind::Pitch, Pooling::TimePitchClassOnset);
        let err = start_profile_agreements(&narrow, &random_weights_for(&narrow, 15), &asked).unwrap_err();
        assert!(err.to_string().contains("no harmony profile"), "{err}");
    }

    #[test]
    fn an_agreement_reads_as_two_positive_numbers_and_maybe_its_intervals() {
        assert_eq!("0.01, 100".parse(), Ok(ProfileAgreement::unison(0.01, 100.0)));
        let consonance: ProfileAgreement = "0.005,50,consonance".parse().unwrap();
        assert_eq!(consonance.intervals, IntervalAgreement::Consonance);
        assert_eq!((consonance.gain, consonance.weight), (0.005, 50.0));
        for bad in ["0.01", "0.01,0", "x,1", "1,2,3,4", "1,inf"] {
            let err = bad.parse::<ProfileAgreement>().unwrap_err();
            assert!(err.contains("GAIN,WEIGHT"), "{bad}: {err}");
        }
        let err = "1,2,fifths".parse::<ProfileAgreement>().unwrap_err();
        assert!(err.contains("unknown interval agreement"), "{err}");
    }

    #[test]
    fn a_consonance_start_writes_the_interval_block_and_needs_pitch_classes() {
        let arch = Architecture::new(InputKind::Pitch, Pooling::TimePitchClassOnsetHarmony);
        let weights = random_weights_for(&arch, 16);
        let consonance = ProfileAgreement {
            intervals: IntervalAgreement::Consonance,
            ..ProfileAgreement::unison(0.005, 50.0)
        };
        let (out, dims) = start_profile_agreement(&arch, &weights, Segment::HarmonyProfile, consonance).unwrap();
        assert_started(&arch, (&weights, &out), Segment::HarmonyProfile, &dims, consonance);
        let unison = start_profile_agreement(
            &arch,
            &weights,
            Segment::HarmonyProfile,
            ProfileAgreement::unison(0.005, 50.0),
        );
        let (unison, unison_dims) = unison.unwrap();
        assert_eq!(dims, unison_dims, "the same dimensions, another block");
        assert!(out.get(SIMILARITY_W) != unison.get(SIMILARITY_W));
        let err = start_profile_agreement(&arch, &weights, Segment::OnsetProfile, consonance).unwrap_err();
        assert!(err.to_string().contains("pitch classes"), "{err}");
    }

    #[test]
    fn a_network_without_the_profile_is_refused() {
        let agreement = ProfileAgreement::unison(1.0, 1.0);
        let arch = Architecture::new(InputKind::Pitch, Pooling::TimeProfile);
        let weights = random_weights_for(&arch, 12);
        let err = start_profile_agreement(&arch, &weights, Segment::PitchClassProfile, agreement).unwrap_err();
        assert!(err.to_string().contains("no pitch-class profile"), "{err}");
        let arch = Architecture::new(InputKind::Pitch, Pooling::TimePitchClass);
        let weights = random_weights_for(&arch, 12);
        let err = start_profile_agreement(&arch, &weights, Segment::OnsetProfile, agreement).unwrap_err();
        assert!(err.to_string().contains("no onset profile"), "{err}");
        let err = start_profile_agreement(&arch, &weights, Segment::HarmonyProfile, agreement).unwrap_err();
        assert!(err.to_string().contains("no harmony profile"), "{err}");
        let err = start_profile_agreement(&arch, &weights, Segment::TimeProfile, agreement).unwrap_err();
        assert!(err.to_string().contains("not a profile of the input"), "{err}");
    }
}
