//! The paper's batch construction (Sec. III-A, IV-C), pure and seeded:
//!
//! 1. K tracks with repetition: a dataset by weight, then a track uniformly;
//! 2. a 5 s window in each, windows of one track in a batch overlapping by at
//!    most r (starts at least (1 - r) x 5 s apart);
//! 3. two disjoint non-empty stem subsets (anchor 1..=n-1 stems, positive
//!    1..=n-anchor of the rest, as the authors' data preparation draws them;
//!    one stem each in single-stem mode; not in the paper, with `target_stem`
//!    one stem against a random sub-mix of the others), summed into sub-mixes;
//! 4. a sub-mix that is silent (RMS below `silence_dbfs`) is not trained on:
//!    new subsets are drawn, then a new window, then a new track;
//! 5. Gaussian noise (sigma 1e-3) on the positive;
//! 6. a channel mask, the same for anchor and positive, uniform over both /
//!    harmonic only / percussive only (the reference's RANDOM mode; other
//!    odds with [`MaskWeights`]) drawn per pair, or one for the whole batch
//!    ([`Masks`]): with a mask per pair,
//!    matching the mask alone beats chance ~3x, a shortcut a first CPU run
//!    learned instead of coherence;
//! 7. not in the paper, and off unless asked for: with probability
//!    `hard_negatives`, a [hard negative](super::hard_negatives) made from the
//!    positive (transposed, shifted off the beat or stretched), an extra
//!    candidate every anchor of the batch is contrasted with.
//!
//! Batch b's draws come from their own ChaCha stream derived from (seed,
//! stream, b), so a batch does not depend on worker scheduling or on the
//! batches before it: a resumed run draws exactly the batches it would have.

use cocola::contract::WINDOW_SAMPLES;
use cocola::dsp::onset::OnsetAnalyzer;
use cocola::eval::protocol::{split_stems, split_target};
use cocola::mode::Mode;
use cocola::score::windows::is_silent;
use cocola::seeded::{below, inclusive, unit};
use rand_chacha::ChaCha12Rng;

use super::hard_negatives::{self, HardNegative, KindWeights, Positive, Transposing};
use super::store::TrackStore;
use super::weights;

/// Sampling settings (paper defaults in [`SamplerConfig::paper`]).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SamplerConfig {
    /// Windows per batch (K).
    pub k: usize,
    /// Largest overlap ratio r between two windows of one track in a batch.
    pub max_overlap: f64,
    /// One stem per sub-mix instead of random subsets.
    pub single_stem: bool,
    /// The positive is one stem and the anchor a random sub-mix of the
    /// others (`split_target`), as users and the sensitivity test pair
    /// stems; ignored with `single_stem`.
    #[serde(default)]
    pub target_stem: bool,
    /// Standard deviation of the Gaussian noise added to positives.
    pub noise_std: f32,
    /// Sub-mixes quieter than this RMS (dBFS over the window) are redrawn.
    pub silence_dbfs: f32,
    /// How channel masks are drawn.
    pub masks: Masks,
    /// Share of pairs that also get a hard negative made from their positive
    /// (0: the paper's objective).
    #[serde(default)]
    pub hard_negatives: f64,
    /// How often each kind of hard negative is drawn.
    #[serde(default)]
    pub hard_negative_weights: KindWeights,
    /// Transpositions shift both sides twice, the positive back into key
    /// (see `data::hard_negatives`).
    #[serde(default)]
    pub matched_processing: bool,
    /// Share of a twinned track's transpositions taken from its twins (1:
    /// all; the rest through the shifter).
    #[serde(default = "crate::data::hard_negatives::all_twins")]
    pub twin_share: f64,
    /// How often each channel mask is drawn.
    #[serde(default)]
    pub mask_weights: MaskWeights,
}

/// How the random channel masks are drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Masks {
    /// One mask per pair (the reference): the mask itself tells pairs apart.
    #[default]
    PerPair,
    /// One mask for the whole batch: every candidate shares the anchor's
    /// mask, so only coherence tells the positive from the negatives.
    PerBatch,
    /// No masks: every pair keeps both channels.
    Off,
}

/// Relative draw weights of the channel masks, per pair or per batch:
/// `both=2` gives the both-channel mode (the score users read) half the
/// batches instead of a third; a weight of 0 never draws that mask. Written
/// and read as `percussive=W,harmonic=W,both=W` (a mode left out keeps 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MaskWeights {
    pub percussive: u32,
    pub harmonic: u32,
    pub both: u32,
}

impl Default for MaskWeights {
    fn default() -> MaskWeights {
        MaskWeights {
            percussive: 1,
            harmonic: 1,
            both: 1,
        }
    }
}

impl MaskWeights {
    const NAMES: [&'static str; 3] = ["percussive", "harmonic", "both"];
    /// In the order of `NAMES`, the order masks were drawn in before weights
    /// existed (equal weights keep those draws).
    const MODES: [Mode; 3] = [Mode::Percussive, Mode::Harmonic, Mode::Both];

    fn values(&self) -> [u32; 3] {
        [self.percussive, self.harmonic, self.both]
    }

    fn draw(&self, rng: &mut ChaCha12Rng) -> Mode {
        Self::MODES[weights::draw(&self.values(), rng)]
    }
}

impl std::fmt::Display for MaskWeights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&weights::format(&Self::NAMES, &self.values()))
    }
}

impl std::str::FromStr for MaskWeights {
    type Err = String;

    fn from_str(text: &str) -> Result<MaskWeights, String> {
        let w = weights::parse(text, &Self::NAMES, "mode")?;
        Ok(MaskWeights {
            percussive: w[0],
            harmonic: w[1],
            both: w[2],
        })
    }
}

impl SamplerConfig {
    pub fn paper(k: usize) -> SamplerConfig {
        SamplerConfig {
            k,
            max_overlap: 0.5,
            single_stem: false,
            target_stem: false,
            noise_std: 1e-3,
            silence_dbfs: -60.0,
            masks: Masks::PerPair,
            hard_negatives: 0.0,
            hard_negative_weights: KindWeights::default(),
            matched_processing: false,
            twin_share: crate::data::hard_negatives::all_twins(),
            mask_weights: MaskWeights::default(),
        }
    }
}

/// Which tracks the sampler may draw, grouped by dataset with weights.
#[derive(Clone, Debug)]
pub struct Pools {
    /// (weight, track indices into the store), non-empty pools only.
    pub pools: Vec<(f64, Vec<usize>)>,
}

impl Pools {
    pub fn new(pools: Vec<(f64, Vec<usize>)>) -> anyhow::Result<Pools> {
        let pools: Vec<_> = pools.into_iter().filter(|(w, t)| *w > 0.0 && !t.is_empty()).collect();
        anyhow::ensure!(!pools.is_empty(), "no track to sample from");
        Ok(Pools { pools })
    }

    fn pick(&self, rng: &mut ChaCha12Rng) -> usize {
        let total: f64 = self.pools.iter().map(|(w, _)| w).sum();
        let mut u = unit(rng) * total;
        let mut chosen = &self.pools[self.pools.len() - 1].1;
        for (w, tracks) in &self.pools {
            if u < *w {
                chosen = tracks;
                break;
            }
            u -= w;
        }
        chosen[below(rng, chosen.len())]
    }
}

/// One pair of a batch: where it came from and its two sub-mixes.
#[derive(Clone, Debug, PartialEq)]
pub struct PairWindow {
    pub track: usize,
    pub start: usize,
    /// Stem indices, ascending, disjoint.
    pub anchor: Vec<usize>,
    pub positive: Vec<usize>,
    pub mask: Mode,
    /// 5 s of the anchor sub-mix.
    pub anchor_audio: Vec<f32>,
    /// 5 s of the positive sub-mix, noise included.
    pub positive_audio: Vec<f32>,
    /// A hard negative made from the positive, if one was drawn.
    pub negative: Option<HardNegative>,
}

/// Random stream ids: training and validation batches never share draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Train,
    Validation,
}

/// The random stream of batch `batch`.
pub fn batch_rng(seed: u64, stream: Stream, batch: u64) -> ChaCha12Rng {
    cocola::seeded::stream(
        b"cocola-trainer-batch-v1",
        &[&seed.to_le_bytes(), &[stream as u8], &batch.to_le_bytes()],
    )
}

/// Slot attempts before concluding the data cannot fill a batch.
const MAX_ATTEMPTS: usize = 1000;
/// Subset redraws on one window before moving to another window.
const SUBSET_TRIES: usize = 4;

/// Draws batch `batch` of `stream`.
pub fn draw_batch(
    store: &dyn TrackStore,
    pools: &Pools,
    cfg: &SamplerConfig,
    seed: u64,
    stream: Stream,
    batch: u64,
) -> anyhow::Result<Vec<PairWindow>> {
    let mut rng = batch_rng(seed, stream, batch);
    let min_distance = ((1.0 - cfg.max_overlap) * WINDOW_SAMPLES as f64).ceil() as usize;
    let mut out: Vec<PairWindow> = Vec::with_capacity(cfg.k);
    // Drawn first and only in this mode, so per-pair batches keep the draws
    // (and resumed runs the batches) they had before per-batch masks existed.
    let batch_mask = (cfg.masks == Masks::PerBatch).then(|| cfg.mask_weights.draw(&mut rng));
    let mut onsets = (cfg.hard_negatives > 0.0).then(OnsetAnalyzer::new);
    let mut attempts = 0;
    while out.len() < cfg.k {
        attempts += 1;
        anyhow::ensure!(
            attempts <= MAX_ATTEMPTS * cfg.k,
            "could not fill a batch of {} non-silent windows after {} attempts: the data is (nearly) silent \
             or too short for windows overlapping at most {:.0} %",
            cfg.k,
            attempts - 1,
            cfg.max_overlap * 100.0
        );
        let track = pools.pick(&mut rng);
        let Some(start) = draw_start(&mut rng, store.len(track), min_distance, &out, track) else {
            continue;
        };
        for _ in 0..SUBSET_TRIES {
            let (anchor, positive) = if cfg.target_stem && !cfg.single_stem {
                split_target(&mut rng, store.stems(track))
            } else {
                split_stems(&mut rng, store.stems(track), cfg.single_stem)
            };
            let anchor_audio = submix(store, track, start, &anchor)?;
            let mut positive_audio = submix(store, track, start, &positive)?;
            if is_silent(&anchor_audio, cfg.silence_dbfs) || is_silent(&positive_audio, cfg.silence_dbfs) {
                continue;
            }
            // The clean pair, for the beat a shifted hard negative needs.
            let context: Option<Vec<f32>> = onsets
                .is_some()
                .then(|| anchor_audio.iter().zip(&positive_audio).map(|(a, p)| a + p).collect());
            add_noise(&mut rng, &mut positive_audio, cfg.noise_std);
            let mask = match cfg.masks {
                Masks::PerPair => cfg.mask_weights.draw(&mut rng),
                Masks::PerBatch => batch_mask.expect("drawn for per-batch masks"),
                Masks::Off => Mode::Both,
            };
            // Drawn only when asked for, so the paper's batches keep their draws.
            let negative = match (&mut onsets, &context) {
                (Some(onsets), Some(context)) if unit(&mut rng) < cfg.hard_negatives => {
                    let positive = Positive {
                        track,
                        start,
                        stems: &positive,
                        context_audio: context,
                    };
                    let made = hard_negatives::make(
                        store,
                        &positive,
                        mask,
                        &cfg.hard_negative_weights,
                        &Transposing {
                            matched_processing: cfg.matched_processing,
                            twin_share: cfg.twin_share,
                        },
                        &mut rng,
                        onsets,
                    )?;
                    made.map(|mut n| {
                        if let Some(mut processed) = n.positive.take() {
                            add_noise(&mut rng, &mut processed, cfg.noise_std);
                            positive_audio = processed;
                        }
                        add_noise(&mut rng, &mut n.audio, cfg.noise_std);
                        n
                    })
                }
                _ => None,
            };
            out.push(PairWindow {
                track,
                start,
                anchor,
                positive,
                mask,
                anchor_audio,
                positive_audio,
                negative,
            });
            break;
        }
    }
    Ok(out)
}

/// A start at least `min_distance` from the other windows of `track`.
fn draw_start(
    rng: &mut ChaCha12Rng,
    len: usize,
    min_distance: usize,
    taken: &[PairWindow],
    track: usize,
) -> Option<usize> {
    let last = len.saturating_sub(WINDOW_SAMPLES);
    for _ in 0..16 {
        let start = inclusive(rng, 0, last);
        if taken
            .iter()
            .filter(|w| w.track == track)
            .all(|w| w.start.abs_diff(start) >= min_distance)
        {
            return Some(start);
        }
    }
    None
}

fn submix(store: &dyn TrackStore, track: usize, start: usize, stems: &[usize]) -> anyhow::Result<Vec<f32>> {
    let mut out = vec![0.0f32; WINDOW_SAMPLES];
    for &s in stems {
        store.add_stem(track, s, start, &mut out)?;
    }
    Ok(out)
}

/// Adds N(0, std^2) noise (Box-Muller on our own stream, so the numbers do
/// not depend on a distribution crate's algorithm).
fn add_noise(rng: &mut ChaCha12Rng, x: &mut [f32], std: f32) {
    if std <= 0.0 {
        return;
    }
    for pair in x.chunks_mut(2) {
        let u1 = 1.0 - unit(rng); // (0, 1]: ln is finite
        let u2 = unit(rng);
        let r = (-2.0 * u1.ln()).sqrt() * std as f64;
        let theta = std::f64::consts::TAU * u2;
        pair[0] += (r * theta.cos()) as f32;
        if let Some(second) = pair.get_mut(1) {
            *second += (r * theta.sin()) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::store::MemoryStore;

    /// Track t: `stems` stems of `seconds` s; stem s of track t is a sine, or
    /// silence for the stems listed in `silent`.
    fn store(tracks: &[(usize, usize)], silent: &[(usize, usize)]) -> MemoryStore {
        MemoryStore {
            tracks: tracks
                .iter()
                .enumerate()
                .map(|(t, &(stems, seconds))| {
                    (0..stems)
                        .map(|s| {
                            let f = 110.0 * (1 + s + 3 * t) as f32;
                            (0..seconds * 16_000)
                                .map(|i| {
                                    if silent.contains(&(t, s)) {
                                        0.0
                                    } else {
                                        0.1 * (i as f32 * f * std::f32::consts::TAU / 16_000.0).sin()
                                    }
                                })
                                .collect()
                        })
                        .collect()
                })
                .collect(),
        }
    }

    #[test]
    fn invariants_hold_over_many_batches() {
        let s = store(&[(4, 12), (2, 8), (5, 30)], &[(0, 1), (0, 2)]);
        let pools = Pools::new(vec![(1.0, vec![0, 1, 2])]).unwrap();
        let cfg = SamplerConfig::paper(8);
        let min_distance = WINDOW_SAMPLES / 2;
        let mut masks = [0usize; 3];
        for b in 0..30 {
            let batch = draw_batch(&s, &pools, &cfg, 1, Stream::Train, b).unwrap();
            assert_eq!(batch.len(), 8);
            for (i, w) in batch.iter().enumerate() {
                assert!(!w.anchor.is_empty() && !w.positive.is_empty());
                assert!(w.anchor.iter().all(|a| !w.positive.contains(a)), "subsets overlap");
                assert!(w.anchor.iter().chain(&w.positive).all(|&x| x < s.stems(w.track)));
                assert!(w.start + WINDOW_SAMPLES <= s.len(w.track));
                assert!(!is_silent(&w.anchor_audio, -60.0) && !is_silent(&w.positive_audio, -60.0));
                for other in &batch[..i] {
                    if other.track == w.track {
                        assert!(other.start.abs_diff(w.start) >= min_distance, "windows overlap > r");
                    }
                }
                masks[w.mask.index()] += 1;
            }
        }
        // Track 0 has only stems 0 and 3 audible: silent sub-mixes were redrawn.
        assert!(masks.iter().all(|&m| m > 40), "masks roughly uniform: {masks:?}");
    }

    #[test]
    fn per_batch_masks_are_shared_by_every_pair_and_vary_across_batches() {
        let s = store(&[(3, 20), (4, 20)], &[]);
        let pools = Pools::new(vec![(1.0, vec![0, 1])]).unwrap();
        let mut cfg = SamplerConfig::paper(6);
        cfg.masks = Masks::PerBatch;
        let mut seen = std::collections::BTreeSet::new();
        for b in 0..30 {
            let batch = draw_batch(&s, &pools, &cfg, 3, Stream::Train, b).unwrap();
            assert!(batch.iter().all(|w| w.mask == batch[0].mask), "batch {b} mixes masks");
            seen.insert(format!("{:?}", batch[0].mask));
        }
        assert_eq!(seen.len(), 3, "all three masks occur: {seen:?}");
    }

    #[test]
    fn mask_weights_set_the_mix_and_equal_weights_keep_the_draws() {
        let s = store(&[(3, 20), (4, 20)], &[]);
        let pools = Pools::new(vec![(1.0, vec![0, 1])]).unwrap();
        let mut cfg = SamplerConfig::paper(2);
        cfg.masks = Masks::PerBatch;
        let masks_of = |cfg: &SamplerConfig| -> Vec<Mode> {
            (0..150)
                .map(|b| draw_batch(&s, &pools, cfg, 4, Stream::Train, b).unwrap()[0].mask)
                .collect()
        };
        let uniform = masks_of(&cfg);
        cfg.mask_weights = "percussive=2,harmonic=2,both=2".parse().unwrap();
        assert_eq!(masks_of(&cfg), uniform, "equal weights draw as the uniform choice");
        cfg.mask_weights = "both=4,harmonic=0".parse().unwrap();
        let weighted = masks_of(&cfg);
        assert!(!weighted.contains(&Mode::Harmonic));
        let both = weighted.iter().filter(|&&m| m == Mode::Both).count();
        assert!((100..=140).contains(&both), "4 of 5 expected: {both} of 150");
        // Per-pair masks follow the same weights.
        cfg.masks = Masks::PerPair;
        cfg.mask_weights = "percussive=0,harmonic=0".parse().unwrap();
        let batch = draw_batch(&s, &pools, &cfg, 4, Stream::Train, 0).unwrap();
        assert!(batch.iter().all(|w| w.mask == Mode::Both));
    }

    #[test]
    fn batches_are_reproducible_and_independent_of_order() {
        let s = store(&[(3, 10), (4, 10)], &[]);
        let pools = Pools::new(vec![(1.0, vec![0, 1])]).unwrap();
        let cfg = SamplerConfig::paper(4);
        let a = draw_batch(&s, &pools, &cfg, 9, Stream::Train, 5).unwrap();
        let _ = draw_batch(&s, &pools, &cfg, 9, Stream::Train, 4).unwrap();
        assert_eq!(a, draw_batch(&s, &pools, &cfg, 9, Stream::Train, 5).unwrap());
        assert_ne!(a, draw_batch(&s, &pools, &cfg, 9, Stream::Validation, 5).unwrap());
    }

    /// RMS of a pair's positive minus its clean sub-mix (track 0).
    fn distance_from_clean(s: &MemoryStore, w: &PairWindow) -> f64 {
        let clean = submix(s, 0, w.start, &w.positive).unwrap();
        let squares: f64 = (w.positive_audio.iter().zip(&clean))
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum();
        (squares / clean.len() as f64).sqrt()
    }

    #[test]
    fn noise_is_on_positives_only_with_the_requested_spread() {
        let s = store(&[(2, 6)], &[]);
        let pools = Pools::new(vec![(1.0, vec![0])]).unwrap();
        let mut cfg = SamplerConfig::paper(1);
        cfg.masks = Masks::Off;
        let w = &draw_batch(&s, &pools, &cfg, 2, Stream::Train, 0).unwrap()[0];
        assert_eq!(w.anchor_audio, submix(&s, 0, w.start, &w.anchor).unwrap());
        let std = distance_from_clean(&s, w);
        assert!((std - 1e-3).abs() < 5e-5, "noise std {std}");
        assert_eq!(w.mask, Mode::Both);
    }

    #[test]
    fn matched_processing_trains_on_the_positive_shifted_there_and_back() {
        let s = store(&[(3, 40)], &[]);
        let pools = Pools::new(vec![(1.0, vec![0])]).unwrap();
        let mut cfg = SamplerConfig::paper(4);
        cfg.masks = Masks::Off;
        cfg.hard_negatives = 1.0;
        cfg.hard_negative_weights = "shifted=0,stretched=0".parse().unwrap();
        let residuals = |cfg: &SamplerConfig| -> Vec<f64> {
            let batch = draw_batch(&s, &pools, cfg, 3, Stream::Train, 0).unwrap();
            batch
                .iter()
                .map(|w| {
                    assert_eq!(
                        w.negative.as_ref().unwrap().kind,
                        hard_negatives::HardNegativeKind::Transposed
                    );
                    distance_from_clean(&s, w)
                })
                .collect()
        };
        assert!(residuals(&cfg).iter().all(|&r| r < 1.1e-3), "noise only");
        cfg.matched_processing = true;
        assert!(
            residuals(&cfg).iter().all(|&r| r > 3e-3),
            "processed: {:?}",
            residuals(&cfg)
        );
    }

    #[test]
    fn single_stem_mode_and_weights() {
        let s = store(&[(5, 40), (5, 40)], &[]);
        let pools = Pools::new(vec![(3.0, vec![0]), (1.0, vec![1])]).unwrap();
        let mut cfg = SamplerConfig::paper(8);
        cfg.single_stem = true;
        let mut from_first = 0;
        for b in 0..40 {
            for w in draw_batch(&s, &pools, &cfg, 0, Stream::Train, b).unwrap() {
                assert_eq!((w.anchor.len(), w.positive.len()), (1, 1));
                from_first += (w.track == 0) as usize;
            }
        }
        let share = from_first as f64 / 320.0;
        assert!((share - 0.75).abs() < 0.08, "weighted share {share}");
    }

    #[test]
    fn target_stem_pairs_one_stem_with_a_submix_of_the_others() {
        let s = store(&[(5, 40)], &[]);
        let pools = Pools::new(vec![(1.0, vec![0])]).unwrap();
        let mut cfg = SamplerConfig::paper(8);
        cfg.target_stem = true;
        let (mut targets, mut anchor_sizes) = (std::collections::BTreeSet::new(), std::collections::BTreeSet::new());
        for b in 0..30 {
            for w in draw_batch(&s, &pools, &cfg, 0, Stream::Train, b).unwrap() {
                assert_eq!(w.positive.len(), 1);
                assert!(!w.anchor.is_empty() && !w.anchor.contains(&w.positive[0]));
                targets.insert(w.positive[0]);
                anchor_sizes.insert(w.anchor.len());
            }
        }
        assert_eq!(targets.len(), 5, "every stem is a target: {targets:?}");
        assert_eq!(anchor_sizes, (1..=4).collect(), "every anchor size");
        // The paper's draw is unchanged when the option is off.
        cfg.target_stem = false;
        let paper = draw_batch(&s, &pools, &cfg, 0, Stream::Train, 0).unwrap();
        assert!(paper.iter().any(|w| w.positive.len() > 1));
    }

    #[test]
    fn silent_data_is_an_error_not_a_hang() {
        let s = store(&[(2, 6)], &[(0, 0), (0, 1)]);
        let pools = Pools::new(vec![(1.0, vec![0])]).unwrap();
        let err = draw_batch(&s, &pools, &SamplerConfig::paper(2), 0, Stream::Train, 0).unwrap_err();
        assert!(err.to_string().contains("silent"), "{err}");
    }
}
