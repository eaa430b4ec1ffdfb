//! The windows each anchor needs, built from its track's audio: the
//! condition sub-mix, the true stem, its transposed and shifted versions,
//! and (from another track) the foreign stem; each described for the floor.

use std::cell::RefCell;

use rayon::prelude::*;

use super::floor::{Descriptors, FloorAnalyzer, NegativeKind};
use super::plan::Anchor;
use crate::contract::SAMPLE_RATE;
use crate::dsp::onset::{beat_period, OnsetAnalyzer};
use crate::eval::tracks::TrackAudio;
use crate::perturb;

/// What a window is to its anchor; the value numbers its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    Condition = 0,
    Target = 1,
    Transposed = 2,
    Shifted = 3,
    Foreign = 4,
}

pub(super) const ROLES: [Role; 5] = [
    Role::Condition,
    Role::Target,
    Role::Transposed,
    Role::Shifted,
    Role::Foreign,
];

/// The window compared with the true stem for `kind`.
pub(super) fn role_of(kind: NegativeKind) -> Role {
    match kind {
        NegativeKind::Transposed => Role::Transposed,
        NegativeKind::Shifted => Role::Shifted,
        NegativeKind::Foreign => Role::Foreign,
    }
}

/// The track whose audio a window of `anchor` is read from (`None`: the
/// anchor has no such window).
pub(super) fn source_track(anchor: &Anchor, role: Role) -> Option<usize> {
    match role {
        Role::Foreign => anchor.foreign.map(|f| f.track),
        _ => Some(anchor.track),
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) struct WindowRequest {
    pub anchor: usize,
    pub role: Role,
}

pub(super) struct BuiltWindow {
    pub request: WindowRequest,
    pub samples: Vec<f32>,
    pub descriptors: Descriptors,
    /// For the shifted window: the measured beat period (s) and the delay
    /// applied (samples).
    pub beat: Option<(Option<f32>, usize)>,
}

/// Shortest and longest delay of the shifted negative, in seconds.
const DELAY_RANGE_S: (f64, f64) = (0.2, 0.7);
/// The beat assumed when none can be measured (120 BPM).
const DEFAULT_BEAT_S: f64 = 0.5;

/// The delay of the shifted negative, in samples: an odd multiple of half a
/// sixteenth note of the measured beat (`(n + 1/2) * beat / 4`), between 0.2
/// and 0.7 s, the `choice`-th (0..1) of those. Such a delay falls between
/// the sixteenth-note grid lines, so it is off the eighth-note grid even if
/// the beat was measured at half or double the true tempo (a half-tempo
/// reading puts the delay on odd sixteenths, still off the eighths).
pub fn off_grid_delay(beat_seconds: Option<f32>, choice: f64) -> usize {
    let sixteenth = beat_seconds.map_or(DEFAULT_BEAT_S, f64::from) / 4.0;
    let (lo, hi) = DELAY_RANGE_S;
    let first = (lo / sixteenth - 0.5).ceil().max(0.0) as usize;
    let last = ((hi / sixteenth - 0.5).floor() as usize).max(first);
    let n = first + ((choice.clamp(0.0, 1.0) * (last - first + 1) as f64) as usize).min(last - first);
    ((n as f64 + 0.5) * sixteenth * SAMPLE_RATE as f64).round() as usize
}

thread_local! {
    static ANALYZERS: RefCell<(FloorAnalyzer, OnsetAnalyzer)> = RefCell::new(Default::default());
}

/// Builds and describes the requested windows of one track, in parallel,
/// returned in request order.
pub(super) fn build(audio: &TrackAudio, anchors: &[Anchor], requests: &[WindowRequest]) -> Vec<BuiltWindow> {
    requests
        .par_iter()
        .map(|&request| {
            ANALYZERS.with(|cell| {
                let (floor, onsets) = &mut *cell.borrow_mut();
                let anchor = &anchors[request.anchor];
                let target = |start: usize| audio.submix_window(start, &[anchor.target]);
                let mut beat = None;
                let samples = match request.role {
                    Role::Condition => audio.submix_window(anchor.start, &anchor.condition),
                    Role::Target => target(anchor.start),
                    Role::Transposed => {
                        let len = target(anchor.start).len();
                        perturb::transposed_window(
                            &audio.stems[anchor.target],
                            anchor.start,
                            len,
                            f64::from(anchor.semitones),
                        )
                    }
                    Role::Shifted => {
                        let all: Vec<usize> = (0..audio.stems.len()).collect();
                        let mix = audio.submix_window(anchor.start, &all);
                        let measured = beat_period(&onsets.envelope(&mix));
                        let delay = off_grid_delay(measured, anchor.delay_choice);
                        beat = Some((measured, delay));
                        perturb::delayed_window(&audio.stems[anchor.target], anchor.start, mix.len(), delay as isize)
                    }
                    Role::Foreign => {
                        let f = anchor.foreign.expect("foreign windows are requested only when drawn");
                        audio.submix_window(f.start, &[f.stem])
                    }
                };
                BuiltWindow {
                    request,
                    descriptors: floor.describe(&samples),
                    samples,
                    beat,
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_fall_between_the_sixteenth_grid_lines_within_range() {
        for beat in [0.3f32, 0.4, 0.5, 0.6, 0.75, 1.0, 1.2] {
            let sixteenth = f64::from(beat) / 4.0 * SAMPLE_RATE as f64;
            for step in 0..20 {
                let d = off_grid_delay(Some(beat), step as f64 / 20.0);
                let seconds = d as f64 / SAMPLE_RATE as f64;
                assert!(
                    (0.2 - 1e-3..=0.7 + 0.16).contains(&seconds),
                    "beat {beat}: delay {seconds}"
                );
                let phase = (d as f64 / sixteenth).fract();
                assert!(
                    (phase - 0.5).abs() < 0.01,
                    "beat {beat}: delay {seconds} s at grid phase {phase}"
                );
                // hence also off the eighth-note grid
                assert!(((d as f64 / (2.0 * sixteenth)).fract() - 0.5).abs() > 0.2);
            }
        }
        assert_eq!(off_grid_delay(None, 0.0), off_grid_delay(Some(0.5), 0.0));
    }

    #[test]
    fn every_choice_is_reachable() {
        let all: std::collections::BTreeSet<usize> =
            (0..100).map(|i| off_grid_delay(Some(0.5), i as f64 / 100.0)).collect();
        // beat 0.5 s: sixteenth 0.125 s, delays 0.1875 (too short), 0.3125, 0.4375, 0.5625, 0.6875
        assert_eq!(all.len(), 4, "{all:?}");
        assert_eq!(*all.iter().next().unwrap(), 5_000);
    }
}
