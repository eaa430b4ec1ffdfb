//! Sub-mix classification accuracy@K end to end on synthetic tracks of
//! stems: skipped and failed tracks, reproducibility from the seed, and the
//! embedding cache (hits on a re-run, corrupt entries recomputed).

use std::path::Path;

use crate::support::{sha256_hex, test_model, voice, write_wav, Counting};
use cocola::calibration::{Calibration, ModeCalibration, ScoreDistribution};
use cocola::eval::cache::EmbeddingCache;
use cocola::eval::submix::{evaluate_submixes, SubmixOptions, SubmixReport};
use cocola::eval::NoProgress;
use cocola::mode::Mode;
use cocola::score::Measure;

fn build_tracks(root: &Path) {
    for t in 0..4u32 {
        for (s, name) in ["bass", "drums", "keys"].iter().enumerate() {
            let freq = 110.0 * (1 + s as u32) as f32 + 7.0 * t as f32;
            write_wav(
                &root.join(format!("track{t}/{name}.wav")),
                &voice(12.0, freq, 0.3 + 0.1 * s as f32, t * 10 + s as u32),
                16_000,
                1,
            );
        }
    }
    // One stem only: skipped with a warning.
    write_wav(&root.join("solo/only.wav"), &voice(12.0, 440.0, 0.5, 99), 16_000, 1);
    // Stems of different lengths: trimmed with a warning.
    write_wav(&root.join("uneven/a.wav"), &voice(12.0, 300.0, 0.5, 50), 16_000, 1);
    write_wav(&root.join("uneven/b.wav"), &voice(11.0, 450.0, 0.25, 51), 16_000, 1);
    // The full mix of a MUSDB-style track is not a stem.
    write_wav(
        &root.join("uneven/mixture.wav"),
        &voice(12.0, 100.0, 0.5, 52),
        16_000,
        1,
    );
    // A corrupt stem: the track fails, the evaluation goes on.
    write_wav(&root.join("broken/a.wav"), &voice(12.0, 300.0, 0.5, 60), 16_000, 1);
    std::fs::write(root.join("broken/b.wav"), b"RIFF....WAVEfmt garbage").unwrap();
}

fn options(seed: u64) -> SubmixOptions {
    SubmixOptions {
        ks: vec![2, 4, 64],
        batches: Some(2),
        seed,
        ..SubmixOptions::default()
    }
}

fn run(encoder: &mut Counting, cache: &EmbeddingCache, root: &Path, seed: u64) -> SubmixReport {
    encoder.rows = 0;
    evaluate_submixes(encoder, cache, root, &options(seed), &NoProgress).unwrap()
}

fn accuracies(report: &SubmixReport) -> Vec<(Measure, usize, u64)> {
    report
        .results
        .iter()
        .map(|r| (r.mode, r.accuracy.k, r.accuracy.accuracy.to_bits()))
        .collect()
}

#[test]
fn accuracy_at_k_with_cache_and_reproducibility() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("stems");
    build_tracks(&root);
    let (model_path, model) = test_model(dir.path());
    let mut encoder = Counting { model, rows: 0 };
    let cache = EmbeddingCache::open(&dir.path().join("cache"), &sha256_hex(&model_path)).unwrap();

    let first = run(&mut encoder, &cache, &root, 1);
    assert_eq!(first.tracks_found, 6);
    assert_eq!(first.tracks_used, 5);
    assert_eq!(first.failed_tracks.len(), 1);
    assert!(first.failed_tracks[0].track == "broken" && first.failed_tracks[0].error.contains("b.wav"));
    assert!(first
        .warnings
        .iter()
        .any(|w| w.contains("solo") && w.contains("1 stem")));
    assert!(first
        .warnings
        .iter()
        .any(|w| w.contains("uneven") && w.contains("trimmed")));
    // K = 64 needs more audio than 5 tracks of 12 s hold: skipped, not fatal.
    assert_eq!(first.skipped.len(), 1);
    assert_eq!(first.skipped[0].k, 64);
    // 2 batches x (2 + 4) anchors x 2 sub-mixes; 3 modes each.
    assert_eq!(first.windows, 24);
    assert_eq!(first.results.len(), 2 * 3);
    assert_eq!(encoder.rows, 24 * 3);
    assert_eq!(first.cache.hits, 0);
    for r in &first.results {
        assert!((0.0..=1.0).contains(&r.accuracy.accuracy));
        assert_eq!(r.accuracy.batches, 2);
        assert_eq!(r.accuracy.chance, 1.0 / r.accuracy.k as f64);
    }

    // Re-run: everything from the cache, bit-identical results.
    let second = run(&mut encoder, &cache, &root, 1);
    assert_eq!(encoder.rows, 0, "the encoder ran on a cached re-run");
    assert_eq!(second.cache.hits - first.cache.hits, 24 * 3);
    assert_eq!(accuracies(&second), accuracies(&first));

    // Corrupt one cache file: its windows are recomputed, the rest hit.
    let model_dir = cache.dir().unwrap();
    let mut files: Vec<_> = std::fs::read_dir(model_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "one cache file per used track: {files:?}");
    let bytes = std::fs::read(&files[0]).unwrap();
    std::fs::write(&files[0], &bytes[..bytes.len() / 2]).unwrap();
    let third = run(&mut encoder, &cache, &root, 1);
    assert!(
        encoder.rows > 0 && encoder.rows < 24 * 3,
        "recomputed {} rows",
        encoder.rows
    );
    assert_eq!(accuracies(&third), accuracies(&first));
    assert_eq!(
        std::fs::read(&files[0]).unwrap().len(),
        bytes.len(),
        "the corrupt file was rewritten"
    );

    // Without a cache the same seed gives the same numbers; another seed draws other windows.
    let uncached = run(&mut encoder, &EmbeddingCache::disabled(), &root, 1);
    assert_eq!(encoder.rows, 24 * 3);
    assert_eq!(accuracies(&uncached), accuracies(&first));
    let other_seed = run(&mut encoder, &cache, &root, 2);
    assert!(encoder.rows > 0, "a new seed draws new windows");
    assert_eq!(other_seed.windows, 24);

    // With a calibration, the combined fit's accuracy follows the modes'.
    // Only one mode informative (the others' coherent and random pairs
    // score alike: log-odds 0): the combined fit orders every batch as
    // that mode does, so it is exactly as accurate.
    let informative = |mode: Mode| {
        let dist = |mean: f32| ScoreDistribution {
            mean,
            std: 1.0,
            count: 10,
        };
        let calibrate = |m: Mode| {
            let random = if m == mode { -1.0 } else { 1.0 };
            ModeCalibration::random_only(dist(1.0), dist(random))
        };
        Calibration {
            both: calibrate(Mode::Both),
            harmonic: Some(calibrate(Mode::Harmonic)),
            percussive: Some(calibrate(Mode::Percussive)),
        }
    };
    let accuracy_of = |report: &SubmixReport, measure: Measure, k: usize| {
        let r = report.results.iter().find(|r| r.mode == measure && r.accuracy.k == k);
        r.unwrap().accuracy.accuracy
    };
    for mode in Mode::ALL {
        let options = SubmixOptions {
            calibration: Some(informative(mode)),
            ..options(1)
        };
        let report = evaluate_submixes(&mut encoder, &cache, &root, &options, &NoProgress).unwrap();
        // The modes' results, unchanged; then the combined fit's, one per K.
        let modes_only: Vec<_> = (accuracies(&report).into_iter())
            .filter(|r| r.0 != Measure::Combined)
            .collect();
        assert_eq!(modes_only, accuracies(&first));
        assert_eq!(report.results.len(), 2 * 4);
        for k in [2, 4] {
            assert_eq!(
                accuracy_of(&report, Measure::Combined, k),
                accuracy_of(&first, mode.into(), k),
                "{mode}, K = {k}"
            );
        }
    }
    // A calibration of modes not all evaluated gives no combined fit.
    let both_only = SubmixOptions {
        modes: vec![Mode::Both],
        calibration: Some(informative(Mode::Both)),
        ..options(1)
    };
    let report = evaluate_submixes(&mut encoder, &cache, &root, &both_only, &NoProgress).unwrap();
    assert!(report.results.iter().all(|r| r.mode == Measure::Mode(Mode::Both)));
}

#[test]
fn a_folder_without_usable_tracks_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("stems");
    write_wav(&root.join("quiet/a.wav"), &vec![0.0; 16_000 * 6], 16_000, 1);
    write_wav(&root.join("quiet/b.wav"), &vec![0.0; 16_000 * 6], 16_000, 1);
    let (_, model) = test_model(dir.path());
    let mut encoder = Counting { model, rows: 0 };
    let error = evaluate_submixes(
        &mut encoder,
        &EmbeddingCache::disabled(),
        &root,
        &options(0),
        &NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("no usable track"), "{error}");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let error = evaluate_submixes(
        &mut encoder,
        &EmbeddingCache::disabled(),
        &empty,
        &options(0),
        &NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("at least 2 stems"), "{error}");
}
