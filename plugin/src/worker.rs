//! The worker thread: started by `activate`, stopped by `deactivate` or when
//! the plugin is dropped. It owns the model and the analyzer, polls the feed
//! (the audio thread never wakes it: that would be a syscall), and publishes
//! a [`Snapshot`] whenever something visible changed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use nice_plug::prelude::*;

use crate::analyzer::{Analyzer, Settings};
use crate::feed::{FeedReader, FeedStats};
use crate::loader::{self, LoadOutcome, LoadedModel};
use crate::params::{CocolaParams, ModelChoice};
use crate::snapshot::{Publisher, Snapshot, State};

/// How long the worker sleeps when the feed is empty. Short enough that a
/// window's score is on screen well within 100 ms of its end.
const POLL: Duration = Duration::from_millis(5);

/// What outlives one activation: the loaded model, the published history,
/// and the publishing end. Only the running worker locks it.
pub struct Carry {
    pub publisher: Publisher,
    pub snapshot: Snapshot,
    pub model: Option<LoadedModel>,
    /// The state to show when `model` is `None`.
    pub model_state: State,
    /// The (choice, reload generation) last attempted.
    pub attempted: Option<(ModelChoice, u64)>,
}

/// State shared by the plugin, its worker and its GUI for the plugin's whole life.
pub struct Shared {
    pub params: Arc<CocolaParams>,
    pub carry: Mutex<Carry>,
    /// Bumped by the GUI's "load" button: reload even if the choice is unchanged.
    pub reload_generation: AtomicU64,
    /// Set by the GUI's "reset history" button.
    pub reset_requested: AtomicBool,
    pub stats: Arc<FeedStats>,
    /// Asks the GUI to repaint (an atomic flag, no syscall).
    pub repaint: nice_plug_egui::RepaintNotifier,
}

pub struct Worker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    pub fn spawn(shared: Arc<Shared>, feed: FeedReader, analyzer: Analyzer, offline: bool) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new().name("cocola-worker".into()).spawn({
            let stop = stop.clone();
            move || run(&shared, feed, analyzer, offline, &stop)
        })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops and joins the thread. Offline, the worker first analyses
    /// everything already fed, so a bounce loses no window at its end.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                nice_error!("COCOLA worker thread panicked");
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

fn settings(params: &CocolaParams, offline: bool) -> Settings {
    Settings {
        hop_seconds: params.hop_seconds.value(),
        silence_dbfs: params.silence_dbfs.value(),
        smoothing: params.smoothing.value(),
        headline: params.headline.value(),
        checks: params.checks.value(),
        offline,
    }
}

/// Loads the model if the persisted choice or the reload generation changed.
/// Returns whether it did anything.
fn refresh_model(shared: &Shared, carry: &mut Carry) -> bool {
    let wanted = (
        shared.params.model_choice(),
        shared.reload_generation.load(Ordering::Acquire),
    );
    if carry.attempted.as_ref() == Some(&wanted) {
        return false;
    }
    carry.snapshot.state = State::LoadingModel;
    carry.publisher.publish(&mut carry.snapshot);
    shared.repaint.request_repaint();
    carry.model = None;
    carry.snapshot.model = None;
    carry.snapshot.model_load_ms = None;
    match loader::load(&wanted.0) {
        LoadOutcome::Loaded(m) => {
            nice_log!(
                "COCOLA model loaded: {} {} ({} input) from {} in {:.0} ms",
                m.info.name,
                m.info.version,
                m.info.input,
                m.info.source,
                m.load_ms
            );
            carry.snapshot.model = Some(m.info.clone());
            carry.snapshot.model_load_ms = Some(m.load_ms);
            carry.model = Some(m);
        }
        LoadOutcome::Unavailable(state) => {
            nice_warn!("COCOLA model unavailable: {state:?}");
            carry.model_state = state;
        }
    }
    carry.attempted = Some(wanted);
    true
}

/// The state the GUI should show now.
fn current_state(carry: &Carry, analyzer: &Analyzer) -> State {
    if carry.model.is_none() {
        return carry.model_state.clone();
    }
    if !analyzer.has_window() || !analyzer.has_sidechain() {
        return analyzer.waiting_state();
    }
    // After a window, the window's own outcome (scoring/silent/no sidechain) stands.
    match &carry.snapshot.state {
        State::Inactive | State::LoadingModel | State::Listening { .. } => State::Scoring,
        s => s.clone(),
    }
}

fn run(shared: &Shared, mut feed: FeedReader, mut analyzer: Analyzer, offline: bool, stop: &AtomicBool) {
    let mut carry = shared.carry.lock().unwrap_or_else(|e| e.into_inner());
    let carry = &mut *carry;
    carry.snapshot.host_sample_rate = analyzer.host_rate();
    loop {
        let stopping = stop.load(Ordering::Acquire);
        let mut changed = refresh_model(shared, carry);
        if changed {
            // Another model's raw scores have another scale: the display
            // starts afresh, as after a reset; the audio heard is kept.
            analyzer.forget_scores();
            carry.snapshot.clear_history();
        }
        if shared.reset_requested.swap(false, Ordering::AcqRel) {
            analyzer.restart();
            carry.snapshot.clear_history();
            changed = true;
        }
        let s = settings(&shared.params, offline);
        let (scored, skipped) = (carry.snapshot.windows_scored, carry.snapshot.windows_skipped);
        let last_point = carry.snapshot.timeline.back().copied();
        let worked = analyzer.pump(&mut feed, carry.model.as_mut(), &s, &mut carry.snapshot);
        changed |= carry.snapshot.timeline.back().copied() != last_point
            || carry.snapshot.windows_scored != scored
            || carry.snapshot.windows_skipped != skipped;
        let state = current_state(carry, &analyzer);
        if state != carry.snapshot.state {
            carry.snapshot.state = state;
            changed = true;
        }
        let dropped = shared.stats.dropped_frames.load(Ordering::Relaxed);
        if dropped != carry.snapshot.dropped_frames {
            carry.snapshot.dropped_frames = dropped;
            changed = true;
        }
        if changed {
            carry.publisher.publish(&mut carry.snapshot);
            shared.repaint.request_repaint();
        }
        // Offline, keep going until everything fed has been analysed.
        if stopping && (!offline || !worked) {
            if offline {
                analyzer.finish(carry.model.as_mut(), &s, &mut carry.snapshot);
                carry.snapshot.state = current_state(carry, &analyzer);
                carry.publisher.publish(&mut carry.snapshot);
                shared.repaint.request_repaint();
            }
            break;
        }
        if !worked {
            std::thread::sleep(POLL);
        }
    }
}
