//! The forward pass, walking `cocola::model::arch` block by block.
//!
//! What the reference does in training that the ONNX graph leaves out:
//! BatchNorm in batch-statistics mode (updating the running statistics with
//! PyTorch momentum [`BN_MOMENTUM`]), drop-connect on residual blocks
//! (`efficientnet_pytorch`: rate [`DROP_CONNECT_RATE`] x block index / 16,
//! per sample) and dropout [`DROPOUT`] before the projection.

use cocola::contract::EMBEDDING_DIM;
use cocola::model::arch::{
    Architecture, BatchNormSpec, BlockSpec, ConvSpec, Segment, BN_EPS, BN_MOMENTUM, DROPOUT, DROP_CONNECT_RATE, LN_EPS,
    SIMILARITY_W,
};
use cocola::model::pooling::{
    harmony_fold, input_pitch_class_fold, onset_cells, onset_rise_kernel, HARMONY_CELLS, HARMONY_FRAMES_PER_CELL,
    ONSET_EPSILON,
};
use tch::{Device, Kind, Tensor};

use super::params::Params;

/// The COCOLA encoder f and the bilinear similarity W.
pub struct Network {
    pub arch: Architecture,
    pub params: Params,
    /// Lay CPU activations out channels-last (see [`channels_last`]); on
    /// unless a benchmark wants the plain layout to compare with.
    pub channels_last_on_cpu: bool,
    /// The pitch-class profile's constant fold, on the parameters' device
    /// (poolings with [`Segment::PitchClassProfile`] only).
    pitch_class_fold: Option<Tensor>,
    /// The onset profile's constant rise kernel and cell matrix, on the
    /// parameters' device (poolings with [`Segment::OnsetProfile`] only).
    onset: Option<(Tensor, Tensor)>,
    /// The harmony profile's constant fold, on the parameters' device
    /// (poolings with [`Segment::HarmonyProfile`] only).
    harmony_fold: Option<Tensor>,
    /// Whether only the head trains ([`Network::freeze_backbone`]).
    backbone_frozen: bool,
}

impl Network {
    pub fn new(arch: Architecture, params: Params) -> Network {
        let pitch_class_fold = arch.pooling.has(Segment::PitchClassProfile).then(|| {
            let ([rows, cols], fold) = input_pitch_class_fold(arch.input);
            Tensor::from_slice(&fold)
                .reshape([rows as i64, cols as i64])
                .to_device(params.device())
        });
        let constant = |dims: &[usize], data: &[f32]| {
            let dims: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
            Tensor::from_slice(data).reshape(&dims).to_device(params.device())
        };
        let onset = arch.pooling.has(Segment::OnsetProfile).then(|| {
            let (rise_dims, rise) = onset_rise_kernel(arch.input);
            let (cell_dims, cells) = onset_cells();
            (constant(&rise_dims, &rise), constant(&cell_dims, &cells))
        });
        let harmony_fold = arch.pooling.has(Segment::HarmonyProfile).then(|| {
            let (dims, fold) = harmony_fold(arch.input);
            constant(&dims, &fold)
        });
        Network {
            arch,
            params,
            channels_last_on_cpu: true,
            pitch_class_fold,
            onset,
            harmony_fold,
            backbone_frozen: false,
        }
    }

    /// Trains only the head from now on: the time profile's 1x1 conv, the
    /// projection, its LayerNorm and W. The backbone (stem, blocks, head
    /// conv and their BatchNorms) keeps its weights and runs as in
    /// inference in every pass, BatchNorm on its running statistics and no
    /// drop-connect, so what it computes for a window never changes and no
    /// gradient flows through it.
    pub fn freeze_backbone(&mut self) {
        let head: Vec<String> = self.arch.head_parameters().into_iter().map(|p| p.name).collect();
        self.params.freeze_all_but(|name| head.iter().any(|h| h == name));
        self.backbone_frozen = true;
    }

    pub fn device(&self) -> Device {
        self.params.device()
    }

    /// f(x): features `[B, channels, 64, 501]` -> embeddings `[B, 512]` (after
    /// LayerNorm and tanh). `train` switches BatchNorm statistics, dropout and
    /// drop-connect as PyTorch's `train()` / `eval()` would.
    pub fn embed(&self, x: &Tensor, train: bool) -> Tensor {
        self.forward(
            x,
            Pass {
                train,
                bn_momentum: BN_MOMENTUM as f64,
            },
        )
    }

    /// A training-mode pass over `anchors` and `positives` (together, as in
    /// training) that only feeds BatchNorm's running statistics: with
    /// `batches_before` earlier calls, the statistics become the plain mean of
    /// all the calls' batch statistics (momentum 1 / (n + 1)); the first call
    /// forgets what they held. See `export::recalibrate_batch_norm`. Every
    /// BatchNorm is in the backbone, which this runs in training mode even
    /// when frozen (the head has none).
    pub fn accumulate_bn_statistics(&self, anchors: &Tensor, positives: &Tensor, batches_before: u64) {
        let both = Tensor::cat(&[anchors, positives], 0);
        let momentum = 1.0 / (batches_before as f64 + 1.0);
        tch::no_grad(|| {
            drop(self.backbone(
                &both,
                Pass {
                    train: true,
                    bn_momentum: momentum,
                },
            ))
        });
    }

    fn forward(&self, x: &Tensor, pass: Pass) -> Tensor {
        let train = pass.train;
        let input = x;
        let x = if self.backbone_frozen {
            let inference = Pass { train: false, ..pass };
            tch::no_grad(|| self.backbone(x, inference))
        } else {
            self.backbone(x, pass)
        };
        let pooled = x.adaptive_avg_pool2d([1, 1]).flatten(1, -1);
        let x = match &self.arch.time_profile {
            None => pooled,
            // [B, 16, mels, time] -> mean over mels -> [B, 16 x time], channel-major
            // as the ONNX graph's Flatten.
            Some(c) => {
                let profile = self.conv(&x, c).mean_dim(Some(&[2i64][..]), false, Kind::Float);
                Tensor::cat(&[pooled, profile.flatten(1, -1)], 1)
            }
        };
        let x = match &self.pitch_class_fold {
            None => x,
            // [B, channels, bands, frames] -> mean over frames, flattened ->
            // · fold = [B, 12], as the ONNX graph's MatMul.
            Some(fold) => {
                let means = input.mean_dim(Some(&[3i64][..]), false, Kind::Float).flatten(1, -1);
                Tensor::cat(&[x, means.matmul(fold)], 1)
            }
        };
        let x = match &self.onset {
            None => x,
            // The percussive channel's rise from frame to frame, rises
            // only, mean over bands, · cells, / sqrt(mean square + epsilon),
            // as the ONNX graph (`cocola::model::pooling::onset_profile`).
            Some((rise, cells)) => {
                let rises = input
                    .conv2d(rise, None::<Tensor>, [1, 1], [0, 0], [1, 1], 1)
                    .relu()
                    .mean_dim(Some(&[1i64, 2][..]), false, Kind::Float);
                let profile = rises.matmul(cells);
                let mean_square = profile.square().mean_dim(Some(&[1i64][..]), true, Kind::Float);
                Tensor::cat(&[x, &profile / (mean_square + ONSET_EPSILON as f64).sqrt()], 1)
            }
        };
        let x = match &self.harmony_fold {
            None => x,
            // [B, channels, bands, frames] -> means over cells of frames ->
            // [B, cells, channels x bands] · fold -> [B, cells x 12],
            // cell-major, as the ONNX graph (`pooling::harmony_profile`).
            Some(fold) => {
                let [batch, channels, bands, _] = input.size()[..] else {
                    unreachable!("features are [batch, channels, bands, frames]")
                };
                let (cells, per_cell) = (HARMONY_CELLS as i64, HARMONY_FRAMES_PER_CELL as i64);
                let means = input
                    .narrow(3, 0, cells * per_cell)
                    .reshape([batch, channels * bands, cells, per_cell])
                    .mean_dim(Some(&[3i64][..]), false, Kind::Float)
                    .transpose(1, 2);
                Tensor::cat(&[x, means.matmul(fold).flatten(1, -1)], 1)
            }
        };
        let x = x.dropout(DROPOUT as f64, train);
        let proj = &self.arch.projection.name;
        let x = x.linear(
            self.params.get(&format!("{proj}.weight")),
            Some(self.params.get(&format!("{proj}.bias"))),
        );
        let ln = &self.arch.layer_norm;
        x.layer_norm(
            [EMBEDDING_DIM as i64],
            Some(self.params.get(&format!("{ln}.weight"))),
            Some(self.params.get(&format!("{ln}.bias"))),
            LN_EPS as f64,
            true,
        )
        .tanh()
    }

    /// The EfficientNet up to its last feature map (after the head conv).
    fn backbone(&self, x: &Tensor, pass: Pass) -> Tensor {
        let x = if x.device() == Device::Cpu && self.channels_last_on_cpu {
            channels_last(x)
        } else {
            x.shallow_clone()
        };
        let (stem_conv, stem_bn) = &self.arch.stem;
        let mut x = self.bn(&self.conv(&x, stem_conv), stem_bn, pass).silu();
        let blocks = self.arch.blocks.len();
        for block in &self.arch.blocks {
            x = self.block(&x, block, blocks, pass);
        }
        let (head_conv, head_bn) = &self.arch.head;
        self.bn(&self.conv(&x, head_conv), head_bn, pass).silu()
    }

    /// The K x K matrix `sim(a_i, b_j) = a_i^T W b_j` (paper Eq. 2), rows
    /// anchors, columns positives, as the reference's `BilinearSimilarity`.
    pub fn similarity(&self, a: &Tensor, b: &Tensor) -> Tensor {
        a.matmul(&self.w().matmul(&b.tr()))
    }

    /// Row i = W f(x_i): the model file's `w_embedding` output.
    pub fn w_embedding(&self, f: &Tensor) -> Tensor {
        f.matmul(&self.w().tr())
    }

    fn w(&self) -> &Tensor {
        self.params.get(SIMILARITY_W)
    }

    /// Embeds anchors and candidates in one batch (as the reference does, so
    /// BatchNorm sees both) and returns their K x N similarity matrix. The
    /// candidates are the K positives, in the anchors' order, then any hard
    /// negatives: extra columns, more negatives per anchor in Eq. 3.
    pub fn pair_similarity(&self, anchors: &Tensor, candidates: &Tensor, train: bool) -> Tensor {
        let k = anchors.size()[0];
        let n = candidates.size()[0];
        let both = Tensor::cat(&[anchors, candidates], 0);
        let e = self.embed(&both, train);
        self.similarity(&e.narrow(0, 0, k), &e.narrow(0, k, n))
    }

    fn conv(&self, x: &Tensor, c: &ConvSpec) -> Tensor {
        // The reference's static SAME padding, explicit and asymmetric.
        let padded;
        let x = if c.pads.is_zero() {
            x
        } else {
            padded = x.constant_pad_nd(c.pads.torch().map(|p| p as i64));
            &padded
        };
        let bias = c.bias.then(|| self.params.get(&c.bias_name()));
        let s = c.stride as i64;
        x.conv2d(
            self.params.get(&c.weight_name()),
            bias,
            [s, s],
            [0, 0],
            [1, 1],
            c.groups as i64,
        )
    }

    fn bn(&self, x: &Tensor, n: &BatchNormSpec, pass: Pass) -> Tensor {
        let [w, b, mean, var] = n.names().map(|name| self.params.get(&name));
        x.batch_norm(
            Some(w),
            Some(b),
            Some(mean),
            Some(var),
            pass.train,
            pass.bn_momentum,
            BN_EPS as f64,
            true,
        )
    }

    fn block(&self, inputs: &Tensor, b: &BlockSpec, blocks: usize, pass: Pass) -> Tensor {
        let train = pass.train;
        let expanded = match &b.expand {
            Some((conv, bn)) => self.bn(&self.conv(inputs, conv), bn, pass).silu(),
            None => inputs.shallow_clone(),
        };
        let depthwise = self
            .bn(&self.conv(&expanded, &b.depthwise.0), &b.depthwise.1, pass)
            .silu();
        let squeezed = depthwise.adaptive_avg_pool2d([1, 1]);
        let squeezed = self.conv(&self.conv(&squeezed, &b.se_reduce).silu(), &b.se_expand);
        // A new tensor, not `*=`: an in-place product would overwrite
        // `depthwise`, which autograd keeps for the backward pass.
        let excited = &depthwise * squeezed.sigmoid();
        let mut x = self.bn(&self.conv(&excited, &b.project.0), &b.project.1, pass);
        if !b.residual {
            return x;
        }
        let rate = DROP_CONNECT_RATE as f64 * b.index as f64 / blocks as f64;
        if train && rate > 0.0 {
            x = drop_connect(&x, rate);
        }
        x + inputs
    }
}

/// How a forward pass runs: PyTorch's `train()` / `eval()`, and the momentum
/// with which a training pass updates BatchNorm's running statistics.
#[derive(Clone, Copy)]
struct Pass {
    train: bool,
    bn_momentum: f64,
}

/// The same values laid out channels-last (NHWC strides behind NCHW sizes).
/// libtorch's CPU convolutions then keep that layout through the network,
/// which makes a training step 1.7x faster on this project's build machine
/// (`cargo run --release -p cocola-trainer --example step_bench`); the
/// arithmetic is the same, so results agree with NCHW to float rounding.
/// tch has no `to(memory_format)`, hence the permutes.
pub fn channels_last(x: &Tensor) -> Tensor {
    x.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

/// Stochastic depth as `efficientnet_pytorch` does it: each sample's branch
/// is kept with probability 1 - rate and scaled by 1 / (1 - rate).
fn drop_connect(x: &Tensor, rate: f64) -> Tensor {
    let keep = 1.0 - rate;
    let n = x.size()[0];
    let mask = (Tensor::rand([n, 1, 1, 1], (Kind::Float, x.device())) + keep).floor();
    x / keep * mask
}

/// `sim` (K x (K + M)) with each anchor's own hard negative counted
/// `emphasis` times in the softmax of Eq. 3: ln(emphasis) added to its
/// logit, where column K + j is the hard negative of anchor `owners[j]`.
/// One hard negative among K + M columns moves the loss little once it
/// scores below the positive; counted several times it keeps pulling.
pub fn emphasize_own_negatives(sim: &Tensor, owners: &[usize], emphasis: f64) -> Tensor {
    if emphasis == 1.0 || owners.is_empty() {
        return sim.shallow_clone();
    }
    let [k, n] = [sim.size()[0] as usize, sim.size()[1] as usize];
    let mut offset = vec![0f32; k * n];
    for (j, &owner) in owners.iter().enumerate() {
        offset[owner * n + k + j] = emphasis.ln() as f32;
    }
    sim + Tensor::from_slice(&offset)
        .reshape([k as i64, n as i64])
        .to_device(sim.device())
}

/// Mean cross-entropy of each anchor against all positives, the true one on
/// the diagonal (paper Eq. 3, averaged over K as the reference's
/// `F.cross_entropy`), and the fraction of rows whose maximum is diagonal.
pub fn contrastive_loss(sim: &Tensor) -> (Tensor, Tensor) {
    let k = sim.size()[0];
    let labels = Tensor::arange(k, (Kind::Int64, sim.device()));
    let loss = sim.cross_entropy_for_logits(&labels);
    let accuracy = sim
        .argmax(1, false)
        .eq_tensor(&labels)
        .to_kind(Kind::Float)
        .mean(Kind::Float);
    (loss, accuracy)
}
