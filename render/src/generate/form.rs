//! Form: the sequence of sections a style's pieces follow, cut to length,
//! with their energy and (sometimes) a key change.

use rand::Rng;

use super::random::{chance, one_of};
use super::score::Section;
use super::style::Style;
use super::theory::Key;

/// (label, bars, energy) of a style's full form; pieces take as many
/// sections from the start as their length allows (and at least two).
fn template(style: Style, rng: &mut impl Rng) -> Vec<(&'static str, usize, f32)> {
    match style {
        Style::PopRock => {
            let mut f = vec![
                ("verse", 8, 0.6),
                ("chorus", 8, 0.9),
                ("verse", 8, 0.6),
                ("chorus", 8, 0.9),
            ];
            if chance(rng, 0.6) {
                f.insert(0, ("intro", 4, 0.4));
            }
            f.extend([("bridge", 8, 0.7), ("chorus", 8, 1.0), ("outro", 4, 0.5)]);
            f
        }
        Style::Blues => vec![
            ("head", 12, 0.7),
            ("solo", 12, 0.9),
            ("solo", 12, 0.9),
            ("head", 12, 0.8),
        ],
        Style::Jazz => vec![
            ("head", 8, 0.6),
            ("head", 8, 0.6),
            ("bridge", 8, 0.7),
            ("head", 8, 0.6),
            ("solo", 8, 0.9),
            ("solo", 8, 0.9),
        ],
        Style::Latin => vec![
            ("intro", 4, 0.5),
            ("A", 8, 0.7),
            ("B", 8, 0.9),
            ("A", 8, 0.7),
            ("B", 8, 0.9),
        ],
        Style::Funk => vec![
            ("intro", 4, 0.6),
            ("A", 8, 0.8),
            ("B", 8, 1.0),
            ("break", 4, 0.5),
            ("A", 8, 0.9),
        ],
        Style::Folk => vec![
            ("A", 8, 0.6),
            ("A", 8, 0.7),
            ("B", 8, 0.8),
            ("B", 8, 0.8),
            ("A", 8, 0.7),
        ],
        Style::Electronic => vec![
            ("intro", 8, 0.4),
            ("build", 8, 0.7),
            ("drop", 16, 1.0),
            ("break", 8, 0.5),
            ("drop", 16, 1.0),
        ],
        Style::Chorale => vec![("phrase", 4, 0.6); 8],
        Style::Modal => vec![("A", 8, 0.6), ("B", 8, 0.8), ("A", 8, 0.7), ("B", 8, 0.9)],
    }
}

/// Sections filling about `target_seconds` at `bar_seconds` per bar, all in
/// `home` except where the style's key change happens (probability
/// `key_change`): a final chorus (or the last section) a semitone or a tone
/// up, or a contrasting section (bridge, B) in the subdominant or the
/// relative key.
pub fn sections(
    rng: &mut impl Rng,
    style: Style,
    home: Key,
    target_seconds: f64,
    bar_seconds: f64,
    key_change: f64,
) -> Vec<Section> {
    let full = template(style, rng);
    let mut out: Vec<Section> = Vec::new();
    let mut bars = 0usize;
    for (label, n, energy) in full {
        if out.len() >= 2 && bars as f64 * bar_seconds >= target_seconds {
            break;
        }
        out.push(Section {
            label,
            start_bar: bars,
            bars: n,
            key: home,
            energy,
        });
        bars += n;
    }
    if chance(rng, key_change) && out.len() >= 3 {
        let contrasting = out.iter().position(|s| matches!(s.label, "bridge" | "B"));
        match contrasting {
            Some(i) if chance(rng, 0.6) => {
                let relative = if home.mode.is_minor() {
                    home.transposed(3).with_mode_flipped()
                } else {
                    home.transposed(9).with_mode_flipped()
                };
                let key = if chance(rng, 0.5) { home.transposed(5) } else { relative };
                let label = out[i].label;
                for s in out.iter_mut().filter(|s| s.label == label) {
                    s.key = key;
                }
            }
            _ => {
                let up = one_of(rng, &[1, 2, 2]);
                let last = out.len() - 1;
                let from = out
                    .iter()
                    .rposition(|s| s.label == "chorus")
                    .filter(|&i| i >= 2)
                    .unwrap_or(last);
                for s in &mut out[from..] {
                    s.key = home.transposed(up);
                }
            }
        }
    }
    out
}

impl Key {
    /// Major <-> natural minor on the same tonic (for relative keys).
    fn with_mode_flipped(self) -> Key {
        use super::theory::Mode;
        Key {
            tonic: self.tonic,
            mode: if self.mode.is_minor() { Mode::Major } else { Mode::Minor },
        }
    }
}
