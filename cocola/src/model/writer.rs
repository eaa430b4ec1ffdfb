//! Writes the self-describing COCOLA `.onnx` file: the network of
//! [`super::arch`] with the given weights, and the metadata of
//! [`super::metadata`].
//!
//! Graph: `features [batch, channels, 64, 501]` -> EfficientNet-B0 -> global average
//! pool (concatenated, as the pooling asks ([`super::pooling::Pooling`]), with the
//! time profile: 1x1 Conv -> ReduceMean over mels -> Flatten, and with the
//! pitch-class profile: ReduceMean of the input over frames -> Flatten -> MatMul
//! with a constant fold) -> Gemm (projection) -> LayerNormalization -> Tanh = `embedding
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

use std::collections::{HashMap, HashSet};
use std::path::Path;

use prost::Message;

use super::arch::{Architecture, BatchNormSpec, ConvSpec, ParamRole, Segment, BN_EPS, LN_EPS, SIMILARITY_W};
use super::io::{input_dims, output_dims, INPUT_FEATURES, OUTPUT_EMBEDDING, OUTPUT_W_EMBEDDING};
use super::metadata::ModelMetadata;
use super::pooling::{
    harmony_fold, input_pitch_class_fold, HARMONY_CELLS, HARMONY_FOLD_NAME, HARMONY_FRAMES_PER_CELL, ONSET_CHANNEL,
    ONSET_EPSILON, ONSET_EPSILON_NAME, ONSET_FRAMES_PER_CELL, ONSET_PROFILE_NAME, PITCH_CLASS_FOLD_NAME,
};
use super::quantize::{maths, ActivationRanges};
use super::{ModelError, NamedTensors};
use crate::contract::InputKind;
use crate::onnx::proto::{
    ModelProto, OperatorSetIdProto, StringStringEntryProto, ValueInfoProto, DATA_TYPE_FLOAT, DATA_TYPE_INT32,
    DATA_TYPE_INT64, DATA_TYPE_INT8, DATA_TYPE_UINT8,
};
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
    let (graph, _) = build_graph(&arch, weights, Precision::F32).map_err(internal_error)?;
    Ok(model_bytes(graph, meta, props))
}

/// A graph-building failure: always a bug here (a name used twice).
pub(crate) fn internal_error(e: DuplicateName) -> ModelError {
    ModelError::BadTensor {
        name: e.0.clone(),
        detail: format!("internal error while building the graph: {e}"),
    }
}

/// The model file's bytes: `graph` with the metadata's properties.
pub(crate) fn model_bytes(
    graph: crate::onnx::proto::GraphProto,
    meta: &ModelMetadata,
    props: Vec<(String, String)>,
) -> Vec<u8> {
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
    model.encode_to_vec()
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

/// How [`build_graph`] stores and computes the backbone.
pub(crate) enum Precision<'r> {
    /// Float32, BatchNorm as its own nodes: every parameter under its
    /// checkpoint name (what [`write_model`] writes).
    F32,
    /// Float32 with BatchNorm folded into the convolutions, as
    /// [`Precision::Int8`] computes it before quantizing: the graph on which
    /// the activations' ranges are measured.
    Probe,
    /// INT8 QDQ (see `super::quantize`), with the measured range of every
    /// activation the probe graph listed.
    Int8(&'r ActivationRanges),
}

struct Builder<'w> {
    g: GraphBuilder,
    weights: &'w NamedTensors,
    precision: Precision<'w>,
    /// Every activation that enters a quantized operator, in graph order,
    /// and the name its consumers read (itself, or its DequantizeLinear).
    activations: Vec<String>,
    read_as: HashMap<String, String>,
}

impl Builder<'_> {
    /// Adds the named weight as an initializer (validated beforehand).
    fn weight(&mut self, name: &str) -> Result<String, DuplicateName> {
        let t = self.weights.get(name).expect("weights were validated");
        self.g.initializer_f32(name, &t.shape, &t.data)
    }

    fn data(&self, name: &str) -> &[f32] {
        &self.weights.get(name).expect("weights were validated").data
    }

    /// `x` as read by an operator that INT8 computes in 8 bits: itself in
    /// float32; through QuantizeLinear -> DequantizeLinear (once per value,
    /// shared by its consumers) in INT8, which ONNX Runtime fuses into the
    /// operator's integer kernel.
    fn act(&mut self, x: &str) -> Result<String, DuplicateName> {
        if matches!(self.precision, Precision::F32) {
            return Ok(x.to_string());
        }
        if let Some(name) = self.read_as.get(x) {
            return Ok(name.clone());
        }
        let name = match self.precision {
            Precision::Int8(ranges) => {
                let (min, max) = ranges.get(x).copied().unwrap_or((0.0, 0.0));
                let (scale, zero_point) = maths::activation_params(min, max);
                let s = self.g.initializer_f32(&format!("{x}/scale"), &[], &[scale])?;
                let z = self
                    .g
                    .initializer_raw(&format!("{x}/zero_point"), &[], DATA_TYPE_UINT8, vec![zero_point])?;
                let q = self
                    .g
                    .node_named("QuantizeLinear", &[x, &s, &z], &format!("{x}/q"), vec![])?;
                self.g
                    .node_named("DequantizeLinear", &[&q, &s, &z], &format!("{x}/dq"), vec![])?
            }
            _ => x.to_string(),
        };
        self.activations.push(x.to_string());
        self.read_as.insert(x.to_string(), name.clone());
        Ok(name)
    }

    fn swish(&mut self, prefix: &str, x: &str) -> Result<String, DuplicateName> {
        let xq = self.act(x)?;
        let s = self.g.node(prefix, "Sigmoid", &[&xq], vec![])?;
        let sq = self.act(&s)?;
        self.g.node(prefix, "Mul", &[&xq, &sq], vec![])
    }

    /// A float32 convolution with its parameters under their checkpoint names.
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
        self.conv_node(c, &inputs)
    }

    fn conv_node(&mut self, c: &ConvSpec, inputs: &[&str]) -> Result<String, DuplicateName> {
        self.g.node(
            &c.name,
            "Conv",
            inputs,
            vec![
                ("kernel_shape", ints(&[c.kernel, c.kernel])),
                ("strides", ints(&[c.stride, c.stride])),
                ("pads", Attr::Ints(c.pads.onnx().to_vec())),
                ("dilations", ints(&[1, 1])),
                ("group", Attr::Int(c.groups as i64)),
            ],
        )
    }

    /// A backbone convolution and its BatchNorm (if any), then Swish if
    /// asked: in float32 as the checkpoint has them; folded (and quantized in
    /// INT8) otherwise.
    fn conv_bn(
        &mut self,
        c: &ConvSpec,
        n: Option<&BatchNormSpec>,
        x: &str,
        swish: bool,
    ) -> Result<String, DuplicateName> {
        let y = match (&self.precision, n) {
            (Precision::F32, Some(n)) => {
                let y = self.conv(c, x)?;
                self.batch_norm(n, &y)?
            }
            (Precision::F32, None) => self.conv(c, x)?,
            _ => self.folded_conv(c, n, x)?,
        };
        if swish {
            // Named after the BatchNorm where there is one (as always written).
            self.swish(n.map_or(&c.name, |n| &n.name), &y)
        } else {
            Ok(y)
        }
    }

    fn folded_conv(&mut self, c: &ConvSpec, n: Option<&BatchNormSpec>, x: &str) -> Result<String, DuplicateName> {
        let bias = c.bias.then(|| self.data(&c.bias_name()));
        let folded = match n {
            Some(n) => {
                let [g, b, m, v] = n.names();
                let bn = maths::BatchNormParams {
                    gamma: self.data(&g),
                    beta: self.data(&b),
                    mean: self.data(&m),
                    var: self.data(&v),
                    eps: BN_EPS,
                };
                maths::fold(self.data(&c.weight_name()), bias, c.out_channels, Some(&bn))
            }
            None => maths::fold(self.data(&c.weight_name()), bias, c.out_channels, None),
        };
        let (w_name, b_name) = (
            format!("{}/folded", c.weight_name()),
            format!("{}/folded", c.bias_name()),
        );
        let xq = self.act(x)?;
        let (w, b) = match self.precision {
            Precision::Int8(ranges) => {
                let (min, max) = ranges.get(x).copied().unwrap_or((0.0, 0.0));
                let (x_scale, _) = maths::activation_params(min, max);
                let (qw, w_scales) = maths::quantize_weights(&folded.weight, c.out_channels);
                let (qb, b_scales) = maths::quantize_bias(&folded.bias, x_scale, &w_scales);
                let w = self.per_channel(&w_name, &c.weight_shape(), DATA_TYPE_INT8, bytes_i8(&qw), &w_scales)?;
                let b = self.per_channel(&b_name, &[c.out_channels], DATA_TYPE_INT32, bytes_i32(&qb), &b_scales)?;
                (w, b)
            }
            _ => (
                self.g.initializer_f32(&w_name, &c.weight_shape(), &folded.weight)?,
                self.g.initializer_f32(&b_name, &[c.out_channels], &folded.bias)?,
            ),
        };
        self.conv_node(c, &[&xq, &w, &b])
    }

    /// An integer initializer with one scale per output channel (axis 0,
    /// zero point 0), read through DequantizeLinear.
    fn per_channel(
        &mut self,
        name: &str,
        dims: &[usize],
        data_type: i32,
        raw: Vec<u8>,
        scales: &[f32],
    ) -> Result<String, DuplicateName> {
        let q = self.g.initializer_raw(&format!("{name}/q"), dims, data_type, raw)?;
        let s = self
            .g
            .initializer_f32(&format!("{name}/scale"), &[scales.len()], scales)?;
        let zero_bytes = if data_type == DATA_TYPE_INT32 { 4 } else { 1 };
        let z = self.g.initializer_raw(
            &format!("{name}/zero_point"),
            &[scales.len()],
            data_type,
            vec![0; scales.len() * zero_bytes],
        )?;
        self.g
            .node_named("DequantizeLinear", &[&q, &s, &z], name, vec![("axis", Attr::Int(0))])
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
}

/// The onset profile of `features` (`pooling::onset_profile`, read off
/// the input itself): `[batch, channels, bands, frames]` -> the percussive
/// channel's rise from frame to frame (two slices subtracted), rises only,
/// averaged over all bands and cells of frames (one AveragePool) ->
/// `[batch, cells]`, centred over the cells, divided by the root of its
/// mean square plus epsilon. Every step is elementwise or pools within one window, so a
/// window's profile is bit for bit the same in any batch, which sharded
/// evaluations need (tests/integration/batch_invariance.rs): a matrix
/// product over the frames (`pooling::onset_cells`, as the trainer
/// computes it), a 1x2 conv or a mean over the middle axes each summed in
/// another order for one window than for a batch.
fn onset_profile(g: &mut GraphBuilder, input: InputKind, features: &str) -> Result<String, DuplicateName> {
    let [_, bands, frames] = input.feature_shape();
    let epsilon = g.initializer_f32(ONSET_EPSILON_NAME, &[1], &[ONSET_EPSILON])?;
    let name = ONSET_PROFILE_NAME;
    // Channel ONSET_CHANNEL, frames `from..from + frames - 1`.
    let frames_from = |g: &mut GraphBuilder, from: usize| -> Result<String, DuplicateName> {
        let constant = |g: &mut GraphBuilder, what: &str, v: [usize; 2]| {
            let raw = v.iter().flat_map(|&x| (x as i64).to_le_bytes()).collect();
            g.initializer_raw(&format!("{name}/frames_from_{from}/{what}"), &[2], DATA_TYPE_INT64, raw)
        };
        let starts = constant(g, "starts", [ONSET_CHANNEL, from])?;
        let ends = constant(g, "ends", [ONSET_CHANNEL + 1, from + frames - 1])?;
        let axes = constant(g, "axes", [1, 3])?;
        g.node(name, "Slice", &[features, &starts, &ends, &axes], vec![])
    };
    let (now, before) = (frames_from(g, 1)?, frames_from(g, 0)?);
    let rises = g.node(name, "Sub", &[&now, &before], vec![])?;
    let rises = g.node(name, "Relu", &[&rises], vec![])?;
    let cells = g.node(
        name,
        "AveragePool",
        &[&rises],
        vec![
            ("kernel_shape", ints(&[bands, ONSET_FRAMES_PER_CELL])),
            ("strides", ints(&[bands, ONSET_FRAMES_PER_CELL])),
        ],
    )?;
    let cells = g.node(name, "Flatten", &[&cells], vec![("axis", Attr::Int(1))])?;
    let mean_over_cells = |g: &mut GraphBuilder, x: &str| {
        g.node(
            name,
            "ReduceMean",
            &[x],
            vec![("axes", ints(&[1])), ("keepdims", Attr::Int(1))],
        )
    };
    let mean = mean_over_cells(g, &cells)?;
    let profile = g.node(name, "Sub", &[&cells, &mean], vec![])?;
    let square = g.node(name, "Mul", &[&profile, &profile], vec![])?;
    let mean_square = mean_over_cells(g, &square)?;
    let padded = g.node(name, "Add", &[&mean_square, &epsilon], vec![])?;
    let rms = g.node(name, "Sqrt", &[&padded], vec![])?;
    g.node(name, "Div", &[&profile, &rms], vec![])
}

/// The harmony profile of `features` (`pooling::harmony_profile`):
/// `[batch, channels, bands, frames]` -> means over cells of frames (one
/// AveragePool, which leaves out the frames after the last whole cell) ->
/// `[batch, cells, channels x bands]` · fold -> `[batch, cells x 12]`,
/// cell-major.
fn harmony_profile(g: &mut GraphBuilder, input: InputKind, features: &str) -> Result<String, DuplicateName> {
    let name = HARMONY_FOLD_NAME;
    let (dims, fold) = harmony_fold(input);
    let fold = g.initializer_f32(name, &dims, &fold)?;
    let cells = g.node(
        name,
        "AveragePool",
        &[features],
        vec![
            ("kernel_shape", ints(&[1, HARMONY_FRAMES_PER_CELL])),
            ("strides", ints(&[1, HARMONY_FRAMES_PER_CELL])),
        ],
    )?;
    // [batch, channels, bands, cells] -> [batch, cells, channels, bands].
    let cells = g.node(name, "Transpose", &[&cells], vec![("perm", ints(&[0, 3, 1, 2]))])?;
    let shape = [0i64, HARMONY_CELLS as i64, dims[0] as i64];
    let shape = g.initializer_raw(
        &format!("{name}/cells_shape"),
        &[3],
        DATA_TYPE_INT64,
        shape.iter().flat_map(|x| x.to_le_bytes()).collect(),
    )?;
    let cells = g.node(name, "Reshape", &[&cells, &shape], vec![])?;
    let profile = g.node(name, "MatMul", &[&cells, &fold], vec![])?;
    g.node(name, "Flatten", &[&profile], vec![("axis", Attr::Int(1))])
}

fn bytes_i8(v: &[i8]) -> Vec<u8> {
    v.iter().map(|&x| x as u8).collect()
}

fn bytes_i32(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The graph, and every activation a quantized operator reads (in graph
/// order; empty in float32).
pub(crate) fn build_graph<'w>(
    arch: &Architecture,
    weights: &'w NamedTensors,
    precision: Precision<'w>,
) -> Result<(crate::onnx::proto::GraphProto, Vec<String>), DuplicateName> {
    let mut b = Builder {
        g: GraphBuilder::new("cocola"),
        weights,
        precision,
        activations: Vec::new(),
        read_as: HashMap::new(),
    };
    let features = b.g.input(ValueInfoProto::tensor(
        INPUT_FEATURES,
        DATA_TYPE_FLOAT,
        &input_dims(arch.input),
    ))?;
    let x = features.clone();

    let mut x = b.conv_bn(&arch.stem.0, Some(&arch.stem.1), &x, true)?;
    for block in &arch.blocks {
        let input = x.clone();
        let mut h = x;
        if let Some((c, n)) = &block.expand {
            h = b.conv_bn(c, Some(n), &h, true)?;
        }
        h = b.conv_bn(&block.depthwise.0, Some(&block.depthwise.1), &h, true)?;
        // Squeeze and excitation: per-channel gates from the pooled map.
        let se = &block.se_reduce.name;
        let hq = b.act(&h)?;
        let pooled = b.g.node(se, "GlobalAveragePool", &[&hq], vec![])?;
        let r = b.conv_bn(&block.se_reduce, None, &pooled, true)?;
        let e = b.conv_bn(&block.se_expand, None, &r, false)?;
        let eq = b.act(&e)?;
        let gate = b.g.node(&block.se_expand.name, "Sigmoid", &[&eq], vec![])?;
        let gate = b.act(&gate)?;
        h = b.g.node(&block.se_expand.name, "Mul", &[&gate, &hq], vec![])?;
        h = b.conv_bn(&block.project.0, Some(&block.project.1), &h, false)?;
        if block.residual {
            let (hq, iq) = (b.act(&h)?, b.act(&input)?);
            h = b.g.node(&block.project.1.name, "Add", &[&hq, &iq], vec![])?;
        }
        x = h;
    }
    // The head from here on stays in float32: it is a small share of the
    // time and holds the embedding's precision.
    x = b.conv_bn(&arch.head.0, Some(&arch.head.1), &x, true)?;
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
    if arch.pooling.has(Segment::PitchClassProfile) {
        // [batch, channels, bands, frames] -> mean over frames -> [batch,
        // channels x bands] · fold -> [batch, 12]: read off the input itself.
        let name = PITCH_CLASS_FOLD_NAME;
        let (dims, fold) = input_pitch_class_fold(arch.input);
        let fold = b.g.initializer_f32(name, &dims, &fold)?;
        let means = b.g.node(
            name,
            "ReduceMean",
            &[&features],
            vec![("axes", ints(&[3])), ("keepdims", Attr::Int(0))],
        )?;
        let means = b.g.node(name, "Flatten", &[&means], vec![("axis", Attr::Int(1))])?;
        let profile = b.g.node(name, "MatMul", &[&means, &fold], vec![])?;
        flat =
            b.g.node("pool", "Concat", &[&flat, &profile], vec![("axis", Attr::Int(1))])?;
    }
    if arch.pooling.has(Segment::OnsetProfile) {
        let profile = onset_profile(&mut b.g, arch.input, &features)?;
        flat =
            b.g.node("pool", "Concat", &[&flat, &profile], vec![("axis", Attr::Int(1))])?;
    }
    if arch.pooling.has(Segment::HarmonyProfile) {
        let profile = harmony_profile(&mut b.g, arch.input, &features)?;
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
    let activations = b.activations;
    Ok((b.g.finish(), activations))
}
