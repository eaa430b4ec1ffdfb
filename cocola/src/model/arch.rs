//! The COCOLA encoder as data: EfficientNet-B0 exactly as the reference builds
//! it, then the projection head and the bilinear similarity.
//!
//! The ONNX writer ([`super::writer`]) and the trainer both build the network
//! from this one description, so they cannot drift apart.
//!
//! # What the reference builds
//!
//! The reference (`contrastive_model.py`) uses
//! `EfficientNet.from_name("efficientnet-b0", include_top=False, in_channels=2)`
//! from `efficientnet_pytorch==0.7.1`, followed by dropout (training only),
//! `Linear(1280, 512)`, `LayerNorm(512)` and `tanh`; the similarity is
//! `a^T W b` with `W` of shape `[512, 512]`. From that package:
//!
//! - seven stages of MBConv blocks (table [`B0_STAGES`]); width and depth
//!   coefficients are 1.0 for B0, so the table is used as is: 16 blocks;
//! - every block: optional 1x1 expand conv + BN + swish (expand ratio != 1),
//!   depthwise k x k conv (stride s) + BN + swish, squeeze-and-excitation
//!   (global average pool, 1x1 reduce conv *with bias* to
//!   `max(1, in_filters * 0.25)` channels, swish, 1x1 expand conv *with bias*,
//!   sigmoid, multiply), 1x1 project conv + BN, and a residual add when the
//!   stride is 1 and input and output channels are equal;
//! - stem 3x3 stride-2 conv (2 -> 32) + BN + swish, head 1x1 conv (320 -> 1280)
//!   + BN + swish, global average pool -> 1280 features;
//! - no bias on any conv except the SE convs; BatchNorm eps 1e-3; swish is
//!   `x * sigmoid(x)`; `include_top=False` creates no `_fc` layer.
//!
//! # Padding: static, computed for a 224 x 224 image
//!
//! `from_name` leaves `image_size` at B0's 224, so the package builds every
//! conv as `Conv2dStaticSamePadding`: TensorFlow-style "SAME" padding computed
//! once, at construction, for a 224 x 224 input (the image size halved after
//! each stride-2 layer), and applied unchanged to whatever input arrives. For
//! the real 64 x 501 input this is *not* the same as dynamic SAME padding: the
//! stem pads (top 0, bottom 1, left 0, right 1) whereas dynamic SAME on a width
//! of 501 would pad (1, 1), and stride-2 5x5 convs pad (1, 2) where dynamic
//! SAME would pad differently, so even the feature map size differs (2 x 15
//! before the pool here, 2 x 16 with dynamic SAME). The ONNX graph therefore
//! uses these explicit asymmetric `pads` ([`Pads`]), so that weights trained by
//! the reference give identical outputs. (Stride-1 convs pad symmetrically
//! `(k-1)/2`, the same either way.)
//!
//! One more quirk of the package: the residual condition compares the block
//! stride with the integer 1, but the first block of each stage carries its
//! stride as a one-element list, so that block never gets a residual. For B0
//! this changes nothing: every stage's first block changes the channel count.
//!
//! # Parameter names
//!
//! Parameters are named by the reference Lightning checkpoint's `state_dict`
//! keys, so a reference checkpoint converts by name:
//!
//! | part | name pattern |
//! |---|---|
//! | stem conv | `encoder.encoder.model.0._conv_stem.weight` |
//! | stem BN | `encoder.encoder.model.0._bn0.{weight,bias,running_mean,running_var}` |
//! | block i expand conv / BN | `..._blocks.{i}._expand_conv.weight`, `..._blocks.{i}._bn0.*` |
//! | block i depthwise conv / BN | `..._blocks.{i}._depthwise_conv.weight`, `..._blocks.{i}._bn1.*` |
//! | block i SE | `..._blocks.{i}._se_reduce.{weight,bias}`, `..._blocks.{i}._se_expand.{weight,bias}` |
//! | block i project conv / BN | `..._blocks.{i}._project_conv.weight`, `..._blocks.{i}._bn2.*` |
//! | head conv / BN | `encoder.encoder.model.0._conv_head.weight`, `encoder.encoder.model.0._bn1.*` |
//! | projection | `encoder.projection.{weight,bias}` (`[512, 1280]`, `[512]`) |
//! | layer norm | `layer_norm.{weight,bias}` |
//! | similarity | `similarity.w` (`[512, 512]`) |
//!
//! (`encoder` is `CoColaEncoder`, its `encoder` the `EfficientNetEncoder`,
//! whose `model` is `Sequential(EfficientNet, Dropout, Flatten)`, hence `.0`.)
//! The checkpoint's BatchNorm `num_batches_tracked` counters play no part in
//! inference and are not listed. Shapes follow PyTorch: conv weights
//! `[out, in / groups, k, k]`, linear weights `[out, in]`.

use super::layers::{bn, conv};
pub use super::layers::{
    BatchNormSpec, BlockSpec, ConvSpec, LinearSpec, Pads, ParamRole, ParamSpec, StageArgs, B0_STAGES,
};
pub use super::pooling::{
    Pooling, Segment, HARMONY_VALUES, ONSET_CELLS, PITCH_CLASSES, TIME_PROFILE_CHANNELS, TIME_PROFILE_NAME,
};
use crate::contract::{InputKind, EMBEDDING_DIM};

/// Image size `efficientnet_pytorch` computes its static padding for (B0).
pub const REFERENCE_IMAGE_SIZE: usize = 224;
/// BatchNorm epsilon of every EfficientNet BatchNorm.
pub const BN_EPS: f32 = 1e-3;
/// BatchNorm momentum as PyTorch counts it (`1 - 0.99`); training only.
pub const BN_MOMENTUM: f32 = 0.01;
/// LayerNorm epsilon (PyTorch default).
pub const LN_EPS: f32 = 1e-5;
/// Features after the global average pool.
pub const FEATURE_DIM: usize = 1280;
/// Dropout before the projection (training only).
pub const DROPOUT: f32 = 0.1;
/// Squeeze-and-excitation ratio of every block.
pub const SE_RATIO: f64 = 0.25;
/// Drop-connect (stochastic depth) rate of `efficientnet_pytorch`, scaled by
/// `block index / 16` per block; training only.
pub const DROP_CONNECT_RATE: f32 = 0.2;

/// Module path of the EfficientNet inside the reference checkpoint.
pub const EFFICIENTNET_PREFIX: &str = "encoder.encoder.model.0";
/// Name of the bilinear similarity matrix.
pub const SIMILARITY_W: &str = "similarity.w";

/// The whole COCOLA network.
#[derive(Clone, Debug, PartialEq)]
pub struct Architecture {
    /// The input kind, which sets the stem's input channels.
    pub input: InputKind,
    pub pooling: Pooling,
    pub stem: (ConvSpec, BatchNormSpec),
    pub blocks: Vec<BlockSpec>,
    pub head: (ConvSpec, BatchNormSpec),
    /// The time profile's 1x1 conv (poolings with [`Segment::TimeProfile`] only).
    pub time_profile: Option<ConvSpec>,
    /// Time cells of the last feature map for the contract's input.
    pub time_cells: usize,
    /// `encoder.projection`: pooled features (1280, 1520 with the time
    /// profile, 1532 with the pitch-class profile too) -> 512.
    pub projection: LinearSpec,
    /// `layer_norm` over the embedding (eps [`LN_EPS`]).
    pub layer_norm: String,
    pub embedding_dim: usize,
}

impl Architecture {
    /// The reference network of an HPS model (2 input channels), the paper's
    /// default: `for_input(InputKind::Hps)`.
    pub fn cocola() -> Architecture {
        Self::for_input(InputKind::Hps)
    }

    /// The reference network for `input`: EfficientNet-B0 (as many input
    /// channels as the input kind has, padding for a 224 x 224 image) +
    /// Linear(1280, 512) + LayerNorm + tanh + W. The reference builds the
    /// mel models the same way with `in_channels=1`; only the stem conv's
    /// weight shape differs.
    pub fn for_input(input: InputKind) -> Architecture {
        Self::new(input, Pooling::Global)
    }

    /// The network for `input` with `pooling`: the reference's with
    /// [`Pooling::Global`]; the other poolings add the time profile's conv
    /// and widen the projection's input, nothing else (the pitch-class
    /// profile has no parameters). A pooling the input does not support
    /// ([`Pooling::supports`]) is the caller's error: a model file's
    /// metadata and the trainer's options are checked before this.
    pub fn new(input: InputKind, pooling: Pooling) -> Architecture {
        let p = EFFICIENTNET_PREFIX;
        let mut image = REFERENCE_IMAGE_SIZE;
        let stem = (
            conv(format!("{p}._conv_stem"), input.channels(), 32, 3, 2, image),
            bn(format!("{p}._bn0"), 32),
        );
        image = image.div_ceil(2);

        let mut blocks = Vec::new();
        for (stage_index, st) in B0_STAGES.iter().enumerate() {
            for r in 0..st.repeats {
                let (inp, stride) = if r == 0 {
                    (st.in_channels, st.stride)
                } else {
                    (st.out_channels, 1)
                };
                let index = blocks.len();
                let b = format!("{p}._blocks.{index}");
                let mid = inp * st.expand_ratio;
                let squeezed = ((inp as f64 * SE_RATIO) as usize).max(1);
                let expand = (st.expand_ratio != 1).then(|| {
                    (
                        conv(format!("{b}._expand_conv"), inp, mid, 1, 1, image),
                        bn(format!("{b}._bn0"), mid),
                    )
                });
                let depthwise = (
                    conv(format!("{b}._depthwise_conv"), mid, mid, st.kernel, stride, image).depthwise(),
                    bn(format!("{b}._bn1"), mid),
                );
                image = image.div_ceil(stride);
                blocks.push(BlockSpec {
                    index,
                    stage: stage_index,
                    expand,
                    depthwise,
                    se_reduce: conv(format!("{b}._se_reduce"), mid, squeezed, 1, 1, 1).with_bias(),
                    se_expand: conv(format!("{b}._se_expand"), squeezed, mid, 1, 1, 1).with_bias(),
                    project: (
                        conv(format!("{b}._project_conv"), mid, st.out_channels, 1, 1, image),
                        bn(format!("{b}._bn2"), st.out_channels),
                    ),
                    residual: stride == 1 && inp == st.out_channels,
                });
            }
        }
        let last = B0_STAGES[B0_STAGES.len() - 1].out_channels;
        let head = (
            conv(format!("{p}._conv_head"), last, FEATURE_DIM, 1, 1, image),
            bn(format!("{p}._bn1"), FEATURE_DIM),
        );
        let time_profile = pooling.has(Segment::TimeProfile).then(|| {
            conv(
                TIME_PROFILE_NAME.into(),
                FEATURE_DIM,
                TIME_PROFILE_CHANNELS,
                1,
                1,
                image,
            )
            .with_bias()
        });
        let mut arch = Architecture {
            input,
            pooling,
            stem,
            blocks,
            head,
            time_profile,
            time_cells: 0,
            projection: LinearSpec {
                name: "encoder.projection".into(),
                in_features: FEATURE_DIM,
                out_features: EMBEDDING_DIM,
            },
            layer_norm: "layer_norm".into(),
            embedding_dim: EMBEDDING_DIM,
        };
        let [_, mels, frames] = input.feature_shape();
        arch.time_cells = arch.feature_map_size(mels, frames).1;
        arch.projection.in_features = pooling.segments().iter().map(|&s| arch.segment_width(s)).sum();
        arch
    }

    /// Features a segment of the projection's input holds.
    pub fn segment_width(&self, segment: Segment) -> usize {
        match segment {
            Segment::GlobalPool => FEATURE_DIM,
            Segment::TimeProfile => TIME_PROFILE_CHANNELS * self.time_cells,
            Segment::PitchClassProfile => PITCH_CLASSES,
            Segment::OnsetProfile => ONSET_CELLS,
            Segment::HarmonyProfile => HARMONY_VALUES,
        }
    }

    /// Every conv with its BatchNorm (if any), in forward order. SE convs
    /// and the time profile's have none.
    pub fn convs(&self) -> Vec<(&ConvSpec, Option<&BatchNormSpec>)> {
        let mut out = self.backbone_convs();
        if let Some(c) = &self.time_profile {
            out.push((c, None));
        }
        out
    }

    /// The EfficientNet's convs with their BatchNorms, in forward order.
    fn backbone_convs(&self) -> Vec<(&ConvSpec, Option<&BatchNormSpec>)> {
        let mut out = vec![(&self.stem.0, Some(&self.stem.1))];
        for b in &self.blocks {
            if let Some((c, n)) = &b.expand {
                out.push((c, Some(n)));
            }
            out.push((&b.depthwise.0, Some(&b.depthwise.1)));
            out.push((&b.se_reduce, None));
            out.push((&b.se_expand, None));
            out.push((&b.project.0, Some(&b.project.1)));
        }
        out.push((&self.head.0, Some(&self.head.1)));
        out
    }

    /// Every parameter, in forward order, with its `state_dict` name and shape.
    pub fn parameters(&self) -> Vec<ParamSpec> {
        let mut out = self.backbone_parameters();
        out.extend(self.head_parameters());
        out
    }

    /// The EfficientNet's parameters, up to its last feature map: every
    /// conv but the time profile's, and every BatchNorm.
    pub fn backbone_parameters(&self) -> Vec<ParamSpec> {
        let mut out = Vec::new();
        for (c, n) in self.backbone_convs() {
            push_conv_parameters(&mut out, c, n);
        }
        out
    }

    /// What reads the backbone's last feature map: the time profile's conv
    /// (poolings that have one), the projection, its LayerNorm and W.
    pub fn head_parameters(&self) -> Vec<ParamSpec> {
        let mut out = Vec::new();
        if let Some(c) = &self.time_profile {
            push_conv_parameters(&mut out, c, None);
        }
        let l = &self.projection;
        out.push(ParamSpec {
            name: format!("{}.weight", l.name),
            shape: vec![l.out_features, l.in_features],
            role: ParamRole::LinearWeight,
            fan_in: l.in_features,
        });
        out.push(ParamSpec {
            name: format!("{}.bias", l.name),
            shape: vec![l.out_features],
            role: ParamRole::LinearBias,
            fan_in: l.in_features,
        });
        let d = self.embedding_dim;
        out.push(ParamSpec {
            name: format!("{}.weight", self.layer_norm),
            shape: vec![d],
            role: ParamRole::LayerNormWeight,
            fan_in: 1,
        });
        out.push(ParamSpec {
            name: format!("{}.bias", self.layer_norm),
            shape: vec![d],
            role: ParamRole::LayerNormBias,
            fan_in: 1,
        });
        out.push(ParamSpec {
            name: SIMILARITY_W.into(),
            shape: vec![d, d],
            role: ParamRole::Bilinear,
            fan_in: d,
        });
        out
    }

    /// Height and width of the last feature map (before the pool) for an
    /// `h x w` input, following the static padding.
    pub fn feature_map_size(&self, h: usize, w: usize) -> (usize, usize) {
        let mut size = (h, w);
        for (c, _) in self.convs() {
            if c.name.contains("._se_") {
                continue;
            }
            size = (
                c.output_size(size.0, c.pads.top, c.pads.bottom),
                c.output_size(size.1, c.pads.left, c.pads.right),
            );
        }
        size
    }
}

/// A conv's weight and bias (if any), then its BatchNorm's four tensors (if any).
fn push_conv_parameters(out: &mut Vec<ParamSpec>, c: &ConvSpec, n: Option<&BatchNormSpec>) {
    let fan_in = c.fan_in();
    out.push(ParamSpec {
        name: c.weight_name(),
        shape: c.weight_shape(),
        role: ParamRole::ConvWeight,
        fan_in,
    });
    if c.bias {
        out.push(ParamSpec {
            name: c.bias_name(),
            shape: vec![c.out_channels],
            role: ParamRole::ConvBias,
            fan_in,
        });
    }
    if let Some(n) = n {
        let roles = [
            ParamRole::BnWeight,
            ParamRole::BnBias,
            ParamRole::BnRunningMean,
            ParamRole::BnRunningVar,
        ];
        for (name, role) in n.names().into_iter().zip(roles) {
            out.push(ParamSpec {
                name,
                shape: vec![n.channels],
                role,
                fan_in: 1,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b0_has_sixteen_blocks_and_the_reference_parameter_count() {
        let a = Architecture::cocola();
        assert_eq!(a.blocks.len(), 16);
        let params = a.parameters();
        // efficientnet_pytorch's state_dict has 358 entries for this network,
        // 49 of them `num_batches_tracked`; plus projection (2), LN (2), W (1).
        assert_eq!(params.len(), 358 - 49 + 5);
        let trainable: usize = params.iter().filter(|p| !p.role.is_buffer()).map(ParamSpec::len).sum();
        // B0 without classifier has 4 007 548 parameters with 3 input channels;
        // 2 input channels remove 32*9, the head adds 1280*512+512 + 2*512 + 512*512.
        assert_eq!(trainable, 4_007_548 - 288 + 655_872 + 1024 + 262_144);
    }

    #[test]
    fn padding_is_static_for_224_not_dynamic_for_the_real_input() {
        let a = Architecture::cocola();
        assert_eq!(
            a.stem.0.pads,
            Pads {
                top: 0,
                bottom: 1,
                left: 0,
                right: 1
            }
        );
        let dw: Vec<[usize; 4]> = a.blocks.iter().map(|b| b.depthwise.0.pads.torch()).collect();
        // As printed by efficientnet_pytorch 0.7.1 (ZeroPad2d (left, right, top, bottom)).
        let expected = [
            [1, 1, 1, 1],
            [0, 1, 0, 1],
            [1, 1, 1, 1],
            [1, 2, 1, 2],
            [2, 2, 2, 2],
            [0, 1, 0, 1],
            [1, 1, 1, 1],
            [1, 1, 1, 1],
            [2, 2, 2, 2],
            [2, 2, 2, 2],
            [2, 2, 2, 2],
            [1, 2, 1, 2],
            [2, 2, 2, 2],
            [2, 2, 2, 2],
            [2, 2, 2, 2],
            [1, 1, 1, 1],
        ];
        assert_eq!(dw, expected);
        assert_eq!(a.feature_map_size(64, 501), (2, 15));
    }

    #[test]
    fn the_mel_network_differs_only_in_the_stem_input_channels() {
        let hps = Architecture::cocola();
        let mel = Architecture::for_input(InputKind::Mel);
        let (h, m) = (hps.parameters(), mel.parameters());
        assert_eq!(h.len(), m.len());
        let different: Vec<(&str, &[usize], &[usize])> = h
            .iter()
            .zip(&m)
            .filter(|(a, b)| a != b)
            .map(|(a, b)| (a.name.as_str(), a.shape.as_slice(), b.shape.as_slice()))
            .collect();
        assert_eq!(
            different,
            [(
                "encoder.encoder.model.0._conv_stem.weight",
                &[32, 2, 3, 3][..],
                &[32, 1, 3, 3][..]
            )]
        );
    }

    #[test]
    fn the_time_profile_adds_one_conv_and_widens_only_the_projection() {
        let global = Architecture::cocola();
        let profile = Architecture::new(InputKind::Hps, Pooling::TimeProfile);
        assert_eq!((global.time_cells, profile.time_cells), (15, 15));
        assert_eq!(profile.feature_map_size(64, 501), (2, 15));
        let names = |a: &Architecture| -> Vec<(String, Vec<usize>)> {
            a.parameters().into_iter().map(|p| (p.name, p.shape)).collect()
        };
        let (g, p) = (names(&global), names(&profile));
        let added: Vec<&(String, Vec<usize>)> = p.iter().filter(|x| !g.contains(x)).collect();
        assert_eq!(
            added,
            [
                &("encoder.time_profile.weight".to_string(), vec![16, 1280, 1, 1]),
                &("encoder.time_profile.bias".to_string(), vec![16]),
                &("encoder.projection.weight".to_string(), vec![512, 1280 + 16 * 15]),
            ]
        );
        assert_eq!(p.len(), g.len() + 2);
        assert!("avg".parse::<Pooling>().unwrap_err().contains("time-profile"));
        // The pitch-class profile has no parameters: 12 more projection columns.
        let pitch = Architecture::new(InputKind::Pitch, Pooling::TimePitchClass);
        let q = names(&pitch);
        let added: Vec<&(String, Vec<usize>)> = q.iter().filter(|x| !p.contains(x)).collect();
        assert_eq!(
            added,
            [&("encoder.projection.weight".to_string(), vec![512, 1280 + 16 * 15 + 12])]
        );
    }

    #[test]
    fn the_head_reads_the_last_feature_map_and_the_backbone_is_the_rest() {
        let head_names =
            |a: &Architecture| -> Vec<String> { a.head_parameters().into_iter().map(|p| p.name).collect() };
        let global = Architecture::cocola();
        assert_eq!(
            head_names(&global),
            [
                "encoder.projection.weight",
                "encoder.projection.bias",
                "layer_norm.weight",
                "layer_norm.bias",
                "similarity.w"
            ]
        );
        let pitch = Architecture::new(InputKind::Pitch, Pooling::TimePitchClass);
        assert_eq!(
            head_names(&pitch)[..2],
            ["encoder.time_profile.weight", "encoder.time_profile.bias"]
        );
        for a in [global, pitch] {
            let backbone = a.backbone_parameters();
            assert!(backbone.iter().all(|p| p.name.starts_with(EFFICIENTNET_PREFIX)));
            let head_bn = format!("{EFFICIENTNET_PREFIX}._bn1.running_var");
            assert_eq!(
                backbone.last().unwrap().name,
                head_bn,
                "ends with the head conv's BatchNorm"
            );
            let whole: Vec<String> = backbone
                .into_iter()
                .chain(a.head_parameters())
                .map(|p| p.name)
                .collect();
            assert_eq!(whole, a.parameters().into_iter().map(|p| p.name).collect::<Vec<_>>());
        }
    }

    #[test]
    fn residuals_and_se_widths() {
        let a = Architecture::cocola();
        let residual: Vec<usize> = a.blocks.iter().filter(|b| b.residual).map(|b| b.index).collect();
        assert_eq!(residual, [2, 4, 6, 7, 9, 10, 12, 13, 14]);
        assert_eq!(a.blocks[0].se_reduce.out_channels, 8);
        assert_eq!(a.blocks[1].se_reduce.out_channels, 4);
        assert!(a.blocks[0].expand.is_none() && a.blocks[1].expand.is_some());
    }
}
