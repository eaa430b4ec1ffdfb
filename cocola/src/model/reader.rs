//! Reads the weights back out of a COCOLA `.onnx` file: the inverse of
//! [`super::writer`], so that an exported model (the shipped default among
//! them) can be fine-tuned or inspected by parameter name.
//!
//! This works because the writer stores every parameter, BatchNorm's included,
//! as an initializer under its checkpoint name instead of folding BatchNorm
//! into the convolutions. The file is checked like any model a consumer
//! loads: interface, metadata and this build's feature contract first, then
//! every parameter of [`super::arch`] must be present, float32, of the right
//! shape and finite.

use std::collections::HashSet;
use std::path::Path;

use prost::Message;

use super::arch::Architecture;
use super::metadata::read_metadata;
use super::{validate_weights, ModelError, ModelMetadata, NamedTensors};
use crate::onnx::proto::{ModelProto, TensorProto, DATA_TYPE_FLOAT};

/// A model file's metadata and weights.
#[derive(Clone, Debug)]
pub struct StoredModel {
    pub metadata: ModelMetadata,
    pub weights: NamedTensors,
}

/// Reads the metadata and weights of the model in `bytes`; `what` names it
/// in errors (e.g. its path).
pub fn read_weights(bytes: &[u8], what: &str) -> Result<StoredModel, ModelError> {
    let metadata = read_metadata(bytes, what)?;
    if metadata.training.get(super::quantize::QUANTIZATION_KEY).is_some() {
        return Err(ModelError::BadInput(format!(
            "{what} is an INT8 model (`cocola quantize`): its weights are folded and rounded, so it cannot \
             be read back, fine-tuned or quantized again; use the float32 model it was made from"
        )));
    }
    let model = ModelProto::decode(bytes).map_err(|e| ModelError::NotOnnx {
        what: what.into(),
        detail: format!("its graph does not decode ({e}); the file may be truncated or corrupt"),
    })?;
    let graph = model.graph.unwrap_or_default();
    let arch = Architecture::new(metadata.input, metadata.pooling);
    let wanted: HashSet<String> = arch.parameters().into_iter().map(|p| p.name).collect();
    let mut weights = NamedTensors::new();
    for t in &graph.initializer {
        let name = t.name.clone().unwrap_or_default();
        if wanted.contains(&name) {
            let (shape, data) = decode_f32(t, &name)?;
            weights.insert(name, shape, data)?;
        }
    }
    validate_weights(&arch, &weights)?;
    Ok(StoredModel { metadata, weights })
}

/// [`read_weights`] of a file.
pub fn read_weights_file(path: &Path) -> Result<StoredModel, ModelError> {
    read_weights(&read_model_bytes(path)?, &path.display().to_string())
}

/// A model file's bytes; a missing or unreadable file is named in the error.
pub(crate) fn read_model_bytes(path: &Path) -> Result<Vec<u8>, ModelError> {
    if !path.exists() {
        return Err(ModelError::FileMissing(path.to_path_buf()));
    }
    std::fs::read(path).map_err(|source| ModelError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Shape and values of a float32 initializer, from `raw_data`
/// (little-endian) or `float_data`.
fn decode_f32(t: &TensorProto, name: &str) -> Result<(Vec<usize>, Vec<f32>), ModelError> {
    let bad = |detail: String| ModelError::BadTensor {
        name: name.to_string(),
        detail,
    };
    if t.data_type != Some(DATA_TYPE_FLOAT) {
        return Err(bad(format!(
            "stored as ONNX data type {}, expected float32 ({DATA_TYPE_FLOAT})",
            t.data_type.unwrap_or(0)
        )));
    }
    let shape = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| bad(format!("negative dimension {d}"))))
        .collect::<Result<Vec<usize>, ModelError>>()?;
    let data = match &t.raw_data {
        Some(raw) => {
            if raw.len() % 4 != 0 {
                return Err(bad(format!(
                    "{} raw bytes is not a whole number of float32 values",
                    raw.len()
                )));
            }
            raw.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        }
        None => t.float_data.clone(),
    };
    Ok((shape, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{random_weights, test_metadata};
    use crate::model::write_model;

    #[test]
    fn reads_back_exactly_what_the_writer_wrote() {
        let weights = random_weights(7);
        let bytes = write_model(&weights, &test_metadata()).unwrap();
        let stored = read_weights(&bytes, "test model").unwrap();
        assert_eq!(stored.weights, weights);
        assert_eq!(stored.metadata, test_metadata());
    }

    #[test]
    fn a_truncated_model_is_refused_not_half_read() {
        let bytes = write_model(&random_weights(7), &test_metadata()).unwrap();
        let err = read_weights(&bytes[..bytes.len() / 2], "half.onnx").unwrap_err();
        assert!(err.to_string().contains("half.onnx"), "{err}");
    }

    #[test]
    fn float_data_is_read_like_raw_data() {
        let t = TensorProto {
            dims: vec![2],
            data_type: Some(DATA_TYPE_FLOAT),
            float_data: vec![1.5, -2.0],
            name: Some("x".into()),
            raw_data: None,
        };
        assert_eq!(decode_f32(&t, "x").unwrap(), (vec![2], vec![1.5, -2.0]));
        let doubles = TensorProto {
            data_type: Some(11),
            ..t
        };
        let err = decode_f32(&doubles, "x").unwrap_err().to_string();
        assert!(err.contains("data type 11"), "{err}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = read_weights_file(Path::new("/nonexistent/m.onnx")).unwrap_err();
        assert!(matches!(err, ModelError::FileMissing(_)), "{err}");
    }
}
