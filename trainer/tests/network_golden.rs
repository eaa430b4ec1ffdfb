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

/// libtorch's random generator is global to the process, and both tests
/// draw from it (initialisation; dropout and drop-connect): run in parallel
/// test threads, they would take each other's draws.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn tch_network_matches_pytorch_reference() {
    let _turn = serial();
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

/// Training runs the CPU network channels-last for speed: the loss and the
/// gradient of a training-mode pass must equal the plain NCHW layout's (the
/// reference's) up to float rounding. (A mistaken layout would scramble
/// frequency and time and change both completely.)
#[test]
fn channels_last_training_pass_equals_nchw() {
    let _turn = serial();
    tch::set_num_threads(1);
    let arch = Architecture::cocola();
    // Training's own initialisation: the golden test's weights are tuned to
    // be chaotic, which in batch-statistics mode magnifies rounding.
    tch::manual_seed(3);
    let params = Params::init_with_w_std(&arch, Device::Cpu, 0.05);
    let mut net = Network::new(arch, params);
    let windows: Vec<f32> = (0..4)
        .flat_map(|i| testing::random_features(&format!("window.{i}"), SEED))
        .collect();
    let x = Tensor::from_slice(&windows).reshape([4, 2, 64, 501]);
    let (a, p) = (x.narrow(0, 0, 2), x.narrow(0, 2, 2));
    let mut pass = |channels_last: bool| {
        net.channels_last_on_cpu = channels_last;
        for (_, t) in net.params.trainable() {
            let mut g = t.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
        // Dropout and drop-connect draw the same masks from the same seed.
        tch::manual_seed(1);
        let (loss, _) = cocola_trainer::model::net::contrastive_loss(&net.pair_similarity(&a, &p, true));
        loss.backward();
        let grads: Vec<Tensor> = net.params.trainable().map(|(_, t)| t.grad().flatten(0, -1)).collect();
        (loss.double_value(&[]), Tensor::cat(&grads, 0))
    };
    let (loss_nchw, g_nchw) = pass(false);
    let (loss_last, g_last) = pass(true);
    let relative = (&g_nchw - &g_last).norm().double_value(&[]) / g_nchw.norm().double_value(&[]);
    println!("loss NCHW {loss_nchw:.6}, channels-last {loss_last:.6}; gradient relative difference {relative:.2e}");
    assert!(
        (loss_nchw - loss_last).abs() <= 1e-4 * loss_nchw.abs(),
        "loss {loss_nchw} vs {loss_last}"
    );
    assert!(relative < 1e-3, "gradients differ by {relative:.2e} of their norm");
}
