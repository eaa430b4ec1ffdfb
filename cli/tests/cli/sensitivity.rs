//! `cocola eval --stems DIR --sensitivity`: what a user gets on the terminal,
//! in JSON and in the CSV, on synthetic tracks with a random-weight model.

use crate::run_cocola;
use crate::support::{build_sensitivity_tracks, test_model};

#[test]
fn sensitivity_prints_win_rates_beside_the_floor_and_writes_one_row_per_anchor() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tracks");
    build_sensitivity_tracks(&root);
    let (model, _) = test_model(dir.path());
    let csv = dir.path().join("anchors.csv");
    let common = [
        "eval",
        "--stems",
        root.to_str().unwrap(),
        "--sensitivity",
        "--anchors",
        "6",
        "-j",
        "1",
        "--no-cache",
    ];
    let with_model = |extra: &[&str]| {
        let mut args: Vec<&str> = common.to_vec();
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
    assert_eq!(csv::Reader::from_path(&csv).unwrap().records().count(), anchors);

    let text_run = with_model(&[]);
    let text = String::from_utf8_lossy(&text_run.stdout);
    assert!(
        text.contains("true stem wins over") && text.contains("floor (no model)"),
        "{text}"
    );
    assert!(text.contains("chance is 50 %"), "{text}");
}
