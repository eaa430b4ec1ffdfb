//! COCOLA — how well a stem fits a track, harmonically and rhythmically.
//!
//! The library behind the `cocola` CLI, the plugin and the trainer: everything
//! they must agree on lives here, once (see docs/DESIGN.md).
//!
//! - [`contract`]: the feature settings every model is trained and run with.
//! - [`audio`]: decode any file to 16 kHz mono.
//! - [`features`]: the model's input (harmonic/percussive or plain log-mel), identical to the reference.
//! - [`model`]: the EfficientNet-B0 encoder as an ONNX file — writing, loading, running.
//! - [`checkpoint`]: the authors' PyTorch Lightning checkpoints, imported as model files.
//! - [`score`]: COCOLA scores per mode, over sliding windows, calibrated for people;
//!   ranking candidate stems ([`score::rank`]).
//! - [`eval`]: offline evaluation of whole sets (paper Tables I-III), sharded or not.
//! - [`visual`]: charts (PNG/SVG) and self-contained HTML reports.

pub mod atomic_file;
pub mod audio;
pub mod calibration;
pub mod checkpoint;
pub mod content_hash;
pub mod contract;
pub mod default_model;
pub mod dsp;
pub mod eval;
pub mod features;
pub mod files;
pub mod mode;
pub mod model;
pub mod model_source;
mod named;
pub mod npy;
pub mod onnx;
pub mod perturb;
pub mod score;
pub mod seeded;
pub mod user_cache;
pub mod visual;
