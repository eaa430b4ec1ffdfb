//! Training on the CPU: the training step learns (one batch is memorised),
//! a whole run's loss falls and it writes metrics and checkpoints, a resumed
//! run equals an uninterrupted one, and a NaN loss stops with the last good
//! checkpoint kept.

use std::path::Path;

use cocola::model::arch::Architecture;
use cocola_trainer::data::dataset::DatasetSpec;
use cocola_trainer::model::adam::Adam;
use cocola_trainer::model::threshold::{threshold_loss, ThresholdLoss};
use cocola_trainer::model::{Network, Params};
use cocola_trainer::train::config::{InitFrom, TrainConfig};
use cocola_trainer::train::{checkpoint, run, train_step, HardNegativeTerms};

fn config(data: &Path, out: &Path, steps: u64) -> TrainConfig {
    let spec: DatasetSpec = format!("generic:{}", data.display()).parse().unwrap();
    let mut c = TrainConfig::paper(vec![spec], out.to_path_buf(), data.parent().unwrap().join("cache"));
    c.batch = 4;
    c.steps = steps;
    c.validate_every = 5;
    c.validation_batches = 1;
    c.checkpoint_every = 5;
    c.workers = 1;
    c.prefetch = 2;
    c.cpu = true;
    c.torch_threads = 1;
    c
}

/// The standard sanity check of a training step: repeated on one fixed
/// batch, it must memorise which column belongs to which row. A wrong
/// gradient sign, a detached graph, an optimiser that does not write its
/// update or labels off the diagonal all leave the accuracy at chance. (On
/// fresh batches of the toy tracks, 40 steps at K = 4 are too few for the
/// full network: measured accuracy 0.28-0.30 against chance 0.25, whatever
/// the learning rate and W scale; the run test below only sees its loss fall.)
#[test]
fn repeated_steps_on_one_batch_memorise_it() {
    let _turn = crate::support::torch_turn();
    tch::manual_seed(0);
    const K: i64 = 8;
    // Short windows (64 frames instead of 501) keep this fast: the encoder
    // pools over time, so the input length does not change what is tested.
    let shape = [K, 2, 64, 64];
    let anchors = tch::Tensor::randn(shape, (tch::Kind::Float, tch::Device::Cpu));
    let positives = tch::Tensor::randn(shape, (tch::Kind::Float, tch::Device::Cpu));
    let arch = Architecture::cocola();
    let net = Network::new(arch.clone(), Params::init_with_w_std(&arch, tch::Device::Cpu, 0.002));
    // Train mode keeps dropout, drop-connect and batch statistics, so single
    // steps still miss now and then; the last 10 steps are judged together.
    const STEPS: usize = 40;
    const LR: f64 = 1e-4;
    let mut adam = Adam::new(&net.params, LR);
    let results: Vec<_> = (0..STEPS)
        .map(|_| train_step(&net, &mut adam, &anchors, &positives, HardNegativeTerms::NONE, LR))
        .collect();
    let losses: Vec<f64> = results.iter().map(|r| r.loss).collect();
    let accuracy: Vec<f64> = results.iter().map(|r| r.accuracy).collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (late_loss, late_accuracy) = (mean(&losses[STEPS - 10..]), mean(&accuracy[STEPS - 10..]));
    let chance_loss = (K as f64).ln();
    println!(
        "last 10 steps: loss {late_loss:.3} (chance {chance_loss:.3}), accuracy {late_accuracy:.3} (chance 0.125)"
    );
    assert!(
        late_accuracy >= 0.75,
        "the batch was not memorised: accuracy {accuracy:.3?}"
    );
    assert!(
        late_loss < 0.3 * chance_loss,
        "the loss stayed near chance: {losses:.3?}"
    );
}

/// `--freeze-backbone`: the optimiser updates the head alone (projection,
/// LayerNorm, W, and the time profile's conv where the pooling has one),
/// the backbone's weights and BatchNorm statistics stay exactly as they
/// were through training-mode steps, and the head still learns: on one
/// fixed batch the loss falls well below its start.
#[test]
fn a_frozen_backbone_trains_the_head_alone() {
    let _turn = crate::support::torch_turn();
    let head = [
        "encoder.projection.bias",
        "encoder.projection.weight",
        "layer_norm.bias",
        "layer_norm.weight",
        "similarity.w",
    ];
    let time_profile = ["encoder.time_profile.bias", "encoder.time_profile.weight"];
    // The paper's global pool on short windows (it pools over time, so the
    // length does not matter), and the shipped pooling on full ones.
    let pitch = Architecture::new(
        cocola::contract::InputKind::Pitch,
        cocola::model::arch::Pooling::TimePitchClass,
    );
    for (arch, frames, trained) in [
        (Architecture::cocola(), 64, head.to_vec()),
        (pitch, 501, [&head[..2], &time_profile[..], &head[2..]].concat()),
    ] {
        trains_the_head_alone(arch, frames, &trained);
    }
}

fn trains_the_head_alone(arch: Architecture, frames: i64, head: &[&str]) {
    tch::manual_seed(3);
    const K: i64 = 8;
    const LR: f64 = 1e-3;
    let cpu = (tch::Kind::Float, tch::Device::Cpu);
    let anchors = tch::Tensor::randn([K, 2, 64, frames], cpu);
    let positives = tch::Tensor::randn([K, 2, 64, frames], cpu);
    let mut net = Network::new(arch.clone(), Params::init_with_w_std(&arch, tch::Device::Cpu, 0.002));
    // A frozen backbone runs on its BatchNorm statistics: fresh ones (mean
    // 0, variance 1) would wash out the differences between inputs, as no
    // trained model's do.
    net.accumulate_bn_statistics(&anchors, &positives, 0);
    net.freeze_backbone();
    let trained: Vec<&str> = net.params.trainable().map(|(n, _)| n).collect();
    assert_eq!(trained, head, "the head alone trains");
    let before: Vec<(String, tch::Tensor)> = net.params.iter().map(|(n, t)| (n.to_string(), t.copy())).collect();
    let mut adam = Adam::new(&net.params, LR);
    let losses: Vec<f64> = (0..30)
        .map(|_| train_step(&net, &mut adam, &anchors, &positives, HardNegativeTerms::NONE, LR).loss)
        .collect();
    for (name, old) in &before {
        let same = net.params.get(name).equal(old);
        let is_head = head.contains(&name.as_str());
        assert_eq!(
            same,
            !is_head,
            "{name}: {}",
            if is_head { "did not train" } else { "moved" }
        );
    }
    println!("{frames} frames: loss {:.3} -> {:.3}", losses[0], losses[29]);
    assert!(losses[29] < 0.5 * losses[0], "the head did not learn: {losses:.3?}");
}

/// Steps and learning rate of the one-batch tests below.
const MEMORISED_STEPS: usize = 30;
const MEMORISED_LR: f64 = 1e-4;

/// One batch of K = 8 random pairs and one hard negative, anchor 3's: its
/// positive with noise, close to it. Returns (anchors, candidates, a fresh
/// network, the hard negative's owners); the network is the same at every
/// call.
fn memorised_batch() -> (tch::Tensor, tch::Tensor, Network, [usize; 1]) {
    tch::manual_seed(1);
    let cpu = (tch::Kind::Float, tch::Device::Cpu);
    let anchors = tch::Tensor::randn([8, 2, 64, 64], cpu);
    let positives = tch::Tensor::randn([8, 2, 64, 64], cpu);
    let hard = positives.narrow(0, 3, 1) + tch::Tensor::randn([1, 2, 64, 64], cpu) * 0.5;
    let candidates = tch::Tensor::cat(&[&positives, &hard], 0);
    tch::manual_seed(2);
    let arch = Architecture::cocola();
    let net = Network::new(arch.clone(), Params::init_with_w_std(&arch, tch::Device::Cpu, 0.002));
    (anchors, candidates, net, [3])
}

/// The shared-threshold loss reaches the network: trained on one batch with
/// it, the batch's scores sit further on the right side of the batch's line
/// than after the same steps without it (the contrastive loss alone also
/// separates a memorised batch, only less).
#[test]
fn the_threshold_loss_trains_the_network() {
    let _turn = crate::support::torch_turn();
    let settings = ThresholdLoss {
        weight: 1.0,
        scale: 1.0,
    };
    let trained_loss = |with_threshold: bool| {
        let (anchors, candidates, net, owners) = memorised_batch();
        let mut adam = Adam::new(&net.params, MEMORISED_LR);
        // Weighed well above the contrastive loss, so that its effect shows in few steps.
        let strong = ThresholdLoss {
            weight: 10.0,
            ..settings
        };
        let hard = HardNegativeTerms {
            owners: &owners,
            emphasis: 1.0,
            threshold: with_threshold.then_some(strong),
        };
        let steps: Vec<_> = (0..MEMORISED_STEPS)
            .map(|_| train_step(&net, &mut adam, &anchors, &candidates, hard, MEMORISED_LR))
            .collect();
        assert_eq!(steps[0].threshold_loss.is_some(), with_threshold);
        let sim = tch::no_grad(|| net.pair_similarity(&anchors, &candidates, true));
        threshold_loss(&sim, &owners, settings).double_value(&[])
    };
    let (with, without) = (trained_loss(true), trained_loss(false));
    println!("threshold loss after {MEMORISED_STEPS} steps: {with:.4} with it, {without:.4} without");
    assert!(with < 0.7 * without, "{with:.4} with the loss, {without:.4} without");
}

/// Hard-negative emphasis reaches the network: trained on one batch with
/// anchor 3's own hard negative counted 20 times, the positive's margin over
/// it grows more than in the same steps with it counted once. The reported
/// loss stays plain Eq. 3: equal at the first step, whatever the emphasis.
#[test]
fn emphasis_pulls_the_own_hard_negative_down() {
    let _turn = crate::support::torch_turn();
    let trained = |emphasis: f64| {
        let (anchors, candidates, net, owners) = memorised_batch();
        let mut adam = Adam::new(&net.params, MEMORISED_LR);
        let hard = HardNegativeTerms {
            owners: &owners,
            emphasis,
            threshold: None,
        };
        let losses: Vec<f64> = (0..MEMORISED_STEPS)
            .map(|_| train_step(&net, &mut adam, &anchors, &candidates, hard, MEMORISED_LR).loss)
            .collect();
        let sim = tch::no_grad(|| net.pair_similarity(&anchors, &candidates, true));
        // Column 8 is the hard negative, after the 8 positives.
        let margin = sim.double_value(&[3, 3]) - sim.double_value(&[3, 8]);
        (losses[0], margin)
    };
    let ((first_once, once), (first_emphasised, emphasised)) = (trained(1.0), trained(20.0));
    println!("margin over the hard negative after {MEMORISED_STEPS} steps: {emphasised:.3} emphasised, {once:.3} once");
    assert_eq!(first_once, first_emphasised, "the reported loss is plain Eq. 3");
    assert!(emphasised > once + 0.1, "{emphasised:.3} emphasised, {once:.3} once");
}

/// The whole loop: batches from the pipeline, metrics, validation,
/// checkpoints. With the reference's W scale the logits start large, so
/// the loss falls fast in 40 steps.
#[test]
fn a_short_run_lowers_the_loss_and_writes_metrics_and_checkpoints() {
    let _turn = crate::support::torch_turn();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    crate::support::generic(&data, 20, 3, 12.0);
    let mut c = config(&data, &dir.path().join("run"), 40);
    c.checkpoint_every = 100;
    let t = std::time::Instant::now();
    let out = run(&c, false, false).unwrap();
    let per_step = t.elapsed().as_secs_f64() / 40.0;
    let first: f64 = out.losses[..10].iter().sum::<f64>() / 10.0;
    let last: f64 = out.losses[30..].iter().sum::<f64>() / 10.0;
    println!("K=4 CPU step {per_step:.2} s; mean loss first 10 steps {first:.3}, last 10 {last:.3}");
    assert!(last < first * 0.7, "loss did not fall: {first} -> {last}");
    let metrics = std::fs::read_to_string(c.out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().filter(|l| l.contains("\"train\"")).count(), 40);
    assert!(metrics.lines().any(|l| l.contains("\"validation\"")));
    assert!(c.out.join("checkpoints/best.json").is_file());
}

#[test]
fn resume_matches_an_uninterrupted_run() {
    let _turn = crate::support::torch_turn();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    crate::support::generic(&data, 20, 3, 10.0);
    let whole = config(&data, &dir.path().join("whole"), 10);
    let a = run(&whole, false, false).unwrap();
    // Interrupted after the checkpoint at step 5, then resumed to 10.
    let part = config(&data, &dir.path().join("part"), 5);
    run(&part, false, false).unwrap();
    let resumed = TrainConfig {
        steps: 10,
        ..part.clone()
    };
    let resume_started = std::time::Instant::now();
    let b = run(&resumed, true, false).unwrap();
    let resume_wall = resume_started.elapsed().as_secs_f64();
    assert_eq!(b.start_step, 5);
    assert_eq!(&a.losses[5..], &b.losses[..], "losses after resuming differ");
    let wa = checkpoint::load(&whole.out.join("checkpoints/step-000000010.json")).unwrap();
    let wb = checkpoint::load(&part.out.join("checkpoints/step-000000010.json")).unwrap();
    // The training time counts the first 5 steps too, not just the resumed run.
    let before = checkpoint::load(&part.out.join("checkpoints/step-000000005.json"))
        .unwrap()
        .info
        .elapsed_s;
    assert!(
        wb.info.elapsed_s > resume_wall && wb.info.elapsed_s >= before,
        "training time {} s does not include the first run's {before} s (resumed run: {resume_wall} s)",
        wb.info.elapsed_s
    );
    let mut max = 0.0f64;
    for (name, t) in &wa.tensors {
        let d = (t - &wb.tensors[name]).abs().max().double_value(&[]);
        max = max.max(d);
    }
    println!("max weight difference, resumed vs uninterrupted: {max:e}");
    assert!(max <= 1e-6, "weights differ by {max}");
}

/// A spent time budget ends the run like its last step: checkpointed, not
/// "stopped early", long before `steps`. (A budget already
/// spent while loading leaves exactly one step, at a learning rate of 0.)
#[test]
fn a_spent_time_budget_ends_the_run_with_a_checkpoint() {
    let _turn = crate::support::torch_turn();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    crate::support::generic(&data, 20, 3, 10.0);
    let mut c = config(&data, &dir.path().join("run"), 1_000);
    c.lr_schedule = cocola_trainer::train::config::LrSchedule::Cosine;
    c.time_budget_s = Some(1e-6);
    c.checkpoint_every = 100;
    let out = run(&c, false, false).unwrap();
    assert_eq!((out.last_step, out.stopped_early), (1, false));
    assert!(c.out.join("checkpoints/step-000000001.json").is_file());
    let metrics = std::fs::read_to_string(c.out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().filter(|l| l.contains("\"train\"")).count(), 1);
}

#[test]
fn nan_loss_stops_and_keeps_the_last_checkpoint() {
    let _turn = crate::support::torch_turn();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    crate::support::generic(&data, 20, 3, 10.0);
    let c = config(&data, &dir.path().join("run"), 2);
    // An absurd learning rate blows the weights up after one step.
    let mut c3 = c.clone();
    c3.out = dir.path().join("run3");
    c3.lr = 1e30;
    c3.steps = 60;
    c3.checkpoint_every = 1;
    c3.validate_every = 1000;
    let err = run(&c3, false, false).unwrap_err().to_string();
    assert!(err.contains("loss became"), "{err}");
    assert!(err.contains("last good checkpoint"), "{err}");
    let kept = checkpoint::latest(&c3.out.join("checkpoints")).expect("a checkpoint survives");
    assert!(kept.tensors.values().all(|t| t.isfinite().all().int64_value(&[]) != 0));
}

/// `--init-from`: a fresh run starts from an exported model's weights
/// (fine-tuning) instead of its own seeded initialisation, and its
/// checkpoints say which model that was.
#[test]
fn a_run_initialised_from_a_model_starts_from_its_weights() {
    let _turn = crate::support::torch_turn();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    crate::support::generic(&data, 20, 3, 10.0);
    // The base model as `export` writes it, from weights the run's own seed
    // (0) would not draw: were they ignored, every weight would differ.
    let arch = Architecture::cocola();
    tch::manual_seed(123);
    let base = Params::init_with_w_std(&arch, tch::Device::Cpu, 0.01)
        .to_named_tensors()
        .unwrap();
    let mut meta = cocola::model::testing::test_metadata();
    meta.name = "base-model".into();
    let model = dir.path().join("base.onnx");
    cocola::model::write_model_file(&model, &base, &meta).unwrap();

    let mut c = config(&data, &dir.path().join("run"), 1);
    c.checkpoint_every = 1;
    c.validate_every = 1;
    c.sensitivity_anchors = 6;
    // One Adam step moves each weight by about lr.
    c.lr = 1e-9;
    c.init_from = Some(
        InitFrom::read(
            &model,
            cocola::contract::InputKind::Hps,
            cocola::model::arch::Pooling::Global,
        )
        .unwrap(),
    );
    run(&c, false, false).unwrap();
    let ck = checkpoint::load(&c.out.join("checkpoints/step-000000001.json")).unwrap();
    assert_eq!(ck.info.config.init_from.unwrap().model, "base-model 0.0.0-test");
    let mut max = 0.0f32;
    for p in arch.parameters().into_iter().filter(|p| !p.role.is_buffer()) {
        let trained: Vec<f32> = Vec::try_from(ck.tensors[&p.name].flatten(0, -1)).unwrap();
        let started = &base.get(&p.name).unwrap().data;
        for (a, b) in trained.iter().zip(started) {
            max = max.max((a - b).abs());
        }
    }
    assert!(
        max < 1e-6,
        "weights moved {max} from the base model's in one step at lr 1e-9"
    );
    // The base model was validated before the first step, as step 0, with
    // its sensitivity test; then step 1 as usual. The best checkpoint is
    // the run's own: step 1's loss barely differs from the base model's
    // (lr 1e-9), so had the base validation counted, step 1 might not
    // have been recorded as the best.
    let metrics = std::fs::read_to_string(c.out.join("metrics.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = metrics.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let steps_of = |kind: &str| -> Vec<u64> {
        records
            .iter()
            .filter(|r| r["kind"] == kind)
            .map(|r| r["step"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(steps_of("validation"), [0, 1], "{metrics}");
    assert_eq!(steps_of("sensitivity"), [0, 1], "{metrics}");
    let step_1_loss = records
        .iter()
        .find(|r| r["kind"] == "validation" && r["step"] == 1)
        .unwrap()["loss"]
        .as_f64()
        .unwrap();
    let best = checkpoint::load(&c.out.join("checkpoints/best.json")).unwrap();
    assert_eq!((best.info.step, best.info.best_validation_loss), (1, Some(step_1_loss)));

    // The base file is replaced (as when a run's export overwrites it);
    // resuming keeps naming the model the weights came from.
    meta.name = "replacement".into();
    cocola::model::write_model_file(&model, &base, &meta).unwrap();
    let resumed = TrainConfig {
        steps: 2,
        init_from: Some(
            InitFrom::read(
                &model,
                cocola::contract::InputKind::Hps,
                cocola::model::arch::Pooling::Global,
            )
            .unwrap(),
        ),
        ..c.clone()
    };
    run(&resumed, true, false).unwrap();
    let ck = checkpoint::load(&c.out.join("checkpoints/step-000000002.json")).unwrap();
    assert_eq!(ck.info.config.init_from.unwrap().model, "base-model 0.0.0-test");
}

/// Hard negatives (`--hard-negatives`): a batch carries one per pair at
/// share 1, each masked like its pair, and they enter the loss as extra
/// columns; the validation also runs the sensitivity test and records its
/// win rates per mode and for the model-free floor, on more anchors at the
/// last step (validated though off the --validate-every grid).
#[test]
fn hard_negatives_join_the_batch_and_validation_measures_sensitivity() {
    let _turn = crate::support::torch_turn();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    crate::support::generic(&data, 20, 3, 12.0);
    let mut c = config(&data, &dir.path().join("run"), 5);
    c.hard_negatives = 1.0;
    c.masks = cocola_trainer::data::sampler::Masks::PerBatch;
    c.sensitivity_anchors = 6;
    c.validate_every = 3;
    c.final_sensitivity_anchors = 9;

    let listing = cocola_trainer::data::layouts::discover(&c.data[0], c.seed).unwrap();
    let store = cocola_trainer::data::store::MemoryStore {
        tracks: listing
            .tracks
            .iter()
            .map(|t| {
                t.stems
                    .iter()
                    .map(|p| cocola::audio::load_mono_16k(p).unwrap())
                    .collect()
            })
            .collect(),
    };
    let source = cocola_trainer::data::pipeline::Source {
        input: c.input,
        store: std::sync::Arc::new(store),
        pools: cocola_trainer::data::sampler::Pools::new(vec![(1.0, (0..listing.tracks.len()).collect())]).unwrap(),
        config: c.sampler(),
        seed: 0,
        stream: cocola_trainer::data::sampler::Stream::Train,
        features: None,
    };
    let batch = source.batch(0, &mut source.extractor()).unwrap();
    assert_eq!(
        batch.negative_count(),
        batch.k,
        "share 1: every pair has a hard negative"
    );
    assert!(batch.pairs.iter().all(|p| p.negative.is_some()));
    let (anchors, candidates) = cocola_trainer::train::batch_tensors(&batch, tch::Device::Cpu);
    assert_eq!(anchors.size()[0], 4);
    assert_eq!(candidates.size()[0], 8, "positives then negatives: K + M columns");
    // The kinds' weights reach the batches: with the others at 0, every hard
    // negative is a transposition (and percussive-mask batches have none).
    let only_transposed = cocola_trainer::data::pipeline::Source {
        config: cocola_trainer::data::sampler::SamplerConfig {
            hard_negative_weights: "shifted=0,stretched=0".parse().unwrap(),
            ..c.sampler()
        },
        ..source
    };
    let kinds: Vec<_> = (0..6)
        .flat_map(|b| {
            only_transposed
                .batch(b, &mut only_transposed.extractor())
                .unwrap()
                .pairs
        })
        .filter_map(|p| p.negative.map(|(kind, _)| kind))
        .collect();
    assert!(!kinds.is_empty());
    assert!(kinds
        .iter()
        .all(|&k| k == cocola_trainer::data::hard_negatives::HardNegativeKind::Transposed));

    let out = run(&c, false, false).unwrap();
    assert!(out.losses.iter().all(|l| l.is_finite()));
    // With M extra columns the chance-level loss is ln(K + M), not ln K.
    assert!(out.losses[0] > (4f64).ln(), "first loss {}", out.losses[0]);
    let metrics = std::fs::read_to_string(c.out.join("metrics.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "sensitivity")
        .collect();
    let steps_and_anchors: Vec<(u64, u64)> = records
        .iter()
        .map(|r| (r["step"].as_u64().unwrap(), r["anchors"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        steps_and_anchors,
        [(3, 6), (5, 9)],
        "step 3 on the grid with 6 anchors, the last step with 9"
    );
    for record in &records {
        for mode in ["both", "harmonic", "percussive", "floor"] {
            for kind in ["transposed", "shifted", "foreign"] {
                let rate = record["win_rates"][mode][kind].as_f64().unwrap_or(-1.0);
                assert!((0.0..=1.0).contains(&rate), "{mode}/{kind}: {rate}");
            }
        }
    }
    // Each validation also scores the recipe's own hard negatives.
    let hard: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "hard_negatives")
        .collect();
    let steps: Vec<u64> = hard.iter().map(|r| r["step"].as_u64().unwrap()).collect();
    assert_eq!(steps, [3, 5], "{metrics}");
    for record in &hard {
        let modes = record["win_rates"].as_object().unwrap();
        assert!(!modes.is_empty(), "{record}");
        for (mode, kinds) in modes {
            for (kind, rate) in kinds.as_object().unwrap() {
                // A kind is measured only in the modes that should reject it.
                let allowed: &[&str] = match mode.as_str() {
                    "harmonic" => &["transposed"],
                    "percussive" => &["shifted", "stretched"],
                    "both" => &["transposed", "shifted", "stretched"],
                    other => panic!("mode {other}"),
                };
                assert!(allowed.contains(&kind.as_str()), "{mode}/{kind}");
                assert!((0.0..=1.0).contains(&rate.as_f64().unwrap()), "{mode}/{kind}: {rate}");
                assert!(record["pairs"][mode][kind].as_u64().unwrap() > 0, "{record}");
            }
        }
    }

    // A hard negative identical to its positive ties with it, whatever the
    // weights: exactly one half, so each negative is read against its own
    // pair's positive (any other column would not tie).
    let mut copies = batch.clone();
    copies.negatives = copies.positives.clone();
    let arch = Architecture::new(c.input, c.pooling);
    let net = Network::new(arch.clone(), Params::init(&arch, tch::Device::Cpu));
    let rates = cocola_trainer::train::validation::hard_negative_win_rates(&net, &[copies], tch::Device::Cpu);
    let pairs: usize = rates.values().map(|w| w.n).sum();
    assert_eq!(pairs, batch.k);
    assert!(rates.values().all(|w| w.rate == 0.5), "{rates:?}");
}
