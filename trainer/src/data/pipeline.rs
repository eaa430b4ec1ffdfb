//! Feature workers: batches drawn by the [`sampler`](super::sampler), turned
//! into features of the run's input kind (`[2, 64, 501]` HPS or `[1, 64,
//! 501]` mel) by `cocola`'s extractor on CPU threads, the channel masks
//! applied, and handed to the training loop in order.
//!
//! Flow control by tickets: the consumer hands out batch numbers `prefetch`
//! ahead of the one it waits for; a worker takes a ticket, builds that whole
//! batch (one extractor per worker, no allocation per window beyond the
//! output), and sends it back. At most `prefetch` batches are ever in flight
//! or waiting, whatever the workers' relative speeds, and batches arrive in
//! order because each is identified by its number, not by arrival.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::JoinHandle;

use cocola::contract::InputKind;
use cocola::features::Extractor;
use cocola::mode::Mode;
use crossbeam_channel::{bounded, unbounded, Receiver, Sender};

use super::feature_cache::FeatureCache;
use super::hard_negatives::HardNegativeKind;
use super::sampler::{draw_batch, PairWindow, Pools, SamplerConfig, Stream};
use super::store::TrackStore;

/// Where a pair came from (features aside), for metrics and tests.
#[derive(Clone, Debug, PartialEq)]
pub struct PairInfo {
    pub track: usize,
    pub start: usize,
    pub anchor: Vec<usize>,
    pub positive: Vec<usize>,
    pub mask: Mode,
    /// The hard negative made from this pair's positive: kind and amount.
    pub negative: Option<(HardNegativeKind, i64)>,
}

/// One training batch: K anchor and K positive feature tensors, row-major
/// `[K, channels, 64, 501]` each, and the hard negatives' `[M, channels, 64,
/// 501]` (M = 0 without them), masks applied.
#[derive(Clone, Debug)]
pub struct Batch {
    pub index: u64,
    /// What the features are (their channel count).
    pub input: InputKind,
    pub k: usize,
    pub anchors: Vec<f32>,
    pub positives: Vec<f32>,
    pub negatives: Vec<f32>,
    pub pairs: Vec<PairInfo>,
}

impl Batch {
    /// Hard negatives in the batch (M).
    pub fn negative_count(&self) -> usize {
        self.negatives.len() / self.input.feature_len()
    }
}

/// Features of drawn windows, each pair masked with its mode.
pub fn featurize(index: u64, windows: Vec<PairWindow>, extractor: &mut Extractor) -> Batch {
    featurize_cached(index, windows, extractor, None)
}

/// [`featurize`], reading and filling a feature cache when one is given.
pub fn featurize_cached(
    index: u64,
    windows: Vec<PairWindow>,
    extractor: &mut Extractor,
    cache: Option<&FeatureCache>,
) -> Batch {
    let row = extractor.kind().feature_len();
    let mut extract = |audio: &[f32], out: &mut [f32]| match cache {
        Some(c) => c.extract_into(extractor, audio, out),
        None => extractor.extract_into(audio, out),
    };
    let k = windows.len();
    let mut anchors = vec![0.0f32; k * row];
    let mut positives = vec![0.0f32; k * row];
    let mut negatives = Vec::new();
    let mut pairs = Vec::with_capacity(k);
    for (i, w) in windows.into_iter().enumerate() {
        let a = &mut anchors[i * row..(i + 1) * row];
        extract(&w.anchor_audio, a);
        w.mask.apply_mask(a);
        let p = &mut positives[i * row..(i + 1) * row];
        extract(&w.positive_audio, p);
        w.mask.apply_mask(p);
        if let Some(n) = &w.negative {
            let at = negatives.len();
            negatives.resize(at + row, 0.0);
            extract(&n.audio, &mut negatives[at..]);
            w.mask.apply_mask(&mut negatives[at..]);
        }
        pairs.push(PairInfo {
            track: w.track,
            start: w.start,
            anchor: w.anchor,
            positive: w.positive,
            mask: w.mask,
            negative: w.negative.as_ref().map(|n| (n.kind, n.amount)),
        });
    }
    Batch {
        index,
        input: extractor.kind(),
        k,
        anchors,
        positives,
        negatives,
        pairs,
    }
}

/// What the workers draw from.
#[derive(Clone)]
pub struct Source {
    /// The features the network takes.
    pub input: InputKind,
    pub store: Arc<dyn TrackStore + Send + Sync>,
    pub pools: Pools,
    pub config: SamplerConfig,
    pub seed: u64,
    pub stream: Stream,
    /// Optional on-disk feature cache shared by the workers.
    pub features: Option<Arc<FeatureCache>>,
}

impl Source {
    /// An extractor of this source's input kind.
    pub fn extractor(&self) -> Extractor {
        Extractor::new(self.input)
    }

    /// Batch `index`, drawn and featurized on the calling thread with
    /// `extractor` (one of [`Self::extractor`]).
    pub fn batch(&self, index: u64, extractor: &mut Extractor) -> anyhow::Result<Batch> {
        let windows = draw_batch(&*self.store, &self.pools, &self.config, self.seed, self.stream, index)?;
        Ok(featurize_cached(index, windows, extractor, self.features.as_deref()))
    }
}

type Outcome = (u64, anyhow::Result<Batch>);

/// Background feature workers delivering batches `first, first + 1, ...`.
pub struct Pipeline {
    tickets: Option<Sender<u64>>,
    results: Receiver<Outcome>,
    waiting: BTreeMap<u64, anyhow::Result<Batch>>,
    next: u64,
    prefetch: u64,
    workers: Vec<JoinHandle<()>>,
}

impl Pipeline {
    pub fn start(source: Source, first: u64, workers: usize, prefetch: usize) -> Pipeline {
        let prefetch = prefetch.max(1) as u64;
        let (ticket_tx, ticket_rx) = unbounded::<u64>();
        let (result_tx, result_rx) = bounded::<Outcome>(prefetch as usize);
        for b in first..first + prefetch {
            ticket_tx.send(b).expect("receiver alive");
        }
        let workers = (0..workers.max(1))
            .map(|i| {
                let (tickets, results, source) = (ticket_rx.clone(), result_tx.clone(), source.clone());
                std::thread::Builder::new()
                    .name(format!("features-{i}"))
                    .spawn(move || {
                        let mut extractor = source.extractor();
                        // Ends when the consumer drops its ticket sender or its receiver.
                        while let Ok(b) = tickets.recv() {
                            if results.send((b, source.batch(b, &mut extractor))).is_err() {
                                break;
                            }
                        }
                    })
                    .expect("spawn feature worker")
            })
            .collect();
        Pipeline {
            tickets: Some(ticket_tx),
            results: result_rx,
            waiting: BTreeMap::new(),
            next: first,
            prefetch,
            workers,
        }
    }

    /// The next batch in order; blocks while the workers compute it.
    pub fn next_batch(&mut self) -> anyhow::Result<Batch> {
        loop {
            if let Some(batch) = self.waiting.remove(&self.next) {
                if let Some(t) = &self.tickets {
                    let _ = t.send(self.next + self.prefetch);
                }
                self.next += 1;
                return batch;
            }
            let (b, batch) = self
                .results
                .recv()
                .map_err(|_| anyhow::anyhow!("every feature worker stopped"))?;
            self.waiting.insert(b, batch);
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.tickets = None;
        // Unblock workers waiting to send, then wait for them to finish.
        while self.results.try_recv().is_ok() {}
        let (_, dead) = bounded::<Outcome>(0);
        let results = std::mem::replace(&mut self.results, dead);
        drop(results);
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::store::MemoryStore;

    fn source(k: usize) -> Source {
        let tone = |f: f32| {
            (0..16_000 * 8)
                .map(|i| 0.1 * (i as f32 * f * std::f32::consts::TAU / 16_000.0).sin())
                .collect::<Vec<f32>>()
        };
        let store = MemoryStore {
            tracks: vec![
                vec![tone(220.0), tone(330.0), tone(440.0)],
                vec![tone(100.0), tone(150.0)],
            ],
        };
        Source {
            input: InputKind::Hps,
            store: Arc::new(store),
            pools: Pools::new(vec![(1.0, vec![0, 1])]).unwrap(),
            config: SamplerConfig::paper(k),
            seed: 5,
            stream: Stream::Train,
            features: None,
        }
    }

    #[test]
    fn batches_arrive_in_order_and_match_a_single_thread() {
        let src = source(2);
        let mut p = Pipeline::start(src.clone(), 3, 2, 2);
        let mut ex = src.extractor();
        let row = InputKind::Hps.feature_len();
        for b in 3..6 {
            let got = p.next_batch().unwrap();
            let want = src.batch(b, &mut ex).unwrap();
            assert_eq!(got.index, b);
            assert_eq!(got.pairs, want.pairs);
            assert_eq!(got.anchors, want.anchors);
            for (i, pair) in got.pairs.iter().enumerate() {
                let a = &got.anchors[i * row..(i + 1) * row];
                let (h, perc) = a.split_at(row / 2);
                assert_eq!(h.iter().all(|&v| v == 0.0), pair.mask == Mode::Percussive);
                assert_eq!(perc.iter().all(|&v| v == 0.0), pair.mask == Mode::Harmonic);
            }
        }
        drop(p); // joins the workers without hanging
    }

    #[test]
    fn a_mel_source_gives_one_unmasked_channel_per_window() {
        let src = Source {
            input: InputKind::Mel,
            config: SamplerConfig {
                masks: crate::data::sampler::Masks::Off,
                ..SamplerConfig::paper(2)
            },
            ..source(2)
        };
        let batch = src.batch(0, &mut src.extractor()).unwrap();
        assert_eq!(batch.anchors.len(), 2 * InputKind::Mel.feature_len());
        assert!(batch.pairs.iter().all(|p| p.mask == Mode::Both));
        assert!(batch.anchors.iter().all(|v| (-100.0..60.0).contains(v)));
    }

    #[test]
    fn a_feature_cache_changes_no_batch_and_serves_repeated_windows() {
        let root = tempfile::tempdir().unwrap();
        let plain = source(2);
        let cache = Arc::new(FeatureCache::open(root.path(), u64::MAX, InputKind::Hps).unwrap());
        let cached = Source {
            features: Some(cache.clone()),
            ..plain.clone()
        };
        let mut ex = plain.extractor();
        let want = plain.batch(7, &mut ex).unwrap();
        for round in 0..2 {
            let mut p = Pipeline::start(cached.clone(), 7, 2, 1);
            let got = p.next_batch().unwrap();
            assert_eq!(got.anchors, want.anchors);
            assert_eq!(got.positives, want.positives);
            let s = cache.stats();
            // Batch 7 again: its 4 windows (2 pairs) all come from the cache.
            // Workers run ahead, so a batch the first pipeline prefetched
            // before it was dropped may add its own hits in the second round.
            if round == 0 {
                assert_eq!(s.hits, 0);
            } else {
                assert!(s.hits >= 4, "{} hits", s.hits);
            }
        }
    }
}
