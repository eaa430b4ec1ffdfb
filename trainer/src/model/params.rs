//! Every tensor of the network under its reference `state_dict` name
//! (`cocola::model::arch`), with PyTorch's default initialisation.

use std::collections::BTreeMap;

use cocola::model::arch::{Architecture, ParamRole};
use cocola::model::NamedTensors;
use tch::{Device, Kind, Tensor};

/// Standard deviation of the bilinear matrix W at initialisation (reference
/// `BilinearSimilarity`: `w.data.normal_(0, 0.05)`).
pub const W_INIT_STD: f64 = 0.05;

/// The network's tensors by name. Trainable parameters require gradients;
/// BatchNorm running statistics are buffers updated by the forward pass.
pub struct Params {
    tensors: BTreeMap<String, Tensor>,
    roles: BTreeMap<String, ParamRole>,
    device: Device,
}

impl Params {
    /// Fresh parameters, initialised as PyTorch does for the reference
    /// modules (`efficientnet_pytorch` keeps the `nn.Conv2d` defaults):
    /// conv and linear weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    /// (kaiming_uniform with a = sqrt(5)); BatchNorm and LayerNorm weight 1,
    /// bias 0; running mean 0, variance 1; W ~ N(0, 0.05). Draws from
    /// libtorch's generator: seed it first with `tch::manual_seed`.
    pub fn init(arch: &Architecture, device: Device) -> Params {
        Params::init_with_w_std(arch, device, W_INIT_STD)
    }

    /// [`Params::init`] with W ~ N(0, `w_std`). The reference's 0.05 gives
    /// initial logits of standard deviation ~10 between LayerNorm-ed
    /// 512-dimensional embeddings (a first loss of 13-37 against ln 32 = 3.5);
    /// ~1/512 starts them near 1.
    pub fn init_with_w_std(arch: &Architecture, device: Device, w_std: f64) -> Params {
        let opts = (Kind::Float, device);
        let mut tensors = BTreeMap::new();
        let mut roles = BTreeMap::new();
        for p in arch.parameters() {
            let shape: Vec<i64> = p.shape.iter().map(|&d| d as i64).collect();
            let bound = 1.0 / (p.fan_in as f64).sqrt();
            let t = match p.role {
                ParamRole::ConvWeight | ParamRole::ConvBias | ParamRole::LinearWeight | ParamRole::LinearBias => {
                    Tensor::empty(&shape, opts).uniform_(-bound, bound)
                }
                ParamRole::BnWeight | ParamRole::LayerNormWeight | ParamRole::BnRunningVar => {
                    Tensor::ones(&shape, opts)
                }
                ParamRole::BnBias | ParamRole::LayerNormBias | ParamRole::BnRunningMean => Tensor::zeros(&shape, opts),
                ParamRole::Bilinear => Tensor::empty(&shape, opts).normal_(0.0, w_std),
            };
            let t = if p.role.is_buffer() {
                t
            } else {
                t.set_requires_grad(true)
            };
            tensors.insert(p.name.clone(), t);
            roles.insert(p.name, p.role);
        }
        Params { tensors, roles, device }
    }

    /// Parameters holding `weights` (e.g. `cocola::model::testing` weights or
    /// a converted checkpoint). Fails naming the first missing or misshapen tensor.
    pub fn from_named(arch: &Architecture, weights: &NamedTensors, device: Device) -> anyhow::Result<Params> {
        cocola::model::validate_weights(arch, weights)?;
        let mut params = Params::init(arch, device);
        for (name, t) in params.tensors.iter_mut() {
            let src = weights.get(name).expect("validated above");
            let shape: Vec<i64> = src.shape.iter().map(|&d| d as i64).collect();
            let value = Tensor::from_slice(&src.data).reshape(&shape).to_device(device);
            tch::no_grad(|| t.copy_(&value));
        }
        Ok(params)
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// The tensor named `name`. Panics on a name the architecture lacks: the
    /// network is built from the same description, so that is a bug.
    pub fn get(&self, name: &str) -> &Tensor {
        self.tensors
            .get(name)
            .unwrap_or_else(|| panic!("no parameter named {name}"))
    }

    /// Trainable parameters (not BatchNorm buffers, not frozen), by name.
    pub fn trainable(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.tensors
            .iter()
            .filter(|(n, t)| !self.roles[n.as_str()].is_buffer() && t.requires_grad())
            .map(|(n, t)| (n.as_str(), t))
    }

    /// Stops training every parameter `keep` rejects: it no longer requires
    /// a gradient, so autograd records nothing through it and
    /// [`Params::trainable`] (what the optimiser updates) leaves it out.
    /// The detached tensor (same storage) replaces the original in the map,
    /// so the forward pass and [`Params::load`] use it.
    pub fn freeze_all_but(&mut self, keep: impl Fn(&str) -> bool) {
        for (name, t) in self.tensors.iter_mut() {
            if !self.roles[name.as_str()].is_buffer() && !keep(name) {
                *t = t.detach();
            }
        }
    }

    /// Every tensor, buffers included, by name (sorted).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.tensors.iter().map(|(n, t)| (n.as_str(), t))
    }

    /// Overwrites every tensor from `named` (a checkpoint); all must be present
    /// with the right shape.
    pub fn load(&mut self, named: &BTreeMap<String, Tensor>) -> anyhow::Result<()> {
        for (name, t) in self.tensors.iter_mut() {
            let src = named
                .get(name)
                .ok_or_else(|| anyhow::anyhow!("checkpoint lacks parameter {name}"))?;
            anyhow::ensure!(
                src.size() == t.size(),
                "checkpoint parameter {name} has shape {:?}, the network needs {:?}",
                src.size(),
                t.size()
            );
            tch::no_grad(|| t.copy_(&src.to_device(self.device).to_kind(Kind::Float)));
        }
        Ok(())
    }

    /// Copies every tensor to host memory as `cocola` named tensors, the
    /// input of its ONNX writer.
    pub fn to_named_tensors(&self) -> anyhow::Result<NamedTensors> {
        let mut out = NamedTensors::new();
        for (name, t) in &self.tensors {
            let host = t.detach().to_device(Device::Cpu).to_kind(Kind::Float).contiguous();
            let shape: Vec<usize> = host.size().iter().map(|&d| d as usize).collect();
            let data: Vec<f32> = Vec::<f32>::try_from(host.flatten(0, -1))?;
            out.insert(name.clone(), shape, data)?;
        }
        Ok(out)
    }

    /// True when every tensor holds only finite values.
    pub fn all_finite(&self) -> bool {
        tch::no_grad(|| self.tensors.values().all(|t| t.isfinite().all().int64_value(&[]) != 0))
    }
}
