//! The library's integration tests, one binary (each module one area).
//! Two stay binaries of their own: `golden_features` installs a counting
//! global allocator to prove feature extraction does not allocate, and
//! `model_runtime` must fail to load ONNX Runtime before anything in its
//! process loads it (the library is loaded once per process).

mod alternatives;
mod audio_io;
mod audio_window;
mod batch_invariance;
mod checkpoint_import;
mod default_model;
mod encoder_golden;
mod eval_sensitivity;
mod eval_submix;
mod eval_windowed;
mod model_onnx;
mod scorer_batches;
mod support;
