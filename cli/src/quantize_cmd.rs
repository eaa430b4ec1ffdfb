//! `cocola quantize --calibrate-on DIR --out M-int8.onnx`: an INT8 copy of a
//! model (see `cocola::model::quantize`), with how far its embeddings moved
//! and how much faster it runs, measured on the calibration windows.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use cocola::contract::{InputKind, WINDOW_SAMPLES};
use cocola::eval::tracks::{discover_tracks, TrackAudio};
use cocola::features::Extractor;
use cocola::model::quantize::quantize;
use cocola::model::{LoadOptions, Model};

use crate::ModelArgs;

#[derive(Args)]
#[command(
    long_about = "Writes an INT8 copy of a COCOLA model: the EfficientNet backbone's convolutions \
run on 8-bit integers (weights per output channel, activations per tensor), which ONNX Runtime \
computes faster on most CPUs. The scores change a little: measure the copy with `cocola eval` \
(accuracy @K, --sensitivity) on your own data before relying on it, and compare raw scores only \
within one model.\n\nThe activations' ranges are measured on real music: 5 s windows from the \
middle of tracks of stems in DIR (DIR/<track>/<stem>.<ext>, as `cocola eval --stems` reads \
them): the full mix and each stem alone, in each mode the model scores. The copy keeps the \
original's metadata and calibration and records how it was quantized.",
    after_help = "Example:\n  cocola quantize --calibrate-on stems/validation --out cocola-int8.onnx\n  \
cocola eval --stems stems/test --model cocola-int8.onnx --sensitivity"
)]
pub struct QuantizeArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Tracks of stems to measure the activations on (DIR/<track>/<stem>.<ext>).
    #[arg(long, value_name = "DIR")]
    pub calibrate_on: PathBuf,
    /// The INT8 model file to write.
    #[arg(long, short = 'o', value_name = "M.onnx")]
    pub out: PathBuf,
    /// How many tracks of DIR to take windows from (spread evenly over its listing).
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub tracks: u64,
}

pub fn run(args: QuantizeArgs) -> anyhow::Result<ExitCode> {
    let source = args.model.source()?;
    let bytes = source
        .bytes()
        .with_context(|| format!("cannot read model {}", source.describe()))?;
    let options = LoadOptions {
        ort_library: args.model.ort_lib.clone(),
        ..LoadOptions::default()
    };
    let mut float = source
        .load(&options)
        .with_context(|| format!("cannot use model {}", source.describe()))?;
    let input = float.input();
    let (features, rows) = calibration_rows(&args, input)?;
    eprintln!(
        "measuring activation ranges on {rows} windows from {}",
        args.calibrate_on.display()
    );
    let (int8_bytes, meta) = quantize(&bytes, &source.describe(), &features, rows, &options)
        .with_context(|| format!("cannot quantize {}", source.describe()))?;
    let mut int8 = Model::from_bytes(&int8_bytes, &options).context("the INT8 model does not load")?;
    cocola::atomic_file::write_bytes(&args.out, &int8_bytes)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let agreement = compare(&mut float, &mut int8, &features, rows)?;
    println!(
        "wrote {} ({} {}, INT8): {:.1} MB, float32 {:.1} MB",
        args.out.display(),
        meta.name,
        meta.version,
        int8_bytes.len() as f64 / 1e6,
        bytes.len() as f64 / 1e6
    );
    println!(
        "on the {rows} calibration windows: embedding cosine to float32 mean {:.4}, min {:.4}; \
         {:.2} ms per window against {:.2} ms ({:.2}x), one thread",
        agreement.mean_cosine,
        agreement.min_cosine,
        agreement.int8_ms,
        agreement.float_ms,
        agreement.speedup()
    );
    Ok(ExitCode::SUCCESS)
}

/// Feature rows of windows from the middle of `--tracks` tracks: the mix and
/// each stem alone, in every mode of the input kind.
fn calibration_rows(args: &QuantizeArgs, input: InputKind) -> anyhow::Result<(Vec<f32>, usize)> {
    let listing = discover_tracks(&args.calibrate_on)?;
    let n = listing.tracks.len();
    let take = (args.tracks as usize).min(n);
    let mut extractor = Extractor::new(input);
    let mut features = Vec::new();
    let mut rows = 0;
    for i in 0..take {
        let spec = &listing.tracks[i * n / take];
        let track = match TrackAudio::decode(spec) {
            Ok((track, _)) => track,
            Err(e) => {
                eprintln!("warning: track {} left out of the calibration: {e}", spec.name);
                continue;
            }
        };
        let start = track.len().saturating_sub(WINDOW_SAMPLES) / 2;
        let all: Vec<usize> = (0..track.stems.len()).collect();
        let windows = std::iter::once(track.submix_window(start, &all))
            .chain(all.iter().map(|&s| track.submix_window(start, &[s])));
        for window in windows {
            let row = extractor.extract(&window);
            for mode in input.modes() {
                let mut masked = row.clone();
                mode.apply_mask(&mut masked);
                features.extend_from_slice(&masked);
                rows += 1;
            }
        }
    }
    anyhow::ensure!(
        rows > 0,
        "cannot calibrate: no track of {} could be read",
        args.calibrate_on.display()
    );
    Ok((features, rows))
}

/// How the INT8 model's embeddings and speed compare with the float's.
struct Agreement {
    mean_cosine: f64,
    min_cosine: f64,
    float_ms: f64,
    int8_ms: f64,
}

impl Agreement {
    fn speedup(&self) -> f64 {
        self.float_ms / self.int8_ms
    }
}

/// Embeds the rows with both models, a few at a time, timing each.
fn compare(float: &mut Model, int8: &mut Model, features: &[f32], rows: usize) -> anyhow::Result<Agreement> {
    const BATCH: usize = 6;
    let row = features.len() / rows;
    let (mut float_s, mut int8_s) = (0.0, 0.0);
    let mut cosines = Vec::with_capacity(rows);
    for start in (0..rows).step_by(BATCH) {
        let n = BATCH.min(rows - start);
        let batch = &features[start * row..(start + n) * row];
        let t = Instant::now();
        let a = float.embed(batch, n)?;
        float_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let b = int8.embed(batch, n)?;
        int8_s += t.elapsed().as_secs_f64();
        for r in 0..n {
            let (x, y) = (a.embedding(r), b.embedding(r));
            let dot: f64 = x.iter().zip(y).map(|(p, q)| *p as f64 * *q as f64).sum();
            let norm = |v: &[f32]| v.iter().map(|p| (*p as f64).powi(2)).sum::<f64>().sqrt();
            cosines.push(dot / (norm(x) * norm(y)).max(1e-12));
        }
    }
    Ok(Agreement {
        mean_cosine: cosines.iter().sum::<f64>() / cosines.len() as f64,
        min_cosine: cosines.iter().copied().fold(f64::INFINITY, f64::min),
        float_ms: 1e3 * float_s / rows as f64,
        int8_ms: 1e3 * int8_s / rows as f64,
    })
}
