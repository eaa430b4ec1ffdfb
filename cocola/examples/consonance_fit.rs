//! Fits the interval weights of the consonance agreement
//! (`cocola::model::CONSONANCE`): how much the harmony-profile agreement
//! should reward or penalise each interval between a pitch class of the
//! condition and one of the stem in the same second, so that it tells a
//! true stem from the same stem transposed.
//!
//! ```text
//! cargo run --release -p cocola --example consonance_fit -- TRAIN_DIR [CHECK_DIR...]
//! ```
//!
//! Draws the sensitivity test's anchors from TRAIN_DIR (650 per seed,
//! seeds 1-3) and reads each window's harmony profile exactly as the
//! model's graph does ([`harmony_profile`]). For interval `j`, feature
//! `f_j = sum over cells and classes p of stem[p] x condition[p + j]`; a
//! logistic regression without intercept on `f(true stem) - f(transposed)`
//! (features scaled by one common spread, L2 1e-3, 3 000 gradient steps) gives
//! the weights, printed scaled so that unison is 1. A second fit adds the
//! rows `f(true stem) - f(another song's stem)` (the test's foreign
//! negative), asking for weights that serve key and retrieval at once.
//! Then, on each CHECK_DIR (seed 0, 300 anchors: the test's default
//! draws), the transposed and foreign win rates of the unison agreement
//! (interval 0 alone) and of both fitted weight sets, and the test's
//! floor (transposed).
//!
//! How the windows are matched to anchors: the encoder records each
//! window's profile and embeds its row number (`[row, 1]` and `[1, 4096 x
//! row]`), so each of the test's scores reads `condition row + 4096 x stem
//! row`, exact in f32 below 4 096 windows a run.

use std::path::{Path, PathBuf};

use cocola::contract::{InputKind, EMBEDDING_DIM};
use cocola::eval::cache::EmbeddingCache;
use cocola::eval::embed::Encoder;
use cocola::eval::sensitivity::{evaluate_sensitivity, SensitivityOptions};
use cocola::eval::NoProgress;
use cocola::mode::Mode;
use cocola::model::pooling::{harmony_profile, HARMONY_CELLS, PITCH_CLASSES};
use cocola::model::{Embeddings, ModelError};

/// Rows a run may embed: scores must stay exact in f32.
const MAX_ROWS: usize = 4096;

/// Records each window's harmony profile; embeds its row number.
#[derive(Default)]
struct ProfileRecorder {
    profiles: Vec<Vec<f32>>,
}

impl Encoder for ProfileRecorder {
    fn input(&self) -> InputKind {
        InputKind::Pitch
    }

    fn encode(&mut self, features: &[f32], rows: usize) -> Result<Embeddings, ModelError> {
        let row_len = features.len() / rows.max(1);
        let (mut embedding, mut w_embedding) = (vec![0.0f32; rows * EMBEDDING_DIM], vec![0.0f32; rows * EMBEDDING_DIM]);
        for (r, window) in features.chunks_exact(row_len).enumerate() {
            let id = self.profiles.len() as f32;
            self.profiles.push(harmony_profile(InputKind::Pitch, window));
            embedding[r * EMBEDDING_DIM..][..2].copy_from_slice(&[id, 1.0]);
            w_embedding[r * EMBEDDING_DIM..][..2].copy_from_slice(&[1.0, MAX_ROWS as f32 * id]);
        }
        Ok(Embeddings {
            embedding,
            w_embedding,
            batch: rows,
        })
    }
}

/// Interval features of one condition and one stem profile.
fn interval_features(condition: &[f32], stem: &[f32]) -> [f64; PITCH_CLASSES] {
    let mut f = [0.0f64; PITCH_CLASSES];
    for cell in 0..HARMONY_CELLS {
        let (c, s) = (&condition[cell * PITCH_CLASSES..], &stem[cell * PITCH_CLASSES..]);
        for (j, fj) in f.iter_mut().enumerate() {
            *fj += (0..PITCH_CLASSES)
                .map(|p| f64::from(s[p]) * f64::from(c[(p + j) % PITCH_CLASSES]))
                .sum::<f64>();
        }
    }
    f
}

/// One draw's rows: per anchor `f(in-key true stem) - f(transposed)`, and
/// `f(true stem) - f(another song's stem)` where the anchor has one; and
/// the floor's transposed verdict (true stem above its negative).
struct Drawn {
    transposed: Vec<[f64; PITCH_CLASSES]>,
    foreign: Vec<[f64; PITCH_CLASSES]>,
    floor: Vec<bool>,
}

fn draw(root: &Path, anchors: usize, seed: u64) -> Drawn {
    let options = SensitivityOptions {
        anchors,
        seed,
        modes: vec![Mode::Both],
        ..SensitivityOptions::default()
    };
    let mut recorder = ProfileRecorder::default();
    let report = evaluate_sensitivity(&mut recorder, &EmbeddingCache::disabled(), root, &options, &NoProgress)
        .unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(1)
        });
    assert!(
        recorder.profiles.len() < MAX_ROWS,
        "too many windows for exact row numbers"
    );
    let rows = |score: f32| {
        let s = score.round() as usize;
        (s % MAX_ROWS, s / MAX_ROWS)
    };
    let p = &recorder.profiles;
    let difference = |condition: usize, better: usize, worse: usize| -> [f64; PITCH_CLASSES] {
        let (t, x) = (
            interval_features(&p[condition], &p[better]),
            interval_features(&p[condition], &p[worse]),
        );
        std::array::from_fn(|j| t[j] - x[j])
    };
    let mut drawn = Drawn {
        transposed: Vec::new(),
        foreign: Vec::new(),
        floor: Vec::new(),
    };
    for a in &report.anchors {
        let scores = &a.scores[0];
        let (condition, in_key) = rows(scores.in_key);
        let (same_condition, transposed) = rows(scores.transposed);
        assert_eq!(condition, same_condition);
        drawn.transposed.push(difference(condition, in_key, transposed));
        if let Some(foreign) = scores.foreign {
            let ((_, truth), (_, foreign)) = (rows(scores.truth), rows(foreign));
            drawn.foreign.push(difference(condition, truth, foreign));
        }
        let (truth, negative) = a.floor[0];
        drawn.floor.push(truth > negative);
    }
    drawn
}

/// Logistic regression without intercept: weights `w` with `w . d > 0`
/// for as many rows `d` as it can, in the features' own units.
fn fit(rows: &[[f64; PITCH_CLASSES]]) -> [f64; PITCH_CLASSES] {
    let n = rows.len() as f64;
    // One scale for all intervals, so that the L2 penalty weighs them alike.
    let spread = (rows.iter().flatten().map(|v| v * v).sum::<f64>() / (n * PITCH_CLASSES as f64))
        .sqrt()
        .max(1e-12);
    let mut w = [0.0f64; PITCH_CLASSES];
    w[0] = 1.0;
    for _ in 0..3000 {
        let mut gradient: [f64; PITCH_CLASSES] = std::array::from_fn(|j| 1e-3 * w[j]);
        for d in rows {
            let z: f64 = (0..PITCH_CLASSES).map(|j| w[j] * d[j] / spread).sum();
            let miss = 1.0 / (1.0 + z.exp());
            for j in 0..PITCH_CLASSES {
                gradient[j] -= miss * d[j] / spread / n;
            }
        }
        for j in 0..PITCH_CLASSES {
            w[j] -= 0.1 * gradient[j];
        }
    }
    w.map(|v| v / w[0])
}

fn win_rate(rows: &[[f64; PITCH_CLASSES]], w: &[f64; PITCH_CLASSES]) -> f64 {
    let wins = rows
        .iter()
        .map(|d| {
            let s: f64 = d.iter().zip(w).map(|(a, b)| a * b).sum();
            if s > 0.0 {
                1.0
            } else if s == 0.0 {
                0.5
            } else {
                0.0
            }
        })
        .sum::<f64>();
    wins / rows.len() as f64
}

fn main() {
    let dirs: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let Some((train, checks)) = dirs.split_first() else {
        eprintln!("usage: consonance_fit TRAIN_DIR [CHECK_DIR...]");
        std::process::exit(2);
    };
    let training: Vec<Drawn> = (1..=3).map(|seed| draw(train, 650, seed)).collect();
    let key_rows: Vec<[f64; PITCH_CLASSES]> = training.iter().flat_map(|d| d.transposed.clone()).collect();
    let foreign_rows: Vec<[f64; PITCH_CLASSES]> = training.iter().flat_map(|d| d.foreign.clone()).collect();
    let key = fit(&key_rows);
    // Key and retrieval at once: the same stem transposed and another
    // song's stem both below the true one.
    let joint = fit(&[key_rows.clone(), foreign_rows.clone()].concat());
    let unison: [f64; PITCH_CLASSES] = std::array::from_fn(|j| if j == 0 { 1.0 } else { 0.0 });
    println!(
        "{} training anchors of {} ({} with another song's stem)",
        key_rows.len(),
        train.display(),
        foreign_rows.len()
    );
    for (name, w) in [
        ("weights fitted on key", &key),
        ("weights fitted on key and foreign", &joint),
    ] {
        println!(
            "{name}, interval 0-11 (condition class minus stem class): [{}]",
            w.map(|v| format!("{v:.2}")).join(", ")
        );
    }
    println!(
        "{:<40} {:>16} {:>16} {:>16} {:>8}",
        "win rate: transposed / foreign", "unison", "key", "key+foreign", "floor"
    );
    let rates = |d: &Drawn, w: &[f64; PITCH_CLASSES]| {
        format!(
            "{:>7.1}% {:>6.1}%",
            100.0 * win_rate(&d.transposed, w),
            100.0 * win_rate(&d.foreign, w)
        )
    };
    let training_rows = Drawn {
        transposed: key_rows.clone(),
        foreign: foreign_rows.clone(),
        floor: Vec::new(),
    };
    println!(
        "{:<40} {:>16} {:>16} {:>16}",
        train.display(),
        rates(&training_rows, &unison),
        rates(&training_rows, &key),
        rates(&training_rows, &joint)
    );
    for dir in checks {
        let drawn = draw(dir, 300, 0);
        let floor_rate = drawn.floor.iter().filter(|&&won| won).count() as f64 / drawn.floor.len() as f64;
        println!(
            "{:<40} {:>16} {:>16} {:>16} {:>7.1}%",
            dir.display(),
            rates(&drawn, &unison),
            rates(&drawn, &key),
            rates(&drawn, &joint),
            100.0 * floor_rate
        );
    }
}
