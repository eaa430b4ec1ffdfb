//! Seeded track-level splits for datasets without official ones (MoisesDB,
//! generic folders): 0.8 / 0.1 / 0.1 as in the paper (Sec. IV-A).
//!
//! Tracks are sorted by name, shuffled by a ChaCha stream derived from the
//! seed, and cut in order; a track's split therefore depends only on the set
//! of track names and the seed, never on listing order or file contents.

use super::dataset::Split;

pub const TRAIN_FRACTION: f64 = 0.8;
pub const VALIDATION_FRACTION: f64 = 0.1;

/// The split of each of `names` (same order as given).
pub fn assign(names: &[String], seed: u64, dataset: &str) -> Vec<Split> {
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| names[a].cmp(&names[b]));
    let mut rng = cocola::seeded::stream(b"cocola-trainer-split-v1", &[dataset.as_bytes(), &seed.to_le_bytes()]);
    cocola::seeded::shuffle(&mut rng, &mut order);
    let n = names.len();
    let n_train = (n as f64 * TRAIN_FRACTION).round() as usize;
    let n_val = (n as f64 * VALIDATION_FRACTION).round() as usize;
    let mut out = vec![Split::Test; n];
    for (rank, &i) in order.iter().enumerate() {
        out[i] = if rank < n_train {
            Split::Train
        } else if rank < n_train + n_val {
            Split::Validation
        } else {
            Split::Test
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportions_and_stability() {
        let names: Vec<String> = (0..100).map(|i| format!("track{i:03}")).collect();
        let s = assign(&names, 3, "moisesdb");
        let count = |x: Split| s.iter().filter(|&&v| v == x).count();
        assert_eq!(
            (count(Split::Train), count(Split::Validation), count(Split::Test)),
            (80, 10, 10)
        );
        // Listing order does not matter.
        let mut rev = names.clone();
        rev.reverse();
        let r = assign(&rev, 3, "moisesdb");
        for (i, name) in names.iter().enumerate() {
            let j = rev.iter().position(|n| n == name).unwrap();
            assert_eq!(s[i], r[j]);
        }
        assert_ne!(s, assign(&names, 4, "moisesdb"));
    }
}
