//! Pass 2 of accuracy@K and the numbers: every sub-mix the plans request
//! ("slot"), embedded track by track into a [`SlotStore`], then Eq. 4 per K
//! and mode from the store.
//!
//! The store keeps, per slot and mode, only the half of the embedding the
//! similarity matrix needs: f(anchor) for a row, W f(positive) for a column.
//! A sharded run fills the slots of its own tracks; merging fills the store
//! from every part, and [`accuracies`] gives the single run's numbers, since
//! it sees the same values in the same order.

use super::prepare::IndexedTrack;
use super::{ModeAccuracy, SubmixError, SubmixOptions};
use crate::calibration::ScoreDistribution;
use crate::contract::EMBEDDING_DIM;
use crate::eval::cache::EmbeddingCache;
use crate::eval::embed::{EmbedStats, Encoder, WindowEmbedder};
use crate::eval::progress::Progress;
use crate::eval::protocol::{self, Plan, Side};
use crate::mode::Mode;
use crate::model::{self, Embeddings};
use crate::score::Measure;

/// Where each slot of a list of plans comes from: slots are numbered plan by
/// plan in [`Plan::requests`] order.
pub struct SlotLayout {
    /// First slot of each plan.
    pub offsets: Vec<usize>,
    /// Per slot: the track (index among the decoded tracks) and the side.
    pub slots: Vec<(usize, Side)>,
}

impl SlotLayout {
    pub fn of(plans: &[Plan]) -> Self {
        let mut offsets = Vec::with_capacity(plans.len());
        let mut slots = Vec::new();
        for plan in plans {
            offsets.push(slots.len());
            slots.extend(plan.requests().iter().map(|r| (r.track, r.side)));
        }
        Self { offsets, slots }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// The embedding halves of every (slot, mode).
#[derive(Clone, Debug, PartialEq)]
pub struct SlotStore {
    modes: usize,
    values: Vec<f32>,
    filled: Vec<bool>,
}

impl SlotStore {
    /// Width of one slot: one half-embedding per mode.
    pub fn slot_width(modes: usize) -> usize {
        modes * EMBEDDING_DIM
    }

    pub fn new(slots: usize, modes: usize) -> Self {
        Self {
            modes,
            values: vec![0.0; slots * Self::slot_width(modes)],
            filled: vec![false; slots * modes],
        }
    }

    pub fn slots(&self) -> usize {
        self.filled.len() / self.modes.max(1)
    }

    /// Stores the half of `slot` under the `m`-th mode.
    pub fn put(&mut self, slot: usize, m: usize, half: &[f32]) {
        let at = slot * self.modes + m;
        self.values[at * EMBEDDING_DIM..(at + 1) * EMBEDDING_DIM].copy_from_slice(half);
        self.filled[at] = true;
    }

    pub fn half(&self, slot: usize, m: usize) -> &[f32] {
        let at = slot * self.modes + m;
        &self.values[at * EMBEDDING_DIM..(at + 1) * EMBEDDING_DIM]
    }

    /// Every mode's half of `slot`, mode by mode (a part file's record).
    pub fn slot(&self, slot: usize) -> &[f32] {
        let width = Self::slot_width(self.modes);
        &self.values[slot * width..(slot + 1) * width]
    }

    /// Stores a whole slot as [`SlotStore::slot`] returns it.
    pub fn put_slot(&mut self, slot: usize, values: &[f32]) {
        for (m, half) in values.chunks_exact(EMBEDDING_DIM).enumerate() {
            self.put(slot, m, half);
        }
    }

    /// Whether every mode of `slot` has been stored.
    pub fn is_filled(&self, slot: usize) -> bool {
        self.filled[slot * self.modes..(slot + 1) * self.modes]
            .iter()
            .all(|&f| f)
    }
}

/// Embeds the slots of the tracks `owns` selects (index among the indexed
/// tracks) through the cache: a slot whose embeddings are cached reads no
/// audio; the others read their window's stems only, on a helper thread
/// ([`TrackWindows`](crate::eval::track_index::TrackWindows), each stem read
/// forward once).
pub(crate) fn embed_slots<E: Encoder>(
    encoder: &mut E,
    cache: &EmbeddingCache,
    tracks: &[IndexedTrack],
    plans: &[Plan],
    modes: &[Mode],
    owns: impl Fn(usize) -> bool,
    progress: &dyn Progress,
) -> Result<(SlotStore, EmbedStats), SubmixError> {
    let layout = SlotLayout::of(plans);
    let mut per_track: Vec<Vec<(usize, usize, Vec<usize>)>> = vec![Vec::new(); tracks.len()];
    let requests = plans.iter().flat_map(Plan::requests);
    for (slot, r) in requests.enumerate() {
        if owns(r.track) {
            per_track[r.track].push((slot, r.start, r.stems.to_vec()));
        }
    }
    let mut store = SlotStore::new(layout.len(), modes.len());
    let mut sink = |slot: usize, m: usize, f: &[f32], wf: &[f32]| {
        let half = if layout.slots[slot].1 == Side::Anchor { f } else { wf };
        store.put(slot, m, half);
    };

    let work = per_track.iter().map(Vec::len).sum::<usize>();
    progress.begin("embedding sub-mixes", work as u64);
    let mut embedder = WindowEmbedder::new(encoder, cache, modes)?;
    // First what the cache has (no audio read), track by track...
    let mut misses: Vec<Vec<Miss>> = vec![Vec::new(); tracks.len()];
    for ((track, requests), misses) in tracks.iter().zip(&per_track).zip(&mut misses) {
        if requests.is_empty() {
            continue;
        }
        embedder.open_group(track.key);
        for (slot, start, stems) in requests {
            let id = track.index.window_id(*start, stems);
            if embedder.serve_cached(track.key, *slot, &id, &mut sink) {
                progress.advance(1);
            } else {
                misses.push(Miss {
                    slot: *slot,
                    start: *start,
                    stems: stems.clone(),
                    id,
                });
            }
        }
        // In order of start, so that each stem is read forward once.
        misses.sort_by_key(|m| (m.start, m.slot));
        embedder.close_group(track.key);
    }
    // ... then the missing windows, read on a helper thread while the
    // features and the encoder run here (a bounded queue keeps the memory
    // to a few dozen windows).
    std::thread::scope(|scope| -> Result<(), SubmixError> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(READ_AHEAD_WINDOWS);
        let misses = &misses;
        scope.spawn(move || {
            for (t, (track, misses)) in tracks.iter().zip(misses).enumerate() {
                let mut windows = track.index.windows();
                for miss in misses {
                    let samples = windows
                        .submix(miss.start, &miss.stems)
                        .map_err(|error| SubmixError::Window {
                            track: track.name.clone(),
                            error,
                        });
                    let failed = samples.is_err();
                    if sender.send((t, miss, samples)).is_err() || failed {
                        return;
                    }
                }
            }
        });
        let mut open: Option<usize> = None;
        for (t, miss, samples) in receiver {
            let key = tracks[t].key;
            if open != Some(t) {
                if let Some(previous) = open.replace(t) {
                    embedder.close_group(tracks[previous].key);
                }
                embedder.open_group(key);
            }
            embedder.submit_identified(key, miss.slot, miss.id, samples?, &mut sink)?;
            progress.advance(1);
        }
        if let Some(last) = open {
            embedder.close_group(tracks[last].key);
        }
        Ok(())
    })?;
    embedder.finish(&mut sink)?;
    let stats = embedder.stats();
    progress.end();
    Ok((store, stats))
}

/// Windows read ahead of the encoder in pass 2 (each 5 s, 320 KB).
const READ_AHEAD_WINDOWS: usize = 32;

/// A slot whose embeddings the cache does not have.
#[derive(Clone)]
struct Miss {
    slot: usize,
    start: usize,
    stems: Vec<usize>,
    id: crate::content_hash::Digest32,
}

/// Eq. 4 per K and mode, with the model's own score function, from a store
/// holding every slot of `plans`; then per K the combined fit's, where
/// `options` carries a calibration of every mode
/// ([`SubmixOptions::combined_calibration`]).
pub fn accuracies(plans: &[Plan], store: &SlotStore, options: &SubmixOptions) -> Vec<ModeAccuracy> {
    let layout = SlotLayout::of(plans);
    let modes = &options.modes;
    let mut results = Vec::new();
    for (plan, &offset) in plans.iter().zip(&layout.offsets) {
        let plan_slots: Vec<usize> = (offset..offset + 2 * plan.anchors()).collect();
        let combined = options.combined_calibration();
        // Each mode's matrices, batch by batch, kept when the combined fit
        // needs them (the protocol visits the batches in the same order).
        let mut kept: Vec<Vec<Vec<f32>>> = Vec::new();
        for (m, &mode) in modes.iter().enumerate() {
            let mut batches = Vec::new();
            results.push(measure_accuracy(plan, &plan_slots, mode.into(), |rows| {
                let sim = mode_matrix(store, rows, m);
                if combined.is_some() {
                    batches.push(sim.clone());
                }
                sim
            }));
            kept.push(batches);
        }
        if let Some(calibration) = combined {
            let mut batch = 0;
            results.push(measure_accuracy(plan, &plan_slots, Measure::Combined, |_| {
                let per_mode: Vec<&Vec<f32>> = kept.iter().map(|batches| &batches[batch]).collect();
                batch += 1;
                (0..per_mode[0].len())
                    .map(|at| {
                        let scores = modes.iter().zip(&per_mode).map(|(&mode, sim)| (mode, sim[at]));
                        // A non-finite score has no combined fit: NaN ranks below any number.
                        calibration.combined(scores).map_or(f32::NAN, |c| c.log_odds)
                    })
                    .collect()
            }));
        }
    }
    results
}

/// Eq. 4 of one measure over one plan, keeping the coherent (diagonal) and
/// random (off-diagonal) entries of the matrices `matrix` gives.
fn measure_accuracy(
    plan: &Plan,
    plan_slots: &[usize],
    measure: Measure,
    mut matrix: impl FnMut(&[usize]) -> Vec<f32>,
) -> ModeAccuracy {
    let (mut coherent, mut random) = (Vec::new(), Vec::new());
    let accuracy = protocol::accuracy(plan, plan_slots, |rows: &[usize]| {
        let k = rows.len() / 2;
        let sim = matrix(rows);
        for (at, &s) in sim.iter().enumerate() {
            if at / k == at % k {
                coherent.push(s);
            } else {
                random.push(s);
            }
        }
        sim
    });
    ModeAccuracy {
        mode: measure,
        accuracy,
        coherent: ScoreDistribution::from_scores(&coherent),
        random: ScoreDistribution::from_scores(&random),
    }
}

/// The K x K raw scores of mode `m` (its index in the store) of one batch:
/// `rows` are its slots, anchor 0, positive 0, anchor 1, ...
fn mode_matrix(store: &SlotStore, rows: &[usize], m: usize) -> Vec<f32> {
    let k = rows.len() / 2;
    let e = Embeddings {
        embedding: (0..k)
            .flat_map(|i| store.half(rows[2 * i], m).iter().copied())
            .collect(),
        w_embedding: (0..k)
            .flat_map(|j| store.half(rows[2 * j + 1], m).iter().copied())
            .collect(),
        batch: k,
    };
    (0..k)
        .flat_map(|i| (0..k).map(move |j| (i, j)))
        .map(|(i, j)| model::score(&e, i, j))
        .collect()
}
