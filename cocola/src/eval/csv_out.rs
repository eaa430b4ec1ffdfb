//! CSV files written by an evaluation: one row per pair, or one row per
//! (mode, K). Numbers are written in full precision; empty cells mean
//! "not applicable" (no score for a failed or silent pair, no fit for an
//! uncalibrated model).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::pairs::{PairSetReport, PairStatus};
use super::sensitivity::{NegativeKind, SensitivityReport};
use super::submix::SubmixReport;
use crate::mode::Mode;

/// Why a CSV could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {error}", path.display())]
pub struct CsvWriteError {
    pub path: PathBuf,
    pub error: String,
}

fn cell<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The per-pair table.
pub fn write_pairs<W: Write>(out: W, report: &PairSetReport, modes: &[Mode]) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<String> = [
        "id",
        "condition",
        "stem",
        "status",
        "duration_s",
        "windows_scored",
        "windows_silent",
    ]
    .map(String::from)
    .to_vec();
    header.extend(modes.iter().map(|m| format!("raw_{m}")));
    if report.calibrated {
        header.extend(modes.iter().map(|m| format!("fit_{m}")));
        header.push("fit_combined".into());
    }
    header.push("error".into());
    w.write_record(&header)?;
    for pair in &report.pairs {
        let (status, error) = match &pair.status {
            PairStatus::Scored => ("scored", ""),
            PairStatus::Silent => ("silent", ""),
            PairStatus::Failed { error } => ("failed", error.as_str()),
        };
        let r = pair.report.as_ref();
        let mut row = vec![
            pair.id.clone(),
            pair.condition.display().to_string(),
            pair.stem.display().to_string(),
            status.to_string(),
            cell(r.map(|r| format!("{:.3}", r.duration_seconds))),
            cell(r.map(|r| r.scored_windows())),
            cell(r.map(|r| r.windows.len() - r.scored_windows())),
        ];
        row.extend(modes.iter().map(|&m| cell(pair.raw(m))));
        if report.calibrated {
            row.extend(modes.iter().map(|&m| cell(pair.fit(m))));
            row.push(cell(pair.combined_fit()));
        }
        row.push(error.to_string());
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

/// The accuracy@K table.
pub fn write_accuracy<W: Write>(out: W, report: &SubmixReport) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["mode", "k", "batches", "anchors", "accuracy", "std_error", "chance"])?;
    for r in &report.results {
        let a = &r.accuracy;
        w.write_record([
            r.mode.to_string(),
            a.k.to_string(),
            a.batches.to_string(),
            a.anchors.to_string(),
            a.accuracy.to_string(),
            cell(a.std_error),
            a.chance.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// The sensitivity test's anchors: what was drawn, the model's scores per
/// mode (`truth_<mode>`, `in_key_<mode>`: the true stem through the shifter
/// and back, which the transposed stem is compared with, and one column per
/// negative kind) and the floor's scores per kind (`floor_<kind>_truth`,
/// `floor_<kind>_negative`; the transposed kind's truth is the in-key copy).
pub fn write_sensitivity<W: Write>(out: W, report: &SensitivityReport, modes: &[Mode]) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<String> = [
        "anchor",
        "track",
        "start_s",
        "target",
        "condition",
        "semitones",
        "carrier_semitones",
        "beat_s",
        "delay_s",
        "foreign_track",
        "foreign_stem",
        "foreign_start_s",
    ]
    .map(String::from)
    .to_vec();
    for m in modes {
        header.push(format!("truth_{m}"));
        header.push(format!("in_key_{m}"));
        header.extend(NegativeKind::ALL.iter().map(|k| format!("{}_{m}", k.name())));
    }
    for k in NegativeKind::ALL {
        header.push(format!("floor_{}_truth", k.name()));
        header.push(format!("floor_{}_negative", k.name()));
    }
    w.write_record(&header)?;
    for a in &report.anchors {
        let foreign = a.foreign.as_ref();
        let mut row = vec![
            a.index.to_string(),
            a.track.clone(),
            a.start_seconds.to_string(),
            a.target.clone(),
            a.condition.join("+"),
            a.semitones.to_string(),
            a.carrier.to_string(),
            cell(a.beat_seconds),
            a.delay_seconds.to_string(),
            cell(foreign.map(|f| f.track.clone())),
            cell(foreign.map(|f| f.stem.clone())),
            cell(foreign.map(|f| f.start_seconds)),
        ];
        for s in &a.scores {
            row.extend([
                s.truth.to_string(),
                s.in_key.to_string(),
                s.transposed.to_string(),
                s.shifted.to_string(),
                cell(s.foreign),
            ]);
        }
        for &(truth, negative) in &a.floor {
            row.push(truth.to_string());
            row.push(if negative.is_nan() {
                String::new()
            } else {
                negative.to_string()
            });
        }
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

/// Writes a CSV to `path` through a temporary file renamed into place, so an
/// interrupted run never leaves half a table where a complete one was.
pub fn write_file(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<(), csv::Error>,
) -> Result<(), CsvWriteError> {
    crate::atomic_file::write_with(path, |w| write(w).map_err(std::io::Error::other)).map_err(|e| CsvWriteError {
        path: path.to_owned(),
        error: e.to_string(),
    })
}
