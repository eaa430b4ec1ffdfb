//! `cocola rank` end to end (order, ties, silent and unreadable candidates),
//! and the charts (`--plot`, PNG and SVG) and HTML reports (`--report`) of
//! every command: valid files, not empty, with the expected labels.
//!
//! Runs the binary with a random-weight model (needs the ONNX Runtime
//! library, `cargo xtask setup`).

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{test_model, voice, write_wav};
use crate::{calibrated_test_model, run_cocola};
use serde_json::Value;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn cocola(model: &Path, args: &[&str]) -> Output {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(["--model".into(), model.display().to_string(), "-j".into(), "1".into()]);
    run_cocola(&all)
}

/// A PNG: its size, and the share of pixels that are not white (a chart is
/// mostly white, but not only).
fn png_facts(path: &Path) -> ((u32, u32), f64) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().expect("a valid PNG");
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let inked = pixels[..info.buffer_size()]
        .chunks(3)
        .filter(|p| p.iter().any(|&c| c < 200))
        .count();
    (
        (info.width, info.height),
        inked as f64 / (info.width * info.height) as f64,
    )
}

fn assert_chart_png(path: &Path) {
    let ((width, height), inked) = png_facts(path);
    assert!(width >= 600 && height >= 300, "{}: {width} x {height}", path.display());
    assert!(
        inked > 0.01 && inked < 0.6,
        "{}: {:.1} % inked",
        path.display(),
        100.0 * inked
    );
}

fn assert_contains_all(path: &Path, needles: &[&str]) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    for needle in needles {
        assert!(text.contains(needle), "{} lacks '{needle}'", path.display());
    }
    text
}

/// A report page: one self-contained HTML document with charts and tables.
fn assert_report(path: &Path, needles: &[&str]) {
    let html = assert_contains_all(path, needles);
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(html.contains("<svg") && html.contains("<table"), "{}", path.display());
    for external in ["src=\"", "<link", "url(", "<iframe"] {
        assert!(
            !html.contains(external),
            "{} loads something: {external}",
            path.display()
        );
    }
}

struct Files {
    condition: PathBuf,
    a: PathBuf,
    b: PathBuf,
    a_copy: PathBuf,
    silent: PathBuf,
    corrupt: PathBuf,
}

fn files(dir: &Path) -> Files {
    let p = |name: &str| dir.join(name);
    write_wav(&p("condition.wav"), &voice(12.0, 220.0, 0.5, 1), 16_000, 1);
    write_wav(&p("cands/a.wav"), &voice(12.0, 110.0, 0.25, 2), 16_000, 1);
    write_wav(&p("cands/b.wav"), &voice(12.0, 330.0, 0.4, 3), 16_000, 1);
    std::fs::copy(p("cands/a.wav"), p("cands/a-copy.wav")).unwrap();
    write_wav(&p("cands/silent.wav"), &vec![0.0; 16_000 * 12], 16_000, 1);
    std::fs::write(p("cands/zz-corrupt.wav"), b"RIFF\x10\x00\x00\x00WAVEjunkjunk").unwrap();
    Files {
        condition: p("condition.wav"),
        a: p("cands/a.wav"),
        b: p("cands/b.wav"),
        a_copy: p("cands/a-copy.wav"),
        silent: p("cands/silent.wav"),
        corrupt: p("cands/zz-corrupt.wav"),
    }
}

#[test]
fn rank_orders_ties_and_explains_silent_and_failed_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = test_model(dir.path());
    let f = files(dir.path());
    let s = |p: &Path| p.display().to_string();
    let (png, html) = (dir.path().join("rank.png"), dir.path().join("rank.html"));
    let out = cocola(
        &model,
        &[
            "rank",
            &s(&f.condition),
            &s(&f.silent),
            &s(&f.corrupt),
            &s(&f.b),
            &s(&f.a),
            &s(&f.a_copy),
            "--json",
            "--plot",
            &s(&png),
            "--report",
            &s(&html),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "a candidate is unreadable: {}",
        stderr(&out)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["mode"], "both");
    let candidates = doc["candidates"].as_array().unwrap();
    let field = |i: usize, k: &str| candidates[i][k].clone();
    // Three ranked (a and its copy tie), then the silent one, then the unreadable one.
    let ranked: Vec<(String, u64, f64)> = (0..3)
        .map(|i| {
            let name = field(i, "name").as_str().unwrap().to_string();
            let raw = candidates[i]["scores"]["modes"][0]["raw"].as_f64().unwrap();
            (name, field(i, "rank").as_u64().unwrap(), raw)
        })
        .collect();
    assert!(ranked[0].2 >= ranked[1].2 && ranked[1].2 >= ranked[2].2, "{ranked:?}");
    let a_rank = ranked.iter().find(|r| r.0 == s(&f.a)).unwrap();
    let copy_rank = ranked.iter().find(|r| r.0 == s(&f.a_copy)).unwrap();
    assert_eq!((a_rank.1, a_rank.2), (copy_rank.1, copy_rank.2), "the same audio ties");
    let a_entry = candidates.iter().find(|c| c["name"] == s(&f.a)).unwrap();
    assert_eq!(a_entry["tied_with"], serde_json::json!([s(&f.a_copy)]));
    assert!(a_entry["worst_window"]["start_seconds"].is_number());
    assert_eq!(
        (field(3, "name"), field(3, "status")),
        (s(&f.silent).into(), "silent".into())
    );
    assert!(field(3, "reason")
        .as_str()
        .unwrap()
        .contains("candidate is silent throughout"));
    assert_eq!(
        (field(4, "name"), field(4, "status")),
        (s(&f.corrupt).into(), "failed".into())
    );
    let notes = doc["notes"].to_string();
    assert!(
        notes.contains("exactly the same both score") && notes.contains("could not be scored"),
        "{notes}"
    );

    assert_chart_png(&png);
    assert_report(
        &html,
        &[
            "COCOLA ranking",
            "a-copy.wav",
            "silent throughout",
            "worst window",
            "sortable",
        ],
    );

    // --dir ranks the folder's audio files by name, and the harmonic mode on request.
    let text = cocola(
        &model,
        &[
            "rank",
            &s(&f.condition),
            "--dir",
            &s(f.a.parent().unwrap()),
            "--mode",
            "harmonic",
        ],
    );
    assert_eq!(text.status.code(), Some(3));
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("ranked by  harmonic"), "{text}");
    for name in ["a.wav", "a-copy.wav", "b.wav", "silent.wav", "zz-corrupt.wav"] {
        assert!(text.contains(name), "{name} missing in:\n{text}");
    }
    assert!(
        text.contains("note: a-copy.wav, a.wav have exactly the same harmonic score"),
        "{text}"
    );
}

#[test]
fn a_calibrated_model_ranks_by_the_combined_fit_unless_told_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let model = calibrated_test_model(dir.path());
    let f = files(dir.path());
    let s = |p: &Path| p.display().to_string();
    let html = dir.path().join("rank.html");
    let args = |extra: &[&str]| {
        let mut all = vec!["rank".to_string(), s(&f.condition), s(&f.a), s(&f.b)];
        all.extend(extra.iter().map(|e| e.to_string()));
        all
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        cocola(&model, &a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let out = run(&["--json", "--report", &s(&html)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["mode"], "combined", "the default for a calibrated model");
    // Ordered by the mean of the modes' log-odds (2 x raw under this calibration).
    let log_odds: Vec<f64> = doc["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let modes = c["scores"]["modes"].as_array().unwrap();
            let mean = modes.iter().map(|m| 2.0 * m["raw"].as_f64().unwrap()).sum::<f64>() / 3.0;
            let stored = c["scores"]["combined"]["log_odds"].as_f64().unwrap();
            assert!((mean - stored).abs() < 1e-3, "{c}");
            // The worst window is the one lowest in the combined measure.
            let windows = c["report"]["windows"].as_array().unwrap();
            let lowest = windows
                .iter()
                .map(|w| w["outcome"]["combined"]["log_odds"].as_f64().unwrap())
                .fold(f64::INFINITY, f64::min);
            assert_eq!(
                c["worst_window"]["scores"]["combined"]["log_odds"].as_f64().unwrap(),
                lowest
            );
            stored
        })
        .collect();
    assert!(log_odds[0] >= log_odds[1], "{log_odds:?}");
    assert_report(&html, &["ranked by the combined fit", "log-odds", "worst fit"]);

    // A mode on request; the table names what ranks.
    let text = run(&["--mode", "percussive"]);
    assert!(text.status.success(), "{}", stderr(&text));
    assert!(String::from_utf8_lossy(&text.stdout).contains("ranked by  percussive (mean raw score"));
    let text = run(&[]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains("ranked by  combined (mean calibrated log-odds"), "{text}");
    assert!(text.contains("log-odds"), "{text}");

    // An uncalibrated model has no combined fit: a clear error, exit 1.
    let (plain, _) = test_model(dir.path());
    let a = args(&["--mode", "combined"]);
    let out = cocola(&plain, &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the combined fit needs a model calibrated in every mode"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn score_and_eval_draw_charts_and_write_reports() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = test_model(dir.path());
    let f = files(dir.path());
    let s = |p: &Path| p.display().to_string();
    let out = |name: &str| dir.path().join(name);

    // score: the timeline of all three modes; a silent stretch is shaded.
    let mut half_silent = voice(12.0, 110.0, 0.25, 2);
    half_silent[16_000 * 6..].fill(0.0);
    write_wav(&out("half.wav"), &half_silent, 16_000, 1);
    for plot in ["score.png", "score.svg"] {
        let o = cocola(
            &model,
            &[
                "score",
                &s(&f.condition),
                &s(&out("half.wav")),
                "--hop",
                "1",
                "--plot",
                &s(&out(plot)),
                "--report",
                &s(&out("score.html")),
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("chart: {}", s(&out(plot)))));
    }
    assert_chart_png(&out("score.png"));
    let svg = assert_contains_all(
        &out("score.svg"),
        &[
            "<svg",
            "time (s), window centres",
            "raw COCOLA score",
            "both",
            "harmonic",
            "percussive",
            "silent window",
        ],
    );
    assert!(svg.matches("<polyline").count() >= 3, "a line per mode");
    assert_report(
        &out("score.html"),
        &["COCOLA score", "silent (stem)", "Timeline", "half.wav"],
    );

    // eval, pairs: distributions per mode.
    let csv = out("pairs.csv");
    std::fs::write(
        &csv,
        format!(
            "id,condition,stem\none,{},{}\ntwo,{},{}\n",
            s(&f.condition),
            s(&f.a),
            s(&f.condition),
            s(&f.b)
        ),
    )
    .unwrap();
    let o = cocola(
        &model,
        &[
            "eval",
            &s(&csv),
            "--plot",
            &s(&out("pairs.svg")),
            "--report",
            &s(&out("pairs.html")),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains_all(
        &out("pairs.svg"),
        &[
            "Pair scores: 2 scored pair(s)",
            "both mode",
            "harmonic mode",
            "percussive mode",
            "pairs",
            "mean raw COCOLA score",
        ],
    );
    assert_report(
        &out("pairs.html"),
        &["COCOLA evaluation of a pair set", "95 % CI", "two", "Distributions"],
    );
    let o = cocola(&model, &["eval", &s(&csv), "--plot", &s(&out("pairs.png"))]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_chart_png(&out("pairs.png"));

    // eval, stems: accuracy@K against chance.
    let stems = out("stems");
    for t in 0..3u32 {
        for (i, name) in ["x", "y"].iter().enumerate() {
            let v = voice(
                10.0,
                150.0 + 40.0 * t as f32 + 90.0 * i as f32,
                0.3 + 0.1 * i as f32,
                t * 3 + i as u32,
            );
            write_wav(&stems.join(format!("t{t}/{name}.wav")), &v, 16_000, 1);
        }
    }
    let stems_dir = s(&stems);
    let eval_stems = |model: &Path, extra: &[&str]| {
        let mut all = vec![
            "eval",
            "--stems",
            &stems_dir,
            "--k",
            "2,3",
            "--batches",
            "2",
            "--no-cache",
        ];
        all.extend(extra);
        cocola(model, &all)
    };
    let (svg, report) = (s(&out("acc.svg")), s(&out("acc.html")));
    let o = eval_stems(&model, &["--plot", &svg, "--report", &report]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_contains_all(
        &out("acc.svg"),
        &["accuracy@K", "K = 2", "K = 3", "chance (1/K)", "accuracy (%)"],
    );
    assert_report(&out("acc.html"), &["accuracy@K", "chance (%)", "K = 2"]);
    // A calibrated model: the combined fit's accuracy too, after the modes' of each K.
    let o = eval_stems(&calibrated_test_model(dir.path()), &["--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows: Vec<(&str, u64)> = (doc["results"].as_array().unwrap().iter())
        .map(|r| (r["mode"].as_str().unwrap(), r["k"].as_u64().unwrap()))
        .collect();
    let expected: Vec<(&str, u64)> = [2, 3]
        .into_iter()
        .flat_map(|k| ["both", "harmonic", "percussive", "combined"].map(|m| (m, k)))
        .collect();
    assert_eq!(rows, expected);

    // Unwritable or unknown outputs are refused before any work.
    let o = cocola(&model, &["eval", &s(&csv), "--plot", &s(&out("pairs.jpg"))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains(".png or .svg"), "{}", stderr(&o));
    let o = cocola(
        &model,
        &[
            "score",
            &s(&f.condition),
            &s(&f.a),
            "--report",
            &s(&out("no/such/dir/r.html")),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
}
