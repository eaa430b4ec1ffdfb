//! Chord progressions: each style's grammar, written as Roman numerals.
//!
//! A progression is a list of bars, each one or two chords ("ii7 V7" splits
//! the bar). Numerals are relative to the key's tonic on the major scale
//! (`bVII` is a whole tone below the tonic in any mode), upper case major,
//! lower case minor; suffixes: `7` (dominant on upper case, minor seventh on
//! lower), `maj7`, `o` (diminished), `o7`, `h7` (half-diminished), `9`,
//! `13`, `6`, `sus4`, `sus2`.

use rand::Rng;

use super::random::{chance, one_of, pick};
use super::style::Style;
use super::theory::{Chord, Key, Mode, Quality};

/// Parses one numeral (`bVII`, `ii7`, `Imaj7`, `viih7`); None if malformed.
pub fn numeral(text: &str) -> Option<(u8, Quality)> {
    let mut s = text;
    let mut shift: i32 = 0;
    while let Some(rest) = s.strip_prefix('b') {
        shift -= 1;
        s = rest;
    }
    while let Some(rest) = s.strip_prefix('#') {
        shift += 1;
        s = rest;
    }
    let numerals = ["VII", "III", "IV", "VI", "II", "V", "I"];
    let steps = [11, 4, 5, 9, 2, 7, 0];
    let (i, upper) = numerals.iter().enumerate().find_map(|(i, n)| {
        if s.starts_with(n) {
            Some((i, true))
        } else if s.starts_with(&n.to_lowercase()) {
            Some((i, false))
        } else {
            None
        }
    })?;
    let suffix = &s[numerals[i].len()..];
    let quality = match (upper, suffix) {
        (true, "") => Quality::Major,
        (false, "") => Quality::Minor,
        (true, "7") => Quality::Dominant7,
        (false, "7") => Quality::Minor7,
        (_, "maj7") => Quality::Major7,
        (false, "o") => Quality::Diminished,
        (false, "o7") => Quality::Diminished7,
        (false, "h7") => Quality::HalfDiminished7,
        (true, "9") => Quality::Dominant9,
        (false, "9") => Quality::Minor9,
        (true, "13") => Quality::Dominant13,
        (true, "6") => Quality::Major6,
        (false, "6") => Quality::Minor6,
        (_, "sus4") => Quality::Sus4,
        (_, "sus2") => Quality::Sus2,
        (true, "+") => Quality::Augmented,
        _ => return None,
    };
    Some(((steps[i] + shift).rem_euclid(12) as u8, quality))
}

/// A bar-by-bar progression (`"I | vi | ii7 V7 | I"`) as chords of `key`:
/// per bar, the chords that split it evenly.
pub fn realise(progression: &str, key: Key) -> Vec<Vec<Chord>> {
    progression
        .split('|')
        .map(|bar| {
            bar.split_whitespace()
                .map(|n| {
                    let (offset, quality) =
                        numeral(n).unwrap_or_else(|| panic!("bad numeral {n:?} in {progression:?}"));
                    Chord::new(key.tonic + offset, quality)
                })
                .collect()
        })
        .collect()
}

/// Whether a mode reads as minor for choosing progressions.
fn minorish(mode: Mode) -> bool {
    matches!(mode, Mode::Minor | Mode::HarmonicMinor | Mode::Dorian | Mode::Phrygian)
}

const POP_MAJOR: &[&str] = &[
    "I | V | vi | IV",
    "vi | IV | I | V",
    "I | IV | V | IV",
    "I | vi | IV | V",
    "I | IV | vi | V",
    "IV | I | V | vi",
    "I | V | IV | I",
    "ii | IV | I | V",
    "I | iii | IV | V",
    "I I | IV V | vi IV | V",
];
const POP_MINOR: &[&str] = &[
    "i | bVI | bIII | bVII",
    "i | iv | bVII | bIII",
    "i | bVII | bVI | bVII",
    "i | iv | v | i",
    "bVI | bVII | i | i",
    "i | bVI | iv | V",
    "i | bIII | bVII | iv",
];
const MIXOLYDIAN_VAMPS: &[&str] = &["I | bVII | IV | I", "I | bVII | I | IV", "I | I | bVII | IV"];
const BLUES_MAJOR: &[&str] = &[
    "I7 | I7 | I7 | I7 | IV7 | IV7 | I7 | I7 | V7 | IV7 | I7 | V7",
    "I7 | IV7 | I7 | I7 | IV7 | IV7 | I7 | I7 | V7 | IV7 | I7 | V7",
    "I7 | IV7 | I7 | I7 | IV7 | IV7 | I7 | VI7 | ii7 | V7 | I7 VI7 | ii7 V7",
    "I7 | IV7 | I7 | v7 I7 | IV7 | #ivo7 | I7 | VI7 | ii7 | V7 | I7 | V7",
];
const BLUES_MINOR: &[&str] = &[
    "i7 | i7 | i7 | i7 | iv7 | iv7 | i7 | i7 | bVI7 | V7 | i7 | V7",
    "i7 | iv7 | i7 | i7 | iv7 | iv7 | i7 | i7 | iih7 | V7 | i7 | V7",
];
const JAZZ_MAJOR_A: &[&str] = &[
    "Imaj7 | vi7 | ii7 | V7 | iii7 | VI7 | ii7 | V7",
    "Imaj7 vi7 | ii7 V7 | Imaj7 vi7 | ii7 V7 | iii7 VI7 | ii7 V7 | Imaj7 vi7 | ii7 V7",
    "ii7 | V7 | Imaj7 | IVmaj7 | viih7 | III7 | vi7 | vi7",
    "Imaj7 | Imaj7 | ii7 | V7 | ii7 | V7 | Imaj7 | V7",
    "Imaj7 | I7 | IVmaj7 | iv7 bVII7 | iii7 | VI7 | ii7 | V7",
    "Imaj7 | iii7 VI7 | ii7 | V7 | Imaj7 | #io7 | ii7 | V7",
];
const JAZZ_MAJOR_B: &[&str] = &[
    "III7 | III7 | VI7 | VI7 | II7 | II7 | ii7 | V7",
    "v7 | I7 | IVmaj7 | IVmaj7 | ii7 | V7 | iii7 VI7 | ii7 V7",
    "iv7 | bVII7 | Imaj7 | vi7 | ii7 | V7 | Imaj7 | V7",
];
const JAZZ_MINOR_A: &[&str] = &[
    "i7 | i7 | iv7 | iv7 | iih7 | V7 | i7 | V7",
    "i7 | iv7 | bVII7 | bIIImaj7 | bVImaj7 | iih7 | V7 | i7",
    "iih7 | V7 | i7 | i7 | iv7 | bVII7 | bIIImaj7 | V7",
];
const LATIN_MAJOR: &[&str] = &[
    "Imaj7 | Imaj7 | II7 | II7 | ii7 | V7 | Imaj7 | V7",
    "Imaj7 | vi7 | ii7 | V7",
    "I | IV | V | IV",
    "I IV | V IV | I IV | V IV",
    "ii7 | V7 | Imaj7 | Imaj7",
];
const LATIN_MINOR: &[&str] = &[
    "i7 | i7 | iv7 | iv7 | iih7 | V7 | i7 | V7",
    "i iv | V7 iv | i iv | V7 V7",
    "i | iv | V7 | i",
    "i7 | bVImaj7 | iih7 | V7",
];
const FUNK: &[&str] = &[
    "I9 | I9 | I9 | IV9",
    "i7 | i7 | i7 | IV7",
    "i7 | i7 | bVII | bVII",
    "I7 | I7 | IV7 | I7",
    "i7 | IV9 | i7 | IV9",
    "i9 | i9 | i9 | i9",
];
const FOLK_MAJOR: &[&str] = &[
    "I | IV | V | I",
    "I | I | IV | V",
    "I | V | I | V",
    "I | IV | I | V",
    "I | vi | IV | V",
    "IV | I | V | I",
    "I | ii | V | I",
];
const FOLK_MINOR: &[&str] = &[
    "i | bVII | i | V",
    "i | iv | V | i",
    "i | bIII | bVII | i",
    "i | IV | i | bVII",
];
const ELECTRONIC_MINOR: &[&str] = &[
    "i | bVI | bIII | bVII",
    "i | iv | bVI | V",
    "bVI | bVII | i | i",
    "i | i | bVI | bVII",
    "i7 | bVImaj7 | bIIImaj7 | bVII",
    "isus2 | bVI | bIII | bVIIsus4",
];
const ELECTRONIC_MAJOR: &[&str] = &["I | V | vi | IV", "vi | IV | I | V", "IVmaj7 | V | iii7 | vi"];
const MODAL: &[(Mode, &[&str])] = &[
    (
        Mode::Dorian,
        &["i7 | IV7", "i7 | i7 | IV7 | IV7", "i7 | bIII | IV | i7", "i9 | IV9"],
    ),
    (
        Mode::Mixolydian,
        &["I | bVII", "I | I | bVII | IV", "I7 | bVII | IV | I7"],
    ),
    (
        Mode::Lydian,
        &["Imaj7 | II", "I | II | I | II", "Imaj7 | II7 | vii | Imaj7"],
    ),
    (Mode::Phrygian, &["i | bII", "i | bII | bIII | bII", "i7 | bIImaj7"]),
    (Mode::Minor, &["i | bVII", "i | bVI | bVII | i"]),
    (Mode::Major, &["I | IV", "Imaj7 | IVmaj7"]),
];

/// Functional progressions for chorales: tonic -> predominant -> dominant,
/// in four-bar phrases ending on a cadence.
fn chorale_phrase(rng: &mut impl Rng, minor: bool, beats_per_bar: usize, last: bool) -> String {
    let (t, s, d): (&[&str], &[&str], &[&str]) = if minor {
        (&["i", "bVI"], &["iv", "iio", "iv"], &["V", "V7", "viio"])
    } else {
        (&["I", "vi", "iii"], &["IV", "ii", "ii7"], &["V", "V7", "viio"])
    };
    let tonic = t[0];
    let chords_per_bar = if beats_per_bar.is_multiple_of(2) { 2 } else { 1 };
    let mut bars = Vec::new();
    for bar in 0..4 {
        let mut chords: Vec<&str> = Vec::new();
        for c in 0..chords_per_bar {
            let position = bar * chords_per_bar + c;
            let n = 4 * chords_per_bar;
            let chord = if position == 0 {
                tonic
            } else if position == n - 1 {
                if last || chance(rng, 0.6) {
                    tonic
                } else {
                    d[0]
                }
            } else if position == n - 2 {
                one_of(rng, d)
            } else if position == n - 3 {
                one_of(rng, s)
            } else {
                let function = pick(rng, &[(t, 0.4), (s, 0.35), (d, 0.25)]);
                one_of(rng, function)
            };
            chords.push(chord);
        }
        bars.push(chords.join(" "));
    }
    bars.join(" | ")
}

/// The progression of one section: `bars` bars long (phrases repeat to fill it).
pub fn section_progression(
    rng: &mut impl Rng,
    style: Style,
    key: Key,
    label: &str,
    bars: usize,
    beats_per_bar: usize,
) -> Vec<Vec<Chord>> {
    let minor = minorish(key.mode);
    let phrase: String = match style {
        Style::PopRock if key.mode == Mode::Mixolydian => one_of(rng, MIXOLYDIAN_VAMPS).into(),
        Style::PopRock => one_of(rng, if minor { POP_MINOR } else { POP_MAJOR }).into(),
        Style::Blues => one_of(rng, if minor { BLUES_MINOR } else { BLUES_MAJOR }).into(),
        Style::Jazz if minor => one_of(rng, JAZZ_MINOR_A).into(),
        Style::Jazz if label == "bridge" => one_of(rng, JAZZ_MAJOR_B).into(),
        Style::Jazz => one_of(rng, JAZZ_MAJOR_A).into(),
        Style::Latin => one_of(rng, if minor { LATIN_MINOR } else { LATIN_MAJOR }).into(),
        Style::Funk => one_of(rng, FUNK).into(),
        Style::Folk => one_of(rng, if minor { FOLK_MINOR } else { FOLK_MAJOR }).into(),
        Style::Electronic => one_of(rng, if minor { ELECTRONIC_MINOR } else { ELECTRONIC_MAJOR }).into(),
        Style::Chorale => {
            let phrases = bars.div_ceil(4);
            (0..phrases)
                .map(|p| chorale_phrase(rng, minor, beats_per_bar, p + 1 == phrases))
                .collect::<Vec<_>>()
                .join(" | ")
        }
        Style::Modal => {
            let options = MODAL
                .iter()
                .find(|(m, _)| *m == key.mode)
                .map_or(MODAL[0].1, |(_, o)| *o);
            one_of(rng, options).into()
        }
    };
    let mut chords = realise(&phrase, key);
    // Slow harmonic rhythm: each chord held for two bars.
    let slow = matches!(style, Style::Modal | Style::Electronic | Style::Funk) && chance(rng, 0.4);
    if slow {
        chords = chords.into_iter().flat_map(|b| [b.clone(), b]).collect();
    }
    // Jazz colour: extensions and tritone substitutions of dominants.
    if style == Style::Jazz {
        for bar in chords.iter_mut() {
            for c in bar.iter_mut() {
                if c.quality == Quality::Dominant7 && chance(rng, 0.15) {
                    *c = Chord::new(c.root + 6, Quality::Dominant7);
                } else if chance(rng, 0.4) {
                    c.quality = c.quality.extended();
                }
            }
        }
    }
    (0..bars).map(|b| chords[b % chords.len()].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerals() {
        assert_eq!(numeral("I"), Some((0, Quality::Major)));
        assert_eq!(numeral("vi"), Some((9, Quality::Minor)));
        assert_eq!(numeral("bVII"), Some((10, Quality::Major)));
        assert_eq!(numeral("ii7"), Some((2, Quality::Minor7)));
        assert_eq!(numeral("V7"), Some((7, Quality::Dominant7)));
        assert_eq!(numeral("viih7"), Some((11, Quality::HalfDiminished7)));
        assert_eq!(numeral("#ivo7"), Some((6, Quality::Diminished7)));
        assert_eq!(numeral("bIIImaj7"), Some((3, Quality::Major7)));
        assert_eq!(numeral("X"), None);
        assert_eq!(numeral("Ixyz"), None);
    }

    #[test]
    fn every_table_parses() {
        let key = Key {
            tonic: 2,
            mode: Mode::Major,
        };
        let tables: &[&[&str]] = &[
            POP_MAJOR,
            POP_MINOR,
            MIXOLYDIAN_VAMPS,
            BLUES_MAJOR,
            BLUES_MINOR,
            JAZZ_MAJOR_A,
            JAZZ_MAJOR_B,
            JAZZ_MINOR_A,
            LATIN_MAJOR,
            LATIN_MINOR,
            FUNK,
            FOLK_MAJOR,
            FOLK_MINOR,
            ELECTRONIC_MINOR,
            ELECTRONIC_MAJOR,
        ];
        for table in tables.iter().copied().chain(MODAL.iter().map(|m| m.1)) {
            for p in table {
                let bars = realise(p, key);
                assert!(bars.iter().all(|b| !b.is_empty() && b.len() <= 2), "{p}");
            }
        }
        let bars = realise("I | ii7 V7", key);
        assert_eq!(bars[1][1].symbol(), "A7");
    }
}
