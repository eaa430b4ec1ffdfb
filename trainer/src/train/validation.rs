//! Validation: the contrastive loss and the batch accuracy (paper Eq. 4 at
//! K = batch size) on a fixed set of validation batches, drawn once per run
//! from the validation split's own stream, in inference mode; and the
//! sensitivity test's win rates on a fixed set of validation anchors.

use std::collections::BTreeMap;

use cocola::eval::sensitivity::SensitivityReport;
use tch::Device;

use super::batch_tensors;
use crate::data::pipeline::Batch;
use crate::model::net::contrastive_loss;
use crate::model::Network;

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
