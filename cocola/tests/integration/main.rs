//! The library's integration tests, one binary (each module one area).
//! `golden_features` stays a binary of its own: it installs a counting
//! global allocator to prove feature extraction does not allocate.

mod audio_io;
mod batch_invariance;
mod checkpoint_import;
mod default_model;
mod encoder_golden;
mod eval_sensitivity;
mod eval_submix;
mod model_onnx;
mod model_runtime;
mod scorer_batches;
mod support;
