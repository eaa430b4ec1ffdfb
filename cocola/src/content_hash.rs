//! Content hashes: SHA-256 of audio samples, the identity of a window or a
//! track wherever results are cached by what was heard rather than by file
//! name (the evaluation's embedding cache and track indexes, the trainer's
//! feature cache).

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Digest32 = [u8; 32];

/// SHA-256 of a window's samples: the content part of an entry's key.
pub fn window_hash(samples: &[f32]) -> Digest32 {
    let mut hasher = Sha256::new();
    hash_samples(&mut hasher, samples);
    hasher.finalize().into()
}

/// Feeds samples to a hasher as little-endian bytes, a block at a time.
pub fn hash_samples(hasher: &mut Sha256, samples: &[f32]) {
    let mut buffer = [0u8; 4 * 1024];
    for chunk in samples.chunks(1024) {
        for (bytes, s) in buffer.chunks_exact_mut(4).zip(chunk) {
            bytes.copy_from_slice(&s.to_le_bytes());
        }
        hasher.update(&buffer[..4 * chunk.len()]);
    }
}

/// Lower-case hexadecimal of `bytes` (digests in file names and part files).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
