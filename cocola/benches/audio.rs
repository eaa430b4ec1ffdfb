//! Decoding + downmix + resampling cost: a 3-minute stereo 44.1 kHz 16-bit WAV
//! to 16 kHz mono (the CLI's and the trainer's per-file cost), and the
//! resampler alone on the same length of mono audio.
//!
//! `cargo bench -p cocola --bench audio`

use std::f64::consts::PI;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

use cocola::audio::{load_mono_16k, resample_to_16k, Resampler16k};

const RATE: u32 = 44_100;
const SECONDS: usize = 180;

/// Two detuned tones plus a little deterministic noise, so that nothing in
/// the pipeline can take a shortcut on trivial data.
fn signal(i: usize, channel: usize) -> f64 {
    let t = i as f64 / f64::from(RATE);
    let noise = ((i.wrapping_mul(2_654_435_761) ^ channel) % 1_000) as f64 / 1_000.0 - 0.5;
    0.4 * (2.0 * PI * (220.0 + channel as f64) * t).sin() + 0.3 * (2.0 * PI * 3_100.0 * t).sin() + 0.05 * noise
}

fn bench_audio(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("three_minutes.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).expect("create wav");
    for i in 0..RATE as usize * SECONDS {
        for ch in 0..2 {
            w.write_sample((signal(i, ch) * 32_767.0) as i16).expect("write");
        }
    }
    w.finalize().expect("finalize");

    c.bench_function("load_mono_16k: 3 min stereo 44.1 kHz int16 WAV", |b| {
        b.iter(|| black_box(load_mono_16k(black_box(&path)).expect("load")))
    });

    let mono: Vec<f32> = (0..RATE as usize * SECONDS).map(|i| signal(i, 0) as f32).collect();
    c.bench_function("resample_to_16k: 3 min mono 44.1 kHz", |b| {
        b.iter(|| black_box(resample_to_16k(black_box(&mono), RATE).expect("resample")))
    });

    // The plugin's worker: 512-sample host buffers through one reused resampler.
    let mut resampler = Resampler16k::new(48_000).expect("resampler");
    let mut out = Vec::with_capacity(48_000);
    let host: Vec<f32> = (0..48_000).map(|i| signal(i, 1) as f32).collect();
    c.bench_function("Resampler16k::process: 1 s of 48 kHz in 512-sample chunks", |b| {
        b.iter(|| {
            out.clear();
            for chunk in host.chunks(512) {
                resampler.process(black_box(chunk), &mut out);
            }
            black_box(out.len())
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    targets = bench_audio
}
criterion_main!(benches);
