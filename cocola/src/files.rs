//! Which files in an evaluation folder are audio, listed in a stable order.

use std::path::{Path, PathBuf};

/// Extensions of the containers the decoder reads (symphonia with `all`).
/// Anything else in a set folder (notes, metadata, images) is ignored.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "flac", "mp3", "ogg", "oga", "m4a", "mp4", "aac", "alac", "aif", "aiff", "aifc", "caf", "mka",
    "mkv", "webm",
];

/// Whether `path` names an audio file by its extension (case-insensitive).
pub fn is_audio_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

/// The file name without its extension, lower-cased: `Bass.WAV` -> `bass`.
pub fn stem_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

/// Whether a stem, by its file name (without extension, as
/// [`stem_name`] gives it), holds unpitched percussion: names starting with
/// `drum` or `percussion` (MUSDB18's `drums`, MoisesDB's `drums` and
/// `percussion`, the renderer's `drums`). Such stems have no key, so the
/// sensitivity test never transposes them.
pub fn is_unpitched_stem(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("drum") || name.starts_with("percussion")
}

/// The folder beside a track's stems that holds their transposed twins
/// (the same stems rendered `semitones` away; `cocola-render
/// --transposed-twins`): `transposed+3`, `transposed-2`. Readers of
/// `<track>/*.wav` never see it.
pub fn twin_folder(semitones: i32) -> String {
    format!("transposed{semitones:+}")
}

/// The transposition a twin folder's name says (`None`: not a twin folder).
pub fn parse_twin_folder(name: &str) -> Option<i32> {
    let amount = name.strip_prefix("transposed")?;
    if !amount.starts_with(['+', '-']) {
        return None;
    }
    let semitones: i32 = amount.parse().ok()?;
    (semitones != 0 && semitones.abs() <= 12).then_some(semitones)
}

/// Entries of `dir`, sorted by name (byte order, so the same on every
/// machine), hidden entries (".name") left out.
pub fn sorted_entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        entries.push(entry.path());
    }
    entries.sort();
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_files_are_recognised_by_extension() {
        assert!(is_audio_file(Path::new("a/b/stem.WAV")));
        assert!(is_audio_file(Path::new("x.flac")));
        assert!(!is_audio_file(Path::new("notes.txt")));
        assert!(!is_audio_file(Path::new("wav")));
        assert_eq!(stem_name(Path::new("dir/Condition.Mp3")), "condition");
    }

    #[test]
    fn twin_folder_names_round_trip() {
        for k in [-6, -1, 1, 5] {
            assert_eq!(parse_twin_folder(&twin_folder(k)), Some(k));
        }
        assert_eq!(twin_folder(3), "transposed+3");
        for name in [
            "transposed",
            "transposed3",
            "transposed+0",
            "transposed+x",
            "twins",
            "transposed+40",
        ] {
            assert_eq!(parse_twin_folder(name), None, "{name}");
        }
    }
}
