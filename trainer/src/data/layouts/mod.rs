//! Readers for the published layouts. Each lists tracks with their stem
//! files and split, and leaves out (with one warning) tracks that cannot
//! form two sub-mixes. Decoding and length checks happen later, in the stem
//! cache, so listing a large dataset stays fast.

pub mod cocochorales;
pub mod generic;
pub mod moisesdb;
pub mod musdb;
pub mod slakh;

use std::path::{Path, PathBuf};

use cocola::files::{is_audio_file, is_unpitched_stem, sorted_entries, stem_name};

use super::dataset::{DatasetKind, DatasetSpec, Listing, Split, TrackSource, TwinFiles};

/// Lists every track of `spec` with its split (`seed` decides the splits of
/// datasets that have no official one).
pub fn discover(spec: &DatasetSpec, seed: u64) -> anyhow::Result<Listing> {
    let listing = match &spec.kind {
        DatasetKind::Musdb => musdb::discover(&spec.root)?,
        DatasetKind::Moisesdb => moisesdb::discover(&spec.root, seed)?,
        DatasetKind::Slakh => slakh::discover(&spec.root)?,
        DatasetKind::CocoChorales { ensemble } => cocochorales::discover(&spec.root, ensemble.as_deref())?,
        DatasetKind::Generic => generic::discover(&spec.root, seed)?,
    };
    anyhow::ensure!(
        !listing.tracks.is_empty(),
        "{}: no {} tracks with at least 2 stems found (see the README for the expected layout)",
        spec.root.display(),
        spec.kind.label()
    );
    Ok(listing)
}

/// Sorted sub-directories of `dir`.
fn subdirs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = sorted_entries(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    Ok(entries.into_iter().filter(|p| p.is_dir()).collect())
}

/// Sorted audio files directly in `dir`, except full mixes (a "stem" that is
/// the whole mix would make every sub-mix trivially coherent with it).
fn audio_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = sorted_entries(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    Ok(entries
        .into_iter()
        .filter(|p| p.is_file() && is_audio_file(p) && !matches!(stem_name(p).as_str(), "mixture" | "mix"))
        .collect())
}

fn name_of(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether a stem file holds unpitched percussion, by its name or its
/// folder's (MoisesDB keeps stems in `drums/`, `percussion/` folders).
fn unpitched_by_name(path: &Path) -> bool {
    let folder = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    is_unpitched_stem(&stem_name(path)) || folder.is_some_and(|f| is_unpitched_stem(&f))
}

/// Adds a track (stems unpitched by their names), or a warning if it has
/// fewer than two stems.
fn push_track(listing: &mut Listing, dataset: &str, dir: &Path, split: Split, stems: Vec<PathBuf>) {
    let unpitched = stems.iter().map(|p| unpitched_by_name(p)).collect();
    push_track_flagged(listing, dataset, dir, split, stems, unpitched);
}

/// [`push_track`] with the unpitched flags given (one per stem).
fn push_track_flagged(
    listing: &mut Listing,
    dataset: &str,
    dir: &Path,
    split: Split,
    stems: Vec<PathBuf>,
    unpitched: Vec<bool>,
) {
    debug_assert_eq!(stems.len(), unpitched.len());
    if stems.len() < 2 {
        listing.warnings.push(format!(
            "{}: skipped, {} usable stem file(s) (two sub-mixes need at least 2)",
            dir.display(),
            stems.len()
        ));
        return;
    }
    let twins = twins_of(dir, &stems);
    listing.tracks.push(TrackSource {
        dataset: dataset.to_string(),
        name: name_of(dir),
        split,
        stems,
        unpitched,
        twins,
    });
}

/// The transposed twins beside a track's stems: the first folder of `dir`
/// named as [`twin_folder`](cocola::files::twin_folder) names them, each
/// stem's twin the file of the same name there. `None` without such a
/// folder, or when it twins none of the stems.
fn twins_of(dir: &Path, stems: &[PathBuf]) -> Option<TwinFiles> {
    let (folder, semitones) = sorted_entries(dir)
        .ok()?
        .into_iter()
        .filter(|p| p.is_dir())
        .find_map(|p| Some((p.clone(), cocola::files::parse_twin_folder(&name_of(&p))?)))?;
    let files: Vec<Option<PathBuf>> = (stems.iter())
        .map(|s| s.file_name().map(|n| folder.join(n)).filter(|t| t.is_file()))
        .collect();
    files
        .iter()
        .any(Option::is_some)
        .then_some(TwinFiles { semitones, files })
}

/// The official split folders of `root` that exist, with their split.
fn split_dirs(root: &Path, names: &[(&str, Split)]) -> anyhow::Result<Vec<(PathBuf, Split)>> {
    anyhow::ensure!(root.is_dir(), "{}: not a directory", root.display());
    Ok(names
        .iter()
        .map(|(n, s)| (root.join(n), *s))
        .filter(|(p, _)| p.is_dir())
        .collect())
}
