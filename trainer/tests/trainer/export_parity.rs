//! Export: a trained checkpoint through cocola's ONNX writer, run by ONNX
//! Runtime, gives the tch network's embeddings on real features (<= 1e-4),
//! and carries its metadata and calibration.

use cocola::contract::{InputKind, FEATURE_LEN};
use cocola::features::FeatureExtractor;
use cocola::model::arch::{Architecture, Pooling};
use cocola::model::{LoadOptions, Model, ProfileAgreement};
use cocola_trainer::data::dataset::{DatasetSpec, Split};
use cocola_trainer::export::{embed, export, load_network, ExportOptions};
use cocola_trainer::model::{Network, Params};
use cocola_trainer::train::config::{InitFrom, TrainConfig};
use cocola_trainer::train::run;
use tch::{Device, Kind, Tensor};

/// A two-step CPU run on `spec`, in `dir`.
fn two_step_run(spec: DatasetSpec, dir: &std::path::Path) -> TrainConfig {
    let mut c = TrainConfig::paper(vec![spec], dir.join("run"), dir.join("cache"));
    (c.batch, c.steps, c.checkpoint_every, c.validate_every) = (2, 2, 2, 1000);
    (c.workers, c.prefetch, c.cpu, c.torch_threads) = (1, 1, true, 1);
    c
}

fn export_options(name: &str) -> ExportOptions {
    ExportOptions {
        name: name.into(),
        version: "0.1".into(),
        description: String::new(),
        license: "MIT".into(),
        batches: 2,
        training_data: String::new(),
        recalibrate_bn_batches: 0,
    }
}

/// Synthetic stems under `dir/data` and a two-step HPS model trained on
/// them, exported as `dir/base.onnx` ("base 0.1"): a base to fine-tune.
fn exported_base(dir: &std::path::Path) -> (DatasetSpec, std::path::PathBuf) {
    let data = dir.join("data");
    crate::support::generic(&data, 20, 3, 10.0);
    let spec: DatasetSpec = format!("generic:{}", data.display()).parse().unwrap();
    let base_ck = run(&two_step_run(spec.clone(), &dir.join("base")), false, false)
        .unwrap()
        .last_checkpoint
        .unwrap();
    let base = dir.join("base.onnx");
    export(&base_ck, &base, &export_options("base")).unwrap();
    (spec, base)
}

#[test]
fn exported_model_matches_tch_and_is_calibrated() {
    let _turn = crate::support::torch_turn();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    crate::support::generic(&data, 20, 3, 10.0);
    let spec: DatasetSpec = format!("generic:{}", data.display()).parse().unwrap();
    let c = two_step_run(spec, dir.path());
    let outcome = run(&c, false, false).unwrap();
    let ck = outcome.last_checkpoint.unwrap();

    let onnx = dir.path().join("model.onnx");
    let opts = export_options("test");
    let meta = export(&ck, &onnx, &opts).unwrap();
    // Calibrated with hard negatives although the paper's recipe trains
    // without them: each of the 4 validation pairs gets one, and the plain
    // mode rejects every kind.
    let hard = meta.calibration.unwrap().both.hard.expect("hard negatives measured");
    assert_eq!(hard.count, 4);
    assert_eq!(meta.training["steps"], 2);
    // With BatchNorm statistics recomputed from training batches: recorded,
    // and a model that still loads.
    let recalibrated = dir.path().join("recalibrated.onnx");
    let meta = export(
        &ck,
        &recalibrated,
        &ExportOptions {
            recalibrate_bn_batches: 2,
            ..opts.clone()
        },
    )
    .unwrap();
    assert_eq!(meta.training["bn_recalibration_batches"], 2);
    assert_eq!(
        meta.training["w_init_std"], c.w_init_std,
        "a run from scratch records how W was drawn"
    );
    Model::load(&recalibrated, &LoadOptions::default()).unwrap();

    // The exported file holds the checkpoint's tensors exactly, so a run can
    // fine-tune it (--init-from), and that run's export names its base.
    let stored = cocola::model::read_weights_file(&onnx).unwrap();
    let (checkpointed, _) = load_network(&ck, Device::Cpu).unwrap();
    assert_eq!(stored.weights, checkpointed.params.to_named_tensors().unwrap());
    let mut fine = c.clone();
    fine.out = dir.path().join("fine-tuned");
    fine.init_from = Some(InitFrom::read(&onnx, cocola::contract::InputKind::Hps, Pooling::Global).unwrap());
    let fine_ck = run(&fine, false, false).unwrap().last_checkpoint.unwrap();
    let meta = export(&fine_ck, &dir.path().join("fine.onnx"), &opts).unwrap();
    assert_eq!(meta.training["initialized_from"]["model"], "test 0.1");
    assert_eq!(meta.training["initialized_from"]["training"]["steps"], 2);
    assert!(meta.training.get("w_init_std").is_none(), "W came from the base model");

    // Real features: sub-mixes of the synthetic stems.
    let mut ex = FeatureExtractor::new();
    let mut features = vec![0.0f32; 3 * FEATURE_LEN];
    for (i, t) in [0usize, 7, 13].into_iter().enumerate() {
        let mix: Vec<f32> = crate::support::stem(t, 0, 5.0)
            .iter()
            .zip(crate::support::stem(t, 1, 5.0))
            .map(|(a, b)| a + b)
            .collect();
        ex.extract_into(&mix, &mut features[i * FEATURE_LEN..(i + 1) * FEATURE_LEN]);
    }
    let (net, _) = load_network(&ck, Device::Cpu).unwrap();
    let (e, we) = embed(&net, &features, 3);
    let e: Vec<f32> = Vec::try_from(e.flatten(0, -1)).unwrap();
    let we: Vec<f32> = Vec::try_from(we.flatten(0, -1)).unwrap();

    let mut model = Model::load(&onnx, &LoadOptions::default()).unwrap();
    assert_eq!(model.metadata().name, "test");
    let ort = model.embed(&features, 3).unwrap();
    let diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    let (d_e, d_we) = (diff(&e, &ort.embedding), diff(&we, &ort.w_embedding));
    println!("max |tch - ONNX Runtime|: embedding {d_e:.3e}, w_embedding {d_we:.3e}");
    assert!(d_e <= 1e-4 && d_we <= 1e-4, "embedding {d_e}, w_embedding {d_we}");

    // accuracy@K: the trainer's eval (tch) and cocola's protocol on the
    // exported model (ONNX Runtime) agree on the same tracks.
    let options = cocola::eval::SubmixOptions {
        ks: vec![2, 4],
        anchors: 16,
        ..Default::default()
    };
    let spec: DatasetSpec = format!("generic:{}", data.display()).parse().unwrap();
    let ours = cocola_trainer::eval::evaluate(&net, &spec, Split::Validation, 0, &options).unwrap();
    let listing = cocola::eval::tracks::TrackListing {
        tracks: cocola_trainer::data::layouts::discover(&spec, 0)
            .unwrap()
            .tracks
            .into_iter()
            .filter(|t| t.split == Split::Validation)
            .map(|t| cocola::eval::tracks::TrackSpec {
                name: t.name,
                stems: t.stems,
            })
            .collect(),
        warnings: vec![],
    };
    let cache = cocola::eval::EmbeddingCache::disabled();
    let theirs =
        cocola::eval::evaluate_listing(&mut model, &cache, &data, listing, &options, &cocola::eval::NoProgress)
            .unwrap();
    assert_eq!(ours.results.len(), 2 * 3);
    for (a, b) in ours.results.iter().zip(&theirs.results) {
        println!(
            "K={} {}: tch {:.4}, ONNX {:.4}",
            a.accuracy.k, a.mode, a.accuracy.accuracy, b.accuracy.accuracy
        );
        assert_eq!((a.accuracy.k, a.mode), (b.accuracy.k, b.mode));
        // Same draws and protocol; a 2-step model scores near-ties, where the
        // 1e-6 numeric difference may flip an anchor or two (1/16 each).
        assert!((a.accuracy.accuracy - b.accuracy.accuracy).abs() <= 2.0 / 16.0 + 1e-9);
    }
}

/// `--input mel`: the paper's models without HPS train, export and run like
/// the HPS ones, with one channel, no masks and the plain score only.
#[test]
fn a_mel_model_trains_exports_and_matches_tch() {
    let _turn = crate::support::torch_turn();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    crate::support::generic(&data, 20, 3, 10.0);
    let spec: DatasetSpec = format!("generic:{}", data.display()).parse().unwrap();
    let mut c = two_step_run(spec, dir.path());
    c.input = InputKind::Mel;
    c.masks = cocola_trainer::data::sampler::Masks::Off;
    let ck = run(&c, false, false).unwrap().last_checkpoint.unwrap();
    let onnx = dir.path().join("mel.onnx");
    let meta = export(&ck, &onnx, &export_options("mel-test")).unwrap();
    assert_eq!(meta.input, InputKind::Mel);
    let calibration = meta.calibration.unwrap();
    assert!(calibration.harmonic.is_none() && calibration.percussive.is_none());
    assert_eq!(meta.validation_accuracy.as_object().unwrap().len(), 1);

    let mut ex = cocola::features::Extractor::new(InputKind::Mel);
    let features: Vec<f32> = [3usize, 9]
        .iter()
        .flat_map(|&t| ex.extract(&crate::support::stem(t, 1, 5.0)))
        .collect();
    let (net, _) = load_network(&ck, Device::Cpu).unwrap();
    let (e, _) = embed(&net, &features, 2);
    let e: Vec<f32> = Vec::try_from(e.flatten(0, -1)).unwrap();
    let mut model = Model::load(&onnx, &LoadOptions::default()).unwrap();
    assert_eq!(model.input(), InputKind::Mel);
    let ort = model.embed(&features, 2).unwrap();
    let d = e
        .iter()
        .zip(&ort.embedding)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    println!("mel model: max |tch - ONNX Runtime| embedding {d:.3e}");
    assert!(d <= 1e-4, "{d}");

    // A resume must keep the input kind, and an HPS model is no base for it.
    let mut hps = c.clone();
    hps.input = InputKind::Hps;
    assert!(run(&hps, true, false).unwrap_err().to_string().contains("input"));
    let err = InitFrom::read(&onnx, InputKind::Hps, Pooling::Global)
        .unwrap_err()
        .to_string();
    assert!(err.contains("mel model"), "{err}");
}

/// After a run with `--hold-starts`, the started dimensions still read
/// only their profile value, at the start's gain, with a plain LayerNorm,
/// while the rest trained: the other dimensions' profile columns, zero
/// when widened, moved.
fn assert_started_dimensions_held(checkpoint: &std::path::Path, [pitch, onset, harmony]: [ProfileAgreement; 3]) {
    let (net, ck) = load_network(checkpoint, Device::Cpu).unwrap();
    let dims = &ck.info.config.init_from.as_ref().unwrap().started_dimensions;
    assert_eq!(
        dims.len(),
        12 + 100 + 60,
        "pitch classes, onset cells, then harmony cells"
    );
    let named = net.params.to_named_tensors().unwrap();
    let data = |name: &str| named.get(name).unwrap().data.clone();
    let (projection, bias) = (data("encoder.projection.weight"), data("encoder.projection.bias"));
    let (ln_gain, ln_shift) = (data("layer_norm.weight"), data("layer_norm.bias"));
    let width = projection.len() / 512;
    // The pitch classes sit after the pooled features and the time
    // profile (1520), the onset cells after them (1532), the harmony cells
    // last (1632).
    for (k, &dim) in dims.iter().enumerate() {
        let (column, gain) = match k {
            0..12 => (1520 + k, pitch.gain),
            12..112 => (1532 + k - 12, onset.gain),
            _ => (1632 + k - 112, harmony.gain),
        };
        let row = &projection[dim * width..(dim + 1) * width];
        for (c, &v) in row.iter().enumerate() {
            assert_eq!(v, if c == column { gain } else { 0.0 }, "dimension {dim}, column {c}");
        }
        assert_eq!(
            (bias[dim], ln_gain[dim], ln_shift[dim]),
            (0.0, 1.0, 0.0),
            "dimension {dim}"
        );
    }
    let moved = (0..512)
        .filter(|d| !dims.contains(d))
        .filter(|&d| projection[d * width + 1520] != 0.0)
        .count();
    assert!(moved > 0, "the other rows train");
}

/// `--input pitch --pooling time-pitch-class-onset-harmony --init-from` a
/// global HPS model: same tensor shape, so the HPS weights start the run,
/// widened by the time, pitch-class, onset and harmony profiles, the three
/// profiles started as agreement terms; it trains on the pitch features,
/// exports a model whose file says so (three modes, calibrated), and ONNX
/// Runtime runs it as tch does on the pitch extractor's features.
#[test]
fn a_pitch_model_starts_from_an_hps_model_trains_exports_and_matches_tch() {
    let _turn = crate::support::torch_turn();
    let dir = tempfile::tempdir().unwrap();
    let (spec, base) = exported_base(dir.path());

    let mut c = two_step_run(spec, &dir.path().join("pitch"));
    c.input = InputKind::Pitch;
    c.pooling = Pooling::TimePitchClassOnsetHarmony;
    let mut init = InitFrom::read(&base, InputKind::Pitch, c.pooling).unwrap();
    let pitch = ProfileAgreement::unison(0.01, 2.0);
    let onset = ProfileAgreement::unison(1.0, 0.5);
    let harmony = ProfileAgreement::unison(0.005, 1.5);
    (
        init.pitch_class_start,
        init.onset_start,
        init.harmony_start,
        init.hold_starts,
    ) = (Some(pitch), Some(onset), Some(harmony), true);
    c.init_from = Some(init);
    let ck = run(&c, false, false).unwrap().last_checkpoint.unwrap();
    assert_started_dimensions_held(&ck, [pitch, onset, harmony]);
    let onnx = dir.path().join("pitch.onnx");
    let meta = export(&ck, &onnx, &export_options("pitch-test")).unwrap();
    assert_eq!(
        (meta.input, meta.pooling),
        (InputKind::Pitch, Pooling::TimePitchClassOnsetHarmony)
    );
    assert_eq!(meta.training["initialized_from"]["model"], "base 0.1");
    assert_eq!(meta.training["initialized_from"]["pitch_class_start"]["weight"], 2.0);
    assert_eq!(meta.training["initialized_from"]["onset_start"]["weight"], 0.5);
    assert_eq!(meta.training["initialized_from"]["harmony_start"]["weight"], 1.5);
    assert_eq!(meta.training["initialized_from"]["hold_starts"], true);
    let calibration = meta.calibration.unwrap();
    assert!(calibration.harmonic.is_some() && calibration.percussive.is_some());

    let mut ex = cocola::features::Extractor::new(InputKind::Pitch);
    let features: Vec<f32> = [4usize, 12]
        .iter()
        .flat_map(|&t| ex.extract(&crate::support::stem(t, 0, 5.0)))
        .collect();
    let (net, _) = load_network(&ck, Device::Cpu).unwrap();
    let (e, _) = embed(&net, &features, 2);
    let e: Vec<f32> = Vec::try_from(e.flatten(0, -1)).unwrap();
    let mut model = Model::load(&onnx, &LoadOptions::default()).unwrap();
    assert_eq!(model.input(), InputKind::Pitch);
    let ort = model.embed(&features, 2).unwrap();
    let d = e
        .iter()
        .zip(&ort.embedding)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    println!("pitch model: max |tch - ONNX Runtime| embedding {d:.3e}");
    assert!(d <= 1e-4, "{d}");
    // The agreement starts gave 12 dimensions 2, 100 dimensions 0.5 and 60
    // dimensions 1.5 times the centring matrix (diagonals 2 x 11/12, 0.5 x
    // 99/100 and 1.5 x 59/60; two
    // steps of Adam move them by at most about 2 x lr), and their
    // projection rows read the profiles alone, so both profiles are wired
    // into the score and training.
    let w = net.params.get("similarity.w");
    let diagonal: Vec<f64> = Vec::try_from(w.diagonal(0, 0, 1).to_kind(Kind::Double)).unwrap();
    let near = |want: f64| diagonal.iter().filter(|&&v| (v - want).abs() < 0.01).count();
    assert_eq!(near(f64::from(pitch.weight) * 11.0 / 12.0), 12, "{diagonal:?}");
    assert_eq!(near(f64::from(onset.weight) * 0.99), 100, "{diagonal:?}");
    assert_eq!(near(f64::from(harmony.weight) * 59.0 / 60.0), 60, "{diagonal:?}");
    let w = net.params.get("encoder.projection.weight");
    assert!(w.narrow(1, 1520, 12).abs().max().double_value(&[]) > 0.005);
    assert!(w.narrow(1, 1532, 100).abs().max().double_value(&[]) > 0.5);
    assert!(w.narrow(1, 1632, 60).abs().max().double_value(&[]) > 0.004);
    // A mel model has another shape: no base for a pitch run.
    assert!(InitFrom::read(&onnx, InputKind::Mel, Pooling::Global).is_err());
}

/// `--pooling time-profile --init-from` a global model: the run widens the
/// base, trains, exports a time-profile model file, and ONNX Runtime runs
/// its graph as tch does; a time-profile model is no base for a global run.
#[test]
fn a_time_profile_model_widens_trains_exports_and_matches_tch() {
    let _turn = crate::support::torch_turn();
    let dir = tempfile::tempdir().unwrap();
    let (spec, base) = exported_base(dir.path());

    let mut c = two_step_run(spec, &dir.path().join("profile"));
    c.pooling = Pooling::TimeProfile;
    c.init_from = Some(InitFrom::read(&base, InputKind::Hps, Pooling::TimeProfile).unwrap());
    let ck = run(&c, false, false).unwrap().last_checkpoint.unwrap();
    let onnx = dir.path().join("profile.onnx");
    let meta = export(&ck, &onnx, &export_options("profile")).unwrap();
    assert_eq!(meta.pooling, Pooling::TimeProfile);
    assert_eq!(meta.training["initialized_from"]["model"], "base 0.1");

    let mut ex = FeatureExtractor::new();
    let features: Vec<f32> = [2usize, 11]
        .iter()
        .flat_map(|&t| ex.extract(&crate::support::stem(t, 0, 5.0)))
        .collect();
    let (net, _) = load_network(&ck, Device::Cpu).unwrap();
    assert_eq!(net.arch.pooling, Pooling::TimeProfile);
    let (e, we) = embed(&net, &features, 2);
    let e: Vec<f32> = Vec::try_from(e.flatten(0, -1)).unwrap();
    let we: Vec<f32> = Vec::try_from(we.flatten(0, -1)).unwrap();
    let mut model = Model::load(&onnx, &LoadOptions::default()).unwrap();
    assert_eq!(model.metadata().pooling, Pooling::TimeProfile);
    let ort = model.embed(&features, 2).unwrap();
    let diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    let (d_e, d_we) = (diff(&e, &ort.embedding), diff(&we, &ort.w_embedding));
    println!("time profile: max |tch - ONNX Runtime| embedding {d_e:.3e}, w_embedding {d_we:.3e}");
    assert!(d_e <= 1e-4 && d_we <= 1e-4, "embedding {d_e}, w_embedding {d_we}");
    // Two steps of Adam moved the profile's projection columns off zero.
    let w = net.params.get("encoder.projection.weight");
    assert!(w.narrow(1, 1280, 240).abs().max().double_value(&[]) > 0.0);

    let err = InitFrom::read(&onnx, InputKind::Hps, Pooling::Global)
        .unwrap_err()
        .to_string();
    assert!(err.contains("time-profile"), "{err}");
}

/// `--steps 0`: the run writes its starting weights as a checkpoint and
/// trains nothing, so the exported model scores exactly as the base does;
/// a fresh network has no starting weights worth writing and is refused.
#[test]
fn zero_steps_export_the_base_untouched() {
    let _turn = crate::support::torch_turn();
    let dir = tempfile::tempdir().unwrap();
    let (spec, base) = exported_base(dir.path());

    let mut c = two_step_run(spec, &dir.path().join("zero"));
    c.steps = 0;
    let fresh = run(&c, false, false).unwrap_err().to_string();
    assert!(fresh.contains("--init-from"), "{fresh}");
    c.init_from = Some(InitFrom::read(&base, InputKind::Hps, Pooling::Global).unwrap());
    let outcome = run(&c, false, false).unwrap();
    assert_eq!((outcome.last_step, outcome.losses.len()), (0, 0));
    let ck = outcome.last_checkpoint.unwrap();
    assert!(ck.ends_with("step-000000000.json"), "{}", ck.display());
    let onnx = dir.path().join("zero.onnx");
    let meta = export(&ck, &onnx, &export_options("zero")).unwrap();
    assert_eq!(meta.training["steps"], 0);
    assert!(meta.calibration.is_some());

    let mut ex = FeatureExtractor::new();
    let features: Vec<f32> = [3usize, 8]
        .iter()
        .flat_map(|&t| ex.extract(&crate::support::stem(t, 0, 5.0)))
        .collect();
    let embed_with = |path: &std::path::Path| {
        let mut model = Model::load(path, &LoadOptions::default()).unwrap();
        model.embed(&features, 2).unwrap()
    };
    let (was, now) = (embed_with(&base), embed_with(&onnx));
    let d = (was.embedding.iter().chain(&was.w_embedding))
        .zip(now.embedding.iter().chain(&now.w_embedding))
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(d == 0.0, "the base moved by {d}");
}

/// `accumulate_bn_statistics`: the first batch replaces whatever the running
/// statistics held, later ones are averaged in with equal weight. (Checked on
/// the stem's BatchNorm, whose input depends on nothing random.)
#[test]
fn recomputed_batch_norm_statistics_are_the_mean_over_batches() {
    let _turn = crate::support::torch_turn();
    let arch = Architecture::cocola();
    let net = Network::new(arch.clone(), Params::init(&arch, Device::Cpu));
    let running_mean = arch.stem.1.names()[2].clone();
    let stats = |net: &Network| net.params.get(&running_mean).copy();
    let features = |seed: i64| {
        tch::manual_seed(seed);
        (
            Tensor::rand([2, 2, 64, 501], (Kind::Float, Device::Cpu)) * -80.0,
            Tensor::rand([2, 2, 64, 501], (Kind::Float, Device::Cpu)) * -40.0,
        )
    };
    let ((a1, p1), (a2, p2)) = (features(1), features(2));
    let _ = net.params.get(&running_mean).shallow_clone().fill_(1e3);
    net.accumulate_bn_statistics(&a1, &p1, 0);
    let first = stats(&net);
    let _ = net.params.get(&running_mean).shallow_clone().fill_(-7.0);
    net.accumulate_bn_statistics(&a1, &p1, 0);
    assert!(
        first.allclose(&stats(&net), 1e-6, 1e-6, false),
        "the first batch must forget the old statistics"
    );
    assert!(first.abs().max().double_value(&[]) < 1e3);
    net.accumulate_bn_statistics(&a2, &p2, 0);
    let second = stats(&net);
    net.accumulate_bn_statistics(&a1, &p1, 0);
    net.accumulate_bn_statistics(&a2, &p2, 1);
    let mean: Tensor = (&first + &second) / 2.0;
    assert!(
        mean.allclose(&stats(&net), 1e-4, 1e-4, false),
        "two batches average with equal weight"
    );
}
