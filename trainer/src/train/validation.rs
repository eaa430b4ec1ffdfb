//! Validation: the contrastive loss and the batch accuracy (paper Eq. 4 at
//! K = batch size) on a fixed set of validation batches, drawn once per run
//! from the validation split's own stream, in inference mode; the run's own
//! hard negatives' win rates on validation pairs (when the recipe has them);
//! and the sensitivity test's win rates on a fixed set of validation anchors.
//!
//! The two win rates answer different questions: the hard negatives' says
//! whether the model learns what the recipe asks (its own pairs, masks and
//! processing), the sensitivity test's whether that carries over to what
//! users are scored on. A recipe whose first rises while the second falls
//! teaches something other than what the test measures.

use std::collections::BTreeMap;
use std::sync::Arc;

use cocola::eval::sensitivity::{SensitivityOptions, SensitivityReport};
use cocola::eval::stats::{win, WinRate};
use cocola::eval::tracks::TrackListing;
use cocola::mode::Mode;
use indicatif::ProgressBar;
use tch::Device;

use super::config::TrainConfig;
use super::metrics::{Metrics, Record};
use super::{batch_tensors, device, hard_negative_owners, TrainingState};
use crate::data::dataset::Split;
use crate::data::feature_cache::FeatureCache;
use crate::data::pipeline::{Batch, Pipeline, Source};
use crate::data::prepare::SplitData;
use crate::data::sampler::{Masks, SamplerConfig, Stream};
use crate::model::net::contrastive_loss;
use crate::model::Network;

/// Where the hard-negative validation batches start in the validation
/// stream: far from the plain ones, so they are other windows.
const HARD_BATCHES_FROM: u64 = 1 << 32;

/// Mean loss and accuracy over `batches`.
pub fn evaluate(net: &Network, batches: &[Batch], device: Device) -> (f64, f64) {
    tch::no_grad(|| {
        let (mut loss, mut acc) = (0.0, 0.0);
        for b in batches {
            let (a, p) = batch_tensors(b, device);
            let (l, ac) = contrastive_loss(&net.pair_similarity(&a, &p, false));
            loss += l.double_value(&[]);
            acc += ac.double_value(&[]);
        }
        let n = batches.len().max(1) as f64;
        (loss / n, acc / n)
    })
}

/// How often a pair's positive scores above the hard negative made from it
/// (`cocola`'s win rule: ties count one half), per mode (the pair's channel
/// mask) and kind of hard negative.
pub fn hard_negative_win_rates(net: &Network, batches: &[Batch], device: Device) -> BTreeMap<(Mode, String), WinRate> {
    let mut outcomes: BTreeMap<(Mode, String), Vec<f64>> = BTreeMap::new();
    tch::no_grad(|| {
        for b in batches {
            let owners = hard_negative_owners(b);
            if owners.is_empty() {
                continue;
            }
            let (a, c) = batch_tensors(b, device);
            let sim = net.pair_similarity(&a, &c, false).to_device(Device::Cpu);
            for (column, &owner) in owners.iter().enumerate() {
                let own = sim.double_value(&[owner as i64, owner as i64]);
                let negative = sim.double_value(&[owner as i64, (b.k + column) as i64]);
                let pair = &b.pairs[owner];
                let (kind, _) = pair.negative.expect("owners have a negative");
                (outcomes.entry((pair.mask, kind.name().to_string())).or_default()).push(win(own, negative));
            }
        }
    });
    (outcomes.into_iter())
        .filter_map(|(key, o)| WinRate::of(&o).map(|rate| (key, rate)))
        .collect()
}

/// Win rates per mode (and the floor's) per negative kind, as the metrics
/// record them.
pub fn sensitivity_rates(report: &SensitivityReport) -> BTreeMap<String, BTreeMap<String, f64>> {
    let mut rates: BTreeMap<String, BTreeMap<String, f64>> = report
        .model
        .iter()
        .map(|m| {
            let kinds = m
                .kinds
                .iter()
                .map(|k| (k.kind.name().to_string(), k.win.rate))
                .collect();
            (m.mode.name().to_string(), kinds)
        })
        .collect();
    rates.insert(
        "floor".into(),
        report
            .floor
            .iter()
            .map(|f| (f.result.kind.name().to_string(), f.result.win.rate))
            .collect(),
    );
    rates
}

/// One line for the console: `both 53/55/74 %, harmonic ..., floor 70/77/82 %`
/// (transposed / shifted / foreign).
pub fn sensitivity_line(rates: &BTreeMap<String, BTreeMap<String, f64>>) -> String {
    let cell = |kinds: &BTreeMap<String, f64>| {
        ["transposed", "shifted", "foreign"]
            .iter()
            .map(|k| kinds.get(*k).map_or("-".to_string(), |r| format!("{:.0}", 100.0 * r)))
            .collect::<Vec<_>>()
            .join("/")
    };
    ["both", "harmonic", "percussive", "floor"]
        .iter()
        .filter_map(|name| rates.get(*name).map(|kinds| format!("{name} {} %", cell(kinds))))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What every validation measures: fixed validation batches (loss and
/// accuracy), fixed batches with the recipe's hard negatives, and the
/// sensitivity test's validation tracks.
pub(super) struct ValidationSet {
    batches: Vec<Batch>,
    hard_batches: Vec<Batch>,
    /// Listed once; the test's anchors are drawn from the seed, the same
    /// at every validation.
    sensitivity_tracks: Option<TrackListing>,
}

impl ValidationSet {
    pub(super) fn prepare(
        cfg: &TrainConfig,
        validation: Option<&SplitData>,
        feature_cache: &Option<Arc<FeatureCache>>,
    ) -> ValidationSet {
        let wanted = cfg.validation_batches > 0 && cfg.validate_every > 0;
        let draw = |sampler: SamplerConfig, from: u64| -> anyhow::Result<Vec<Batch>> {
            let Some(v) = validation.filter(|_| wanted) else {
                return Ok(Vec::new());
            };
            let source = Source {
                input: cfg.input,
                store: v.store.clone(),
                pools: v.pools.clone(),
                config: sampler,
                seed: cfg.seed,
                stream: Stream::Validation,
                features: feature_cache.clone(),
            };
            let mut p = Pipeline::start(source, from, cfg.workers, cfg.prefetch);
            (0..cfg.validation_batches).map(|_| p.next_batch()).collect()
        };
        // No random channel masks in validation: with a mask drawn per
        // pair, matching the mask alone beats chance (a first CPU run's
        // validation read 13-17 % @32 while the model was at chance on
        // unmasked pairs), and no noise: what is measured is coherence.
        let mut plain = cfg.sampler();
        plain.masks = Masks::Off;
        plain.noise_std = 0.0;
        // The validation loss stays the paper's (comparable across recipes).
        plain.hard_negatives = 0.0;
        let batches = draw(plain, 0).unwrap_or_else(|e| {
            // Too little validation audio must not stop a training run.
            eprintln!("warning: no validation: the validation split cannot fill a batch: {e}");
            Vec::new()
        });
        // The recipe's own hard negatives (kinds, processing, twins), one
        // per pair, under the recipe's masks drawn per batch: a kind is
        // measured in the modes that should reject it, as it is trained (a
        // one-channel model has no masks: its pairs keep the both mode).
        let hard_batches = if cfg.hard_negatives > 0.0 && !batches.is_empty() {
            let mut hard = cfg.sampler();
            if cfg.input.splits_harmonic_percussive() {
                hard.masks = Masks::PerBatch;
            }
            hard.noise_std = 0.0;
            hard.hard_negatives = 1.0;
            draw(hard, HARD_BATCHES_FROM).unwrap_or_else(|e| {
                eprintln!("warning: no hard-negative validation: {e}");
                Vec::new()
            })
        } else {
            Vec::new()
        };
        let wants_sensitivity = cfg.sensitivity_anchors > 0 || cfg.final_sensitivity_anchors > 0;
        let sensitivity_tracks = if wants_sensitivity && !batches.is_empty() {
            match crate::eval::split_listing(&cfg.data, Split::Validation, cfg.seed) {
                Ok(listing) => Some(listing),
                Err(e) => {
                    eprintln!("warning: no sensitivity test in validation: {e}");
                    None
                }
            }
        } else {
            None
        };
        ValidationSet {
            batches,
            hard_batches,
            sensitivity_tracks,
        }
    }

    /// Whether there is nothing to validate on (no validation split).
    pub(super) fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    pub(super) fn due(&self, cfg: &TrainConfig, done: u64, last: bool) -> bool {
        !self.batches.is_empty() && (done.is_multiple_of(cfg.validate_every) || Self::final_test(cfg, last))
    }

    /// The last step, when it gets its own (larger) sensitivity test.
    fn final_test(cfg: &TrainConfig, last: bool) -> bool {
        last && cfg.final_sensitivity_anchors > 0
    }

    /// Anchors of the sensitivity test of the step that ends `done` steps: more at the last.
    fn sensitivity_anchors(cfg: &TrainConfig, last: bool) -> usize {
        if Self::final_test(cfg, last) {
            cfg.final_sensitivity_anchors
        } else {
            cfg.sensitivity_anchors
        }
    }

    /// Validates the network after `done` steps and records the results;
    /// true when the validation loss is the best so far.
    pub(super) fn run(
        &self,
        cfg: &TrainConfig,
        state: &mut TrainingState,
        done: u64,
        last: bool,
        metrics: &mut Metrics,
        progress: &ProgressBar,
    ) -> anyhow::Result<bool> {
        let (vl, va) = self.measure(cfg, &state.net, done, last, metrics, progress)?;
        state.last_validation = (Some(vl), Some(va));
        let improved = vl.is_finite() && state.best.is_none_or(|b| vl < b);
        if improved {
            state.best = Some(vl);
        }
        Ok(improved)
    }

    /// Validates a fine-tune's starting weights (its base model) and
    /// records them as step 0: the line every later validation of the run
    /// is read against. Nothing else changes: the best checkpoint is still
    /// the run's own best.
    pub(super) fn run_base(
        &self,
        cfg: &TrainConfig,
        net: &Network,
        metrics: &mut Metrics,
        progress: &ProgressBar,
    ) -> anyhow::Result<()> {
        self.measure(cfg, net, 0, false, metrics, progress).map(drop)
    }

    /// The validation loss and accuracy of `net` after `done` steps, and
    /// the sensitivity test when one is due, written to `metrics`.
    fn measure(
        &self,
        cfg: &TrainConfig,
        net: &Network,
        done: u64,
        last: bool,
        metrics: &mut Metrics,
        progress: &ProgressBar,
    ) -> anyhow::Result<(f64, f64)> {
        let device = device(cfg);
        let (vl, va) = evaluate(net, &self.batches, device);
        metrics.write(&Record::Validation {
            step: done,
            loss: vl,
            accuracy: va,
        })?;
        if !self.hard_batches.is_empty() {
            let rates = hard_negative_win_rates(net, &self.hard_batches, device);
            progress.println(format!(
                "step {done}: the recipe's hard negatives on validation pairs, positive wins: {}",
                (rates.iter())
                    .map(|((mode, kind), w)| format!("{} {kind} {:.1} % of {}", mode.name(), 100.0 * w.rate, w.n))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            let mut pairs: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
            let mut win_rates: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
            for ((mode, kind), w) in rates {
                pairs.entry(mode.name().into()).or_default().insert(kind.clone(), w.n);
                win_rates.entry(mode.name().into()).or_default().insert(kind, w.rate);
            }
            metrics.write(&Record::HardNegatives {
                step: done,
                pairs,
                win_rates,
            })?;
        }
        let anchors = Self::sensitivity_anchors(cfg, last);
        if let Some(listing) = self.sensitivity_tracks.as_ref().filter(|_| anchors > 0) {
            let options = SensitivityOptions {
                anchors,
                seed: cfg.seed,
                modes: cfg.input.modes().to_vec(),
                ..SensitivityOptions::default()
            };
            match crate::eval::sensitivity(net, &cfg.out, listing.clone(), &options) {
                Ok(report) => {
                    let win_rates = sensitivity_rates(&report);
                    // The split may hold fewer anchors than asked for.
                    let measured = report.anchors.len();
                    progress.println(format!(
                        "step {done}: validation loss {vl:.4}, acc {va:.3}; sensitivity on {measured} anchors (transposed/shifted/foreign) {}",
                        sensitivity_line(&win_rates)
                    ));
                    metrics.write(&Record::Sensitivity {
                        step: done,
                        anchors: measured,
                        win_rates,
                    })?;
                }
                Err(e) => progress.println(format!("warning: the sensitivity test failed at step {done}: {e}")),
            }
        }
        Ok((vl, va))
    }
}
