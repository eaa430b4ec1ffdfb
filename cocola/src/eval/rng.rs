//! Seeded randomness for the evaluation protocol, reproducible bit for bit.
//!
//! Every batch gets its own ChaCha12 stream derived from (seed, K, batch
//! index) by SHA-256, so a batch's draws do not depend on how many batches
//! came before, on other K values, or on thread scheduling. Integers are drawn
//! by our own rejection sampler on raw `u64`s rather than `rand`'s
//! distributions, whose algorithms may change between `rand` releases: the
//! same files and seed must give the same numbers next year.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;
use sha2::{Digest, Sha256};

/// The random stream of batch `batch` of the accuracy@`k` protocol.
pub fn batch_stream(seed: u64, k: usize, batch: usize) -> ChaCha12Rng {
    let mut hasher = Sha256::new();
    hasher.update(b"cocola-eval-submix-v1");
    hasher.update(seed.to_le_bytes());
    hasher.update((k as u64).to_le_bytes());
    hasher.update((batch as u64).to_le_bytes());
    ChaCha12Rng::from_seed(hasher.finalize().into())
}

/// Uniform integer in `0..n` (n > 0), without modulo bias: draws below the
/// largest multiple of n are accepted.
pub fn below(rng: &mut impl Rng, n: usize) -> usize {
    assert!(n > 0, "below(0)");
    let n = n as u64;
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let x = rng.next_u64();
        if x < zone {
            return (x % n) as usize;
        }
    }
}

/// Uniform integer in `low..=high` (low <= high).
pub fn inclusive(rng: &mut impl Rng, low: usize, high: usize) -> usize {
    assert!(low <= high, "inclusive({low}, {high})");
    low + below(rng, high - low + 1)
}

/// Uniform in [0, 1) from the top 53 bits of one draw (every value a
/// multiple of 2^-53, as an f64 holds them exactly).
pub fn unit(rng: &mut impl Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Fisher-Yates shuffle.
pub fn shuffle<T>(rng: &mut impl Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, below(rng, i + 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let draw = |seed, k, b| batch_stream(seed, k, b).next_u64();
        assert_eq!(draw(1, 8, 0), draw(1, 8, 0));
        assert_ne!(draw(1, 8, 0), draw(2, 8, 0));
        assert_ne!(draw(1, 8, 0), draw(1, 16, 0));
        assert_ne!(draw(1, 8, 0), draw(1, 8, 1));
    }

    #[test]
    fn below_is_in_range_and_roughly_uniform() {
        let mut rng = batch_stream(0, 0, 0);
        let mut counts = [0usize; 5];
        for _ in 0..50_000 {
            counts[below(&mut rng, 5)] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
        assert_eq!(below(&mut rng, 1), 0);
        for _ in 0..100 {
            assert!((3..=4).contains(&inclusive(&mut rng, 3, 4)));
        }
    }

    #[test]
    fn unit_is_in_the_half_open_interval_with_mean_one_half() {
        let mut rng = batch_stream(5, 0, 0);
        let draws: Vec<f64> = (0..50_000).map(|_| unit(&mut rng)).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut rng = batch_stream(3, 2, 1);
        let mut v: Vec<usize> = (0..50).collect();
        shuffle(&mut rng, &mut v);
        let mut sorted = v.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(v, sorted);
    }
}
