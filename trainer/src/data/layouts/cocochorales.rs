//! CocoChorales: `train|valid|test/<ensemble>_trackNNNNNNN/stems_audio/*.wav`
//! (four instruments per chorale). The paper's "All" models use only the
//! `random` ensemble; `ensemble` selects one, `None` keeps all.

use std::path::Path;

use super::{audio_files, push_track, split_dirs, subdirs};
use crate::data::dataset::{Listing, Split};

pub fn discover(root: &Path, ensemble: Option<&str>) -> anyhow::Result<Listing> {
    let mut listing = Listing::default();
    let splits = split_dirs(
        root,
        &[
            ("train", Split::Train),
            ("valid", Split::Validation),
            ("test", Split::Test),
        ],
    )?;
    anyhow::ensure!(
        !splits.is_empty(),
        "{}: no train/, valid/ or test/ folder (CocoChorales layout)",
        root.display()
    );
    let label = match ensemble {
        Some(e) => format!("cocochorales-{e}"),
        None => "cocochorales".to_string(),
    };
    for (dir, split) in splits {
        for track in subdirs(&dir)? {
            let name = super::name_of(&track);
            if let Some(e) = ensemble {
                if !name.starts_with(&format!("{e}_")) {
                    continue;
                }
            }
            let stems_dir = track.join("stems_audio");
            if !stems_dir.is_dir() {
                listing
                    .warnings
                    .push(format!("{}: skipped, no stems_audio/ folder", track.display()));
                continue;
            }
            let stems = audio_files(&stems_dir)?;
            push_track(&mut listing, &label, &track, split, stems);
        }
    }
    Ok(listing)
}
