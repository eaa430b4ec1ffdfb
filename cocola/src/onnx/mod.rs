//! Just enough ONNX to write the COCOLA model and inspect one without a
//! runtime: a hand-declared subset of `onnx.proto` as `prost` messages
//! ([`proto`]) and a graph-building helper ([`builder`]).
//!
//! Hand-declared because the ONNX crates on crates.io either do not build with
//! a current protobuf stack, target an outdated IR version or need `protoc`.
//! ONNX Runtime validates every graph on load, so a mistake here cannot go
//! unnoticed: it makes session creation fail.

pub mod builder;
pub mod proto;

pub use builder::{Attr, DuplicateName, GraphBuilder};
pub use proto::{Dim, ModelHeader, ModelProto};

/// IR version written: 8 is the IR of ONNX 1.12, the release that introduced
/// opset 17; every ONNX Runtime since 1.12 reads it, 1.31 included.
pub const IR_VERSION: i64 = 8;
/// Default-domain operator set written (17 is the first with LayerNormalization).
pub const OPSET_VERSION: i64 = 17;
