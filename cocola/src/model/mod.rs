//! The COCOLA model as one self-describing ONNX file: the network
//! ([`arch`]), writing it ([`writer`]) and reading its weights back
//! ([`reader`]), its metadata ([`metadata`]), finding
//! ONNX Runtime ([`runtime`]) and running it ([`encoder`]).
//!
//! ```text
//! features [batch, 2, 64, 501]
//!   -> EfficientNet-B0 -> pool -> Linear(1280, 512) -> LayerNorm -> tanh = embedding [batch, 512]
//!      (pool: global, the paper's; or global + time profile -> Linear(1520, 512), or both + a
//!       pitch-class profile of the input -> Linear(1532, 512), or all three + an onset
//!       profile of the input -> Linear(1632, 512); see [`pooling::Pooling`])
//!   -> · W^T                                                      = w_embedding [batch, 512]
//! score(condition, stem) = dot(embedding[condition], w_embedding[stem])   (see [`score`])
//! ```
//!
//! Parameter names are the reference checkpoint's `state_dict` keys; see
//! [`arch`] for the table and for why the padding is static.

mod agreement_block;
pub mod arch;
pub mod encoder;
mod error;
mod io;
mod layers;
pub mod metadata;
pub mod pooling;
pub mod profile_start;
pub mod quantize;
pub mod reader;
pub mod runtime;
mod tensors;
pub mod testing;
pub mod widen;
pub mod writer;

pub use agreement_block::{agreement_block, IntervalAgreement, CONSONANCE};
pub use encoder::{score, Embeddings, LoadOptions, Model};
pub use error::{ContractDifference, ModelError};
pub use io::{BATCH_DIM, INPUT_FEATURES, OUTPUT_EMBEDDING, OUTPUT_W_EMBEDDING};
pub use metadata::{read_metadata, ModelMetadata};
pub use profile_start::{start_profile_agreement, start_profile_agreements, ProfileAgreement, StartedProfile};
pub use reader::{read_weights, read_weights_file, StoredModel};
pub use runtime::RuntimeError;
pub use tensors::{NamedTensors, Tensor};
pub use widen::widen_pooling;
pub use writer::{validate_weights, write_model, write_model_file};
