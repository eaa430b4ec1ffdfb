//! INT8 models: a float32 COCOLA model rewritten in ONNX's QDQ form, for a
//! faster encoder on CPUs at some cost in accuracy (opt-in: `cocola
//! quantize`; measure it with `cocola eval` before using its scores).
//!
//! What is quantized: every convolution of the EfficientNet backbone (its
//! BatchNorm folded in first; int8 weights of 7-bit range, -63..=63, with
//! one scale per output channel, so that CPUs without VNNI do not saturate
//! (`maths::WEIGHT_MAX`); int32 biases) and the activations that enter them and the backbone's
//! Sigmoid, Mul (Swish, squeeze-and-excitation gates), Add (residuals) and
//! GlobalAveragePool (uint8, one scale per tensor, from the range measured
//! on real features). ONNX Runtime fuses each QuantizeLinear ->
//! DequantizeLinear -> operator group into its integer kernel. The head
//! (last Swish, pooling, projection, LayerNorm, tanh and W) stays float32:
//! a small share of the time that holds the embedding's precision.
//!
//! The ranges are measured on a probe graph: the float32 model with
//! BatchNorm folded as the INT8 one computes it, every quantized activation
//! exposed as an extra output, run on the calibration features.

use std::collections::BTreeMap;

use ort::value::TensorRef;
use sha2::{Digest, Sha256};

use super::arch::Architecture;
use super::encoder::{session, LoadOptions};
use super::io::INPUT_FEATURES;
use super::reader::read_weights;
use super::writer::{build_graph, internal_error, model_bytes, Precision};
use super::{ModelError, ModelMetadata};
use crate::onnx::proto::{ValueInfoProto, DATA_TYPE_FLOAT};

pub(crate) mod maths;

/// Measured range (min, max) of each quantized activation, by value name.
pub type ActivationRanges = BTreeMap<String, (f32, f32)>;

/// Where a model's metadata records that it is quantized (in `training`).
pub const QUANTIZATION_KEY: &str = "quantization";

/// Calibration rows run through the probe graph at once (activations of
/// the first blocks take ~20 MB per row).
const PROBE_BATCH: usize = 4;

/// An INT8 model made from the float32 model in `model` (`what` names it in
/// errors), its activation ranges measured on `rows` feature rows of the
/// model's input kind. Returns the model file's bytes and its metadata (the
/// original's, with how it was quantized under `training.quantization`).
pub fn quantize(
    model: &[u8],
    what: &str,
    features: &[f32],
    rows: usize,
    opts: &LoadOptions,
) -> Result<(Vec<u8>, ModelMetadata), ModelError> {
    let stored = read_weights(model, what)?;
    let arch = Architecture::new(stored.metadata.input, stored.metadata.pooling);
    let row = arch.input.feature_len();
    if rows == 0 || features.len() != rows * row {
        return Err(ModelError::BadInput(format!(
            "{} calibration values given for {rows} rows of {row}",
            features.len()
        )));
    }
    let ranges = measure_ranges(&arch, &stored.weights, &stored.metadata, features, rows, opts)?;

    let (graph, _) = build_graph(&arch, &stored.weights, Precision::Int8(&ranges)).map_err(internal_error)?;
    let mut meta = stored.metadata;
    meta.training[QUANTIZATION_KEY] = serde_json::json!({
        "format": "int8-qdq",
        "weights": "int8 of 7-bit range (-63..63), symmetric, one scale per output channel (BatchNorm folded)",
        "activations": "uint8, one scale per tensor, min/max of the calibration rows",
        "calibration_rows": rows,
        "quantized_activations": ranges.len(),
        "float_model_sha256": crate::content_hash::hex(&Sha256::digest(model)),
    });
    let props = meta.to_props()?;
    Ok((model_bytes(graph, &meta, props), meta))
}

/// Runs the probe graph on the calibration rows and records each quantized
/// activation's range (the features' own range for the graph input).
fn measure_ranges(
    arch: &Architecture,
    weights: &super::NamedTensors,
    meta: &ModelMetadata,
    features: &[f32],
    rows: usize,
    opts: &LoadOptions,
) -> Result<ActivationRanges, ModelError> {
    let (mut graph, activations) = build_graph(arch, weights, Precision::Probe).map_err(internal_error)?;
    let probed: Vec<&String> = activations.iter().filter(|a| *a != INPUT_FEATURES).collect();
    for name in &probed {
        graph
            .output
            .push(ValueInfoProto::tensor_of_any_shape(name, DATA_TYPE_FLOAT));
    }
    let bytes = model_bytes(graph, meta, meta.to_props()?);
    let (mut probe, _) = session(&bytes, "the calibration graph", opts)?;
    let mut ranges = ActivationRanges::new();
    let mut widen = |name: &str, values: &[f32]| {
        let (lo, hi) = values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
        let r = ranges.entry(name.to_string()).or_insert((lo, hi));
        *r = (r.0.min(lo), r.1.max(hi));
    };
    widen(INPUT_FEATURES, features);
    let [c, h, w] = arch.input.feature_shape();
    let row = arch.input.feature_len();
    for start in (0..rows).step_by(PROBE_BATCH) {
        let n = PROBE_BATCH.min(rows - start);
        let batch = &features[start * row..(start + n) * row];
        let input =
            TensorRef::from_array_view(([n, c, h, w], batch)).map_err(|e| ModelError::ort("take the input", e))?;
        let outputs = probe
            .run(ort::inputs![INPUT_FEATURES => input])
            .map_err(|e| ModelError::ort("run the calibration graph", e))?;
        for name in &probed {
            let value = outputs
                .get(name.as_str())
                .ok_or_else(|| ModelError::ort("run the calibration graph", format!("no output '{name}'")))?;
            let (_, data) = value
                .try_extract_tensor::<f32>()
                .map_err(|e| ModelError::ort(&format!("read '{name}'"), e))?;
            if let Some(bad) = data.iter().find(|v| !v.is_finite()) {
                return Err(ModelError::BadInput(format!(
                    "the calibration features make '{name}' {bad}: the model or the features are broken"
                )));
            }
            widen(name, data);
        }
    }
    Ok(ranges)
}
