//! The building blocks [`super::arch`] describes the network with: the B0
//! stage table, convolutions with their static padding, BatchNorms, MBConv
//! blocks, linear layers and the named parameters they own.

/// One row of the B0 block table (`efficientnet_pytorch` block strings
/// `r{repeats}_k{kernel}_s{stride}{stride}_e{expand}_i{in}_o{out}_se0.25`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageArgs {
    pub repeats: usize,
    pub kernel: usize,
    pub stride: usize,
    pub expand_ratio: usize,
    pub in_channels: usize,
    pub out_channels: usize,
}

const fn stage(repeats: usize, kernel: usize, stride: usize, expand_ratio: usize, i: usize, o: usize) -> StageArgs {
    StageArgs {
        repeats,
        kernel,
        stride,
        expand_ratio,
        in_channels: i,
        out_channels: o,
    }
}

/// EfficientNet-B0's stages.
pub const B0_STAGES: [StageArgs; 7] = [
    stage(1, 3, 1, 1, 32, 16),
    stage(2, 3, 2, 6, 16, 24),
    stage(2, 5, 2, 6, 24, 40),
    stage(3, 3, 2, 6, 40, 80),
    stage(3, 5, 1, 6, 80, 112),
    stage(4, 5, 2, 6, 112, 192),
    stage(1, 3, 1, 6, 192, 320),
];

/// Explicit zero padding of a conv input, in pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pads {
    pub top: usize,
    pub bottom: usize,
    pub left: usize,
    pub right: usize,
}

impl Pads {
    /// The reference's static SAME padding of a square `image` for a square
    /// kernel: total `max((ceil(image/stride) - 1) * stride + kernel - image, 0)`,
    /// the smaller half before, the larger after.
    pub fn static_same(image: usize, kernel: usize, stride: usize) -> Pads {
        let out = image.div_ceil(stride);
        let total = ((out - 1) * stride + kernel).saturating_sub(image);
        let (before, after) = (total / 2, total - total / 2);
        Pads {
            top: before,
            bottom: after,
            left: before,
            right: after,
        }
    }

    /// ONNX `Conv` `pads` order: `[top, left, bottom, right]`.
    pub fn onnx(&self) -> [i64; 4] {
        [self.top as i64, self.left as i64, self.bottom as i64, self.right as i64]
    }

    /// PyTorch `F.pad` / `ZeroPad2d` order: `(left, right, top, bottom)`.
    pub fn torch(&self) -> [usize; 4] {
        [self.left, self.right, self.top, self.bottom]
    }

    pub fn is_zero(&self) -> bool {
        *self == Pads::default()
    }
}

/// A 2-D convolution with square kernel and stride.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvSpec {
    /// Module path, e.g. `encoder.encoder.model.0._blocks.3._depthwise_conv`.
    pub name: String,
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel: usize,
    pub stride: usize,
    pub groups: usize,
    pub bias: bool,
    pub pads: Pads,
}

impl ConvSpec {
    pub fn weight_name(&self) -> String {
        format!("{}.weight", self.name)
    }
    pub fn bias_name(&self) -> String {
        format!("{}.bias", self.name)
    }
    /// `[out, in / groups, k, k]`.
    pub fn weight_shape(&self) -> Vec<usize> {
        vec![
            self.out_channels,
            self.in_channels / self.groups,
            self.kernel,
            self.kernel,
        ]
    }
    /// Inputs feeding one output value.
    pub fn fan_in(&self) -> usize {
        self.in_channels / self.groups * self.kernel * self.kernel
    }
    /// Output size along one axis for an input of `size` pixels.
    pub fn output_size(&self, size: usize, before: usize, after: usize) -> usize {
        (size + before + after - self.kernel) / self.stride + 1
    }
}

/// A BatchNorm2d over `channels` (eps [`super::arch::BN_EPS`]).
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNormSpec {
    pub name: String,
    pub channels: usize,
}

impl BatchNormSpec {
    /// Names of `(weight, bias, running_mean, running_var)`.
    pub fn names(&self) -> [String; 4] {
        ["weight", "bias", "running_mean", "running_var"].map(|p| format!("{}.{p}", self.name))
    }
}

/// One MBConv block.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockSpec {
    /// Position in `_blocks` (0..16).
    pub index: usize,
    /// Stage in [`B0_STAGES`] (0..7).
    pub stage: usize,
    /// 1x1 expansion and its BN (`_expand_conv`, `_bn0`); absent for expand ratio 1.
    pub expand: Option<(ConvSpec, BatchNormSpec)>,
    /// Depthwise conv (`_depthwise_conv`) and its BN (`_bn1`).
    pub depthwise: (ConvSpec, BatchNormSpec),
    /// Squeeze-and-excitation convs with bias (`_se_reduce`, `_se_expand`).
    pub se_reduce: ConvSpec,
    pub se_expand: ConvSpec,
    /// 1x1 projection (`_project_conv`) and its BN (`_bn2`).
    pub project: (ConvSpec, BatchNormSpec),
    /// Residual connection (stride 1 and equal channel counts).
    pub residual: bool,
}

/// A fully connected layer `y = x W^T + b`.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearSpec {
    pub name: String,
    pub in_features: usize,
    pub out_features: usize,
}

/// What a parameter is, which decides how it is initialised and whether it is
/// trained (BatchNorm running statistics are buffers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamRole {
    ConvWeight,
    ConvBias,
    BnWeight,
    BnBias,
    BnRunningMean,
    BnRunningVar,
    LinearWeight,
    LinearBias,
    LayerNormWeight,
    LayerNormBias,
    Bilinear,
}

impl ParamRole {
    /// Running statistics are updated by forward passes, not by the optimiser.
    pub fn is_buffer(self) -> bool {
        matches!(self, ParamRole::BnRunningMean | ParamRole::BnRunningVar)
    }
}

/// One named parameter of the network.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub role: ParamRole,
    /// Inputs feeding one output of the layer the parameter belongs to.
    pub fan_in: usize,
}

impl ParamSpec {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A plain conv (no groups, no bias) padded for a square `image`.
pub(super) fn conv(name: String, i: usize, o: usize, k: usize, s: usize, image: usize) -> ConvSpec {
    ConvSpec {
        name,
        in_channels: i,
        out_channels: o,
        kernel: k,
        stride: s,
        groups: 1,
        bias: false,
        pads: Pads::static_same(image, k, s),
    }
}

impl ConvSpec {
    pub(super) fn depthwise(self) -> Self {
        ConvSpec {
            groups: self.in_channels,
            ..self
        }
    }
    pub(super) fn with_bias(self) -> Self {
        ConvSpec { bias: true, ..self }
    }
}

pub(super) fn bn(name: String, channels: usize) -> BatchNormSpec {
    BatchNormSpec { name, channels }
}
