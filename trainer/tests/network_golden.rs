//! The tch network against the reference PyTorch network: the same
//! deterministic weights (`cocola::model::testing`) and inputs as cocola's
//! encoder golden test, compared with the embeddings efficientnet_pytorch
//! 0.7.1 produced (cocola/tests/fixtures/encoder, eval mode).

use std::path::PathBuf;

use cocola::contract::FEATURE_LEN;
use cocola::mode::Mode;
use cocola::model::arch::Architecture;
use cocola::model::testing;
use cocola_trainer::model::{Network, Params};
use tch::{Device, Tensor};

const SEED: u64 = 7;

fn fixture(name: &str) -> Vec<f32> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../cocola/tests/fixtures/encoder")
        .join(name);
    cocola::npy::read_f32(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .1
}

fn inputs() -> Vec<f32> {
    let x0 = testing::random_features("input.0", SEED);
    let mut x2 = x0.clone();
    Mode::Harmonic.apply_mask(&mut x2);
    let mut x3 = testing::random_features("input.3", SEED);
    Mode::Percussive.apply_mask(&mut x3);
    [x0, vec![0.0; FEATURE_LEN], x2, x3].concat()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn tch_network_matches_pytorch_reference() {
    tch::set_num_threads(1);
    let arch = Architecture::cocola();
    let params = Params::from_named(&arch, &testing::random_weights(SEED), Device::Cpu).unwrap();
    let net = Network::new(arch, params);
    let x = Tensor::from_slice(&inputs()).reshape([4, 2, 64, 501]);
    let (e, we) = tch::no_grad(|| {
        let e = net.embed(&x, false);
        let we = net.w_embedding(&e);
        (e, we)
    });
    let e: Vec<f32> = Vec::try_from(e.flatten(0, -1)).unwrap();
    let we: Vec<f32> = Vec::try_from(we.flatten(0, -1)).unwrap();
    let d_e = max_abs_diff(&e, &fixture("embedding.npy"));
    let d_we = max_abs_diff(&we, &fixture("w_embedding.npy"));
    println!("max |tch - PyTorch|: embedding {d_e:.3e}, w_embedding {d_we:.3e}");
    assert!(d_e <= 1e-4 && d_we <= 1e-4, "embedding {d_e}, w_embedding {d_we}");
}
