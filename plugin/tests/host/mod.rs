//! A minimal in-process host for the tests: implements nice-plug's public
//! `ProcessContext`/`ActivateContext`, builds `Buffer`s over test vectors
//! with `Buffer::set_slices`, and drives `activate`/`process` the way a
//! host's audio thread would.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cocola_plugin::params::ModelChoice;
use cocola_plugin::snapshot::Snapshot;
use cocola_plugin::Cocola;
use nice_plug::prelude::*;

pub struct TestContext {
    pub transport: Transport,
}

impl ProcessContext<Cocola> for TestContext {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }
    fn execute_background(&self, _task: ()) {}
    fn execute_gui(&self, _task: ()) {}
    fn transport(&self) -> &Transport {
        &self.transport
    }
    fn next_event(&mut self) -> Option<PluginNoteEvent<Cocola>> {
        None
    }
    fn try_send_event(
        &mut self,
        event: PluginNoteEvent<Cocola>,
    ) -> Result<(), (PluginNoteEvent<Cocola>, nice_plug::context::process::SendEventError)> {
        Err((event, nice_plug::context::process::SendEventError::NoOutputBuffer))
    }
    fn set_latency_samples(&self, _samples: u32) {}
    fn request_restart(&self) {}
    fn set_current_voice_capacity(&self, _capacity: u32) {}
}

impl ActivateContext<Cocola> for TestContext {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }
    fn execute(&self, _task: ()) {}
    fn set_latency_samples(&self, _samples: u32) {}
    fn set_current_voice_capacity(&self, _capacity: u32) {}
}

/// Layout indices in `Cocola::AUDIO_IO_LAYOUTS`.
pub const STEREO_WITH_SIDECHAIN: usize = 0;
pub const MONO_WITH_SIDECHAIN: usize = 1;
pub const STEREO_NO_SIDECHAIN: usize = 4;

pub struct Host {
    pub plugin: Cocola,
    pub ctx: TestContext,
    pub layout: AudioIOLayout,
    pub rate: f32,
    /// Frames processed since activation: the song position the transport reports.
    pub song_frames: usize,
}

impl Host {
    /// A plugin with `model` chosen (or none: the default, which is not shipped).
    pub fn new(model: Option<&Path>) -> Self {
        let plugin = Cocola::default();
        if let Some(p) = model {
            plugin
                .cocola_params()
                .set_model_choice(ModelChoice::File(p.to_path_buf()));
        }
        Self {
            plugin,
            ctx: TestContext {
                transport: Transport::new(48_000.0),
            },
            layout: Cocola::AUDIO_IO_LAYOUTS[0],
            rate: 48_000.0,
            song_frames: 0,
        }
    }

    pub fn activate(&mut self, rate: f32, max_block: u32, mode: ProcessMode, layout: usize) {
        self.layout = Cocola::AUDIO_IO_LAYOUTS[layout];
        self.rate = rate;
        self.song_frames = 0;
        self.ctx.transport = Transport::new(rate);
        self.ctx.transport.playing = true;
        let config = BufferConfig {
            sample_rate: rate,
            min_buffer_size: None,
            max_buffer_size: max_block,
            process_mode: mode,
        };
        let layout = self.layout;
        assert!(self.plugin.activate(&layout, &config, &mut self.ctx));
        self.plugin.reset();
    }

    /// Processes `stem` (channels of the main input) and `condition` (sidechain
    /// channels, if the layout has them) in blocks of the given sizes (cycled);
    /// returns the main output.
    pub fn run(&mut self, stem: &[Vec<f32>], condition: &[Vec<f32>], blocks: &[usize]) -> Vec<Vec<f32>> {
        let len = stem[0].len();
        let mut out: Vec<Vec<f32>> = stem.to_vec();
        let mut cond: Vec<Vec<f32>> = condition.to_vec();
        let has_aux = !self.layout.aux_input_ports.is_empty();
        let mut pos = 0;
        let mut k = 0;
        while pos < len {
            let n = blocks[k % blocks.len()].min(len - pos);
            k += 1;
            self.process_block(&mut out, &mut cond, has_aux, pos, n);
            pos += n;
        }
        out
    }

    pub fn process_block(&mut self, out: &mut [Vec<f32>], cond: &mut [Vec<f32>], has_aux: bool, pos: usize, n: usize) {
        self.process_block_via(out, cond, has_aux, pos, n, |f| f());
    }

    /// `process_block` with only the plugin's `process()` inside
    /// `assert_no_alloc`, which aborts on any allocation.
    #[cfg(feature = "assert_process_allocs")]
    pub fn process_block_checked(
        &mut self,
        out: &mut [Vec<f32>],
        cond: &mut [Vec<f32>],
        has_aux: bool,
        pos: usize,
        n: usize,
    ) {
        self.process_block_via(out, cond, has_aux, pos, n, |f| nice_assert_no_alloc::assert_no_alloc(f));
    }

    pub fn process_block_via(
        &mut self,
        out: &mut [Vec<f32>],
        cond: &mut [Vec<f32>],
        has_aux: bool,
        pos: usize,
        n: usize,
        guard: impl FnOnce(&mut dyn FnMut() -> ProcessStatus) -> ProcessStatus,
    ) {
        let mut main = Buffer::default();
        let mut side = Buffer::default();
        unsafe {
            main.set_slices(n, |s| {
                s.clear();
                for ch in out.iter_mut() {
                    s.push(&mut ch[pos..pos + n]);
                }
            });
            side.set_slices(n, |s| {
                s.clear();
                for ch in cond.iter_mut() {
                    s.push(&mut ch[pos..pos + n]);
                }
            });
        }
        let mut aux_in = [side];
        let mut aux_none: [Buffer; 0] = [];
        let mut aux = AuxiliaryBuffers {
            inputs: if has_aux { &mut aux_in } else { &mut aux_none },
            outputs: &mut [],
        };
        self.ctx.transport.pos_samples = None;
        self.ctx.transport.pos_seconds = Some(self.song_frames as f64 / self.rate as f64);
        self.song_frames += n;
        let (plugin, ctx) = (&mut self.plugin, &mut self.ctx);
        let status = guard(&mut || plugin.process(&mut main, &mut aux, ctx));
        assert_eq!(status, ProcessStatus::Normal);
    }

    /// Waits until `pred` holds for the newest snapshot (panics after `timeout`).
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&Snapshot) -> bool) -> Snapshot {
        let monitor = self.plugin.monitor();
        let start = Instant::now();
        loop {
            let s = monitor.latest();
            if pred(&s) {
                return s;
            }
            assert!(
                start.elapsed() < timeout,
                "timed out waiting for {what}; last snapshot: {:?} (timeline {} points)",
                s.state,
                s.timeline.len()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops the worker (offline: after it analysed everything fed) and
    /// returns the final snapshot.
    pub fn finish(&mut self) -> Snapshot {
        self.plugin.deactivate();
        self.plugin.monitor().latest()
    }
}

/// Writes the random-weight test model with `meta` as `name` in this test
/// binary's temporary directory.
fn write_test_model(name: &str, meta: &cocola::model::ModelMetadata) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cocola-plugin-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    cocola::model::write_model_file(&path, &cocola::model::testing::random_weights(7), meta).unwrap();
    path
}

/// A random-weight COCOLA model, written once per test binary.
pub fn test_model() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| write_test_model("random.onnx", &cocola::model::testing::test_metadata()))
}

/// Sets a parameter by id to a normalized value, as a host would.
pub fn set_normalized(params: &dyn Params, id: &str, normalized: f32) {
    let (_, ptr, _) = params.param_map().into_iter().find(|(i, _, _)| i == id).unwrap();
    unsafe { ptr._internal_set_normalized_value(normalized) };
}

/// The random-weight model with a calibration (the same one in every mode),
/// so that it has fits, verdicts and a combined fit.
pub fn calibrated_test_model() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        use cocola::calibration::{Calibration, ModeCalibration, ScoreDistribution};
        let dist = |mean, std| ScoreDistribution { mean, std, count: 10 };
        let mut meta = cocola::model::testing::test_metadata();
        meta.calibration = Calibration::from_modes([
            (
                cocola::mode::Mode::Both,
                ModeCalibration::random_only(dist(1.0, 1.0), dist(-1.0, 1.0)),
            ),
            (
                cocola::mode::Mode::Harmonic,
                ModeCalibration::random_only(dist(2.0, 1.0), dist(0.0, 2.0)),
            ),
            (
                cocola::mode::Mode::Percussive,
                ModeCalibration::random_only(dist(0.5, 0.5), dist(-0.5, 0.5)),
            ),
        ]);
        write_test_model("calibrated.onnx", &meta)
    })
}

/// Deterministic test signal: a chord-ish tone mix with noise, at `rate`.
pub fn signal(rate: f32, seconds: f32, seed: u64, gain: f32) -> Vec<f32> {
    let n = (rate * seconds) as usize;
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let freqs = [220.0 * (1.0 + seed as f32 * 0.1), 277.2, 329.6];
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let t = i as f32 / rate;
            let tone: f32 = freqs
                .iter()
                .map(|f| (2.0 * std::f32::consts::PI * f * t).sin())
                .sum::<f32>()
                / 3.0;
            let beat = if (t * 2.0).fract() < 0.05 { 1.0 } else { 0.0 };
            gain * (0.6 * tone + 0.2 * noise + 0.3 * beat * noise)
        })
        .collect()
}

/// Every scored window's raw scores, in order.
pub fn scored(s: &Snapshot) -> Vec<(u64, cocola::score::WindowScores)> {
    s.timeline
        .iter()
        .filter_map(|p| match p.outcome {
            cocola_plugin::snapshot::Outcome::Scored { scores, .. } => Some((p.end_sample, scores)),
            _ => None,
        })
        .collect()
}

/// A file of this repository, e.g. `bundles/models/default.onnx`.
pub fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// An example file (`examples/NAME.wav`), 16 kHz mono.
pub fn example(name: &str) -> Vec<f32> {
    let path = repo_file(&format!("examples/{name}.wav"));
    cocola::audio::load_mono_16k(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
