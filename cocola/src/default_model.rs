//! The default model: the one embedded at build time from
//! `bundles/models/default.onnx` (see `build.rs`), used when no model is
//! named ([`crate::model_source::resolve`]). A random-weight model is never a
//! default: only a trained model committed under `bundles/models/` can be
//! embedded.

/// The embedded default model, if this build has one.
pub fn embedded() -> Option<&'static [u8]> {
    #[cfg(cocola_default_model)]
    {
        Some(include_bytes!(env!("COCOLA_DEFAULT_MODEL_PATH")))
    }
    #[cfg(not(cocola_default_model))]
    {
        None
    }
}

/// Message shown when no model was named and this build has no default.
pub const NO_DEFAULT_MESSAGE: &str = "no model given and this build has no default model \
(bundles/models/default.onnx was missing when it was built): pass --model PATH.onnx (or a .ckpt) or set COCOLA_MODEL";
