//! Slakh2100 (and its redux): `train|validation|test/TrackNNNNN/stems/SNN.flac`
//! with `TrackNNNNN/metadata.yaml`. Slakh lists every MIDI instrument in the
//! metadata but renders audio only for some (`audio_rendered: false`, or the
//! file is missing): those stems are left out.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{push_track_flagged, split_dirs, subdirs};
use crate::data::dataset::{Listing, Split};

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    stems: BTreeMap<String, StemMeta>,
}

#[derive(Deserialize)]
struct StemMeta {
    #[serde(default = "rendered_by_default")]
    audio_rendered: bool,
    #[serde(default)]
    is_drum: bool,
}

fn rendered_by_default() -> bool {
    true
}

pub fn discover(root: &Path) -> anyhow::Result<Listing> {
    let mut listing = Listing::default();
    let splits = split_dirs(
        root,
        &[
            ("train", Split::Train),
            ("validation", Split::Validation),
            ("test", Split::Test),
        ],
    )?;
    anyhow::ensure!(
        !splits.is_empty(),
        "{}: no train/, validation/ or test/ folder (Slakh2100 layout)",
        root.display()
    );
    for (dir, split) in splits {
        for track in subdirs(&dir)? {
            let meta_path = track.join("metadata.yaml");
            let meta: Metadata = match std::fs::read_to_string(&meta_path)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_yaml::from_str(&t).map_err(|e| e.to_string()))
            {
                Ok(m) => m,
                Err(e) => {
                    listing
                        .warnings
                        .push(format!("{}: skipped, cannot read metadata.yaml ({e})", track.display()));
                    continue;
                }
            };
            let mut stems = Vec::new();
            let mut unpitched = Vec::new();
            for (id, stem) in &meta.stems {
                if !stem.audio_rendered {
                    continue;
                }
                // Redux releases ship FLAC, the original WAV.
                let found = ["flac", "wav"]
                    .iter()
                    .map(|ext| track.join("stems").join(format!("{id}.{ext}")))
                    .find(|p| p.is_file());
                if let Some(path) = found {
                    stems.push(path);
                    unpitched.push(stem.is_drum);
                }
            }
            push_track_flagged(&mut listing, "slakh", &track, split, stems, unpitched);
        }
    }
    Ok(listing)
}
