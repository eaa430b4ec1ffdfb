//! The corpus splits of generated pieces.

use std::path::Path;

use super::output::write_piece;
use super::style::{self, Style};
use super::{generate, piece_id, GenerateOptions};

/// The corpus splits. Pieces are split by index range, so a larger corpus
/// contains every piece of a smaller one in the same split, and the
/// held-out styles are generated only for the out-of-distribution split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Split {
    Train,
    Validation,
    Test,
    #[value(name = "test-ood")]
    TestOod,
}

impl Split {
    /// Index of the split's first piece.
    pub fn first_index(self) -> u64 {
        match self {
            Split::Train => 0,
            Split::Validation => 100_000_000,
            Split::Test => 200_000_000,
            Split::TestOod => 300_000_000,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
            Split::TestOod => "test-ood",
        }
    }

    /// The styles of the split's pieces.
    pub fn styles(self) -> Vec<Style> {
        let held_out = |s: &Style| style::HELD_OUT_STYLES.contains(s);
        style::ALL_STYLES
            .iter()
            .copied()
            .filter(|s| held_out(s) == (self == Split::TestOod))
            .collect()
    }
}

/// Writes pieces `0..count` of `split` into `dir` (skipping those already
/// there); returns how many were written.
pub fn write_split(dir: &Path, split: Split, count: u64, seed: u64, seconds: (f64, f64)) -> anyhow::Result<usize> {
    use rayon::prelude::*;
    let options = GenerateOptions {
        styles: split.styles(),
        seconds,
    };
    let todo: Vec<u64> = (0..count)
        .map(|i| split.first_index() + i)
        .filter(|&i| !crate::facts::sidecar_path(&dir.join(format!("{}.mid", piece_id(i)))).is_file())
        .collect();
    todo.par_iter()
        .map(|&i| write_piece(&generate(seed, i, &options), dir))
        .collect::<anyhow::Result<Vec<()>>>()?;
    Ok(todo.len())
}
