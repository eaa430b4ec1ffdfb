//! A generic folder of tracks, `DIR/<track>/<stem>.<ext>` — the layout
//! `cocola eval --stems` reads, so a user's own stems can be trained on and
//! evaluated alike. Split 0.8 / 0.1 / 0.1 by [`crate::data::split`].

use std::path::Path;

use super::{audio_files, push_track, subdirs};
use crate::data::source::Listing;
use crate::data::split;

pub fn discover(root: &Path, seed: u64) -> anyhow::Result<Listing> {
    anyhow::ensure!(root.is_dir(), "{}: not a directory", root.display());
    let mut listing = Listing::default();
    let dirs = subdirs(root)?;
    let names: Vec<String> = dirs.iter().map(|d| super::name_of(d)).collect();
    let splits = split::assign(&names, seed, "generic");
    for (dir, s) in dirs.into_iter().zip(splits) {
        let stems = audio_files(&dir)?;
        push_track(&mut listing, "generic", &dir, s, stems);
    }
    Ok(listing)
}
