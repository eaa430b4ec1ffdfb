//! A generic folder of tracks, `DIR/<track>/<stem>.<ext>` — the layout
//! `cocola eval --stems` reads, so a user's own stems can be trained on and
//! evaluated alike. Split 0.8 / 0.1 / 0.1 by [`crate::data::split`].
//!
//! A folder whose track folders are already split, `DIR/train/<track>/`
//! with `DIR/validation/` and/or `DIR/test/` beside it (as `cargo xtask
//! corpus` writes it, split by piece so that the variants rendered from one
//! piece stay together), keeps those splits instead.

use std::path::{Path, PathBuf};

use super::{audio_files, push_track, split_dirs, subdirs};
use crate::data::dataset::{Listing, Split};
use crate::data::split;

const SPLIT_FOLDERS: [(&str, Split); 3] = [
    ("train", Split::Train),
    ("validation", Split::Validation),
    ("test", Split::Test),
];

pub fn discover(root: &Path, seed: u64) -> anyhow::Result<Listing> {
    anyhow::ensure!(root.is_dir(), "{}: not a directory", root.display());
    let mut listing = Listing::default();
    let given = split_dirs(root, &SPLIT_FOLDERS)?;
    let pre_split = given.iter().any(|(_, s)| *s == Split::Train) && given.len() >= 2;
    let tracks: Vec<(PathBuf, Split)> = if pre_split {
        let mut tracks = Vec::new();
        for (dir, split) in given {
            tracks.extend(subdirs(&dir)?.into_iter().map(|t| (t, split)));
        }
        tracks
    } else {
        let dirs = subdirs(root)?;
        let names: Vec<String> = dirs.iter().map(|d| super::name_of(d)).collect();
        let splits = split::assign(&names, seed, "generic");
        dirs.into_iter().zip(splits).collect()
    };
    for (dir, s) in tracks {
        let stems = audio_files(&dir)?;
        push_track(&mut listing, "generic", &dir, s, stems);
    }
    Ok(listing)
}
