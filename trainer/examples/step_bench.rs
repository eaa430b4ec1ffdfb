//! Training-step speed on this machine's CPU: one `train_step` (forward and
//! backward of 2K windows, Adam update) at the paper's K = 32 on random
//! features, channels-last (what training uses on the CPU) against the plain
//! NCHW layout, and on one thread, each as a ratio to NCHW measured in the
//! same process.
//!
//! `cargo run --release -p cocola-trainer --example step_bench [-- STEPS [K]]`

use std::time::Instant;

use cocola::model::arch::Architecture;
use cocola_trainer::model::adam::Adam;
use cocola_trainer::model::{Network, Params};
use cocola_trainer::train::train_step;
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
    let mut adam = Adam::new(&net.params, 1e-4);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as i32;

    let mut time = |label: &str, net: &Network, threads: i32| -> f64 {
        tch::set_num_threads(threads);
        train_step(net, &mut adam, &anchors, &positives, 1e-4); // warm-up: allocator, kernels
        let t = Instant::now();
        for _ in 0..steps {
            train_step(net, &mut adam, &anchors, &positives, 1e-4);
        }
        let s = t.elapsed().as_secs_f64() / steps as f64;
        println!("{label:<32} {s:7.3} s/step");
        s
    };
    net.channels_last_on_cpu = false;
    let nchw = time("NCHW", &net, cores);
    net.channels_last_on_cpu = true;
    let last = time("channels-last (training's)", &net, cores);
    let one = time("channels-last, 1 thread", &net, 1);
    println!("K = {k}, {steps} step(s) each, {cores} core(s); speed relative to NCHW:");
    println!("  channels-last            {:.2}x", nchw / last);
    println!("  channels-last, 1 thread  {:.2}x", nchw / one);
}
