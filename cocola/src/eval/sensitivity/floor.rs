//! The model-free floor: what a few lines of signal processing decide on the
//! same comparisons, so that a model's win rates can be read against it.
//!
//! - transposed: chroma cosine with the condition (the true key shares pitch
//!   classes with the condition, a transposition mostly does not);
//! - shifted: correlation of onset envelopes with the condition (the true
//!   stem's note starts line up with the condition's, a delayed one's not);
//! - foreign and anything else: the sum of both.

use serde::Serialize;

use crate::dsp::chroma::{self, Chroma, ChromaAnalyzer};
use crate::dsp::onset::{self, OnsetAnalyzer};

/// The kinds of negatives the sensitivity test compares a true stem with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NegativeKind {
    /// The stem transposed by a few semitones: out of key.
    Transposed,
    /// The stem delayed off the beat grid: out of time.
    Shifted,
    /// A stem of another track.
    Foreign,
}

impl NegativeKind {
    pub const ALL: [NegativeKind; 3] = [NegativeKind::Transposed, NegativeKind::Shifted, NegativeKind::Foreign];

    pub fn name(self) -> &'static str {
        match self {
            NegativeKind::Transposed => "transposed",
            NegativeKind::Shifted => "shifted",
            NegativeKind::Foreign => "foreign",
        }
    }

    /// The floor a kind named `name` is judged by (pair sets name their own
    /// kinds): names starting with `transpos` or `pitch` compare chroma,
    /// `shift`, `offbeat`, `off-beat` or `delay` onsets, anything else both.
    pub fn floor_for(name: &str) -> NegativeKind {
        let name = name.to_ascii_lowercase();
        if name.starts_with("transpos") || name.starts_with("pitch") {
            NegativeKind::Transposed
        } else if ["shift", "offbeat", "off-beat", "delay"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            NegativeKind::Shifted
        } else {
            NegativeKind::Foreign
        }
    }

    /// What the floor measures for this kind, for reports.
    pub fn floor_measure(self) -> &'static str {
        match self {
            NegativeKind::Transposed => "chroma cosine",
            NegativeKind::Shifted => "onset correlation",
            NegativeKind::Foreign => "chroma cosine + onset correlation",
        }
    }
}

/// What the floor knows of a window.
#[derive(Clone, Debug, PartialEq)]
pub struct Descriptors {
    pub chroma: Chroma,
    pub onsets: Vec<f32>,
}

/// Describes windows; one per thread (it keeps FFT plans).
#[derive(Default)]
pub struct FloorAnalyzer {
    chroma: ChromaAnalyzer,
    onsets: OnsetAnalyzer,
}

impl FloorAnalyzer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn describe(&mut self, window: &[f32]) -> Descriptors {
        Descriptors {
            chroma: self.chroma.chroma(window),
            onsets: self.onsets.envelope(window),
        }
    }
}

/// The floor's score of `stem` against `condition` when judging `kind`:
/// higher means "fits better".
pub fn floor_score(kind: NegativeKind, condition: &Descriptors, stem: &Descriptors) -> f64 {
    let harmonic = || f64::from(chroma::cosine(&condition.chroma, &stem.chroma));
    let rhythmic = || f64::from(onset::correlation(&condition.onsets, &stem.onsets));
    match kind {
        NegativeKind::Transposed => harmonic(),
        NegativeKind::Shifted => rhythmic(),
        NegativeKind::Foreign => harmonic() + rhythmic(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::SAMPLE_RATE;
    use crate::perturb;

    /// Additive tone of `freq` (3 harmonics), `seconds` long, with a decay.
    fn note(freq: f32, seconds: f32, amp: f32) -> Vec<f32> {
        let n = (seconds * SAMPLE_RATE as f32) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / SAMPLE_RATE as f32;
                let env = (-3.0 * t).exp() * (1.0 - (-200.0 * t).exp());
                (1..=3)
                    .map(|h| (2.0 * std::f32::consts::PI * freq * h as f32 * t).sin() / h as f32)
                    .sum::<f32>()
                    * env
                    * amp
            })
            .collect()
    }

    fn midi_hz(m: f32) -> f32 {
        440.0 * 2f32.powf((m - 69.0) / 12.0)
    }

    /// A I-vi-IV-V progression in C (one chord per half-note at 120 BPM,
    /// 5 s), and a bass/arpeggio line playing chord tones in eighths.
    fn progression() -> (Vec<f32>, Vec<f32>) {
        let chords: [[f32; 3]; 4] = [
            [60.0, 64.0, 67.0],
            [57.0, 60.0, 64.0],
            [53.0, 57.0, 60.0],
            [55.0, 59.0, 62.0],
        ];
        let len = 5 * SAMPLE_RATE as usize;
        let (mut pad, mut line) = (vec![0.0f32; len], vec![0.0f32; len]);
        let half = SAMPLE_RATE as usize; // 1 s per chord at 120 BPM (2 beats)
        for i in 0..5 {
            let chord = chords[i % 4];
            for &m in &chord {
                for (k, s) in note(midi_hz(m), 1.0, 0.15).into_iter().enumerate() {
                    if i * half + k < len {
                        pad[i * half + k] += s;
                    }
                }
            }
            for e in 0..4 {
                let m = chord[e % 3] - 12.0;
                let at = i * half + e * half / 4;
                for (k, s) in note(midi_hz(m), 0.25, 0.3).into_iter().enumerate() {
                    if at + k < len {
                        line[at + k] += s;
                    }
                }
            }
        }
        (pad, line)
    }

    #[test]
    fn the_floor_prefers_the_original_over_its_transpositions_and_shifts() {
        let (pad, line) = progression();
        let mut analyzer = FloorAnalyzer::new();
        let condition = analyzer.describe(&pad);
        let truth = analyzer.describe(&line);
        for k in [-6.0, -5.0, -3.0, -1.0, 1.0, 2.0, 4.0, 6.0] {
            let transposed = analyzer.describe(&perturb::pitch_shift(&line, k));
            let (t, n) = (
                floor_score(NegativeKind::Transposed, &condition, &truth),
                floor_score(NegativeKind::Transposed, &condition, &transposed),
            );
            assert!(t > n, "k = {k}: original {t:.3} vs transposed {n:.3}");
        }
        // Delays off the eighth-note grid (an eighth is 0.25 s here).
        for delay in [0.125, 0.375, 0.6] {
            let d = (delay * SAMPLE_RATE as f32) as isize;
            let shifted = analyzer.describe(&perturb::delayed_window(&line, 0, line.len(), d));
            let (t, n) = (
                floor_score(NegativeKind::Shifted, &condition, &truth),
                floor_score(NegativeKind::Shifted, &condition, &shifted),
            );
            assert!(t > n, "delay {delay} s: original {t:.3} vs shifted {n:.3}");
        }
    }

    #[test]
    fn kinds_named_by_users_map_to_a_floor() {
        assert_eq!(NegativeKind::floor_for("Transposed+3"), NegativeKind::Transposed);
        assert_eq!(NegativeKind::floor_for("pitch"), NegativeKind::Transposed);
        assert_eq!(NegativeKind::floor_for("shifted"), NegativeKind::Shifted);
        assert_eq!(NegativeKind::floor_for("off-beat"), NegativeKind::Shifted);
        assert_eq!(NegativeKind::floor_for("random"), NegativeKind::Foreign);
    }
}
