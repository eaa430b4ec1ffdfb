//! Does a pitch model hear a pure transposition? In the pitch input's
//! semitone bands, transposing by k semitones moves channel 0 up or down by
//! k rows. This probe takes the windows of a twins comparison set
//! (`tools/eval/frontend_key.py --write-set DIR`), moves each stem's
//! harmonic channel by ±1..6 rows (the rows moved in read the channel's
//! quietest value, `transpose_semitone_bands`)
//! and asks the model whether the rest of the track scores the stem above
//! its moved copy, beside how far the move changes the stem's embedding
//! (cosine) against how far the rest's embedding is from the stem's.
//!
//! ```text
//! cargo run --release -p cocola --example shift_probe -- MODEL.onnx SET_DIR [WINDOWS] [--harmonic]
//! ```
//!
//! `--harmonic` zeroes the percussive channel first (the harmonic mode's
//! mask). A model that reads key gives win rates well above 50 % and
//! cosines clearly below 1.

use std::path::{Path, PathBuf};

use cocola::contract::{InputKind, CHANNEL_LEN};
use cocola::features::{transpose_semitone_bands, Extractor};
use cocola::model::{score, Embeddings, LoadOptions, Model};

const MAX_SHIFT: usize = 6;

/// `features` transposed by `k` semitone rows (negative: down).
fn moved(features: &[f32], k: i32) -> Vec<f32> {
    let mut out = features.to_vec();
    transpose_semitone_bands(&mut out, k);
    out
}

fn cosine(e: &Embeddings, a: usize, b: usize) -> f64 {
    let (a, b) = (e.embedding(a), e.embedding(b));
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    f64::from(dot / (norm(a) * norm(b)))
}

fn main() {
    let harmonic_only = std::env::args().any(|a| a == "--harmonic");
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let (Some(model_path), Some(dir)) = (args.first(), args.get(1).map(PathBuf::from)) else {
        eprintln!("usage: shift_probe MODEL.onnx SET_DIR [WINDOWS] [--harmonic]");
        std::process::exit(2);
    };
    let windows: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(120);
    let mut model = Model::load(Path::new(model_path), &LoadOptions::default()).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1)
    });
    if model.input() != InputKind::Pitch {
        eprintln!(
            "error: {model_path} takes the {} input; this probe needs a pitch model",
            model.input()
        );
        std::process::exit(1);
    }
    let mut extractor = Extractor::new(InputKind::Pitch);
    let mut features = |role: &str, g: usize| {
        let samples = cocola::audio::load_mono_16k(&dir.join(format!("w{g:05}-{role}.wav"))).ok()?;
        let mut f = extractor.extract(&samples);
        if harmonic_only {
            f[CHANNEL_LEN..].fill(0.0);
        }
        Some(f)
    };
    let (mut wins, mut cosines, mut rest_cosine, mut count) = ([0.0f64; MAX_SHIFT], [0.0f64; MAX_SHIFT], 0.0, 0);
    for g in 0..windows {
        let (Some(rest), Some(stem)) = (features("rest", g), features("stem", g)) else {
            break;
        };
        // Alternate the direction: half the windows move up, half down.
        let sign = if g % 2 == 0 { 1 } else { -1 };
        let mut batch = [rest, stem.clone()].concat();
        for k in 1..=MAX_SHIFT as i32 {
            let mut m = moved(&stem, sign * k);
            if harmonic_only {
                m[CHANNEL_LEN..].fill(0.0);
            }
            batch.extend(m);
        }
        let e = model.embed(&batch, 2 + MAX_SHIFT).expect("the model runs");
        let true_score = score(&e, 0, 1);
        for k in 0..MAX_SHIFT {
            let moved_score = score(&e, 0, 2 + k);
            wins[k] += match true_score.total_cmp(&moved_score) {
                std::cmp::Ordering::Greater => 1.0,
                std::cmp::Ordering::Equal => 0.5,
                std::cmp::Ordering::Less => 0.0,
            };
            cosines[k] += cosine(&e, 1, 2 + k);
        }
        rest_cosine += cosine(&e, 0, 1);
        count += 1;
    }
    if count == 0 {
        eprintln!("error: no wNNNNN-rest.wav / wNNNNN-stem.wav pairs in {}", dir.display());
        std::process::exit(1);
    }
    let n = count as f64;
    let mode = if harmonic_only { "harmonic" } else { "both" };
    println!("{}: {count} windows, mode {mode}", dir.display());
    println!("rest vs stem: mean embedding cosine {:.4}", rest_cosine / n);
    for k in 0..MAX_SHIFT {
        println!(
            "moved {} row(s): stem over its moved copy {:5.1} %, mean embedding cosine {:.4}",
            k + 1,
            100.0 * wins[k] / n,
            cosines[k] / n
        );
    }
}
