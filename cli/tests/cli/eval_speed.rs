//! Speed of `cocola eval` on a synthetic set (ignored by default: it is a
//! measurement, not a check). Run it in release mode:
//!
//! ```text
//! cargo test -p cocola-cli --release --test cli eval_speed -- --ignored --nocapture
//! ```
//!
//! It prints the real-time factor of a pair set (audio seconds scored per
//! second of wall time) on 2 threads, and the accuracy@K run time without
//! and with the embedding cache.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::support::{test_model, voice, write_wav};

const THREADS: &str = "2";

fn cocola(args: &[&str], extra: &[&Path]) -> (f64, serde_json::Value) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_cocola"))
        .args(args)
        .args(extra)
        .output()
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (seconds, serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
#[ignore = "measurement; run with --release -- --ignored --nocapture"]
fn real_time_factor_of_eval() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = test_model(dir.path());
    // Ten 30 s "instruments"; 40 pairs of them (20 min of audio per side).
    let audio = dir.path().join("audio");
    for i in 0..10u32 {
        let freq = 110.0 * (1 + i % 5) as f32 * (1.0 + 0.03 * i as f32);
        write_wav(
            &audio.join(format!("v{i}.wav")),
            &voice(30.0, freq, 0.25 + 0.05 * (i % 4) as f32, i),
            16_000,
            1,
        );
    }
    let mut csv = String::from("id,condition,stem\n");
    for p in 0..40u32 {
        let c = p % 10;
        let s = if (p * 3 + 1) % 10 == c {
            (c + 1) % 10
        } else {
            (p * 3 + 1) % 10
        };
        csv += &format!("p{p},audio/v{c}.wav,audio/v{s}.wav\n");
    }
    let pairs = dir.path().join("pairs.csv");
    std::fs::write(&pairs, csv).unwrap();

    let (wall, json) = cocola(&["eval", "--json", "-j", THREADS, "--model"], &[&model, &pairs]);
    let audio_seconds = json["audio_seconds"].as_f64().unwrap();
    println!(
        "pairs: {audio_seconds:.0} s of audio (40 pairs x 30 s) in {wall:.2} s wall ({:.2} s in eval) = {:.0}x real time \
         on {THREADS} threads",
        json["seconds"].as_f64().unwrap(),
        audio_seconds / wall
    );

    // Accuracy@K on 8 tracks of 4 stems (30 s each), cold and cached.
    let stems = dir.path().join("stems");
    for t in 0..8u32 {
        for k in 0..4u32 {
            let i = (t + 3 * k) % 10;
            std::fs::create_dir_all(stems.join(format!("t{t}"))).unwrap();
            std::fs::copy(audio.join(format!("v{i}.wav")), stems.join(format!("t{t}/s{k}.wav"))).unwrap();
        }
    }
    let cache = dir.path().join("cache");
    let args = [
        "eval",
        "--json",
        "-j",
        THREADS,
        "--k",
        "2,8,16",
        "--anchors",
        "128",
        "--model",
    ];
    let cold_args = [
        &model as &Path,
        Path::new("--stems"),
        &stems,
        Path::new("--cache-dir"),
        &cache,
    ];
    let (cold, first) = cocola(&args, &cold_args);
    let (warm, second) = cocola(&args, &cold_args);
    assert_eq!(first["results"], second["results"]);
    let windows = first["windows"].as_u64().unwrap();
    println!(
        "stems: {windows} sub-mix windows ({:.0} s of audio, 3 modes) cold {cold:.2} s = {:.0}x real time; \
         cached re-run {warm:.2} s ({:.1}x faster, {} cache hits)",
        windows as f64 * 5.0,
        windows as f64 * 5.0 / cold,
        cold / warm,
        second["cache"]["hits"]
    );
}

/// Where the time of one scored window goes: features vs encoder rows.
#[test]
#[ignore = "measurement; run with --release -- --ignored --nocapture"]
fn cost_of_features_and_encoder_rows() {
    use cocola::contract::FEATURE_LEN;
    use cocola::features::FeatureExtractor;
    use cocola::model::{LoadOptions, Model};

    let dir = tempfile::tempdir().unwrap();
    let (path, _) = test_model(dir.path());
    let signal = voice(5.0, 220.0, 0.25, 1);
    let mut extractor = FeatureExtractor::new();
    let mut features = vec![0.0f32; FEATURE_LEN];
    extractor.extract_into(&signal, &mut features);
    let n = 20;
    let started = Instant::now();
    for _ in 0..n {
        extractor.extract_into(&signal, &mut features);
    }
    let per_feature = started.elapsed().as_secs_f64() / n as f64;
    println!("features: {:.1} ms per 5 s window (1 thread)", 1e3 * per_feature);
    for threads in [1, 2] {
        let mut model = Model::load(
            &path,
            &LoadOptions {
                intra_op_threads: threads,
                ..LoadOptions::default()
            },
        )
        .unwrap();
        for rows in [1, 3, 6, 12, 32] {
            let batch: Vec<f32> = features.iter().copied().cycle().take(rows * FEATURE_LEN).collect();
            model.embed(&batch, rows).unwrap();
            let started = Instant::now();
            let runs = 4;
            for _ in 0..runs {
                model.embed(&batch, rows).unwrap();
            }
            let per_row = started.elapsed().as_secs_f64() / (runs * rows) as f64;
            println!(
                "encoder: {:.2} ms per row, {rows} rows per call, {threads} intra-op thread(s)",
                1e3 * per_row
            );
        }
    }
}
