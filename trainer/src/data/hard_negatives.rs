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
    const NAMES: [&'static str; 3] = ["transposed", "shifted", "stretched"];

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
            twin_share: 1.0,
        }
    }
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
mod tests {
    use super::*;
    use crate::data::store::MemoryStore;
    use cocola::seeded::stream;

    /// A store whose stem 1 is unpitched (named like drums).
    struct Flagged(MemoryStore);

    impl TrackStore for Flagged {
        fn track_count(&self) -> usize {
            self.0.track_count()
        }
        fn stems(&self, track: usize) -> usize {
            self.0.stems(track)
        }
        fn len(&self, track: usize) -> usize {
            self.0.len(track)
        }
        fn add_stem(&self, track: usize, stem: usize, start: usize, out: &mut [f32]) -> std::io::Result<()> {
            self.0.add_stem(track, stem, start, out)
        }
        fn unpitched(&self, _track: usize, stem: usize) -> bool {
            stem == 1
        }
    }

    fn tone(f: f32) -> Vec<f32> {
        (0..10 * 16_000)
            .map(|i| 0.2 * (i as f32 * f * std::f32::consts::TAU / 16_000.0).sin())
            .collect()
    }

    fn store() -> Flagged {
        Flagged(MemoryStore {
            tracks: vec![vec![tone(220.0), tone(3_000.0)]],
        })
    }

    /// [`store`] whose stems have the given twins, `semitones` away.
    struct Twinned {
        inner: Flagged,
        semitones: i32,
        twins: Vec<Option<Vec<f32>>>,
    }

    impl TrackStore for Twinned {
        fn track_count(&self) -> usize {
            self.inner.track_count()
        }
        fn stems(&self, track: usize) -> usize {
            self.inner.stems(track)
        }
        fn len(&self, track: usize) -> usize {
            self.inner.len(track)
        }
        fn add_stem(&self, track: usize, stem: usize, start: usize, out: &mut [f32]) -> std::io::Result<()> {
            self.inner.add_stem(track, stem, start, out)
        }
        fn unpitched(&self, track: usize, stem: usize) -> bool {
            self.inner.unpitched(track, stem)
        }
        fn twin(&self, _track: usize, stem: usize) -> Option<i32> {
            self.twins[stem].as_ref().map(|_| self.semitones)
        }
        fn add_twin(&self, _track: usize, stem: usize, start: usize, out: &mut [f32]) -> std::io::Result<()> {
            let twin = self.twins[stem].as_ref().expect("asked only for twins it has");
            for (o, x) in out.iter_mut().zip(&twin[start..]) {
                *o += x;
            }
            Ok(())
        }
    }

    #[test]
    fn a_track_with_twins_is_transposed_by_them_exactly_against_the_clean_positive() {
        let up = tone(220.0 * 2f32.powf(3.0 / 12.0));
        let drums = tone(3_000.0);
        let context = vec![0.0f32; WINDOW_SAMPLES];
        let positive = Positive {
            track: 0,
            start: 16_000,
            stems: &[0, 1],
            context_audio: &context,
        };
        let draw_shared = |s: &Twinned, seed: u64, matched: bool, twin_share: f64| {
            let mut rng = stream(b"test", &[&seed.to_le_bytes()]);
            let weights = KindWeights::default();
            let transposing = Transposing {
                matched_processing: matched,
                twin_share,
            };
            make(
                s,
                &positive,
                Mode::Harmonic,
                &weights,
                &transposing,
                &mut rng,
                &mut OnsetAnalyzer::new(),
            )
            .unwrap()
            .unwrap()
        };
        let draw = |s: &Twinned, seed: u64, matched: bool| draw_shared(s, seed, matched, 1.0);
        let twinned = Twinned {
            inner: store(),
            semitones: 3,
            twins: vec![Some(up.clone()), None],
        };
        let expected: Vec<f32> = (16_000..16_000 + WINDOW_SAMPLES).map(|i| up[i] + drums[i]).collect();
        for (seed, matched) in [(0, false), (1, false), (2, true), (3, true)] {
            let h = draw(&twinned, seed, matched);
            assert_eq!((h.kind, h.amount), (HardNegativeKind::Transposed, 3));
            assert!(h.positive.is_none(), "the positive stays clean");
            assert_eq!(h.audio, expected, "the twins and the drums, untouched");
        }
        // A twin share below 1: the rest through the shifter, matched.
        let from_twins = |share: f64| {
            (0..40)
                .filter(|&seed| {
                    let h = draw_shared(&twinned, seed, true, share);
                    assert_eq!(
                        h.positive.is_none(),
                        h.audio == expected,
                        "only the shifter's bring a positive"
                    );
                    h.audio == expected
                })
                .count()
        };
        assert_eq!(from_twins(0.0), 0);
        assert!((10..=30).contains(&from_twins(0.5)), "{}", from_twins(0.5));
        assert_eq!(from_twins(1.0), 40);
        // A pitched stem without a twin: the shifter, as before.
        let untwinned = Twinned {
            twins: vec![None, Some(up.clone())],
            ..twinned
        };
        for seed in 0..4 {
            let h = draw(&untwinned, seed, false);
            assert_ne!(h.audio, expected);
            assert!((1..=6).contains(&h.amount.unsigned_abs()));
        }
    }

    fn negative(mask: Mode, stems: &[usize], seed: u64) -> Option<HardNegative> {
        weighted(mask, stems, seed, &KindWeights::default())
    }

    fn weighted(mask: Mode, stems: &[usize], seed: u64, weights: &KindWeights) -> Option<HardNegative> {
        let s = store();
        let context = vec![0.0f32; WINDOW_SAMPLES];
        let positive = Positive {
            track: 0,
            start: 16_000,
            stems,
            context_audio: &context,
        };
        let mut rng = stream(b"test", &[&seed.to_le_bytes()]);
        make(
            &s,
            &positive,
            mask,
            weights,
            &Transposing::default(),
            &mut rng,
            &mut OnsetAnalyzer::new(),
        )
        .unwrap()
    }

    #[test]
    fn weights_set_the_mix_of_kinds_and_zero_never_draws() {
        let count = |weights: &KindWeights| {
            let mut n = [0usize; 3];
            for seed in 0..300 {
                match weighted(Mode::Both, &[0, 1], seed, weights).unwrap().kind {
                    HardNegativeKind::Transposed => n[0] += 1,
                    HardNegativeKind::Shifted => n[1] += 1,
                    HardNegativeKind::Stretched => n[2] += 1,
                }
            }
            n
        };
        let equal = count(&KindWeights::default());
        assert!(equal.iter().all(|&c| (70..=130).contains(&c)), "{equal:?}");
        let heavy: KindWeights = "transposed=4".parse().unwrap();
        let n = count(&heavy);
        assert!((170..=230).contains(&n[0]), "4 of 6 expected: {n:?}");
        let no_stretch: KindWeights = "stretched=0".parse().unwrap();
        assert_eq!(count(&no_stretch)[2], 0);
        // A mask whose only kind weighs 0 has no hard negative to offer.
        let no_transposition: KindWeights = "transposed=0".parse().unwrap();
        assert!(weighted(Mode::Harmonic, &[0, 1], 0, &no_transposition).is_none());
    }

    #[test]
    fn equal_weights_of_any_size_draw_alike() {
        // So the default draws as the unweighted choice before weights did.
        let threes: KindWeights = "transposed=3,shifted=3,stretched=3".parse().unwrap();
        for seed in 0..30 {
            assert_eq!(
                negative(Mode::Both, &[0, 1], seed),
                weighted(Mode::Both, &[0, 1], seed, &threes)
            );
        }
    }

    #[test]
    fn weights_parse_name_by_name_and_refuse_nonsense() {
        let w: KindWeights = "transposed=2, stretched=0".parse().unwrap();
        assert_eq!(
            w,
            KindWeights {
                transposed: 2,
                shifted: 1,
                stretched: 0
            }
        );
        assert_eq!(w.to_string().parse::<KindWeights>().unwrap(), w);
        for bad in [
            "transposed",
            "pitch=2",
            "shifted=-1",
            "transposed=0,shifted=0,stretched=0",
        ] {
            assert!(bad.parse::<KindWeights>().is_err(), "{bad}");
        }
    }

    #[test]
    fn kinds_follow_the_mask_and_drums_alone_are_never_transposed() {
        for seed in 0..20 {
            let h = negative(Mode::Harmonic, &[0, 1], seed).unwrap();
            assert_eq!(h.kind, HardNegativeKind::Transposed);
            assert!((1..=6).contains(&h.amount.unsigned_abs()));
            assert_eq!(h.audio.len(), WINDOW_SAMPLES);
            let p = negative(Mode::Percussive, &[0, 1], seed).unwrap();
            assert_ne!(p.kind, HardNegativeKind::Transposed);
            // Drums alone cannot be transposed: harmonic mode has nothing to offer.
            assert!(negative(Mode::Harmonic, &[1], seed).is_none());
            assert_ne!(
                negative(Mode::Both, &[1], seed).unwrap().kind,
                HardNegativeKind::Transposed
            );
        }
    }

    /// The frequency of a near-pure tone, from its zero crossings.
    fn tone_hz(audio: &[f32]) -> f64 {
        let crossings = audio.windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count();
        crossings as f64 / 2.0 / (audio.len() as f64 / 16_000.0)
    }

    #[test]
    fn matched_processing_shifts_both_sides_twice_and_only_the_negative_out_of_key() {
        let s = store();
        let context = vec![0.0f32; WINDOW_SAMPLES];
        let positive = Positive {
            track: 0,
            start: 16_000,
            stems: &[0],
            context_audio: &context,
        };
        let clean = s.read_padded(0, 0, 16_000, WINDOW_SAMPLES).unwrap();
        for seed in 0..12u64 {
            let mut rng = stream(b"test", &[&seed.to_le_bytes()]);
            let n = make(
                &s,
                &positive,
                Mode::Harmonic,
                &KindWeights::default(),
                &Transposing {
                    matched_processing: true,
                    ..Transposing::default()
                },
                &mut rng,
                &mut OnsetAnalyzer::new(),
            )
            .unwrap()
            .unwrap();
            let processed = n.positive.expect("a matched transposition brings its positive");
            assert_eq!((processed.len(), n.audio.len()), (WINDOW_SAMPLES, WINDOW_SAMPLES));
            // In key, but processed: not the clean positive.
            assert!((tone_hz(&processed) - 220.0).abs() < 3.0, "{}", tone_hz(&processed));
            assert_ne!(processed, clean);
            // Out of key by the recorded amount, never by whole octaves.
            assert!(n.amount.rem_euclid(12) != 0 && n.amount.abs() <= 11, "{}", n.amount);
            let expected = 220.0 * 2f64.powf(n.amount as f64 / 12.0);
            assert!(
                (tone_hz(&n.audio) / expected - 1.0).abs() < 0.02,
                "{} vs {expected}",
                tone_hz(&n.audio)
            );
        }
        // Without it, the positive stays the caller's.
        assert!(negative(Mode::Harmonic, &[0], 0).unwrap().positive.is_none());
    }

    #[test]
    fn a_shift_is_the_positive_read_earlier_in_the_stem() {
        let s = store();
        let h = (0..40)
            .filter_map(|seed| negative(Mode::Percussive, &[0, 1], seed))
            .find(|h| h.kind == HardNegativeKind::Shifted)
            .expect("some seed draws a shift");
        let delay = h.amount as usize;
        assert!((3_200..=11_200 + 2_400).contains(&delay), "{delay}");
        let mut expected = vec![0.0f32; WINDOW_SAMPLES];
        for stem in [0, 1] {
            s.add_stem(0, stem, 16_000 - delay, &mut expected).unwrap();
        }
        assert_eq!(h.audio, expected);
    }

    #[test]
    fn padded_reads_fill_zeros_outside_the_stem() {
        let s = store();
        let head = s.read_padded(0, 0, -100, 200).unwrap();
        assert!(head[..100].iter().all(|&x| x == 0.0));
        assert_eq!(head[100..], s.0.tracks[0][0][..100]);
        let tail = s.read_padded(0, 0, 160_000 - 50, 100).unwrap();
        assert!(tail[50..].iter().all(|&x| x == 0.0));
    }
}
