//! The GUI's custom drawings: the headline, the two mode bars and the
//! timeline. Pure presentation of a [`Snapshot`]; no state of their own.

use cocola::calibration::Verdict;
use cocola::contract::InputKind;
use egui::{Align2, Color32, FontId, Pos2, Rect, RichText, Sense, Stroke, Ui, Vec2};

use crate::snapshot::{Outcome, Snapshot};

pub const GREEN: Color32 = Color32::from_rgb(70, 200, 110);
pub const AMBER: Color32 = Color32::from_rgb(235, 180, 50);
pub const RED: Color32 = Color32::from_rgb(230, 80, 70);
pub const GREY: Color32 = Color32::from_rgb(120, 120, 120);
/// Timeline colours of the modes, in `Mode::ALL` order (both, harmonic, percussive).
pub const MODE_COLOURS: [Color32; 3] = [
    Color32::from_rgb(230, 230, 230),
    Color32::from_rgb(90, 160, 255),
    Color32::from_rgb(255, 130, 60),
];

pub fn verdict_colour(v: Option<Verdict>) -> Color32 {
    match v {
        Some(Verdict::Fits) => GREEN,
        Some(Verdict::Unsure) => AMBER,
        Some(Verdict::Clashes) => RED,
        None => GREY,
    }
}

/// Big fit number and verdict, the raw score beside it.
pub fn headline(ui: &mut Ui, s: &Snapshot, stale: bool) {
    ui.horizontal(|ui| {
        let Some(h) = s.headline else {
            ui.label(RichText::new("--").size(56.0).color(GREY).strong());
            ui.label(RichText::new("no score yet").size(20.0).color(GREY));
            return;
        };
        // A headline from before the current silence/gap is shown dimmed.
        let dim = |c: Color32| if stale { c.gamma_multiply(0.45) } else { c };
        let colour = dim(verdict_colour(h.verdict));
        match h.fit {
            Some(fit) => {
                ui.label(RichText::new(format!("{fit:.0}")).size(56.0).color(colour).strong());
                ui.vertical(|ui| {
                    let word = h.verdict.map_or("", |v| v.word());
                    ui.label(RichText::new(word.to_uppercase()).size(26.0).color(colour).strong());
                    ui.label(RichText::new("fit / 100").size(14.0).color(dim(GREY)));
                });
            }
            None => {
                ui.label(
                    RichText::new(format!("{:.2}", h.raw))
                        .size(56.0)
                        .color(dim(Color32::WHITE))
                        .strong(),
                );
                ui.vertical(|ui| {
                    ui.label(RichText::new("uncalibrated model").size(18.0).color(dim(AMBER)));
                    ui.label(
                        RichText::new("raw score only: no fit or verdict")
                            .size(14.0)
                            .color(dim(GREY)),
                    );
                });
            }
        }
        ui.add_space(24.0);
        ui.vertical(|ui| {
            ui.label(
                RichText::new(format!("raw {:.3}", h.raw))
                    .size(20.0)
                    .color(dim(Color32::LIGHT_GRAY)),
            );
            let shows = match h.shows.mode() {
                Some(mode) => format!("{mode} mode"),
                None => "combined fit (raw: both)".to_string(),
            };
            ui.label(RichText::new(shows).size(14.0).color(dim(GREY)));
        });
    });
}

/// Harmonic and percussive as two horizontal bars. With a calibrated model
/// the bar is the fit (0-100); otherwise the raw score placed within the
/// range of raw scores in the timeline.
pub fn mode_bars(ui: &mut Ui, s: &Snapshot) {
    let (lo, hi) = raw_range(s);
    let without_hps = s.model.as_ref().is_some_and(|m| m.input == InputKind::Mel);
    for (label, value, colour) in [
        ("Harmonic (notes)", s.harmonic, MODE_COLOURS[1]),
        ("Percussive (groove)", s.percussive, MODE_COLOURS[2]),
    ] {
        ui.horizontal(|ui| {
            ui.add_sized([150.0, 22.0], egui::Label::new(RichText::new(label).size(16.0)));
            let width = (ui.available_width() - 120.0).max(80.0);
            let (rect, _) = ui.allocate_exact_size(Vec2::new(width, 20.0), Sense::hover());
            let painter = ui.painter_at(rect);
            painter.rect_filled(rect, 4.0, Color32::from_gray(45));
            let (fraction, text) = match value {
                Some((_, Some(fit))) => (fit / 100.0, format!("{fit:.0} / 100")),
                Some((raw, None)) => (
                    ((raw - lo) / (hi - lo).max(1e-6)).clamp(0.02, 1.0),
                    format!("raw {raw:.3}"),
                ),
                None if without_hps => (0.0, "n/a: model without HPS".to_string()),
                None => (0.0, "--".to_string()),
            };
            let mut filled = rect;
            filled.set_width(rect.width() * fraction.clamp(0.0, 1.0));
            painter.rect_filled(filled, 4.0, colour);
            ui.label(RichText::new(text).size(16.0));
        });
    }
}

fn raw_range(s: &Snapshot) -> (f32, f32) {
    let mut lo = f32::INFINITY;
    let mut hi = f32::NEG_INFINITY;
    for p in &s.timeline {
        if let Outcome::Scored { smoothed, .. } = p.outcome {
            // NaN marks a mode the model does not have.
            for v in smoothed.into_iter().filter(|v| v.is_finite()) {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.1).max(1e-3);
    (lo - pad, hi + pad)
}

/// The recent windows: smoothed raw score of all three modes against song
/// position (or time since the start when the host reports none). Silent
/// windows are grey ticks, windows without a sidechain red ticks.
pub fn timeline(ui: &mut Ui, s: &Snapshot, height: f32) {
    let (rect, _) = ui.allocate_exact_size(Vec2::new(ui.available_width(), height), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 4.0, Color32::from_gray(28));
    let plot = rect.shrink2(Vec2::new(44.0, 16.0));
    if s.timeline.is_empty() {
        painter.text(
            rect.center(),
            Align2::CENTER_CENTER,
            "timeline: no windows yet",
            FontId::proportional(15.0),
            GREY,
        );
        return;
    }
    let x_of = |p: &crate::snapshot::Point| p.song_seconds.unwrap_or(p.end_sample as f64 / 16_000.0);
    let x0 = s.timeline.iter().map(x_of).fold(f64::INFINITY, f64::min);
    let x1 = s
        .timeline
        .iter()
        .map(x_of)
        .fold(f64::NEG_INFINITY, f64::max)
        .max(x0 + 1.0);
    let (lo, hi) = raw_range(s);
    let to_screen = |x: f64, y: f32| -> Pos2 {
        Pos2::new(
            plot.left() + ((x - x0) / (x1 - x0)) as f32 * plot.width(),
            plot.bottom() - ((y - lo) / (hi - lo)).clamp(0.0, 1.0) * plot.height(),
        )
    };
    for m in 0..3 {
        let mut line: Vec<Pos2> = Vec::new();
        for p in &s.timeline {
            match p.outcome {
                Outcome::Scored { smoothed, .. } if smoothed[m].is_finite() => {
                    line.push(to_screen(x_of(p), smoothed[m]))
                }
                _ => flush(&painter, &mut line, MODE_COLOURS[m]),
            }
        }
        flush(&painter, &mut line, MODE_COLOURS[m]);
    }
    for p in &s.timeline {
        let colour = match p.outcome {
            Outcome::Silent { .. } => GREY,
            Outcome::NoSidechain => RED,
            Outcome::Scored { .. } => continue,
        };
        let x = to_screen(x_of(p), lo).x;
        painter.line_segment(
            [Pos2::new(x, plot.bottom()), Pos2::new(x, plot.bottom() - 8.0)],
            Stroke::new(2.0, colour),
        );
    }
    let small = FontId::proportional(12.0);
    painter.text(
        Pos2::new(rect.left() + 4.0, plot.top()),
        Align2::LEFT_CENTER,
        format!("{hi:.1}"),
        small.clone(),
        GREY,
    );
    painter.text(
        Pos2::new(rect.left() + 4.0, plot.bottom()),
        Align2::LEFT_CENTER,
        format!("{lo:.1}"),
        small.clone(),
        GREY,
    );
    let unit = if s.timeline.back().is_some_and(|p| p.song_seconds.is_some()) {
        "song s"
    } else {
        "s"
    };
    painter.text(
        Pos2::new(plot.left(), rect.bottom() - 2.0),
        Align2::LEFT_BOTTOM,
        format!("{x0:.1} {unit}"),
        small.clone(),
        GREY,
    );
    painter.text(
        Pos2::new(plot.right(), rect.bottom() - 2.0),
        Align2::RIGHT_BOTTOM,
        format!("{x1:.1} {unit}"),
        small,
        GREY,
    );
    legend(
        &painter,
        Rect::from_min_size(
            Pos2::new(plot.right() - 250.0, rect.top() + 2.0),
            Vec2::new(250.0, 14.0),
        ),
    );
}

fn flush(painter: &egui::Painter, line: &mut Vec<Pos2>, colour: Color32) {
    match line.len() {
        0 => {}
        1 => {
            painter.circle_filled(line[0], 2.5, colour);
        }
        _ => {
            painter.add(egui::Shape::line(std::mem::take(line), Stroke::new(2.0, colour)));
        }
    }
    line.clear();
}

fn legend(painter: &egui::Painter, rect: Rect) {
    let font = FontId::proportional(12.0);
    for (i, name) in ["both", "harmonic", "percussive"].iter().enumerate() {
        let x = rect.left() + i as f32 * 84.0;
        let y = rect.center().y;
        painter.line_segment(
            [Pos2::new(x, y), Pos2::new(x + 16.0, y)],
            Stroke::new(3.0, MODE_COLOURS[i]),
        );
        painter.text(
            Pos2::new(x + 20.0, y),
            Align2::LEFT_CENTER,
            *name,
            font.clone(),
            Color32::LIGHT_GRAY,
        );
    }
}
