//! Accuracy@K with windowed decoding gives the numbers of the whole-file
//! path (`cocola::eval::submix::whole_file`) on 44.1 kHz stereo stems in
//! WAV, FLAC, MP3 and Ogg/Vorbis, and a warm re-run reads no audio: it
//! trusts what the cache recorded about unchanged files (size, time,
//! sampled blocks) unless asked to verify them in full.

use std::path::Path;

use crate::support::{sha256_hex, test_model, write_wav, Counting, Noise};
use cocola::eval::cache::EmbeddingCache;
use cocola::eval::submix::whole_file::evaluate_whole_files;
use cocola::eval::submix::{evaluate_submixes, ModeAccuracy, SubmixOptions, SubmixReport};
use cocola::eval::NoProgress;

const RATE: u32 = 44_100;

/// A 44.1 kHz stereo 16-bit stem: a tone with a harmonic, clicks on a beat
/// and seeded noise, different on the two channels.
fn write_stem(path: &Path, seconds: f64, freq: f64, beat: f64, seed: u64) {
    let mut noise = Noise::new(seed);
    let interleaved: Vec<f32> = (0..(seconds * f64::from(RATE)) as usize)
        .flat_map(|i| {
            let t = i as f64 / f64::from(RATE);
            let n = noise.next();
            let tone = 0.2 * (2.0 * std::f64::consts::PI * freq * t).sin()
                + 0.05 * (4.0 * std::f64::consts::PI * freq * t).sin();
            let phase = (t % beat) / beat;
            let click = if phase < 0.02 {
                0.3 * (1.0 - phase / 0.02) * n
            } else {
                0.0
            };
            [
                (tone + click + 0.01 * n) as f32,
                (0.7 * tone - click + 0.005 * n) as f32,
            ]
        })
        .collect();
    write_wav(path, &interleaved, RATE, 2);
}

fn build_set(root: &Path) {
    for t in 0..4u64 {
        for (s, name) in ["bass", "drums", "keys"].iter().enumerate() {
            let freq = 110.0 * (1 + s) as f64 + 7.0 * t as f64;
            let seconds = if t == 3 && s == 2 { 13.0 } else { 14.0 };
            write_stem(
                &root.join(format!("track{t}/{name}.wav")),
                seconds,
                freq,
                0.3 + 0.1 * s as f64,
                t * 10 + s as u64,
            );
        }
    }
    // Compressed stems (committed fixtures, 44.1 kHz stereo): 4 s of FLAC
    // trims the track to 4 s, one window.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio");
    let compressed = root.join("compressed");
    std::fs::create_dir_all(&compressed).unwrap();
    for name in ["music.mp3", "music.ogg"] {
        std::fs::copy(fixtures.join(name), compressed.join(name)).unwrap();
    }
    let lossless = root.join("lossless");
    std::fs::create_dir_all(&lossless).unwrap();
    std::fs::copy(fixtures.join("music.flac"), lossless.join("music.flac")).unwrap();
    std::fs::copy(fixtures.join("music.mp3"), lossless.join("other.mp3")).unwrap();
}

fn options() -> SubmixOptions {
    SubmixOptions {
        ks: vec![2, 4],
        batches: Some(3),
        seed: 5,
        ..SubmixOptions::default()
    }
}

/// Same accuracies, and coherent/random score distributions within 1e-4.
fn assert_same(windowed: &[ModeAccuracy], whole: &[ModeAccuracy]) {
    assert_eq!(windowed.len(), whole.len());
    for (a, b) in windowed.iter().zip(whole) {
        assert_eq!((a.mode, a.accuracy.k), (b.mode, b.accuracy.k));
        assert!(
            (a.accuracy.accuracy - b.accuracy.accuracy).abs() <= 1e-9,
            "{a:?} vs {b:?}"
        );
        for (x, y) in [(&a.coherent, &b.coherent), (&a.random, &b.random)] {
            let (x, y) = (x.as_ref().unwrap(), y.as_ref().unwrap());
            assert!((x.mean - y.mean).abs() <= 1e-4, "{x:?} vs {y:?}");
            assert!((x.std - y.std).abs() <= 1e-4, "{x:?} vs {y:?}");
        }
    }
}

fn run(encoder: &mut Counting, cache: &EmbeddingCache, root: &Path) -> SubmixReport {
    encoder.rows = 0;
    evaluate_submixes(encoder, cache, root, &options(), &NoProgress).unwrap()
}

/// A byte range of `path` that no sampled block covers (and that lies in
/// the audio data, 4-byte aligned): between the first and second of the 16
/// blocks spread over the file.
fn unsampled_range(path: &Path) -> std::ops::Range<u64> {
    let size = std::fs::metadata(path).unwrap().len();
    let block = 64 * 1024;
    let second = (size - block) / 15;
    assert!(second > 2 * block, "the file is large enough to have gaps");
    let from = (block + 4096) / 4 * 4;
    from..from + 4096
}

#[test]
fn windowed_accuracy_equals_the_whole_file_path_and_warm_runs_read_no_audio() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("set");
    build_set(&root);
    let (model_path, model) = test_model(dir.path());
    let mut encoder = Counting { model, rows: 0 };

    let whole = evaluate_whole_files(
        &mut encoder,
        &EmbeddingCache::disabled(),
        &root,
        &options(),
        &NoProgress,
    )
    .unwrap();
    let plain = run(&mut encoder, &EmbeddingCache::disabled(), &root);
    assert_same(&plain.results, &whole);
    assert_eq!(plain.tracks_used, 6);
    assert!(plain
        .warnings
        .iter()
        .any(|w| w.contains("track3") && w.contains("trimmed")));

    let cache_root = dir.path().join("cache");
    let cache = EmbeddingCache::open(&cache_root, &sha256_hex(&model_path)).unwrap();
    let cold = run(&mut encoder, &cache, &root);
    assert!(encoder.rows > 0);
    assert_same(&cold.results, &whole);
    assert!(
        cache_root.join("tracks").read_dir().unwrap().count() >= 6,
        "track indexes stored"
    );

    let cache = EmbeddingCache::open(&cache_root, &sha256_hex(&model_path)).unwrap();
    let warm = run(&mut encoder, &cache, &root);
    assert_eq!(encoder.rows, 0, "everything from the cache");
    assert_eq!(warm.results, cold.results);
    assert_eq!(warm.cache.misses, 0);

    // Change samples where no sampled block looks, keeping size and time:
    // a warm run trusts the index (the documented trade-off)...
    let stem = root.join("track1/keys.wav");
    let modified = std::fs::metadata(&stem).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&stem).unwrap();
    for b in &mut bytes[unsampled_range(&stem).start as usize..unsampled_range(&stem).end as usize] {
        *b ^= 0x55;
    }
    std::fs::write(&stem, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&stem)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    let cache = EmbeddingCache::open(&cache_root, &sha256_hex(&model_path)).unwrap();
    let trusted = run(&mut encoder, &cache, &root);
    assert_eq!(encoder.rows, 0);
    assert_eq!(trusted.results, cold.results);
    // ... and --verify notices: the track is scanned again, under a new
    // content key, so its windows are embedded again.
    let cache = EmbeddingCache::open(&cache_root, &sha256_hex(&model_path))
        .unwrap()
        .verifying(true);
    let verified = run(&mut encoder, &cache, &root);
    assert!(encoder.rows > 0, "the changed track is embedded again");
    assert!(verified.cache.hits > 0, "the other tracks still hit");

    // A stem that changes size after the scan is an error naming it, not
    // stale audio: its index no longer matches, so it is scanned again.
    std::fs::write(&stem, &bytes[..bytes.len() / 2]).unwrap();
    let cache = EmbeddingCache::open(&cache_root, &sha256_hex(&model_path)).unwrap();
    let after = run(&mut encoder, &cache, &root);
    assert!(
        after.warnings.iter().any(|w| w.contains("track1")),
        "{:?}",
        after.warnings
    );
}

/// `cocola score`'s path: two files scored a window at a time give the
/// report of the whole decoded signals, for hops that read windows through
/// (overlapping) and that seek between them, and for compressed files.
#[test]
fn scoring_files_window_by_window_equals_scoring_whole_signals() {
    use cocola::score::{PairFiles, Scorer, WindowOptions};
    let dir = tempfile::tempdir().unwrap();
    let condition = dir.path().join("condition.wav");
    let stem = dir.path().join("stem.wav");
    write_stem(&condition, 23.0, 220.0, 0.5, 1);
    write_stem(&stem, 17.5, 330.0, 0.25, 2);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio");
    let (_, model) = test_model(dir.path());
    let mut scorer = Scorer::new(model);
    for (c, s) in [
        (&condition, &stem),
        (&fixtures.join("music.mp3"), &fixtures.join("music.ogg")),
    ] {
        let files = PairFiles::open(c, s).unwrap();
        let (whole_c, whole_s) = (
            cocola::audio::load_mono_16k(c).unwrap(),
            cocola::audio::load_mono_16k(s).unwrap(),
        );
        for hop_seconds in [1.5, 8.0] {
            let options = WindowOptions {
                hop_seconds,
                ..WindowOptions::default()
            };
            let whole = scorer.score_pair(&whole_c, &whole_s, &options, |_, _| {}).unwrap();
            let windowed = scorer.score_files(&files, &options, |_, _| {}).unwrap();
            assert_eq!(windowed, whole, "{} / {}, hop {hop_seconds}", c.display(), s.display());
            assert!(whole.windows.len() > 1 || hop_seconds > 5.0);
        }
    }
    let missing = dir.path().join("missing.wav");
    assert!(PairFiles::open(&condition, &missing)
        .unwrap_err()
        .to_string()
        .contains("missing.wav"));
}
