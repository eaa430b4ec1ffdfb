//! What a COCOLA checkpoint holds: PyTorch Lightning's layout (a dict with
//! `state_dict`, `hyper_parameters`, `epoch`, `global_step`,
//! `pytorch-lightning_version`, and `optimizer_states`, `callbacks`, `loops`,
//! ... which are not needed and never read), or a bare `state_dict`.
//!
//! The `state_dict` keys are the parameter names of [`crate::model::arch`]
//! already (the architecture was written to the reference's module tree).
//! The hyper-parameters that decide whether the network can run here:
//!
//! | key | accepted | else |
//! |---|---|---|
//! | `input_type` | `DOUBLE_CHANNEL_HARMONIC_PERCUSSIVE` (HPS) or `SINGLE_CHANNEL_MEL_SPECTROGRAM` (mel), an enum member of the authors' `contrastive_model.constants.ModelInputType` or its name/value as a string | refused |
//! | `embedding_dim` | 512 | refused |
//!
//! Absent ones (a bare `state_dict`) are read off the tensors: the stem
//! conv's input channels give the input kind. When both are there they must
//! agree. Everything else in `hyper_parameters` (`learning_rate`,
//! `embedding_mode`, `dropout_p`, ...) only describes the training and is
//! recorded in the model's metadata.

use std::collections::BTreeSet;
use std::io::{Read, Seek};

use super::pickle::{Node, NodeId, Pickle};
use super::torch_file::TorchFile;
use super::ImportError;
use crate::contract::{InputKind, EMBEDDING_DIM};
use crate::model::arch::{Architecture, EFFICIENTNET_PREFIX};
use crate::model::{validate_weights, NamedTensors};

/// Problems listed in full before the rest are counted.
const LISTED_PROBLEMS: usize = 12;

/// What the checkpoint says about its training, for the model's metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainingRecord {
    pub epoch: Option<i64>,
    pub global_step: Option<i64>,
    pub lightning_version: Option<String>,
    /// The hyper-parameters as JSON (enum members as their values).
    pub hyper_parameters: serde_json::Value,
    /// "lightning" or "state_dict".
    pub layout: &'static str,
}

/// The network read from a checkpoint, checked against the architecture.
#[derive(Clone, Debug)]
pub struct Network {
    pub input: InputKind,
    pub weights: NamedTensors,
    pub record: TrainingRecord,
}

/// Reads the network out of an opened torch file.
pub fn read_network<R: Read + Seek>(file: &mut TorchFile<R>) -> Result<Network, ImportError> {
    let p = &file.pickle;
    let root = p.root;
    let lightning = p.get(root, "state_dict");
    let (state_dict, record) = match lightning {
        Some(sd) => (sd, lightning_record(p, root)),
        None if p.entries(root).is_some() => (
            root,
            TrainingRecord {
                hyper_parameters: serde_json::Value::Null,
                layout: "state_dict",
                ..Default::default()
            },
        ),
        None => {
            return Err(ImportError::NotACheckpoint(format!(
                "it holds {}, not a Lightning checkpoint (a dict with 'state_dict') or a state_dict",
                p.describe(root)
            )))
        }
    };
    let entries: Vec<(NodeId, NodeId)> = p
        .entries(state_dict)
        .ok_or_else(|| ImportError::NotACheckpoint(format!("its 'state_dict' is {}", p.describe(state_dict))))?
        .to_vec();
    let hparams = lightning.and_then(|_| p.get(root, "hyper_parameters"));
    let declared = match hparams {
        Some(h) => declared_network(p, h)?,
        None => None,
    };

    // Names and tensor views first: cheap, and enough to refuse a foreign file.
    let mut tensors = Vec::new();
    let mut problems = Vec::new();
    for (k, v) in entries {
        let Some(name) = p.str(k) else {
            problems.push(format!("a key is {}, not a parameter name", p.describe(k)));
            continue;
        };
        match file.tensor(v) {
            Some(Ok(t)) => tensors.push((name.to_string(), t)),
            Some(Err(e)) => problems.push(format!("'{name}': {e}")),
            None => problems.push(format!("'{name}' is {}, not a tensor", p.describe(v))),
        }
    }
    let stem = format!("{EFFICIENTNET_PREFIX}._conv_stem.weight");
    let stem_channels = tensors
        .iter()
        .find(|(n, _)| *n == stem)
        .and_then(|(_, t)| t.shape.get(1).copied());
    let input = match (declared, stem_channels) {
        (Some(kind), Some(c)) if c != kind.channels() => {
            return Err(ImportError::Unsupported(format!(
                "its hyper-parameters say input_type {} ({} channels) but its stem convolution takes {c} channels",
                kind.name(),
                kind.channels()
            )))
        }
        (Some(kind), _) => kind,
        (None, Some(1)) => InputKind::Mel,
        (None, _) => InputKind::Hps,
    };

    let arch = Architecture::for_input(input);
    let expected = arch.parameters();
    let known: BTreeSet<&str> = expected.iter().map(|p| p.name.as_str()).collect();
    let matching = tensors.iter().filter(|(n, _)| known.contains(n.as_str())).count();
    if matching == 0 {
        let sample: Vec<&str> = tensors.iter().take(3).map(|(n, _)| n.as_str()).collect();
        return Err(ImportError::NotACheckpoint(format!(
            "none of its {} tensors is a COCOLA parameter (it has {}), so it is not a COCOLA model",
            tensors.len(),
            if sample.is_empty() {
                "no tensors".to_string()
            } else {
                format!("'{}', ...", sample.join("', '"))
            }
        )));
    }

    let mut weights = NamedTensors::new();
    for (name, t) in &tensors {
        if name.ends_with(".num_batches_tracked") {
            continue;
        }
        let Some(param) = expected.iter().find(|p| p.name == *name) else {
            problems.push(format!("'{name}' is not a parameter of the COCOLA network"));
            continue;
        };
        if t.shape != param.shape {
            problems.push(format!("'{name}' has shape {:?}, expected {:?}", t.shape, param.shape));
            continue;
        }
        match file.read_f32(t) {
            Ok(values) => weights
                .insert(name.clone(), t.shape.clone(), values)
                .map_err(|e| ImportError::Tensors(vec![e.to_string()]))?,
            Err(e) => problems.push(format!("'{name}': {e}")),
        }
    }
    // Missing ones last: a wrong file misses everything, and what it has
    // instead says more.
    let present: BTreeSet<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    for param in &expected {
        if !present.contains(param.name.as_str()) {
            problems.push(format!(
                "'{}' is missing (expected shape {:?})",
                param.name, param.shape
            ));
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Tensors(summarize(problems)));
    }
    // Present, named and shaped: now the values (finite, variances >= 0).
    validate_weights(&arch, &weights).map_err(|e| ImportError::Tensors(vec![e.to_string()]))?;
    Ok(Network { input, weights, record })
}

/// The first [`LISTED_PROBLEMS`] problems, and how many more there are.
fn summarize(mut problems: Vec<String>) -> Vec<String> {
    if problems.len() > LISTED_PROBLEMS {
        let more = problems.len() - LISTED_PROBLEMS;
        problems.truncate(LISTED_PROBLEMS);
        problems.push(format!("... and {more} more"));
    }
    problems
}

fn lightning_record(p: &Pickle, root: NodeId) -> TrainingRecord {
    let mut budget = JSON_BUDGET;
    TrainingRecord {
        epoch: p.get(root, "epoch").and_then(|n| p.int(n)),
        global_step: p.get(root, "global_step").and_then(|n| p.int(n)),
        lightning_version: p
            .get(root, "pytorch-lightning_version")
            .and_then(|n| p.str(n))
            .map(str::to_string),
        hyper_parameters: p
            .get(root, "hyper_parameters")
            .map_or(serde_json::Value::Null, |h| to_json(p, h, 0, &mut budget)),
        layout: "lightning",
    }
}

/// The input kind the hyper-parameters ask for (if they say), refusing what
/// this build cannot run.
fn declared_network(p: &Pickle, hparams: NodeId) -> Result<Option<InputKind>, ImportError> {
    if let Some(dim) = p.get(hparams, "embedding_dim") {
        match p.int(dim) {
            Some(d) if d == EMBEDDING_DIM as i64 => {}
            _ => {
                return Err(ImportError::Unsupported(format!(
                    "its embedding_dim is {}; this build runs {EMBEDDING_DIM}-dimensional embeddings only",
                    p.describe(dim)
                )))
            }
        }
    }
    let Some(input) = p.get(hparams, "input_type") else {
        return Ok(None);
    };
    let text = enum_text(p, input).ok_or_else(|| {
        ImportError::Unsupported(format!("its input_type is {}, not an input type", p.describe(input)))
    })?;
    match text.to_ascii_lowercase().as_str() {
        "double_channel_harmonic_percussive" => Ok(Some(InputKind::Hps)),
        "single_channel_mel_spectrogram" => Ok(Some(InputKind::Mel)),
        other => Err(ImportError::Unsupported(format!(
            "its input_type is '{other}'; this build runs double_channel_harmonic_percussive (HPS) and \
             single_channel_mel_spectrogram (mel) models"
        ))),
    }
}

/// The value of an enum member (`SomeEnum('value')`, as pickled), or a string.
fn enum_text(p: &Pickle, id: NodeId) -> Option<&str> {
    match p.node(id) {
        Node::Str(s) => Some(s),
        Node::Object { args, .. } => p.seq(*args).and_then(|a| a.first()).and_then(|&v| p.str(v)),
        _ => None,
    }
}

/// Values [`to_json`] renders at most.
const JSON_BUDGET: usize = 2_000;

/// A JSON rendering of a (small) pickled value, for the metadata: numbers,
/// strings and containers as themselves, enum members as their value,
/// tensors and other objects as a description. Limited in depth and in the
/// values rendered (`budget`): a pickle may nest, share or loop without end.
fn to_json(p: &Pickle, id: NodeId, depth: usize, budget: &mut usize) -> serde_json::Value {
    use serde_json::Value as J;
    if *budget == 0 {
        return J::String("...".into());
    }
    *budget -= 1;
    if depth > 8 {
        return J::String("...".into());
    }
    match p.node(id) {
        Node::None => J::Null,
        Node::Bool(b) => J::Bool(*b),
        Node::Int(i) => J::from(*i),
        Node::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Node::Str(s) => J::String(s.clone()),
        Node::Tuple(v) | Node::List(v) | Node::Set(v) => {
            let mut items = Vec::new();
            for &x in v.iter().take(64) {
                if *budget == 0 {
                    items.push(J::String("...".into()));
                    break;
                }
                items.push(to_json(p, x, depth + 1, budget));
            }
            J::Array(items)
        }
        Node::Dict(_) | Node::Object { .. } if p.entries(id).is_some_and(|e| !e.is_empty()) => {
            let mut fields = serde_json::Map::new();
            for &(k, v) in p.entries(id).unwrap_or_default().iter().take(64) {
                if *budget == 0 {
                    fields.insert("...".into(), J::String("...".into()));
                    break;
                }
                let key = p.str(k).map_or_else(|| p.describe(k), str::to_string);
                fields.insert(key, to_json(p, v, depth + 1, budget));
            }
            J::Object(fields)
        }
        Node::Object { .. } => match enum_text(p, id) {
            Some(value) => J::String(value.to_string()),
            None => J::String(p.describe(id)),
        },
        _ => J::String(p.describe(id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::pickle::parse;

    #[test]
    fn rendering_a_value_that_shares_itself_stays_bounded() {
        // x = [[...]] shared 64 times per level, 9 levels deep: 64^9 paths.
        let mut data = b"\x80\x02N".to_vec();
        for _ in 0..9 {
            data.extend_from_slice(b"q\x00(");
            data.extend(std::iter::repeat_n(&b"h\x00"[..], 64).flatten());
            data.push(b'l');
        }
        data.push(b'.');
        let p = parse(&data).unwrap();
        let mut budget = JSON_BUDGET;
        let json = to_json(&p, p.root, 0, &mut budget);
        assert_eq!(budget, 0);
        assert!(json.to_string().len() < 100_000);
    }
}
