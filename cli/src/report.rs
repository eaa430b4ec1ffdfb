//! Human-readable rendering of scores for the terminal.

use std::fmt::Write;
use std::path::Path;

use cocola::mode::Mode;
use cocola::model_source::ModelInfo;
use cocola::score::alternatives::AlternativesReport;
use cocola::score::{ModeScore, PairReport, WindowOutcome};

pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0);
    format!("{}:{:04.1}", (s / 60.0).floor() as u64, s % 60.0)
}

fn fit_text(m: &ModeScore) -> String {
    match (m.fit, m.verdict) {
        (Some(fit), Some(verdict)) => format!("{fit:5.1}  {verdict}"),
        _ => "    -  (uncalibrated)".to_string(),
    }
}

/// The full terminal report of `cocola score`: one row per mode in `modes`.
pub fn render_pair(condition: &Path, stem: &Path, model: &ModelInfo, modes: &[Mode], report: &PairReport) -> String {
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
            for m in overall.modes() {
                let _ = writeln!(out, "{:<12} {:>9.3}  {}", m.mode.name(), m.raw, fit_text(m));
            }
            if let Some(c) = overall.combined() {
                let _ = writeln!(out, "{:<12} {:>9}  {:5.1}  {}", "combined", "-", c.fit, c.verdict);
            }
        }
    }
    if report.windows.len() > 1 {
        let names: Vec<String> = modes.iter().map(|m| format!("{:>11}", m.name())).collect();
        let _ = writeln!(out, "\ntimeline {}", names.join(""));
        for w in &report.windows {
            let line = match &w.outcome {
                WindowOutcome::Scored(s) => s.modes().iter().map(|m| format!("{:>11.3}", m.raw)).collect(),
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

/// The `--alternatives` section: whether the stem fits better transposed
/// or moved than as it is.
pub fn render_alternatives(report: &AlternativesReport) -> String {
    let alternatives = &report.alternatives;
    let mut out = String::from("\nthe stem against itself (combined fit as it is and changed)\n");
    if alternatives.as_is.combined().is_none() {
        out.push_str("no combined fit to compare (an uncalibrated model, or --symmetric scores)\n");
        return out;
    }
    for (key, name) in [(true, "key"), (false, "timing")] {
        if let Some(line) = alternatives.reading_words(key) {
            let _ = writeln!(out, "{name:<10} {line}");
        }
    }
    if let Some(beat) = alternatives.beat_seconds {
        let _ = writeln!(out, "{:<10} {:.0} BPM measured on the condition", "beat", 60.0 / beat);
    }
    out
}
