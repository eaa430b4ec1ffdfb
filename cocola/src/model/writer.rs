//! Writes the self-describing COCOLA `.onnx` file: the network of
//! [`super::arch`] with the given weights, and the metadata of
//! [`super::metadata`].
//!
//! Graph: `features [batch, channels, 64, 501]` -> EfficientNet-B0 -> global average
//! pool (with [`super::arch::Pooling::TimeProfile`], concatenated with the time
//! profile: 1x1 Conv -> ReduceMean over mels -> Flatten) -> Gemm (projection) -> LayerNormalization -> Tanh = `embedding
//! [batch, 512]`; `w_embedding = embedding · W^T`, i.e. row i is `W ·
//! embedding[i]`, so `score(c, s) = dot(embedding[c], w_embedding[s]) = f(c)^T W f(s)`,
//! the reference's `BilinearSimilarity.pairwise(x=condition, y=stem)`.
//!
//! BatchNorm stays as `BatchNormalization` nodes rather than being folded into
//! the convs here: the initializers then carry exactly the checkpoint's
//! parameters under the checkpoint's names (a model file can be read back,
//! compared or fine-tuned by name), and it costs nothing at run time because
//! ONNX Runtime's basic graph optimisations fold a BatchNormalization that
//! follows a Conv with constant inputs into that Conv when the session loads.

use std::collections::HashSet;
use std::path::Path;

use prost::Message;

use super::arch::{Architecture, BatchNormSpec, ConvSpec, ParamRole, BN_EPS, LN_EPS, SIMILARITY_W};
use super::io::{input_dims, output_dims, INPUT_FEATURES, OUTPUT_EMBEDDING, OUTPUT_W_EMBEDDING};
use super::metadata::ModelMetadata;
use super::{ModelError, NamedTensors};
use crate::onnx::proto::{ModelProto, OperatorSetIdProto, StringStringEntryProto, ValueInfoProto, DATA_TYPE_FLOAT};
use crate::onnx::{Attr, DuplicateName, GraphBuilder, IR_VERSION, OPSET_VERSION};

/// Checkpoint entries that exist in a PyTorch `state_dict` but play no part in
/// inference; they are accepted and ignored.
const IGNORED_SUFFIXES: [&str; 1] = [".num_batches_tracked"];

/// Checks that `weights` holds every parameter of `arch` with the right shape
/// and finite values, and nothing the network does not have.
pub fn validate_weights(arch: &Architecture, weights: &NamedTensors) -> Result<(), ModelError> {
    let params = arch.parameters();
    for p in &params {
        let t = weights.get(&p.name).ok_or_else(|| ModelError::MissingParameter {
            name: p.name.clone(),
            shape: p.shape.clone(),
        })?;
        if t.shape != p.shape {
            return Err(ModelError::WrongShape {
                name: p.name.clone(),
                expected: p.shape.clone(),
                found: t.shape.clone(),
            });
        }
        if let Some((index, &value)) = t.data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ModelError::NonFinite {
                name: p.name.clone(),
                index,
                value,
            });
        }
        if p.role == ParamRole::BnRunningVar {
            if let Some(index) = t.data.iter().position(|&v| v < 0.0) {
                return Err(ModelError::BadTensor {
                    name: p.name.clone(),
                    detail: format!("running variance is negative ({}) at flat index {index}", t.data[index]),
                });
            }
        }
    }
    let known: HashSet<&str> = params.iter().map(|p| p.name.as_str()).collect();
    for name in weights.names() {
        if !known.contains(name) && !IGNORED_SUFFIXES.iter().any(|s| name.ends_with(s)) {
            return Err(ModelError::UnexpectedParameter { name: name.to_string() });
        }
    }
    Ok(())
}

/// Builds the ONNX model bytes: the network of the metadata's input kind.
/// Fails, naming the tensor, if a weight is missing, misshapen or not
/// finite, or if the metadata is invalid.
pub fn write_model(weights: &NamedTensors, meta: &ModelMetadata) -> Result<Vec<u8>, ModelError> {
    let arch = Architecture::new(meta.input, meta.pooling);
    validate_weights(&arch, weights)?;
    let props = meta.to_props()?;
    let graph = build_graph(&arch, weights).map_err(|e| ModelError::BadTensor {
        name: e.0.clone(),
        detail: format!("internal error while building the graph: {e}"),
    })?;
    let model = ModelProto {
        ir_version: Some(IR_VERSION),
        producer_name: Some("cocola".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        domain: Some("cocola".into()),
        model_version: Some(1),
        doc_string: Some(format!("COCOLA coherence encoder '{}' {}", meta.name, meta.version)),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET_VERSION),
        }],
        metadata_props: props
            .into_iter()
            .map(|(k, v)| StringStringEntryProto {
                key: Some(k),
                value: Some(v),
            })
            .collect(),
    };
    Ok(model.encode_to_vec())
}

/// [`write_model`] to a file, atomically: the bytes go to a temporary file in
/// the same directory which then replaces `path`, so a reader never sees a
/// half-written model.
pub fn write_model_file(path: &Path, weights: &NamedTensors, meta: &ModelMetadata) -> Result<(), ModelError> {
    let bytes = write_model(weights, meta)?;
    crate::atomic_file::write_bytes(path, &bytes).map_err(|source| ModelError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn ints(v: &[usize]) -> Attr {
    Attr::Ints(v.iter().map(|&x| x as i64).collect())
}

struct Builder<'w> {
    g: GraphBuilder,
    weights: &'w NamedTensors,
}

impl Builder<'_> {
    /// Adds the named weight as an initializer (validated beforehand).
    fn weight(&mut self, name: &str) -> Result<String, DuplicateName> {
        let t = self.weights.get(name).expect("weights were validated");
        self.g.initializer_f32(name, &t.shape, &t.data)
    }

    fn swish(&mut self, prefix: &str, x: &str) -> Result<String, DuplicateName> {
        let s = self.g.node(prefix, "Sigmoid", &[x], vec![])?;
        self.g.node(prefix, "Mul", &[x, &s], vec![])
    }

    fn conv(&mut self, c: &ConvSpec, x: &str) -> Result<String, DuplicateName> {
        let w = self.weight(&c.weight_name())?;
        let b = if c.bias {
            Some(self.weight(&c.bias_name())?)
        } else {
            None
        };
        let mut inputs = vec![x, w.as_str()];
        if let Some(b) = &b {
            inputs.push(b);
        }
        self.g.node(
            &c.name,
            "Conv",
            &inputs,
            vec![
                ("kernel_shape", ints(&[c.kernel, c.kernel])),
                ("strides", ints(&[c.stride, c.stride])),
                ("pads", Attr::Ints(c.pads.onnx().to_vec())),
                ("dilations", ints(&[1, 1])),
                ("group", Attr::Int(c.groups as i64)),
            ],
        )
    }

    fn batch_norm(&mut self, n: &BatchNormSpec, x: &str) -> Result<String, DuplicateName> {
        let [w, b, m, v] = n.names();
        let (w, b, m, v) = (self.weight(&w)?, self.weight(&b)?, self.weight(&m)?, self.weight(&v)?);
        self.g.node(
            &n.name,
            "BatchNormalization",
            &[x, &w, &b, &m, &v],
            vec![("epsilon", Attr::Float(BN_EPS))],
        )
    }

    fn conv_bn(&mut self, c: &ConvSpec, n: &BatchNormSpec, x: &str, swish: bool) -> Result<String, DuplicateName> {
        let y = self.conv(c, x)?;
        let y = self.batch_norm(n, &y)?;
        if swish {
            self.swish(&n.name, &y)
        } else {
            Ok(y)
        }
    }
}

fn build_graph(arch: &Architecture, weights: &NamedTensors) -> Result<crate::onnx::proto::GraphProto, DuplicateName> {
    let mut b = Builder {
        g: GraphBuilder::new("cocola"),
        weights,
    };
    let x = b.g.input(ValueInfoProto::tensor(
        INPUT_FEATURES,
        DATA_TYPE_FLOAT,
        &input_dims(arch.input),
    ))?;

    let mut x = b.conv_bn(&arch.stem.0, &arch.stem.1, &x, true)?;
    for block in &arch.blocks {
        let input = x.clone();
        let mut h = x;
        if let Some((c, n)) = &block.expand {
            h = b.conv_bn(c, n, &h, true)?;
        }
        h = b.conv_bn(&block.depthwise.0, &block.depthwise.1, &h, true)?;
        // Squeeze and excitation: per-channel gates from the pooled map.
        let se = &block.se_reduce.name;
        let pooled = b.g.node(se, "GlobalAveragePool", &[&h], vec![])?;
        let r = b.conv(&block.se_reduce, &pooled)?;
        let r = b.swish(se, &r)?;
        let e = b.conv(&block.se_expand, &r)?;
        let gate = b.g.node(&block.se_expand.name, "Sigmoid", &[&e], vec![])?;
        h = b.g.node(&block.se_expand.name, "Mul", &[&gate, &h], vec![])?;
        h = b.conv_bn(&block.project.0, &block.project.1, &h, false)?;
        if block.residual {
            h = b.g.node(&block.project.1.name, "Add", &[&h, &input], vec![])?;
        }
        x = h;
    }
    x = b.conv_bn(&arch.head.0, &arch.head.1, &x, true)?;
    let pooled = b.g.node("pool", "GlobalAveragePool", &[&x], vec![])?;
    let mut flat = b.g.node("pool", "Flatten", &[&pooled], vec![("axis", Attr::Int(1))])?;
    if let Some(c) = &arch.time_profile {
        // [batch, 16, mels, time] -> mean over mels -> [batch, 16 x time], channel-major.
        let profile = b.conv(c, &x)?;
        let profile = b.g.node(
            &c.name,
            "ReduceMean",
            &[&profile],
            vec![("axes", ints(&[2])), ("keepdims", Attr::Int(0))],
        )?;
        let profile =
            b.g.node(&c.name, "Flatten", &[&profile], vec![("axis", Attr::Int(1))])?;
        flat =
            b.g.node("pool", "Concat", &[&flat, &profile], vec![("axis", Attr::Int(1))])?;
    }

    let p = &arch.projection;
    let (pw, pb) = (
        b.weight(&format!("{}.weight", p.name))?,
        b.weight(&format!("{}.bias", p.name))?,
    );
    let projected =
        b.g.node(&p.name, "Gemm", &[&flat, &pw, &pb], vec![("transB", Attr::Int(1))])?;
    let ln = &arch.layer_norm;
    let (lw, lb) = (b.weight(&format!("{ln}.weight"))?, b.weight(&format!("{ln}.bias"))?);
    let normed = b.g.node(
        ln,
        "LayerNormalization",
        &[&projected, &lw, &lb],
        vec![("axis", Attr::Int(-1)), ("epsilon", Attr::Float(LN_EPS))],
    )?;
    let embedding = b.g.node_named("Tanh", &[&normed], OUTPUT_EMBEDDING, vec![])?;
    let w = b.weight(SIMILARITY_W)?;
    // Row form of W · e: e^T W^T, i.e. Gemm with transB.
    b.g.node_named(
        "Gemm",
        &[&embedding, &w],
        OUTPUT_W_EMBEDDING,
        vec![("transB", Attr::Int(1))],
    )?;

    b.g.output(ValueInfoProto::tensor(
        OUTPUT_EMBEDDING,
        DATA_TYPE_FLOAT,
        &output_dims(),
    ));
    b.g.output(ValueInfoProto::tensor(
        OUTPUT_W_EMBEDDING,
        DATA_TYPE_FLOAT,
        &output_dims(),
    ));
    Ok(b.g.finish())
}
