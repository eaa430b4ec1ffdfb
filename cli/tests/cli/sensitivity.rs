//! `cocola eval --stems DIR --sensitivity`: what a user gets on the terminal,
//! in JSON and in the CSV, on synthetic tracks with a random-weight model.

use crate::run_cocola;
use crate::support::{build_sensitivity_tracks, test_model};

/// A sensitivity test of 6 anchors on `root`, one thread, no cache.
fn quick_sensitivity(root: &std::path::Path) -> Vec<&str> {
    let root = root.to_str().unwrap();
    vec![
        "eval",
        "--stems",
        root,
        "--sensitivity",
        "--anchors",
        "6",
        "-j",
        "1",
        "--no-cache",
    ]
}

#[test]
fn sensitivity_prints_win_rates_beside_the_floor_and_writes_one_row_per_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tracks");
    build_sensitivity_tracks(&root);
    let (model, _) = test_model(dir.path());
    let csv = dir.path().join("anchors.csv");
    let common = quick_sensitivity(&root);
    let with_model = |extra: &[&str]| {
        let mut args: Vec<&str> = common.clone();
        args.extend(["--model", model.to_str().unwrap()]);
        args.extend(extra);
        run_cocola(&args)
    };

    let json_run = with_model(&["--json", "--out", csv.to_str().unwrap()]);
    // The corrupt track is reported, the rest evaluated: exit code 3.
    assert_eq!(
        json_run.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&json_run.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&json_run.stdout).unwrap();
    assert_eq!(json["kind"], "sensitivity");
    assert!(
        json["model"]["sha256"].is_string(),
        "the model's description, not its results"
    );
    let modes = json["modes"].as_array().unwrap();
    assert_eq!(modes.len(), 3);
    for mode in modes {
        let kinds: Vec<&str> = mode["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["transposed", "shifted", "foreign"]);
    }
    assert_eq!(json["floor"].as_array().unwrap().len(), 3);
    let anchors = json["anchors"].as_array().unwrap().len();
    assert!(anchors > 0);
    // Every anchor is counted in exactly one family of target stems.
    let families = json["by_target"].as_array().unwrap();
    let per_family: Vec<u64> = families.iter().map(|f| f["anchors"].as_u64().unwrap()).collect();
    assert_eq!(per_family.iter().sum::<u64>(), anchors as u64, "{families:?}");
    assert!(families.iter().all(|f| f["modes"].as_array().unwrap().len() == 3));
    // And in exactly one interval of transposition, each with the transposed kind alone.
    let intervals = json["by_interval"].as_array().unwrap();
    let per_interval: Vec<u64> = intervals.iter().map(|i| i["anchors"].as_u64().unwrap()).collect();
    assert_eq!(per_interval.iter().sum::<u64>(), anchors as u64, "{intervals:?}");
    for interval in intervals {
        assert!((1..=6).contains(&interval["semitones"].as_u64().unwrap()), "{interval}");
        let modes = interval["modes"].as_array().unwrap();
        let names: Vec<&str> = modes.iter().map(|m| m["mode"].as_str().unwrap()).collect();
        assert_eq!(names, ["both", "harmonic", "percussive"]);
        assert!(modes
            .iter()
            .chain([&interval["floor"]])
            .all(|m| m["kind"] == "transposed"));
    }
    // And in exactly one kind of condition: with a pitched stem, or drums alone.
    let conditions = json["by_condition"].as_array().unwrap();
    let per_condition: Vec<u64> = conditions.iter().map(|c| c["anchors"].as_u64().unwrap()).collect();
    assert_eq!(per_condition.iter().sum::<u64>(), anchors as u64, "{conditions:?}");
    assert_eq!(
        conditions[0]["pitched"], true,
        "pitched conditions first: {conditions:?}"
    );
    assert_eq!(csv::Reader::from_path(&csv).unwrap().records().count(), anchors);
    let header = csv::Reader::from_path(&csv).unwrap().headers().unwrap().clone();
    assert!(header.iter().any(|h| h == "in_key_both") && header.iter().any(|h| h == "carrier_semitones"));
    let controls: Vec<&str> = (json["processing"].as_array().unwrap().iter())
        .map(|c| c["measure"].as_str().unwrap())
        .collect();
    assert_eq!(controls, ["both", "harmonic", "percussive"]);

    let text_run = with_model(&[]);
    let text = String::from_utf8_lossy(&text_run.stdout);
    assert!(
        text.contains("true stem wins over") && text.contains("floor (no model)"),
        "{text}"
    );
    assert!(text.contains("chance is 50 %"), "{text}");
    assert!(text.contains("processing control"), "{text}");
    assert!(text.contains("transposed, by interval (n)"), "{text}");
}

#[test]
fn baseline_compares_two_models_on_the_same_anchors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tracks");
    build_sensitivity_tracks(&root);
    // The candidate is calibrated (it has a combined fit), the baseline is
    // another random model without calibration.
    let candidate = crate::calibrated_test_model(dir.path());
    let baseline = dir.path().join("other.onnx");
    cocola::model::write_model_file(
        &baseline,
        &cocola::model::testing::random_weights(8),
        &cocola::model::testing::test_metadata(),
    )
    .unwrap();
    let run = |baseline: &std::path::Path, json: bool| {
        let mut args = quick_sensitivity(&root);
        args.extend([
            "--model",
            candidate.to_str().unwrap(),
            "--baseline",
            baseline.to_str().unwrap(),
        ]);
        if json {
            args.push("--json");
        }
        run_cocola(&args)
    };

    let other = run(&baseline, true);
    assert_eq!(
        other.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&other.stdout).unwrap();
    let anchors = json["anchors"].as_array().unwrap().len();
    let paired = &json["paired"];
    assert_eq!(paired["baseline"]["sha256"], crate::support::sha256_hex(&baseline));
    let measures: Vec<&str> = (paired["measures"].as_array().unwrap().iter())
        .map(|m| m["measure"].as_str().unwrap())
        .collect();
    assert_eq!(
        measures,
        ["both", "harmonic", "percussive"],
        "no combined fit: the baseline has no calibration"
    );
    for measure in paired["measures"].as_array().unwrap() {
        for kind in measure["kinds"].as_array().unwrap() {
            let split = kind["gained"].as_u64().unwrap() + kind["lost"].as_u64().unwrap();
            assert!(split <= kind["candidate"]["n"].as_u64().unwrap() && split <= anchors as u64);
            let p = kind["p_value"].as_f64().unwrap();
            assert!(p > 0.0 && p <= 1.0, "{kind}");
        }
    }

    // Against itself: every measure, the combined fit included, and no
    // anchor decided differently.
    let itself = run(&candidate, false);
    let text = String::from_utf8_lossy(&itself.stdout);
    assert!(text.contains(&format!("on the same {anchors} anchors")), "{text}");
    for measure in ["both", "harmonic", "percussive", "combined"] {
        let line = (text.lines().skip_while(|l| !l.starts_with("this model - baseline")))
            .find(|l| l.starts_with(measure))
            .unwrap_or_else(|| panic!("no {measure} row: {text}"));
        assert!(line.contains(" +0.0 (0/0) p 1.00"), "{line}");
    }
}

#[test]
fn a_missing_baseline_fails_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tracks");
    build_sensitivity_tracks(&root);
    let (model, _) = test_model(dir.path());
    let run = run_cocola(&[
        "eval",
        "--stems",
        root.to_str().unwrap(),
        "--sensitivity",
        "--model",
        model.to_str().unwrap(),
        "--baseline",
        dir.path().join("missing.onnx").to_str().unwrap(),
        "--no-cache",
    ]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("--baseline") && stderr.contains("missing.onnx"),
        "{stderr}"
    );
    assert!(run.stdout.is_empty(), "nothing was measured");
}
