//! Whole-number draw weights over a few named choices, written
//! `NAME=W,...`: how often the sampler draws each channel mask
//! ([`MaskWeights`](super::sampler::MaskWeights)) and each kind of hard
//! negative ([`KindWeights`](super::hard_negatives::KindWeights)). The
//! drawing and the parsing live here once; each weight table only names its
//! choices.

use cocola::seeded::below;
use rand_chacha::ChaCha12Rng;

/// An index into `weights` (non-empty, not all 0), drawn with their odds.
/// Equal weights draw exactly as an unweighted choice does, so runs made
/// before weights existed keep their batches.
pub fn draw(weights: &[u32], rng: &mut ChaCha12Rng) -> usize {
    if weights.iter().all(|&w| w == weights[0]) {
        return below(rng, weights.len());
    }
    let mut ticket = below(rng, weights.iter().map(|&w| w as usize).sum());
    for (i, &w) in weights.iter().enumerate() {
        if ticket < w as usize {
            return i;
        }
        ticket -= w as usize;
    }
    unreachable!("the ticket is below the sum of the weights")
}

/// `NAME=W,...` read into one weight per entry of `names`, in that order; a
/// name left out keeps 1. `what` names the choices in error messages
/// ("kind", "mode").
pub fn parse(text: &str, names: &[&str], what: &str) -> Result<Vec<u32>, String> {
    let mut weights = vec![1u32; names.len()];
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part
            .split_once('=')
            .ok_or_else(|| format!("'{part}' is not {}=WEIGHT (e.g. {}=2)", what.to_uppercase(), names[0]))?;
        let value: u32 = value
            .trim()
            .parse()
            .map_err(|_| format!("the weight in '{part}' is not a whole number"))?;
        let index = names
            .iter()
            .position(|&n| n == name.trim())
            .ok_or_else(|| format!("unknown {what} '{}' ({})", name.trim(), names.join(", ")))?;
        weights[index] = value;
    }
    if weights.iter().all(|&w| w == 0) {
        return Err(format!("at least one {what} needs a weight above 0"));
    }
    Ok(weights)
}

/// The `NAME=W,...` that [`parse`] reads back.
pub fn format(names: &[&str], weights: &[u32]) -> String {
    names
        .iter()
        .zip(weights)
        .map(|(n, w)| format!("{n}={w}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use cocola::seeded::stream;

    const NAMES: [&str; 3] = ["a", "b", "c"];

    #[test]
    fn the_odds_follow_the_weights_and_zero_never_draws() {
        let mut rng = stream(b"weights", &[]);
        let mut n = [0usize; 3];
        for _ in 0..600 {
            n[draw(&[4, 1, 0], &mut rng)] += 1;
        }
        assert_eq!(n[2], 0, "{n:?}");
        assert!((440..=520).contains(&n[0]), "4 of 5 expected: {n:?}");
    }

    #[test]
    fn equal_weights_of_any_size_draw_as_an_unweighted_choice() {
        let (mut a, mut b) = (stream(b"weights", &[]), stream(b"weights", &[]));
        for _ in 0..50 {
            assert_eq!(draw(&[3, 3, 3], &mut a), below(&mut b, 3));
        }
    }

    #[test]
    fn parsing_is_name_by_name_round_trips_and_refuses_nonsense() {
        assert_eq!(parse("c=0, a=2", &NAMES, "kind").unwrap(), vec![2, 1, 0]);
        assert_eq!(parse("", &NAMES, "kind").unwrap(), vec![1, 1, 1]);
        let text = format(&NAMES, &[2, 1, 0]);
        assert_eq!(text, "a=2,b=1,c=0");
        assert_eq!(parse(&text, &NAMES, "kind").unwrap(), vec![2, 1, 0]);
        for (bad, says) in [
            ("a", "is not KIND=WEIGHT"),
            ("d=2", "unknown kind 'd' (a, b, c)"),
            ("a=-1", "not a whole number"),
            ("a=0,b=0,c=0", "at least one kind"),
        ] {
            let err = parse(bad, &NAMES, "kind").unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
