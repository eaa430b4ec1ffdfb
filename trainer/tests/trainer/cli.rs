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
    for sub in ["train", "eval", "export", "doctor"] {
        assert!(text(&o).contains(sub), "top-level help lacks {sub}");
    }
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
fn a_time_budget_must_be_a_number_of_minutes_above_zero() {
    for bad in ["0", "soon", "NaN", "inf"] {
        let o = trainer(&["train", "--data", "generic:x", "--out", "y", "--time-budget", bad]);
        let message = text(&o);
        assert_eq!(o.status.code(), Some(2), "{bad}: {message}");
        assert!(message.contains("minutes above 0"), "{bad}: {message}");
    }
}
