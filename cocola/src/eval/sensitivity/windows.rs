//! The windows each anchor needs, built from its track's audio: the
//! condition sub-mix, the true stem untouched and through the shifter and
//! back (in key), its transposed and shifted versions, and (from another
//! track) the foreign stem; each described for the floor.

use std::cell::RefCell;

use rayon::prelude::*;

use super::floor::{Descriptors, FloorAnalyzer, NegativeKind};
use super::plan::Anchor;
use crate::dsp::onset::OnsetAnalyzer;
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
    /// The true stem through the shifter by the carrier and back.
    InKey = 5,
}

pub(super) const ROLES: [Role; 6] = [
    Role::Condition,
    Role::Target,
    Role::Transposed,
    Role::Shifted,
    Role::Foreign,
    Role::InKey,
];

/// The negative's window for `kind`.
pub(super) fn role_of(kind: NegativeKind) -> Role {
    match kind {
        NegativeKind::Transposed => Role::Transposed,
        NegativeKind::Shifted => Role::Shifted,
        NegativeKind::Foreign => Role::Foreign,
    }
}

/// The true stem's window for `kind`: processed as the negative is, so
/// that the comparison is decided by the fit, not by the processing. A
/// delayed stem is untouched audio, a transposed one went through the
/// shifter twice.
pub(super) fn truth_role_of(kind: NegativeKind) -> Role {
    match kind {
        NegativeKind::Transposed => Role::InKey,
        NegativeKind::Shifted | NegativeKind::Foreign => Role::Target,
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
                    Role::Transposed | Role::InKey => {
                        let len = target(anchor.start).len();
                        let second = match request.role {
                            Role::Transposed => anchor.semitones - anchor.carrier,
                            _ => -anchor.carrier,
                        };
                        let mut windows = perturb::transposed_twice_windows(
                            &audio.stems[anchor.target],
                            anchor.start,
                            len,
                            f64::from(anchor.carrier),
                            &[f64::from(second)],
                        );
                        windows.pop().expect("one window per second pass")
                    }
                    Role::Shifted => {
                        let all: Vec<usize> = (0..audio.stems.len()).collect();
                        let mix = audio.submix_window(anchor.start, &all);
                        let (delay, measured) = perturb::off_beat_delay(onsets, &mix, anchor.delay_choice);
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
