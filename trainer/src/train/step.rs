//! One training step and what it reads: the batch's tensors, the hard
//! negatives' owners and what the step asks of them, and the step itself.

use tch::{Device, Tensor};

use crate::data::pipeline::Batch;
use crate::model::adam::Adam;
use crate::model::net::{contrastive_loss, emphasize_own_negatives};
use crate::model::threshold::{threshold_loss, ThresholdLoss};
use crate::model::Network;

/// Features of a batch on `device`: the anchors `[K, channels, 64, 501]`
/// and the candidates `[K + M, channels, 64, 501]`, the positives (in the
/// anchors' order) followed by the M hard negatives.
pub fn batch_tensors(batch: &Batch, device: Device) -> (Tensor, Tensor) {
    let [c, h, w] = batch.input.feature_shape();
    let row = batch.input.feature_len();
    let t = |x: &[f32]| {
        let shape = [(x.len() / row) as i64, c as i64, h as i64, w as i64];
        Tensor::from_slice(x).reshape(shape).to_device(device)
    };
    let candidates = if batch.negatives.is_empty() {
        t(&batch.positives)
    } else {
        Tensor::cat(&[t(&batch.positives), t(&batch.negatives)], 0)
    };
    (t(&batch.anchors), candidates)
}

/// Loss and accuracy of one training step, measured before its update.
#[derive(Debug, Clone, Copy)]
pub struct StepResult {
    /// The contrastive loss (comparable across recipes).
    pub loss: f64,
    /// The shared-threshold loss, weighted, when the recipe has one.
    pub threshold_loss: Option<f64>,
    /// Fraction of anchors whose most similar column is their own positive.
    pub accuracy: f64,
}

/// The anchor each hard negative of `batch` was made for, in column order.
pub fn hard_negative_owners(batch: &Batch) -> Vec<usize> {
    (batch.pairs.iter().enumerate())
        .filter(|(_, p)| p.negative.is_some())
        .map(|(i, _)| i)
        .collect()
}

/// What a step asks of its hard negatives beyond being extra columns of
/// Eq. 3.
#[derive(Clone, Copy, Debug)]
pub struct HardNegativeTerms<'a> {
    /// The anchor each hard negative was made for, in column order
    /// ([`hard_negative_owners`]).
    pub owners: &'a [usize],
    /// How many times each anchor's own hard negative counts in its
    /// softmax (1: plain Eq. 3).
    pub emphasis: f64,
    /// The shared-threshold loss's settings, when the recipe has it.
    pub threshold: Option<ThresholdLoss>,
}

impl HardNegativeTerms<'_> {
    /// Plain Eq. 3: hard negatives (if any) are columns like the others.
    pub const NONE: HardNegativeTerms<'static> = HardNegativeTerms {
        owners: &[],
        emphasis: 1.0,
        threshold: None,
    };
}

/// One optimisation step: a training-mode forward pass over the pairs, the
/// contrastive loss (with each anchor's own hard negative emphasised and the
/// shared-threshold loss added as `hard` says), and an Adam update at `lr`.
/// `candidates` are the positives then any hard negatives
/// ([`batch_tensors`]). The loss reported is plain Eq. 3, comparable across
/// recipes. A non-finite loss leaves the weights untouched (the caller
/// decides what to do with it).
pub fn train_step(
    net: &Network,
    adam: &mut Adam,
    anchors: &Tensor,
    candidates: &Tensor,
    hard: HardNegativeTerms<'_>,
    lr: f64,
) -> StepResult {
    let sim = net.pair_similarity(anchors, candidates, true);
    let (contrastive, accuracy) = contrastive_loss(&sim);
    let loss_value = contrastive.double_value(&[]);
    let contrastive = if hard.emphasis == 1.0 {
        contrastive
    } else {
        contrastive_loss(&emphasize_own_negatives(&sim, hard.owners, hard.emphasis)).0
    };
    let (loss, threshold_loss) = match hard.threshold {
        Some(settings) => {
            let extra = threshold_loss(&sim, hard.owners, settings);
            let value = extra.double_value(&[]);
            (contrastive + extra, Some(value))
        }
        None => (contrastive, None),
    };
    if loss_value.is_finite() && threshold_loss.is_none_or(f64::is_finite) {
        adam.zero_grad(&net.params);
        loss.backward();
        adam.lr = lr;
        adam.step(&net.params);
    }
    StepResult {
        loss: loss_value,
        threshold_loss,
        accuracy: accuracy.double_value(&[]),
    }
}
