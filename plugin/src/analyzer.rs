//! The worker's bookkeeping, free of threads so it can be tested directly:
//! host-rate frames in, 16 kHz histories, a window due every hop, each
//! window classified (no sidechain, silent) or scored by `cocola`, the
//! result folded into the [`Snapshot`].
//!
//! All the maths (resampling, levels, features, encoder, calibration) is
//! `cocola`'s; what lives here is scheduling and presentation (smoothing).

use std::time::Instant;

use cocola::audio::{sanitize, StreamingResampler16k};
use cocola::contract::{SAMPLE_RATE, WINDOW_SAMPLES};
use cocola::mode::Mode;
use cocola::score::windows::is_silent;
use cocola::score::{Measure, WindowScores};

use crate::checks::{check_excerpt_len, check_history_samples, Checker};
use crate::feed::{FeedReader, Frame, Marker};
use crate::history::History;
use crate::loader::LoadedModel;
use crate::params::HeadlineMode;
use crate::snapshot::{Check, Checks, Headline, Outcome, Point, Snapshot, State};

/// Host frames handled per step: bounds the scratch buffers.
const STEP_FRAMES: usize = 4096;

/// Parameter values read once per step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    pub hop_seconds: f32,
    pub silence_dbfs: f32,
    pub smoothing: f32,
    pub headline: HeadlineMode,
    /// Check key and timing every 5 s ([`Checker`]).
    pub checks: bool,
    /// Offline (bounce) processing: every window is scored, none skipped.
    pub offline: bool,
}

/// Index of side 0 (main input, the stem) and side 1 (sidechain, the condition).
const STEM: usize = 0;
const CONDITION: usize = 1;

pub struct Analyzer {
    host_rate: f32,
    resamplers: [StreamingResampler16k; 2],
    /// 16 kHz output samples still to drop at the start: the resampler's
    /// delay, so that history sample 0 is host frame `origin_frame`.
    to_trim: usize,
    history: [History; 2],
    /// History length (16 kHz samples) at which the next window is due.
    next_due: u64,
    /// Host frame index where the current history starts.
    origin_frame: u64,
    /// Host frames consumed from the feed.
    consumed: u64,
    sidechain: bool,
    playing: bool,
    /// Latest (frame, song seconds) the host reported.
    song_anchor: Option<(u64, f64)>,
    smoothed: Option<[f32; 3]>,
    checker: Checker,
    // Scratch, allocated once.
    frames: Vec<Frame>,
    host_side: [Vec<f32>; 2],
    out16k: [Vec<f32>; 2],
    window: [Vec<f32>; 2],
    excerpt: [Vec<f32>; 2],
}

impl Analyzer {
    /// Fails only for a host rate `cocola` cannot resample. In real time the
    /// low-latency resampler (a score within 100 ms of a window's end);
    /// offline the one files go through, so a bounce scores exactly as
    /// `cocola score` on the rendered files.
    pub fn new(host_rate: f32, offline: bool) -> Result<Self, cocola::audio::AudioError> {
        let rate = host_rate.round() as u32;
        let resampler = || {
            if offline {
                StreamingResampler16k::matching_files(rate)
            } else {
                StreamingResampler16k::low_latency(rate)
            }
        };
        let resamplers = [resampler()?, resampler()?];
        let to_trim = resamplers[0].latency_samples();
        let out_cap = STEP_FRAMES * SAMPLE_RATE as usize / rate as usize + 2 * 32_768;
        Ok(Self {
            host_rate,
            resamplers,
            to_trim,
            history: [
                History::with_len(check_history_samples()),
                History::with_len(check_history_samples()),
            ],
            next_due: WINDOW_SAMPLES as u64,
            origin_frame: 0,
            consumed: 0,
            sidechain: true,
            playing: false,
            song_anchor: None,
            smoothed: None,
            checker: Checker::default(),
            frames: vec![[0.0; 2]; STEP_FRAMES],
            host_side: [Vec::with_capacity(STEP_FRAMES), Vec::with_capacity(STEP_FRAMES)],
            out16k: [Vec::with_capacity(out_cap), Vec::with_capacity(out_cap)],
            window: [vec![0.0; WINDOW_SAMPLES], vec![0.0; WINDOW_SAMPLES]],
            excerpt: [vec![0.0; check_history_samples()], vec![0.0; check_history_samples()]],
        })
    }

    /// Forgets the audio heard so far (host reset, transport restart, a gap,
    /// or the GUI's reset button); the timeline keeps its points.
    pub fn restart(&mut self) {
        for r in &mut self.resamplers {
            r.reset();
        }
        for h in &mut self.history {
            h.clear();
        }
        self.to_trim = self.resamplers[0].latency_samples();
        self.next_due = WINDOW_SAMPLES as u64;
        self.origin_frame = self.consumed;
        self.forget_scores();
    }

    /// Forgets what was scored, not what was heard: after a model change
    /// the raw scores of the old model must not be smoothed or averaged
    /// with the new one's (another scale; another shape for the checks).
    pub fn forget_scores(&mut self) {
        self.smoothed = None;
        self.checker.restart();
    }

    /// Seconds of audio in the history since the last restart.
    pub fn heard_seconds(&self) -> f32 {
        self.history[STEM].total() as f32 / SAMPLE_RATE as f32
    }

    pub fn host_rate(&self) -> f32 {
        self.host_rate
    }

    pub fn has_sidechain(&self) -> bool {
        self.sidechain
    }

    /// The state to show while no window has been analysed since the last restart.
    pub fn waiting_state(&self) -> State {
        if !self.sidechain {
            State::NoSidechain
        } else {
            // Tenths of a second: what the GUI shows, and no republishing in between.
            let heard = (self.heard_seconds() * 10.0).floor() / 10.0;
            State::Listening {
                heard_seconds: heard.min(WINDOW_SAMPLES as f32 / SAMPLE_RATE as f32),
            }
        }
    }

    /// Whether the first window since the last restart has been analysed.
    pub fn has_window(&self) -> bool {
        self.next_due > WINDOW_SAMPLES as u64
    }

    fn apply(&mut self, m: Marker) {
        let started = m.playing && !self.playing;
        self.playing = m.playing;
        self.sidechain = m.sidechain;
        if let Some(s) = m.song_seconds {
            self.song_anchor = Some((m.at_frame, s));
        }
        // A reset, lost audio or the transport starting (probably somewhere
        // else in the song) means the history no longer joins up.
        if m.discontinuity || started {
            self.restart();
        }
    }

    /// Consumes what the feed holds; scores windows as they fall due. Returns
    /// whether anything was consumed. `snapshot` receives points and states.
    pub fn pump(
        &mut self,
        feed: &mut FeedReader,
        model: Option<&mut LoadedModel>,
        settings: &Settings,
        snapshot: &mut Snapshot,
    ) -> bool {
        let mut model = model;
        let mut worked = false;
        loop {
            while let Some(m) = feed.next_marker_before(self.consumed + 1) {
                self.apply(m);
            }
            let backlog = feed.backlog();
            if backlog == 0 {
                return worked;
            }
            let mut limit = backlog.min(STEP_FRAMES);
            if let Some(at) = feed.next_marker_at() {
                limit = limit.min((at - self.consumed) as usize);
            }
            let n = feed.pop_frames(&mut self.frames[..limit]);
            self.consumed += n as u64;
            worked = true;
            for side in [STEM, CONDITION] {
                let host = &mut self.host_side[side];
                host.clear();
                host.extend(self.frames[..n].iter().map(|f| f[side]));
                // NaN/Inf must not reach the resampler: one would spread over a block.
                sanitize(host);
                self.out16k[side].clear();
                self.resamplers[side].process(host, &mut self.out16k[side]);
            }
            // Both sides went through identical filters: equal lengths.
            let produced = self.out16k[STEM].len();
            let trim = self.to_trim.min(produced);
            self.to_trim -= trim;
            let backlog_seconds = feed.backlog() as f32 / self.host_rate;
            self.append(trim, produced, backlog_seconds, &mut model, settings, snapshot);
        }
    }

    /// End of an offline render: pushes the audio still inside the resampler
    /// out with zero padding (as `cocola::audio::resample_to_16k` does at the
    /// end of a file) and analyses the windows that completes, so a bounce
    /// scores the same windows as `cocola score` on the rendered files.
    pub fn finish(&mut self, model: Option<&mut LoadedModel>, settings: &Settings, snapshot: &mut Snapshot) {
        let mut model = model;
        let rate = self.host_rate.round() as u128;
        let frames = (self.consumed - self.origin_frame) as u128;
        let expected = ((frames * SAMPLE_RATE as u128 + rate / 2) / rate) as u64;
        while self.history[STEM].total() < expected {
            for side in [STEM, CONDITION] {
                self.host_side[side].clear();
                self.host_side[side].resize(STEP_FRAMES, 0.0);
                self.out16k[side].clear();
                self.resamplers[side].process(&self.host_side[side], &mut self.out16k[side]);
            }
            let produced = self.out16k[STEM].len();
            let from = self.to_trim.min(produced);
            self.to_trim -= from;
            let room = (expected - self.history[STEM].total()) as usize;
            let to = from + room.min(produced - from);
            self.append(from, to, 0.0, &mut model, settings, snapshot);
        }
    }

    /// Appends `out16k[..][from..to]` to the histories, stopping at every due window.
    fn append(
        &mut self,
        mut from: usize,
        to: usize,
        backlog_seconds: f32,
        model: &mut Option<&mut LoadedModel>,
        settings: &Settings,
        snapshot: &mut Snapshot,
    ) {
        let hop = ((settings.hop_seconds as f64 * SAMPLE_RATE as f64).round() as u64).max(1);
        while from < to {
            let total = self.history[STEM].total();
            let take = ((self.next_due - total) as usize).min(to - from);
            for side in [STEM, CONDITION] {
                self.history[side].push(&self.out16k[side][from..from + take]);
            }
            from += take;
            if self.history[STEM].total() == self.next_due {
                // Audio still waiting to be analysed, in seconds: in real time a
                // window with a newer one already due behind it is skipped.
                let behind = backlog_seconds + (to - from) as f32 / SAMPLE_RATE as f32;
                if !settings.offline && behind >= settings.hop_seconds {
                    snapshot.windows_skipped += 1;
                } else {
                    self.analyse_window(model.as_deref_mut(), settings, snapshot);
                }
                self.next_due += hop;
            }
        }
    }

    /// Song position of history sample `end` (16 kHz, since the last restart).
    fn song_seconds_at(&self, end: u64) -> Option<f64> {
        let (frame, seconds) = self.song_anchor?;
        let host_frame = self.origin_frame as f64 + end as f64 * self.host_rate as f64 / SAMPLE_RATE as f64;
        Some(seconds + (host_frame - frame as f64) / self.host_rate as f64)
    }

    fn analyse_window(&mut self, model: Option<&mut LoadedModel>, settings: &Settings, snapshot: &mut Snapshot) {
        // Without a model there is nothing to show per window; the state says why.
        let Some(model) = model else { return };
        let end = self.history[STEM].total();
        for side in [STEM, CONDITION] {
            self.history[side].copy_last(&mut self.window[side]);
        }
        let outcome = if !self.sidechain || self.window[CONDITION].iter().all(|&x| x == 0.0) {
            snapshot.state = State::NoSidechain;
            Outcome::NoSidechain
        } else {
            let condition = is_silent(&self.window[CONDITION], settings.silence_dbfs);
            let stem = is_silent(&self.window[STEM], settings.silence_dbfs);
            if condition || stem {
                snapshot.state = State::Silent { condition, stem };
                Outcome::Silent { condition, stem }
            } else {
                match self.score(model, settings, snapshot) {
                    Some(o) => o,
                    None => return,
                }
            }
        };
        snapshot.push_point(Point {
            end_sample: end,
            song_seconds: self.song_seconds_at(end),
            outcome,
        });
    }

    fn score(&mut self, model: &mut LoadedModel, settings: &Settings, snapshot: &mut Snapshot) -> Option<Outcome> {
        let started = Instant::now();
        let result = model.scorer.score_window(&self.window[CONDITION], &self.window[STEM]);
        let ms = started.elapsed().as_secs_f32() * 1e3;
        let scores = match result {
            Ok(s) => s,
            Err(e) => {
                snapshot.state = State::ModelFailed(format!("inference failed: {e}"));
                return None;
            }
        };
        // Every mode in Mode::ALL order; NaN where the model has none (no HPS).
        let raw: [f32; 3] = std::array::from_fn(|i| scores.get(Mode::ALL[i]).map_or(f32::NAN, |m| m.raw));
        let a = settings.smoothing.clamp(0.0, 0.99);
        let smoothed = match self.smoothed {
            Some(prev) => std::array::from_fn(|i| a * prev[i] + (1.0 - a) * raw[i]),
            None => raw,
        };
        self.smoothed = Some(smoothed);
        // The smoothed scores read as the library reads any window (fits,
        // verdicts, the combined fit), over the modes the model has.
        let calibration = model.scorer.model().metadata().calibration.as_ref();
        let present = scores.modes();
        let modes: [Mode; 3] = std::array::from_fn(|i| present.get(i).map_or(Mode::Both, |m| m.mode));
        let values: [f32; 3] = std::array::from_fn(|i| smoothed[modes[i].index()]);
        let view = WindowScores::from_raw(&modes[..present.len()], &values[..present.len()], calibration);
        let bar = |mode: Mode| view.get(mode).map(|s| (s.raw, s.fit));
        // What the headline parameter asks for, where the model has it: a
        // model without HPS has the plain score only, an uncalibrated one no
        // combined fit; both then show the plain score.
        let asked = settings
            .headline
            .measure()
            .of(&view)
            .map(|head| (settings.headline, head));
        let (shows, head) = asked.or_else(|| {
            Measure::from(Mode::Both)
                .of(&view)
                .map(|head| (HeadlineMode::Both, head))
        })?;
        snapshot.headline = Some(Headline {
            shows,
            raw: view.get(shows.mode().unwrap_or(Mode::Both)).map_or(f32::NAN, |s| s.raw),
            fit: head.fit,
            verdict: head.verdict,
        });
        snapshot.harmonic = bar(Mode::Harmonic);
        snapshot.percussive = bar(Mode::Percussive);
        snapshot.inference_ms = Some(ms);
        snapshot.windows_scored += 1;
        snapshot.state = State::Scoring;
        self.check(model, settings, snapshot);
        nice_plug::nice_log!(
            "COCOLA window end={:.3}s both={:.6} harmonic={:.6} percussive={:.6} ({ms:.1} ms)",
            self.history[STEM].total() as f64 / SAMPLE_RATE as f64,
            raw[0],
            raw[1],
            raw[2]
        );
        Some(Outcome::Scored { scores, smoothed })
    }

    /// The key and timing checks, when due, on the recent history.
    fn check(&mut self, model: &mut LoadedModel, settings: &Settings, snapshot: &mut Snapshot) {
        if !settings.checks {
            // Switched back on, they start afresh rather than from old checks.
            self.checker.restart();
            snapshot.checks = Checks::both(Check::Off);
            return;
        }
        let end = self.history[STEM].total();
        if !self.checker.is_due(end) {
            return;
        }
        let len = check_excerpt_len(end);
        for side in [STEM, CONDITION] {
            self.history[side].copy_last(&mut self.excerpt[side][..len]);
        }
        let (condition, stem) = (&self.excerpt[CONDITION][..len], &self.excerpt[STEM][..len]);
        if let Some(checks) = (self.checker).check(&mut model.scorer, condition, stem, end, settings.silence_dbfs) {
            snapshot.checks = checks;
        }
    }
}
