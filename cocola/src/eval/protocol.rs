//! The coherent sub-mix classification protocol of the paper (Sec. V-A, Eq. 4),
//! independent of audio and of the model.
//!
//! A batch holds K windows, each from a track of stems: a random 5 s window
//! whose full mix is not silent, and two disjoint, non-empty, random subsets
//! of that window's stems, each summed into a sub-mix: the anchor and the
//! positive. With the K x K matrix sim(anchor_i, positive_j), the batch
//! accuracy is the fraction of rows whose maximum lies on the diagonal; the
//! result is the mean over batches, with its standard error.
//!
//! The protocol is generic over how sub-mixes are embedded and compared
//! ([`run`]): the evaluator plugs in the model, tests plug in oracles.
//!
//! Choices the paper leaves open, and why:
//! - Tracks within a batch are distinct whenever there are at least K usable
//!   tracks. With fewer, tracks repeat, and windows of one track in a batch
//!   overlap by at most 50 % (the trainer's r = 50 %, docs/DESIGN.md): strongly
//!   overlapping windows would be near-coherent "negatives".
//! - Window starts lie on a 0.1 s grid ([`BLOCK_SAMPLES`]), so that silence
//!   can be measured once per track from per-block energies rather than once
//!   per candidate window; 0.1 s is far finer than any musical structure that
//!   would matter here.
//! - The anchor takes 1..=n-1 stems, the positive 1..=(n - anchor) of the
//!   rest (both uniform), as in the authors' data preparation: sub-mixes need
//!   not cover the whole mix.
//! - Ties in a row of the matrix count as a fraction: a row whose diagonal is
//!   one of m equal maxima scores 1/m, the expectation under random
//!   tie-breaking. A constant similarity thus scores exactly 1/K, chance level,
//!   and the number is deterministic.

use rand_chacha::ChaCha12Rng;
use serde::{Deserialize, Serialize};

pub use super::stem_split::{split_stems, split_target};
use crate::contract::WINDOW_SAMPLES;
use crate::score::windows::level_is_silent;
use crate::seeded::{below, shuffle};

/// Grid of window starts and unit of the silence profile: 0.1 s at 16 kHz.
pub const BLOCK_SAMPLES: usize = 1_600;
const BLOCKS_PER_WINDOW: usize = WINDOW_SAMPLES / BLOCK_SAMPLES;
/// Least distance between starts of two windows of one track in one batch:
/// at most 50 % overlap.
const MIN_START_DISTANCE: usize = WINDOW_SAMPLES / 2;

/// The random stream of batch `batch` of the accuracy@`k` protocol: its own
/// stream, so that a batch's draws depend neither on the batches before it
/// nor on other K values.
pub fn batch_stream(seed: u64, k: usize, batch: usize) -> ChaCha12Rng {
    crate::seeded::stream(
        b"cocola-eval-submix-v1",
        &[
            &seed.to_le_bytes(),
            &(k as u64).to_le_bytes(),
            &(batch as u64).to_le_bytes(),
        ],
    )
}

/// What the protocol needs to know about a track: its stem count, and where
/// its full mix is audible.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackProfile {
    pub stems: usize,
    /// Start samples (on the block grid) of the 5 s windows whose full mix is
    /// at or above the silence threshold.
    pub audible_starts: Vec<usize>,
}

impl TrackProfile {
    /// Profile of a track from its full mix (sum of all stems). A window's
    /// level is its RMS in dBFS over a full 5 s window (samples past the end
    /// count as zeros, as the features zero-pad them; non-finite samples are
    /// ignored), exactly as the pair scorer measures silence.
    pub fn from_mix(mix: &[f32], stems: usize, silence_dbfs: f32) -> Self {
        Self::from_levels(window_levels_dbfs(mix), stems, silence_dbfs)
    }

    /// Profile of a track from the levels [`window_levels_dbfs`] gives for its mix.
    pub fn from_levels(levels: Vec<f32>, stems: usize, silence_dbfs: f32) -> Self {
        let audible_starts = levels
            .into_iter()
            .enumerate()
            .filter(|&(_, level)| !level_is_silent(level, silence_dbfs))
            .map(|(b, _)| b * BLOCK_SAMPLES)
            .collect();
        Self { stems, audible_starts }
    }

    /// Whether the protocol can draw from this track at all.
    pub fn usable(&self) -> bool {
        self.stems >= 2 && !self.audible_starts.is_empty()
    }
}

/// The level of every 5 s window of `signal` whose start lies on the block
/// grid, in dBFS (entry b: the window at `b * BLOCK_SAMPLES`; at least one
/// entry). The RMS is over a full 5 s window: samples past the end count as
/// zeros, as the features zero-pad them; non-finite samples are ignored;
/// silence is `-inf`.
pub fn window_levels_dbfs(signal: &[f32]) -> Vec<f32> {
    let mut energies = BlockEnergies::default();
    energies.push(signal);
    levels_from_block_energies(&energies.finish(), signal.len())
}

/// The energy (sum of squares, in f64) of each [`BLOCK_SAMPLES`] block of a
/// signal given in pieces of any length: what [`window_levels_dbfs`] needs,
/// gathered without holding the signal (pass 1 streams a track's mix).
#[derive(Clone, Debug, Default)]
pub struct BlockEnergies {
    energies: Vec<f64>,
    current: f64,
    filled: usize,
}

impl BlockEnergies {
    /// The next samples of the signal.
    pub fn push(&mut self, samples: &[f32]) {
        for &s in samples {
            if s.is_finite() {
                self.current += (s as f64) * (s as f64);
            }
            self.filled += 1;
            if self.filled == BLOCK_SAMPLES {
                self.energies.push(self.current);
                self.current = 0.0;
                self.filled = 0;
            }
        }
    }

    /// One energy per block, the last one partial.
    pub fn finish(mut self) -> Vec<f64> {
        if self.filled > 0 {
            self.energies.push(self.current);
        }
        self.energies
    }
}

/// [`window_levels_dbfs`] of a signal of `len` samples from its
/// [`BlockEnergies`].
pub fn levels_from_block_energies(block_energy: &[f64], len: usize) -> Vec<f32> {
    let last_start_block = if len <= WINDOW_SAMPLES {
        0
    } else {
        (len - WINDOW_SAMPLES) / BLOCK_SAMPLES
    };
    // Sliding sum of BLOCKS_PER_WINDOW block energies.
    let mut energy: f64 = block_energy.iter().take(BLOCKS_PER_WINDOW).sum();
    let mut levels = Vec::with_capacity(last_start_block + 1);
    for b in 0..=last_start_block {
        if b > 0 {
            energy -= block_energy[b - 1];
            energy += block_energy.get(b + BLOCKS_PER_WINDOW - 1).copied().unwrap_or(0.0);
        }
        // Recompute periodically: the running sum accumulates rounding.
        if b % 256 == 0 {
            energy = block_energy.iter().skip(b).take(BLOCKS_PER_WINDOW).sum();
        }
        let mean_square = energy.max(0.0) / WINDOW_SAMPLES as f64;
        levels.push(if mean_square > 0.0 {
            (10.0 * mean_square.log10()) as f32
        } else {
            f32::NEG_INFINITY
        });
    }
    levels
}

/// One window of a batch: a track, a start, and the two stem subsets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draw {
    pub track: usize,
    pub start: usize,
    /// Stem indices of the anchor sub-mix, ascending.
    pub anchor: Vec<usize>,
    /// Stem indices of the positive sub-mix, ascending, disjoint from `anchor`.
    pub positive: Vec<usize>,
}

/// Which sub-mix of a draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Anchor,
    Positive,
}

/// All batches of one K.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub k: usize,
    pub batches: Vec<Vec<Draw>>,
}

/// One sub-mix to embed: `stems` of `track`, summed, over the 5 s window at
/// `start`. `side` says whether it is compared as an anchor (row of the
/// matrix) or as a positive (column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubMixRequest<'a> {
    pub track: usize,
    pub start: usize,
    pub stems: &'a [usize],
    pub side: Side,
}

/// Why a plan cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("K must be at least 2 (got {0})")]
    KTooSmall(usize),
    #[error("no usable track: every track has fewer than 2 stems or is silent throughout")]
    NoUsableTrack,
    #[error(
        "not enough audio for K = {k}: the usable tracks hold fewer than {k} windows that overlap \
         each other by at most 50 %"
    )]
    NotEnoughMaterial { k: usize },
}

/// Draws `batches` batches of `k` windows from `tracks`, reproducibly from `seed`.
pub fn plan(tracks: &[TrackProfile], k: usize, batches: usize, seed: u64) -> Result<Plan, PlanError> {
    if k < 2 {
        return Err(PlanError::KTooSmall(k));
    }
    let usable: Vec<usize> = (0..tracks.len()).filter(|&t| tracks[t].usable()).collect();
    if usable.is_empty() {
        return Err(PlanError::NoUsableTrack);
    }
    let batches = (0..batches)
        .map(|b| draw_batch(tracks, &usable, k, &mut batch_stream(seed, k, b)))
        .collect::<Result<_, _>>()?;
    Ok(Plan { k, batches })
}

fn draw_batch(
    tracks: &[TrackProfile],
    usable: &[usize],
    k: usize,
    rng: &mut ChaCha12Rng,
) -> Result<Vec<Draw>, PlanError> {
    // Slot order: a fresh permutation of the usable tracks per round, so that
    // with >= K tracks the batch's tracks are K distinct ones, and with fewer
    // every track is used as evenly as possible.
    let mut slots = Vec::with_capacity(k);
    while slots.len() < k {
        let mut round = usable.to_vec();
        shuffle(rng, &mut round);
        slots.extend(round.into_iter().take(k - slots.len()));
    }
    let mut draws: Vec<Draw> = Vec::with_capacity(k);
    for preferred in slots {
        // A repeated track may have no room left; then the least-loaded
        // alternative comes from a random order of the others.
        let mut fallback = usable.to_vec();
        shuffle(rng, &mut fallback);
        let mut placed = false;
        for track in std::iter::once(preferred).chain(fallback) {
            let taken: Vec<usize> = draws.iter().filter(|d| d.track == track).map(|d| d.start).collect();
            let candidates: Vec<usize> = tracks[track]
                .audible_starts
                .iter()
                .copied()
                .filter(|&s| taken.iter().all(|&t| s.abs_diff(t) >= MIN_START_DISTANCE))
                .collect();
            if candidates.is_empty() {
                continue;
            }
            let start = candidates[below(rng, candidates.len())];
            let (anchor, positive) = split_stems(rng, tracks[track].stems, false);
            draws.push(Draw {
                track,
                start,
                anchor,
                positive,
            });
            placed = true;
            break;
        }
        if !placed {
            return Err(PlanError::NotEnoughMaterial { k });
        }
    }
    Ok(draws)
}

impl Plan {
    /// Every sub-mix of the plan in a fixed order: batch by batch, draw by
    /// draw, anchor then positive. [`run`] expects embeddings in this order.
    pub fn requests(&self) -> Vec<SubMixRequest<'_>> {
        self.batches
            .iter()
            .flatten()
            .flat_map(|d| {
                [(&d.anchor, Side::Anchor), (&d.positive, Side::Positive)].map(|(stems, side)| SubMixRequest {
                    track: d.track,
                    start: d.start,
                    stems,
                    side,
                })
            })
            .collect()
    }

    pub fn anchors(&self) -> usize {
        self.batches.iter().map(Vec::len).sum()
    }
}

/// Accuracy@K over a plan's batches.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Accuracy {
    pub k: usize,
    pub batches: usize,
    pub anchors: usize,
    /// Mean over batches of the batch accuracy (Eq. 4), in 0..=1.
    pub accuracy: f64,
    /// Standard error of that mean (sample std of batch accuracies / sqrt(batches));
    /// `None` with a single batch.
    pub std_error: Option<f64>,
    /// What a model that cannot tell coherent from random pairs scores: 1/K.
    pub chance: f64,
}

/// Eq. 4 on one batch: `sim` is the K x K row-major matrix
/// sim(anchor_i, positive_j). NaN counts as lower than any number.
pub fn batch_accuracy(sim: &[f32], k: usize) -> f64 {
    assert_eq!(sim.len(), k * k, "similarity matrix is not K x K");
    let key = |v: f32| if v.is_nan() { f32::NEG_INFINITY } else { v };
    let mut correct = 0.0;
    for i in 0..k {
        let row = &sim[i * k..(i + 1) * k];
        let diagonal = row[i];
        if diagonal.is_nan() {
            continue;
        }
        let max = row.iter().copied().map(key).fold(f32::NEG_INFINITY, f32::max);
        if diagonal == max {
            let ties = row.iter().filter(|&&v| key(v) == max).count();
            correct += 1.0 / ties as f64;
        }
    }
    correct / k as f64
}

/// Eq. 4 over the whole plan, given one embedding per request of
/// [`Plan::requests`] (same order). `matrix` gets a batch's embeddings
/// (anchor 0, positive 0, anchor 1, positive 1, ...) and returns the K x K
/// row-major matrix sim(anchor_i, positive_j); [`elementwise`] builds one
/// from a pairwise similarity.
pub fn accuracy<E>(plan: &Plan, embeddings: &[E], mut matrix: impl FnMut(&[E]) -> Vec<f32>) -> Accuracy {
    assert_eq!(
        embeddings.len(),
        2 * plan.anchors(),
        "one embedding per request expected"
    );
    let mut offset = 0;
    let mut per_batch = Vec::with_capacity(plan.batches.len());
    for batch in &plan.batches {
        let k = batch.len();
        per_batch.push(batch_accuracy(&matrix(&embeddings[offset..offset + 2 * k]), k));
        offset += 2 * k;
    }
    let summary = super::stats::Summary::of(&per_batch);
    Accuracy {
        k: plan.k,
        batches: plan.batches.len(),
        anchors: plan.anchors(),
        accuracy: summary.map_or(f64::NAN, |s| s.mean),
        std_error: summary.and_then(|s| s.std_error),
        chance: 1.0 / plan.k as f64,
    }
}

/// A matrix function for [`accuracy`] from a pairwise similarity.
pub fn elementwise<E>(sim: impl Fn(&E, &E) -> f32) -> impl FnMut(&[E]) -> Vec<f32> {
    move |rows: &[E]| {
        let k = rows.len() / 2;
        let mut m = Vec::with_capacity(k * k);
        for i in 0..k {
            for j in 0..k {
                m.push(sim(&rows[2 * i], &rows[2 * j + 1]));
            }
        }
        m
    }
}

/// The whole protocol with a pluggable embedder and similarity: `embed` gets
/// every sub-mix of the plan at once (so it can batch and parallelise) and
/// returns one embedding per request, in order.
pub fn run<E, Err>(
    plan: &Plan,
    embed: impl FnOnce(&[SubMixRequest<'_>]) -> Result<Vec<E>, Err>,
    matrix: impl FnMut(&[E]) -> Vec<f32>,
) -> Result<Accuracy, Err> {
    let requests = plan.requests();
    let embeddings = embed(&requests)?;
    Ok(accuracy(plan, &embeddings, matrix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(stems: usize, seconds: usize) -> TrackProfile {
        let mix = vec![0.1f32; seconds * 16_000];
        TrackProfile::from_mix(&mix, stems, -60.0)
    }

    #[test]
    fn profile_finds_audible_windows_on_the_grid() {
        // 10 s: 5 s of tone, then 5 s of silence.
        let mut mix = vec![0.5f32; 80_000];
        mix.extend(vec![0.0f32; 80_000]);
        let p = TrackProfile::from_mix(&mix, 3, -60.0);
        let last = (160_000 - WINDOW_SAMPLES) / BLOCK_SAMPLES;
        assert_eq!(p.audible_starts.first(), Some(&0));
        // A window with only its first 1600 samples of tone (-0.5^2 * 1/50 ≈ -23 dB) is audible;
        // the last window (all silent) is not.
        assert!(!p.audible_starts.contains(&(last * BLOCK_SAMPLES)));
        assert!(p.audible_starts.contains(&((last - 1) * BLOCK_SAMPLES)));
        // Silent or single-stem tracks are not usable; short tracks give one window.
        assert!(!TrackProfile::from_mix(&[0.0; 100_000], 3, -60.0).usable());
        assert!(!profile(1, 10).usable());
        assert_eq!(profile(2, 3).audible_starts, vec![0]);
    }

    #[test]
    fn profile_level_matches_the_pair_scorer_threshold() {
        // RMS 0.01 over a full window = -40 dBFS.
        let mix = vec![0.01f32; WINDOW_SAMPLES];
        assert_eq!(TrackProfile::from_mix(&mix, 2, -40.5).audible_starts, vec![0]);
        assert!(TrackProfile::from_mix(&mix, 2, -39.5).audible_starts.is_empty());
    }

    #[test]
    fn subsets_are_disjoint_non_empty_and_in_range() {
        let tracks: Vec<TrackProfile> = (2..8).map(|n| profile(n, 20)).collect();
        let plan = plan(&tracks, 4, 200, 7).unwrap();
        for draw in plan.batches.iter().flatten() {
            let n = tracks[draw.track].stems;
            assert!(!draw.anchor.is_empty() && !draw.positive.is_empty());
            assert!(draw.anchor.iter().chain(&draw.positive).all(|&s| s < n));
            assert!(draw.anchor.iter().all(|s| !draw.positive.contains(s)));
            assert!(draw.anchor.windows(2).all(|w| w[0] < w[1]));
            assert!(draw.positive.windows(2).all(|w| w[0] < w[1]));
            assert!(tracks[draw.track].audible_starts.contains(&draw.start));
        }
    }

    #[test]
    fn tracks_are_distinct_when_enough_exist() {
        let tracks: Vec<TrackProfile> = (0..10).map(|_| profile(3, 12)).collect();
        let plan = plan(&tracks, 8, 50, 1).unwrap();
        for batch in &plan.batches {
            let mut ids: Vec<usize> = batch.iter().map(|d| d.track).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), 8);
        }
    }

    #[test]
    fn repeated_tracks_overlap_at_most_half_and_are_balanced() {
        let tracks = vec![profile(2, 60), profile(3, 60), profile(4, 60)];
        let plan = plan(&tracks, 16, 20, 9).unwrap();
        for batch in &plan.batches {
            assert_eq!(batch.len(), 16);
            for t in 0..3 {
                let starts: Vec<usize> = batch.iter().filter(|d| d.track == t).map(|d| d.start).collect();
                assert!((5..=6).contains(&starts.len()), "unbalanced: {starts:?}");
                for (i, a) in starts.iter().enumerate() {
                    for b in &starts[i + 1..] {
                        assert!(a.abs_diff(*b) >= WINDOW_SAMPLES / 2);
                    }
                }
            }
        }
    }

    #[test]
    fn not_enough_material_is_an_error_not_a_hang() {
        // One 6 s track holds windows starting 0..=1 s only: two cannot be 2.5 s apart.
        let tracks = vec![profile(3, 6)];
        assert_eq!(plan(&tracks, 2, 1, 0), Err(PlanError::NotEnoughMaterial { k: 2 }));
        assert_eq!(plan(&[profile(1, 60)], 2, 1, 0), Err(PlanError::NoUsableTrack));
        assert_eq!(plan(&tracks, 1, 1, 0), Err(PlanError::KTooSmall(1)));
    }

    #[test]
    fn plans_are_reproducible_from_the_seed() {
        let tracks: Vec<TrackProfile> = (2..12).map(|n| profile(n, 30)).collect();
        assert_eq!(plan(&tracks, 8, 30, 42), plan(&tracks, 8, 30, 42));
        assert_ne!(plan(&tracks, 8, 30, 42), plan(&tracks, 8, 30, 43));
        // Batch b does not depend on how many batches are drawn.
        let short = plan(&tracks, 8, 3, 42).unwrap();
        let long = plan(&tracks, 8, 30, 42).unwrap();
        assert_eq!(short.batches[..], long.batches[..3]);
    }

    #[test]
    fn oracle_scores_one_and_constant_scores_chance() {
        let tracks: Vec<TrackProfile> = (0..20).map(|_| profile(4, 30)).collect();
        for k in [2, 8, 16] {
            let plan = plan(&tracks, k, 10, 5).unwrap();
            // Oracle: the embedding of a sub-mix is the identity of its draw.
            let oracle = run(
                &plan,
                |requests| Ok::<_, ()>((0..requests.len()).map(|i| i / 2).collect::<Vec<usize>>()),
                elementwise(|a, b| if a == b { 1.0 } else { 0.0 }),
            )
            .unwrap();
            assert_eq!(oracle.accuracy, 1.0);
            assert_eq!(oracle.std_error, Some(0.0));
            let constant = run(&plan, |r| Ok::<_, ()>(vec![(); r.len()]), elementwise(|_, _| 3.0)).unwrap();
            assert!((constant.accuracy - 1.0 / k as f64).abs() < 1e-12);
            assert_eq!((constant.k, constant.batches, constant.anchors), (k, 10, 10 * k));
            // An anti-oracle never wins.
            let anti = run(
                &plan,
                |r| Ok::<_, ()>((0..r.len()).map(|i| i / 2).collect::<Vec<usize>>()),
                elementwise(|a, b| if a == b { -1.0 } else { 0.0 }),
            )
            .unwrap();
            assert_eq!(anti.accuracy, 0.0);
        }
    }

    #[test]
    fn batch_accuracy_handles_ties_and_nan() {
        // Row 0: diagonal wins; row 1: tie of two; row 2: NaN diagonal loses.
        let sim = [
            5.0,
            1.0,
            1.0, //
            2.0,
            2.0,
            0.0, //
            1.0,
            0.0,
            f32::NAN,
        ];
        assert!((batch_accuracy(&sim, 3) - (1.0 + 0.5 + 0.0) / 3.0).abs() < 1e-12);
        // NaN off the diagonal never beats a number.
        assert_eq!(batch_accuracy(&[1.0, f32::NAN, f32::NAN, 0.0], 2), 1.0);
    }

    #[test]
    fn requests_follow_the_documented_order() {
        let tracks: Vec<TrackProfile> = (0..4).map(|_| profile(3, 10)).collect();
        let plan = plan(&tracks, 2, 2, 0).unwrap();
        let requests = plan.requests();
        assert_eq!(requests.len(), 8);
        let first = &plan.batches[0][0];
        let anchor = SubMixRequest {
            track: first.track,
            start: first.start,
            stems: &first.anchor,
            side: Side::Anchor,
        };
        assert_eq!(requests[0], anchor);
        assert_eq!(
            (requests[1].stems, requests[1].side),
            (&first.positive[..], Side::Positive)
        );
        assert_eq!(requests[2].track, plan.batches[0][1].track);
    }
}
