//! `cocola-trainer`: trains the COCOLA encoder (paper Sec. III-IV) on stem
//! datasets with libtorch, evaluates it (accuracy@K, Tables I-II) and exports
//! it through `cocola`'s ONNX writer.
//!
//! All feature maths, the network description, the ONNX writer, the score
//! calibration and the evaluation protocol come from the `cocola` crate;
//! this crate adds what only training needs:
//!
//! - [`doctor`]: what libtorch and which device this build sees.
//! - [`model`]: the network built from `cocola::model::arch`, and Adam.
//! - [`data`]: dataset layouts, stem cache, the paper's sampler, feature workers.
//! - [`train`]: the training loop, checkpoints, metrics, validation.
//! - [`export`]: checkpoint -> ONNX model with metadata and calibration.
//! - [`eval`]: accuracy@K of a checkpoint by cocola's protocol.
//! - [`curves`]: a run's metrics drawn as training curves.
//! - [`malloc`]: keep freed memory in the process (the step's page faults).

pub mod curves;
pub mod data;
pub mod doctor;
pub mod eval;
pub mod export;
pub mod malloc;
pub mod model;
pub mod train;
