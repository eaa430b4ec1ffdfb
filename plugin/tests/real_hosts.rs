//! The built bundles in real hosts. Ignored by plain `cargo test` (they need
//! `cargo xtask bundle cocola --release` and the hosts); `cargo xtask test`
//! builds the bundle, installs DawDreamer into `.venv-plugin` and runs them
//! with `--ignored`.
//!
//! - `COCOLA_BUNDLE_DIR`: where COCOLA.vst3 / COCOLA.clap are (default `target/bundled`).
//! - `COCOLA_HOST_PYTHON`: a Python with `dawdreamer` (default `.venv-plugin/bin/python`).

mod host;

use std::path::{Path, PathBuf};
use std::process::Command;

use cocola::score::{Scorer, WindowOptions, WindowOutcome};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn bundle_dir() -> PathBuf {
    std::env::var_os("COCOLA_BUNDLE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/bundled"))
}

fn python() -> PathBuf {
    std::env::var_os("COCOLA_HOST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv-plugin/bin/python"))
}

/// `[channels, frames]` row-major, as numpy saves it.
fn planar(channels: &[Vec<f32>]) -> Vec<f32> {
    channels.concat()
}

/// (window end in seconds, raw scores both/harmonic/percussive) from the plugin's log.
fn logged_windows(log: &str) -> Vec<(f64, [f32; 3])> {
    log.lines()
        .filter_map(|line| {
            let rest = &line[line.find("COCOLA window end=")? + "COCOLA window end=".len()..];
            let mut fields = rest.split_whitespace();
            let end: f64 = fields.next()?.trim_end_matches('s').parse().ok()?;
            let mut raw = [0.0f32; 3];
            for (slot, key) in raw.iter_mut().zip(["both=", "harmonic=", "percussive="]) {
                *slot = fields.next()?.strip_prefix(key)?.parse().ok()?;
            }
            Some((end, raw))
        })
        .collect()
}

#[test]
#[ignore = "needs the release bundle and DawDreamer: run by `cargo xtask test`"]
fn dawdreamer_renders_vst3_with_sidechain_bit_exact_and_scores_like_cocola() {
    let vst3 = bundle_dir().join("COCOLA.vst3");
    assert!(
        vst3.is_dir(),
        "{} missing: run `cargo xtask bundle cocola --release`",
        vst3.display()
    );
    let rate = 44_100u32;
    let seconds = 8.0;
    let stem = vec![
        host::signal(rate as f32, seconds, 71, 0.5),
        host::signal(rate as f32, seconds, 72, 0.4),
    ];
    let cond = vec![
        host::signal(rate as f32, seconds, 73, 0.5),
        host::signal(rate as f32, seconds, 74, 0.3),
    ];
    let frames = stem[0].len();
    let dir = std::env::temp_dir().join(format!("cocola-dawdreamer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (stem_npy, cond_npy, out_npy, log) = (
        dir.join("stem.npy"),
        dir.join("cond.npy"),
        dir.join("out.npy"),
        dir.join("plugin.log"),
    );
    cocola::npy::write_f32(&stem_npy, &[2, frames], &planar(&stem)).unwrap();
    cocola::npy::write_f32(&cond_npy, &[2, frames], &planar(&cond)).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hosts/dawdreamer_render.py");
    let output = Command::new(python())
        .arg(&script)
        .args([&vst3, &stem_npy, &cond_npy, &out_npy])
        .args([rate.to_string(), "512".to_string()])
        .env("COCOLA_MODEL", host::test_model())
        .env("NICE_LOG", &log)
        .output()
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "DawDreamer failed: {stderr}\n{}",
        String::from_utf8_lossy(&output.stdout)
    );

    // Audio: bit-exact pass-through of the main input.
    let (shape, out) = cocola::npy::read_f32(&out_npy).unwrap();
    assert_eq!(shape, vec![2, frames]);
    let input = planar(&stem);
    let differing = out
        .iter()
        .zip(&input)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    assert_eq!(differing, 0, "output differs from input in {differing} samples");

    // Scores: the plugin's log against cocola's own scoring of the same audio
    // (mono mean, whole-file resampling, 5 s windows every 1 s).
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    let windows = logged_windows(&log);
    let mono = |c: &[Vec<f32>]| c[0].iter().zip(&c[1]).map(|(a, b)| (a + b) * 0.5).collect::<Vec<f32>>();
    let stem16 = cocola::audio::resample_to_16k(&mono(&stem), rate).unwrap();
    let cond16 = cocola::audio::resample_to_16k(&mono(&cond), rate).unwrap();
    let model = cocola::model::Model::load(host::test_model(), &Default::default()).unwrap();
    let options = WindowOptions {
        hop_seconds: 1.0,
        silence_dbfs: -60.0,
    };
    let report = Scorer::new(model)
        .score_pair(&cond16, &stem16, &options, |_, _| {})
        .unwrap();
    let expected: Vec<(f64, [f32; 3])> = report
        .windows
        .iter()
        .filter_map(|w| match w.outcome {
            WindowOutcome::Scored(s) => Some((w.end_seconds, std::array::from_fn(|i| s.modes()[i].raw))),
            _ => None,
        })
        .collect();
    assert_eq!(
        windows.iter().map(|w| w.0).collect::<Vec<_>>(),
        expected.iter().map(|w| w.0).collect::<Vec<_>>(),
        "window ends (plugin log vs cocola); log:\n{log}"
    );
    for ((end, got), (_, want)) in windows.iter().zip(&expected) {
        for m in 0..3 {
            assert!(
                (got[m] - want[m]).abs() <= 1e-3,
                "window ending {end} s, mode {m}: plugin {} vs cocola {}",
                got[m],
                want[m]
            );
        }
    }
    eprintln!(
        "DawDreamer: {} windows match cocola to 1e-3, output bit-exact",
        windows.len()
    );
}

#[test]
#[ignore = "needs the release bundle: run by `cargo xtask test`"]
fn qtractor_scanner_lists_the_clap_plugin() {
    // Qtractor's own out-of-process scanner (Debian package `qtractor`).
    let scanner = std::env::var_os("COCOLA_QTRACTOR_SCAN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/x86_64-linux-gnu/qtractor/qtractor_plugin_scan"));
    if !scanner.is_file() {
        eprintln!(
            "SKIPPED: {} not installed (apt-get install qtractor)",
            scanner.display()
        );
        return;
    }
    let clap = bundle_dir().join("COCOLA.clap");
    let mut child = Command::new(&scanner)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("scanner runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "CLAP:{}", clap.display()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    // type|name|audio ins:outs|midi ins:outs|params:outputs|flags|path|index|id
    let line = listing
        .lines()
        .find(|l| l.starts_with("CLAP|COCOLA|"))
        .unwrap_or_else(|| panic!("not listed: {listing}"));
    let fields: Vec<&str> = line.split('|').collect();
    assert_eq!(fields[2], "2:2", "{line}");
    assert_eq!(fields[4], "4:0", "four parameters: {line}");
    assert!(fields[5].contains("GUI"), "{line}");
}
