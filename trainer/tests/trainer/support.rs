//! Synthetic stem datasets for the trainer's tests, written as WAV files in
//! each published layout. Tracks are learnable: all stems of track t share
//! its pitch and its pulse, so coherent sub-mixes are recognisable.

use std::path::Path;

pub const SR: u32 = 16_000;

/// Stem `s` of track `t`, `seconds` long: a tone at the track's pitch
/// (harmonic s) gated by the track's pulse, plus a click on the pulse for
/// odd stems.
pub fn stem(t: usize, s: usize, seconds: f32) -> Vec<f32> {
    let n = (seconds * SR as f32) as usize;
    let f0 = 110.0 * 2f32.powf((t * 5 % 12) as f32 / 12.0);
    let f = f0 * (s + 1) as f32;
    let period = (SR as f32 * 60.0 / (70.0 + 17.0 * t as f32)) as usize;
    (0..n)
        .map(|i| {
            let phase = i % period;
            let env = (-(phase as f32) / (0.25 * period as f32)).exp();
            let tone = 0.2 * env * (i as f32 * f * std::f32::consts::TAU / SR as f32).sin();
            let click = if s % 2 == 1 && phase < 80 {
                0.3 * (1.0 - phase as f32 / 80.0)
            } else {
                0.0
            };
            tone + click
        })
        .collect()
}

pub fn write_wav(path: &Path, samples: &[f32]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SR,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &x in samples {
        w.write_sample((x.clamp(-1.0, 1.0) * 32767.0) as i16).unwrap();
    }
    w.finalize().unwrap();
}

/// `DIR/<track>/<stem>.wav`: `tracks` tracks of `stems` stems.
pub fn generic(root: &Path, tracks: usize, stems: usize, seconds: f32) {
    for t in 0..tracks {
        for s in 0..stems {
            write_wav(
                &root.join(format!("track{t:02}")).join(format!("stem{s}.wav")),
                &stem(t, s, seconds),
            );
        }
    }
}

/// libtorch's random generator (initialisation, dropout, drop-connect) is
/// global to the process: tests that draw from it in parallel threads would
/// take each other's draws, so a seeded run would start from other weights in
/// every `cargo test` (a 40-step run then failed to learn in CI). Every test
/// that uses libtorch holds this turn, on one torch thread.
static TORCH_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn torch_turn() -> std::sync::MutexGuard<'static, ()> {
    let turn = TORCH_TURN.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    turn
}
