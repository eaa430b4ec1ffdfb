//! Hard negatives: a pair's positive made incoherent on purpose, so that the
//! contrastive loss has to learn key and groove, not only "same song".
//!
//! The paper contrasts a sub-mix only with sub-mixes of other windows, which
//! usually differ in everything (key, tempo, instruments); a model can win
//! that game by recognising the piece. A hard negative is the positive
//! itself, changed in one musical respect, from the shared perturbations of
//! `cocola::perturb` (the same the sensitivity test measures with):
//!
//! - **transposed** +-1..6 semitones: only the positive's pitched stems are
//!   transposed (drums have no key; transposing them would teach timbre);
//! - **shifted** off the beat grid: delayed by an odd multiple of half a
//!   sixteenth of the beat measured on the pair's audio, 0.2-0.7 s;
//! - **stretched** 3-6 % faster or slower from the window's start: the
//!   downbeat stays, the groove drifts off the condition's.
//!
//! The kind follows the pair's channel mask: the harmonic channel must
//! reject transpositions, the percussive channel shifts and stretches (a
//! transposed drum part is the same groove), both channels all three. Among
//! the kinds a mask allows, [`KindWeights`] say how often each is drawn
//! (equal by default).
//!
//! A transposition made by a pitch shifter also carries the shifter's
//! artefacts (a phase vocoder smears transients and phases), and a model
//! learns to hear those instead of the key: every default model trained on
//! plain transposed negatives prefers a transposed stem to the same stem
//! shifted there and back into its own key (`tools/eval/shifter_check.py`).
//! With **matched processing** both sides of a transposition pass through
//! the shifter twice, by `k` then `j` semitones: the positive with
//! `j = -k` (back in key), the negative with another `j` (out of key by
//! `k + j`, never a whole number of octaves). Only the key then tells them
//! apart.
//!
//! A track rendered with **transposed twins** (`cocola-render
//! --transposed-twins`: its pitched stems played again by the same
//! instruments in another key) needs no shifter at all: its transposed
//! negative is the twins of the positive's pitched stems (with its drums),
//! exact and against the clean positive, whenever every one of them has a
//! twin. A [`Transposing::twin_share`] below 1 sends the rest of a twinned
//! track's transpositions through the shifter after all: a model that only
//! ever met exact twins hears any shifter's artefacts as a clash, and ranks
//! shifter-made transpositions (the sensitivity test's) far worse than exact
//! ones (0.11.0 on validation: 90.4 % against exact twins, 79.0 % against
//! the shifter).

use cocola::contract::WINDOW_SAMPLES;
use cocola::dsp::onset::OnsetAnalyzer;
use cocola::mode::Mode;
use cocola::perturb::{self, CONTEXT};
use cocola::seeded::{below, unit};
use rand_chacha::ChaCha12Rng;

use super::store::TrackStore;
use super::weights;

/// What was done to the positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HardNegativeKind {
    Transposed,
    Shifted,
    Stretched,
}

impl HardNegativeKind {
    /// The kind's name, as configs and metrics write it.
    pub const fn name(self) -> &'static str {
        match self {
            HardNegativeKind::Transposed => "transposed",
            HardNegativeKind::Shifted => "shifted",
            HardNegativeKind::Stretched => "stretched",
        }
    }
}

/// Relative draw weights of the kinds, among those a mask allows: under the
/// *both* mask, `transposed=2` makes half the hard negatives transpositions
/// instead of a third; a weight of 0 never draws that kind. Written and read
/// as `transposed=W,shifted=W,stretched=W` (a kind left out keeps 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KindWeights {
    pub transposed: u32,
    pub shifted: u32,
    pub stretched: u32,
}

impl Default for KindWeights {
    fn default() -> KindWeights {
        KindWeights {
            transposed: 1,
            shifted: 1,
            stretched: 1,
        }
    }
}

impl KindWeights {
    const NAMES: [&'static str; 3] = [
        HardNegativeKind::Transposed.name(),
        HardNegativeKind::Shifted.name(),
        HardNegativeKind::Stretched.name(),
    ];

    pub fn of(&self, kind: HardNegativeKind) -> u32 {
        match kind {
            HardNegativeKind::Transposed => self.transposed,
            HardNegativeKind::Shifted => self.shifted,
            HardNegativeKind::Stretched => self.stretched,
        }
    }

    /// One of `kinds` (non-empty, every weight above 0).
    fn draw(&self, kinds: &[HardNegativeKind], rng: &mut ChaCha12Rng) -> HardNegativeKind {
        let weights: Vec<u32> = kinds.iter().map(|&k| self.of(k)).collect();
        kinds[weights::draw(&weights, rng)]
    }
}

impl std::fmt::Display for KindWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let values = [self.transposed, self.shifted, self.stretched];
        f.write_str(&weights::format(&Self::NAMES, &values))
    }
}

impl std::str::FromStr for KindWeights {
    type Err = String;

    fn from_str(text: &str) -> Result<KindWeights, String> {
        let w = weights::parse(text, &Self::NAMES, "kind")?;
        Ok(KindWeights {
            transposed: w[0],
            shifted: w[1],
            stretched: w[2],
        })
    }
}

/// How transposed hard negatives are made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transposing {
    /// Both sides through the shifter twice, the positive back into key.
    pub matched_processing: bool,
    /// Share (0-1) of the transpositions of a track with twins taken from
    /// the twins; the others go through the shifter like a track without.
    pub twin_share: f64,
}

impl Default for Transposing {
    fn default() -> Transposing {
        Transposing {
            matched_processing: false,
            twin_share: all_twins(),
        }
    }
}

/// The default twin share: every transposition of a twinned track from its
/// twins (also what configs written before the setting mean).
pub fn all_twins() -> f64 {
    1.0
}

/// A hard negative and how it was made.
#[derive(Clone, Debug, PartialEq)]
pub struct HardNegative {
    pub kind: HardNegativeKind,
    /// Semitones, delay in samples, or stretch rate x 1000, by kind.
    pub amount: i64,
    /// 5 s of audio, noise added like the positive's.
    pub audio: Vec<f32>,
    /// The positive re-made with the same processing as the negative, in
    /// key, to be trained on instead of the clean one (matched processing
    /// only; no noise added yet).
    pub positive: Option<Vec<f32>>,
}

/// Kinds that make sense under a channel mask: the ones a model scoring
/// in that mode should reject.
pub fn kinds_for(mask: Mode) -> &'static [HardNegativeKind] {
    use HardNegativeKind::*;
    match mask {
        Mode::Harmonic => &[Transposed],
        Mode::Percussive => &[Shifted, Stretched],
        Mode::Both => &[Transposed, Shifted, Stretched],
    }
}

/// The positive of a pair: where it is, what it sounds like.
pub struct Positive<'a> {
    pub track: usize,
    pub start: usize,
    pub stems: &'a [usize],
    /// The anchor and the positive, clean: what the beat is measured on.
    pub context_audio: &'a [f32],
}

/// The transposition of the twins of `pitched` stems of `track`, when every
/// one has a twin and all by the same amount (`None`: transpose with the
/// shifter).
fn twin_transposition(store: &dyn TrackStore, track: usize, pitched: &[usize]) -> Option<i32> {
    let mut amounts = pitched.iter().map(|&s| store.twin(track, s));
    let first = amounts.next()??;
    amounts.all(|k| k == Some(first)).then_some(first)
}

/// A hard negative of `positive` under `mask`, drawn from `rng` with the
/// kinds' `weights`; `None` when no kind the mask allows applies (drums only
/// cannot be transposed) or has a weight above 0. With matched processing
/// (`transposing`) a shifter's transposition also brings the positive,
/// shifted there and back.
pub fn make(
    store: &dyn TrackStore,
    positive: &Positive<'_>,
    mask: Mode,
    weights: &KindWeights,
    transposing: &Transposing,
    rng: &mut ChaCha12Rng,
    onsets: &mut OnsetAnalyzer,
) -> std::io::Result<Option<HardNegative>> {
    let pitched: Vec<usize> = positive
        .stems
        .iter()
        .copied()
        .filter(|&s| !store.unpitched(positive.track, s))
        .collect();
    let allowed: Vec<HardNegativeKind> = kinds_for(mask)
        .iter()
        .copied()
        .filter(|&k| k != HardNegativeKind::Transposed || !pitched.is_empty())
        .filter(|&k| weights.of(k) > 0)
        .collect();
    if allowed.is_empty() {
        return Ok(None);
    }
    let kind = weights.draw(&allowed, rng);
    let read = |stem: usize, from: isize, len: usize| store.read_padded(positive.track, stem, from, len);
    let sum = |stems: &[usize], from: isize, len: usize| -> std::io::Result<Vec<f32>> {
        let mut out = vec![0.0f32; len];
        for &s in stems {
            for (o, x) in out.iter_mut().zip(read(s, from, len)?) {
                *o += x;
            }
        }
        Ok(out)
    };
    let start = positive.start as isize;
    Ok(Some(match kind {
        HardNegativeKind::Transposed => {
            let unpitched: Vec<usize> = positive
                .stems
                .iter()
                .copied()
                .filter(|s| !pitched.contains(s))
                .collect();
            let drums = sum(&unpitched, start, WINDOW_SAMPLES)?;
            let with_drums = |mut audio: Vec<f32>| {
                for (o, x) in audio.iter_mut().zip(&drums) {
                    *o += x;
                }
                audio
            };
            // Drawn only below a share of 1, so runs on twins alone keep their draws.
            let from_twins =
                |rng: &mut ChaCha12Rng| transposing.twin_share >= 1.0 || unit(rng) < transposing.twin_share;
            if let Some(semitones) = twin_transposition(store, positive.track, &pitched).filter(|_| from_twins(rng)) {
                let mut audio = drums.clone();
                for &s in &pitched {
                    store.add_twin(positive.track, s, positive.start, &mut audio)?;
                }
                return Ok(Some(HardNegative {
                    kind,
                    amount: i64::from(semitones),
                    audio,
                    positive: None,
                }));
            }
            let semitones = draw_semitones(rng);
            if transposing.matched_processing {
                let second = loop {
                    let j = draw_semitones(rng);
                    if (semitones + j).rem_euclid(12) != 0 {
                        break j;
                    }
                };
                // Both passes read context around the window.
                let source = sum(&pitched, start - 2 * CONTEXT as isize, WINDOW_SAMPLES + 4 * CONTEXT)?;
                let [negative, in_key]: [Vec<f32>; 2] = perturb::transposed_twice_windows(
                    &source,
                    2 * CONTEXT,
                    WINDOW_SAMPLES,
                    semitones as f64,
                    &[second as f64, -semitones as f64],
                )
                .try_into()
                .expect("one window per second pass");
                HardNegative {
                    kind,
                    amount: semitones + second,
                    audio: with_drums(negative),
                    positive: Some(with_drums(in_key)),
                }
            } else {
                let source = sum(&pitched, start - CONTEXT as isize, WINDOW_SAMPLES + 2 * CONTEXT)?;
                let transposed = perturb::transposed_window(&source, CONTEXT, WINDOW_SAMPLES, semitones as f64);
                HardNegative {
                    kind,
                    amount: semitones,
                    audio: with_drums(transposed),
                    positive: None,
                }
            }
        }
        HardNegativeKind::Shifted => {
            let (delay, _) = perturb::off_beat_delay(onsets, positive.context_audio, unit(rng));
            HardNegative {
                kind,
                amount: delay as i64,
                audio: sum(positive.stems, start - delay as isize, WINDOW_SAMPLES)?,
                positive: None,
            }
        }
        HardNegativeKind::Stretched => {
            let percent = 3.0 + 3.0 * unit(rng);
            let rate = 1.0 + if below(rng, 2) == 0 { -percent } else { percent } / 100.0;
            let source_len = (WINDOW_SAMPLES as f64 * rate).ceil() as usize + CONTEXT;
            let source = sum(positive.stems, start, source_len)?;
            HardNegative {
                kind,
                amount: (rate * 1000.0).round() as i64,
                audio: perturb::stretched_window(&source, 0, WINDOW_SAMPLES, rate),
                positive: None,
            }
        }
    }))
}

/// +-1..6 semitones, each equally likely.
fn draw_semitones(rng: &mut ChaCha12Rng) -> i64 {
    i64::from(perturb::draw_transposition(rng, 6))
}

#[cfg(test)]
mod tests;
