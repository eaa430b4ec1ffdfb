//! The block of `W` a profile agreement start writes on its dimensions
//! ([`super::profile_start`]): which pairs of the two sides' profile values
//! the score rewards, and by how much.

use serde::{Deserialize, Serialize};

use super::pooling::PITCH_CLASSES;
use super::ModelError;

/// Interval weights of [`IntervalAgreement::Consonance`], interval `j` =
/// the condition's pitch class minus the stem's (mod 12), unison 1.
///
/// Fitted, not chosen: a logistic regression that tells a true stem's
/// harmony profile from the same stem transposed (by the agreement `sum
/// over seconds and classes p of stem[p] x condition[p + j] x weight[j]`)
/// on 1 950 sensitivity-test anchors of the training split (`cargo run
/// --example consonance_fit`). It learnt what harmony books say: a
/// semitone either way is the worst clash (-0.44, -0.50), the tritone and
/// the whole tones are penalised, a fourth or fifth and the thirds and
/// sixths are mild rewards. With no model, on the held-out splits (300
/// anchors each), the transposed win rate of the harmony profiles' own
/// agreement goes from 85.7 to 88.3 % (validation) and from 86.7 to
/// 88.7 % (test-ood) against unison weights alone.
pub const CONSONANCE: [f32; PITCH_CLASSES] = [
    1.00, -0.44, -0.10, 0.13, -0.03, 0.23, -0.23, 0.09, 0.12, 0.14, -0.17, -0.50,
];

/// Which pairs of values an agreement start rewards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IntervalAgreement {
    /// Each value with the same value of the other side: for pitch classes,
    /// the chroma correlation the model-free floor uses.
    #[default]
    Unison,
    /// Each pitch class with every pitch class of the other side in the
    /// same time cell, weighted by their interval ([`CONSONANCE`]): a stem
    /// a semitone off the chord costs, a third or fifth above it counts a
    /// little. Only for profiles made of pitch classes.
    Consonance,
}

crate::named::named_enum!(IntervalAgreement, "interval agreement");

impl IntervalAgreement {
    pub const ALL: [IntervalAgreement; 2] = [IntervalAgreement::Unison, IntervalAgreement::Consonance];

    pub fn name(self) -> &'static str {
        match self {
            IntervalAgreement::Unison => "unison",
            IntervalAgreement::Consonance => "consonance",
        }
    }

    /// Whether the default (written nowhere, for files from before the
    /// choice existed).
    pub fn is_unison(&self) -> bool {
        *self == IntervalAgreement::Unison
    }
}

/// The `values x values` block (row: the condition's value, column: the
/// stem's; row-major) that `intervals` asks for, double-centred: every row
/// and column sums to zero, so the offset LayerNorm adds to all the
/// profile's dimensions alike scores nothing (see
/// [`super::profile_start`]). Unison gives the centring matrix. The values
/// of a consonance block are cells of 12 pitch classes, cell-major.
pub fn agreement_block(values: usize, intervals: IntervalAgreement) -> Result<Vec<f32>, ModelError> {
    let reward = |a: usize, b: usize| -> f32 {
        match intervals {
            IntervalAgreement::Unison => f32::from(u8::from(a == b)),
            IntervalAgreement::Consonance if a / PITCH_CLASSES == b / PITCH_CLASSES => {
                CONSONANCE[(a % PITCH_CLASSES + PITCH_CLASSES - b % PITCH_CLASSES) % PITCH_CLASSES]
            }
            IntervalAgreement::Consonance => 0.0,
        }
    };
    if intervals == IntervalAgreement::Consonance && (values == 0 || !values.is_multiple_of(PITCH_CLASSES)) {
        return Err(ModelError::BadInput(format!(
            "a consonance agreement needs a profile of pitch classes (cells of {PITCH_CLASSES}), not {values} values"
        )));
    }
    let block: Vec<f32> = (0..values * values).map(|k| reward(k / values, k % values)).collect();
    let n = values as f32;
    let row_mean: Vec<f32> = block.chunks_exact(values).map(|r| r.iter().sum::<f32>() / n).collect();
    let column_mean: Vec<f32> = (0..values)
        .map(|b| (0..values).map(|a| block[a * values + b]).sum::<f32>() / n)
        .collect();
    let mean = row_mean.iter().sum::<f32>() / n;
    Ok((0..values * values)
        .map(|k| {
            let (a, b) = (k / values, k % values);
            block[k] - row_mean[a] - column_mean[b] + mean
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unison_is_the_centring_matrix() {
        let block = agreement_block(5, IntervalAgreement::Unison).unwrap();
        for (k, v) in block.iter().enumerate() {
            let want = if k / 5 == k % 5 { 1.0 - 1.0 / 5.0 } else { -1.0 / 5.0 };
            assert!((v - want).abs() < 1e-6, "{k}: {v}");
        }
    }

    #[test]
    fn consonance_scores_a_chord_tone_above_a_semitone_clash_within_a_cell_only() {
        let values = 2 * PITCH_CLASSES;
        let block = agreement_block(values, IntervalAgreement::Consonance).unwrap();
        // Rows and columns sum to zero: a constant offset on either side scores nothing.
        for a in 0..values {
            let row: f32 = block[a * values..(a + 1) * values].iter().sum();
            let column: f32 = (0..values).map(|b| block[b * values + a]).sum();
            assert!(row.abs() < 1e-5 && column.abs() < 1e-5, "{a}: {row} {column}");
        }
        // A C-major triad in the condition's first cell (centred, as profiles are).
        let profile = |notes: &[usize], cell: usize| {
            let mut p = vec![0.0f32; values];
            for &n in notes {
                p[cell * PITCH_CLASSES + n] = 1.0;
            }
            let mean = p.iter().sum::<f32>() / values as f32;
            p.iter().map(|v| v - mean).collect::<Vec<_>>()
        };
        let agreement = |c: &[f32], s: &[f32]| -> f32 {
            (0..values * values)
                .map(|k| c[k / values] * block[k] * s[k % values])
                .sum()
        };
        let chord = profile(&[0, 4, 7], 0);
        let (e, f, g_next_cell) = (profile(&[4], 0), profile(&[5], 0), profile(&[7], 1));
        assert!(agreement(&chord, &e) > 0.0, "a chord tone fits");
        assert!(agreement(&chord, &f) < 0.0, "a semitone above the third clashes");
        assert!(
            agreement(&chord, &e) > agreement(&chord, &g_next_cell),
            "other cells do not count"
        );
    }

    #[test]
    fn consonance_needs_pitch_classes() {
        let err = agreement_block(100, IntervalAgreement::Consonance).unwrap_err();
        assert!(err.to_string().contains("pitch classes"), "{err}");
        assert!(agreement_block(100, IntervalAgreement::Unison).is_ok());
    }
}
