//! How much timing the model's input carries at full resolution: the
//! sensitivity test scored by the correlation of the two sides' onset
//! profiles read off the percussive channel (channel 1) of the features
//! the encoder sees, instead of by a model. The encoder's convolutions
//! pool time into ~0.33 s cells; this asks whether a finer, parameter-free
//! profile would tell a stem from its off-beat copy as well as the
//! model-free floor (onsets from a 1024-point spectrum every 10 ms) does.
//!
//! ```text
//! cargo run --release -p cocola --example onset_in_features -- STEMS_DIR [ANCHORS] [FRAMES_PER_CELL] [CSV]
//! ```
//!
//! The profile: the onset profile of the time-pitch-class-onset pooling
//! (`cocola::model::pooling::onset_profile`) in cells of FRAMES_PER_CELL
//! 10 ms frames (default 5, the pooling's), scaled to unit length, so a
//! score is the two profiles' correlation. Same draws as `cocola eval --stems
//! STEMS_DIR --sensitivity --anchors ANCHORS --seed 0` (both channels).
//! CSV, if given, receives each anchor's truth and shifted scores.

use std::path::PathBuf;

use cocola::contract::{InputKind, EMBEDDING_DIM, N_FRAMES};
use cocola::eval::embed::Encoder;
use cocola::model::pooling::onset_profile_in_cells;
use cocola::model::{Embeddings, ModelError};

#[path = "common/probe.rs"]
mod probe;

struct OnsetProfile {
    frames_per_cell: usize,
}

impl Encoder for OnsetProfile {
    fn input(&self) -> InputKind {
        InputKind::Pitch
    }

    fn encode(&mut self, features: &[f32], rows: usize) -> Result<Embeddings, ModelError> {
        Ok(probe::embed_readings(features, rows, |row| {
            let p = onset_profile_in_cells(InputKind::Pitch, row, self.frames_per_cell);
            p.into_iter().map(f64::from).collect()
        }))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(root) = args.first().map(PathBuf::from) else {
        eprintln!("usage: onset_in_features STEMS_DIR [ANCHORS] [FRAMES_PER_CELL] [CSV]");
        std::process::exit(2);
    };
    let anchors = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(300);
    let frames_per_cell: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(5);
    assert!((1..=N_FRAMES / 2).contains(&frames_per_cell) && (N_FRAMES - 1) / frames_per_cell <= EMBEDDING_DIM);
    let mut encoder = OnsetProfile { frames_per_cell };
    let description = format!("onset profile of the percussive channel, {frames_per_cell} frames a cell");
    let report = probe::run_probe(&mut encoder, &root, anchors, "onset profile", &description);
    if let Some(path) = args.get(3) {
        let mut out = String::from("anchor,truth,in_key,transposed,shifted,foreign\n");
        for a in &report.anchors {
            let s = &a.scores[0];
            let foreign = s.foreign.map_or(String::new(), |f| f.to_string());
            out += &format!(
                "{},{},{},{},{},{foreign}\n",
                a.index, s.truth, s.in_key, s.transposed, s.shifted
            );
        }
        std::fs::write(path, out).expect("write the CSV");
    }
}
