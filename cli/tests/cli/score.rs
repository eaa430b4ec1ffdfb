//! End-to-end tests of the `cocola` binary on real audio files: what a user
//! types, what they get back, and how it fails.
//!
//! The model is a deterministic random-weight model written with the crate's
//! own writer: its scores mean nothing musically, but every code path from
//! decoding to the rendered report is the real one; the checkpoint tests use
//! the torch-written fixtures of `tests/fixtures/checkpoint/`. Needs the ONNX
//! Runtime library (`cargo xtask setup`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use cocola::model::testing::{calibrated_test_metadata, random_weights};
use cocola::model::write_model_file;

struct Fixtures {
    _dir: tempfile::TempDir,
    model: PathBuf,
    chords_44k_stereo: PathBuf,
    drums_16k: PathBuf,
    silence: PathBuf,
    short_3s: PathBuf,
    corrupt: PathBuf,
    not_a_model: PathBuf,
}

fn write_wav(path: &Path, rate: u32, channels: u16, frames: usize, f: impl Fn(f64, u16) -> f32) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..frames {
        for c in 0..channels {
            let v = f(i as f64 / rate as f64, c).clamp(-1.0, 1.0);
            w.write_sample((v * 32767.0) as i16).unwrap();
        }
    }
    w.finalize().unwrap();
}

fn chord(t: f64) -> f32 {
    [220.0, 277.18, 329.63]
        .iter()
        .map(|f| (2.0 * std::f64::consts::PI * f * t).sin() * 0.2)
        .sum::<f64>() as f32
}

fn kick(t: f64) -> f32 {
    let beat = t % 0.5;
    ((2.0 * std::f64::consts::PI * 60.0 * beat).sin() * (-beat * 20.0).exp() * 0.8) as f32
}

fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let p = |name: &str| dir.path().join(name);
        let meta = calibrated_test_metadata();
        write_model_file(&p("model.onnx"), &random_weights(7), &meta).unwrap();
        write_wav(&p("chords.wav"), 44_100, 2, 44_100 * 8, |t, c| {
            chord(t) * if c == 0 { 1.0 } else { 0.8 }
        });
        write_wav(&p("drums.wav"), 16_000, 1, 16_000 * 8, |t, _| kick(t));
        write_wav(&p("silence.wav"), 16_000, 1, 16_000 * 6, |_, _| 0.0);
        write_wav(&p("short.wav"), 22_050, 1, 22_050 * 3, |t, _| chord(t));
        std::fs::write(p("corrupt.wav"), b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk").unwrap();
        std::fs::write(p("not_a_model.onnx"), b"definitely not protobuf \xff\xff\xff").unwrap();
        Fixtures {
            model: p("model.onnx"),
            chords_44k_stereo: p("chords.wav"),
            drums_16k: p("drums.wav"),
            silence: p("silence.wav"),
            short_3s: p("short.wav"),
            corrupt: p("corrupt.wav"),
            not_a_model: p("not_a_model.onnx"),
            _dir: dir,
        }
    })
}

fn cocola(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cocola"));
    cmd.env_remove("COCOLA_MODEL").env("OMP_WAIT_POLICY", "PASSIVE");
    for a in args {
        cmd.arg(a.as_ref());
    }
    cmd.output().expect("the cocola binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "cocola failed: {}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("stdout is one JSON document")
}

#[test]
fn score_json_has_a_timeline_and_an_aggregate_per_mode() {
    let f = fixtures();
    let out = cocola(&[
        &"score",
        &f.chords_44k_stereo,
        &f.drums_16k,
        &"--model",
        &f.model,
        &"--hop",
        &"1",
        &"--json",
        &"-j",
        &"1",
    ]);
    let doc = json(&out);
    let windows = doc["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 4, "8 s with 5 s windows every 1 s");
    for (i, w) in windows.iter().enumerate() {
        assert_eq!(w["start_seconds"].as_f64().unwrap(), i as f64);
        assert_eq!(w["outcome"]["state"], "scored");
    }
    let modes = doc["aggregate"]["modes"].as_array().unwrap();
    let names: Vec<&str> = modes.iter().map(|m| m["mode"].as_str().unwrap()).collect();
    assert_eq!(names, ["both", "harmonic", "percussive"]);
    for m in modes {
        assert!(m["raw"].as_f64().unwrap().is_finite());
        let fit = m["fit"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&fit));
        assert!(["fits", "unsure", "clashes"].contains(&m["verdict"].as_str().unwrap()));
    }
    assert_eq!(doc["model"]["name"], "cocola-test-random");

    // The aggregate is the mean of the windows' raw scores.
    let mean: f64 = windows
        .iter()
        .map(|w| w["outcome"]["modes"][0]["raw"].as_f64().unwrap())
        .sum::<f64>()
        / 4.0;
    assert!((mean - modes[0]["raw"].as_f64().unwrap()).abs() < 1e-3);

    // The combined fit: the mean of the modes' log-odds, 2 x raw under this
    // calibration (coherent 1 +- 1, random -1 +- 1, in every mode).
    let combined = &doc["aggregate"]["combined"];
    let mean_log_odds = modes.iter().map(|m| 2.0 * m["raw"].as_f64().unwrap()).sum::<f64>() / 3.0;
    assert!(
        (combined["log_odds"].as_f64().unwrap() - mean_log_odds).abs() < 1e-3,
        "{combined}"
    );
    let fit = combined["fit"].as_f64().unwrap();
    assert!(
        (fit - 100.0 / (1.0 + (-mean_log_odds).exp())).abs() < 1e-2,
        "{combined}"
    );
    assert!(["fits", "unsure", "clashes"].contains(&combined["verdict"].as_str().unwrap()));
}

#[test]
fn cli_score_equals_the_library_on_the_same_audio() {
    let f = fixtures();
    // -j 2: the CLI splits each window's rows between two sessions; the
    // library scorer below runs one. Both must give the same scores.
    let out = cocola(&[
        &"score",
        &f.short_3s,
        &f.drums_16k,
        &"--model",
        &f.model,
        &"--hop",
        &"5",
        &"--json",
        &"-j",
        &"2",
    ]);
    let doc = json(&out);
    let condition = cocola::audio::load_mono_16k(&f.short_3s).unwrap();
    let stem = cocola::audio::load_mono_16k(&f.drums_16k).unwrap();
    let model = cocola::model::Model::load(&f.model, &Default::default()).unwrap();
    let mut scorer = cocola::score::Scorer::new(model);
    let window = scorer.score_window(&condition, &stem[..80_000]).unwrap();
    for (i, m) in window.modes().iter().enumerate() {
        let cli = doc["windows"][0]["outcome"]["modes"][i]["raw"].as_f64().unwrap();
        assert!(
            (cli - m.raw as f64).abs() < 1e-4,
            "{}: cli {cli} vs library {}",
            m.mode,
            m.raw
        );
    }
}

#[test]
fn silent_side_is_reported_not_scored() {
    let f = fixtures();
    let doc = json(&cocola(&[
        &"score",
        &f.chords_44k_stereo,
        &f.silence,
        &"--model",
        &f.model,
        &"--json",
    ]));
    assert!(doc["aggregate"].is_null());
    let w = &doc["windows"][0]["outcome"];
    assert_eq!(w["state"], "silent");
    assert_eq!(w["stem"], true);
    assert_eq!(w["condition"], false);

    let text = cocola(&[&"score", &f.chords_44k_stereo, &f.silence, &"--model", &f.model]);
    assert!(text.status.success());
    assert!(String::from_utf8_lossy(&text.stdout).contains("silent"));
}

#[test]
fn human_report_shows_scores_and_verdicts() {
    let f = fixtures();
    let out = cocola(&[
        &"score",
        &f.chords_44k_stereo,
        &f.drums_16k,
        &"--model",
        &f.model,
        &"--hop",
        &"2.5",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "both",
        "harmonic",
        "percussive",
        "combined",
        "timeline",
        "cocola-test-random",
        "2 scored",
    ] {
        assert!(text.contains(needle), "missing '{needle}' in:\n{text}");
    }
}

#[test]
fn without_model_the_default_scores_or_a_build_without_one_says_so() {
    let f = fixtures();
    let out = cocola(&[&"score", &f.chords_44k_stereo, &f.drums_16k]);
    if cocola::default_model::embedded().is_some() {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("cocola-default"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    } else {
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains("--model"), "{}", stderr(&out));
    }
}

#[test]
fn corrupt_audio_fails_cleanly_naming_the_file() {
    let f = fixtures();
    let out = cocola(&[&"score", &f.corrupt, &f.drums_16k, &"--model", &f.model]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("corrupt.wav"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let missing = cocola(&[&"score", &"/nonexistent/cond.wav", &f.drums_16k, &"--model", &f.model]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("cond.wav"));
}

#[test]
fn a_file_that_is_not_a_model_is_refused() {
    let f = fixtures();
    let out = cocola(&[&"score", &f.chords_44k_stereo, &f.drums_16k, &"--model", &f.not_a_model]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("not_a_model.onnx") && !err.contains("panicked"), "{err}");

    let info = cocola(&[&"model-info", &f.not_a_model]);
    assert_eq!(info.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_with_two() {
    let out = cocola(&[&"score", &"only-one-file.wav"]);
    assert_eq!(out.status.code(), Some(2));
    let out = cocola(&[&"score", &"a.wav", &"b.wav", &"--hop", &"-3"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn features_writes_one_or_many_windows() {
    let f = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.npy");
    let out = cocola(&[&"features", &f.short_3s, &"--out", &one]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (shape, data) = cocola::npy::read_f32(&one).unwrap();
    assert_eq!(shape, [2, 64, 501]);
    let max = data.iter().cloned().fold(f32::MIN, f32::max);
    let min = data.iter().cloned().fold(f32::MAX, f32::min);
    assert!(
        max <= 0.0 && min >= -80.0,
        "dB relative to max, 80 dB range: {min}..{max}"
    );

    let many = dir.path().join("many.npy");
    let out = cocola(&[&"features", &f.drums_16k, &"--out", &many, &"--hop", &"1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (shape, _) = cocola::npy::read_f32(&many).unwrap();
    assert_eq!(shape, [4, 2, 64, 501]);
}

#[test]
fn model_info_prints_metadata_without_running_the_model() {
    let f = fixtures();
    let out = cocola(&[&"model-info", &f.model]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cocola-test-random"));
    let doc = json(&cocola(&[&"model-info", &f.model, &"--json"]));
    assert_eq!(doc["version"], "0.0.0-test");
    assert!(doc["calibration"]["both"]["coherent"]["mean"].is_number());
}

// ---------------------------------------------------------------------------
// The authors' checkpoints: `cocola import` and a `.ckpt` anywhere a model goes.
// ---------------------------------------------------------------------------

/// A checkpoint fixture (gzipped in the repository), decompressed into `dir`.
fn checkpoint_fixture(name: &str, dir: &Path) -> PathBuf {
    let gz = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../cocola/tests/fixtures/checkpoint/{name}.gz"));
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(gz).unwrap()),
        &mut bytes,
    )
    .unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `cocola` with its user cache in `cache` (and ONNX Runtime where this
/// process finds it, since the user cache is where `cargo xtask setup` puts it).
fn cocola_cached(cache: &Path, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cocola"));
    cmd.env_remove("COCOLA_MODEL")
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .env("XDG_CACHE_HOME", cache);
    if std::env::var_os("COCOLA_ORT_LIB").is_none() {
        cmd.env("COCOLA_ORT_LIB", cocola::model::runtime::user_cache_library().unwrap());
    }
    for a in args {
        cmd.arg(a.as_ref());
    }
    cmd.output().expect("the cocola binary runs")
}

#[test]
fn checkpoints_import_once_and_run_anywhere_a_model_goes() {
    let f = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let ckpt = checkpoint_fixture("hps.ckpt", dir.path());
    let onnx = dir.path().join("hps.onnx");

    let out = cocola_cached(&cache, &[&"import", &ckpt, &"--out", &onnx]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("hps input") && stderr(&out).contains("epoch 11, step 41000"),
        "{}",
        stderr(&out)
    );
    let info = json(&cocola_cached(&cache, &[&"model-info", &onnx, &"--json"]));
    assert_eq!(info["input"], "hps");
    assert_eq!(info["name"], "hps");
    let imported = &info["training"]["imported_from"];
    assert_eq!(imported["file"], "hps.ckpt");
    assert_eq!(imported["lightning_version"], "2.2.1");
    assert_eq!(imported["sha256"].as_str().unwrap().len(), 64);
    assert!(info["calibration"].is_null());

    // A .ckpt to --model: imported on first use, from the cache after.
    let score = |model: &Path, extra: &[&str]| {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
            &"score",
            &f.chords_44k_stereo,
            &f.drums_16k,
            &"--model",
            &model as _,
            &"--json",
        ];
        args.extend(extra.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
        cocola_cached(&cache, &args)
    };
    let first = score(&ckpt, &[]);
    assert!(stderr(&first).contains("importing checkpoint"), "{}", stderr(&first));
    let again = score(&ckpt, &[]);
    assert!(!stderr(&again).contains("importing"), "{}", stderr(&again));
    let from_ckpt = json(&again);
    assert_eq!(from_ckpt["model"]["source"], format!("{} (imported)", ckpt.display()));
    let from_onnx = json(&score(&onnx, &[]));
    assert_eq!(from_ckpt["aggregate"], from_onnx["aggregate"]);
    assert_eq!(from_ckpt["model"]["sha256"], from_onnx["model"]["sha256"]);
    assert!(
        from_onnx["aggregate"]["modes"][0]["fit"].is_null(),
        "imported models are uncalibrated"
    );

    // Both directions, and the published windowing.
    let symmetric = json(&score(&onnx, &["--symmetric"]));
    assert_eq!(symmetric["direction"], "symmetric");
    assert_ne!(symmetric["aggregate"], from_onnx["aggregate"]);
    let published = json(&score(&onnx, &["--protocol", "published"]));
    assert_eq!(published["hop_seconds"], 2.5);
    assert_eq!(
        published["windows"].as_array().unwrap().len(),
        2,
        "8 s: windows at 0 and 2.5 s"
    );
    let clash = score(&onnx, &["--protocol", "published", "--hop", "1"]);
    assert_eq!(clash.status.code(), Some(2), "{}", stderr(&clash));

    // Refusals name the problem and write nothing.
    let evil = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cocola/tests/fixtures/checkpoint/evil.ckpt");
    let nothing = dir.path().join("evil.onnx");
    let out = cocola_cached(&cache, &[&"import", &evil, &"--out", &nothing]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("posix.system"), "{}", stderr(&out));
    assert!(!nothing.exists());
    let out = score(&evil, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot import"), "{}", stderr(&out));
}

#[test]
fn a_model_without_hps_scores_the_plain_score_and_refuses_the_others() {
    let f = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let ckpt = checkpoint_fixture("mel.ckpt", dir.path());

    let doc = json(&cocola_cached(
        &cache,
        &[
            &"score",
            &f.chords_44k_stereo,
            &f.drums_16k,
            &"--model",
            &ckpt,
            &"--json",
        ],
    ));
    assert_eq!(doc["model"]["input"], "mel");
    let modes: Vec<&str> = doc["aggregate"]["modes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mode"].as_str().unwrap())
        .collect();
    assert_eq!(modes, ["both"]);

    let pairs = dir.path().join("pairs.csv");
    std::fs::write(
        &pairs,
        format!("{},{}\n", f.chords_44k_stereo.display(), f.drums_16k.display()),
    )
    .unwrap();
    let out = cocola_cached(&cache, &[&"eval", &pairs, &"--model", &ckpt, &"--modes", &"harmonic"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the harmonic score needs a model with harmonic/percussive (HPS) input"),
        "{}",
        stderr(&out)
    );
    let doc = json(&cocola_cached(&cache, &[&"eval", &pairs, &"--model", &ckpt, &"--json"]));
    let modes = doc["summary"]["modes"].as_array().unwrap();
    assert_eq!(modes.len(), 1, "the default modes are the model's");

    // The features such a model sees.
    let npy = dir.path().join("mel.npy");
    let out = cocola(&[
        &"features",
        &f.drums_16k,
        &"--input",
        &"mel",
        &"--out",
        &npy,
        &"--hop",
        &"3",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (shape, values) = cocola::npy::read_f32(&npy).unwrap();
    assert_eq!(shape, [2, 1, 64, 501]);
    assert!(values.iter().all(|v| (-100.0..60.0).contains(v)));

    // Calibrated on a folder of stems at import: the plain mode only.
    let stems = dir.path().join("stems");
    for t in 0..4 {
        let track = stems.join(format!("track{t}"));
        std::fs::create_dir_all(&track).unwrap();
        write_wav(&track.join("keys.wav"), 16_000, 1, 16_000 * 8, |s, _| {
            chord(s + t as f64)
        });
        write_wav(&track.join("drums.wav"), 16_000, 1, 16_000 * 8, |s, _| {
            kick(s * (1.0 + t as f64 / 10.0))
        });
    }
    let onnx = dir.path().join("mel.onnx");
    let out = cocola_cached(
        &cache,
        &[
            &"import",
            &ckpt,
            &"--out",
            &onnx,
            &"--calibrate-on",
            &stems,
            &"--anchors",
            &"8",
            &"--k",
            &"4",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let info = json(&cocola_cached(&cache, &[&"model-info", &onnx, &"--json"]));
    let calibration = info["calibration"].as_object().unwrap();
    assert_eq!(calibration.keys().collect::<Vec<_>>(), ["both"]);
    assert_eq!(info["training"]["calibration"]["k"], 4);
    assert!(info["validation_accuracy"]["both"]["4"].as_f64().is_some());
}

#[test]
fn alternatives_say_which_change_fits_better_or_why_they_cannot() {
    let f = fixtures();
    // The test model takes the HPS input: no semitone bands to transpose.
    let out = cocola(&[
        &"score",
        &f.chords_44k_stereo,
        &f.drums_16k,
        &"--model",
        &f.model,
        &"--alternatives",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("pitch-input model"), "{}", stderr(&out));
    if cocola::default_model::embedded().is_none() {
        return;
    }
    let example = |name: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name);
    let (condition, transposed) = (example("condition.wav"), example("stem-transposed.wav"));
    let doc = json(&cocola(&[
        &"score",
        &condition,
        &transposed,
        &"--alternatives",
        &"--json",
    ]));
    let alternatives = &doc["alternatives"];
    assert_eq!(
        alternatives["changes"].as_array().unwrap().len(),
        12 + 8,
        "+-6 semitones, +-4 moves"
    );
    assert_eq!(alternatives["key"]["better"], true, "{alternatives}");
    assert!(alternatives["key"]["best"]["change"]["transpose"]["semitones"].is_i64());
    let text = cocola(&[&"score", &condition, &transposed, &"--alternatives"]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("probably out of key") && stdout.contains("on the beat"),
        "{stdout}"
    );
    // The README quotes these two lines: they are what the command prints.
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let quoted: Vec<&str> = (readme.lines())
        .filter(|l| l.starts_with("key        ") || l.starts_with("timing     "))
        .collect();
    assert_eq!(quoted.len(), 2, "the README quotes a key and a timing line");
    for line in quoted {
        assert!(stdout.lines().any(|l| l == line), "README: {line}\nprinted:\n{stdout}");
    }
    // Without the flag, neither the section nor the JSON field.
    let plain = json(&cocola(&[&"score", &condition, &transposed, &"--json"]));
    assert!(plain.get("alternatives").is_none());
}
