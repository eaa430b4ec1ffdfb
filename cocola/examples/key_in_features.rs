//! How much key the model's input carries: the sensitivity test's
//! "transposed" kind scored by a chroma computed from the 64 mel bands of
//! the features the encoder sees (the harmonic channel), instead of by a
//! model. If this simple reading of the features already tells the true
//! stem from its transposed copy far more often than the trained model
//! does, the model has not learnt what its input holds; if it cannot, the
//! input itself (64 mel bands from 60 Hz to 7.8 kHz: ~45 Hz per band below
//! 1 kHz, ~0.8 semitone above) limits how well any model on it can hear key.
//!
//! ```text
//! cargo run --release -p cocola --example key_in_features -- STEMS_DIR [ANCHORS] [MIN_HZ] [--input pitch]
//! ```
//!
//! `--input pitch` reads the chroma from the pitch input's harmonic channel
//! instead (64 semitone bands from C2, a 128 ms window): how much more key
//! that input keeps, on the same draws.
//!
//! Same draws as `cocola eval --stems STEMS_DIR --sensitivity --anchors
//! ANCHORS --seed 0` (both channels). Bands below MIN_HZ (default 0: all)
//! are left out of the chroma. Prints the win rates of the mel chroma and,
//! for comparison, of the test's own floor (a chroma from the 1024-point
//! spectrum).

use std::path::PathBuf;

use cocola::contract::{InputKind, N_FRAMES, N_MELS};
use cocola::dsp::chroma::pitch_class;
use cocola::eval::embed::Encoder;
use cocola::features::{mel_band_centres_hz, semitone_band_centres_hz};
use cocola::model::{Embeddings, ModelError};

#[path = "common/probe.rs"]
mod probe;

/// Embeds a window as the unit-length 12-bin chroma of its harmonic
/// channel's bands (power averaged over time), zero-padded to the
/// embedding's size, so that a score is the chromas' cosine.
struct BandChroma {
    input: InputKind,
    /// Pitch class of each band, `None` for bands left out.
    classes: Vec<Option<usize>>,
}

impl BandChroma {
    /// `input` is hps (the mel bands) or pitch (the semitone bands).
    fn new(input: InputKind, min_hz: f64) -> Self {
        let centres = match input {
            InputKind::Pitch => semitone_band_centres_hz(),
            _ => mel_band_centres_hz(),
        };
        let classes = centres
            .into_iter()
            .map(|hz| (hz >= min_hz).then(|| pitch_class(hz as f32).0))
            .collect();
        Self { input, classes }
    }
}

impl Encoder for BandChroma {
    fn input(&self) -> InputKind {
        self.input
    }

    fn encode(&mut self, features: &[f32], rows: usize) -> Result<Embeddings, ModelError> {
        Ok(probe::embed_readings(features, rows, |row| {
            // Channel 0 is harmonic, [N_MELS][N_FRAMES] of dB.
            let mut chroma = vec![0.0f64; 12];
            for (band, class) in self.classes.iter().enumerate() {
                let Some(class) = class else { continue };
                let frames = &row[band * N_FRAMES..(band + 1) * N_FRAMES];
                chroma[*class] += frames.iter().map(|&db| 10f64.powf(f64::from(db) / 10.0)).sum::<f64>();
            }
            chroma
        }))
    }
}

fn main() {
    let all: Vec<String> = std::env::args().skip(1).collect();
    let input = match all.iter().position(|a| a == "--input") {
        Some(i) => match all.get(i + 1).map(|k| k.parse::<InputKind>()) {
            Some(Ok(kind @ (InputKind::Hps | InputKind::Pitch))) => kind,
            _ => {
                eprintln!("--input takes hps or pitch");
                std::process::exit(2);
            }
        },
        None => InputKind::Hps,
    };
    let args: Vec<&String> = all
        .iter()
        .filter(|a| !a.starts_with("--") && !["hps", "pitch"].contains(&a.as_str()))
        .collect();
    let Some(root) = args.first().map(PathBuf::from) else {
        eprintln!("usage: key_in_features STEMS_DIR [ANCHORS] [MIN_HZ] [--input hps|pitch]");
        std::process::exit(2);
    };
    let anchors = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(300);
    let min_hz: f64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(0.0);
    let mut encoder = BandChroma::new(input, min_hz);
    let bands = encoder.classes.iter().flatten().count();
    let description = format!("{input} input, chroma from {bands} of {N_MELS} harmonic bands (>= {min_hz} Hz)");
    probe::run_probe(&mut encoder, &root, anchors, "band chroma", &description);
}
