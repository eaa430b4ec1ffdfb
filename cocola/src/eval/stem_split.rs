//! How a window's stems are split between the two sides of a pair: two
//! random subsets (the paper's), one stem each, or one stem against a
//! sub-mix of the others.

use rand_chacha::ChaCha12Rng;

use crate::seeded::{inclusive, shuffle};

/// Two disjoint non-empty random subsets of `0..n` (n >= 2), each ascending:
/// the stems of an anchor and of a positive sub-mix (paper Sec. III-A). With
/// `single`, one stem each (the reference's single-stem mode). The trainer's
/// sampler draws its pairs with this same function.
pub fn split_stems(rng: &mut ChaCha12Rng, n: usize, single: bool) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(rng, &mut order);
    let (anchor_len, positive_len) = if single {
        (1, 1)
    } else {
        let anchor_len = inclusive(rng, 1, n - 1);
        (anchor_len, inclusive(rng, 1, n - anchor_len))
    };
    let mut anchor = order[..anchor_len].to_vec();
    let mut positive = order[anchor_len..anchor_len + positive_len].to_vec();
    anchor.sort_unstable();
    positive.sort_unstable();
    (anchor, positive)
}

/// One stem of `0..n` (n >= 2), the *target*, and a random non-empty
/// subset of the others, ascending: a stem against (part of) the rest of its
/// track, as a producer asks and the sensitivity test draws its anchors.
/// Returns (the others' subset, `[target]`).
pub fn split_target(rng: &mut ChaCha12Rng, n: usize) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(rng, &mut order);
    let others = inclusive(rng, 1, n - 1);
    let mut anchor = order[1..=others].to_vec();
    anchor.sort_unstable();
    (anchor, vec![order[0]])
}
