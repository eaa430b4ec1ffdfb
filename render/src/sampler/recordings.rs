//! Recordings on disk -> [`Sample`]s: note names in file names, decoding
//! (any format `cocola::audio` reads, at the renderer's 16 kHz), trimming,
//! and the tuning each recording really has.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::instrument::Sample;
use super::pitch::{cents, fundamental, key_hz};

/// The rate recordings are loaded at: the renderer's (and COCOLA's) rate.
pub const SAMPLE_RATE: u32 = 16_000;
/// Longer recordings are cut (with a fade): notes are rarely held longer, and
/// the piano's low notes ring for half a minute.
const MAX_SECONDS: f64 = 12.0;
const FADE_OUT_SECONDS: f64 = 0.3;
/// Leading samples under this fraction of the peak are silence before the
/// attack; trimming them keeps rendered onsets on time.
const ONSET_FRACTION: f32 = 0.003;
/// A recording further than this from its name's pitch is not retuned.
const MAX_CORRECTION_CENTS: f64 = 120.0;
/// Two measurements of one recording this close make a trusted estimate.
const AGREE_CENTS: f64 = 4.0;
/// Lowest fundamental measured (Hz): the piano's lowest strings barely have one.
const MIN_MEASURED_HZ: f64 = 45.0;

/// MIDI key (and the rest of the name) of file names like `A4`, `As4`,
/// `A#4`, `Bb3`, `D#1v8`: scientific pitch, A4 = 69.
pub fn parse_note(name: &str) -> Option<(u8, &str)> {
    let mut chars = name.char_indices().peekable();
    let (_, letter) = chars.next()?;
    let pc: i32 = match letter.to_ascii_uppercase() {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    };
    let mut alter = 0;
    if let Some(&(_, c)) = chars.peek() {
        match c {
            '#' | 's' => {
                alter = 1;
                chars.next();
            }
            'b' => {
                alter = -1;
                chars.next();
            }
            _ => {}
        }
    }
    let start = chars.peek()?.0;
    let digits_end = name[start..]
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && *c == '-')))
        .map_or(name.len(), |(i, _)| start + i);
    let octave: i32 = name[start..digits_end].parse().ok()?;
    let key = 12 * (octave + 1) + pc + alter;
    (0..=127).contains(&key).then_some((key as u8, &name[digits_end..]))
}

/// Audio files of `dir` (sorted by name), with their file stems.
pub fn audio_files(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot list samples", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| cocola::files::is_audio_file(p))
        .map(|p| (p.file_stem().unwrap_or_default().to_string_lossy().into_owned(), p))
        .collect();
    files.sort();
    Ok(files)
}

/// Decodes one recording, trims the silence before its attack and cuts it
/// to [`MAX_SECONDS`].
pub fn load(path: &Path) -> anyhow::Result<Vec<f32>> {
    let mut x = cocola::audio::load_mono_16k(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let peak = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    anyhow::ensure!(peak > 0.0, "{}: silent recording", path.display());
    let first = x.iter().position(|v| v.abs() >= ONSET_FRACTION * peak).unwrap_or(0);
    // Keep a millisecond before the attack: cutting into it would click.
    x.drain(..first.saturating_sub(SAMPLE_RATE as usize / 1000));
    let max = (MAX_SECONDS * SAMPLE_RATE as f64) as usize;
    if x.len() > max {
        x.truncate(max);
        let fade = (FADE_OUT_SECONDS * SAMPLE_RATE as f64) as usize;
        let n = x.len();
        for (i, v) in x[n - fade..].iter_mut().enumerate() {
            *v *= 1.0 - i as f32 / fade as f32;
        }
    }
    Ok(x)
}

/// The pitch a recording of `key` really sounds at, as a fractional key,
/// and the cents it measured off its name (None: not measurable).
///
/// The fundamental is measured on up to three consecutive 0.4 s stretches
/// after the attack; the recording is retuned only when at least two
/// stretches agree within [`AGREE_CENTS`] (a steady, trustworthy estimate)
/// and their median is within [`MAX_CORRECTION_CENTS`] of the name: enough
/// to fix the packages' few recordings labelled a semitone off, too little
/// for an estimate locked on another harmonic (a fifth or more away).
/// Below [`MIN_MEASURED_HZ`] fundamentals are too weak to measure.
pub fn tuned_root(data: &[f32], key: u8) -> (f64, Option<f64>) {
    let expected = key_hz(key as f64);
    if expected < MIN_MEASURED_HZ {
        return (key as f64, None);
    }
    let sr = SAMPLE_RATE as usize;
    let stretch = 2 * sr / 5;
    let mut offs: Vec<f64> = (0..3)
        .map(|i| sr / 10 + i * stretch)
        .filter(|&from| from + stretch / 2 <= data.len())
        .filter_map(|from| {
            let to = (from + stretch).min(data.len());
            fundamental(&data[from..to], SAMPLE_RATE as f64, expected / 1.5, expected * 1.5)
        })
        .map(|f| cents(f, expected))
        .collect();
    offs.sort_by(f64::total_cmp);
    let agreeing = offs.windows(2).any(|w| w[1] - w[0] <= AGREE_CENTS);
    let Some(&median) = offs.get(offs.len() / 2) else {
        return (key as f64, None);
    };
    if agreeing && median.abs() <= MAX_CORRECTION_CENTS {
        (key as f64 + median / 100.0, Some(median))
    } else {
        (key as f64, None)
    }
}

/// Scales every recording of a set by one factor so that the loudest peaks
/// at `peak` (their relative levels, e.g. velocity layers, are kept).
pub fn normalise(samples: &mut [&mut Sample], peak: f32) {
    let max = samples
        .iter()
        .flat_map(|s| s.data.iter())
        .fold(0f32, |m, v| m.max(v.abs()));
    if max > 0.0 {
        let g = peak / max;
        for s in samples.iter_mut() {
            s.data.iter_mut().for_each(|v| *v *= g);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_names() {
        assert_eq!(parse_note("A4"), Some((69, "")));
        assert_eq!(parse_note("As4"), Some((70, "")));
        assert_eq!(parse_note("A#4"), Some((70, "")));
        assert_eq!(parse_note("Bb3"), Some((58, "")));
        assert_eq!(parse_note("D#1v8"), Some((27, "v8")));
        assert_eq!(parse_note("C8"), Some((108, "")));
        assert_eq!(parse_note("F2 v2"), Some((41, " v2")));
        assert_eq!(parse_note("C-1"), Some((0, "")));
        assert_eq!(parse_note("index"), None);
        assert_eq!(parse_note("A"), None);
        assert_eq!(parse_note("H4"), None);
    }
}
