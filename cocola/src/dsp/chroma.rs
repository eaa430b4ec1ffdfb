//! The pitch-class profile (chroma) of a stretch of audio: how much of its
//! tonal energy falls on each of the twelve pitch classes, C to B.
//!
//! Log-compressed STFT magnitudes (`ln(1 + 100 a)` of each bin's amplitude
//! `a`, scaled so that a sine of amplitude A reads A / 2 in its bin: the
//! compression keeps quiet partials from vanishing under loud ones) of the bins between 55 Hz and
//! 5 kHz are summed into the pitch class nearest to each bin's centre
//! frequency; bins lying between two semitones (more than 0.4 semitone from
//! either) are left out, as they hold leakage rather than notes. Summed over
//! all frames, the profile of a chord progression is the key's scale, which
//! transposing moves to other classes: the cosine between two profiles is the
//! model-free floor's test of "in the same key".

use super::stft::{magnitude, Stft};
use crate::contract::SAMPLE_RATE;

/// 256 ms at 16 kHz: 3.9 Hz bins, about a semitone at 65 Hz.
const N_FFT: usize = 4096;
const HOP: usize = 1024;
const F_LOW: f32 = 55.0;
const F_HIGH: f32 = 5_000.0;
/// C0 in Hz (A4 = 440 Hz, equal temperament).
const C0: f32 = 16.351_598;
const MAX_DEVIATION_SEMITONES: f32 = 0.4;
const COMPRESSION: f32 = 100.0;

/// Twelve pitch-class weights, C first.
pub type Chroma = [f32; 12];

/// Computes chroma profiles; keeps its FFT plan between calls.
pub struct ChromaAnalyzer {
    stft: Stft,
    /// (bin, pitch class) of every bin that counts.
    bins: Vec<(usize, usize)>,
}

impl Default for ChromaAnalyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl ChromaAnalyzer {
    pub fn new() -> Self {
        let stft = Stft::new(N_FFT, HOP);
        let bin_hz = SAMPLE_RATE as f32 / N_FFT as f32;
        let bins = (1..stft.n_bins())
            .filter_map(|k| {
                let f = k as f32 * bin_hz;
                if !(F_LOW..=F_HIGH).contains(&f) {
                    return None;
                }
                let (class, deviation) = pitch_class(f);
                (deviation.abs() <= MAX_DEVIATION_SEMITONES).then_some((k, class))
            })
            .collect();
        Self { stft, bins }
    }

    /// The chroma of 16 kHz mono `signal`, summed over its frames.
    pub fn chroma(&mut self, signal: &[f32]) -> Chroma {
        let spec = self.stft.forward(signal);
        // The Hann window sums to N / 2: a sine of amplitude A peaks at A N / 4,
        // which 2 / N brings to A / 2.
        let to_amplitude = COMPRESSION * 2.0 / N_FFT as f32;
        let mut profile = [0.0f32; 12];
        for t in 0..spec.frames {
            let frame = spec.frame(t);
            for &(k, class) in &self.bins {
                profile[class] += (1.0 + to_amplitude * magnitude(frame[k])).ln();
            }
        }
        profile
    }
}

/// The pitch class (0 = C) nearest to `hz` in equal temperament (A4 =
/// 440 Hz), and how many semitones `hz` lies from it (-0.5..=0.5).
pub fn pitch_class(hz: f32) -> (usize, f32) {
    let semitones = 12.0 * (hz / C0).log2();
    let nearest = semitones.round();
    ((nearest as i64).rem_euclid(12) as usize, semitones - nearest)
}

/// Cosine similarity of two profiles; 0 when either is all zero.
pub fn cosine(a: &Chroma, b: &Chroma) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na > 0.0 && nb > 0.0 {
        dot / (na * nb)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::test_signals::sine;

    fn argmax(c: &Chroma) -> usize {
        (0..12).max_by(|&a, &b| c[a].total_cmp(&c[b])).unwrap()
    }

    #[test]
    fn a_tone_lands_on_its_pitch_class() {
        let mut analyzer = ChromaAnalyzer::new();
        // A4 = 440 Hz is class 9; C4 is class 0; F#2 (92.5 Hz) is class 6.
        for (freq, class) in [(440.0, 9), (261.63, 0), (92.5, 6), (1_975.5, 11)] {
            let c = analyzer.chroma(&sine(freq, 0.3, 16_000));
            assert_eq!(argmax(&c), class, "{freq} Hz: {c:?}");
        }
    }

    #[test]
    fn a_chord_and_its_transposition_differ() {
        let mut analyzer = ChromaAnalyzer::new();
        let chord = |root: f32| {
            let mut x = vec![0.0; 16_000];
            for ratio in [1.0, 1.259_921, 1.498_307] {
                for (a, b) in x.iter_mut().zip(sine(root * ratio, 0.2, 16_000)) {
                    *a += b;
                }
            }
            x
        };
        let c_major = analyzer.chroma(&chord(261.63));
        let again = analyzer.chroma(&chord(261.63 * 1.000_5));
        let d_major = analyzer.chroma(&chord(293.66));
        assert!(cosine(&c_major, &again) > 0.99);
        assert!(cosine(&c_major, &d_major) < 0.7, "{}", cosine(&c_major, &d_major));
    }

    #[test]
    fn silence_has_no_profile() {
        let c = ChromaAnalyzer::new().chroma(&[0.0; 8_000]);
        assert_eq!(c, [0.0; 12]);
        assert_eq!(cosine(&c, &c), 0.0);
    }
}
