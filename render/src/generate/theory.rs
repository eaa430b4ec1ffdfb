//! Pitch classes, modes, keys and chords.

use serde::Serialize;

pub use crate::facts::PC_NAMES;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Major,
    Minor,
    HarmonicMinor,
    Dorian,
    Mixolydian,
    Lydian,
    Phrygian,
}

impl Mode {
    /// Semitones of the seven degrees above the tonic.
    pub fn scale(self) -> [u8; 7] {
        match self {
            Mode::Major => [0, 2, 4, 5, 7, 9, 11],
            Mode::Minor => [0, 2, 3, 5, 7, 8, 10],
            Mode::HarmonicMinor => [0, 2, 3, 5, 7, 8, 11],
            Mode::Dorian => [0, 2, 3, 5, 7, 9, 10],
            Mode::Mixolydian => [0, 2, 4, 5, 7, 9, 10],
            Mode::Lydian => [0, 2, 4, 6, 7, 9, 11],
            Mode::Phrygian => [0, 1, 3, 5, 7, 8, 10],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Major => "major",
            Mode::Minor => "minor",
            Mode::HarmonicMinor => "harmonic-minor",
            Mode::Dorian => "dorian",
            Mode::Mixolydian => "mixolydian",
            Mode::Lydian => "lydian",
            Mode::Phrygian => "phrygian",
        }
    }

    /// Semitones from this mode's tonic up to the tonic of the major scale
    /// with the same notes (for a key signature).
    fn to_parent_major(self) -> u8 {
        match self {
            Mode::Major => 0,
            Mode::Lydian => 7,
            Mode::Mixolydian => 5,
            Mode::Minor | Mode::HarmonicMinor => 3,
            Mode::Dorian => 10,
            Mode::Phrygian => 8,
        }
    }

    /// Whether the third above the tonic is minor.
    pub fn is_minor(self) -> bool {
        self.scale()[2] == 3
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Key {
    /// Pitch class of the tonic, 0 = C.
    pub tonic: u8,
    pub mode: Mode,
}

impl Key {
    /// Pitch class of scale degree `degree` (0-based, wraps by octaves).
    pub fn degree_pc(&self, degree: usize) -> u8 {
        (self.tonic + self.mode.scale()[degree % 7]) % 12
    }

    /// Whether pitch class `pc` belongs to the scale.
    pub fn contains(&self, pc: u8) -> bool {
        self.mode.scale().iter().any(|s| (self.tonic + s) % 12 == pc % 12)
    }

    /// The diatonic chord on `degree`: thirds stacked in the scale, `size`
    /// notes (3 = triad, 4 = seventh chord).
    pub fn diatonic(&self, degree: usize, size: usize) -> Chord {
        let root = self.degree_pc(degree);
        let intervals: Vec<u8> = (0..size)
            .map(|i| (self.degree_pc(degree + 2 * i) + 12 - root) % 12)
            .collect();
        Chord {
            root,
            quality: Quality::from_intervals(&intervals),
        }
    }

    /// MIDI key signature: sharps (positive) or flats (negative) of the
    /// parent major scale, and whether the mode reads as minor.
    pub fn signature(&self) -> (i8, bool) {
        let major_tonic = (self.tonic + self.mode.to_parent_major()) % 12;
        // Circle of fifths position of each major tonic, flats preferred
        // for Db, Gb... as most key signatures are written.
        const SHARPS: [i8; 12] = [0, -5, 2, -3, 4, -1, 6, 1, -4, 3, -2, 5];
        (SHARPS[major_tonic as usize], self.mode.is_minor())
    }

    pub fn name(&self) -> String {
        format!("{} {}", PC_NAMES[self.tonic as usize], self.mode.name())
    }

    pub fn transposed(&self, semitones: i32) -> Key {
        Key {
            tonic: (self.tonic as i32 + semitones).rem_euclid(12) as u8,
            mode: self.mode,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Quality {
    Major,
    Minor,
    Diminished,
    Augmented,
    Sus2,
    Sus4,
    Power,
    Major6,
    Minor6,
    Dominant7,
    Major7,
    Minor7,
    HalfDiminished7,
    Diminished7,
    MinorMajor7,
    Dominant9,
    Major9,
    Minor9,
    Dominant13,
    Minor11,
}

impl Quality {
    /// Chord tones above the root in semitones, root first.
    pub fn intervals(self) -> &'static [u8] {
        match self {
            Quality::Major => &[0, 4, 7],
            Quality::Minor => &[0, 3, 7],
            Quality::Diminished => &[0, 3, 6],
            Quality::Augmented => &[0, 4, 8],
            Quality::Sus2 => &[0, 2, 7],
            Quality::Sus4 => &[0, 5, 7],
            Quality::Power => &[0, 7],
            Quality::Major6 => &[0, 4, 7, 9],
            Quality::Minor6 => &[0, 3, 7, 9],
            Quality::Dominant7 => &[0, 4, 7, 10],
            Quality::Major7 => &[0, 4, 7, 11],
            Quality::Minor7 => &[0, 3, 7, 10],
            Quality::HalfDiminished7 => &[0, 3, 6, 10],
            Quality::Diminished7 => &[0, 3, 6, 9],
            Quality::MinorMajor7 => &[0, 3, 7, 11],
            Quality::Dominant9 => &[0, 4, 7, 10, 14],
            Quality::Major9 => &[0, 4, 7, 11, 14],
            Quality::Minor9 => &[0, 3, 7, 10, 14],
            Quality::Dominant13 => &[0, 4, 7, 10, 14, 21],
            Quality::Minor11 => &[0, 3, 7, 10, 14, 17],
        }
    }

    /// Chord symbol suffix (C + "m7" = Cm7).
    pub fn suffix(self) -> &'static str {
        match self {
            Quality::Major => "",
            Quality::Minor => "m",
            Quality::Diminished => "dim",
            Quality::Augmented => "aug",
            Quality::Sus2 => "sus2",
            Quality::Sus4 => "sus4",
            Quality::Power => "5",
            Quality::Major6 => "6",
            Quality::Minor6 => "m6",
            Quality::Dominant7 => "7",
            Quality::Major7 => "maj7",
            Quality::Minor7 => "m7",
            Quality::HalfDiminished7 => "m7b5",
            Quality::Diminished7 => "dim7",
            Quality::MinorMajor7 => "mMaj7",
            Quality::Dominant9 => "9",
            Quality::Major9 => "maj9",
            Quality::Minor9 => "m9",
            Quality::Dominant13 => "13",
            Quality::Minor11 => "m11",
        }
    }

    /// The triad or seventh chord with these intervals (stacked scale thirds).
    fn from_intervals(intervals: &[u8]) -> Quality {
        match intervals {
            [0, 4, 7] => Quality::Major,
            [0, 3, 7] => Quality::Minor,
            [0, 3, 6] => Quality::Diminished,
            [0, 4, 8] => Quality::Augmented,
            [0, 4, 7, 10] => Quality::Dominant7,
            [0, 4, 7, 11] => Quality::Major7,
            [0, 3, 7, 10] => Quality::Minor7,
            [0, 3, 6, 10] => Quality::HalfDiminished7,
            [0, 3, 6, 9] => Quality::Diminished7,
            [0, 3, 7, 11] => Quality::MinorMajor7,
            [0, 4, 8, 11] => Quality::Major7,
            [0, 4, 8, ..] => Quality::Augmented,
            [0, 3, 6, ..] => Quality::Diminished,
            [0, 3, ..] => Quality::Minor,
            _ => Quality::Major,
        }
    }

    /// The same chord with a seventh (jazz and blues colour).
    pub fn with_seventh(self) -> Quality {
        match self {
            Quality::Major => Quality::Major7,
            Quality::Minor => Quality::Minor7,
            Quality::Diminished => Quality::HalfDiminished7,
            q => q,
        }
    }

    /// Richer extensions for jazz voicings.
    pub fn extended(self) -> Quality {
        match self {
            Quality::Major7 | Quality::Major => Quality::Major9,
            Quality::Minor7 | Quality::Minor => Quality::Minor9,
            Quality::Dominant7 => Quality::Dominant13,
            q => q,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Chord {
    /// Pitch class of the root.
    pub root: u8,
    pub quality: Quality,
}

impl Chord {
    pub fn new(root: u8, quality: Quality) -> Chord {
        Chord {
            root: root % 12,
            quality,
        }
    }

    /// Pitch classes of the chord tones, root first.
    pub fn pitch_classes(&self) -> Vec<u8> {
        self.quality.intervals().iter().map(|i| (self.root + i) % 12).collect()
    }

    pub fn contains(&self, pc: u8) -> bool {
        self.pitch_classes().contains(&(pc % 12))
    }

    /// Pitch class of the fifth (or what stands in for it: the altered fifth
    /// of diminished and augmented chords).
    pub fn fifth(&self) -> u8 {
        let i = self.quality.intervals();
        (self.root + i.iter().copied().find(|&x| (6..=8).contains(&x)).unwrap_or(7)) % 12
    }

    /// The third (or the suspended tone).
    pub fn third(&self) -> u8 {
        let i = self.quality.intervals();
        (self.root + i.get(1).copied().unwrap_or(4)) % 12
    }

    /// The seventh, if the chord has one.
    pub fn seventh(&self) -> Option<u8> {
        self.quality
            .intervals()
            .iter()
            .find(|&&x| x == 10 || x == 11 || (x == 9 && self.quality == Quality::Diminished7))
            .map(|x| (self.root + x) % 12)
    }

    pub fn symbol(&self) -> String {
        format!("{}{}", PC_NAMES[self.root as usize], self.quality.suffix())
    }

    pub fn transposed(&self, semitones: i32) -> Chord {
        Chord::new((self.root as i32 + semitones).rem_euclid(12) as u8, self.quality)
    }
}

/// The MIDI key of pitch class `pc` nearest to `near` (ties: lower).
pub fn nearest_key(pc: u8, near: i32) -> i32 {
    let base = near - (near - pc as i32).rem_euclid(12);
    if near - base <= base + 12 - near {
        base
    } else {
        base + 12
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diatonic_chords_of_major_and_minor() {
        let c = Key {
            tonic: 0,
            mode: Mode::Major,
        };
        let sym: Vec<String> = (0..7).map(|d| c.diatonic(d, 4).symbol()).collect();
        assert_eq!(sym, ["Cmaj7", "Dm7", "Em7", "Fmaj7", "G7", "Am7", "Bm7b5"]);
        let a = Key {
            tonic: 9,
            mode: Mode::HarmonicMinor,
        };
        assert_eq!(a.diatonic(4, 4).symbol(), "E7");
        assert_eq!(a.diatonic(0, 3).symbol(), "Am");
    }

    #[test]
    fn key_signatures() {
        let sig = |tonic, mode| Key { tonic, mode }.signature();
        assert_eq!(sig(0, Mode::Major), (0, false));
        assert_eq!(sig(9, Mode::Minor), (0, true));
        assert_eq!(sig(2, Mode::Dorian), (0, true));
        assert_eq!(sig(7, Mode::Mixolydian), (0, false));
        assert_eq!(sig(5, Mode::Lydian), (0, false));
        assert_eq!(sig(4, Mode::Phrygian), (0, true));
        assert_eq!(sig(2, Mode::Major), (2, false));
        assert_eq!(sig(5, Mode::Major), (-1, false));
        assert_eq!(sig(0, Mode::Minor), (-3, true));
    }

    #[test]
    fn chord_tones_and_nearest_keys() {
        let g7 = Chord::new(7, Quality::Dominant7);
        assert_eq!(g7.pitch_classes(), [7, 11, 2, 5]);
        assert_eq!((g7.fifth(), g7.third(), g7.seventh()), (2, 11, Some(5)));
        assert_eq!(Chord::new(11, Quality::Diminished).fifth(), 5);
        assert_eq!(nearest_key(0, 61), 60);
        assert_eq!(nearest_key(0, 67), 72);
        assert_eq!(nearest_key(7, 60), 55);
        assert_eq!(nearest_key(6, 60), 54);
    }
}
