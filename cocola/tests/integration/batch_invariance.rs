//! A window's embedding does not depend on what it is batched with, nor on
//! the number of ONNX Runtime threads: bit for bit.
//!
//! Sharded evaluations rely on it (`cocola eval --shard I/N` + `cocola
//! merge` must give the unsharded run's numbers exactly): a shard embeds only
//! its own tracks' windows, so every window meets other neighbours in the
//! encoder's batches than in a single run, and shards may run on machines
//! with other core counts.

use cocola::contract::{InputKind, FEATURE_LEN};
use cocola::model::arch::{Architecture, Pooling};
use cocola::model::testing::{random_features, random_weights, random_weights_for, test_metadata};
use cocola::model::{write_model, Embeddings, LoadOptions, Model};

fn load(bytes: &[u8], threads: usize) -> Model {
    let options = LoadOptions {
        intra_op_threads: threads,
        ..LoadOptions::default()
    };
    Model::from_bytes(bytes, &options).expect("load the model (run `cargo xtask setup`)")
}

fn rows(e: &Embeddings, row: usize) -> (Vec<u32>, Vec<u32>) {
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect();
    (bits(e.embedding(row)), bits(e.w_embedding(row)))
}

fn check(bytes: &[u8]) {
    let features: Vec<Vec<f32>> = (0..8).map(|i| random_features("batch", i)).collect();
    let batch = |idx: &[usize]| -> Vec<f32> { idx.iter().flat_map(|&i| features[i].iter().copied()).collect() };
    let mut single = load(bytes, 1);
    let alone: Vec<_> = (0..8)
        .map(|i| rows(&single.embed(&features[i], 1).unwrap(), 0))
        .collect();
    for threads in [1, 2] {
        let mut model = load(bytes, threads);
        // All eight at once, in reverse, and an odd-sized group with repeats.
        for order in [
            vec![0, 1, 2, 3, 4, 5, 6, 7],
            vec![7, 6, 5, 4, 3, 2, 1, 0],
            vec![3, 0, 3, 5, 1],
        ] {
            let e = model.embed(&batch(&order), order.len()).unwrap();
            assert_eq!(e.batch * FEATURE_LEN, batch(&order).len());
            for (row, &i) in order.iter().enumerate() {
                assert!(
                    rows(&e, row) == alone[i],
                    "window {i} in batch {order:?} on {threads} thread(s) differs from window {i} alone"
                );
            }
        }
    }
}

#[test]
fn embeddings_do_not_depend_on_batch_or_threads() {
    check(&write_model(&random_weights(7), &test_metadata()).unwrap());
    // Every pooling of the pitch input: the profiles read the input itself.
    for pooling in [
        Pooling::TimePitchClass,
        Pooling::TimePitchClassOnset,
        Pooling::TimePitchClassOnsetHarmony,
    ] {
        let mut meta = test_metadata();
        (meta.input, meta.pooling) = (InputKind::Pitch, pooling);
        let weights = random_weights_for(&Architecture::new(InputKind::Pitch, pooling), 8);
        eprintln!("checking a random {pooling} model");
        check(&write_model(&weights, &meta).unwrap());
    }
    if let Some(default) = cocola::default_model::embedded() {
        check(default);
    }
}
