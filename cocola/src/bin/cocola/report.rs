//! Human-readable rendering of scores for the terminal.

use std::fmt::Write;
use std::path::Path;

use cocola::default_model::ModelSource;
use cocola::mode::Mode;
use cocola::model::Model;
use cocola::score::{PairReport, WindowOutcome, WindowScores};
use serde::Serialize;

/// The model facts printed beside every result.
#[derive(Serialize)]
pub struct ModelSummary {
    pub name: String,
    pub version: String,
    pub source: String,
    pub calibrated: bool,
}

impl ModelSummary {
    pub fn new(model: &Model, source: &ModelSource) -> Self {
        let meta = model.metadata();
        Self {
            name: meta.name.clone(),
            version: meta.version.clone(),
            source: source.describe(),
            calibrated: meta.calibration.is_some(),
        }
    }
}

pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0);
    format!("{}:{:04.1}", (s / 60.0).floor() as u64, s % 60.0)
}

fn fit_text(scores: &WindowScores, mode: Mode) -> String {
    let m = scores.get(mode);
    match (m.fit, m.verdict) {
        (Some(fit), Some(verdict)) => format!("{fit:5.1}  {verdict}"),
        _ => "    -  (uncalibrated model)".to_string(),
    }
}

/// The full terminal report of `cocola score`.
pub fn render_pair(condition: &Path, stem: &Path, model: &ModelSummary, report: &PairReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "condition  {}", condition.display());
    let _ = writeln!(out, "stem       {}", stem.display());
    let _ = writeln!(out, "model      {} {} ({})", model.name, model.version, model.source);
    let silent = report.windows.len() - report.scored_windows();
    let _ = writeln!(
        out,
        "audio      {:.1} s, {} window(s) of 5 s, {} scored, {} silent",
        report.duration_seconds,
        report.windows.len(),
        report.scored_windows(),
        silent
    );
    let _ = writeln!(out);
    match &report.aggregate {
        None => {
            let _ = writeln!(
                out,
                "No window could be scored: every window is silent on one side or both."
            );
        }
        Some(overall) => {
            let _ = writeln!(out, "             raw score    fit  verdict");
            for mode in Mode::ALL {
                let _ = writeln!(
                    out,
                    "{:<12} {:>9.3}  {}",
                    mode.name(),
                    overall.get(mode).raw,
                    fit_text(overall, mode)
                );
            }
        }
    }
    if report.windows.len() > 1 {
        let _ = writeln!(out, "\ntimeline     both  harmonic  percussive");
        for w in &report.windows {
            let line = match &w.outcome {
                WindowOutcome::Scored(s) => format!(
                    "{:>9.3} {:>9.3} {:>11.3}",
                    s.get(Mode::Both).raw,
                    s.get(Mode::Harmonic).raw,
                    s.get(Mode::Percussive).raw
                ),
                WindowOutcome::Silent { condition, stem } => {
                    let which = match (condition, stem) {
                        (true, true) => "both sides",
                        (true, false) => "condition",
                        _ => "stem",
                    };
                    format!("   silent ({which})")
                }
            };
            let _ = writeln!(out, "{:>7}  {line}", clock(w.start_seconds));
        }
    }
    out
}
