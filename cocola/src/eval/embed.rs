//! Embedding many 5 s windows under several modes, fast: cache first, then
//! features for the misses in parallel, then the encoder over many rows per
//! call.
//!
//! Windows are submitted one at a time, grouped by what they belong to (a
//! track) for the cache; misses queue up across groups until enough rows
//! have gathered for efficient encoder runs. Results go to a sink as they are
//! known (hits at once, misses after the flush that computes them), tagged
//! with the caller's slot number, so the caller keeps only what it needs.

use std::collections::HashMap;

use rayon::prelude::*;

use super::cache::{entry_key, CacheGroup, EmbeddingCache};
use crate::content_hash::{window_hash, Digest32};
use crate::contract::{InputKind, EMBEDDING_DIM};
use crate::features::with_thread_extractor;
use crate::mode::Mode;
use crate::model::{Embeddings, Model, ModelError};

/// Encoder rows per call. Measured on the EfficientNet-B0 encoder (ONNX
/// Runtime 1.31, CPU): the cost per row grows with the batch beyond a few
/// rows (32 rows: ~1.3x the per-row time of 6-8, the activations outgrow the
/// caches), and the per-call overhead is negligible, so small runs win.
pub const ROWS_PER_RUN: usize = 8;
/// Queued rows that trigger a flush: several encoder runs' worth, so that the
/// features of many windows are computed in one parallel sweep.
const FLUSH_ROWS: usize = 6 * ROWS_PER_RUN;
/// A cache entry holds f(x) then W f(x).
pub const ENTRY_DIM: usize = 2 * EMBEDDING_DIM;

/// What turns feature rows into embeddings: the model, or a stand-in in tests.
pub trait Encoder {
    /// The features it takes.
    fn input(&self) -> InputKind;
    /// Embeds `rows` feature tensors (`rows x input().feature_len()` values).
    fn encode(&mut self, features: &[f32], rows: usize) -> Result<Embeddings, ModelError>;
}

impl Encoder for Model {
    fn input(&self) -> InputKind {
        Model::input(self)
    }
    fn encode(&mut self, features: &[f32], rows: usize) -> Result<Embeddings, ModelError> {
        self.embed(features, rows)
    }
}

/// A scorer splits each run between its sessions (one thread each).
impl Encoder for crate::score::Scorer {
    fn input(&self) -> InputKind {
        self.model().input()
    }
    fn encode(&mut self, features: &[f32], rows: usize) -> Result<Embeddings, ModelError> {
        self.embed_features(features, rows)
    }
}

/// Receives results: (slot, index into the embedder's modes, f(x), W f(x)).
pub type Sink<'s> = dyn FnMut(usize, usize, &[f32], &[f32]) + 's;

/// Counters of one embedder's work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmbedStats {
    pub windows: u64,
    /// (window, mode) results served from the cache.
    pub cached_rows: u64,
    /// Rows the encoder computed, and the calls it took.
    pub encoder_rows: u64,
    pub encoder_runs: u64,
}

struct Job {
    group: Digest32,
    slot: usize,
    samples: Vec<f32>,
    /// (mode index, cache key) of the results still missing.
    missing: Vec<(usize, Digest32)>,
}

struct Group {
    entries: CacheGroup,
    closed: bool,
    pending: usize,
}

/// Cached, batched, parallel embedding of windows.
pub struct WindowEmbedder<'a, E: Encoder> {
    encoder: &'a mut E,
    cache: &'a EmbeddingCache,
    modes: Vec<Mode>,
    queue: Vec<Job>,
    queued_rows: usize,
    groups: HashMap<Digest32, Group>,
    batch: Vec<f32>,
    stats: EmbedStats,
}

impl<'a, E: Encoder> WindowEmbedder<'a, E> {
    /// Fails if a mode needs channels the encoder's input does not have (a
    /// model without HPS has the plain score only).
    pub fn new(encoder: &'a mut E, cache: &'a EmbeddingCache, modes: &[Mode]) -> Result<Self, ModelError> {
        for &mode in modes {
            encoder.input().check_mode(mode).map_err(ModelError::BadInput)?;
        }
        Ok(Self {
            encoder,
            cache,
            modes: modes.to_vec(),
            queue: Vec::new(),
            queued_rows: 0,
            groups: HashMap::new(),
            batch: Vec::new(),
            stats: EmbedStats::default(),
        })
    }

    pub fn stats(&self) -> EmbedStats {
        self.stats
    }

    /// Opens a cache group (a track, a file); windows submitted under it are
    /// looked up in, and added to, its cache file.
    pub fn open_group(&mut self, group: Digest32) {
        let cache = self.cache;
        self.groups.entry(group).or_insert_with(|| Group {
            entries: cache.load(&group, ENTRY_DIM),
            closed: false,
            pending: 0,
        });
    }

    /// No more windows for `group`: its cache file is written once its
    /// queued windows are computed.
    pub fn close_group(&mut self, group: Digest32) {
        if let Some(g) = self.groups.get_mut(&group) {
            g.closed = true;
        }
        self.store_finished_groups();
    }

    /// Submits one window (<= 5 s of 16 kHz samples; shorter is zero-padded
    /// by the features) of an open group, identified in the cache by the
    /// hash of its samples. Cached results go to `sink` now, the others
    /// after the flush that computes them.
    pub fn submit(
        &mut self,
        group: Digest32,
        slot: usize,
        samples: Vec<f32>,
        sink: &mut Sink<'_>,
    ) -> Result<(), ModelError> {
        let window = window_hash(&samples);
        self.submit_identified(group, slot, window, samples, sink)
    }

    /// Serves `slot` from the cache if every mode of the window `window`
    /// (an identity the caller derives without the samples, see
    /// [`crate::eval::track_index`]) is there, and returns whether it did;
    /// if not, the caller produces the samples and
    /// [`submit_identified`](Self::submit_identified)s them. Lets a warm run
    /// skip reading the audio.
    pub fn serve_cached(&mut self, group: Digest32, slot: usize, window: &Digest32, sink: &mut Sink<'_>) -> bool {
        self.open_group(group);
        let g = self.groups.get(&group).expect("group opened above");
        let keys: Vec<Digest32> = self.modes.iter().map(|&mode| entry_key(window, mode)).collect();
        if !keys.iter().all(|k| g.entries.get(k).is_some()) {
            return false;
        }
        for (m, key) in keys.iter().enumerate() {
            let entry = g.entries.get(key).expect("checked above");
            sink(slot, m, &entry[..EMBEDDING_DIM], &entry[EMBEDDING_DIM..]);
        }
        self.stats.windows += 1;
        self.stats.cached_rows += keys.len() as u64;
        self.cache.record(keys.len() as u64, 0);
        true
    }

    /// [`submit`](Self::submit) with the window's cache identity given.
    pub fn submit_identified(
        &mut self,
        group: Digest32,
        slot: usize,
        window: Digest32,
        samples: Vec<f32>,
        sink: &mut Sink<'_>,
    ) -> Result<(), ModelError> {
        self.open_group(group);
        self.stats.windows += 1;
        let g = self.groups.get_mut(&group).expect("group opened above");
        let mut missing = Vec::new();
        for (m, &mode) in self.modes.iter().enumerate() {
            let key = entry_key(&window, mode);
            match g.entries.get(&key) {
                Some(entry) => sink(slot, m, &entry[..EMBEDDING_DIM], &entry[EMBEDDING_DIM..]),
                None => missing.push((m, key)),
            }
        }
        let hits = (self.modes.len() - missing.len()) as u64;
        self.stats.cached_rows += hits;
        self.cache.record(hits, missing.len() as u64);
        if missing.is_empty() {
            return Ok(());
        }
        g.pending += 1;
        self.queued_rows += missing.len();
        self.queue.push(Job {
            group,
            slot,
            samples,
            missing,
        });
        if self.queued_rows >= FLUSH_ROWS {
            self.flush(sink)?;
        }
        Ok(())
    }

    /// Embeds `windows` of one group under every mode of the embedder, now:
    /// row `w * modes + m` of the result is window `w` under mode `m`. For
    /// callers that score as they go (one pair at a time) rather than
    /// gathering a whole plan first.
    pub fn embed_now(&mut self, group: Digest32, windows: &[&[f32]]) -> Result<Embeddings, ModelError> {
        let modes = self.modes.len();
        let rows = windows.len() * modes;
        let mut embedding = vec![0.0f32; rows * EMBEDDING_DIM];
        let mut w_embedding = vec![0.0f32; rows * EMBEDDING_DIM];
        let mut sink = |slot: usize, m: usize, f: &[f32], wf: &[f32]| {
            let row = slot * modes + m;
            embedding[row * EMBEDDING_DIM..(row + 1) * EMBEDDING_DIM].copy_from_slice(f);
            w_embedding[row * EMBEDDING_DIM..(row + 1) * EMBEDDING_DIM].copy_from_slice(wf);
        };
        self.open_group(group);
        for (slot, window) in windows.iter().enumerate() {
            self.submit(group, slot, window.to_vec(), &mut sink)?;
        }
        self.flush(&mut sink)?;
        self.close_group(group);
        Ok(Embeddings {
            embedding,
            w_embedding,
            batch: rows,
        })
    }

    /// Computes everything queued and writes every cache file.
    pub fn finish(&mut self, sink: &mut Sink<'_>) -> Result<(), ModelError> {
        self.flush(sink)?;
        for g in self.groups.values_mut() {
            g.closed = true;
        }
        self.store_finished_groups();
        Ok(())
    }

    fn flush(&mut self, sink: &mut Sink<'_>) -> Result<(), ModelError> {
        let jobs = std::mem::take(&mut self.queue);
        self.queued_rows = 0;
        if jobs.is_empty() {
            return Ok(());
        }
        // Features once per window, in parallel; masks per mode when batching.
        let input = self.encoder.input();
        let row_len = input.feature_len();
        let features: Vec<Vec<f32>> = jobs
            .par_iter()
            .map(|job| with_thread_extractor(input, |e| e.extract(&job.samples)))
            .collect();
        let rows: Vec<(usize, usize, Digest32)> = jobs
            .iter()
            .enumerate()
            .flat_map(|(j, job)| job.missing.iter().map(move |&(m, key)| (j, m, key)))
            .collect();
        for chunk in rows.chunks(ROWS_PER_RUN) {
            self.batch.resize(chunk.len() * row_len, 0.0);
            for (row, &(j, m, _)) in self.batch.chunks_exact_mut(row_len).zip(chunk) {
                row.copy_from_slice(&features[j]);
                self.modes[m].apply_mask(row);
            }
            let embeddings = self.encoder.encode(&self.batch, chunk.len())?;
            self.stats.encoder_runs += 1;
            self.stats.encoder_rows += chunk.len() as u64;
            for (r, &(j, m, key)) in chunk.iter().enumerate() {
                let (f, wf) = (embeddings.embedding(r), embeddings.w_embedding(r));
                sink(jobs[j].slot, m, f, wf);
                if let Some(g) = self.groups.get_mut(&jobs[j].group) {
                    let mut entry = Vec::with_capacity(ENTRY_DIM);
                    entry.extend_from_slice(f);
                    entry.extend_from_slice(wf);
                    g.entries.insert(key, entry);
                }
            }
        }
        for job in &jobs {
            if let Some(g) = self.groups.get_mut(&job.group) {
                g.pending -= 1;
            }
        }
        self.store_finished_groups();
        Ok(())
    }

    fn store_finished_groups(&mut self) {
        let done: Vec<Digest32> = self
            .groups
            .iter()
            .filter(|(_, g)| g.closed && g.pending == 0)
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            if let Some(mut g) = self.groups.remove(&id) {
                self.cache.store(&mut g.entries);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::FEATURE_LEN;
    use crate::features::FeatureExtractor;

    /// A stand-in encoder: f(x) = mean of the row's features in every
    /// component, W f(x) = twice that; counts rows and calls.
    #[derive(Default)]
    struct Fake {
        rows: usize,
        calls: usize,
    }

    impl Encoder for Fake {
        fn input(&self) -> InputKind {
            InputKind::Hps
        }
        fn encode(&mut self, features: &[f32], rows: usize) -> Result<Embeddings, ModelError> {
            self.rows += rows;
            self.calls += 1;
            assert!(rows <= ROWS_PER_RUN);
            let means: Vec<f32> = features
                .chunks_exact(FEATURE_LEN)
                .map(|r| r.iter().sum::<f32>() / FEATURE_LEN as f32)
                .collect();
            Ok(Embeddings {
                embedding: means.iter().flat_map(|&m| [m; EMBEDDING_DIM]).collect(),
                w_embedding: means.iter().flat_map(|&m| [2.0 * m; EMBEDDING_DIM]).collect(),
                batch: rows,
            })
        }
    }

    fn tone(freq: f32, len: usize) -> Vec<f32> {
        (0..len)
            .map(|i| 0.3 * (i as f32 * freq * 2.0 * std::f32::consts::PI / 16_000.0).sin())
            .collect()
    }

    #[test]
    fn rows_follow_windows_and_modes_and_hit_the_cache_on_reuse() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EmbeddingCache::open(dir.path(), "model").unwrap();
        let windows: Vec<Vec<f32>> = (0..7)
            .map(|i| tone(100.0 + 50.0 * i as f32, 80_000 - 1000 * i))
            .collect();
        let refs: Vec<&[f32]> = windows.iter().map(Vec::as_slice).collect();
        let mut fake = Fake::default();
        let first = WindowEmbedder::new(&mut fake, &cache, &Mode::ALL)
            .unwrap()
            .embed_now([1; 32], &refs)
            .unwrap();
        assert_eq!(first.batch, 21);
        assert_eq!((fake.rows, fake.calls), (21, 3));
        // Row w * 3 + m is window w under mode m: masked channels lower the mean
        // (dB features are <= 0, masking sets them to 0), so modes differ.
        for (w, window) in windows.iter().enumerate() {
            let mut extractor = FeatureExtractor::new();
            let mut features = extractor.extract(window);
            Mode::Percussive.apply_mask(&mut features);
            let mean = features.iter().sum::<f32>() / FEATURE_LEN as f32;
            assert_eq!(first.embedding(w * 3 + 2)[0], mean);
            assert_eq!(first.w_embedding(w * 3 + 2)[5], 2.0 * mean);
        }
        // Same windows again, a fresh embedder: all from the cache file.
        let mut fake = Fake::default();
        let mut embedder = WindowEmbedder::new(&mut fake, &cache, &Mode::ALL).unwrap();
        let again = embedder.embed_now([1; 32], &refs).unwrap();
        assert_eq!(embedder.stats().cached_rows, 21);
        assert_eq!(embedder.stats().encoder_rows, 0);
        assert_eq!(again, first);
        assert_eq!(fake.rows, 0);
        // Another mode subset reuses the entries it shares.
        let mut fake = Fake::default();
        let harmonic = WindowEmbedder::new(&mut fake, &cache, &[Mode::Harmonic])
            .unwrap()
            .embed_now([1; 32], &refs[..2])
            .unwrap();
        assert_eq!(fake.rows, 0);
        assert_eq!(harmonic.embedding(1), first.embedding(3 + 1));
    }

    #[test]
    fn submissions_across_groups_are_batched_and_each_group_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EmbeddingCache::open(dir.path(), "model").unwrap();
        let mut fake = Fake::default();
        let mut got = Vec::new();
        {
            let mut sink = |slot: usize, m: usize, f: &[f32], _: &[f32]| got.push((slot, m, f[0]));
            let mut embedder = WindowEmbedder::new(&mut fake, &cache, &[Mode::Both]).unwrap();
            for g in 0..5u8 {
                embedder.open_group([g; 32]);
                for i in 0..3 {
                    let slot = 3 * g as usize + i;
                    embedder
                        .submit([g; 32], slot, tone(200.0 + slot as f32 * 10.0, 40_000), &mut sink)
                        .unwrap();
                }
                embedder.close_group([g; 32]);
            }
            embedder.finish(&mut sink).unwrap();
        }
        // 15 rows in runs of at most 8, across groups.
        assert_eq!((fake.rows, fake.calls), (15, 2));
        got.sort_by_key(|g| g.0);
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), (0..15).collect::<Vec<_>>());
        assert_eq!(std::fs::read_dir(cache.dir().unwrap()).unwrap().count(), 5);
        assert_eq!(cache.stats().files_written, 5);
    }
}
