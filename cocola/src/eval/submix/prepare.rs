//! What accuracy@K knows before embedding anything: pass 1 over the tracks
//! (each track's [`TrackIndex`]: streamed once, or found in the cache), with
//! each track's silence profile, then the plans drawn from the profiles of
//! all tracks.
//!
//! A shard of a sharded evaluation runs this over *every* track, not only
//! its own: the plans draw windows from all tracks, so every shard must know
//! all profiles to draw the same plans as a single run.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{FailedTrack, SkippedK, SubmixError, SubmixOptions};
use crate::content_hash::Digest32;
use crate::eval::progress::Progress;
use crate::eval::protocol::{self, Plan, PlanError, TrackProfile};
use crate::eval::scan::{scan_listing, Scan};
use crate::eval::track_index::{IndexCache, TrackIndex};
use crate::eval::tracks::TrackListing;

/// A track after pass 1.
pub(crate) struct IndexedTrack {
    pub name: String,
    /// Position in the listing (failed tracks included): what shards split by.
    pub listing_index: usize,
    pub index: TrackIndex,
    /// [`TrackIndex::key`], computed once.
    pub key: Digest32,
    pub profile: TrackProfile,
}

/// What pass 1 and the plans tell about the set, the same in every shard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScanSummary {
    pub tracks_found: usize,
    /// Tracks with >= 2 stems and some audible window.
    pub tracks_used: usize,
    pub failed_tracks: Vec<FailedTrack>,
    pub skipped: Vec<SkippedK>,
    pub warnings: Vec<String>,
    /// Total duration of the decoded tracks.
    pub audio_seconds: f64,
}

/// Pass 1 and the plans.
pub(crate) struct Prepared {
    /// The tracks that decoded, in listing order.
    pub tracks: Vec<IndexedTrack>,
    pub plans: Vec<Plan>,
    pub summary: ScanSummary,
}

/// Indexes and profiles every track of `listing` (through `indexes`), then
/// draws one plan per K.
pub(crate) fn prepare(
    listing: &TrackListing,
    root: &Path,
    options: &SubmixOptions,
    progress: &dyn Progress,
    indexes: &IndexCache,
) -> Result<Prepared, SubmixError> {
    let Scan {
        tracks,
        failed: failed_tracks,
        mut warnings,
    } = scan_listing(listing, progress, "scanning tracks", |listing_index, spec| {
        let (index, _) = indexes.index(spec)?;
        let warning = index.warning.clone();
        let track = IndexedTrack {
            name: spec.name.clone(),
            listing_index,
            key: index.key(),
            profile: index.profile(options.silence_dbfs),
            index,
        };
        Ok((track, warning))
    });
    if let Some(error) = indexes.first_write_error() {
        progress.warn(&format!(
            "the track index cache could not be written ({error}); results are unaffected"
        ));
    }
    for t in tracks
        .iter()
        .filter(|t| t.profile.stems >= 2 && t.profile.audible_starts.is_empty())
    {
        let w = format!(
            "{}: skipped, the mix is silent (below {} dBFS) throughout",
            t.name, options.silence_dbfs
        );
        progress.warn(&w);
        warnings.push(w);
    }
    let profiles: Vec<TrackProfile> = tracks.iter().map(|t| t.profile.clone()).collect();
    let tracks_used = profiles.iter().filter(|p| p.usable()).count();
    if tracks_used == 0 {
        return Err(SubmixError::NoUsableTrack(root.to_owned()));
    }
    let mut summary = ScanSummary {
        tracks_found: listing.tracks.len(),
        tracks_used,
        failed_tracks,
        skipped: Vec::new(),
        warnings,
        audio_seconds: tracks.iter().map(|t| t.index.seconds()).sum(),
    };
    let plans = draw_plans(&profiles, options, progress, &mut summary, root)?;
    Ok(Prepared { tracks, plans, summary })
}

/// One plan per K (ascending, deduplicated), each reproducible from the seed
/// on its own; a K without enough material is skipped with a warning.
pub(super) fn draw_plans(
    profiles: &[TrackProfile],
    options: &SubmixOptions,
    progress: &dyn Progress,
    summary: &mut ScanSummary,
    root: &Path,
) -> Result<Vec<Plan>, SubmixError> {
    let mut ks = options.ks.clone();
    ks.sort_unstable();
    ks.dedup();
    let mut plans = Vec::new();
    for k in ks {
        match protocol::plan(profiles, k, options.batches_for(k), options.seed) {
            Ok(plan) => plans.push(plan),
            Err(e @ (PlanError::NotEnoughMaterial { .. } | PlanError::KTooSmall(_))) => {
                let w = format!("K = {k} skipped: {e}");
                progress.warn(&w);
                summary.warnings.push(w);
                summary.skipped.push(SkippedK {
                    k,
                    reason: e.to_string(),
                });
            }
            Err(PlanError::NoUsableTrack) => return Err(SubmixError::NoUsableTrack(root.to_owned())),
        }
    }
    Ok(plans)
}
