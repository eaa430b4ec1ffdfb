//! The two passes over a set of tracks that the track evaluations share
//! (accuracy@K in [`submix`](super::submix), sensitivity in
//! [`sensitivity`](super::sensitivity)).
//!
//! [`scan_listing`] runs a pass-1 scan over every track in parallel and
//! gathers what failed and what was warned about. Accuracy@K scans with
//! [`track_index`](super::track_index) (streaming, cached, windows read
//! later). The sensitivity test needs each stem's note starts, so it decodes
//! whole tracks ([`scan_tracks`]) to learn what the draws need (a profile of
//! the caller's choosing) and to hash it; pass 2
//! ([`ScannedTrack::take_audio`]) hands each track's audio back for the
//! windows drawn from it. Decoded tracks are kept between the passes while
//! they fit in [`RETAIN_BYTES`]; larger sets are decoded again, and a track
//! whose content changed in between is an error (its draws would no longer
//! mean anything).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::progress::Progress;
use super::tracks::{TrackAudio, TrackListing, TrackSpec};
use crate::content_hash::Digest32;
use crate::contract::SAMPLE_RATE;

/// Decoded audio kept in memory between the two passes (1 GiB: a test split
/// of MUSDB18-HQ at 16 kHz is about 3 GB, a quick check far less).
pub const RETAIN_BYTES: usize = 1 << 30;

/// A track that could not be decoded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailedTrack {
    pub track: String,
    pub error: String,
}

/// Why a track's audio could not be had again in pass 2.
#[derive(Debug, thiserror::Error)]
pub enum RescanError {
    #[error("{track}: the stem files changed while the evaluation ran")]
    Changed { track: String },
    #[error("{track}: {error}")]
    Decode { track: String, error: String },
}

/// A track after pass 1.
pub struct ScannedTrack<P> {
    pub name: String,
    pub spec: TrackSpec,
    /// Position in the listing (failed tracks included): what shards split by.
    pub listing_index: usize,
    pub profile: P,
    pub hash: Digest32,
    pub seconds: f64,
    audio: Option<TrackAudio>,
}

impl<P> ScannedTrack<P> {
    /// The track's audio: the copy kept from pass 1, or decoded again (and
    /// checked against pass 1's hash).
    pub fn take_audio(&mut self) -> Result<TrackAudio, RescanError> {
        if let Some(audio) = self.audio.take() {
            return Ok(audio);
        }
        let (audio, _) = TrackAudio::decode(&self.spec).map_err(|error| RescanError::Decode {
            track: self.name.clone(),
            error,
        })?;
        if audio.content_hash() != self.hash {
            return Err(RescanError::Changed {
                track: self.name.clone(),
            });
        }
        Ok(audio)
    }
}

/// The outcome of pass 1: the scanned tracks in listing order, the ones that
/// failed, and the warnings raised (listing warnings first, then sorted).
pub struct Scan<T> {
    pub tracks: Vec<T>,
    pub failed: Vec<FailedTrack>,
    pub warnings: Vec<String>,
}

/// Pass 1: decodes every track of `listing` in parallel and computes
/// `profile` of each; failures are reported (and warned about), not fatal.
/// The decoded audio is kept for pass 2 while it fits in [`RETAIN_BYTES`].
pub fn scan_tracks<P: Send>(
    listing: &TrackListing,
    progress: &dyn Progress,
    profile: impl Fn(&TrackAudio, &TrackSpec) -> P + Sync,
) -> Scan<ScannedTrack<P>> {
    let retained = AtomicUsize::new(0);
    scan_listing(listing, progress, "decoding tracks", |listing_index, spec| {
        let (audio, warning) = TrackAudio::decode(spec)?;
        let profile = profile(&audio, spec);
        let bytes = audio.bytes();
        let total = retained.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if total > RETAIN_BYTES {
            retained.fetch_sub(bytes, Ordering::Relaxed);
        }
        let keep = total <= RETAIN_BYTES;
        let track = ScannedTrack {
            name: spec.name.clone(),
            spec: spec.clone(),
            listing_index,
            hash: audio.content_hash(),
            seconds: audio.len() as f64 / SAMPLE_RATE as f64,
            profile,
            audio: keep.then_some(audio),
        };
        Ok((track, warning))
    })
}

/// Runs `scan` (given the listing position and the track) over every track
/// of `listing` in parallel, under a progress bar titled `what`: the tracks
/// it accepts in listing order, the ones it fails (with a warning each), and
/// the listing's and the scans' warnings (listing first, then sorted).
pub fn scan_listing<T: Send>(
    listing: &TrackListing,
    progress: &dyn Progress,
    what: &str,
    scan: impl Fn(usize, &TrackSpec) -> Result<(T, Option<String>), String> + Sync,
) -> Scan<T> {
    let mut warnings = listing.warnings.clone();
    for w in &listing.warnings {
        progress.warn(w);
    }
    progress.begin(what, listing.tracks.len() as u64);
    let pass_warnings = Mutex::new(Vec::new());
    let scanned: Vec<Result<T, FailedTrack>> = listing
        .tracks
        .par_iter()
        .enumerate()
        .map(|(listing_index, spec)| {
            let result = scan(listing_index, spec);
            progress.advance(1);
            let (track, warning) = result.map_err(|error| FailedTrack {
                track: spec.name.clone(),
                error,
            })?;
            if let Some(w) = warning {
                progress.warn(&w);
                pass_warnings.lock().unwrap_or_else(|e| e.into_inner()).push(w);
            }
            Ok(track)
        })
        .collect();
    progress.end();
    let mut pass_warnings = pass_warnings.into_inner().unwrap_or_else(|e| e.into_inner());
    pass_warnings.sort();
    warnings.extend(pass_warnings);

    let mut tracks = Vec::new();
    let mut failed = Vec::new();
    for s in scanned {
        match s {
            Ok(track) => tracks.push(track),
            Err(f) => {
                let w = format!("{}: skipped, cannot decode: {}", f.track, f.error);
                progress.warn(&w);
                warnings.push(w);
                failed.push(f);
            }
        }
    }
    Scan {
        tracks,
        failed,
        warnings,
    }
}
