//! Deterministic weights and inputs **for tests only; never offered to
//! users** — a model with these weights scores nothing meaningfully.
//!
//! The same generator is implemented in Python
//! (`tools/golden/make_encoder_fixtures.py`), bit for bit, so a network built
//! by the reference code and one written by [`super::write_model`] get
//! identical f32 weights and inputs without shipping the weights.
//!
//! # The generator
//!
//! For a tensor named `name`, with `seed`:
//! - `base = fnv1a64(utf8(name)) XOR splitmix64(seed)` ([`crate::seeded::mix64`]);
//! - element `i` draws `r = splitmix64(base + (i + 1) * 0x9E3779B97F4A7C15)`
//!   (wrapping u64 arithmetic; this is the `i`-th output of SplitMix64 started
//!   at `base`);
//! - `u = (r >> 40) as f32 / 2^24`, exactly representable, in `[0, 1)`;
//! - `value = lo + (hi - lo) * u`, in f32 (`hi - lo`, the product and the sum
//!   each rounded to f32, no fused multiply-add).
//!
//! Ranges by role ([`ParamRole`]): conv and linear weights and `W`
//! `±sqrt(3.75 / fan_in)` (the bound computed in f64, rounded to f32; this gain
//! keeps the signal alive through the 16 blocks without exploding, so the
//! outputs depend strongly on the input and on every padding detail, while
//! float32 rounding stays small: a larger gain makes this random network
//! chaotic); biases `±0.1`; BatchNorm and LayerNorm weights `[0.5, 1.5)`;
//! BatchNorm and LayerNorm biases and running means `±0.1`; running variances
//! `[0.5, 1.5)`. Inputs: `[-80, 0)`, the range of the dB features.

use super::arch::{Architecture, ParamRole};
use super::metadata::ModelMetadata;
use super::NamedTensors;
use crate::contract::FEATURE_LEN;

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// FNV-1a, 64 bit.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// `n` values uniform in `[lo, hi)` for the tensor `name` (see module docs).
pub fn uniform(name: &str, seed: u64, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    let base = fnv1a64(name.as_bytes()) ^ crate::seeded::mix64(seed);
    let span = hi - lo;
    (0..n as u64)
        .map(|i| {
            let r = crate::seeded::mix64(base.wrapping_add(i.wrapping_add(1).wrapping_mul(GOLDEN)));
            let u = (r >> 40) as f32 / (1u32 << 24) as f32;
            lo + span * u
        })
        .collect()
}

/// Deterministic weights for every parameter of the COCOLA network.
pub fn random_weights(seed: u64) -> NamedTensors {
    random_weights_for(&Architecture::cocola(), seed)
}

/// Deterministic weights for every parameter of `arch`.
pub fn random_weights_for(arch: &Architecture, seed: u64) -> NamedTensors {
    let mut out = NamedTensors::new();
    for p in arch.parameters() {
        let (lo, hi) = match p.role {
            ParamRole::ConvWeight | ParamRole::LinearWeight | ParamRole::Bilinear => {
                let a = (3.75 / p.fan_in as f64).sqrt() as f32;
                (-a, a)
            }
            ParamRole::ConvBias | ParamRole::LinearBias => (-0.1, 0.1),
            ParamRole::BnWeight | ParamRole::LayerNormWeight | ParamRole::BnRunningVar => (0.5, 1.5),
            ParamRole::BnBias | ParamRole::LayerNormBias | ParamRole::BnRunningMean => (-0.1, 0.1),
        };
        let data = uniform(&p.name, seed, p.len(), lo, hi);
        out.insert(p.name, p.shape, data)
            .expect("generated data matches its shape");
    }
    out
}

/// One deterministic `[2, 64, 501]` feature tensor, values in `[-80, 0)`.
pub fn random_features(name: &str, seed: u64) -> Vec<f32> {
    uniform(name, seed, FEATURE_LEN, -80.0, 0.0)
}

/// Metadata for test models.
pub fn test_metadata() -> ModelMetadata {
    let mut meta = ModelMetadata::new("cocola-test-random", "0.0.0-test");
    meta.description = "random weights for tests; scores mean nothing".into();
    meta.license = "MIT".into();
    meta.training_data = "none".into();
    meta.training = serde_json::json!({ "steps": 0, "note": "deterministic random weights" });
    meta
}

/// [`test_metadata`] with a calibration in every mode: coherent pairs
/// 1 +- 1, random pairs -1 +- 1, so a raw score `s` has log-odds `2 s`.
pub fn calibrated_test_metadata() -> ModelMetadata {
    use crate::calibration::{Calibration, ModeCalibration, ScoreDistribution};
    let dist = |mean: f32| ScoreDistribution {
        mean,
        std: 1.0,
        count: 10,
    };
    let mode = ModeCalibration::random_only(dist(1.0), dist(-1.0));
    let mut meta = test_metadata();
    meta.calibration = Some(Calibration {
        both: mode,
        harmonic: Some(mode),
        percussive: Some(mode),
    });
    meta
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // FNV-1a test vector.
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        let v = uniform("x", 0, 4, -1.0, 1.0);
        assert!(v.iter().all(|x| (-1.0..1.0).contains(x)));
        assert_eq!(v, uniform("x", 0, 4, -1.0, 1.0));
        assert_ne!(v, uniform("x", 1, 4, -1.0, 1.0));
        assert_ne!(v, uniform("y", 0, 4, -1.0, 1.0));
    }
}
