//! Tracks of stems on disk (`DIR/<track>/<stem>.<ext>`) for the sub-mix
//! classification protocol: finding them, and turning a decoded track into
//! the windows the protocol asks for.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::content_hash::{hash_samples, Digest32};
use crate::contract::WINDOW_SAMPLES;
use crate::files::{is_audio_file, sorted_entries, stem_name};

/// File names (without extension) that are not stems: MUSDB18 ships the full
/// mix beside the stems, and a "stem" that contains all the others would make
/// every sub-mix trivially coherent with it.
const NOT_STEMS: &[&str] = &["mixture", "mix"];

/// One track folder and its stem files, sorted by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackSpec {
    pub name: String,
    pub stems: Vec<PathBuf>,
}

/// The tracks found under a folder, and the folders left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrackListing {
    pub tracks: Vec<TrackSpec>,
    /// One warning per folder skipped (fewer than 2 stems).
    pub warnings: Vec<String>,
}

/// Why a stems folder cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum TrackSetError {
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{}: no track folders with at least 2 stems (expected DIR/<track>/<stem>.<audio ext>)", path.display())]
    Empty { path: PathBuf },
}

/// Lists `root/<track>/<stem>.<ext>`; tracks with fewer than two stems are
/// skipped with a warning.
pub fn discover_tracks(root: &Path) -> Result<TrackListing, TrackSetError> {
    let io = |path: &Path, error| TrackSetError::Io {
        path: path.to_owned(),
        error,
    };
    let mut listing = TrackListing::default();
    for dir in sorted_entries(root).map_err(|e| io(root, e))? {
        if !dir.is_dir() {
            continue;
        }
        let stems: Vec<PathBuf> = sorted_entries(&dir)
            .map_err(|e| io(&dir, e))?
            .into_iter()
            .filter(|f| f.is_file() && is_audio_file(f) && !NOT_STEMS.contains(&stem_name(f).as_str()))
            .collect();
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if stems.len() < 2 {
            listing.warnings.push(format!(
                "{}: skipped, {} stem file(s) (at least 2 are needed to form two sub-mixes)",
                dir.display(),
                stems.len()
            ));
            continue;
        }
        listing.tracks.push(TrackSpec { name, stems });
    }
    if listing.tracks.is_empty() {
        return Err(TrackSetError::Empty { path: root.to_owned() });
    }
    Ok(listing)
}

/// The decoded stems of one track, all of the same length.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackAudio {
    pub stems: Vec<Vec<f32>>,
}

impl TrackAudio {
    /// Decodes every stem of `spec` to 16 kHz mono (see [`from_stems`](Self::from_stems)
    /// for the warning); the error names the file that failed.
    pub fn decode(spec: &TrackSpec) -> Result<(Self, Option<String>), String> {
        let stems = spec
            .stems
            .iter()
            .map(|p| crate::audio::load_mono_16k(p).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_stems(&spec.name, stems))
    }

    /// Trims decoded stems to the shortest; the warning (if lengths differed)
    /// names the track and the lengths.
    pub fn from_stems(name: &str, mut stems: Vec<Vec<f32>>) -> (Self, Option<String>) {
        let shortest = stems.iter().map(Vec::len).min().unwrap_or(0);
        let longest = stems.iter().map(Vec::len).max().unwrap_or(0);
        let warning = (shortest != longest).then(|| {
            format!(
                "{name}: stems differ in length ({:.2} s to {:.2} s); all trimmed to the shortest",
                shortest as f64 / crate::contract::SAMPLE_RATE as f64,
                longest as f64 / crate::contract::SAMPLE_RATE as f64
            )
        });
        for stem in &mut stems {
            stem.truncate(shortest);
        }
        (Self { stems }, warning)
    }

    pub fn len(&self) -> usize {
        self.stems.first().map_or(0, Vec::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held in memory.
    pub fn bytes(&self) -> usize {
        self.stems.iter().map(|s| s.len() * 4).sum()
    }

    /// The full mix: the sum of all stems.
    pub fn mix(&self) -> Vec<f32> {
        let mut mix = vec![0.0f32; self.len()];
        for stem in &self.stems {
            for (m, s) in mix.iter_mut().zip(stem) {
                *m += s;
            }
        }
        mix
    }

    /// SHA-256 of the stems' samples (and their count and length): the
    /// identity of this track's content in the embedding cache.
    pub fn content_hash(&self) -> Digest32 {
        let mut hasher = Sha256::new();
        hasher.update(b"cocola-track-v1");
        hasher.update((self.stems.len() as u64).to_le_bytes());
        hasher.update((self.len() as u64).to_le_bytes());
        for stem in &self.stems {
            hash_samples(&mut hasher, stem);
        }
        hasher.finalize().into()
    }

    /// The sub-mix of `stems` over the 5 s window at `start`, summed in stem
    /// order (so the samples, and the cache key, are reproducible). Shorter
    /// than 5 s at the end of the track; the features zero-pad it.
    pub fn submix_window(&self, start: usize, stems: &[usize]) -> Vec<f32> {
        let start = start.min(self.len());
        let end = (start + WINDOW_SAMPLES).min(self.len());
        let mut out = vec![0.0f32; end - start];
        for &s in stems {
            for (o, x) in out.iter_mut().zip(&self.stems[s][start..end]) {
                *o += x;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"").unwrap();
    }

    #[test]
    fn discovery_skips_mixtures_non_audio_and_single_stem_tracks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "b/drums.wav",
            "b/bass.flac",
            "b/mixture.wav",
            "b/notes.txt",
            "a/x.wav",
            "a/y.wav",
            "c/solo.wav",
        ] {
            touch(&root.join(f));
        }
        touch(&root.join("loose.wav"));
        let listing = discover_tracks(root).unwrap();
        let names: Vec<&str> = listing.tracks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            listing.tracks[1].stems,
            vec![root.join("b/bass.flac"), root.join("b/drums.wav")]
        );
        assert_eq!(listing.warnings.len(), 1);
        assert!(listing.warnings[0].contains("1 stem file"));
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            discover_tracks(empty.path()),
            Err(TrackSetError::Empty { .. })
        ));
    }

    #[test]
    fn stems_are_trimmed_and_submixed() {
        let (track, warning) =
            TrackAudio::from_stems("t", vec![vec![1.0; 100_000], vec![2.0; 90_000], vec![4.0; 95_000]]);
        assert!(warning.unwrap().contains("trimmed"));
        assert_eq!(track.len(), 90_000);
        assert_eq!(track.mix()[0], 7.0);
        let w = track.submix_window(0, &[0, 2]);
        assert_eq!(w.len(), WINDOW_SAMPLES);
        assert!(w.iter().all(|&v| v == 5.0));
        assert_eq!(track.submix_window(20_000, &[1]).len(), 70_000);
        let (same, none) = TrackAudio::from_stems("t", vec![vec![0.5; 10]; 2]);
        assert!(none.is_none());
        assert_ne!(same.content_hash(), track.content_hash());
    }
}
