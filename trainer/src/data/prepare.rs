//! From `--data` specs to something the sampler can draw from: the tracks of
//! one split of every dataset, in the stem cache, grouped by dataset with the
//! spec's weight.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use super::dataset::{DatasetSpec, Split};
use super::layouts::discover;
use super::sampler::Pools;
use super::stem_cache;
use super::store::CacheStore;

/// One split, ready to sample.
pub struct SplitData {
    pub store: Arc<CacheStore>,
    pub pools: Pools,
    /// Every track or stem left out, one line each.
    pub warnings: Vec<String>,
    /// Tracks decoded in this run (not already cached).
    pub decoded: usize,
}

/// Lists, caches and pools the `split` tracks of all `specs`. Fails if no
/// dataset has a usable track in that split.
pub fn load_split(
    specs: &[DatasetSpec],
    split: Split,
    seed: u64,
    cache_dir: &Path,
    threads: usize,
    progress: &(dyn Fn() + Sync),
) -> anyhow::Result<SplitData> {
    let mut warnings = Vec::new();
    let mut tracks = Vec::new();
    let mut owner = Vec::new();
    for (d, spec) in specs.iter().enumerate() {
        let listing = discover(spec, seed)?;
        warnings.extend(listing.warnings);
        for t in listing.tracks.into_iter().filter(|t| t.split == split) {
            tracks.push(t);
            owner.push(d);
        }
    }
    anyhow::ensure!(!tracks.is_empty(), "no {} tracks in any dataset given", split.name());
    let prepared = stem_cache::prepare(cache_dir, &tracks, threads, progress)?;
    warnings.extend(prepared.warnings);
    // Map cached tracks back to their dataset by (dataset label, name).
    let mut pools: Vec<(f64, Vec<usize>)> = specs.iter().map(|s| (s.weight, Vec::new())).collect();
    for (i, cached) in prepared.tracks.iter().enumerate() {
        if let Some(j) = tracks
            .iter()
            .position(|t| t.dataset == cached.dataset && t.name == cached.name)
        {
            pools[owner[j]].1.push(i);
        }
    }
    let pools = Pools::new(pools).map_err(|_| {
        anyhow::anyhow!(
            "no usable {} track: every one was skipped (see the warnings)",
            split.name()
        )
    })?;
    Ok(SplitData {
        store: Arc::new(CacheStore::open(prepared.tracks)?),
        pools,
        warnings,
        decoded: prepared.decoded,
    })
}

/// The stem cache keys of every track, of every split, of all `specs`: what
/// a cache serving these data sets may hold (see [`stem_cache::unused_entries`]).
pub fn cache_keys(specs: &[DatasetSpec], seed: u64) -> anyhow::Result<HashSet<String>> {
    let mut keys = HashSet::new();
    for spec in specs {
        keys.extend(discover(spec, seed)?.tracks.iter().map(stem_cache::entry_key));
    }
    Ok(keys)
}
