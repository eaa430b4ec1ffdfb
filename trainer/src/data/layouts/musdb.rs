//! MUSDB18-HQ: `train|test/<track>/{bass,drums,other,vocals,mixture}.wav`.
//! The official split has no validation part; the paper holds MUSDB18-HQ
//! out for testing only.

use std::path::Path;

use super::{audio_files, push_track, split_dirs, subdirs};
use crate::data::dataset::{Listing, Split};

pub fn discover(root: &Path) -> anyhow::Result<Listing> {
    let mut listing = Listing::default();
    let splits = split_dirs(root, &[("train", Split::Train), ("test", Split::Test)])?;
    anyhow::ensure!(
        !splits.is_empty(),
        "{}: no train/ or test/ folder (MUSDB18-HQ layout)",
        root.display()
    );
    for (dir, split) in splits {
        for track in subdirs(&dir)? {
            let stems = audio_files(&track)?;
            push_track(&mut listing, "musdb", &track, split, stems);
        }
    }
    Ok(listing)
}
