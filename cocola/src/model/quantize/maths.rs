//! The numbers of an INT8 QDQ model: BatchNorm folded into its convolution,
//! weights per output channel, biases in the accumulator's scale, and
//! activations per tensor from their measured range.

/// Largest magnitude of a quantized weight: 7 bits of range (-63..=63) in
/// an int8. x86 CPUs without VNNI multiply uint8 activations by int8
/// weights two at a time into a saturating int16 (ONNX Runtime's AVX2
/// kernels); 2 x 255 x 127 overflows it and the embeddings drift (measured
/// on an AVX2-only EPYC: cosine to float32 down to 0.69), 2 x 255 x 63 =
/// 32 130 does not. The same file then gives the same numbers on every CPU.
const WEIGHT_MAX: f32 = 63.0;

/// A convolution with its BatchNorm folded in: `w' = w * g / sqrt(v + eps)`
/// per output channel, `b' = beta + (b - mean) * g / sqrt(v + eps)`.
pub struct FoldedConv {
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// BatchNorm's parameters for one convolution's output channels.
pub struct BatchNormParams<'a> {
    pub gamma: &'a [f32],
    pub beta: &'a [f32],
    pub mean: &'a [f32],
    pub var: &'a [f32],
    pub eps: f32,
}

/// Folds `bn` (if any) into a convolution of `out_channels` whose weights
/// are `weight` (output channel first) and bias `bias` (zero if absent).
pub fn fold(weight: &[f32], bias: Option<&[f32]>, out_channels: usize, bn: Option<&BatchNormParams>) -> FoldedConv {
    let per_channel = weight.len() / out_channels;
    let mut weight = weight.to_vec();
    let mut folded_bias: Vec<f32> = bias.map_or_else(|| vec![0.0; out_channels], <[f32]>::to_vec);
    if let Some(bn) = bn {
        for c in 0..out_channels {
            let scale = bn.gamma[c] / (bn.var[c] + bn.eps).sqrt();
            weight[c * per_channel..(c + 1) * per_channel]
                .iter_mut()
                .for_each(|w| *w *= scale);
            folded_bias[c] = bn.beta[c] + (folded_bias[c] - bn.mean[c]) * scale;
        }
    }
    FoldedConv {
        weight,
        bias: folded_bias,
    }
}

/// Symmetric int8 weights, one scale per output channel (zero point 0).
pub fn quantize_weights(weight: &[f32], out_channels: usize) -> (Vec<i8>, Vec<f32>) {
    let per_channel = weight.len() / out_channels;
    let mut scales = Vec::with_capacity(out_channels);
    let mut q = Vec::with_capacity(weight.len());
    for row in weight.chunks(per_channel) {
        let max = row.iter().fold(0f32, |m, w| m.max(w.abs()));
        // An all-zero channel still needs a positive scale.
        let scale = if max > 0.0 { max / WEIGHT_MAX } else { 1.0 };
        q.extend(
            row.iter()
                .map(|w| (w / scale).round().clamp(-WEIGHT_MAX, WEIGHT_MAX) as i8),
        );
        scales.push(scale);
    }
    (q, scales)
}

/// Int32 biases in the scale of the convolution's accumulator: input scale
/// times each channel's weight scale (what QLinearConv adds them to).
pub fn quantize_bias(bias: &[f32], input_scale: f32, weight_scales: &[f32]) -> (Vec<i32>, Vec<f32>) {
    let scales: Vec<f32> = weight_scales.iter().map(|w| w * input_scale).collect();
    let q = bias
        .iter()
        .zip(&scales)
        .map(|(b, s)| (*b as f64 / *s as f64).round().clamp(i32::MIN as f64, i32::MAX as f64) as i32)
        .collect();
    (q, scales)
}

/// Asymmetric uint8 parameters (scale, zero point) for values seen in
/// `[min, max]`; the range always holds 0, which must stay exact (padding).
pub fn activation_params(min: f32, max: f32) -> (f32, u8) {
    let (lo, hi) = (min.min(0.0), max.max(0.0));
    let scale = if hi > lo { (hi - lo) / 255.0 } else { 1.0 };
    let zero_point = (-lo / scale).round().clamp(0.0, 255.0) as u8;
    (scale, zero_point)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_matches_conv_then_batch_norm() {
        // One output channel, two weights: conv(x) = 2 x0 - x1 + 0.5.
        let bn = BatchNormParams {
            gamma: &[3.0],
            beta: &[0.25],
            mean: &[1.0],
            var: &[3.99],
            eps: 0.01,
        };
        let f = fold(&[2.0, -1.0], Some(&[0.5]), 1, Some(&bn));
        let (x0, x1) = (0.7f32, -1.3f32);
        let conv = 2.0 * x0 - x1 + 0.5;
        let expected = (conv - 1.0) * 3.0 / 2.0 + 0.25;
        let folded = f.weight[0] * x0 + f.weight[1] * x1 + f.bias[0];
        assert!((folded - expected).abs() < 1e-5, "{folded} vs {expected}");
        let unchanged = fold(&[2.0, -1.0], None, 1, None);
        assert_eq!((unchanged.weight, unchanged.bias), (vec![2.0, -1.0], vec![0.0]));
    }

    #[test]
    fn weights_use_each_channel_range_and_round_trip_within_half_a_step() {
        let w = [0.5, -0.25, 0.0, 0.01, -0.02, 0.0, 0.0, 0.0, 0.0];
        let (q, scales) = quantize_weights(&w, 3);
        assert_eq!(q[..3], [63, -31, 0]); // -31.5 in f32 is a hair above it
        assert_eq!(q[4], -63);
        assert_eq!(scales[2], 1.0, "an all-zero channel");
        for (c, row) in w.chunks(3).enumerate() {
            for (i, v) in row.iter().enumerate() {
                assert!((q[c * 3 + i] as f32 * scales[c] - v).abs() <= scales[c] / 2.0 + 1e-9);
            }
        }
    }

    #[test]
    fn activations_keep_zero_exact_and_cover_the_range() {
        let (scale, zp) = activation_params(-1.0, 3.0);
        assert!((scale - 4.0 / 255.0).abs() < 1e-7);
        assert_eq!(zp, 64);
        let dq = |q: u8| (q as f32 - zp as f32) * scale;
        assert_eq!(dq(zp), 0.0);
        assert!((dq(0) + 1.0).abs() < scale && (dq(255) - 3.0).abs() < scale);
        // Non-negative tensors (after a sigmoid) use the whole range above 0.
        assert_eq!(activation_params(0.2, 1.0).1, 0);
        assert_eq!(activation_params(0.0, 0.0), (1.0, 0));
    }

    #[test]
    fn biases_are_in_the_accumulator_scale() {
        let (q, s) = quantize_bias(&[1.0, -0.5], 0.1, &[0.01, 0.02]);
        assert_eq!(q, vec![1000, -250]);
        assert!((s[0] - 0.001).abs() < 1e-9 && (s[1] - 0.002).abs() < 1e-9);
    }
}
