//! MoisesDB: `<track>/data.json` and `<track>/<stem type>/<source id>.wav`.
//! Every source file is a stem (a stem type may hold several, e.g. two
//! guitars), as in the authors' preparation. MoisesDB has no official split:
//! tracks are split 0.8 / 0.1 / 0.1 by [`crate::data::split`].

use std::path::Path;

use super::{audio_files, push_track, subdirs};
use crate::data::dataset::Listing;
use crate::data::split;

pub fn discover(root: &Path, seed: u64) -> anyhow::Result<Listing> {
    anyhow::ensure!(root.is_dir(), "{}: not a directory", root.display());
    let mut listing = Listing::default();
    let mut tracks = Vec::new();
    for dir in subdirs(root)? {
        let meta = dir.join("data.json");
        // data.json marks a MoisesDB track folder; a damaged one means the
        // download is incomplete, which the user should hear about.
        match std::fs::read_to_string(&meta).map(|t| serde_json::from_str::<serde_json::Value>(&t)) {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                listing
                    .warnings
                    .push(format!("{}: skipped, data.json is not valid JSON ({e})", dir.display()));
                continue;
            }
            Err(_) => {
                listing.warnings.push(format!(
                    "{}: skipped, no data.json (not a MoisesDB track)",
                    dir.display()
                ));
                continue;
            }
        }
        let mut stems = Vec::new();
        for stem_dir in subdirs(&dir)? {
            stems.extend(audio_files(&stem_dir)?);
        }
        tracks.push((dir, stems));
    }
    let names: Vec<String> = tracks.iter().map(|(d, _)| super::name_of(d)).collect();
    let splits = split::assign(&names, seed, "moisesdb");
    for ((dir, stems), s) in tracks.into_iter().zip(splits) {
        push_track(&mut listing, "moisesdb", &dir, s, stems);
    }
    Ok(listing)
}
