//! What the worker publishes for the GUI (and tests): one self-contained
//! [`Snapshot`], handed over through a triple buffer so that neither side
//! ever waits for the other.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use cocola::calibration::Verdict;
use cocola::model_source::ModelInfo;
use cocola::score::alternatives::Change;
use cocola::score::WindowScores;

use crate::params::HeadlineMode;

/// Points kept in the timeline (at the shortest hop, 0.5 s, over 4 minutes).
pub const TIMELINE_POINTS: usize = 512;

/// What the analyzer is doing, one state per message the GUI shows.
#[derive(Clone, Debug, PartialEq)]
pub enum State {
    /// The plugin is not active yet (the host has not started processing).
    Inactive,
    /// A model is being loaded.
    LoadingModel,
    /// No model chosen and this build ships none.
    NoModel,
    /// The chosen model file could not be loaded (message says why).
    ModelFailed(String),
    /// ONNX Runtime was not found or would not load (message lists where it looked).
    OrtNotFound(String),
    /// The layout has no sidechain, or the sidechain is digital silence.
    NoSidechain,
    /// Less than one window of audio heard since the start (or the last reset).
    Listening { heard_seconds: f32 },
    /// The last window was below the silence threshold on one side or both.
    Silent { condition: bool, stem: bool },
    /// Windows are being scored.
    Scoring,
}

/// One analysed window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// End of the window, in 16 kHz samples since the last reset.
    pub end_sample: u64,
    /// Song position of the window's end, when the host reports the transport.
    pub song_seconds: Option<f64>,
    pub outcome: Outcome,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    /// `scores` is this window's result exactly as `cocola` computed it;
    /// `smoothed` the raw scores after the smoothing parameter, per mode in
    /// `Mode::ALL` order (NaN for a mode the model does not have: a model
    /// without HPS has only `both`).
    Scored {
        scores: WindowScores,
        smoothed: [f32; 3],
    },
    Silent {
        condition: bool,
        stem: bool,
    },
    NoSidechain,
}

/// What one of the checks (`crate::checks`) says.
#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    /// Switched off by its parameter.
    Off,
    /// No window checked yet since the start (or the last reset).
    Waiting,
    /// This model cannot be asked; the words say why.
    Unavailable(String),
    /// The reading of the last `windows` checked windows.
    Read {
        /// The best change of this kind (transposition, or move) fits
        /// clearly better than the stem as it is.
        flagged: bool,
        /// The change that scores highest.
        best: Change,
        /// Its combined log-odds over the stem's as it is.
        gain: f32,
        windows: usize,
        /// The reading in words, as `cocola score --alternatives` prints it.
        words: String,
    },
}

/// The key check (transpositions) and the timing check (moves).
#[derive(Clone, Debug, PartialEq)]
pub struct Checks {
    pub key: Check,
    pub timing: Check,
}

impl Checks {
    /// Both checks saying the same.
    pub fn both(check: Check) -> Self {
        Self {
            key: check.clone(),
            timing: check,
        }
    }
}

/// The headline: one mode's score or the combined fit, smoothed,
/// calibrated when the model allows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Headline {
    pub shows: HeadlineMode,
    /// The raw score of the mode shown (of `both` under the combined fit).
    pub raw: f32,
    pub fit: Option<f32>,
    pub verdict: Option<Verdict>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub state: State,
    /// The loaded model, for the status line and the picker.
    pub model: Option<ModelInfo>,
    /// How long resolving and loading it took.
    pub model_load_ms: Option<f32>,
    pub headline: Option<Headline>,
    /// Smoothed (raw, fit) of the harmonic and percussive modes, for the bars
    /// (`None` before the first score, and for a model without HPS).
    pub harmonic: Option<(f32, Option<f32>)>,
    pub percussive: Option<(f32, Option<f32>)>,
    pub checks: Checks,
    /// Most recent last.
    pub timeline: VecDeque<Point>,
    /// Encoder time (features + ORT) of the last scored window.
    pub inference_ms: Option<f32>,
    pub windows_scored: u64,
    /// Windows passed over in real time because a later one was already due.
    pub windows_skipped: u64,
    pub dropped_frames: u64,
    pub host_sample_rate: f32,
    /// Bumped on every publish, so readers can tell a new snapshot from an old one.
    pub serial: u64,
}

impl Default for Snapshot {
    fn default() -> Self {
        Self {
            state: State::Inactive,
            model: None,
            model_load_ms: None,
            headline: None,
            harmonic: None,
            percussive: None,
            checks: Checks::both(Check::Waiting),
            timeline: VecDeque::with_capacity(TIMELINE_POINTS),
            inference_ms: None,
            windows_scored: 0,
            windows_skipped: 0,
            dropped_frames: 0,
            host_sample_rate: 0.0,
            serial: 0,
        }
    }
}

impl Snapshot {
    pub fn push_point(&mut self, p: Point) {
        if self.timeline.len() == TIMELINE_POINTS {
            self.timeline.pop_front();
        }
        self.timeline.push_back(p);
    }

    /// Forgets scores and timeline, keeps the model and state.
    pub fn clear_history(&mut self) {
        self.timeline.clear();
        self.headline = None;
        self.harmonic = None;
        self.percussive = None;
        self.inference_ms = None;
        // A reading of audio the analysis has forgotten would outlive the
        // reset by up to 5 s.
        self.forget_checks();
    }

    /// The key and timing readings go back to waiting; switched off or
    /// unavailable says the same as before.
    pub fn forget_checks(&mut self) {
        for check in [&mut self.checks.key, &mut self.checks.timing] {
            if matches!(check, Check::Read { .. }) {
                *check = Check::Waiting;
            }
        }
    }
}

/// The worker's end.
pub struct Publisher {
    input: triple_buffer::Input<Snapshot>,
}

impl Publisher {
    pub fn publish(&mut self, snapshot: &mut Snapshot) {
        snapshot.serial += 1;
        // clone_from reuses the spare buffer's timeline allocation.
        self.input.input_buffer_mut().clone_from(snapshot);
        self.input.publish();
    }
}

/// The readers' end, shared by the GUI and tests (they only lock it against
/// each other; the worker never touches this lock).
#[derive(Clone)]
pub struct Monitor {
    output: Arc<Mutex<triple_buffer::Output<Snapshot>>>,
}

impl Monitor {
    /// The newest published snapshot (cloned).
    pub fn latest(&self) -> Snapshot {
        let mut out = self.output.lock().unwrap_or_else(|e| e.into_inner());
        out.read().clone()
    }

    /// Runs `f` on the newest snapshot without cloning it.
    pub fn with_latest<R>(&self, f: impl FnOnce(&Snapshot) -> R) -> R {
        let mut out = self.output.lock().unwrap_or_else(|e| e.into_inner());
        f(out.read())
    }
}

pub fn channel() -> (Publisher, Monitor) {
    let (input, output) = triple_buffer::triple_buffer(&Snapshot::default());
    (
        Publisher { input },
        Monitor {
            output: Arc::new(Mutex::new(output)),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_forgets_the_readings_but_not_why_there_are_none() {
        let mut snapshot = Snapshot {
            checks: Checks {
                key: Check::Read {
                    flagged: true,
                    best: Change::Transpose { semitones: 2 },
                    gain: 1.0,
                    windows: 6,
                    words: "probably out of key".into(),
                },
                timing: Check::Unavailable("why".into()),
            },
            ..Snapshot::default()
        };
        snapshot.clear_history();
        assert_eq!(snapshot.checks.key, Check::Waiting);
        assert_eq!(snapshot.checks.timing, Check::Unavailable("why".into()));
    }
}
