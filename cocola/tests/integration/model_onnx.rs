//! Writing, inspecting and loading COCOLA model files: metadata, refusals
//! with actionable messages, weight validation, input checks.

use std::sync::OnceLock;

use cocola::calibration::{Calibration, ModeCalibration, ScoreDistribution};
use cocola::contract::InputKind;
use cocola::contract::FEATURE_LEN;
use cocola::model::arch::{Architecture, Pooling};
use cocola::model::metadata::{architecture_id, KEY_FORMAT};
use cocola::model::{
    read_metadata, testing, write_model, write_model_file, LoadOptions, Model, ModelError, ModelMetadata, NamedTensors,
};
use cocola::onnx::proto::{ModelProto, StringStringEntryProto};
use prost::Message;

fn weights() -> &'static NamedTensors {
    static W: OnceLock<NamedTensors> = OnceLock::new();
    W.get_or_init(|| testing::random_weights(3))
}

fn model_bytes() -> &'static [u8] {
    static B: OnceLock<Vec<u8>> = OnceLock::new();
    B.get_or_init(|| write_model(weights(), &testing::test_metadata()).unwrap())
}

fn calibration() -> Calibration {
    let mode = |c: f32| ModeCalibration {
        coherent: ScoreDistribution {
            mean: c,
            std: 2.0,
            count: 500,
        },
        random: ScoreDistribution {
            mean: c - 8.0,
            std: 3.0,
            count: 500,
        },
        hard: None,
    };
    Calibration {
        both: mode(56.0),
        harmonic: Some(mode(52.0)),
        percussive: Some(mode(50.0)),
    }
}

/// The model with its metadata entries edited by `f`.
fn edited(f: impl FnOnce(&mut Vec<StringStringEntryProto>)) -> Vec<u8> {
    let mut m = ModelProto::decode(model_bytes()).unwrap();
    f(&mut m.metadata_props);
    m.encode_to_vec()
}

fn set(props: &mut [StringStringEntryProto], key: &str, value: &str) {
    let e = props.iter_mut().find(|e| e.key.as_deref() == Some(key)).unwrap();
    e.value = Some(value.into());
}

#[test]
fn metadata_round_trips_through_a_file() {
    let mut meta = testing::test_metadata();
    meta.validation_accuracy = serde_json::json!({"both": {"2": 0.98, "128": 0.71}, "harmonic": {"2": 0.9}});
    meta.training = serde_json::json!({"steps": 1200, "hardware": "1x H100"});
    meta.calibration = Some(calibration());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.onnx");
    write_model_file(&path, weights(), &meta).unwrap();
    // Nothing but the model is left in the directory (atomic write).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(read_metadata(&bytes, "m.onnx").unwrap(), meta);
    let mut model = Model::load(&path, &LoadOptions::default()).unwrap();
    assert_eq!(model.metadata(), &meta);
    let text = model.metadata().to_string();
    assert!(
        text.contains("cocola-test-random") && text.contains("coherent 56.00"),
        "{text}"
    );

    let x = [testing::random_features("a", 0), testing::random_features("b", 0)].concat();
    let e = model.embed(&x, 2).unwrap();
    assert_eq!(e.embedding.len(), 2 * 512);
    assert!(e.embedding.iter().all(|v| v.abs() < 1.0), "tanh output");
}

/// A time-profile model writes, loads and runs; widened from a global-pool
/// model it embeds exactly like it (its new projection columns are zero),
/// and once those columns move, the embeddings do too (the profile is wired in).
#[test]
fn a_time_profile_model_runs_and_widening_keeps_the_embeddings() {
    let profile_arch = Architecture::new(InputKind::Hps, Pooling::TimeProfile);
    let fresh = testing::random_weights_for(&profile_arch, 5);
    let wide = cocola::model::widen_pooling(
        InputKind::Hps,
        (Pooling::Global, weights()),
        (Pooling::TimeProfile, &fresh),
    )
    .unwrap();
    let mut meta = testing::test_metadata();
    meta.pooling = Pooling::TimeProfile;
    let opts = LoadOptions::default();
    let features: Vec<f32> = (0..2)
        .flat_map(|i| testing::random_features(&format!("profile-{i}"), 1))
        .collect();
    let embed = |w: &NamedTensors, meta: &ModelMetadata| {
        let bytes = write_model(w, meta).unwrap();
        let mut model = Model::from_bytes(&bytes, &opts).unwrap();
        assert_eq!(model.metadata().pooling, meta.pooling);
        model.embed(&features, 2).unwrap()
    };
    let global = embed(weights(), &testing::test_metadata());
    let widened = embed(&wide, &meta);
    let max_diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(max_diff(&global.embedding, &widened.embedding) <= 1e-5);
    assert!(max_diff(&global.w_embedding, &widened.w_embedding) <= 1e-5);
    let moved = embed(&fresh, &meta);
    assert!(max_diff(&global.embedding, &moved.embedding) > 1e-2);
    // A global-pool file read as a time-profile network is refused by name.
    assert!(write_model(weights(), &meta)
        .unwrap_err()
        .to_string()
        .contains("encoder.time_profile"));
}

/// A pitch model has the HPS network and tensor shape but its own contract:
/// it writes, loads and embeds; an HPS file relabelled as pitch lacks the
/// harmonic channel's keys and is refused by naming them, and a pitch file
/// relabelled as HPS carries keys HPS does not know about.
#[test]
fn a_pitch_model_is_told_apart_from_an_hps_model() {
    let mut meta = testing::test_metadata();
    meta.input = InputKind::Pitch;
    let bytes = write_model(weights(), &meta).unwrap();
    let mut model = Model::from_bytes(&bytes, &LoadOptions::default()).unwrap();
    assert_eq!(model.input(), InputKind::Pitch);
    let x = testing::random_features("p", 0);
    assert_eq!(model.embed(&x, 1).unwrap().embedding.len(), 512);

    let relabelled = edited(|p| set(p, "feature.contract", cocola::contract::PITCH_CONTRACT_VERSION));
    let text = Model::from_bytes(&relabelled, &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("feature.harmonic_n_fft: model has (missing), expected '2048'"),
        "{text}"
    );
    let mut as_hps = ModelProto::decode(&bytes[..]).unwrap();
    set(&mut as_hps.metadata_props, "feature.contract", "cocola-features-1");
    let text = Model::from_bytes(&as_hps.encode_to_vec(), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(text.contains("feature.harmonic_n_fft"), "{text}");
}

/// A model of a superseded feature contract is refused with what changed,
/// not with a list of keys.
#[test]
fn a_model_of_a_superseded_contract_is_refused_with_the_reason() {
    let mut meta = testing::test_metadata();
    meta.input = InputKind::Pitch;
    let bytes = write_model(weights(), &meta).unwrap();
    let mut old = ModelProto::decode(&bytes[..]).unwrap();
    set(&mut old.metadata_props, "feature.contract", "cocola-pitch-features-1");
    let text = Model::from_bytes(&old.encode_to_vec(), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(text.contains("'cocola-pitch-features-1'"), "{text}");
    assert!(
        text.contains("neighbouring notes") && text.contains("--init-from"),
        "{text}"
    );
    let err = cocola::model::read_weights(&old.encode_to_vec(), "old.onnx").unwrap_err();
    assert!(err.to_string().contains("no longer computes"), "{err}");
}

/// The pitch-class profile in the graph is exactly the fold of the input's
/// harmonic channel: with a projection that copies the 12 profile values
/// into the first 12 embedding dimensions (all else zero), LayerNorm and
/// tanh leave `tanh(p / rms(p) * sqrt(512 / 12))` there, which the test
/// computes from the input itself. Widened from a time-profile model, the
/// network embeds exactly as it did.
/// Metadata of a pitch-input model with `pooling`.
fn pitch_meta(pooling: Pooling) -> ModelMetadata {
    let mut meta = testing::test_metadata();
    meta.input = InputKind::Pitch;
    meta.pooling = pooling;
    meta
}

/// The embeddings ONNX Runtime computes for windows `x` with weights `w`.
fn embed_with(w: &NamedTensors, meta: &ModelMetadata, x: &[f32]) -> cocola::model::Embeddings {
    let bytes = write_model(w, meta).unwrap();
    let mut model = Model::from_bytes(&bytes, &LoadOptions::default()).unwrap();
    assert_eq!(model.metadata().pooling, meta.pooling);
    model.embed(x, x.len() / FEATURE_LEN).unwrap()
}

/// Random weights of `arch` whose embedding dimension d < `count` reads
/// the projection input's column `first + d` alone (weight 1), every other
/// dimension nothing, with no bias and a plain LayerNorm: the embedding
/// then shows that segment of the pooled features.
fn probe_reading(arch: &Architecture, first: usize, count: usize, seed: u64) -> NamedTensors {
    let width = arch.projection.in_features;
    let mut probe = testing::random_weights_for(arch, seed);
    let mut projection = vec![0.0f32; 512 * width];
    for d in 0..count {
        projection[d * width + first + d] = 1.0;
    }
    probe
        .insert("encoder.projection.weight", vec![512, width], projection)
        .unwrap();
    probe
        .insert("encoder.projection.bias", vec![512], vec![0.0; 512])
        .unwrap();
    probe.insert("layer_norm.weight", vec![512], vec![1.0; 512]).unwrap();
    probe.insert("layer_norm.bias", vec![512], vec![0.0; 512]).unwrap();
    probe
}

/// A pitch model of pooling `narrow` widened to `wide` embeds windows `x`
/// exactly as before.
fn assert_widens_exactly(narrow: Pooling, wide: Pooling, seed: u64, x: &[f32]) {
    let weights = testing::random_weights_for(&Architecture::new(InputKind::Pitch, narrow), seed);
    let widened = cocola::model::widen_pooling(
        InputKind::Pitch,
        (narrow, &weights),
        (
            wide,
            &testing::random_weights_for(&Architecture::new(InputKind::Pitch, wide), seed + 1),
        ),
    )
    .unwrap();
    let before = embed_with(&weights, &pitch_meta(narrow), x);
    let after = embed_with(&widened, &pitch_meta(wide), x);
    let max_diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(max_diff(&before.embedding, &after.embedding) <= 1e-5);
    assert!(max_diff(&before.w_embedding, &after.w_embedding) <= 1e-5);
}

#[test]
fn a_pitch_class_model_reads_the_profile_off_its_input_and_widens_exactly() {
    use cocola::model::pooling::{pitch_class_fold, PITCH_CLASSES};
    let arch = Architecture::new(InputKind::Pitch, Pooling::TimePitchClass);
    let width = arch.projection.in_features;
    assert_eq!(width, 1532);
    let meta = pitch_meta(Pooling::TimePitchClass);
    let x: Vec<f32> = (0..2)
        .flat_map(|i| testing::random_features(&format!("pc-{i}"), 2))
        .collect();

    let probe = probe_reading(&arch, width - PITCH_CLASSES, PITCH_CLASSES, 8);
    let e = embed_with(&probe, &meta, &x).embedding;
    let fold = pitch_class_fold(64);
    for (window, features) in x.chunks_exact(FEATURE_LEN).enumerate() {
        let band_means: Vec<f32> = features[..64 * 501]
            .chunks_exact(501)
            .map(|b| b.iter().sum::<f32>() / 501.0)
            .collect();
        let p: Vec<f32> = (0..PITCH_CLASSES)
            .map(|c| {
                band_means
                    .iter()
                    .enumerate()
                    .map(|(k, v)| v * fold[k * PITCH_CLASSES + c])
                    .sum()
            })
            .collect();
        assert!(p.iter().sum::<f32>().abs() < 1e-4, "centred");
        let rms = (p.iter().map(|v| v * v).sum::<f32>() / 512.0 + 1e-5).sqrt();
        for c in 0..PITCH_CLASSES {
            let want = (p[c] / rms).tanh();
            let got = e[window * 512 + c];
            assert!((got - want).abs() < 1e-3, "window {window} class {c}: {got} vs {want}");
        }
        assert!(e[window * 512 + PITCH_CLASSES..(window + 1) * 512]
            .iter()
            .all(|v| v.abs() < 1e-6));
    }

    // Widening a time-profile model: the same embeddings.
    assert_widens_exactly(Pooling::TimeProfile, Pooling::TimePitchClass, 9, &x);
    // An HPS model cannot have it: its channel 0 is not in semitones.
    let mut hps = meta.clone();
    hps.input = InputKind::Hps;
    let err = write_model(&probe, &hps).unwrap_err().to_string();
    assert!(err.contains("needs the pitch input"), "{err}");
}

#[test]
fn feature_contract_mismatch_names_every_key() {
    let bytes = edited(|p| {
        set(p, "feature.n_mels", "128");
        set(p, "feature.f_max", "8000");
        p.retain(|e| e.key.as_deref() != Some("feature.hop_length"));
    });
    let err = Model::from_bytes(&bytes, &LoadOptions::default()).unwrap_err();
    let text = err.to_string();
    println!("{text}");
    assert!(
        matches!(err, ModelError::ContractMismatch { ref differences, .. } if differences.len() == 3),
        "{err:?}"
    );
    assert!(
        text.contains("feature.n_mels: model has '128', expected '64'"),
        "{text}"
    );
    assert!(
        text.contains("feature.f_max: model has '8000', expected '7800'"),
        "{text}"
    );
    assert!(
        text.contains("feature.hop_length: model has (missing), expected '160'"),
        "{text}"
    );
}

#[test]
fn files_that_are_not_cocola_models_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let opts = LoadOptions::default();

    let missing = dir.path().join("absent.onnx");
    let err = Model::load(&missing, &opts).unwrap_err();
    assert!(matches!(err, ModelError::FileMissing(_)), "{err:?}");
    assert!(err.to_string().contains("absent.onnx"));

    let text_file = dir.path().join("notes.onnx");
    std::fs::write(&text_file, "this is a text file, not a model\n").unwrap();
    let err = Model::load(&text_file, &opts).unwrap_err();
    println!("{err}");
    assert!(matches!(err, ModelError::NotOnnx { .. }), "{err:?}");
    assert!(err.to_string().contains("notes.onnx"));

    let empty = dir.path().join("empty.onnx");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(
        Model::load(&empty, &opts).unwrap_err(),
        ModelError::NotOnnx { .. }
    ));

    for cut in [model_bytes().len() / 2, model_bytes().len() - 10, 100] {
        let truncated = dir.path().join("truncated.onnx");
        std::fs::write(&truncated, &model_bytes()[..cut]).unwrap();
        let err = Model::load(&truncated, &opts).unwrap_err();
        println!("{err}");
        assert!(
            matches!(err, ModelError::NotOnnx { .. } | ModelError::NotCocola { .. }),
            "cut at {cut}: {err:?}"
        );
    }

    // An ONNX model without COCOLA metadata.
    let bare = edited(|p| p.clear());
    let err = Model::from_bytes(&bare, &opts).unwrap_err();
    println!("{err}");
    assert!(matches!(err, ModelError::NotCocola { .. }), "{err:?}");
    assert!(err.to_string().contains(KEY_FORMAT));

    // COCOLA metadata but a different graph interface.
    let mut m = ModelProto::decode(model_bytes()).unwrap();
    m.graph.as_mut().unwrap().output[1].name = Some("scores".into());
    let err = Model::from_bytes(&m.encode_to_vec(), &opts).unwrap_err();
    println!("{err}");
    assert!(matches!(err, ModelError::NotCocola { .. }), "{err:?}");
    assert!(err.to_string().contains("w_embedding"));

    // A future format.
    let future = edited(|p| set(p, KEY_FORMAT, "2"));
    assert!(matches!(
        Model::from_bytes(&future, &opts).unwrap_err(),
        ModelError::UnsupportedFormat { .. }
    ));

    // Another architecture.
    let other = edited(|p| set(p, "cocola.architecture", "resnet"));
    let err = Model::from_bytes(&other, &opts).unwrap_err();
    assert!(
        err.to_string()
            .contains(&architecture_id(InputKind::Hps, Pooling::Global)),
        "{err}"
    );

    // Broken calibration JSON names the key.
    let broken = edited(|p| {
        p.push(StringStringEntryProto {
            key: Some("cocola.calibration".into()),
            value: Some("{".into()),
        })
    });
    let err = Model::from_bytes(&broken, &opts).unwrap_err();
    assert!(err.to_string().contains("cocola.calibration"), "{err}");
}

#[test]
fn weight_problems_name_the_tensor() {
    let meta = testing::test_metadata();
    let name = "encoder.encoder.model.0._blocks.3._se_reduce.bias";

    let mut w = weights().clone();
    w.remove(name);
    let err = write_model(&w, &meta).unwrap_err();
    assert!(
        matches!(err, ModelError::MissingParameter { .. }) && err.to_string().contains(name),
        "{err}"
    );

    let mut w = weights().clone();
    w.insert(name, vec![7], vec![0.0; 7]).unwrap();
    let err = write_model(&w, &meta).unwrap_err();
    assert!(
        matches!(err, ModelError::WrongShape { .. }) && err.to_string().contains(name),
        "{err}"
    );

    let mut w = weights().clone();
    let mut data = w.get("similarity.w").unwrap().data.clone();
    data[1000] = f32::NAN;
    w.insert("similarity.w", vec![512, 512], data).unwrap();
    let err = write_model(&w, &meta).unwrap_err();
    assert!(matches!(err, ModelError::NonFinite { index: 1000, .. }), "{err}");
    assert!(err.to_string().contains("similarity.w"));

    let mut w = weights().clone();
    w.insert("encoder.projektion.weight", vec![1], vec![0.0]).unwrap();
    let err = write_model(&w, &meta).unwrap_err();
    assert!(matches!(err, ModelError::UnexpectedParameter { .. }), "{err}");

    // A PyTorch state_dict's BatchNorm counters are accepted and ignored.
    let mut w = weights().clone();
    w.insert("encoder.encoder.model.0._bn0.num_batches_tracked", vec![], vec![5.0])
        .unwrap();
    assert_eq!(write_model(&w, &meta).unwrap(), model_bytes());

    assert!(w.insert("x", vec![2, 2], vec![0.0; 3]).is_err());
    let err = write_model(weights(), &ModelMetadata::new("", "1")).unwrap_err();
    assert!(err.to_string().contains("cocola.name"), "{err}");
}

#[test]
fn bad_inputs_are_errors() {
    let mut model = Model::from_bytes(model_bytes(), &LoadOptions::default()).unwrap();
    assert!(matches!(model.embed(&[], 0), Err(ModelError::BadInput(_))));
    assert!(matches!(
        model.embed(&vec![0.0; FEATURE_LEN], 2),
        Err(ModelError::BadInput(_))
    ));
    let mut x = vec![0.0; FEATURE_LEN];
    x[5] = f32::INFINITY;
    let err = model.embed(&x, 1).unwrap_err();
    assert!(err.to_string().contains("not finite"), "{err}");
}

#[test]
fn an_onset_model_reads_the_profile_off_its_input_and_widens_exactly() {
    use cocola::model::pooling::{onset_profile, ONSET_CELLS};
    let arch = Architecture::new(InputKind::Pitch, Pooling::TimePitchClassOnset);
    let width = arch.projection.in_features;
    assert_eq!(width, 1632);
    // Two random windows, and one whose percussive channel is silent (a
    // masked channel): its profile is zero, not noise blown up.
    let mut x: Vec<f32> = (0..3)
        .flat_map(|i| testing::random_features(&format!("onset-{i}"), 2))
        .collect();
    x[2 * FEATURE_LEN + 64 * 501..3 * FEATURE_LEN].fill(-80.0);

    // Embedding dimension d reads onset cell d alone.
    let probe = probe_reading(&arch, width - ONSET_CELLS, ONSET_CELLS, 14);
    let e = embed_with(&probe, &pitch_meta(Pooling::TimePitchClassOnset), &x).embedding;
    for (window, features) in x.chunks_exact(FEATURE_LEN).enumerate() {
        let p = onset_profile(InputKind::Pitch, features);
        assert!(p.iter().sum::<f32>().abs() < 1e-3, "centred");
        if window == 2 {
            assert!(p.iter().all(|&v| v == 0.0));
        } else {
            let rms = (p.iter().map(|v| v * v).sum::<f32>() / ONSET_CELLS as f32).sqrt();
            assert!(rms > 0.9, "window {window}: rms {rms}");
        }
        // LayerNorm over 512 values of which these 100 are the profile
        // (mean zero), then tanh.
        let spread = (p.iter().map(|v| v * v).sum::<f32>() / 512.0 + 1e-5).sqrt();
        for d in 0..ONSET_CELLS {
            let want = (p[d] / spread).tanh();
            let got = e[window * 512 + d];
            assert!((got - want).abs() < 1e-3, "window {window} cell {d}: {got} vs {want}");
        }
        let rest = &e[window * 512 + ONSET_CELLS..(window + 1) * 512];
        assert!(rest.iter().all(|v| v.abs() < 1e-5), "window {window}: {:?}", &rest[..4]);
    }

    // Widening a time-pitch-class model: the same embeddings.
    assert_widens_exactly(Pooling::TimePitchClass, Pooling::TimePitchClassOnset, 15, &x);
}

#[test]
fn a_harmony_model_reads_the_profile_off_its_input_and_widens_exactly() {
    use cocola::model::pooling::{harmony_profile, HARMONY_VALUES};
    let pooling = Pooling::TimePitchClassOnsetHarmony;
    let arch = Architecture::new(InputKind::Pitch, pooling);
    let width = arch.projection.in_features;
    assert_eq!(width, 1692);
    let x: Vec<f32> = (0..2)
        .flat_map(|i| testing::random_features(&format!("harmony-{i}"), 2))
        .collect();
    // Embedding dimension d reads harmony value d alone.
    let probe = probe_reading(&arch, width - HARMONY_VALUES, HARMONY_VALUES, 16);
    let e = embed_with(&probe, &pitch_meta(pooling), &x).embedding;
    for (window, features) in x.chunks_exact(FEATURE_LEN).enumerate() {
        let p = harmony_profile(InputKind::Pitch, features);
        for cell in p.chunks_exact(12) {
            assert!(cell.iter().sum::<f32>().abs() < 1e-2, "each cell centred: {cell:?}");
        }
        // LayerNorm over 512 values of which these 60 are the profile
        // (mean zero), then tanh.
        let spread = (p.iter().map(|v| v * v).sum::<f32>() / 512.0 + 1e-5).sqrt();
        for d in 0..HARMONY_VALUES {
            let want = (p[d] / spread).tanh();
            let got = e[window * 512 + d];
            assert!((got - want).abs() < 1e-3, "window {window} value {d}: {got} vs {want}");
        }
        let rest = &e[window * 512 + HARMONY_VALUES..(window + 1) * 512];
        assert!(rest.iter().all(|v| v.abs() < 1e-5), "window {window}: {:?}", &rest[..4]);
    }
    assert_widens_exactly(Pooling::TimePitchClassOnset, pooling, 17, &x);
}

/// Quantizes a random `input` model with `pooling` on 4 random windows;
/// returns the float and INT8 files, the windows, and the embeddings'
/// cosine (float vs INT8). The INT8 file keeps the interface: same input,
/// both outputs, finite.
fn quantize_random(input: InputKind, pooling: Pooling) -> (Vec<u8>, Vec<f32>, f32) {
    let arch = Architecture::new(input, pooling);
    let mut meta = testing::test_metadata();
    meta.input = input;
    meta.pooling = pooling;
    let bytes = write_model(&testing::random_weights_for(&arch, 5), &meta).unwrap();
    let row = input.feature_len();
    let features: Vec<f32> = (0..4)
        .flat_map(|i| testing::random_features(&input.to_string(), i).into_iter().take(row))
        .collect();
    let options = LoadOptions::default();
    let (int8, meta) = cocola::model::quantize::quantize(&bytes, "random", &features, 4, &options).unwrap();
    assert_eq!((meta.input, meta.pooling), (input, pooling));
    let float = Model::from_bytes(&bytes, &options)
        .unwrap()
        .embed(&features, 4)
        .unwrap();
    let quantized = Model::from_bytes(&int8, &options).unwrap().embed(&features, 4).unwrap();
    assert_eq!(quantized.embedding.len(), float.embedding.len());
    assert!(quantized.w_embedding.iter().all(|v| v.is_finite()));
    let dot: f32 = float
        .embedding
        .iter()
        .zip(&quantized.embedding)
        .map(|(a, b)| a * b)
        .sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let cosine = dot / (norm(&float.embedding) * norm(&quantized.embedding));
    (bytes, features, cosine)
}

/// The paper's layouts (one mel channel, global pooling) quantize too.
#[test]
fn a_mel_model_with_global_pooling_quantizes() {
    let (bytes, features, cosine) = quantize_random(InputKind::Mel, Pooling::Global);
    assert!(cosine > 0.9, "INT8 embeddings drifted: cosine {cosine}");
    let options = LoadOptions::default();
    // Calibration rows that do not match the input kind are refused.
    let err = cocola::model::quantize::quantize(&bytes, "mel", &features[1..], 4, &options).unwrap_err();
    assert!(err.to_string().contains("calibration"), "{err}");
}

/// The pitch-class, onset and harmony profiles read the float input beside
/// the INT8 encoder.
#[test]
fn models_with_input_profiles_quantize() {
    for pooling in [Pooling::TimePitchClassOnset, Pooling::TimePitchClassOnsetHarmony] {
        let (_, _, cosine) = quantize_random(InputKind::Pitch, pooling);
        assert!(cosine > 0.9, "{pooling}: INT8 embeddings drifted: cosine {cosine}");
    }
}
