//! Training-step speed on this machine's CPU: one `train_step` (forward and
//! backward of 2K windows, Adam update) at the paper's K = 32 on random
//! features, for the two things that decide it on the CPU, each as a ratio
//! to the plain baseline measured first in the same process:
//!
//! - the activations' layout: NCHW, or channels-last (what training uses);
//! - glibc's malloc as it comes, or told to keep freed memory
//!   ([`cocola_trainer::malloc::keep_freed_memory`], what the trainer does);
//! - the whole network trained, or the head alone (`--freeze-backbone`: no
//!   backward pass through the backbone).
//!
//! `cargo run --release -p cocola-trainer --example step_bench [-- STEPS [K]]`

use std::time::Instant;

use cocola::model::arch::Architecture;
use cocola_trainer::model::adam::Adam;
use cocola_trainer::model::{Network, Params};
use cocola_trainer::train::{train_step, HardNegativeTerms};
use tch::{Device, Kind, Tensor};

fn main() {
    let mut args = std::env::args().skip(1);
    let steps: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let k: i64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    tch::manual_seed(0);
    let shape = [k, 2, 64, 501];
    let anchors = Tensor::randn(shape, (Kind::Float, Device::Cpu)) * 20.0 - 40.0;
    let positives = Tensor::randn(shape, (Kind::Float, Device::Cpu)) * 20.0 - 40.0;
    let arch = Architecture::cocola();
    let mut net = Network::new(arch.clone(), Params::init_with_w_std(&arch, Device::Cpu, 0.002));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as i32;

    let time = |label: &str, net: &Network, threads: i32| -> f64 {
        tch::set_num_threads(threads);
        let mut adam = Adam::new(&net.params, 1e-4);
        train_step(net, &mut adam, &anchors, &positives, HardNegativeTerms::NONE, 1e-4); // warm-up: allocator, kernels
        let t = Instant::now();
        for _ in 0..steps {
            train_step(net, &mut adam, &anchors, &positives, HardNegativeTerms::NONE, 1e-4);
        }
        let s = t.elapsed().as_secs_f64() / steps as f64;
        println!("{label:<44} {s:7.3} s/step");
        s
    };
    net.channels_last_on_cpu = false;
    let base = time("NCHW, malloc as it comes", &net, cores);
    net.channels_last_on_cpu = true;
    let layout = time("channels-last, malloc as it comes", &net, cores);
    // mallopt applies to every later allocation, so the process can switch.
    let kept = cocola_trainer::malloc::keep_freed_memory();
    assert!(kept, "this C library does not take mallopt's settings");
    net.channels_last_on_cpu = false;
    let malloc = time("NCHW, freed memory kept", &net, cores);
    net.channels_last_on_cpu = true;
    let both = time("channels-last, freed memory kept (training)", &net, cores);
    let one = time("the same on 1 thread", &net, 1);
    net.freeze_backbone();
    let head = time("head alone (--freeze-backbone)", &net, cores);
    println!("K = {k}, {steps} step(s) each, {cores} core(s); speed relative to NCHW with malloc as it comes:");
    for (label, s) in [
        ("channels-last", layout),
        ("freed memory kept", malloc),
        ("both (training)", both),
        ("both, 1 thread", one),
        ("both, head alone", head),
    ] {
        println!("  {label:<20} {:.2}x", base / s);
    }
}
