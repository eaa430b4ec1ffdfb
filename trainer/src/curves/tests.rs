use super::*;

const METRICS: &str = r#"{"kind":"train","step":1,"loss":2.0,"threshold_loss":1.0,"accuracy":0.5,"windows_per_s":20.0,"elapsed_s":4.0}
{"kind":"train","step":2,"loss":1.0,"threshold_loss":0.5,"accuracy":0.6,"windows_per_s":20.0,"elapsed_s":8.0}
{"kind":"validation","step":2,"loss":1.5,"accuracy":0.7}
{"kind":"sensitivity","step":2,"anchors":64,"win_rates":{"both":{"foreign":0.9,"shifted":0.8,"transposed":0.7},"floor":{"foreign":0.95,"shifted":0.85,"transposed":0.75}}}
{"kind":"hard_negatives","step":2,"pairs":{"both":{"transposed":20},"harmonic":{"transposed":30},"percussive":{"stretched":10}},"win_rates":{"both":{"transposed":0.85},"harmonic":{"transposed":0.9},"percussive":{"stretched":0.6}}}
{"kind":"train","step":3,"loss":3.0,"accuracy":0.6,"windows_per_s":20.0,"elapsed_s":12.0}
"#;

fn run_with(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("pilot");
    std::fs::create_dir(&run).unwrap();
    std::fs::write(run.join("metrics.jsonl"), text).unwrap();
    (dir, run)
}

#[test]
fn every_kind_of_record_lands_in_its_series() {
    let (_dir, run) = run_with(METRICS);
    let c = RunCurves::read(&run).unwrap();
    assert_eq!(c.name, "pilot");
    assert_eq!(c.loss, vec![(1, 2.0), (2, 1.0), (3, 3.0)]);
    assert_eq!(c.threshold_loss, vec![(1, 1.0), (2, 0.5)]);
    assert_eq!(
        (c.validation_loss.clone(), c.validation_accuracy.clone()),
        (vec![(2, 1.5)], vec![(2, 0.7)])
    );
    assert_eq!(c.win_rates["transposed"], vec![(2, 0.7)]);
    assert_eq!(c.floor["shifted"], vec![(2, 0.85)]);
    let hard = |mode: &str, kind: &str| c.hard_negatives[&(mode.to_string(), kind.to_string())].clone();
    assert_eq!(hard("harmonic", "transposed"), vec![(2, 0.9)]);
    assert_eq!(hard("percussive", "stretched"), vec![(2, 0.6)]);
    assert_eq!(c.hard_negatives.len(), 3);
    assert_eq!((c.last_step(), c.elapsed_s), (3, 12.0));
}

#[test]
fn a_cut_last_line_is_passed_over_and_any_other_bad_line_named() {
    let (_dir, run) = run_with(&format!("{METRICS}{{\"kind\":\"train\",\"st"));
    assert_eq!(RunCurves::read(&run).unwrap().last_step(), 3);
    let (_dir, run) = run_with(&format!("{{\"kind\":\"train\",\"st\n{METRICS}"));
    let err = RunCurves::read(&run).unwrap_err().to_string();
    assert!(err.contains("metrics.jsonl:1: not a metrics record"), "{err}");
    let (_dir, run) = run_with("{\"kind\":\"validation\",\"step\":1,\"loss\":1.0}\n");
    let err = RunCurves::read(&run).unwrap_err().to_string();
    assert!(err.contains(":1:") && err.contains("accuracy"), "{err}");
    let (_dir, run) = run_with("");
    assert!(matches!(RunCurves::read(&run), Err(CurvesError::Empty(_))));
    let err = RunCurves::read(Path::new("/no/such/run")).unwrap_err().to_string();
    assert!(
        err.contains("/no/such/run/metrics.jsonl") && err.contains("run folder"),
        "{err}"
    );
}

#[test]
fn the_running_mean_covers_the_last_window_of_steps() {
    let s = vec![(1, 1.0), (2, 3.0), (3, 5.0), (4, 7.0)];
    assert_eq!(running_mean(&s, 2), vec![(1, 1.0), (2, 2.0), (3, 4.0), (4, 6.0)]);
    assert_eq!(running_mean(&s, 1), s);
    assert_eq!(running_mean(&s, 10)[3], (4, 4.0));
    assert!(running_mean(&[], 5).is_empty());
}

#[test]
fn the_chart_draws_every_panel_and_names_the_runs() {
    let (_dir, run) = run_with(METRICS);
    let one = CurvesChart {
        runs: vec![RunCurves::read(&run).unwrap()],
        smooth: 2,
    };
    let svg = cocola::visual::to_svg(&one).unwrap();
    for text in [
        "pilot: 3 steps in 0 min",
        "training loss (running mean of 2 steps",
        "validation loss",
        "validation accuracy",
        "sensitivity, both mode",
        "own hard negatives, both mode",
        "own hard negatives: harmonic (transposed), percussive (shifted, stretched)",
    ] {
        assert!(svg.contains(text), "{text} missing");
    }
    let legend: Vec<String> = one.legend().into_iter().map(|(label, _)| label).collect();
    assert_eq!(legend, ["transposed", "shifted", "foreign", "stretched"]);
    // The floor and the threshold loss are dashed lines; three hard-negative lines.
    assert!(svg.matches("<polyline").count() >= 4 + 2 + 3 + 3);
    let mut other = one.runs[0].clone();
    other.name = "other".into();
    let two = CurvesChart {
        runs: vec![one.runs[0].clone(), other],
        smooth: 2,
    };
    let svg = cocola::visual::to_svg(&two).unwrap();
    assert!(svg.contains("pilot (3 steps) vs other (3 steps)"));
    assert!(cocola::visual::to_png(&two).unwrap().starts_with(b"\x89PNG"));
}

#[test]
fn a_zero_step_run_draws_its_base_validation() {
    let zero_steps = r#"{"kind":"validation","step":0,"loss":1.15,"accuracy":0.75}
{"kind":"sensitivity","step":0,"anchors":64,"win_rates":{"both":{"foreign":0.97,"shifted":0.92,"transposed":0.86},"floor":{"foreign":0.97,"shifted":0.98,"transposed":0.84}}}
"#;
    let (_dir, run) = run_with(zero_steps);
    let curves = RunCurves::read(&run).unwrap();
    assert!(curves.loss.is_empty());
    assert_eq!(curves.validation_loss, vec![(0, 1.15)]);
    let chart = CurvesChart {
        runs: vec![curves],
        smooth: 2,
    };
    let svg = cocola::visual::to_svg(&chart).unwrap();
    assert!(svg.contains("pilot: no training step, validation of its base model"));
    assert!(
        svg.contains("not recorded by this run"),
        "the training-loss panel says why it is empty"
    );
    assert!(svg.contains("<circle"), "the validation points are marked");
}
