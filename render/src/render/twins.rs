//! Transposed twins: every pitched stem of a track rendered a second time
//! with its notes moved by one amount (`RenderOptions::transposed_twins`).
//! The twin is played by the same voice, through the same production, at
//! the same gain: it differs from its stem by the key alone. A model trained
//! to reject a transposed stem against its twin cannot win by hearing a
//! pitch shifter's artefacts, as it can against a shifted copy.
//!
//! Layout: `<track>/transposed<+k>/<stem>.wav` (e.g. `transposed-3/bass.wav`,
//! named by [`cocola::files::twin_folder`]) and `render.json`'s
//! `transposed_twins`.
//!
//! Twins can be added to a finished track: the track is rendered again (the
//! render is deterministic), its stems must come out identical to the files
//! there, and only the twins and the new `render.json` are moved in.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

/// Largest transposition of a twin, in semitones (each is +-1..=this).
pub const MAX_SEMITONES: i32 = 6;

/// What `render.json` records about a track's twins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TwinInfo {
    pub semitones: i32,
    /// The folder, relative to the track's.
    pub folder: String,
    /// The stems that have a twin (every pitched one).
    pub stems: Vec<String>,
}

/// The transposition of `track`'s twins, from a random stream of its own,
/// so that asking for twins changes nothing else of the rendering.
pub fn draw_semitones(seed: u64, track: &str) -> i32 {
    let mut rng = cocola::seeded::stream(b"cocola-render-twins-v1", &[&seed.to_le_bytes(), track.as_bytes()]);
    cocola::perturb::draw_transposition(&mut rng, MAX_SEMITONES as u32)
}

/// Whether the finished track in `dir` has its twins (its `render.json`
/// says so).
pub fn recorded(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("render.json")) else {
        return false;
    };
    serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v.get("transposed_twins").is_some())
}

/// Moves the twins rendered into `fresh` (with the track's stems and its
/// `render.json`) into the finished track `finished`, after checking that
/// every stem in `fresh` is byte for byte the one in `finished`: otherwise
/// the rendering options differ from those the track was made with, and its
/// twins would not be its own.
pub fn add_to_finished(fresh: &Path, finished: &Path, stems: &[String], twins: &TwinInfo) -> anyhow::Result<()> {
    for stem in stems {
        let file = format!("{stem}.wav");
        let read = |dir: &Path| {
            std::fs::read(dir.join(&file)).with_context(|| format!("{}: cannot read", dir.join(&file).display()))
        };
        anyhow::ensure!(
            read(fresh)? == read(finished)?,
            "{}: rendered again, {file} differs from the file there: render the twins with the options the \
             track was made with (seed, SoundFonts, samples, mixes)",
            finished.display()
        );
    }
    let (from, to) = (fresh.join(&twins.folder), finished.join(&twins.folder));
    if to.exists() {
        std::fs::remove_dir_all(&to).with_context(|| format!("{}: cannot replace", to.display()))?;
    }
    std::fs::rename(&from, &to).with_context(|| format!("{} -> {}: rename failed", from.display(), to.display()))?;
    // Last: the track counts as having twins only once they are in place.
    let json = fresh.join("render.json");
    std::fs::rename(&json, finished.join("render.json"))
        .with_context(|| format!("{}: cannot update render.json", finished.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_seeded_nonzero_within_range_and_both_signs() {
        let drawn: Vec<i32> = (0..200).map(|i| draw_semitones(7, &format!("t{i}"))).collect();
        assert!(drawn.iter().all(|&k| k != 0 && k.abs() <= MAX_SEMITONES));
        for k in (-MAX_SEMITONES..=MAX_SEMITONES).filter(|&k| k != 0) {
            assert!(drawn.contains(&k), "{k} never drawn");
        }
        assert_eq!(draw_semitones(7, "t3"), drawn[3]);
    }
}
