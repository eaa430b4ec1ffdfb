//! Opens the plugin window outside a host, fed with the example pair
//! (`examples/`) and the shipped default model, for looking at the GUI and
//! for the README screenshot (under Xvfb).
//!
//! usage: cargo run --release -p cocola-plugin --example gui_preview -- [SECONDS]
//!
//! The stem is in key for the first 30 s of audio, then transposed (the
//! example's `stem-transposed.wav`), at twice real time: from 60 s of audio
//! on (30 s on the clock) the key line reads the transposed stem alone, and
//! the timing line reads it on the beat. The window closes itself after
//! SECONDS (default 45).

#[path = "../tests/host/mod.rs"]
mod host;

use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// `signal` repeated to `len` samples.
fn looped(signal: &[f32], len: usize) -> Vec<f32> {
    signal.iter().copied().cycle().take(len).collect()
}

fn main() {
    let seconds: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(45.0);
    // No model chosen: the default built into the plugin.
    let mut h = host::Host::new(None);
    let executor = AsyncExecutor::new(Arc::new(|()| ()), Arc::new(|()| ()));
    let editor = h.plugin.editor(executor).expect("the plugin has an editor");
    let rate = 16_000.0;
    h.activate(rate, 512, ProcessMode::Realtime, host::STEREO_WITH_SIDECHAIN);

    // Audio thread stand-in, at twice real time so the timeline fills
    // faster: the example's condition throughout; its stem for the first
    // 30 s, then the same stem transposed 2 semitones down.
    std::thread::spawn(move || {
        let (in_key, total) = (30 * 16_000, 80 * 16_000);
        let condition = looped(&host::example("condition"), total);
        let mut stem = looped(&host::example("stem"), in_key);
        stem.extend(looped(&host::example("stem-transposed"), total - in_key));
        let (mut out, mut side) = (vec![stem.clone(), stem], vec![condition.clone(), condition]);
        let start = Instant::now();
        let block = 512;
        let mut pos = 0;
        while pos + block <= total {
            h.process_block(&mut out, &mut side, true, pos, block);
            pos += block;
            let due = start + Duration::from_secs_f64(pos as f64 / rate as f64 / 2.0);
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
