//! The whole-file path of accuracy@K: every track decoded in full (twice
//! when the set does not fit in [`RETAIN_BYTES`](crate::eval::scan::RETAIN_BYTES)),
//! its profile computed from the whole mix, windows cut from the decoded
//! stems and cached by their samples. This is how accuracy@K ran before
//! windowed decoding, kept as the reference the windowed path is tested
//! against (`tests/eval_windowed.rs`: the same numbers) and measured against
//! (`benches/eval_stems.rs`).

use std::path::Path;

use super::prepare::draw_plans;
use super::slots::{accuracies, SlotLayout, SlotStore};
use super::{ModeAccuracy, ScanSummary, SubmixError, SubmixOptions};
use crate::eval::cache::EmbeddingCache;
use crate::eval::embed::{Encoder, WindowEmbedder};
use crate::eval::progress::Progress;
use crate::eval::protocol::{Plan, Side, TrackProfile};
use crate::eval::scan::{scan_tracks, Scan};
use crate::eval::tracks::discover_tracks;

/// Accuracy@K of `root` the whole-file way; the results of
/// [`evaluate_submixes`](super::evaluate_submixes) on the same set.
pub fn evaluate_whole_files<E: Encoder>(
    encoder: &mut E,
    cache: &EmbeddingCache,
    root: &Path,
    options: &SubmixOptions,
    progress: &dyn Progress,
) -> Result<Vec<ModeAccuracy>, SubmixError> {
    let listing = discover_tracks(root)?;
    let Scan {
        mut tracks, warnings, ..
    } = scan_tracks(&listing, progress, |audio, _| {
        TrackProfile::from_mix(&audio.mix(), audio.stems.len(), options.silence_dbfs)
    });
    let profiles: Vec<TrackProfile> = tracks.iter().map(|t| t.profile.clone()).collect();
    if !profiles.iter().any(TrackProfile::usable) {
        return Err(SubmixError::NoUsableTrack(root.to_owned()));
    }
    let mut summary = ScanSummary {
        tracks_found: listing.tracks.len(),
        tracks_used: 0,
        failed_tracks: Vec::new(),
        skipped: Vec::new(),
        warnings,
        audio_seconds: 0.0,
    };
    let plans = draw_plans(&profiles, options, progress, &mut summary, root)?;

    let layout = SlotLayout::of(&plans);
    let mut per_track: Vec<Vec<(usize, usize, Vec<usize>)>> = vec![Vec::new(); tracks.len()];
    for (slot, r) in plans.iter().flat_map(Plan::requests).enumerate() {
        per_track[r.track].push((slot, r.start, r.stems.to_vec()));
    }
    let mut store = SlotStore::new(layout.len(), options.modes.len());
    let mut sink = |slot: usize, m: usize, f: &[f32], wf: &[f32]| {
        let half = if layout.slots[slot].1 == Side::Anchor { f } else { wf };
        store.put(slot, m, half);
    };
    let mut embedder = WindowEmbedder::new(encoder, cache, &options.modes)?;
    for (track, requests) in tracks.iter_mut().zip(&per_track) {
        if requests.is_empty() {
            continue;
        }
        let audio = track.take_audio()?;
        embedder.open_group(track.hash);
        for (slot, start, stems) in requests {
            embedder.submit(track.hash, *slot, audio.submix_window(*start, stems), &mut sink)?;
        }
        embedder.close_group(track.hash);
    }
    embedder.finish(&mut sink)?;
    drop(embedder);
    Ok(accuracies(&plans, &store, options))
}
