//! Pass 1 of accuracy@K: decode every track once to learn where its mix is
//! audible (and hash it for the cache), then draw the plans from the
//! profiles of all tracks.
//!
//! A shard of a sharded evaluation runs this pass over *every* track, not
//! only its own: the plans draw windows from all tracks, so every shard must
//! know all profiles to draw the same plans as a single run. It keeps the
//! decoded audio of its own tracks only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{FailedTrack, SkippedK, SubmixError, SubmixOptions, RETAIN_BYTES};
use crate::contract::SAMPLE_RATE;
use crate::eval::cache::Digest32;
use crate::eval::progress::Progress;
use crate::eval::protocol::{self, Plan, PlanError, TrackProfile};
use crate::eval::tracks::{TrackAudio, TrackListing, TrackSpec};

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

/// A track after pass 1.
pub(crate) struct Scanned {
    pub name: String,
    pub spec: TrackSpec,
    pub profile: TrackProfile,
    /// Position in the listing (failed tracks included): what shards split by.
    pub listing_index: usize,
    pub hash: Digest32,
    pub seconds: f64,
    /// Kept from pass 1 when it fits in memory and pass 2 needs it.
    pub audio: Option<TrackAudio>,
}

/// Pass 1 and the plans.
pub(crate) struct Scan {
    /// The tracks that decoded, in listing order.
    pub tracks: Vec<Scanned>,
    pub plans: Vec<Plan>,
    pub summary: ScanSummary,
}

pub(crate) fn decode_track(spec: &TrackSpec) -> Result<(TrackAudio, Option<String>), String> {
    let stems = spec
        .stems
        .iter()
        .map(|p| crate::audio::load_mono_16k(p).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TrackAudio::from_stems(&spec.name, stems))
}

/// Decodes and profiles every track of `listing`, then draws one plan per K.
/// `retain(i)` says whether pass 2 needs the audio of the `i`-th track of the
/// listing; such audio is kept while it fits in [`RETAIN_BYTES`].
pub(crate) fn scan(
    listing: &TrackListing,
    root: &std::path::Path,
    options: &SubmixOptions,
    progress: &dyn Progress,
    retain: impl Fn(usize) -> bool + Sync,
) -> Result<Scan, SubmixError> {
    let mut warnings = listing.warnings.clone();
    for w in &listing.warnings {
        progress.warn(w);
    }

    progress.begin("decoding tracks", listing.tracks.len() as u64);
    let retained = AtomicUsize::new(0);
    let pass_warnings = Mutex::new(Vec::new());
    let decoded: Vec<Result<Scanned, FailedTrack>> = listing
        .tracks
        .par_iter()
        .enumerate()
        .map(|(listing_index, spec)| {
            let result = decode_track(spec);
            progress.advance(1);
            let (audio, warning) = result.map_err(|error| FailedTrack {
                track: spec.name.clone(),
                error,
            })?;
            if let Some(w) = warning {
                progress.warn(&w);
                pass_warnings.lock().unwrap_or_else(|e| e.into_inner()).push(w);
            }
            let profile = TrackProfile::from_mix(&audio.mix(), audio.stems.len(), options.silence_dbfs);
            let bytes = audio.bytes();
            let keep = retain(listing_index) && {
                let total = retained.fetch_add(bytes, Ordering::Relaxed) + bytes;
                if total > RETAIN_BYTES {
                    retained.fetch_sub(bytes, Ordering::Relaxed);
                }
                total <= RETAIN_BYTES
            };
            Ok(Scanned {
                name: spec.name.clone(),
                spec: spec.clone(),
                listing_index,
                hash: audio.content_hash(),
                seconds: audio.len() as f64 / SAMPLE_RATE as f64,
                profile,
                audio: keep.then_some(audio),
            })
        })
        .collect();
    progress.end();
    let mut pass_warnings = pass_warnings.into_inner().unwrap_or_else(|e| e.into_inner());
    pass_warnings.sort();
    warnings.extend(pass_warnings);

    let mut tracks = Vec::new();
    let mut failed_tracks = Vec::new();
    for d in decoded {
        match d {
            Ok(track) => tracks.push(track),
            Err(failed) => {
                let w = format!("{}: skipped, cannot decode: {}", failed.track, failed.error);
                progress.warn(&w);
                warnings.push(w);
                failed_tracks.push(failed);
            }
        }
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
        audio_seconds: tracks.iter().map(|t| t.seconds).sum(),
    };
    let plans = draw_plans(&profiles, options, progress, &mut summary, root)?;
    Ok(Scan { tracks, plans, summary })
}

/// One plan per K (ascending, deduplicated), each reproducible from the seed
/// on its own; a K without enough material is skipped with a warning.
fn draw_plans(
    profiles: &[TrackProfile],
    options: &SubmixOptions,
    progress: &dyn Progress,
    summary: &mut ScanSummary,
    root: &std::path::Path,
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
