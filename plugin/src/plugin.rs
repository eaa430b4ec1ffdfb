//! The nice-plug plugin: identity, layouts, and the audio-thread entry points.
//! `process()` leaves the audio untouched and hands a downmix to the feed;
//! everything else happens on the worker thread.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

use nice_plug::prelude::*;

use crate::analyzer::Analyzer;
use crate::feed::{self, BlockTransport, FeedStats, FeedWriter};
use crate::params::CocolaParams;
use crate::snapshot::{self, Monitor, Snapshot, State};
use crate::worker::{Carry, Shared, Worker};

/// More channels than any layout here has; bounds the stack arrays in `process`.
const MAX_CHANNELS: usize = 8;

const STEREO: Option<NonZeroU32> = NonZeroU32::new(2);
const MONO: Option<NonZeroU32> = NonZeroU32::new(1);
const NAMES: PortNames = PortNames {
    layout: None,
    main_input: Some("Stem"),
    main_output: Some("Stem"),
    aux_inputs: &["Condition"],
    aux_outputs: &[],
};

const fn layout(main: Option<NonZeroU32>, condition: &'static [NonZeroU32]) -> AudioIOLayout {
    AudioIOLayout {
        main_input_channels: main,
        main_output_channels: main,
        aux_input_ports: condition,
        aux_output_ports: &[],
        names: NAMES,
    }
}

pub struct Cocola {
    params: Arc<CocolaParams>,
    shared: Arc<Shared>,
    monitor: Monitor,
    feed: Option<FeedWriter>,
    worker: Option<Worker>,
    /// Window size, kept while the plugin lives so the GUI reopens as left.
    editor_state: Arc<nice_plug_egui::EguiEditorState>,
}

impl Default for Cocola {
    fn default() -> Self {
        let params = Arc::new(CocolaParams::default());
        let (publisher, monitor) = snapshot::channel();
        let shared = Arc::new(Shared {
            params: params.clone(),
            carry: Mutex::new(Carry {
                publisher,
                snapshot: Snapshot::default(),
                model: None,
                model_state: State::Inactive,
                attempted: None,
            }),
            reload_generation: AtomicU64::new(0),
            reset_requested: AtomicBool::new(false),
            stats: Arc::new(FeedStats::default()),
            repaint: nice_plug_egui::RepaintNotifier::new(),
        });
        Self {
            params,
            shared,
            monitor,
            feed: None,
            worker: None,
            editor_state: crate::editor::default_state(),
        }
    }
}

impl Cocola {
    /// The reading end of what the worker publishes (GUI, tests).
    pub fn monitor(&self) -> Monitor {
        self.monitor.clone()
    }

    /// Plugin-lifetime state shared with the worker and the GUI.
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    pub fn cocola_params(&self) -> Arc<CocolaParams> {
        self.params.clone()
    }

    fn stop_worker(&mut self) {
        // Drop the writer first: an offline writer never waits on a stopping worker.
        self.feed = None;
        if let Some(w) = self.worker.take() {
            w.stop();
        }
    }
}

impl Drop for Cocola {
    fn drop(&mut self) {
        self.stop_worker();
    }
}

impl Plugin for Cocola {
    const NAME: &'static str = "COCOLA";
    const VENDOR: &'static str = "COCOLA project";
    const URL: &'static str = "https://github.com/gladia-research-group/cocola";
    const EMAIL: &'static str = "";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        layout(STEREO, &[new_nonzero_u32(2)]),
        layout(MONO, &[new_nonzero_u32(1)]),
        layout(STEREO, &[new_nonzero_u32(1)]),
        layout(MONO, &[new_nonzero_u32(2)]),
        // Hosts that cannot route a sidechain still load it; it then says so.
        layout(STEREO, &[]),
        layout(MONO, &[]),
    ];

    type SysExMessage = ();
    type BackgroundTask = ();
    type Editor = crate::editor::CocolaEditor;

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        crate::editor::create(self.shared.clone(), self.monitor.clone(), self.editor_state.clone())
    }

    fn activate(
        &mut self,
        _layout: &AudioIOLayout,
        config: &BufferConfig,
        _context: &mut impl ActivateContext<Self>,
    ) -> bool {
        self.stop_worker();
        let offline = config.process_mode == ProcessMode::Offline;
        let analyzer = match Analyzer::new(config.sample_rate, offline) {
            Ok(a) => a,
            Err(e) => {
                nice_error!("COCOLA cannot run at this sample rate: {e}");
                return false;
            }
        };
        let (writer, reader) = feed::feed(
            config.sample_rate,
            config.max_buffer_size as usize,
            offline,
            self.shared.stats.clone(),
        );
        match Worker::spawn(self.shared.clone(), reader, analyzer, offline) {
            Ok(w) => {
                self.feed = Some(writer);
                self.worker = Some(w);
                true
            }
            Err(e) => {
                nice_error!("COCOLA could not start its worker thread: {e}");
                false
            }
        }
    }

    fn reset(&mut self) {
        if let Some(f) = &mut self.feed {
            f.mark_discontinuity();
        }
    }

    fn deactivate(&mut self) {
        self.stop_worker();
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        // The output already holds the input (nice-plug copies it when the host
        // does not process in place): pass-through is leaving it alone.
        let Some(feed) = &mut self.feed else {
            return ProcessStatus::Normal;
        };
        let samples = buffer.samples();
        let mut main: [&[f32]; MAX_CHANNELS] = [&[]; MAX_CHANNELS];
        let mut n_main = 0;
        for (slot, ch) in main.iter_mut().zip(buffer.as_slice_immutable().iter()) {
            *slot = ch;
            n_main += 1;
        }
        let mut side: [&[f32]; MAX_CHANNELS] = [&[]; MAX_CHANNELS];
        let mut n_side = 0;
        if let Some(sc) = aux.inputs.first() {
            for (slot, ch) in side.iter_mut().zip(sc.as_slice_immutable().iter()) {
                if ch.len() == samples {
                    *slot = ch;
                    n_side += 1;
                }
            }
        }
        let t = context.transport();
        let transport = BlockTransport {
            song_seconds: t.pos_seconds(),
            playing: t.playing,
        };
        feed.push_block(&main[..n_main], &side[..n_side], samples, transport);
        ProcessStatus::Normal
    }
}

impl ClapPlugin for Cocola {
    const CLAP_ID: &'static str = "org.cocola.analyzer";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("How well the stem fits the condition on the sidechain, harmonically and rhythmically");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Analyzer,
        ClapFeature::Stereo,
        ClapFeature::Mono,
    ];
}

impl Vst3Plugin for Cocola {
    const VST3_CLASS_ID: [u8; 16] = *b"CocolaAnalyzer01";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = &[Vst3SubCategory::Fx, Vst3SubCategory::Analyzer];
}
