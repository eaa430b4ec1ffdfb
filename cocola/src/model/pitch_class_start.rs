//! A start for the pitch-class profile that already hears the key: the
//! score gains a term that grows with how much the two sides' pitch-class
//! profiles agree, the chroma correlation the model-free floor uses.
//!
//! Widening a network to [`Pooling::TimePitchClass`] starts the profile's
//! projection columns at zero ([`super::widen`]); contrastive training then
//! has to discover the profile from scratch, and on CPU budgets it barely
//! did (docs/EVALUATION.md, pilots `pitch2`-`pitch4`). This start gives 12
//! embedding dimensions to the profile instead:
//!
//! - the 12 dimensions the score relies on least are chosen (smallest
//!   `g_i^2 (|W_i.|^2 + |W_.i|^2)`, with `g` the LayerNorm gain);
//! - their projection rows read only the profile: dimension `d_k` gets
//!   `gain x` class `k`, no bias, a plain LayerNorm (gain 1, bias 0);
//! - their rows and columns of `W` are cleared and the diagonal set to
//!   `weight`, so the score becomes the old score on the other 500
//!   dimensions plus `weight x sum_k e_c[d_k] e_s[d_k]`, where
//!   `e[d_k] = tanh(gain x p_k / sigma)` (sigma: the window's LayerNorm
//!   spread) follows the centred profile `p`.
//!
//! Training moves all of it afterwards; this only chooses where it starts.

use serde::{Deserialize, Serialize};

use super::arch::{Architecture, Pooling, SIMILARITY_W};
use super::pooling::{Segment, PITCH_CLASSES};
use super::{validate_weights, ModelError, NamedTensors};

/// How strongly the profile enters the start.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PitchClassAgreement {
    /// Projection weight from each profile value (in profile units, 0.1 dB)
    /// to its dimension, before LayerNorm: sets how soon `tanh` saturates.
    pub gain: f32,
    /// The diagonal of `W` on the profile's dimensions: the agreement
    /// term's weight in the score.
    pub weight: f32,
}

/// `weights` of `arch` (a pitch-class pooling) with the agreement term
/// written in, and the embedding dimension each pitch class got. Fails if
/// `arch` has no pitch-class profile or `weights` do not fit it.
pub fn start_pitch_class_agreement(
    arch: &Architecture,
    weights: &NamedTensors,
    agreement: PitchClassAgreement,
) -> Result<(NamedTensors, [usize; PITCH_CLASSES]), ModelError> {
    if !arch.pooling.has(Segment::PitchClassProfile) {
        return Err(ModelError::BadInput(format!(
            "a {} pooling has no pitch-class profile to start (use {})",
            arch.pooling,
            Pooling::TimePitchClass
        )));
    }
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

    let dims = least_used_dimensions(&w, &gain, d);
    let width = arch.projection.in_features;
    let profile_offset = profile_offset(arch);
    for (class, &dim) in dims.iter().enumerate() {
        let row = &mut proj[dim * width..(dim + 1) * width];
        row.fill(0.0);
        row[profile_offset + class] = agreement.gain;
        bias[dim] = 0.0;
        gain[dim] = 1.0;
        shift[dim] = 0.0;
        for other in 0..d {
            w[dim * d + other] = 0.0;
            w[other * d + dim] = 0.0;
        }
        w[dim * d + dim] = agreement.weight;
    }

    let mut out = weights.clone();
    out.insert(SIMILARITY_W, vec![d, d], w)?;
    out.insert(projection_w, vec![d, width], proj)?;
    out.insert(projection_b, vec![d], bias)?;
    out.insert(ln_w, vec![d], gain)?;
    out.insert(ln_b, vec![d], shift)?;
    Ok((out, dims))
}

/// Where the pitch-class profile starts in the projection's input.
fn profile_offset(arch: &Architecture) -> usize {
    arch.pooling
        .segments()
        .iter()
        .take_while(|&&s| s != Segment::PitchClassProfile)
        .map(|&s| arch.segment_width(s))
        .sum()
}

/// The `PITCH_CLASSES` dimensions whose embedding values the score weighs
/// least (an embedding value's spread follows its LayerNorm gain), in
/// increasing order.
fn least_used_dimensions(w: &[f32], ln_gain: &[f32], d: usize) -> [usize; PITCH_CLASSES] {
    let use_of = |i: usize| {
        let row: f32 = w[i * d..(i + 1) * d].iter().map(|v| v * v).sum();
        let column: f32 = (0..d).map(|j| w[j * d + i] * w[j * d + i]).sum();
        ln_gain[i] * ln_gain[i] * (row + column)
    };
    let mut order: Vec<(f32, usize)> = (0..d).map(|i| (use_of(i), i)).collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut dims = [0; PITCH_CLASSES];
    for (slot, &(_, i)) in dims.iter_mut().zip(&order) {
        *slot = i;
    }
    dims.sort_unstable();
    dims
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::InputKind;
    use crate::model::testing::random_weights_for;

    fn arch() -> Architecture {
        Architecture::new(InputKind::Pitch, Pooling::TimePitchClass)
    }

    #[test]
    fn the_least_used_dimensions_read_only_the_profile_and_score_its_agreement() {
        let arch = arch();
        let mut weights = random_weights_for(&arch, 11);
        // Make dimensions 3, 40, ..., 403 (step 40) the least used: tiny W rows and columns.
        let quiet: Vec<usize> = (0..PITCH_CLASSES).map(|k| 3 + 40 * k).collect();
        let mut w = weights.get(SIMILARITY_W).unwrap().data.clone();
        for &i in &quiet {
            for j in 0..512 {
                w[i * 512 + j] *= 1e-3;
                w[j * 512 + i] *= 1e-3;
            }
        }
        weights.insert(SIMILARITY_W, vec![512, 512], w.clone()).unwrap();
        let agreement = PitchClassAgreement {
            gain: 0.02,
            weight: 3.0,
        };
        let (out, dims) = start_pitch_class_agreement(&arch, &weights, agreement).unwrap();
        assert_eq!(dims.to_vec(), quiet);

        let width = arch.projection.in_features;
        let proj = &out.get("encoder.projection.weight").unwrap().data;
        let new_w = &out.get(SIMILARITY_W).unwrap().data;
        for (class, &dim) in dims.iter().enumerate() {
            let row = &proj[dim * width..(dim + 1) * width];
            for (c, &v) in row.iter().enumerate() {
                let want = if c == width - PITCH_CLASSES + class { 0.02 } else { 0.0 };
                assert_eq!(v, want, "row {dim} column {c}");
            }
            assert_eq!(out.get("encoder.projection.bias").unwrap().data[dim], 0.0);
            assert_eq!(out.get("layer_norm.weight").unwrap().data[dim], 1.0);
            assert_eq!(out.get("layer_norm.bias").unwrap().data[dim], 0.0);
            for j in 0..512 {
                let want = if j == dim { 3.0 } else { 0.0 };
                assert_eq!(new_w[dim * 512 + j], want);
                assert_eq!(new_w[j * 512 + dim], want);
            }
        }
        // Everything else is untouched.
        for i in (0..512).filter(|i| !dims.contains(i)) {
            for j in (0..512).filter(|j| !dims.contains(j)) {
                assert_eq!(new_w[i * 512 + j], w[i * 512 + j]);
            }
            let old = &weights.get("encoder.projection.weight").unwrap().data;
            assert_eq!(&proj[i * width..(i + 1) * width], &old[i * width..(i + 1) * width]);
        }
        for (name, t) in weights.iter() {
            if ![SIMILARITY_W, "encoder.projection.weight", "encoder.projection.bias"].contains(&name)
                && !name.starts_with("layer_norm")
            {
                assert_eq!(out.get(name), Some(t), "{name}");
            }
        }
    }

    #[test]
    fn a_network_without_the_profile_is_refused() {
        let arch = Architecture::new(InputKind::Pitch, Pooling::TimeProfile);
        let weights = random_weights_for(&arch, 12);
        let agreement = PitchClassAgreement { gain: 1.0, weight: 1.0 };
        let err = start_pitch_class_agreement(&arch, &weights, agreement).unwrap_err();
        assert!(err.to_string().contains("no pitch-class profile"), "{err}");
    }
}
