//! Chord voicings with voice leading: each new chord takes, among its
//! playable voicings in the part's register, the one whose voices move least
//! from the previous chord's (common tones held, others by step), the way
//! keyboard players and arrangers connect chords.

use super::theory::{nearest_key, Chord};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spread {
    /// All voices within an octave.
    Close,
    /// Close voicing with the second voice from the top dropped an octave.
    Drop2,
    /// Rootless: third and seventh (and colour tones), the bass has the root.
    Shell,
}

#[derive(Clone, Debug)]
pub struct Voicer {
    pub low: i32,
    pub high: i32,
    pub voices: usize,
    pub spread: Spread,
    previous: Option<Vec<i32>>,
}

impl Voicer {
    pub fn new(low: i32, high: i32, voices: usize, spread: Spread) -> Voicer {
        Voicer {
            low,
            high,
            voices,
            spread,
            previous: None,
        }
    }

    /// Keys of the next voicing (ascending), led from the previous one.
    pub fn voice(&mut self, chord: &Chord) -> Vec<u8> {
        let rootless = self.spread == Spread::Shell;
        let tones = choose_tones(chord, self.voices, rootless, false);
        // A triad in four voices may double its root or its fifth.
        let doubled_fifth = choose_tones(chord, self.voices, rootless, true);
        let centre = (self.low + self.high) as f64 / 2.0;
        let mut best: Option<(f64, Vec<i32>)> = None;
        let orders = (0..tones.len()).map(|r| (&tones, r)).chain(
            (0..doubled_fifth.len())
                .filter(|_| doubled_fifth != tones)
                .map(|r| (&doubled_fifth, r)),
        );
        for (tones, rotation) in orders {
            let mut order = tones.clone();
            order.rotate_left(rotation);
            for bottom in (self.low..self.low + 12).map(|k| nearest_key(order[0], k)) {
                let mut keys = stack(&order, bottom);
                if self.spread == Spread::Drop2 && keys.len() >= 4 {
                    let i = keys.len() - 2;
                    keys[i] -= 12;
                    keys.sort();
                }
                if keys[0] < self.low || *keys.last().unwrap_or(&0) > self.high {
                    continue;
                }
                let mean = keys.iter().sum::<i32>() as f64 / keys.len() as f64;
                let cost = match &self.previous {
                    Some(prev) => movement(prev, &keys) + 0.25 * (mean - centre).abs(),
                    None => (mean - centre).abs(),
                };
                if best.as_ref().is_none_or(|b| cost < b.0) {
                    best = Some((cost, keys));
                }
            }
        }
        // A register too narrow for the chord: the root position nearest the centre.
        let keys = best
            .map(|b| b.1)
            .unwrap_or_else(|| stack(&tones, nearest_key(tones[0], self.low + 2)));
        self.previous = Some(keys.clone());
        keys.into_iter().map(|k| k.clamp(0, 127) as u8).collect()
    }
}

/// `tones` stacked upwards from `bottom`, each the next key of its pitch
/// class above the previous one.
fn stack(tones: &[u8], bottom: i32) -> Vec<i32> {
    let mut keys = vec![bottom];
    for &pc in &tones[1..] {
        let prev = *keys.last().unwrap_or(&bottom);
        let mut k = prev + 1 + (pc as i32 - (prev + 1)).rem_euclid(12);
        if k == prev {
            k += 12;
        }
        keys.push(k);
    }
    keys
}

/// Total semitones the voices move: voice by voice (lowest to lowest, ...)
/// when both voicings have as many voices, else each voice of the smaller
/// one to the nearest of the other's.
fn movement(prev: &[i32], next: &[i32]) -> f64 {
    if prev.len() == next.len() {
        return prev.iter().zip(next).map(|(a, b)| (a - b).abs()).sum::<i32>() as f64;
    }
    let (a, b) = if prev.len() < next.len() {
        (prev, next)
    } else {
        (next, prev)
    };
    a.iter()
        .map(|x| b.iter().map(|y| (x - y).abs()).min().unwrap_or(0))
        .sum::<i32>() as f64
        + (b.len() - a.len()) as f64
}

/// `count` pitch classes of `chord`: third and seventh first (they define
/// the chord), then the root (unless rootless), colour tones, the fifth last;
/// roots and fifths doubled (the fifth first if `fifth_first`) if the chord
/// has fewer tones than voices.
pub fn choose_tones(chord: &Chord, count: usize, rootless: bool, fifth_first: bool) -> Vec<u8> {
    let pcs = chord.pitch_classes();
    let root = pcs[0];
    let fifth = chord.fifth();
    let mut priority: Vec<u8> = Vec::new();
    let push = |pc: u8, list: &mut Vec<u8>| {
        if !list.contains(&pc) {
            list.push(pc)
        }
    };
    push(chord.third(), &mut priority);
    if let Some(s) = chord.seventh() {
        push(s, &mut priority);
    }
    if !rootless {
        push(root, &mut priority);
    }
    for &pc in &pcs[1..] {
        if pc != fifth {
            push(pc, &mut priority);
        }
    }
    push(fifth, &mut priority);
    if rootless && priority.len() < count {
        push(root, &mut priority);
    }
    let mut chosen: Vec<u8> = priority.into_iter().take(count).collect();
    let doubles = if fifth_first { [fifth, root] } else { [root, fifth] };
    let mut i = 0;
    while chosen.len() < count {
        chosen.push(doubles[i % 2]);
        i += 1;
    }
    // Chord-tone order from the root (so rotation 0 is root position).
    let order = |pc: &u8| (*pc as i32 - root as i32).rem_euclid(12);
    chosen.sort_by_key(order);
    chosen
}

#[cfg(test)]
mod tests {
    use super::super::theory::Quality;
    use super::*;

    #[test]
    fn voicings_hold_chord_tones_in_register_and_move_little() {
        let mut v = Voicer::new(55, 79, 4, Spread::Close);
        let prog = [
            Chord::new(0, Quality::Major7),
            Chord::new(9, Quality::Minor7),
            Chord::new(2, Quality::Minor7),
            Chord::new(7, Quality::Dominant7),
            Chord::new(0, Quality::Major),
        ];
        let mut prev: Option<Vec<u8>> = None;
        for c in &prog {
            let keys = v.voice(c);
            assert_eq!(keys.len(), 4, "{keys:?}");
            assert!(keys.iter().all(|&k| (55..=79).contains(&k)), "{keys:?}");
            assert!(keys.iter().all(|&k| c.contains(k % 12)), "{} {keys:?}", c.symbol());
            if let Some(p) = prev {
                let moved: i32 = p.iter().zip(&keys).map(|(a, b)| (*a as i32 - *b as i32).abs()).sum();
                assert!(moved <= 8, "{} moved {moved}: {p:?} -> {keys:?}", c.symbol());
            }
            prev = Some(keys);
        }
    }

    #[test]
    fn shell_voicings_leave_out_the_root() {
        let tones = choose_tones(&Chord::new(7, Quality::Dominant13), 3, true, false);
        assert!(!tones.contains(&7), "{tones:?}");
        assert!(tones.contains(&11) && tones.contains(&5));
        // A triad in four voices doubles the root.
        let t = choose_tones(&Chord::new(0, Quality::Major), 4, false, false);
        assert_eq!(t.iter().filter(|&&p| p == 0).count(), 2);
    }
}
