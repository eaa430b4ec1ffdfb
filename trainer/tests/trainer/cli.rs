//! The binary's command line: every subcommand's `--help`, and clear errors
//! (non-zero exit, the offending path named, no panic) for missing inputs.

use std::path::Path;
use std::process::{Command, Output};

fn trainer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cocola-trainer"))
        .args(args)
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap()
}

/// `train` on placeholder paths with `extra` arguments, refused as a usage
/// error (exit code 2) before any path is read; its message.
fn train_refused(extra: &[&str]) -> String {
    let mut args = vec!["train", "--data", "generic:x", "--out", "y"];
    args.extend_from_slice(extra);
    let o = trainer(&args);
    let message = text(&o);
    assert_eq!(o.status.code(), Some(2), "{extra:?}: {message}");
    message
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn every_subcommand_has_help_naming_its_key_flags() {
    let cases: &[(&str, &[&str])] = &[
        (
            "train",
            &[
                "--data",
                "--out",
                "--steps",
                "--batch",
                "--lr",
                "--seed",
                "--checkpoint-every",
                "--validate-every",
                "--resume",
                "--cpu",
                "--workers",
                "--feature-cache",
                "--init-from",
                "--freeze-backbone",
                "--input",
                "--time-budget",
            ],
        ),
        (
            "eval",
            &[
                "<CHECKPOINT>",
                "--data",
                "--split",
                "--k",
                "--anchors",
                "--seed",
                "--json",
            ],
        ),
        (
            "export",
            &["<CHECKPOINT>", "--out", "--name", "--model-version", "--batches"],
        ),
        ("doctor", &[]),
        ("prune-stem-cache", &["<CACHE>", "--data", "--delete"]),
        ("curves", &["<RUNS>", "--out", "--smooth"]),
    ];
    for (sub, flags) in cases {
        let o = trainer(&[sub, "--help"]);
        let help = text(&o);
        assert!(o.status.success(), "{sub} --help failed: {help}");
        for flag in *flags {
            assert!(help.contains(flag), "{sub} --help does not mention {flag}:\n{help}");
        }
    }
    let o = trainer(&["--help"]);
    assert!(o.status.success());
    for sub in ["train", "eval", "export", "doctor", "prune-stem-cache", "curves"] {
        assert!(text(&o).contains(sub), "top-level help lacks {sub}");
    }
}

#[test]
fn curves_draw_a_run_beside_its_metrics_and_refuse_what_is_not_one() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let steps: String = (1..=60)
        .map(|s| {
            format!(
                "{{\"kind\":\"train\",\"step\":{s},\"loss\":{},\"accuracy\":0.5,\"windows_per_s\":20.0,\"elapsed_s\":{}}}\n",
                2.0 - s as f64 / 60.0,
                4 * s
            )
        })
        .collect();
    let validation = "{\"kind\":\"validation\",\"step\":60,\"loss\":1.2,\"accuracy\":0.7}\n";
    std::fs::write(run.join("metrics.jsonl"), steps + validation).unwrap();
    let o = trainer(&["curves", &run.display().to_string()]);
    assert!(o.status.success(), "{}", text(&o));
    let png = run.join("curves.png");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), png.display().to_string());
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    assert!(text(&o).contains("run: 60 steps"), "{}", text(&o));

    let svg = dir.path().join("both.svg");
    let (r, out) = (run.display().to_string(), svg.display().to_string());
    let o = trainer(&["curves", &r, &r, "--out", &out, "--smooth", "10"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read_to_string(&svg)
        .unwrap()
        .contains("run (60 steps) vs run (60 steps)"));

    let jpg = dir.path().join("c.jpg");
    assert_clean_failure(&trainer(&["curves", &r, "--out", &jpg.display().to_string()]), &jpg);
    let nope = dir.path().join("no-run");
    assert_clean_failure(&trainer(&["curves", &nope.display().to_string()]), &nope);
}

/// Fails cleanly: non-zero exit, `needle` (a path) in the message, no panic.
fn assert_clean_failure(o: &Output, needle: &Path) {
    let msg = text(o);
    assert!(!o.status.success(), "expected failure, got success: {msg}");
    assert!(!msg.contains("panicked"), "panicked: {msg}");
    assert_eq!(o.status.code(), Some(1), "{msg}");
    assert!(
        msg.contains(&needle.display().to_string()),
        "message does not name {}: {msg}",
        needle.display()
    );
}

#[test]
fn missing_data_and_bad_checkpoints_fail_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = |p: &Path| p.display().to_string();

    let nope = d.join("no-such-data");
    let generic = format!("generic:{}", s(&nope));
    let o = trainer(&[
        "train",
        "--data",
        &generic,
        "--out",
        &s(&d.join("run")),
        "--cpu",
        "--steps",
        "1",
    ]);
    assert_clean_failure(&o, &nope);

    // A folder without any track in the layout.
    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = trainer(&[
        "train",
        "--data",
        &format!("musdb:{}", s(&empty)),
        "--out",
        &s(&d.join("run2")),
        "--cpu",
        "--steps",
        "1",
    ]);
    assert_clean_failure(&o, &empty);

    // A mel model has one channel: there is nothing to mask.
    let o = trainer(&[
        "train",
        "--data",
        &generic,
        "--out",
        &s(&d.join("run3")),
        "--input",
        "mel",
        "--masks",
        "per-pair",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("--masks per-pair needs the two channels"),
        "{}",
        text(&o)
    );

    // ... and so no mask to weigh.
    let o = trainer(&[
        "train",
        "--data",
        &generic,
        "--out",
        &s(&d.join("run4")),
        "--input",
        "mel",
        "--mask-weights",
        "both=2",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("--mask-weights weighs the channel masks"),
        "{}",
        text(&o)
    );
    let o = trainer(&[
        "train",
        "--data",
        &generic,
        "--out",
        &s(&d.join("run5")),
        "--mask-weights",
        "drums=2",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("unknown mode 'drums'"), "{}", text(&o));

    let missing = d.join("missing.json");
    let o = trainer(&["export", &s(&missing), "--out", &s(&d.join("m.onnx"))]);
    assert_clean_failure(&o, &missing);
    assert!(!d.join("m.onnx").exists());
    let o = trainer(&["eval", &s(&missing), "--data", &generic]);
    assert_clean_failure(&o, &missing);

    let corrupt = d.join("corrupt.json");
    std::fs::write(&corrupt, "{ not json").unwrap();
    let o = trainer(&["export", &s(&corrupt), "--out", &s(&d.join("m.onnx"))]);
    assert_clean_failure(&o, &corrupt);

    // A JSON whose weights file is absent names the weights file.
    let lonely = d.join("lonely.json");
    let spec = format!("generic:{}", s(&empty)).parse().unwrap();
    let cfg = cocola_trainer::train::config::TrainConfig::paper(vec![spec], d.join("r"), d.join("c"));
    let info = cocola_trainer::train::checkpoint::CheckpointInfo {
        step: 1,
        config: cfg,
        train_loss: None,
        validation_loss: None,
        validation_accuracy: None,
        best_validation_loss: None,
        device: "cpu".into(),
        elapsed_s: 0.0,
    };
    std::fs::write(&lonely, serde_json::to_vec(&info).unwrap()).unwrap();
    let o = trainer(&["export", &s(&lonely), "--out", &s(&d.join("m.onnx"))]);
    assert_clean_failure(&o, &d.join("lonely.safetensors"));

    // --init-from a model that is missing, or a file that is not a model.
    let model = d.join("no-model.onnx");
    let o = trainer(&[
        "train",
        "--data",
        &format!("generic:{}", s(&empty)),
        "--out",
        &s(&d.join("run4")),
        "--init-from",
        &s(&model),
    ]);
    assert_clean_failure(&o, &model);
    let o = trainer(&[
        "train",
        "--data",
        &format!("generic:{}", s(&empty)),
        "--out",
        &s(&d.join("run5")),
        "--init-from",
        &s(&corrupt),
    ]);
    assert_clean_failure(&o, &corrupt);
    assert!(text(&o).contains("not an ONNX model"), "{}", text(&o));

    // An unknown dataset kind is a usage error (clap's exit code 2).
    let o = trainer(&[
        "train",
        "--data",
        &format!("bogus:{}", s(d)),
        "--out",
        &s(&d.join("run3")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("unknown dataset kind 'bogus'"), "{}", text(&o));
}

#[test]
fn a_pitch_class_start_needs_two_numbers_a_base_model_and_the_pitch_class_pooling() {
    for bad in ["0.01", "0.01,x", "0,100", "0.01,100,3", "NaN,1"] {
        let o = trainer(&["train", "--data", "generic:x", "--out", "y", "--pitch-class-start", bad]);
        let message = text(&o);
        assert_eq!(o.status.code(), Some(2), "{bad}: {message}");
        assert!(message.contains("GAIN,WEIGHT"), "{bad}: {message}");
    }
    let pitch = ["--input", "pitch", "--pitch-class-start", "0.01,100"];
    let base = ["train", "--data", "generic:x", "--out", "y"];
    let o = trainer(&[&base[..], &pitch[..], &["--pooling", "time-profile"]].concat());
    assert!(text(&o).contains("needs --pooling time-pitch-class"), "{}", text(&o));
    let o = trainer(&[&base[..], &pitch[..], &["--pooling", "time-pitch-class"]].concat());
    assert!(text(&o).contains("name the model to start from"), "{}", text(&o));
}

#[test]
fn an_onset_start_needs_two_numbers_a_base_model_and_the_onset_pooling() {
    let base = ["train", "--data", "generic:x", "--out", "y", "--input", "pitch"];
    let o = trainer(&[&base[..], &["--onset-start", "1"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("GAIN,WEIGHT"), "{}", text(&o));
    let onset = ["--onset-start", "1,6"];
    let o = trainer(&[&base[..], &onset[..], &["--pooling", "time-pitch-class"]].concat());
    assert!(
        text(&o).contains("needs --pooling time-pitch-class-onset"),
        "{}",
        text(&o)
    );
    let o = trainer(&[&base[..], &onset[..], &["--pooling", "time-pitch-class-onset"]].concat());
    assert!(text(&o).contains("name the model to start from"), "{}", text(&o));
}

#[test]
fn a_harmony_start_needs_two_numbers_known_intervals_a_base_model_and_the_harmony_pooling() {
    let base = ["train", "--data", "generic:x", "--out", "y", "--input", "pitch"];
    let o = trainer(&[&base[..], &["--harmony-start", "0.005"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("GAIN,WEIGHT"), "{}", text(&o));
    let o = trainer(&[&base[..], &["--harmony-start", "0.005,80,dissonance"]].concat());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("unknown interval agreement 'dissonance'"),
        "{}",
        text(&o)
    );
    let onset = ["--onset-start", "1,6,consonance", "--pooling", "time-pitch-class-onset"];
    let o = trainer(&[&base[..], &onset[..]].concat());
    assert!(text(&o).contains("only a unison agreement"), "{}", text(&o));
    let harmony = ["--harmony-start", "0.005,80,consonance"];
    let o = trainer(&[&base[..], &harmony[..], &["--pooling", "time-pitch-class-onset"]].concat());
    let message = text(&o);
    assert!(
        message.contains("needs --pooling time-pitch-class-onset-harmony"),
        "{message}"
    );
    let o = trainer(
        &[
            &base[..],
            &harmony[..],
            &["--pooling", "time-pitch-class-onset-harmony"],
        ]
        .concat(),
    );
    assert!(text(&o).contains("name the model to start from"), "{}", text(&o));
    // The harmony profile reads semitone bands: no pooling for the HPS input.
    let hps = [
        "train",
        "--data",
        "generic:x",
        "--out",
        "y",
        "--pooling",
        "time-pitch-class-onset-harmony",
    ];
    let o = trainer(&hps);
    assert!(text(&o).contains("it needs --input pitch"), "{}", text(&o));
}

#[test]
fn a_run_from_a_model_takes_its_input_and_pooling_unless_told_otherwise() {
    // The shipped default has the pitch input and a pooling only that input
    // supports: fine-tuning it with no --input must not fall back to hps
    // and refuse (the run then stops later, at the missing data).
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bundles/models/default.onnx");
    let default = default.to_str().unwrap();
    let run = [
        "train",
        "--data",
        "generic:/nonexistent-stems",
        "--out",
        "y",
        "--init-from",
        default,
    ];
    let message = text(&trainer(&run));
    assert!(message.contains("/nonexistent-stems"), "{message}");
    assert!(!message.contains("--input"), "{message}");
    // Told otherwise, the flags win, and a pooling the input cannot feed is refused.
    let message = text(&trainer(&[&run[..], &["--input", "hps"]].concat()));
    assert!(message.contains("it needs --input pitch, not hps"), "{message}");
}

#[test]
fn holding_the_starts_needs_a_start() {
    let o = trainer(&[
        "train",
        "--data",
        "generic:x",
        "--out",
        "y",
        "--input",
        "pitch",
        "--hold-starts",
    ]);
    let message = text(&o);
    assert!(!o.status.success(), "{message}");
    assert!(
        message.contains("--pitch-class-start, --onset-start or --harmony-start"),
        "{message}"
    );
}

#[test]
fn freezing_the_backbone_needs_a_base_model() {
    let o = trainer(&["train", "--data", "generic:x", "--out", "y", "--freeze-backbone"]);
    let message = text(&o);
    assert_eq!(o.status.code(), Some(2), "{message}");
    assert!(message.contains("--init-from"), "{message}");
}

#[test]
fn a_threshold_loss_is_a_weight_and_an_optional_scale_above_zero() {
    for bad in ["0", "-1", "x", "1,0", "1,y", "NaN"] {
        let message = train_refused(&[&format!("--threshold-loss={bad}")]);
        assert!(message.contains("above 0"), "{bad}: {message}");
    }
}

#[test]
fn hard_negative_emphasis_is_a_count_of_one_or_more_with_hard_negatives() {
    for bad in ["0.5", "0", "x", "NaN", "inf"] {
        let message = train_refused(&["--hard-negatives", "1", &format!("--hard-negative-emphasis={bad}")]);
        assert!(
            message.contains("1 or more") || message.contains("not a number"),
            "{bad}: {message}"
        );
    }
    let message = train_refused(&["--hard-negative-emphasis", "8"]);
    assert!(message.contains("--hard-negatives"), "{message}");
}

#[test]
fn a_time_budget_must_be_a_number_of_minutes_above_zero() {
    for bad in ["0", "soon", "NaN", "inf"] {
        let message = train_refused(&["--time-budget", bad]);
        assert!(message.contains("minutes above 0"), "{bad}: {message}");
    }
}

#[test]
fn prune_stem_cache_lists_then_removes_only_entries_no_track_uses() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    crate::support::generic(&root, 2, 2, 6.0);
    let cache = dir.path().join("cache");
    let tracks = cocola_trainer::data::layouts::discover(&format!("generic:{}", root.display()).parse().unwrap(), 0)
        .unwrap()
        .tracks;
    let in_use = cocola_trainer::data::stem_cache::prepare(&cache, &tracks, 1, &|| {}).unwrap();
    assert_eq!(in_use.tracks.len(), 2);
    let stale = cache.join(format!("{}.stems", "ab".repeat(32)));
    std::fs::write(&stale, vec![0u8; 1000]).unwrap();
    let other = cache.join("notes.txt");
    std::fs::write(&other, "not an entry").unwrap();

    let args = |delete: bool| {
        let mut a = vec!["prune-stem-cache".to_owned(), cache.display().to_string()];
        a.extend(["--data".to_owned(), format!("generic:{}", root.display())]);
        a.extend(delete.then(|| "--delete".to_owned()));
        a
    };
    let listed = trainer(&args(false).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(listed.status.success(), "{}", text(&listed));
    assert!(text(&listed).contains("unused entries: 1 ("), "{}", text(&listed));
    assert!(stale.exists(), "listing must not remove anything");

    let removed = trainer(&args(true).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(removed.status.success(), "{}", text(&removed));
    assert!(!stale.exists() && other.exists());
    assert!(
        in_use.tracks.iter().all(|t| t.file.exists()),
        "an entry in use was removed"
    );
}
