//! Named random streams: every random choice of a job (a rendering, a
//! generated piece) comes from its own ChaCha12 stream, derived by SHA-256
//! from a tag, the run's seed and the job's name, so that output never
//! depends on thread count, order, or what else the run does.

use rand::SeedableRng;
use rand_chacha::ChaCha12Rng;
use sha2::{Digest, Sha256};

pub fn stream(tag: &[u8], seed: u64, name: &str) -> ChaCha12Rng {
    let mut h = Sha256::new();
    h.update(tag);
    h.update(seed.to_le_bytes());
    h.update(name.as_bytes());
    ChaCha12Rng::from_seed(h.finalize().into())
}
