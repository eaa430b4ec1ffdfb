//! Tests of the hard negatives: kinds per mask, weights, twins, matched processing.

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
