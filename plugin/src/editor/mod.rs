//! The plugin window (nice-plug-egui): verdict at a glance on top, the
//! harmonic/percussive split, the timeline, then status, model picker and
//! controls. It only reads snapshots and writes parameters/requests; all
//! work stays on the worker thread.

mod draw;
pub mod text;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use egui::{Color32, RichText, Ui};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, Frame, NiceEguiApp};

use crate::params::ModelChoice;
use crate::snapshot::{Monitor, Snapshot, State};
use crate::worker::Shared;
use text::Severity;

pub type CocolaEditor = EguiEditor<App>;

pub const DEFAULT_SIZE: (f32, f32) = (760.0, 755.0);
const MIN_SIZE: (f32, f32) = (520.0, 460.0);

pub struct App {
    shared: Arc<Shared>,
    monitor: Monitor,
    gui: Option<GuiContext>,
    /// The snapshot on screen; not replaced while frozen.
    shown: Snapshot,
    frozen: bool,
    /// The path typed into the picker.
    path_text: String,
}

pub fn create(shared: Arc<Shared>, monitor: Monitor, state: Arc<EguiEditorState>) -> Option<CocolaEditor> {
    let path_text = match shared.params.model_choice() {
        ModelChoice::File(p) => p.display().to_string(),
        ModelChoice::Default => String::new(),
    };
    let settings = EguiNiceSettings::new()
        .with_tile("COCOLA")
        .with_resize_hint(ResizeHint::resizable().with_min_logical_size(LogicalSize::new(MIN_SIZE.0, MIN_SIZE.1)));
    let repaint = shared.repaint.clone();
    let app = App {
        shared,
        monitor,
        gui: None,
        shown: Snapshot::default(),
        frozen: false,
        path_text,
    };
    create_egui_editor(state, repaint, settings, app)
}

pub fn default_state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(LogicalSize::new(DEFAULT_SIZE.0, DEFAULT_SIZE.1), 1.0)
}

impl NiceEguiApp for App {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        gui: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        egui_ctx.set_visuals(egui::Visuals::dark());
        self.gui = Some(gui);
        Ok(())
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut Frame) {
        if !self.frozen {
            self.shown = self.monitor.latest();
        }
        let s = self.shown.clone();
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            egui::Frame::new()
                .inner_margin(10.0)
                .show(ui, |ui| self.contents(ui, &s));
        });
    }

    fn editor_closed(&mut self) {
        self.gui = None;
    }
}

fn severity_colour(severity: Severity) -> Color32 {
    match severity {
        Severity::Ok => draw::GREEN,
        Severity::Waiting => draw::AMBER,
        Severity::Problem => draw::RED,
    }
}

impl App {
    fn contents(&mut self, ui: &mut Ui, s: &Snapshot) {
        ui.spacing_mut().item_spacing.y = 8.0;
        let stale = !matches!(s.state, State::Scoring);
        draw::headline(ui, s, stale);
        draw::mode_bars(ui, s);
        self.check_lines(ui, s);
        // What is left after the controls below (about 430 points) goes to the timeline.
        let height = (ui.available_height() - 430.0).clamp(120.0, 420.0);
        draw::timeline(ui, s, height);
        self.status_line(ui, s);
        ui.separator();
        self.model_picker(ui, s);
        ui.separator();
        self.controls(ui);
    }

    fn check_lines(&self, ui: &mut Ui, s: &Snapshot) {
        for (label, check) in [("key", &s.checks.key), ("timing", &s.checks.timing)] {
            if let Some((line, severity)) = text::check_line(label, check) {
                ui.label(RichText::new(line).size(15.0).color(severity_colour(severity)));
            }
        }
    }

    fn status_line(&self, ui: &mut Ui, s: &Snapshot) {
        let (line, severity) = text::state_line(&s.state);
        let colour = severity_colour(severity);
        ui.horizontal_wrapped(|ui| {
            let model = s
                .model
                .as_ref()
                .map_or("no model".to_string(), |m| format!("{} {}", m.name, m.version));
            ui.label(RichText::new(model).size(15.0).strong());
            ui.label(RichText::new("·").size(15.0));
            ui.label(RichText::new(line).size(15.0).color(colour));
            if let Some(ms) = s.inference_ms {
                ui.label(
                    RichText::new(format!("· {ms:.0} ms per update"))
                        .size(15.0)
                        .color(draw::GREY),
                );
            }
            if self.frozen {
                ui.label(RichText::new("· FROZEN").size(15.0).color(draw::AMBER).strong());
            }
            if s.windows_skipped > 0 || s.dropped_frames > 0 {
                let n = s.windows_skipped;
                let noun = if n == 1 { "window" } else { "windows" };
                ui.label(
                    RichText::new(format!("· {n} {noun} skipped (CPU busy)"))
                        .size(13.0)
                        .color(draw::GREY),
                );
            }
        });
    }

    fn model_picker(&mut self, ui: &mut Ui, s: &Snapshot) {
        let params = &self.shared.params;
        let choice = params.model_choice();
        ui.horizontal(|ui| {
            ui.label(RichText::new("Model").size(15.0).strong());
            let default_label = if cocola::default_model::embedded().is_some() {
                "default"
            } else {
                "default (none installed)"
            };
            if ui.radio(choice == ModelChoice::Default, default_label).clicked() && choice != ModelChoice::Default {
                params.set_model_choice(ModelChoice::Default);
            }
        });
        ui.horizontal(|ui| {
            ui.label("file:");
            let edit = egui::TextEdit::singleline(&mut self.path_text)
                .hint_text("/path/to/model.onnx or checkpoint.ckpt")
                .desired_width((ui.available_width() - 70.0).max(120.0));
            let response = ui.add(edit);
            let enter = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Load").clicked() || enter {
                let path = PathBuf::from(self.path_text.trim());
                params.set_model_choice(ModelChoice::File(path));
                // Also reloads a file that changed on disk or failed before.
                self.shared.reload_generation.fetch_add(1, Ordering::AcqRel);
            }
        });
        if let Some(m) = &s.model {
            ui.label(
                RichText::new(format!(
                    "{} {} — {}{}{}  (from {}, loaded in {:.0} ms)",
                    m.name,
                    m.version,
                    m.description,
                    if m.calibrated { "" } else { " — uncalibrated" },
                    if m.input == cocola::contract::InputKind::Mel {
                        " — no HPS: plain score only"
                    } else {
                        ""
                    },
                    m.source,
                    s.model_load_ms.unwrap_or(0.0)
                ))
                .size(13.0)
                .color(Color32::LIGHT_GRAY),
            );
        }
        if let Some(detail) = text::problem_detail(&s.state) {
            ui.label(RichText::new(detail).size(13.0).color(draw::RED));
        }
        if s.state == State::NoModel {
            ui.label(
                RichText::new(crate::loader::NO_DEFAULT_MODEL)
                    .size(13.0)
                    .color(draw::RED),
            );
        }
    }

    fn controls(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            if ui.button("Reset history").clicked() {
                self.shared.reset_requested.store(true, Ordering::Release);
            }
            ui.checkbox(&mut self.frozen, "Freeze display");
        });
        let Some(gui) = &self.gui else { return };
        let setter = gui.param_setter();
        let p = &self.shared.params;
        egui::Grid::new("params")
            .num_columns(2)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                ui.label("Hop");
                ui.add(ParamSlider::for_param(&p.hop_seconds, &setter));
                ui.end_row();
                ui.label("Silence threshold");
                ui.add(ParamSlider::for_param(&p.silence_dbfs, &setter));
                ui.end_row();
                ui.label("Smoothing");
                ui.add(ParamSlider::for_param(&p.smoothing, &setter));
                ui.end_row();
                ui.label("Headline mode");
                ui.add(ParamSlider::for_param(&p.headline, &setter));
                ui.end_row();
                ui.label("Key and timing check");
                ui.add(ParamSlider::for_param(&p.checks, &setter));
                ui.end_row();
            });
    }
}
