//! Pair-set evaluation (paper Table III) end to end: CSV and folder inputs,
//! relative paths, failed and silent pairs, the per-pair CSV and the CLI's
//! exit code.

use std::path::Path;
use std::process::Command;

use crate::support::{test_model, voice, write_wav};
use cocola::eval::pairs::{evaluate_pairs, PairStatus};
use cocola::eval::{csv_out, read_pair_set, NoProgress};
use cocola::mode::Mode;
use cocola::score::{Scorer, WindowOptions};

/// A set with 3 good pairs (one at 44.1 kHz stereo), a corrupt file, a
/// missing file and a silent stem; returns the CSV path.
fn build_set(root: &Path) -> std::path::PathBuf {
    let audio = root.join("audio");
    write_wav(&audio.join("c1.wav"), &voice(6.0, 220.0, 0.5, 1), 16_000, 1);
    write_wav(&audio.join("s1.wav"), &voice(6.0, 330.0, 0.25, 2), 16_000, 1);
    write_wav(&audio.join("c2.wav"), &voice(11.0, 196.0, 0.5, 3), 16_000, 1);
    write_wav(&audio.join("s2.wav"), &voice(11.0, 392.0, 0.5, 4), 16_000, 1);
    let stereo: Vec<f32> = voice(5.5, 261.6, 0.4, 5).iter().flat_map(|&s| [s, 0.5 * s]).collect();
    // 16 kHz content written as if it were 44.1 kHz stereo: a different
    // rate and channel count through the same decoder path.
    write_wav(&audio.join("c3.wav"), &stereo, 44_100, 2);
    write_wav(&audio.join("s3.wav"), &voice(5.0, 523.0, 0.5, 6), 16_000, 1);
    std::fs::write(audio.join("corrupt.wav"), b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk").unwrap();
    write_wav(&audio.join("silence.wav"), &vec![0.0; 16_000 * 6], 16_000, 1);
    let csv = root.join("pairs.csv");
    std::fs::write(
        &csv,
        "id,condition,stem\n\
         good1,audio/c1.wav,audio/s1.wav\n\
         corrupt,audio/c1.wav,audio/corrupt.wav\n\
         good2,audio/c2.wav,audio/s2.wav\n\
         missing,audio/nope.wav,audio/s1.wav\n\
         silent,audio/c1.wav,audio/silence.wav\n\
         good3,audio/c3.wav,audio/s3.wav\n",
    )
    .unwrap();
    csv
}

#[test]
fn csv_set_reports_failures_without_aborting() {
    let dir = tempfile::tempdir().unwrap();
    let csv = build_set(dir.path());
    let pairs = read_pair_set(&csv).unwrap();
    assert_eq!(pairs.len(), 6);
    let (_, model) = test_model(dir.path());
    let mut scorer = Scorer::new(model);
    let windows = WindowOptions {
        hop_seconds: 2.5,
        silence_dbfs: -60.0,
    };
    let report = evaluate_pairs(&mut scorer, &pairs, &windows, &Mode::ALL, &NoProgress);

    let status: Vec<(&str, &PairStatus)> = report.pairs.iter().map(|p| (p.id.as_str(), &p.status)).collect();
    assert_eq!(status[0], ("good1", &PairStatus::Scored));
    assert!(
        matches!(status[1].1, PairStatus::Failed { error } if error.contains("corrupt.wav")),
        "{status:?}"
    );
    assert!(
        matches!(status[3].1, PairStatus::Failed { error } if error.contains("nope.wav")),
        "{status:?}"
    );
    assert_eq!(status[4], ("silent", &PairStatus::Silent));
    assert_eq!(status[5], ("good3", &PairStatus::Scored));
    let s = &report.summary;
    assert_eq!((s.pairs, s.scored, s.silent, s.failed), (6, 3, 1, 2));

    // Statistics over the three scored pairs only, per mode.
    for m in &s.modes {
        let raw: Vec<f64> = report
            .pairs
            .iter()
            .filter_map(|p| p.raw(m.mode))
            .map(f64::from)
            .collect();
        assert_eq!(raw.len(), 3);
        let summary = m.raw.unwrap();
        assert_eq!(summary.n, 3);
        assert!((summary.mean - raw.iter().sum::<f64>() / 3.0).abs() < 1e-9);
        let ci = summary.ci95.unwrap();
        // t(0.975, 2) = 4.3027: the interval is mean +- 4.3027 * std / sqrt(3).
        let half = 4.302_652_73 * summary.std.unwrap() / 3f64.sqrt();
        assert!((ci.high - summary.mean - half).abs() < 1e-6);
        assert!(m.fit.is_none(), "the test model is not calibrated");
    }
    // The 11 s pair at hop 2.5 s has 3 windows.
    assert_eq!(report.pairs[2].report.as_ref().unwrap().windows.len(), 3);

    // The per-pair CSV.
    let out = dir.path().join("out/scores.csv");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    csv_out::write_file(&out, |w| csv_out::write_pairs(w, &report, &Mode::ALL)).unwrap();
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "id",
            "condition",
            "stem",
            "status",
            "duration_s",
            "windows_scored",
            "windows_silent",
            "raw_both",
            "raw_harmonic",
            "raw_percussive",
            "error"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 6);
    assert_eq!(&rows[0][3], "scored");
    assert_eq!(
        rows[0][7].parse::<f32>().unwrap(),
        report.pairs[0].raw(Mode::Both).unwrap()
    );
    assert_eq!((&rows[1][3], &rows[1][7]), ("failed", ""));
    assert!(rows[1][10].contains("corrupt.wav"));
    assert_eq!((&rows[4][3], &rows[4][5], &rows[4][7]), ("silent", "0", ""));
}

#[test]
fn folder_set_matches_csv_set() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    let (c, s) = (voice(5.0, 220.0, 0.5, 1), voice(5.0, 330.0, 0.25, 2));
    write_wav(&set.join("a/condition.wav"), &c, 16_000, 1);
    write_wav(&set.join("a/stem.wav"), &s, 16_000, 1);
    write_wav(&set.join("b/condition.wav"), &s, 16_000, 1);
    std::fs::write(set.join("b/notes.txt"), "no stem here").unwrap();
    std::fs::write(dir.path().join("pairs.csv"), "set/a/condition.wav,set/a/stem.wav\n").unwrap();

    let (_, model) = test_model(dir.path());
    let mut scorer = Scorer::new(model);
    let folder = evaluate_pairs(
        &mut scorer,
        &read_pair_set(&set).unwrap(),
        &WindowOptions::default(),
        &[Mode::Both],
        &NoProgress,
    );
    assert_eq!(folder.pairs[0].id, "a");
    assert_eq!(folder.pairs[0].status, PairStatus::Scored);
    assert!(matches!(&folder.pairs[1].status, PairStatus::Failed { error } if error.contains("no stem.")));
    let csv = evaluate_pairs(
        &mut scorer,
        &read_pair_set(&dir.path().join("pairs.csv")).unwrap(),
        &WindowOptions::default(),
        &[Mode::Both],
        &NoProgress,
    );
    assert_eq!(csv.pairs[0].raw(Mode::Both), folder.pairs[0].raw(Mode::Both));
    assert_eq!(folder.summary.modes.len(), 1);
    let one = folder.summary.modes[0].raw.unwrap();
    assert_eq!((one.n, one.std, one.ci95), (1, None, None));
}

#[test]
fn cli_exit_code_and_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let csv = build_set(dir.path());
    let (model_path, _) = test_model(dir.path());
    let out = dir.path().join("scores.csv");
    let run = Command::new(env!("CARGO_BIN_EXE_cocola"))
        .args(["eval", "--threads", "1", "--json", "--model"])
        .arg(&model_path)
        .arg(&csv)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "stderr: {stderr}");
    assert!(stderr.contains("corrupt.wav"), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(json["kind"], "pairs");
    assert_eq!(json["summary"]["failed"], 2);
    assert_eq!(json["summary"]["scored"], 3);
    assert_eq!(json["summary"]["modes"][0]["mode"], "both");
    assert_eq!(json["summary"]["modes"][0]["raw"]["n"], 3);
    assert!(csv::Reader::from_path(&out).unwrap().records().count() == 6);

    // A set without failures exits 0; an unreadable set exits 1.
    std::fs::write(dir.path().join("ok.csv"), "audio/c1.wav,audio/s1.wav\n").unwrap();
    let ok = Command::new(env!("CARGO_BIN_EXE_cocola"))
        .args(["eval", "-j", "1", "--model"])
        .arg(&model_path)
        .arg(dir.path().join("ok.csv"))
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("95 % CI"));
    let missing = Command::new(env!("CARGO_BIN_EXE_cocola"))
        .args(["eval", "-j", "1", "--model"])
        .arg(&model_path)
        .arg(dir.path().join("absent.csv"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("absent.csv"));
}

/// A comparison set (`group` and `kind` columns): per group a coherent
/// stem and its transposed and delayed copies, all against one condition.
/// The win rates count the duels of each kind; the floor, computed from the
/// files, prefers the original to its transposition (chroma) and to its
/// off-beat copy (onsets) in every group.
#[test]
fn comparison_sets_report_win_rates_per_kind_and_the_floor() {
    use cocola::eval::comparisons::compare;
    use cocola::perturb::{delayed_window, pitch_shift};

    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("audio");
    let mut rows = String::from("id,group,kind,condition,stem\n");
    for g in 0..3u32 {
        let freq = 196.0 * 2f32.powf(g as f32 / 12.0);
        let beat = 0.5 + 0.05 * g as f32;
        let condition = voice(8.0, freq, beat, 10 + g);
        let stem = voice(8.0, freq * 1.5, beat, 20 + g);
        // A fifth above the condition, moved by 2-4 semitones: never onto
        // one of the condition's pitch classes.
        let transposed = pitch_shift(&stem, 2.0 + g as f64);
        let delayed = delayed_window(&stem, 0, stem.len(), (0.3 * 16_000.0) as isize);
        for (name, samples) in [("c", &condition), ("s", &stem), ("t", &transposed), ("d", &delayed)] {
            write_wav(&audio.join(format!("{name}{g}.wav")), samples, 16_000, 1);
        }
        rows += &format!(
            "g{g}c,g{g},coherent,audio/c{g}.wav,audio/s{g}.wav\n\
             g{g}t,g{g},transposed,audio/c{g}.wav,audio/t{g}.wav\n\
             g{g}d,g{g},shifted,audio/c{g}.wav,audio/d{g}.wav\n"
        );
    }
    let csv = dir.path().join("comparisons.csv");
    std::fs::write(&csv, rows).unwrap();
    let pairs = read_pair_set(&csv).unwrap();
    let (_, model) = test_model(dir.path());
    let mut scorer = Scorer::new(model);
    let windows = WindowOptions {
        hop_seconds: 2.5,
        silence_dbfs: -60.0,
    };
    let report = evaluate_pairs(&mut scorer, &pairs, &windows, &Mode::ALL, &NoProgress);
    let comparisons = compare(&pairs, &report.pairs, &Mode::ALL).expect("a comparison set");
    assert_eq!(comparisons.groups, 3);
    assert!(comparisons.skipped_groups.is_empty());
    for mode in &comparisons.model {
        let kinds: Vec<&str> = mode.kinds.iter().map(|k| k.kind.as_str()).collect();
        assert_eq!(kinds, ["transposed", "shifted"]);
        for k in &mode.kinds {
            assert_eq!(k.win.n, 3);
            // The win rate is exactly the duels' outcome.
            let expected: f64 = (0..3)
                .map(|g| {
                    let raw = |id: String| {
                        report
                            .pairs
                            .iter()
                            .find(|p| p.id == id)
                            .unwrap()
                            .raw(mode.mode)
                            .unwrap()
                    };
                    let suffix = if k.kind == "transposed" { "t" } else { "d" };
                    let (c, n) = (raw(format!("g{g}c")), raw(format!("g{g}{suffix}")));
                    if c > n {
                        1.0
                    } else if c == n {
                        0.5
                    } else {
                        0.0
                    }
                })
                .sum();
            assert_eq!(k.win.wins, expected);
        }
    }
    let floor: Vec<(&str, f64)> = comparisons
        .floor
        .iter()
        .map(|f| (f.result.kind.as_str(), f.result.win.rate))
        .collect();
    assert_eq!(floor, [("transposed", 1.0), ("shifted", 1.0)], "{comparisons:?}");

    // The CLI prints the same win rates (JSON) and their table (text).
    let (model_path, _) = test_model(dir.path());
    let cli = |extra: &[&str]| {
        let run = Command::new(env!("CARGO_BIN_EXE_cocola"))
            .args(["eval", "-j", "1", "--hop", "2.5", "--model"])
            .arg(&model_path)
            .arg(&csv)
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
        run.stdout
    };
    let json: serde_json::Value = serde_json::from_slice(&cli(&["--json"])).unwrap();
    let printed = &json["comparisons"];
    assert_eq!(printed["groups"], 3);
    assert_eq!(printed["model"][0]["kinds"][0]["kind"], "transposed");
    assert_eq!(
        printed["model"][0]["kinds"][0]["win"]["wins"],
        comparisons.model[0].kinds[0].win.wins
    );
    assert_eq!(printed["floor"][1]["measure"], "onset correlation");
    let text = String::from_utf8(cli(&[])).unwrap();
    assert!(
        text.contains("coherent wins over") && text.contains("floor (no model)"),
        "{text}"
    );
    assert!(text.contains("100.0 % ["), "the floor wins every duel: {text}");

    // The chart draws each kind of pair apart: coherent pairs beside each negative's.
    let kinds: Vec<String> = (pairs.iter())
        .map(|p| p.comparison.as_ref().unwrap().kind.clone())
        .collect();
    let chart = cocola::visual::pages::pairs_chart(&report, &Mode::ALL, Some(&kinds));
    let groups: Vec<(&str, usize)> = (chart.panels[0].groups.iter())
        .map(|g| (g.label.as_str(), g.values.len()))
        .collect();
    assert_eq!(groups, [("coherent", 3), ("transposed", 3), ("shifted", 3)]);
    let svg = dir.path().join("kinds.svg");
    cli(&["--plot", svg.to_str().unwrap()]);
    let drawn = std::fs::read_to_string(&svg).unwrap();
    for label in ["coherent (n = 3)", "transposed (n = 3)", "shifted (n = 3)"] {
        assert!(drawn.contains(label), "{label} missing from the chart");
    }
}
