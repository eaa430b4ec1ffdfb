use super::*;

fn config() -> TrainConfig {
    TrainConfig::paper(Vec::new(), PathBuf::from("run"), PathBuf::from("cache"))
}

#[test]
fn warm_up_rises_linearly_to_the_learning_rate_then_holds() {
    let mut c = config();
    c.lr = 1e-3;
    assert_eq!(c.lr_at(0, 0.0), 1e-3, "no warm-up: the full rate from the first step");
    c.warmup_steps = 4;
    let rates: Vec<f64> = (0..6).map(|s| c.lr_at(s, 0.0)).collect();
    assert_eq!(rates, [2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3]);
}

#[test]
fn a_time_budget_drives_the_cosine_when_it_is_further_along_than_the_steps() {
    let mut c = config();
    c.lr = 1e-3;
    c.steps = 1_000;
    c.lr_schedule = LrSchedule::Cosine;
    c.time_budget_s = Some(100.0);
    // Step 10 of 1 000 after half the budget: the time's half decides.
    assert!((c.lr_at(10, 50.0) - 5e-4).abs() < 1e-12);
    // Step 500 after 10 % of the budget: the steps' half decides.
    assert!((c.lr_at(500, 10.0) - 5e-4).abs() < 1e-12);
    assert_eq!(c.lr_at(10, 100.0), 0.0, "the budget spent: the rate is 0");
    assert!(!c.is_last_step(10, 99.0));
    assert!(c.is_last_step(10, 100.0), "the budget ends the run");
    assert!(c.is_last_step(1_000, 0.0), "so do the steps");
    c.time_budget_s = None;
    assert!(!c.is_last_step(10, 1e9), "without a budget only the steps count");
    let mut other = c.clone();
    other.time_budget_s = Some(60.0);
    let err = other.check_resumable(&c).unwrap_err().to_string();
    assert!(err.contains("time budget"), "{err}");
}

#[test]
fn cosine_falls_from_the_rate_after_the_warm_up_to_zero_at_the_last_step() {
    let mut c = config();
    c.lr = 1e-3;
    c.warmup_steps = 2;
    c.steps = 6;
    c.lr_schedule = LrSchedule::Cosine;
    let rates: Vec<f64> = (0..7).map(|s| c.lr_at(s, 0.0)).collect();
    let expected = [5e-4, 1e-3, 1e-3, 8.535_533_9e-4, 5e-4, 1.464_466_1e-4, 0.0];
    for (r, e) in rates.iter().zip(expected) {
        assert!((r - e).abs() < 1e-10, "{rates:?}");
    }
}

#[test]
fn a_resume_must_keep_the_masks_and_the_schedule() {
    let saved = config();
    let mut c = config();
    assert!(c.check_resumable(&saved).is_ok());
    c.masks = Masks::PerBatch;
    let err = c.check_resumable(&saved).unwrap_err().to_string();
    assert!(err.contains("masks"), "{err}");
    let mut c = config();
    c.warmup_steps = 10;
    let err = c.check_resumable(&saved).unwrap_err().to_string();
    assert!(err.contains("warm-up"), "{err}");
    let mut cosine = config();
    cosine.lr_schedule = LrSchedule::Cosine;
    let err = cosine.check_resumable(&saved).unwrap_err().to_string();
    assert!(err.contains("schedule"), "{err}");
    let longer = TrainConfig {
        steps: saved.steps + 1,
        ..config()
    };
    assert!(
        longer.check_resumable(&saved).is_ok(),
        "a constant rate may be resumed further"
    );
    let longer_cosine = TrainConfig {
        steps: saved.steps + 1,
        ..cosine.clone()
    };
    let err = longer_cosine.check_resumable(&cosine).unwrap_err().to_string();
    assert!(err.contains("steps"), "{err}");
    let mut c = config();
    c.init_from = Some(InitFrom {
        path: PathBuf::from("base.onnx"),
        model: "base 1.0".into(),
        training: serde_json::Value::Null,
        pitch_class_start: None,
        onset_start: None,
        harmony_start: None,
        hold_starts: false,
        started_dimensions: Vec::new(),
    });
    let err = c.check_resumable(&saved).unwrap_err().to_string();
    assert!(err.contains("init-from"), "{err}");
    let mut started = c.clone();
    started.init_from.as_mut().unwrap().pitch_class_start = Some(ProfileAgreement::unison(0.01, 100.0));
    let err = started.check_resumable(&c).unwrap_err().to_string();
    assert!(err.contains("pitch-class, onset or harmony start"), "{err}");
    let mut onset = c.clone();
    onset.init_from.as_mut().unwrap().onset_start = Some(ProfileAgreement::unison(1.0, 6.0));
    assert!(onset.check_resumable(&c).is_err());
    let mut harmony = c.clone();
    harmony.init_from.as_mut().unwrap().harmony_start = Some(ProfileAgreement::unison(0.005, 80.0));
    assert!(harmony.check_resumable(&c).is_err());
    let mut held = onset.clone();
    held.init_from.as_mut().unwrap().hold_starts = true;
    let err = held.check_resumable(&onset).unwrap_err().to_string();
    assert!(err.contains("--hold-starts"), "{err}");
    assert!(c.check_resumable(&c).is_ok());
    let frozen = TrainConfig {
        freeze_backbone: true,
        ..c.clone()
    };
    let err = frozen.check_resumable(&c).unwrap_err().to_string();
    assert!(err.contains("freeze-backbone"), "{err}");
    let mel = TrainConfig {
        input: InputKind::Mel,
        ..config()
    };
    let err = mel.check_resumable(&saved).unwrap_err().to_string();
    assert!(err.contains("input"), "{err}");
    let profile = TrainConfig {
        pooling: Pooling::TimeProfile,
        ..config()
    };
    let err = profile.check_resumable(&saved).unwrap_err().to_string();
    assert!(err.contains("pooling"), "{err}");
    let weighted = TrainConfig {
        hard_negative_weights: "transposed=2".parse().unwrap(),
        ..config()
    };
    let err = weighted.check_resumable(&saved).unwrap_err().to_string();
    assert!(err.contains("weights"), "{err}");
    let matched = TrainConfig {
        matched_processing: true,
        ..config()
    };
    let err = matched.check_resumable(&saved).unwrap_err().to_string();
    assert!(err.contains("matched processing"), "{err}");
    let half_twins = TrainConfig {
        twin_share: 0.5,
        ..config()
    };
    let err = half_twins.check_resumable(&saved).unwrap_err().to_string();
    assert!(err.contains("twin share"), "{err}");
    let thresholded = TrainConfig {
        threshold_loss: Some("1".parse().unwrap()),
        ..config()
    };
    let err = thresholded.check_resumable(&saved).unwrap_err().to_string();
    assert!(err.contains("threshold loss"), "{err}");
    let emphasised = TrainConfig {
        hard_negative_emphasis: 8.0,
        ..config()
    };
    let err = emphasised.check_resumable(&saved).unwrap_err().to_string();
    assert!(err.contains("hard-negative emphasis"), "{err}");
    let target = TrainConfig {
        target_stem: true,
        ..config()
    };
    let err = target.check_resumable(&saved).unwrap_err().to_string();
    assert!(err.contains("target-stem"), "{err}");
    let both_heavy = TrainConfig {
        mask_weights: "both=2".parse().unwrap(),
        ..config()
    };
    let err = both_heavy.check_resumable(&saved).unwrap_err().to_string();
    assert!(err.contains("masks (or their weights)"), "{err}");
}

#[test]
fn configs_written_before_the_new_settings_still_load_with_the_paper_values() {
    let mut json = serde_json::to_value(config()).unwrap();
    for key in [
        "warmup_steps",
        "lr_schedule",
        "w_init_std",
        "masks",
        "init_from",
        "input",
        "pooling",
        "hard_negative_weights",
        "mask_weights",
        "matched_processing",
        "twin_share",
        "threshold_loss",
        "hard_negative_emphasis",
        "target_stem",
    ] {
        json.as_object_mut().unwrap().remove(key);
    }
    let c: TrainConfig = serde_json::from_value(json).unwrap();
    assert_eq!((c.warmup_steps, c.w_init_std, c.masks), (0, 0.05, Masks::PerPair));
    assert_eq!((c.lr_schedule, c.init_from), (LrSchedule::Constant, None));
    assert_eq!((c.input, c.pooling), (InputKind::Hps, Pooling::Global));
    assert_eq!(c.hard_negative_weights, KindWeights::default());
    assert_eq!(c.mask_weights, MaskWeights::default());
    assert!(!c.matched_processing);
    assert_eq!(c.twin_share, 1.0);
    assert_eq!(c.threshold_loss, None);
    assert_eq!((c.hard_negative_emphasis, c.target_stem), (1.0, false));
}
