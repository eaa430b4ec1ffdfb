//! One encoder run as the plugin and the CLI do it: condition + stem in all
//! three modes (batch 6) on one intra-op thread, and a single row; the same
//! batch through the model's INT8 copy (`cocola quantize`), for the ratio;
//! the plugin's key check against its plain update (the shipped model).
//!
//! Random test weights: the cost depends only on the architecture (and, for
//! the INT8 copy, on which operators are quantized, not on the ranges).
//! `cargo bench -p cocola --bench encoder`

use std::hint::black_box;
use std::time::Duration;

use cocola::model::quantize::quantize;
use cocola::model::{testing, write_model, LoadOptions, Model};
use cocola::score::alternatives::{windows_span_samples, AlternativeOptions};
use criterion::{criterion_group, criterion_main, Criterion};

fn encoder(c: &mut Criterion) {
    let bytes = write_model(&testing::random_weights(1), &testing::test_metadata()).expect("write the test model");
    let mut model = Model::from_bytes(&bytes, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let batch6: Vec<f32> = (0..6)
        .flat_map(|i| testing::random_features(&format!("bench.{i}"), 1))
        .collect();
    let one = &batch6[..cocola::contract::FEATURE_LEN];

    let mut group = c.benchmark_group("encoder");
    group.sample_size(20).measurement_time(Duration::from_secs(10));
    group.bench_function("embed batch 6 (condition+stem x 3 modes), 1 thread", |b| {
        b.iter(|| model.embed(black_box(&batch6), 6).unwrap())
    });
    group.bench_function("embed batch 1, 1 thread", |b| {
        b.iter(|| model.embed(black_box(one), 1).unwrap())
    });
    let (int8_bytes, _) = quantize(&bytes, "the test model", &batch6, 6, &LoadOptions::default()).expect("quantize");
    let mut int8 = Model::from_bytes(&int8_bytes, &LoadOptions::default()).expect("the INT8 copy loads");
    group.bench_function("embed batch 6, INT8 copy, 1 thread", |b| {
        b.iter(|| int8.embed(black_box(&batch6), 6).unwrap())
    });
    group.finish();

    // The plugin's and the CLI's unit of work: features of a 5 s condition and
    // a 5 s stem, then one batch-6 encoder run and the three scores, all on
    // one thread (a one-thread rayon pool for the two feature extractions).
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
    let scorer_model = Model::from_bytes(&bytes, &LoadOptions::default()).expect("model");
    let mut scorer = cocola::score::Scorer::new(scorer_model);
    let tone = |f: f32| -> Vec<f32> {
        (0..cocola::contract::WINDOW_SAMPLES)
            .map(|i| (i as f32 * f).sin() * 0.3)
            .collect()
    };
    let (condition, stem) = (tone(0.07), tone(0.11));
    c.bench_function("update/features x2 + encoder batch 6 + 3 scores, 1 thread", |b| {
        b.iter(|| pool.install(|| scorer.score_window(black_box(&condition), black_box(&stem)).unwrap()))
    });

    // The plugin's key and timing check (every 5 s of audio): the stem as it
    // is, transposed +-1..6 semitones and moved +-1..4 eighths of the beat
    // against one condition, on the most the plugin reads (its six windows,
    // 30 s, and the moves' reach either side: the beat is measured on all
    // of it), beside the plain update, both with the
    // shipped model (transpositions need its pitch input; the test model
    // reads HPS).
    if let Some(shipped) = cocola::default_model::embedded() {
        let mut scorer =
            cocola::score::Scorer::new(Model::from_bytes(shipped, &LoadOptions::default()).expect("model"));
        c.bench_function("update/shipped model, plain, 1 thread", |b| {
            b.iter(|| pool.install(|| scorer.score_window(black_box(&condition), black_box(&stem)).unwrap()))
        });
        let options = AlternativeOptions::default();
        let len = windows_span_samples(6, &options);
        let excerpt = |f: f32| -> Vec<f32> { (0..len).map(|i| (i as f32 * f).sin() * 0.3).collect() };
        let (condition, stem) = (excerpt(0.07), excerpt(0.11));
        c.bench_function(
            "update/shipped model, key and timing check (as is + 12 transpositions + 8 moves), 1 thread",
            |b| {
                b.iter(|| {
                    pool.install(|| {
                        (scorer.score_newest_window_alternatives(
                            black_box(&condition),
                            black_box(&stem),
                            -60.0,
                            &options,
                        ))
                        .unwrap()
                    })
                })
            },
        );
    }

    c.bench_function("encoder/load model from memory", |b| {
        b.iter(|| Model::from_bytes(black_box(&bytes), &LoadOptions::default()).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = encoder
}
criterion_main!(benches);
