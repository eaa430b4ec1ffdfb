//! The per-user cache folder, `${XDG_CACHE_HOME:-~/.cache}/cocola/`: where
//! `cargo xtask setup` puts ONNX Runtime, `cocola eval` its embeddings, and
//! the model resolver the models it imports from checkpoints.

use std::path::PathBuf;

/// `${XDG_CACHE_HOME:-$HOME/.cache}/cocola`, or `None` when neither variable
/// is set.
pub fn dir() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(xdg) => PathBuf::from(xdg),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".cache"),
    };
    Some(base.join("cocola"))
}
