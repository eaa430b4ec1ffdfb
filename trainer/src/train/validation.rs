//! Validation: the contrastive loss and the batch accuracy (paper Eq. 4 at
//! K = batch size) on a fixed set of validation batches, drawn once per run
//! from the validation split's own stream, in inference mode.

use tch::Device;

use super::batch_tensors;
use crate::data::pipeline::Batch;
use crate::model::net::contrastive_loss;
use crate::model::Network;

/// Mean loss and accuracy over `batches`.
pub fn evaluate(net: &Network, batches: &[Batch], device: Device) -> (f64, f64) {
    tch::no_grad(|| {
        let (mut loss, mut acc) = (0.0, 0.0);
        for b in batches {
            let (a, p) = batch_tensors(b, device);
            let (l, ac) = contrastive_loss(&net.pair_similarity(&a, &p, false));
            loss += l.double_value(&[]);
            acc += ac.double_value(&[]);
        }
        let n = batches.len().max(1) as f64;
        (loss / n, acc / n)
    })
}
