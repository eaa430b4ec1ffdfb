//! Shared helpers of the evaluation tests (these and the `cocola` command's,
//! which include this file): synthetic audio written with hound, and a
//! random-weight model (needs the ONNX Runtime library that `cargo xtask
//! setup` installs).

use std::path::{Path, PathBuf};

use cocola::model::testing::{random_weights, test_metadata};
use cocola::model::{write_model_file, LoadOptions, Model};

/// Writes mono or multi-channel 16-bit WAV; `samples` are interleaved.
pub fn write_wav(path: &Path, samples: &[f32], rate: u32, channels: u16) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// A deterministic "instrument": a tone with a few harmonics, plus clicks
/// every `beat` seconds, at 16 kHz.
pub fn voice(seconds: f32, freq: f32, beat: f32, seed: u32) -> Vec<f32> {
    let n = (seconds * 16_000.0) as usize;
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|i| {
            let t = i as f32 / 16_000.0;
            let tone = (2.0 * std::f32::consts::PI * freq * t).sin() * 0.2
                + (4.0 * std::f32::consts::PI * freq * t).sin() * 0.05;
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = (state as f32 / u32::MAX as f32 - 0.5) * 0.02;
            let phase = (t % beat) / beat;
            let click = if phase < 0.02 { 0.3 * (1.0 - phase / 0.02) } else { 0.0 };
            tone + noise + click * (state as f32 / u32::MAX as f32 - 0.5)
        })
        .collect()
}

/// Writes a random-weight model into `dir` and loads it (one intra-op thread).
pub fn test_model(dir: &Path) -> (PathBuf, Model) {
    let path = dir.join("model.onnx");
    write_model_file(&path, &random_weights(7), &test_metadata()).unwrap();
    let model = Model::load(&path, &LoadOptions::default()).expect("load the test model (run `cargo xtask setup`)");
    (path, model)
}

/// SHA-256 hex of a file, as the CLI computes the model identity.
pub fn sha256_hex(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Plucked notes: a tone with one harmonic, re-struck every `beat` seconds
/// and decaying in between (each strike is a note start), at 16 kHz.
pub fn plucked(seconds: f32, freq: f32, beat: f32) -> Vec<f32> {
    let n = (seconds * 16_000.0) as usize;
    (0..n)
        .map(|i| {
            let t = i as f32 / 16_000.0;
            let since_strike = t % beat;
            let envelope = (-since_strike * 12.0).exp() * (1.0 - (-since_strike * 400.0).exp());
            let phase = 2.0 * std::f32::consts::PI * freq * t;
            0.4 * envelope * (phase.sin() + 0.3 * (2.0 * phase).sin())
        })
        .collect()
}

/// Three tracks of plucked bass, drums and keys (9 s each) and one track
/// with a corrupt stem: the sensitivity test's synthetic set.
pub fn build_sensitivity_tracks(root: &Path) {
    for t in 0..3u32 {
        for (s, name) in ["bass", "drums", "keys"].iter().enumerate() {
            let freq = 110.0 * (1 + s as u32) as f32 + 7.0 * t as f32;
            let beat = 0.25 + 0.05 * s as f32 + 0.02 * t as f32;
            write_wav(
                &root.join(format!("track{t}/{name}.wav")),
                &plucked(9.0, freq, beat),
                16_000,
                1,
            );
        }
    }
    // A corrupt stem: the track fails, the test goes on.
    write_wav(&root.join("broken/a.wav"), &voice(9.0, 300.0, 0.5, 60), 16_000, 1);
    std::fs::write(root.join("broken/b.wav"), b"RIFF....WAVEfmt garbage").unwrap();
}
