//! Data-pipeline throughput: windows/s (sampling, sub-mixing, noise, features,
//! masks) on one thread, and batches/s with N feature workers.
//!
//! `cargo run -p cocola-trainer --example pipeline_bench [-- WORKERS]`
//! (the dev profile is optimised; see the workspace Cargo.toml).

use std::sync::Arc;
use std::time::Instant;

use cocola_trainer::data::pipeline::{Pipeline, Source};
use cocola_trainer::data::sampler::{Pools, SamplerConfig, Stream};
use cocola_trainer::data::store::MemoryStore;

fn main() {
    let workers: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2);
    // 16 tracks of 4 stems, 60 s each: tones and noise bursts.
    let tracks = (0..16)
        .map(|t| {
            (0..4)
                .map(|s| {
                    let f = 55.0 * (1 + t + s) as f32;
                    (0..60 * 16_000)
                        .map(|i| {
                            0.1 * (i as f32 * f * std::f32::consts::TAU / 16_000.0).sin() * (((i / 4000) % 2) as f32)
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let k = 32;
    let source = Source {
        input: cocola::contract::InputKind::Hps,
        store: Arc::new(MemoryStore { tracks }),
        pools: Pools::new(vec![(1.0, (0..16).collect())]).unwrap(),
        config: SamplerConfig::paper(k),
        seed: 0,
        stream: Stream::Train,
        features: None,
    };
    let mut ex = source.extractor();
    let _ = source.batch(0, &mut ex).unwrap();
    let n = 3;
    let t = Instant::now();
    for b in 1..=n {
        source.batch(b, &mut ex).unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "one thread: {:.1} windows/s ({:.2} s per batch of K = {k} pairs)",
        (n as f64 * 2.0 * k as f64) / secs,
        secs / n as f64
    );
    let mut p = Pipeline::start(source, 0, workers, 2 * workers);
    p.next_batch().unwrap();
    let t = Instant::now();
    let m = 2 * workers as u64;
    for _ in 0..m {
        p.next_batch().unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{workers} workers: {:.2} batches/s, {:.1} windows/s",
        m as f64 / secs,
        m as f64 * 2.0 * k as f64 / secs
    );
}
