//! `cocola-trainer eval`: accuracy@K (paper Eq. 4, Tables I-II) of a
//! checkpoint on one split of each dataset, per mode, by `cocola`'s own
//! protocol (`cocola::eval::evaluate_listing`): the same draws, sub-mixes and
//! tie rule as `cocola eval --stems` uses on an exported model, so the two
//! numbers are comparable. Only the encoder differs: here the tch network.
//! The sensitivity test (`cocola eval --stems --sensitivity`) likewise runs
//! on a checkpoint, also during training at each validation.

use std::path::Path;

use cocola::eval::sensitivity::{evaluate_sensitivity_listing, SensitivityOptions, SensitivityReport};
use cocola::eval::tracks::{TrackListing, TrackSpec};
use cocola::eval::{evaluate_listing, EmbeddingCache, Encoder, NoProgress, SubmixOptions, SubmixReport};
use cocola::model::{Embeddings, ModelError};
use tch::Device;

use crate::data::dataset::{DatasetSpec, Split};
use crate::data::layouts::discover;
use crate::export::embed;
use crate::model::Network;

/// The tch network as `cocola`'s evaluation encoder.
pub struct TchEncoder<'a> {
    pub net: &'a Network,
}

impl Encoder for TchEncoder<'_> {
    fn input(&self) -> cocola::contract::InputKind {
        self.net.arch.input
    }
    fn encode(&mut self, features: &[f32], rows: usize) -> Result<Embeddings, ModelError> {
        let (e, we) = embed(self.net, features, rows);
        let host = |t: tch::Tensor| Vec::<f32>::try_from(t.to_device(Device::Cpu).flatten(0, -1));
        let bad = |e: tch::TchError| ModelError::BadTensor {
            name: "embedding".into(),
            detail: e.to_string(),
        };
        Ok(Embeddings {
            embedding: host(e).map_err(bad)?,
            w_embedding: host(we).map_err(bad)?,
            batch: rows,
        })
    }
}

/// The `split` tracks of the datasets `specs` (split with `seed` where a
/// dataset has no official split), as `cocola`'s evaluations list them.
pub fn split_listing(specs: &[DatasetSpec], split: Split, seed: u64) -> anyhow::Result<TrackListing> {
    let mut listing = TrackListing::default();
    for spec in specs {
        let found = discover(spec, seed)?;
        listing.warnings.extend(found.warnings);
        listing.tracks.extend(
            found
                .tracks
                .into_iter()
                .filter(|t| t.split == split)
                .map(|t| TrackSpec {
                    name: if specs.len() > 1 {
                        format!("{}/{}", spec.kind.label(), t.name)
                    } else {
                        t.name
                    },
                    stems: t.stems,
                }),
        );
    }
    let roots: Vec<String> = specs.iter().map(|s| s.root.display().to_string()).collect();
    anyhow::ensure!(
        !listing.tracks.is_empty(),
        "{}: no {} tracks",
        roots.join(", "),
        split.name()
    );
    Ok(listing)
}

/// The sensitivity test of `net` on `listing` (`root` names it in reports).
pub fn sensitivity(
    net: &Network,
    root: &Path,
    listing: TrackListing,
    options: &SensitivityOptions,
) -> anyhow::Result<SensitivityReport> {
    let mut encoder = TchEncoder { net };
    Ok(evaluate_sensitivity_listing(
        &mut encoder,
        &EmbeddingCache::disabled(),
        root,
        listing,
        options,
        &NoProgress,
    )?)
}

/// Accuracy@K of `net` on the `split` tracks of `spec`.
pub fn evaluate(
    net: &Network,
    spec: &DatasetSpec,
    split: Split,
    seed: u64,
    options: &SubmixOptions,
) -> anyhow::Result<SubmixReport> {
    let listing = split_listing(std::slice::from_ref(spec), split, seed)?;
    let mut encoder = TchEncoder { net };
    Ok(evaluate_listing(
        &mut encoder,
        &EmbeddingCache::disabled(),
        &spec.root,
        listing,
        options,
        &NoProgress,
    )?)
}
