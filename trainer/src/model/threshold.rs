//! The shared-threshold loss: an optional second objective that makes raw
//! scores comparable *across* pairs, so that one calibration can turn them
//! into verdicts.
//!
//! The paper's contrastive loss (Eq. 3) only orders each anchor's own
//! candidates: adding a constant to one anchor's row of the similarity matrix
//! changes nothing. So a model can rank every true stem above its transposed
//! copy and still give a coherent pair of one song a lower score than an
//! incoherent pair of another: the calibration, one logistic curve per mode,
//! then reads most pairs as "unsure".
//!
//! This loss draws one line through the whole batch, halfway between the
//! mean score of the positives and the mean score of the negatives (held
//! fixed, not trained through), and asks every entry to sit on its side of
//! it, as a sigmoid (binary cross-entropy) loss on `scale x (score - line)`,
//! in the manner of SigLIP (Zhai et al., 2023, which learns its bias instead).
//! The positives, the hard negatives against their own anchor (the
//! transposed or off-beat copy of that anchor's stem) and every other
//! negative weigh 1/2, 1/4 and 1/4 (1/2, -, 1/2 without hard negatives), so
//! neither the K² - K ordinary negatives nor the few own hard negatives
//! drown the rest.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Settings of the shared-threshold loss.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdLoss {
    /// Weight of this loss beside the contrastive loss (which weighs 1).
    pub weight: f64,
    /// Logits per raw score unit: `scale x (score - line)`.
    pub scale: f64,
}

impl ThresholdLoss {
    /// Scale when none is given: a pair 5 raw units from the line (about a
    /// third of the spread of scores over pairs of the 0.10 models) has a
    /// logit of 1.
    pub const DEFAULT_SCALE: f64 = 0.2;
}

impl std::fmt::Display for ThresholdLoss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{}", self.weight, self.scale)
    }
}

impl std::str::FromStr for ThresholdLoss {
    type Err = String;

    /// `WEIGHT` or `WEIGHT,SCALE`, both finite and above 0.
    fn from_str(s: &str) -> Result<Self, String> {
        let number = |what: &str, text: &str| -> Result<f64, String> {
            match text.trim().parse::<f64>() {
                Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
                _ => Err(format!("the {what} must be a number above 0, not {text:?}")),
            }
        };
        let (weight, scale) = match s.split_once(',') {
            Some((w, sc)) => (number("weight", w)?, number("scale", sc)?),
            None => (number("weight", s)?, Self::DEFAULT_SCALE),
        };
        Ok(ThresholdLoss { weight, scale })
    }
}

/// Which entry of a `[K, K + M]` similarity matrix is which: the positives
/// on the diagonal of the first K columns, hard negative `m` (column K + m)
/// against its own anchor `owners[m]`, and every other negative.
fn entry_masks(k: usize, owners: &[usize]) -> [Vec<f32>; 3] {
    let n = k + owners.len();
    let mut positive = vec![0.0f32; k * n];
    let mut own_hard = vec![0.0f32; k * n];
    for i in 0..k {
        positive[i * n + i] = 1.0;
    }
    for (m, &owner) in owners.iter().enumerate() {
        assert!(owner < k, "hard negative {m} belongs to anchor {owner} of {k}");
        own_hard[owner * n + k + m] = 1.0;
    }
    let other = (positive.iter().zip(&own_hard)).map(|(p, h)| 1.0 - p - h).collect();
    [positive, own_hard, other]
}

/// The loss (a scalar tensor, differentiable in `sim`) for the similarity
/// matrix `sim` `[K, K + M]` of K anchors against their K positives and M
/// hard negatives, `owners[m]` being the anchor hard negative `m` was made
/// for.
pub fn threshold_loss(sim: &Tensor, owners: &[usize], settings: ThresholdLoss) -> Tensor {
    let [k, n] = [sim.size()[0], sim.size()[1]];
    assert_eq!(
        n,
        k + owners.len() as i64,
        "similarity columns: K positives then one per owner"
    );
    let mask = |m: Vec<f32>| Tensor::from_slice(&m).reshape([k, n]).to_device(sim.device());
    let [positive, own_hard, other] = entry_masks(k as usize, owners).map(mask);
    let mean_over = |values: &Tensor, m: &Tensor| (values * m).sum(Kind::Float) / m.sum(Kind::Float);
    let detached = sim.detach();
    let negative = &own_hard + &other;
    let line = (mean_over(&detached, &positive) + mean_over(&detached, &negative)) * 0.5;
    let logits = (sim - line) * settings.scale;
    // Binary cross-entropy with logits: -log sigmoid(z) = softplus(-z) for
    // positives, -log(1 - sigmoid(z)) = softplus(z) for negatives.
    let positives = mean_over(&(-&logits).softplus(), &positive) * 0.5;
    let negatives = if owners.is_empty() {
        mean_over(&logits.softplus(), &other) * 0.5
    } else {
        let softplus = logits.softplus();
        mean_over(&softplus, &own_hard) * 0.25 + mean_over(&softplus, &other) * 0.25
    };
    (positives + negatives) * settings.weight
}

#[cfg(test)]
mod tests {
    use super::*;

    fn softplus(x: f64) -> f64 {
        (1.0 + x.exp()).ln()
    }

    #[test]
    fn settings_parse_with_and_without_a_scale() {
        let t: ThresholdLoss = "0.5".parse().unwrap();
        assert_eq!(
            t,
            ThresholdLoss {
                weight: 0.5,
                scale: ThresholdLoss::DEFAULT_SCALE
            }
        );
        let t: ThresholdLoss = "2,0.1".parse().unwrap();
        assert_eq!(
            t,
            ThresholdLoss {
                weight: 2.0,
                scale: 0.1
            }
        );
        assert_eq!(t.to_string().parse::<ThresholdLoss>().unwrap(), t);
        for bad in ["", "0", "-1", "nan", "1,0", "1,x", "inf"] {
            assert!(bad.parse::<ThresholdLoss>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn masks_cover_every_entry_once() {
        let [p, h, o] = entry_masks(3, &[2, 0]);
        assert!((0..15).all(|e| p[e] + h[e] + o[e] == 1.0));
        assert_eq!(p.iter().sum::<f32>(), 3.0);
        // Hard negative 0 (column 3) is anchor 2's, hard negative 1 (column 4) anchor 0's.
        assert_eq!((h[2 * 5 + 3], h[4], h.iter().sum::<f32>()), (1.0, 1.0, 2.0));
    }

    #[test]
    fn the_loss_is_the_weighted_cross_entropy_around_the_midpoint() {
        // K = 2, one hard negative (column 2) made for anchor 1.
        let scores = [[10.0, 2.0, 4.0], [6.0, 8.0, 7.0]];
        let sim = Tensor::from_slice(&scores.concat()).reshape([2, 3]);
        let settings = ThresholdLoss {
            weight: 2.0,
            scale: 0.5,
        };
        let got = threshold_loss(&sim, &[1], settings).double_value(&[]);
        let line = ((10.0 + 8.0) / 2.0 + (2.0 + 4.0 + 6.0 + 7.0) / 4.0) / 2.0;
        let z = |s: f64| 0.5 * (s - line);
        let positives = (softplus(-z(10.0)) + softplus(-z(8.0))) / 2.0;
        let own = softplus(z(7.0));
        let other = (softplus(z(2.0)) + softplus(z(4.0)) + softplus(z(6.0))) / 3.0;
        let want = 2.0 * (0.5 * positives + 0.25 * own + 0.25 * other);
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }

    #[test]
    fn without_hard_negatives_positives_and_negatives_weigh_half_each() {
        let sim = Tensor::from_slice(&[3.0f32, 1.0, 0.0, 2.0]).reshape([2, 2]);
        let settings = ThresholdLoss {
            weight: 1.0,
            scale: 1.0,
        };
        let got = threshold_loss(&sim, &[], settings).double_value(&[]);
        let line = (2.5 + 0.5) / 2.0;
        let want = 0.5 * (softplus(line - 3.0) + softplus(line - 2.0)) / 2.0
            + 0.5 * (softplus(1.0 - line) + softplus(0.0 - line)) / 2.0;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }

    #[test]
    fn gradients_raise_positives_and_lower_negatives_but_not_the_line() {
        // Row 1 is all higher than row 0: the contrastive loss would treat the
        // two rows alike, this one lowers row 1's negative more than row 0's.
        let sim = Tensor::from_slice(&[4.0f32, 0.0, 12.0, 10.0])
            .reshape([2, 2])
            .set_requires_grad(true);
        let loss = threshold_loss(
            &sim,
            &[],
            ThresholdLoss {
                weight: 1.0,
                scale: 0.5,
            },
        );
        loss.backward();
        let g: Vec<f32> = Vec::try_from(sim.grad().reshape([-1])).unwrap();
        assert!(g[0] < 0.0 && g[3] < 0.0, "positives pushed up: {g:?}");
        assert!(g[1] > 0.0 && g[2] > 0.0, "negatives pushed down: {g:?}");
        assert!(g[2] > g[1], "the negative above the line is pushed harder: {g:?}");
        // The line is held fixed: the gradients are those of the loss at a
        // constant line, whose entries cannot sum to zero here.
        assert!(g.iter().sum::<f32>().abs() > 1e-3, "{g:?}");
    }
}
