//! What a COCOLA model says about itself, stored in the ONNX file's
//! `metadata_props`, and the checks a consumer runs before trusting a model.
//!
//! Keys written (all values are strings):
//!
//! | key | value |
//! |---|---|
//! | `cocola.format` | [`FORMAT_VERSION`]: layout of this metadata and of the graph interface |
//! | `cocola.architecture` | [`architecture_id`] of the input kind |
//! | `cocola.name`, `cocola.version` | model name and version (required) |
//! | `cocola.description`, `cocola.license`, `cocola.training_data` | free text |
//! | `cocola.training` | JSON, free-form (steps, batch size, hardware, ...) |
//! | `cocola.validation_accuracy` | JSON, accuracy per mode and K |
//! | `cocola.calibration` | JSON [`Calibration`]; absent for an uncalibrated model |
//! | `cocola.score` | how to compute the score from the outputs (informational) |
//! | `feature.*` | every entry of [`InputKind::feature_metadata`] of the model's input kind |
//!
//! The input kind is the one whose contract version `feature.contract` names
//! (a model file without a known one is compared with the HPS contract, the
//! only kind older files can have). On load, the `feature.*` entries must
//! equal that kind's contract exactly: any key missing, different, or unknown
//! to this build refuses the model, listing every difference.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::arch::{Architecture, Pooling, ONSET_CELLS, PITCH_CLASSES, TIME_PROFILE_CHANNELS};
use super::error::{ContractDifference, ModelError};
use super::io;
use super::pooling::{
    HARMONY_CELLS, HARMONY_FRAMES_PER_CELL, HARMONY_LOWEST_BAND, ONSET_CHANNEL, ONSET_EPSILON, ONSET_FRAMES_PER_CELL,
    PITCH_CLASS_DB_PER_UNIT,
};
use crate::calibration::Calibration;
use crate::contract::{InputKind, SUPERSEDED_CONTRACTS};
use crate::onnx::proto::ModelHeader;

/// Version of the model layout (metadata keys, graph inputs and outputs).
pub const FORMAT_VERSION: &str = "1";
/// The network a model of this format runs for `input` and `pooling` (see
/// [`super::arch`]), as recorded under `cocola.architecture`. (The global
/// pool's text predates the choice of pooling: files written before it read
/// unchanged.)
pub fn architecture_id(input: InputKind, pooling: Pooling) -> String {
    let arch = Architecture::new(input, pooling);
    let time_profile = format!(
        "time profile conv1x1(1280,{TIME_PROFILE_CHANNELS}) mean over frequency x {} cells",
        arch.time_cells
    );
    let pitch_class = format!(
        "pitch-class profile of input channel 0 (band means over time folded mod {PITCH_CLASSES}, centred, / \
         {PITCH_CLASS_DB_PER_UNIT} dB)"
    );
    let onset = format!(
        "onset profile of input channel {ONSET_CHANNEL} (mean over bands of the rise since the previous frame, \
         rises only, averaged over {ONSET_CELLS} cells of {ONSET_FRAMES_PER_CELL} frames, centred, / sqrt(mean \
         square + {ONSET_EPSILON}))"
    );
    let harmony = format!(
        "harmony profile of input channel 0 ({HARMONY_CELLS} cells of {HARMONY_FRAMES_PER_CELL} frames: band \
         means from band {HARMONY_LOWEST_BAND} folded mod {PITCH_CLASSES}, centred, / {PITCH_CLASS_DB_PER_UNIT} dB)"
    );
    let pool = match pooling {
        Pooling::Global => String::new(),
        Pooling::TimeProfile => format!("[global pool ++ {time_profile}] > "),
        Pooling::TimePitchClass => format!("[global pool ++ {time_profile} ++ {pitch_class}] > "),
        Pooling::TimePitchClassOnset => format!("[global pool ++ {time_profile} ++ {pitch_class} ++ {onset}] > "),
        Pooling::TimePitchClassOnsetHarmony => {
            format!("[global pool ++ {time_profile} ++ {pitch_class} ++ {onset} ++ {harmony}] > ")
        }
    };
    format!(
        "efficientnet-b0(in={}, static SAME padding for 224x224) > {pool}linear({},512) > layernorm > tanh; \
         bilinear W 512x512",
        input.channels(),
        arch.projection.in_features
    )
}

/// The pooling whose [`architecture_id`] for `input` is `id` (among those
/// the input supports).
fn pooling_of(input: InputKind, id: &str) -> Option<Pooling> {
    Pooling::ALL
        .into_iter()
        .find(|&p| p.supports(input) && architecture_id(input, p) == id)
}
/// The scoring rule, recorded for people reading the metadata.
pub const SCORE_RULE: &str = "score(condition, stem) = dot(embedding[condition], w_embedding[stem]) = f(c)^T W f(s)";

pub const KEY_FORMAT: &str = "cocola.format";
pub const KEY_ARCHITECTURE: &str = "cocola.architecture";
pub const KEY_NAME: &str = "cocola.name";
pub const KEY_VERSION: &str = "cocola.version";
pub const KEY_DESCRIPTION: &str = "cocola.description";
pub const KEY_LICENSE: &str = "cocola.license";
pub const KEY_TRAINING_DATA: &str = "cocola.training_data";
pub const KEY_TRAINING: &str = "cocola.training";
pub const KEY_VALIDATION_ACCURACY: &str = "cocola.validation_accuracy";
pub const KEY_CALIBRATION: &str = "cocola.calibration";
pub const KEY_SCORE: &str = "cocola.score";

/// Prefix of the feature-contract keys.
pub const FEATURE_PREFIX: &str = "feature.";

/// A model's self-description.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// What the encoder takes: HPS (2 channels) or mel (1 channel).
    pub input: InputKind,
    /// How the encoder pools its last feature map (the paper's: global).
    #[serde(default)]
    pub pooling: Pooling,
    pub name: String,
    pub version: String,
    pub description: String,
    pub license: String,
    /// Which datasets (and splits) the model was trained on.
    pub training_data: String,
    /// Free-form training record, e.g. `{"steps": 20000, "batch": 128, "hardware": "1x H100"}`.
    pub training: serde_json::Value,
    /// Validation accuracy per mode and K, e.g. `{"both": {"2": 0.99, "128": 0.91}, ...}`.
    pub validation_accuracy: serde_json::Value,
    /// Score calibration measured on validation data; `None` if not measured.
    pub calibration: Option<Calibration>,
}

impl ModelMetadata {
    /// Metadata of an HPS model with a name and version and everything else
    /// empty (set `input` for a mel model).
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        ModelMetadata {
            input: InputKind::Hps,
            pooling: Pooling::Global,
            name: name.into(),
            version: version.into(),
            description: String::new(),
            license: String::new(),
            training_data: String::new(),
            training: serde_json::Value::Object(Default::default()),
            validation_accuracy: serde_json::Value::Object(Default::default()),
            calibration: None,
        }
    }

    /// The `metadata_props` entries to write, feature contract included.
    pub fn to_props(&self) -> Result<Vec<(String, String)>, ModelError> {
        if !self.pooling.supports(self.input) {
            return Err(ModelError::BadMetadata {
                key: KEY_ARCHITECTURE.into(),
                detail: format!("{} pooling needs the pitch input, not {}", self.pooling, self.input),
            });
        }
        for (key, value) in [(KEY_NAME, &self.name), (KEY_VERSION, &self.version)] {
            if value.trim().is_empty() {
                return Err(ModelError::BadMetadata {
                    key: key.into(),
                    detail: "must not be empty".into(),
                });
            }
        }
        let json = |key: &str, v: &serde_json::Value| {
            serde_json::to_string(v).map_err(|e| ModelError::BadMetadata {
                key: key.into(),
                detail: e.to_string(),
            })
        };
        let mut props = vec![
            (KEY_FORMAT.to_string(), FORMAT_VERSION.to_string()),
            (KEY_ARCHITECTURE.to_string(), architecture_id(self.input, self.pooling)),
            (KEY_NAME.to_string(), self.name.clone()),
            (KEY_VERSION.to_string(), self.version.clone()),
            (KEY_DESCRIPTION.to_string(), self.description.clone()),
            (KEY_LICENSE.to_string(), self.license.clone()),
            (KEY_TRAINING_DATA.to_string(), self.training_data.clone()),
            (KEY_TRAINING.to_string(), json(KEY_TRAINING, &self.training)?),
            (
                KEY_VALIDATION_ACCURACY.to_string(),
                json(KEY_VALIDATION_ACCURACY, &self.validation_accuracy)?,
            ),
            (KEY_SCORE.to_string(), SCORE_RULE.to_string()),
        ];
        if let Some(cal) = &self.calibration {
            cal.validate(self.input).map_err(|detail| ModelError::BadMetadata {
                key: KEY_CALIBRATION.into(),
                detail,
            })?;
            let text = serde_json::to_string(cal).map_err(|e| ModelError::BadMetadata {
                key: KEY_CALIBRATION.into(),
                detail: e.to_string(),
            })?;
            props.push((KEY_CALIBRATION.to_string(), text));
        }
        props.extend(
            self.input
                .feature_metadata()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v)),
        );
        Ok(props)
    }

    /// Reads and checks metadata entries. `what` names the model in messages.
    /// Checks, in order: COCOLA format, feature contract, architecture, fields.
    pub fn from_props<'a>(
        props: impl IntoIterator<Item = (&'a str, &'a str)>,
        what: &str,
    ) -> Result<ModelMetadata, ModelError> {
        let props: BTreeMap<&str, &str> = props.into_iter().collect();
        let Some(format) = props.get(KEY_FORMAT) else {
            return Err(ModelError::NotCocola {
                what: what.into(),
                detail: format!("its metadata has no '{KEY_FORMAT}' entry"),
            });
        };
        if *format != FORMAT_VERSION {
            return Err(ModelError::UnsupportedFormat {
                found: format.to_string(),
                supported: FORMAT_VERSION.into(),
            });
        }
        if let Some((found, why)) = props
            .get("feature.contract")
            .and_then(|v| SUPERSEDED_CONTRACTS.iter().find(|(old, _)| old == v))
        {
            return Err(ModelError::SupersededContract {
                found: found.to_string(),
                why,
            });
        }
        let input = input_kind(&props);
        let differences = contract_differences(&props, input);
        if !differences.is_empty() {
            return Err(ModelError::ContractMismatch { input, differences });
        }
        let stored = props.get(KEY_ARCHITECTURE);
        let Some(pooling) = stored.and_then(|a| pooling_of(input, a)) else {
            let runs: Vec<String> = Pooling::ALL
                .iter()
                .filter(|p| p.supports(input))
                .map(|&p| format!("'{}'", architecture_id(input, p)))
                .collect();
            return Err(ModelError::BadMetadata {
                key: KEY_ARCHITECTURE.into(),
                detail: format!(
                    "model has {}, this build runs {}",
                    stored.map_or("(missing)".to_string(), |a| format!("'{a}'")),
                    runs.join(" or ")
                ),
            });
        };
        let required = |key: &str| match props.get(key) {
            Some(v) if !v.trim().is_empty() => Ok(v.to_string()),
            _ => Err(ModelError::BadMetadata {
                key: key.into(),
                detail: "missing or empty".into(),
            }),
        };
        let text = |key: &str| props.get(key).map_or(String::new(), |v| v.to_string());
        let json = |key: &str| match props.get(key) {
            None => Ok(serde_json::Value::Null),
            Some(v) => serde_json::from_str(v).map_err(|e| ModelError::BadMetadata {
                key: key.into(),
                detail: format!("not valid JSON: {e}"),
            }),
        };
        let calibration = match props.get(KEY_CALIBRATION) {
            None => None,
            Some(v) => {
                let bad = |detail: String| ModelError::BadMetadata {
                    key: KEY_CALIBRATION.into(),
                    detail,
                };
                let cal: Calibration = serde_json::from_str(v).map_err(|e| bad(e.to_string()))?;
                cal.validate(input).map_err(bad)?;
                Some(cal)
            }
        };
        Ok(ModelMetadata {
            input,
            pooling,
            name: required(KEY_NAME)?,
            version: required(KEY_VERSION)?,
            description: text(KEY_DESCRIPTION),
            license: text(KEY_LICENSE),
            training_data: text(KEY_TRAINING_DATA),
            training: json(KEY_TRAINING)?,
            validation_accuracy: json(KEY_VALIDATION_ACCURACY)?,
            calibration,
        })
    }
}

/// The input kind a model's `feature.contract` names; HPS when it names
/// none this build knows (the differences then say what is wrong).
pub fn input_kind(props: &BTreeMap<&str, &str>) -> InputKind {
    props
        .get("feature.contract")
        .and_then(|v| InputKind::from_contract_version(v))
        .unwrap_or(InputKind::Hps)
}

/// Every `feature.*` key on which `props` and this build's contract for
/// `input` differ.
pub fn contract_differences(props: &BTreeMap<&str, &str>, input: InputKind) -> Vec<ContractDifference> {
    let expected = input.feature_metadata();
    let mut out = Vec::new();
    for (key, want) in &expected {
        match props.get(key) {
            Some(have) if *have == want.as_str() => {}
            have => out.push(ContractDifference {
                key: key.to_string(),
                model: have.map(|s| s.to_string()),
                expected: Some(want.clone()),
            }),
        }
    }
    for (key, have) in props.range(FEATURE_PREFIX..) {
        if !key.starts_with(FEATURE_PREFIX) {
            break;
        }
        if !expected.contains_key(key) {
            out.push(ContractDifference {
                key: key.to_string(),
                model: Some(have.to_string()),
                expected: None,
            });
        }
    }
    out
}

/// Reads a model's metadata and checks its interface without running it (no
/// ONNX Runtime needed): the bytes must be an ONNX model, with COCOLA's
/// inputs and outputs, valid metadata and this build's feature contract.
pub fn read_metadata(bytes: &[u8], what: &str) -> Result<ModelMetadata, ModelError> {
    let header = decode_header(bytes, what)?;
    let meta = ModelMetadata::from_props(header.metadata(), what)?;
    io::check_interface(&header, what, meta.input)?;
    Ok(meta)
}

/// Decodes the model header, refusing bytes that are not an ONNX model.
pub fn decode_header(bytes: &[u8], what: &str) -> Result<ModelHeader, ModelError> {
    use prost::Message;
    let not_onnx = |detail: String| ModelError::NotOnnx {
        what: what.into(),
        detail,
    };
    if bytes.is_empty() {
        return Err(not_onnx("the file is empty".into()));
    }
    let header = ModelHeader::decode(bytes).map_err(|e| {
        not_onnx(format!(
            "it does not decode as ONNX protobuf ({e}); the file may be truncated or corrupt"
        ))
    })?;
    if header.ir_version.is_none() || header.graph.is_none() || header.opset_import.is_empty() {
        return Err(not_onnx("it has no IR version, opset or graph".into()));
    }
    Ok(header)
}

impl std::fmt::Display for ModelMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let or_dash = |s: &str| {
            if s.trim().is_empty() {
                "-".to_string()
            } else {
                s.to_string()
            }
        };
        writeln!(f, "name         {}", self.name)?;
        writeln!(f, "version      {}", self.version)?;
        writeln!(f, "description  {}", or_dash(&self.description))?;
        writeln!(f, "license      {}", or_dash(&self.license))?;
        writeln!(f, "trained on   {}", or_dash(&self.training_data))?;
        writeln!(f, "training     {}", json_line(&self.training))?;
        writeln!(f, "validation   {}", json_line(&self.validation_accuracy))?;
        match &self.calibration {
            None => writeln!(f, "calibration  none (raw scores only)")?,
            Some(cal) => {
                for &mode in self.input.modes() {
                    let Some(c) = cal.mode(mode) else { continue };
                    let d = |d: &crate::calibration::ScoreDistribution| {
                        format!("{:.2} ± {:.2} (n={})", d.mean, d.std, d.count)
                    };
                    let hard = c.hard.as_ref().map(|h| format!(", hard negatives {}", d(h)));
                    writeln!(
                        f,
                        "calibration  {:<10} coherent {}, random {}{}",
                        mode.name(),
                        d(&c.coherent),
                        d(&c.random),
                        hard.unwrap_or_default()
                    )?;
                }
            }
        }
        writeln!(
            f,
            "input        {} ({}), feature contract {}",
            self.input,
            self.input.describe(),
            self.input.contract_version()
        )?;
        writeln!(f, "pooling      {}", self.pooling)
    }
}

fn json_line(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::Object(m) if m.is_empty() => "-".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(meta: &ModelMetadata) -> Vec<(String, String)> {
        meta.to_props().unwrap()
    }

    #[test]
    fn round_trip() {
        let mut meta = ModelMetadata::new("m", "1.0");
        meta.training = serde_json::json!({"steps": 10});
        let p = props(&meta);
        let back = ModelMetadata::from_props(p.iter().map(|(k, v)| (k.as_str(), v.as_str())), "m").unwrap();
        assert_eq!(back, meta);
    }

    #[test]
    fn every_feature_difference_is_listed() {
        let meta = ModelMetadata::new("m", "1");
        let mut p = props(&meta);
        p.retain(|(k, _)| k != "feature.hop_length");
        for (k, v) in p.iter_mut() {
            if k == "feature.n_mels" {
                *v = "128".into();
            }
        }
        p.push(("feature.new_thing".into(), "x".into()));
        let err = ModelMetadata::from_props(p.iter().map(|(k, v)| (k.as_str(), v.as_str())), "m").unwrap_err();
        let ModelError::ContractMismatch { differences, .. } = &err else {
            panic!("{err}")
        };
        let keys: Vec<&str> = differences.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["feature.hop_length", "feature.n_mels", "feature.new_thing"]);
        let text = err.to_string();
        assert!(
            text.contains("feature.n_mels: model has '128', expected '64'"),
            "{text}"
        );
        assert!(
            text.contains("feature.hop_length: model has (missing), expected '160'"),
            "{text}"
        );
    }

    #[test]
    fn a_mel_model_round_trips_and_is_told_from_an_hps_one_by_its_contract() {
        let mut meta = ModelMetadata::new("m", "1");
        meta.input = InputKind::Mel;
        let p = props(&meta);
        assert!(p.contains(&("feature.contract".into(), crate::contract::MEL_CONTRACT_VERSION.into())));
        assert!(p.iter().any(|(k, v)| k == KEY_ARCHITECTURE && v.contains("in=1")));
        let back = ModelMetadata::from_props(p.iter().map(|(k, v)| (k.as_str(), v.as_str())), "m").unwrap();
        assert_eq!(back.input, InputKind::Mel);
        // A mel contract with one HPS setting mixed in is refused, naming it.
        let mut mixed = p.clone();
        mixed.push(("feature.hpss_kernel".into(), "31".into()));
        let err = ModelMetadata::from_props(mixed.iter().map(|(k, v)| (k.as_str(), v.as_str())), "m").unwrap_err();
        assert!(err.to_string().contains("feature.hpss_kernel"), "{err}");
    }

    #[test]
    fn the_pooling_round_trips_and_the_paper_network_keeps_its_id() {
        let global = ModelMetadata::new("m", "1");
        let p = props(&global);
        let id = &p.iter().find(|(k, _)| k == KEY_ARCHITECTURE).unwrap().1;
        // Exactly what every model file written before the choice carries.
        assert_eq!(
            id,
            "efficientnet-b0(in=2, static SAME padding for 224x224) > linear(1280,512) > layernorm > tanh; \
             bilinear W 512x512"
        );
        let mut profile = global.clone();
        profile.pooling = Pooling::TimeProfile;
        let p = props(&profile);
        assert!(p
            .iter()
            .any(|(k, v)| k == KEY_ARCHITECTURE && v.contains("linear(1520,512)")));
        let back = ModelMetadata::from_props(p.iter().map(|(k, v)| (k.as_str(), v.as_str())), "m").unwrap();
        assert_eq!(back.pooling, Pooling::TimeProfile);
        let mut unknown = p.clone();
        unknown.retain(|(k, _)| k != KEY_ARCHITECTURE);
        unknown.push((KEY_ARCHITECTURE.into(), "resnet-50".into()));
        let err = ModelMetadata::from_props(unknown.iter().map(|(k, v)| (k.as_str(), v.as_str())), "m").unwrap_err();
        assert!(
            err.to_string().contains("'resnet-50'") && err.to_string().contains("time profile"),
            "{err}"
        );
    }

    #[test]
    fn the_pitch_class_profile_round_trips_on_the_pitch_input_only() {
        let mut pitch = ModelMetadata::new("m", "1");
        pitch.input = InputKind::Pitch;
        pitch.pooling = Pooling::TimePitchClass;
        let p = props(&pitch);
        let id = &p.iter().find(|(k, _)| k == KEY_ARCHITECTURE).unwrap().1;
        assert!(
            id.contains("pitch-class profile") && id.contains("linear(1532,512)"),
            "{id}"
        );
        let back = ModelMetadata::from_props(p.iter().map(|(k, v)| (k.as_str(), v.as_str())), "m").unwrap();
        assert_eq!((back.input, back.pooling), (InputKind::Pitch, Pooling::TimePitchClass));
        // An HPS model cannot carry it: refused when written and when read.
        let mut hps = pitch.clone();
        hps.input = InputKind::Hps;
        let err = hps.to_props().unwrap_err().to_string();
        assert!(err.contains("needs the pitch input"), "{err}");
        let relabelled: Vec<(String, String)> = props(&ModelMetadata::new("m", "1"))
            .into_iter()
            .map(|(k, v)| if k == KEY_ARCHITECTURE { (k, id.clone()) } else { (k, v) })
            .collect();
        let err = ModelMetadata::from_props(relabelled.iter().map(|(k, v)| (k.as_str(), v.as_str())), "m")
            .unwrap_err()
            .to_string();
        assert!(err.contains(KEY_ARCHITECTURE), "{err}");
    }

    #[test]
    fn empty_name_is_refused_on_write() {
        assert!(ModelMetadata::new("", "1").to_props().is_err());
    }
}
