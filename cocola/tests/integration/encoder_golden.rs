//! The ONNX model written by `cocola` against the reference PyTorch network
//! (efficientnet_pytorch 0.7.1 + the reference head), with identical
//! deterministic weights. Fixtures: tools/golden/make_encoder_fixtures.py.

use std::path::{Path, PathBuf};

use cocola::contract::FEATURE_LEN;
use cocola::mode::Mode;
use cocola::model::arch::Architecture;
use cocola::model::{score, testing, write_model, LoadOptions, Model};
use sha2::{Digest, Sha256};

const SEED: u64 = 7;
const TOLERANCE: f32 = 1e-4;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/encoder")
}

fn npy(name: &str) -> (Vec<usize>, Vec<f32>) {
    cocola::npy::read_f32(fixtures().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The golden inputs: random, silence, random harmonic-only, another random
/// percussive-only (see the fixture script).
fn inputs() -> Vec<f32> {
    let x0 = testing::random_features("input.0", SEED);
    let mut x2 = x0.clone();
    Mode::Harmonic.apply_mask(&mut x2);
    let mut x3 = testing::random_features("input.3", SEED);
    Mode::Percussive.apply_mask(&mut x3);
    [x0, vec![0.0; FEATURE_LEN], x2, x3].concat()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn checksum(key: &str) -> String {
    let text = std::fs::read_to_string(fixtures().join("checksums.txt")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} ")))
        .unwrap_or_else(|| panic!("no '{key}' in checksums.txt"))
        .to_string()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn rust_and_python_generators_agree_bit_for_bit() {
    assert_eq!(checksum("seed"), SEED.to_string());
    let weights = testing::random_weights(SEED);
    let mut h = Sha256::new();
    for (name, t) in weights.iter() {
        // `iter` is sorted by name, like the Python side.
        h.update(name.as_bytes());
        for v in &t.data {
            h.update(v.to_le_bytes());
        }
    }
    assert_eq!(hex(&h.finalize()), checksum("weights"));
    let mut h = Sha256::new();
    for v in inputs() {
        h.update(v.to_le_bytes());
    }
    assert_eq!(hex(&h.finalize()), checksum("inputs"));
}

#[test]
fn parameter_list_is_the_reference_state_dict() {
    let text = std::fs::read_to_string(fixtures().join("state_dict.txt")).unwrap();
    let reference: Vec<(String, String)> = text
        .lines()
        .map(|l| {
            let (n, s) = l.split_once(' ').unwrap();
            (n.to_string(), s.to_string())
        })
        .collect();
    let ours: Vec<(String, String)> = Architecture::cocola()
        .parameters()
        .into_iter()
        .map(|p| {
            (
                p.name,
                p.shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x"),
            )
        })
        .collect();
    assert_eq!(ours, reference);
}

#[test]
fn onnx_model_matches_pytorch() {
    let bytes = write_model(&testing::random_weights(SEED), &testing::test_metadata()).unwrap();
    let mut model = Model::from_bytes(&bytes, &LoadOptions::default()).unwrap();
    let x = inputs();
    let e = model.embed(&x, 4).unwrap();

    let (shape, golden_e) = npy("embedding.npy");
    assert_eq!(shape, [4, 512]);
    let (shape, golden_we) = npy("w_embedding.npy");
    assert_eq!(shape, [4, 512]);
    let d_e = max_abs_diff(&e.embedding, &golden_e);
    let d_we = max_abs_diff(&e.w_embedding, &golden_we);
    println!("max |ONNX Runtime - PyTorch|: embedding {d_e:.3e}, w_embedding {d_we:.3e}");
    assert!(d_e <= TOLERANCE, "embedding differs by {d_e}");
    assert!(d_we <= TOLERANCE, "w_embedding differs by {d_we}");

    // The score is the reference's pairwise(x=condition, y=stem).
    let (shape, golden_scores) = npy("scores.npy");
    assert_eq!(shape, [4, 4]);
    let mut d_s = 0.0f32;
    for c in 0..4 {
        for s in 0..4 {
            d_s = d_s.max((score(&e, c, s) - golden_scores[c * 4 + s]).abs());
        }
    }
    println!("max |score - PyTorch pairwise|: {d_s:.3e}");
    assert!(d_s <= 1e-3, "scores differ by {d_s}");
    // Not symmetric: W is not, so the order condition/stem matters.
    assert!((score(&e, 0, 3) - score(&e, 3, 0)).abs() > 1e-3);

    // Batching does not change a row's result.
    let single = model.embed(&x[3 * FEATURE_LEN..], 1).unwrap();
    let d_b = max_abs_diff(single.embedding(0), e.embedding(3));
    println!("batch 1 vs batch 4, same row: {d_b:.3e}");
    assert!(d_b <= 1e-5);
}
