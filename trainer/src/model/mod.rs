//! The COCOLA network in libtorch, built from `cocola::model::arch` (the same
//! description the ONNX writer uses), so export is a copy by name.
//!
//! - [`params`]: the named parameters and BatchNorm buffers, initialised as
//!   PyTorch initialises the reference modules.
//! - [`net`]: the forward pass (training and inference) and the similarity.
//! - [`adam`]: Adam with its state in named tensors, so checkpoints resume it.
//! - [`threshold`]: the optional shared-threshold loss beside the contrastive one.

pub mod adam;
pub mod net;
pub mod params;
pub mod threshold;

pub use net::Network;
pub use params::Params;
