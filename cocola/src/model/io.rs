//! The graph interface every COCOLA model has: one input, two outputs.

use super::ModelError;
use crate::contract::{InputKind, EMBEDDING_DIM};
use crate::onnx::proto::{ModelHeader, ValueInfoProto, DATA_TYPE_FLOAT};
use crate::onnx::Dim;

/// Input: `[batch, channels, 64, 501]` f32 features (2 channels for an HPS
/// model, 1 for a mel model).
pub const INPUT_FEATURES: &str = "features";
/// Output: `[batch, 512]` embeddings f(x) (after LayerNorm and tanh).
pub const OUTPUT_EMBEDDING: &str = "embedding";
/// Output: `[batch, 512]`, row `i` = W · `embedding[i]`.
pub const OUTPUT_W_EMBEDDING: &str = "w_embedding";
/// Name of the symbolic batch dimension.
pub const BATCH_DIM: &str = "batch";

pub(crate) fn input_dims(input: InputKind) -> Vec<Dim> {
    let mut dims = vec![Dim::Symbolic(BATCH_DIM.into())];
    dims.extend(input.feature_shape().iter().map(|&d| Dim::Fixed(d as i64)));
    dims
}

pub(crate) fn output_dims() -> Vec<Dim> {
    vec![Dim::Symbolic(BATCH_DIM.into()), Dim::Fixed(EMBEDDING_DIM as i64)]
}

/// Checks that the graph has exactly COCOLA's inputs and outputs, for a
/// model of input kind `input`.
pub(crate) fn check_interface(header: &ModelHeader, what: &str, input: InputKind) -> Result<(), ModelError> {
    let graph = header.graph.as_ref().ok_or_else(|| ModelError::NotCocola {
        what: what.into(),
        detail: "it has no graph".into(),
    })?;
    let describe = |v: &[ValueInfoProto]| {
        v.iter()
            .map(|i| i.name.clone().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let bad = |detail: String| ModelError::NotCocola {
        what: what.into(),
        detail,
    };
    if graph.input.len() != 1 || graph.output.len() != 2 {
        return Err(bad(format!(
            "expected input '{INPUT_FEATURES}' and outputs '{OUTPUT_EMBEDDING}', '{OUTPUT_W_EMBEDDING}'; \
             it has inputs [{}] and outputs [{}]",
            describe(&graph.input),
            describe(&graph.output)
        )));
    }
    check_value(&graph.input[0], INPUT_FEATURES, &input_dims(input)).map_err(bad)?;
    let mut outputs: Vec<&ValueInfoProto> = graph.output.iter().collect();
    outputs.sort_by_key(|v| v.name.clone());
    check_value(outputs[0], OUTPUT_EMBEDDING, &output_dims()).map_err(bad)?;
    check_value(outputs[1], OUTPUT_W_EMBEDDING, &output_dims()).map_err(bad)?;
    Ok(())
}

fn check_value(v: &ValueInfoProto, name: &str, dims: &[Dim]) -> Result<(), String> {
    let found = v.name.as_deref().unwrap_or("");
    if found != name {
        return Err(format!("expected a value named '{name}', found '{found}'"));
    }
    let Some((elem, have)) = v.tensor_shape() else {
        return Err(format!("'{name}' has no tensor type"));
    };
    // Symbolic dimensions may have any name; fixed ones must match.
    let matches = elem == DATA_TYPE_FLOAT
        && have.len() == dims.len()
        && have.iter().zip(dims).all(|(h, d)| match d {
            Dim::Fixed(_) => h == d,
            Dim::Symbolic(_) => matches!(h, Dim::Symbolic(_)),
        });
    if !matches {
        let show = |d: &[Dim]| d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" x ");
        return Err(format!(
            "'{name}' is {} of element type {elem}, expected float32 {}",
            show(&have),
            show(dims)
        ));
    }
    Ok(())
}
