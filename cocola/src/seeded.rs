//! Seeded randomness, reproducible bit for bit, for everything that draws:
//! the evaluation protocols, the trainer's sampler and splits, the renderer.
//!
//! A stream is a ChaCha12 generator seeded with the SHA-256 of a tag (which
//! names the purpose and its version, so that two purposes never share
//! draws) and of the fields that identify one stream (seed, batch index,
//! track name...): a stream's draws do not depend on how many streams came
//! before or on thread scheduling. Integers are drawn by our own rejection
//! sampler on raw `u64`s rather than `rand`'s distributions, whose
//! algorithms may change between `rand` releases: the same files and seed
//! must give the same numbers next year.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;
use sha2::{Digest, Sha256};

/// The stream named by `tag` and `fields`: seeded with SHA-256(tag ||
/// `fields[0] || fields[1] || ...`). Fields are hashed as given, so callers
/// pass fixed-width encodings (`to_le_bytes`) or names.
pub fn stream(tag: &[u8], fields: &[&[u8]]) -> ChaCha12Rng {
    let mut hasher = Sha256::new();
    hasher.update(tag);
    for field in fields {
        hasher.update(field);
    }
    ChaCha12Rng::from_seed(hasher.finalize().into())
}

/// SplitMix64's output function: a cheap bijective mix of a `u64`, for
/// seeds derived by arithmetic (a step's seed from the run's seed) where a
/// whole stream would be more than is needed.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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
        let draw = |tag: &[u8], a: u64, b: u64| stream(tag, &[&a.to_le_bytes(), &b.to_le_bytes()]).next_u64();
        assert_eq!(draw(b"t", 1, 8), draw(b"t", 1, 8));
        assert_ne!(draw(b"t", 1, 8), draw(b"u", 1, 8));
        assert_ne!(draw(b"t", 1, 8), draw(b"t", 2, 8));
        assert_ne!(draw(b"t", 1, 8), draw(b"t", 1, 9));
    }

    #[test]
    fn a_stream_is_the_hash_of_its_tag_and_fields_in_sequence() {
        // Fields are concatenated: the streams that existed before this module
        // (sequential `Sha256::update` calls) keep their exact draws.
        let mut hasher = Sha256::new();
        hasher.update(b"tag");
        hasher.update(7u64.to_le_bytes());
        hasher.update(b"name");
        let expected = ChaCha12Rng::from_seed(hasher.finalize().into()).next_u64();
        assert_eq!(stream(b"tag", &[&7u64.to_le_bytes(), b"name"]).next_u64(), expected);
    }

    #[test]
    fn below_is_in_range_and_roughly_uniform() {
        let mut rng = stream(b"below", &[]);
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
        let mut rng = stream(b"unit", &[]);
        let draws: Vec<f64> = (0..50_000).map(|_| unit(&mut rng)).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut rng = stream(b"shuffle", &[]);
        let mut v: Vec<usize> = (0..50).collect();
        shuffle(&mut rng, &mut v);
        let mut sorted = v.clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(v, sorted);
    }
}
