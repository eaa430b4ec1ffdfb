//! Feature extraction speed: one 5 s clip, one thread.
//!
//! `cargo bench -p cocola --bench features -- --warm-up-time 1 --measurement-time 3`
//!
//! Besides criterion's report, prints the pitch input's extractor against
//! the HPS one (`pitch input: X ms ..., ratio Y x hps`, both timed here),
//! and times the librosa reference on the same machine in the same session
//! when the golden venv exists (`.venv-features`, see
//! tools/golden/make_feature_fixtures.py), and prints `librosa: X ms,
//! cocola: Y ms, ratio Z x`. Without the venv it says so and
//! skips that part.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cocola::contract::{FEATURE_LEN, WINDOW_SAMPLES};
use cocola::features::{FeatureExtractor, PitchExtractor};
use criterion::Criterion;
use std::hint::black_box;

/// A music-like clip: the golden "mix" fixture when present, else a
/// synthetic chord-plus-clicks signal of the same length.
fn clip() -> Vec<f32> {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/features/mix.input.npy");
    if let Ok((_, data)) = cocola::npy::read_f32(&fixture) {
        return data;
    }
    let mut state = 1u32;
    (0..WINDOW_SAMPLES)
        .map(|i| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let t = i as f32 / 16_000.0;
            let chord: f32 = [220.0f32, 277.2, 329.6]
                .iter()
                .map(|f| (std::f32::consts::TAU * f * t).sin())
                .sum();
            let hit = if i % 8000 < 800 {
                ((state >> 8) as f32 / 16_777_216.0 - 0.5) * (1.0 - (i % 8000) as f32 / 800.0)
            } else {
                0.0
            };
            0.2 * chord + hit
        })
        .collect()
}

/// Median milliseconds of `extract(clip)` over at least 20 runs and 1 s.
fn ms_per_clip(mut extract: impl FnMut(&[f32]), clip: &[f32]) -> f64 {
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 20 || start.elapsed() < Duration::from_secs(1) {
        let t0 = Instant::now();
        extract(black_box(clip));
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn librosa_ms_per_clip() -> Result<f64, String> {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv-features/bin/python");
    let script = root.join("tools/golden/make_feature_fixtures.py");
    if !python.exists() {
        return Err(format!(
            "no golden venv at {} (see tools/golden/make_feature_fixtures.py)",
            python.display()
        ));
    }
    let output = Command::new(&python)
        .arg(&script)
        .args(["--time", "10"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !output.status.success() {
        return Err(format!(
            "librosa timing failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("librosa_ms_per_clip "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("unexpected output from the timing script: {stdout}"))
}

fn main() {
    let clip = clip();
    let mut extractor = FeatureExtractor::new();
    let mut out = vec![0.0f32; FEATURE_LEN];

    let mut criterion = Criterion::default().configure_from_args();
    let mut pitch = PitchExtractor::new();
    criterion.bench_function("features/extract_into 5 s clip", |b| {
        b.iter(|| extractor.extract_into(black_box(&clip), &mut out))
    });
    criterion.bench_function("features/pitch extract_into 5 s clip", |b| {
        b.iter(|| pitch.extract_into(black_box(&clip), &mut out))
    });
    criterion.final_summary();

    // `cargo test --benches` runs this binary once in test mode; skip the comparison there.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let cocola = ms_per_clip(|c| extractor.extract_into(c, &mut out), &clip);
    let pitch_ms = ms_per_clip(|c| pitch.extract_into(c, &mut out), &clip);
    println!(
        "hps input: {cocola:.2} ms, pitch input: {pitch_ms:.2} ms per 5 s clip, ratio {:.2} x hps",
        pitch_ms / cocola
    );
    match librosa_ms_per_clip() {
        Ok(librosa) => println!(
            "librosa: {librosa:.1} ms, cocola: {cocola:.2} ms, ratio {:.0} x",
            librosa / cocola
        ),
        Err(why) => {
            println!("cocola: {cocola:.2} ms per 5 s clip; librosa reference skipped: {why}")
        }
    }
}
