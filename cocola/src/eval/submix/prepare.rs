//! What accuracy@K knows before embedding anything: pass 1 over the tracks
//! ([`crate::eval::scan`]) with each track's silence profile, then the
//! plans drawn from the profiles of all tracks.
//!
//! A shard of a sharded evaluation runs this over *every* track, not only
//! its own: the plans draw windows from all tracks, so every shard must know
//! all profiles to draw the same plans as a single run. It keeps the decoded
//! audio of its own tracks only.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{FailedTrack, SkippedK, SubmixError, SubmixOptions};
use crate::eval::progress::Progress;
use crate::eval::protocol::{self, Plan, PlanError, TrackProfile};
use crate::eval::scan::{scan_tracks_retaining, Scan, ScannedTrack};
use crate::eval::tracks::TrackListing;

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
    pub tracks: Vec<ScannedTrack<TrackProfile>>,
    pub plans: Vec<Plan>,
    pub summary: ScanSummary,
}

/// Decodes and profiles every track of `listing`, then draws one plan per K.
/// `retain(i)` says whether pass 2 needs the audio of the `i`-th track of the
/// listing (see [`scan_tracks_retaining`]).
pub(crate) fn prepare(
    listing: &TrackListing,
    root: &Path,
    options: &SubmixOptions,
    progress: &dyn Progress,
    retain: impl Fn(usize) -> bool + Sync,
) -> Result<Prepared, SubmixError> {
    let Scan {
        tracks,
        failed: failed_tracks,
        mut warnings,
    } = scan_tracks_retaining(listing, progress, retain, |audio, _| {
        TrackProfile::from_mix(&audio.mix(), audio.stems.len(), options.silence_dbfs)
    });
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
        audio_seconds: tracks.iter().map(|t| t.seconds).sum(),
    };
    let plans = draw_plans(&profiles, options, progress, &mut summary, root)?;
    Ok(Prepared { tracks, plans, summary })
}

/// One plan per K (ascending, deduplicated), each reproducible from the seed
/// on its own; a K without enough material is skipped with a warning.
fn draw_plans(
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
