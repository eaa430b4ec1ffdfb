//! Seeded draws for the generator (on top of `cocola::seeded`'s
//! version-stable integer and unit draws).

use cocola::seeded::{below, unit};
use rand::Rng;

/// One of `options` with probability proportional to its weight.
pub fn pick<T: Copy>(rng: &mut impl Rng, options: &[(T, f64)]) -> T {
    let total: f64 = options.iter().map(|o| o.1).sum();
    let mut x = unit(rng) * total;
    for &(value, weight) in options {
        if x < weight {
            return value;
        }
        x -= weight;
    }
    options.last().expect("pick from no options").0
}

/// One of `items`, uniformly.
pub fn one_of<T: Copy>(rng: &mut impl Rng, items: &[T]) -> T {
    items[below(rng, items.len())]
}

/// True with probability `p`.
pub fn chance(rng: &mut impl Rng, p: f64) -> bool {
    unit(rng) < p
}

/// Uniform in `[lo, hi)`.
pub fn uniform(rng: &mut impl Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * unit(rng)
}

/// Roughly normal with standard deviation `sd` (the sum of four uniforms),
/// bounded at ±3.5 sd: humanisation never runs away.
pub fn wobble(rng: &mut impl Rng, sd: f64) -> f64 {
    let s: f64 = (0..4).map(|_| unit(rng) - 0.5).sum();
    // The sum of four U(-0.5, 0.5) has variance 1/3.
    s * sd * 3f64.sqrt()
}
