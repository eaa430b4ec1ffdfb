//! Styles: what a piece of each idiom may draw (tempo, meter, feel, mode,
//! how each part plays, which instruments), as data.

use serde::Serialize;

use super::theory::Mode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Style {
    PopRock,
    Blues,
    Jazz,
    Latin,
    Funk,
    Folk,
    Electronic,
    Chorale,
    Modal,
}

pub const ALL_STYLES: [Style; 9] = [
    Style::PopRock,
    Style::Blues,
    Style::Jazz,
    Style::Latin,
    Style::Funk,
    Style::Folk,
    Style::Electronic,
    Style::Chorale,
    Style::Modal,
];

/// Styles only the out-of-distribution test split hears: their grooves
/// (clave and bossa patterns, sixteenth-note funk) are unlike the others'.
pub const HELD_OUT_STYLES: [Style; 2] = [Style::Latin, Style::Funk];

impl Style {
    pub fn name(self) -> &'static str {
        match self {
            Style::PopRock => "pop-rock",
            Style::Blues => "blues",
            Style::Jazz => "jazz",
            Style::Latin => "latin",
            Style::Funk => "funk",
            Style::Folk => "folk",
            Style::Electronic => "electronic",
            Style::Chorale => "chorale",
            Style::Modal => "modal",
        }
    }

    pub fn spec(self) -> &'static StyleSpec {
        SPECS.iter().find(|s| s.style == self).expect("every style has a spec")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeelKind {
    Straight,
    Swing,
    Shuffle,
}

/// How the bass plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BassStyle {
    /// Driving eighths on the root, a fifth or octave and an approach note at the bar's end.
    RootEighths,
    /// Root on the downbeat, fifth on the other accents (folk, country, bossa).
    RootFifth,
    /// Quarter-note walking line with a chromatic approach to the next root.
    Walking,
    /// Shuffle boogie figure: root, third, fifth, sixth, seventh.
    Boogie,
    /// Sixteenth-note syncopation around the root and its octave.
    Syncopated,
    /// Latin tumbao: anticipates the next chord on the and of 2 and on 4.
    Tumbao,
    /// Held or repeated root (modal vamps, electronic).
    Pedal,
    /// Root on every off-beat eighth (electronic).
    Offbeat,
    /// The bass voice of a four-part chorale (root position on strong beats).
    Chorale,
}

/// How the chords are played.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompStyle {
    /// Strummed eighths with accents on the backbeat.
    Strum,
    /// Held chords, restruck at each change.
    Block,
    /// Stabs on the off-beats (reggae/ska skank, rock upstrokes).
    Offbeat,
    /// Jazz Charleston rhythm and anticipations with rootless voicings.
    Charleston,
    /// Bossa nova guitar pattern.
    Bossa,
    /// Salsa piano montuno: syncopated broken octaves.
    Montuno,
    /// Sixteenth-note funk stabs.
    FunkStabs,
    /// Oom-pah: chords on the weak beats (waltz, polka, march).
    OomPah,
}

/// The drum patterns a style plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrumStyle {
    Rock,
    HalfTime,
    Shuffle,
    JazzRide,
    Bossa,
    Salsa,
    Funk,
    Folk,
    FourOnFloor,
    Odd,
    None,
}

/// Chance that a piece has each optional part.
#[derive(Clone, Copy, Debug)]
pub struct PartOdds {
    pub comping: f64,
    pub arpeggio: f64,
    pub pad: f64,
    pub counter: f64,
    pub drums: f64,
}

/// GM programs each role may get.
#[derive(Clone, Copy, Debug)]
pub struct Programs {
    pub bass: &'static [u8],
    pub comping: &'static [u8],
    pub arpeggio: &'static [u8],
    pub pad: &'static [u8],
    pub melody: &'static [u8],
    pub counter: &'static [u8],
}

pub struct StyleSpec {
    pub style: Style,
    /// Tempo in quarter notes per minute, drawn uniformly in this range
    /// (within 60-190; a 6/8 beat, a dotted quarter, is 2/3 of it).
    pub bpm: (f64, f64),
    pub meters: &'static [(&'static str, f64)],
    pub feels: &'static [(FeelKind, f64)],
    pub modes: &'static [(Mode, f64)],
    pub bass: &'static [(BassStyle, f64)],
    pub comping: &'static [(CompStyle, f64)],
    pub drums: &'static [(DrumStyle, f64)],
    pub parts: PartOdds,
    pub programs: Programs,
    /// Standard deviation of timing humanisation (ms) for pitched parts;
    /// drums get two thirds of it.
    pub humanize_ms: f64,
    /// Chance of a key change (modulating section or final chorus up).
    pub key_change: f64,
}

const KEYS_AND_GUITARS: &[u8] = &[0, 1, 2, 4, 5, 16, 24, 25, 26, 27, 28, 30];
const PADS: &[u8] = &[48, 49, 50, 51, 52, 88, 89, 90, 91, 94, 95, 19, 20];
const LEADS: &[u8] = &[73, 71, 68, 56, 65, 66, 40, 60, 74, 22, 11, 80, 81];
const COUNTERS: &[u8] = &[42, 41, 70, 57, 60, 71, 66, 11, 61, 69];

pub const SPECS: &[StyleSpec] = &[
    StyleSpec {
        style: Style::PopRock,
        bpm: (72.0, 160.0),
        meters: &[
            ("4/4", 0.86),
            ("6/8", 0.06),
            ("3/4", 0.04),
            ("5/4", 0.02),
            ("7/8", 0.02),
        ],
        feels: &[(FeelKind::Straight, 0.85), (FeelKind::Shuffle, 0.15)],
        modes: &[(Mode::Major, 0.6), (Mode::Minor, 0.3), (Mode::Mixolydian, 0.1)],
        bass: &[
            (BassStyle::RootEighths, 0.6),
            (BassStyle::RootFifth, 0.25),
            (BassStyle::Syncopated, 0.15),
        ],
        comping: &[
            (CompStyle::Strum, 0.5),
            (CompStyle::Block, 0.25),
            (CompStyle::Offbeat, 0.25),
        ],
        drums: &[(DrumStyle::Rock, 0.75), (DrumStyle::HalfTime, 0.25)],
        parts: PartOdds {
            comping: 0.95,
            arpeggio: 0.35,
            pad: 0.4,
            counter: 0.3,
            drums: 0.95,
        },
        programs: Programs {
            bass: &[33, 34, 35, 32, 38],
            comping: KEYS_AND_GUITARS,
            arpeggio: &[0, 4, 24, 25, 46, 11, 8],
            pad: PADS,
            melody: LEADS,
            counter: COUNTERS,
        },
        humanize_ms: 9.0,
        key_change: 0.15,
    },
    StyleSpec {
        style: Style::Blues,
        bpm: (60.0, 140.0),
        meters: &[("4/4", 0.7), ("12/8", 0.3)],
        feels: &[
            (FeelKind::Shuffle, 0.6),
            (FeelKind::Swing, 0.3),
            (FeelKind::Straight, 0.1),
        ],
        modes: &[(Mode::Mixolydian, 0.75), (Mode::Minor, 0.25)],
        bass: &[
            (BassStyle::Walking, 0.45),
            (BassStyle::Boogie, 0.45),
            (BassStyle::RootFifth, 0.1),
        ],
        comping: &[
            (CompStyle::Charleston, 0.35),
            (CompStyle::Strum, 0.35),
            (CompStyle::Block, 0.3),
        ],
        drums: &[(DrumStyle::Shuffle, 0.8), (DrumStyle::JazzRide, 0.2)],
        parts: PartOdds {
            comping: 0.95,
            arpeggio: 0.1,
            pad: 0.3,
            counter: 0.35,
            drums: 0.9,
        },
        programs: Programs {
            bass: &[32, 33, 34, 43],
            comping: &[0, 2, 4, 16, 17, 25, 26, 27],
            arpeggio: &[0, 25, 26],
            pad: &[16, 17, 18, 48, 61],
            melody: &[65, 66, 22, 56, 27, 29, 0, 57],
            counter: &[61, 57, 66, 16, 56],
        },
        humanize_ms: 12.0,
        key_change: 0.05,
    },
    StyleSpec {
        style: Style::Jazz,
        bpm: (70.0, 190.0),
        meters: &[("4/4", 0.82), ("3/4", 0.13), ("5/4", 0.05)],
        feels: &[(FeelKind::Swing, 0.85), (FeelKind::Straight, 0.15)],
        modes: &[(Mode::Major, 0.6), (Mode::Minor, 0.3), (Mode::Dorian, 0.1)],
        bass: &[(BassStyle::Walking, 0.85), (BassStyle::RootFifth, 0.15)],
        comping: &[(CompStyle::Charleston, 0.7), (CompStyle::Block, 0.3)],
        drums: &[(DrumStyle::JazzRide, 1.0)],
        parts: PartOdds {
            comping: 0.95,
            arpeggio: 0.1,
            pad: 0.2,
            counter: 0.35,
            drums: 0.9,
        },
        programs: Programs {
            bass: &[32, 43, 33],
            comping: &[0, 1, 4, 11, 26, 16],
            arpeggio: &[0, 11, 26, 46],
            pad: &[48, 49, 52, 61, 89],
            melody: &[65, 66, 56, 59, 73, 71, 11, 64, 57],
            counter: &[57, 66, 61, 11, 71, 60],
        },
        humanize_ms: 12.0,
        key_change: 0.2,
    },
    StyleSpec {
        style: Style::Latin,
        bpm: (84.0, 180.0),
        meters: &[("4/4", 0.9), ("2/4", 0.1)],
        feels: &[(FeelKind::Straight, 1.0)],
        modes: &[(Mode::Major, 0.4), (Mode::Minor, 0.4), (Mode::Dorian, 0.2)],
        bass: &[(BassStyle::Tumbao, 0.55), (BassStyle::RootFifth, 0.45)],
        comping: &[(CompStyle::Bossa, 0.5), (CompStyle::Montuno, 0.5)],
        drums: &[(DrumStyle::Bossa, 0.5), (DrumStyle::Salsa, 0.5)],
        parts: PartOdds {
            comping: 1.0,
            arpeggio: 0.2,
            pad: 0.3,
            counter: 0.35,
            drums: 0.95,
        },
        programs: Programs {
            bass: &[32, 33, 43],
            comping: &[24, 0, 1, 4, 12, 11],
            arpeggio: &[24, 12, 46, 11],
            pad: &[48, 49, 52, 89, 61],
            melody: &[73, 65, 56, 71, 74, 22, 11, 40],
            counter: &[57, 61, 66, 42, 12],
        },
        humanize_ms: 8.0,
        key_change: 0.1,
    },
    StyleSpec {
        style: Style::Funk,
        bpm: (84.0, 120.0),
        meters: &[("4/4", 1.0)],
        feels: &[(FeelKind::Straight, 0.75), (FeelKind::Swing, 0.25)],
        modes: &[(Mode::Dorian, 0.45), (Mode::Mixolydian, 0.35), (Mode::Minor, 0.2)],
        bass: &[(BassStyle::Syncopated, 1.0)],
        comping: &[(CompStyle::FunkStabs, 0.8), (CompStyle::Offbeat, 0.2)],
        drums: &[(DrumStyle::Funk, 1.0)],
        parts: PartOdds {
            comping: 1.0,
            arpeggio: 0.15,
            pad: 0.35,
            counter: 0.4,
            drums: 1.0,
        },
        programs: Programs {
            bass: &[33, 36, 37, 38],
            comping: &[27, 28, 4, 5, 16, 7],
            arpeggio: &[4, 7, 11],
            pad: &[61, 62, 89, 16, 50],
            melody: &[66, 65, 56, 80, 81, 62],
            counter: &[61, 57, 66, 62],
        },
        humanize_ms: 6.0,
        key_change: 0.05,
    },
    StyleSpec {
        style: Style::Folk,
        bpm: (70.0, 140.0),
        meters: &[("4/4", 0.35), ("3/4", 0.3), ("6/8", 0.25), ("2/4", 0.07), ("7/8", 0.03)],
        feels: &[(FeelKind::Straight, 0.8), (FeelKind::Swing, 0.2)],
        modes: &[
            (Mode::Major, 0.55),
            (Mode::Minor, 0.15),
            (Mode::Dorian, 0.15),
            (Mode::Mixolydian, 0.15),
        ],
        bass: &[(BassStyle::RootFifth, 0.8), (BassStyle::Pedal, 0.2)],
        comping: &[
            (CompStyle::Strum, 0.45),
            (CompStyle::OomPah, 0.4),
            (CompStyle::Block, 0.15),
        ],
        drums: &[(DrumStyle::Folk, 1.0)],
        parts: PartOdds {
            comping: 0.95,
            arpeggio: 0.5,
            pad: 0.25,
            counter: 0.4,
            drums: 0.55,
        },
        programs: Programs {
            bass: &[32, 43, 33, 58],
            comping: &[25, 24, 21, 0, 105, 20],
            arpeggio: &[24, 25, 46, 105, 107, 15],
            pad: &[48, 49, 20, 21, 52],
            melody: &[40, 73, 74, 71, 109, 22, 75, 68, 110],
            counter: &[42, 41, 70, 71, 60, 69],
        },
        humanize_ms: 12.0,
        key_change: 0.15,
    },
    StyleSpec {
        style: Style::Electronic,
        bpm: (96.0, 140.0),
        meters: &[("4/4", 1.0)],
        feels: &[(FeelKind::Straight, 0.9), (FeelKind::Swing, 0.1)],
        modes: &[
            (Mode::Minor, 0.55),
            (Mode::Dorian, 0.2),
            (Mode::Phrygian, 0.1),
            (Mode::Major, 0.15),
        ],
        bass: &[
            (BassStyle::Offbeat, 0.35),
            (BassStyle::Pedal, 0.3),
            (BassStyle::RootEighths, 0.35),
        ],
        comping: &[(CompStyle::Offbeat, 0.5), (CompStyle::Block, 0.5)],
        drums: &[(DrumStyle::FourOnFloor, 0.8), (DrumStyle::HalfTime, 0.2)],
        parts: PartOdds {
            comping: 0.6,
            arpeggio: 0.75,
            pad: 0.8,
            counter: 0.25,
            drums: 1.0,
        },
        programs: Programs {
            bass: &[38, 39, 87, 81],
            comping: &[81, 82, 90, 4, 5],
            arpeggio: &[80, 81, 84, 98, 8, 10],
            pad: &[88, 89, 90, 91, 92, 94, 95, 50, 51],
            melody: &[80, 81, 82, 83, 84, 85, 87],
            counter: &[80, 81, 86, 90, 11],
        },
        humanize_ms: 3.0,
        key_change: 0.05,
    },
    StyleSpec {
        style: Style::Chorale,
        bpm: (60.0, 100.0),
        meters: &[("4/4", 0.7), ("3/4", 0.3)],
        feels: &[(FeelKind::Straight, 1.0)],
        modes: &[(Mode::Major, 0.55), (Mode::HarmonicMinor, 0.45)],
        bass: &[(BassStyle::Chorale, 1.0)],
        comping: &[(CompStyle::Block, 1.0)],
        drums: &[(DrumStyle::None, 1.0)],
        parts: PartOdds {
            comping: 0.5,
            arpeggio: 0.1,
            pad: 0.2,
            counter: 1.0,
            drums: 0.0,
        },
        programs: Programs {
            bass: &[42, 43, 70, 58, 57, 32, 19],
            comping: &[19, 20, 48, 49, 0, 52, 6],
            arpeggio: &[46, 6, 0],
            pad: &[48, 49, 52, 19, 20],
            melody: &[73, 68, 40, 71, 56, 60, 74, 52],
            counter: &[41, 42, 71, 70, 60, 57, 69],
        },
        humanize_ms: 10.0,
        key_change: 0.1,
    },
    StyleSpec {
        style: Style::Modal,
        bpm: (70.0, 140.0),
        meters: &[("4/4", 0.4), ("7/8", 0.2), ("5/4", 0.2), ("6/8", 0.2)],
        feels: &[(FeelKind::Straight, 1.0)],
        modes: &[
            (Mode::Dorian, 0.35),
            (Mode::Mixolydian, 0.25),
            (Mode::Lydian, 0.2),
            (Mode::Phrygian, 0.2),
        ],
        bass: &[
            (BassStyle::Pedal, 0.5),
            (BassStyle::RootEighths, 0.3),
            (BassStyle::RootFifth, 0.2),
        ],
        comping: &[(CompStyle::Block, 0.5), (CompStyle::Strum, 0.5)],
        drums: &[(DrumStyle::Odd, 1.0)],
        parts: PartOdds {
            comping: 0.85,
            arpeggio: 0.55,
            pad: 0.55,
            counter: 0.3,
            drums: 0.85,
        },
        programs: Programs {
            bass: &[33, 32, 34, 38, 43],
            comping: &[4, 0, 16, 25, 26, 11, 46],
            arpeggio: &[46, 24, 11, 12, 13, 8, 4, 80],
            pad: PADS,
            melody: &[73, 71, 56, 65, 40, 104, 74, 11, 80],
            counter: COUNTERS,
        },
        humanize_ms: 8.0,
        key_change: 0.1,
    },
];
