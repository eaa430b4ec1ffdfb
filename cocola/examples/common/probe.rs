//! What the probe examples share: the sensitivity test's draws scored by a
//! model-free encoder (one that embeds a window as some reading of its
//! features), both channels, printed beside the test's own floor.

use std::path::Path;

use cocola::contract::EMBEDDING_DIM;
use cocola::eval::cache::EmbeddingCache;
use cocola::eval::embed::Encoder;
use cocola::eval::sensitivity::{evaluate_sensitivity, SensitivityOptions, SensitivityReport};
use cocola::eval::NoProgress;
use cocola::mode::Mode;
use cocola::model::Embeddings;

/// Embeds each of `rows` windows (`features` holds them one after the
/// other) as the unit-length vector `reading` makes of it, zero-padded to
/// the embedding's size, with W the identity: a score is then the two
/// readings' cosine.
pub fn embed_readings(features: &[f32], rows: usize, mut reading: impl FnMut(&[f32]) -> Vec<f64>) -> Embeddings {
    let row_len = features.len() / rows.max(1);
    let mut embedding = vec![0.0f32; rows * EMBEDDING_DIM];
    for (row, out) in features
        .chunks_exact(row_len)
        .zip(embedding.chunks_exact_mut(EMBEDDING_DIM))
    {
        let v = reading(row);
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-30);
        for (o, x) in out.iter_mut().zip(v) {
            *o = (x / norm) as f32;
        }
    }
    Embeddings {
        w_embedding: embedding.clone(),
        embedding,
        batch: rows,
    }
}

/// Runs the sensitivity test on `root` with `encoder` (the same draws as
/// `cocola eval --stems ROOT --sensitivity --anchors ANCHORS --seed 0`, both
/// channels), prints its win rates as `label` under a header that ends
/// with `description`, then the floor's, and returns the report. Exits
/// with the error if the test cannot run.
pub fn run_probe(
    encoder: &mut impl Encoder,
    root: &Path,
    anchors: usize,
    label: &str,
    description: &str,
) -> SensitivityReport {
    let options = SensitivityOptions {
        anchors,
        modes: vec![Mode::Both],
        ..SensitivityOptions::default()
    };
    let report = match evaluate_sensitivity(encoder, &EmbeddingCache::disabled(), root, &options, &NoProgress) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "{}: {} anchors, seed {}; {description}",
        root.display(),
        report.anchors.len(),
        report.seed
    );
    let rows = report.model.iter().flat_map(|m| &m.kinds).map(|k| (label, k));
    let width = label.len().max("floor".len());
    for (who, k) in rows.chain(report.floor.iter().map(|f| ("floor", &f.result))) {
        println!(
            "{who:<width$} {:<11} {:5.1} % [{:.1}, {:.1}]",
            k.kind.name(),
            100.0 * k.win.rate,
            100.0 * k.win.ci95.low,
            100.0 * k.win.ci95.high
        );
    }
    report
}
