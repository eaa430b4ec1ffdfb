//! Opens the plugin window outside a host, fed with synthetic audio, for
//! looking at the GUI and for the README screenshot (under Xvfb).
//!
//! usage: cargo run -p cocola-plugin --example gui_preview -- [SECONDS]
//!
//! The model is a random-weight test model carrying a made-up calibration
//! (so the verdict colours show): its scores mean nothing. The window closes
//! itself after SECONDS (default 30).

#[path = "../tests/host/mod.rs"]
mod host;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cocola::calibration::{Calibration, ModeCalibration, ScoreDistribution};
use cocola_plugin::params::ModelChoice;
use nice_plug::context::gui::{GuiContext, GuiContextInner};
use nice_plug::editor::EditorHandle;
use nice_plug::prelude::*;
use nice_plug_egui::EguiEditorHandle;

/// The GUI's link to a host, here with nobody behind it: parameter changes
/// are applied directly, which is what a host would end up doing.
struct NoHost;

impl GuiContextInner for NoHost {
    fn plugin_api(&self) -> PluginApi {
        PluginApi::Clap
    }
    unsafe fn raw_begin_set_parameter(&self, _param: ParamPtr) {}
    unsafe fn raw_set_parameter_normalized(&self, param: ParamPtr, normalized: f32) {
        unsafe { param._internal_set_normalized_value(normalized) };
    }
    unsafe fn raw_end_set_parameter(&self, _param: ParamPtr) {}
    fn get_state(&self) -> PluginState {
        PluginState {
            version: String::new(),
            params: Default::default(),
            fields: Default::default(),
        }
    }
    fn set_state(&self, _state: PluginState) {}
    fn request_restart(&self) {}
}

/// A test model whose calibration puts its typical scores around the middle.
fn preview_model(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("preview.onnx");
    let mut meta = cocola::model::testing::test_metadata();
    meta.name = "preview-random".into();
    meta.description = "random weights, invented calibration: for looking at the GUI only".into();
    // Placed around the raw scores this random model gives the preview audio.
    let mode = |coherent: f32, random: f32| ModeCalibration {
        coherent: ScoreDistribution {
            mean: coherent,
            std: 1.0,
            count: 100,
        },
        random: ScoreDistribution {
            mean: random,
            std: 1.0,
            count: 100,
        },
        hard: None,
    };
    meta.calibration = Some(Calibration {
        both: mode(-6.5, -8.5),
        harmonic: Some(mode(-6.0, -8.5)),
        percussive: Some(mode(-5.0, -8.0)),
    });
    let weights = cocola::model::testing::random_weights(7);
    cocola::model::write_model_file(&path, &weights, &meta).expect("write preview model");
    path
}

fn main() {
    let seconds: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(30.0);
    let dir = std::env::temp_dir().join("cocola-gui-preview");
    std::fs::create_dir_all(&dir).unwrap();
    let model = preview_model(&dir);

    let mut h = host::Host::new(None);
    h.plugin.cocola_params().set_model_choice(ModelChoice::File(model));
    let executor = AsyncExecutor::new(Arc::new(|()| ()), Arc::new(|()| ()));
    let editor = h.plugin.editor(executor).expect("the plugin has an editor");
    let rate = 48_000.0;
    h.activate(rate, 512, ProcessMode::Realtime, host::STEREO_WITH_SIDECHAIN);

    // Audio thread stand-in: real-time pace, a condition that changes key
    // half-way so the timeline has something to show.
    std::thread::spawn(move || {
        let total = 120.0;
        let stem = vec![host::signal(rate, total, 1, 0.5); 2];
        let mut cond = vec![host::signal(rate, total, 2, 0.5); 2];
        let half = cond[0].len() / 3;
        let other = host::signal(rate, total, 9, 0.5);
        for c in &mut cond {
            c[half..].copy_from_slice(&other[half..]);
        }
        let (mut out, mut side) = (stem.clone(), cond.clone());
        let start = Instant::now();
        let block = 512;
        let mut pos = 0;
        while pos + block <= stem[0].len() {
            h.process_block(&mut out, &mut side, true, pos, block);
            pos += block;
            // Four times real time: the timeline fills faster.
            let due = start + Duration::from_secs_f64(pos as f64 / rate as f64 / 4.0);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    });
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs_f64(seconds));
        std::process::exit(0);
    });

    let gui = GuiContext::new(Arc::new(NoHost));
    let spawned = editor
        .spawn(None, false, Some(1.0), gui, None)
        .expect("open the window");
    let _handle = spawned.handle;
    EguiEditorHandle::run_until_closed(spawned.window).expect("window event loop");
}
