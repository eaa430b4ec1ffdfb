//! Adam (Kingma & Ba), numerically as `torch.optim.Adam` with its defaults
//! (betas 0.9 / 0.999, eps 1e-8, no weight decay).
//!
//! Written out rather than taken from `tch::nn::Optimizer` because that
//! optimiser's moment estimates cannot be read or restored, and a resumed
//! run must continue with the same moments to match an uninterrupted one.

use std::collections::BTreeMap;

use tch::Tensor;

use super::params::Params;

pub const BETA1: f64 = 0.9;
pub const BETA2: f64 = 0.999;
pub const EPS: f64 = 1e-8;

/// Adam's state: first and second moments per trainable parameter, and the
/// number of updates made.
pub struct Adam {
    pub lr: f64,
    pub steps: i64,
    m: BTreeMap<String, Tensor>,
    v: BTreeMap<String, Tensor>,
    /// Per parameter, a mask of the entries that train (1) and those held
    /// where they are (0): see [`Adam::hold`].
    held: BTreeMap<String, Tensor>,
}

/// Prefixes of the moment tensors in a checkpoint.
const M_PREFIX: &str = "adam.m.";
const V_PREFIX: &str = "adam.v.";

impl Adam {
    pub fn new(params: &Params, lr: f64) -> Adam {
        let zeros = |t: &Tensor| t.zeros_like().detach();
        Adam {
            lr,
            steps: 0,
            m: params.trainable().map(|(n, t)| (n.to_string(), zeros(t))).collect(),
            v: params.trainable().map(|(n, t)| (n.to_string(), zeros(t))).collect(),
            held: BTreeMap::new(),
        }
    }

    /// Keeps the entries of parameter `name` where `trains` is 0 exactly
    /// where they are: their gradient is zeroed before every update, so
    /// their moments stay zero and so does their step. Fails unless `name`
    /// is trained and `trains` has its shape.
    pub fn hold(&mut self, name: &str, trains: Tensor) -> anyhow::Result<()> {
        let moment = (self.m.get(name)).ok_or_else(|| anyhow::anyhow!("{name} is not a trained parameter"))?;
        anyhow::ensure!(
            moment.size() == trains.size(),
            "the mask held on {name} has shape {:?}, the parameter {:?}",
            trains.size(),
            moment.size()
        );
        self.held
            .insert(name.to_string(), trains.to_device(moment.device()).detach());
        Ok(())
    }

    /// Clears every parameter's gradient.
    pub fn zero_grad(&self, params: &Params) {
        for (_, p) in params.trainable() {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
    }

    /// One update from the gradients `backward` left on the parameters.
    pub fn step(&mut self, params: &Params) {
        self.steps += 1;
        let t = self.steps as i32;
        let bias1 = 1.0 - BETA1.powi(t);
        let bias2 = 1.0 - BETA2.powi(t);
        tch::no_grad(|| {
            for (name, p) in params.trainable() {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let g = match self.held.get(name) {
                    Some(trains) => &g * trains,
                    None => g,
                };
                let m = self.m.get_mut(name).expect("moment for every trainable parameter");
                let _ = m.g_mul_scalar_(BETA1).g_add_(&(&g * (1.0 - BETA1)));
                let v = self.v.get_mut(name).expect("moment for every trainable parameter");
                let _ = v.g_mul_scalar_(BETA2).g_add_(&(&g * &g * (1.0 - BETA2)));
                let denom = v.sqrt() / bias2.sqrt() + EPS;
                let mut p = p.shallow_clone();
                let _ = p.g_sub_(&(&*m / &denom * (self.lr / bias1)));
            }
        });
    }

    /// The moments as named tensors for a checkpoint.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let m = self
            .m
            .iter()
            .map(|(n, t)| (format!("{M_PREFIX}{n}"), t.shallow_clone()));
        let v = self
            .v
            .iter()
            .map(|(n, t)| (format!("{V_PREFIX}{n}"), t.shallow_clone()));
        m.chain(v).collect()
    }

    /// Restores the moments from a checkpoint's named tensors.
    pub fn load(&mut self, named: &BTreeMap<String, Tensor>, steps: i64) -> anyhow::Result<()> {
        for (prefix, map) in [(M_PREFIX, &mut self.m), (V_PREFIX, &mut self.v)] {
            for (name, t) in map.iter_mut() {
                let key = format!("{prefix}{name}");
                let src = named
                    .get(&key)
                    .ok_or_else(|| anyhow::anyhow!("checkpoint lacks optimiser state {key}"))?;
                anyhow::ensure!(src.size() == t.size(), "optimiser state {key} has the wrong shape");
                tch::no_grad(|| t.copy_(&src.to_device(t.device())));
            }
        }
        self.steps = steps;
        Ok(())
    }
}
