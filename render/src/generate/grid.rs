//! Time: meters (bars, beats, accents), feels (swing), ticks.
//!
//! Parts are written on a straight grid in MIDI ticks ([`PPQ`] per quarter
//! note); the feel (swing, shuffle) is applied afterwards to every part alike
//! by [`Feel::place`], so that all parts agree on where an off-beat falls.

use serde::Serialize;

/// MIDI ticks per quarter note.
pub const PPQ: u32 = 480;
pub const EIGHTH: u32 = PPQ / 2;
pub const SIXTEENTH: u32 = PPQ / 4;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Meter {
    pub numerator: u8,
    pub denominator: u8,
    /// Length of each counted beat in ticks: quarters in x/4, dotted
    /// quarters in 6/8 and 12/8, the 2+2+3 eighth groups of 7/8.
    pub beats: Vec<u32>,
    /// Beats that carry an accent (the first is the downbeat).
    pub accents: Vec<usize>,
}

impl Meter {
    pub fn common() -> Meter {
        Meter::new(4, 4, vec![PPQ; 4], vec![0, 2])
    }

    fn new(numerator: u8, denominator: u8, beats: Vec<u32>, accents: Vec<usize>) -> Meter {
        Meter {
            numerator,
            denominator,
            beats,
            accents,
        }
    }

    /// The meters the generator writes, by name ("4/4", "7/8", ...).
    pub fn named(name: &str) -> Option<Meter> {
        let dq = 3 * EIGHTH;
        Some(match name {
            "4/4" => Meter::common(),
            "3/4" => Meter::new(3, 4, vec![PPQ; 3], vec![0]),
            "2/4" => Meter::new(2, 4, vec![PPQ; 2], vec![0]),
            "5/4" => Meter::new(5, 4, vec![PPQ; 5], vec![0, 3]),
            "6/8" => Meter::new(6, 8, vec![dq; 2], vec![0, 1]),
            "12/8" => Meter::new(12, 8, vec![dq; 4], vec![0, 2]),
            "7/8" => Meter::new(7, 8, vec![2 * EIGHTH, 2 * EIGHTH, 3 * EIGHTH], vec![0]),
            _ => return None,
        })
    }

    pub fn name(&self) -> String {
        format!("{}/{}", self.numerator, self.denominator)
    }

    pub fn bar_ticks(&self) -> u32 {
        self.beats.iter().sum()
    }

    /// Start of each beat within the bar.
    pub fn beat_starts(&self) -> Vec<u32> {
        self.beats
            .iter()
            .scan(0, |t, b| {
                let s = *t;
                *t += b;
                Some(s)
            })
            .collect()
    }

    /// Beats made of three eighths (6/8, 12/8, the last beat of 7/8) are
    /// divided in three, others in two (or four).
    pub fn is_compound_beat(&self, beat: usize) -> bool {
        self.beats[beat] == 3 * EIGHTH
    }

    /// How strongly a position (ticks into the bar) is felt: 1 downbeat,
    /// 0.8 accented beats, 0.6 other beats, 0.4 eighths, 0.2 finer.
    pub fn strength(&self, offset: u32) -> f32 {
        let mut start = 0;
        for (i, &len) in self.beats.iter().enumerate() {
            if offset == start {
                return if i == 0 {
                    1.0
                } else if self.accents.contains(&i) {
                    0.8
                } else {
                    0.6
                };
            }
            if offset < start + len {
                return if (offset - start).is_multiple_of(EIGHTH) {
                    0.4
                } else {
                    0.2
                };
            }
            start += len;
        }
        0.2
    }

    /// Seconds of one beat (the first) at `qpm` quarter notes per minute.
    pub fn beat_seconds(&self, qpm: f64) -> f64 {
        self.beats[0] as f64 / PPQ as f64 * 60.0 / qpm
    }

    /// Quarter notes per minute for `bpm` beats per minute (of the first beat's length).
    pub fn qpm_of_bpm(&self, bpm: f64) -> f64 {
        bpm * self.beats[0] as f64 / PPQ as f64
    }
}

/// How off-beat eighths are played.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Feel {
    Straight,
    /// The second eighth of each quarter starts at `ratio` of the beat
    /// (0.5 = straight, 2/3 = triplet swing).
    Swing {
        ratio: f64,
    },
    /// Hard triplet swing, the blues shuffle.
    Shuffle,
}

impl Feel {
    pub fn name(&self) -> &'static str {
        match self {
            Feel::Straight => "straight",
            Feel::Swing { .. } => "swing",
            Feel::Shuffle => "shuffle",
        }
    }

    fn ratio(&self) -> f64 {
        match self {
            Feel::Straight => 0.5,
            Feel::Swing { ratio } => *ratio,
            Feel::Shuffle => 2.0 / 3.0,
        }
    }

    /// Where a straight-grid tick is played: within each quarter-note beat
    /// the first half stretches to `ratio` of the beat and the second half
    /// shrinks to the rest (piecewise linear, so sixteenths move with their
    /// eighth and beats stay put). Beats of three eighths are not swung.
    pub fn place(&self, tick: u32, meter: &Meter) -> f64 {
        let r = self.ratio();
        if r == 0.5 {
            return tick as f64;
        }
        let bar = meter.bar_ticks();
        let (bar_start, mut offset) = (tick - tick % bar, tick % bar);
        let mut beat_start = bar_start;
        for &len in &meter.beats {
            if offset < len {
                if len != PPQ {
                    return tick as f64;
                }
                let half = PPQ as f64 / 2.0;
                let o = offset as f64;
                let placed = if o < half {
                    o / half * r * PPQ as f64
                } else {
                    r * PPQ as f64 + (o - half) / half * (1.0 - r) * PPQ as f64
                };
                return beat_start as f64 + placed;
            }
            offset -= len;
            beat_start += len;
        }
        tick as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meters_have_consistent_bars() {
        for (name, ticks) in [
            ("4/4", 1920),
            ("3/4", 1440),
            ("6/8", 1440),
            ("7/8", 1680),
            ("5/4", 2400),
            ("12/8", 2880),
        ] {
            let m = Meter::named(name).unwrap();
            assert_eq!(m.bar_ticks(), ticks, "{name}");
            assert_eq!(m.name(), name);
        }
        let m = Meter::named("7/8").unwrap();
        assert_eq!(m.beat_starts(), [0, 480, 960]);
        assert_eq!(m.strength(0), 1.0);
        assert_eq!(m.strength(480), 0.6);
        assert_eq!(m.strength(1200), 0.4);
        let six = Meter::named("6/8").unwrap();
        assert!((six.beat_seconds(120.0) - 0.75).abs() < 1e-9);
        assert!((six.qpm_of_bpm(80.0) - 120.0).abs() < 1e-9);
    }

    #[test]
    fn swing_moves_offbeats_only() {
        let m = Meter::common();
        let s = Feel::Shuffle;
        assert_eq!(s.place(0, &m), 0.0);
        assert_eq!(s.place(480, &m), 480.0);
        assert!((s.place(240, &m) - 320.0).abs() < 1e-9);
        assert!((s.place(1920 + 720, &m) - (1920.0 + 800.0)).abs() < 1e-9);
        assert_eq!(Feel::Straight.place(240, &m), 240.0);
        // Compound beats stay straight.
        let six = Meter::named("6/8").unwrap();
        assert_eq!(s.place(240, &six), 240.0);
    }
}
