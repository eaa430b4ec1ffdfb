//! Decoding, downmix and resampling to 16 kHz mono (`cocola::audio`).
//!
//! WAV files are generated on the fly with hound; FLAC/MP3/OGG/AIFF and the
//! broken files are committed fixtures (tests/fixtures/audio/README.txt).
//! Run with `--nocapture` to see the measured frequency response.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use cocola::audio::{
    downmix_interleaved, load_mono_16k, load_mono_16k_with_info, resample_to_16k, AudioError, DecodedInfo, Resampler16k,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/audio")
        .join(name)
}

#[derive(Clone, Copy, Debug)]
enum Fmt {
    Int(u16),
    Float32,
}

/// Writes a WAV whose sample (frame, channel) is `f(frame, channel)` in [-1, 1].
fn write_wav(path: &Path, fmt: Fmt, channels: u16, rate: u32, frames: usize, f: impl Fn(usize, usize) -> f64) {
    let (bits, sample_format) = match fmt {
        Fmt::Int(b) => (b, hound::SampleFormat::Int),
        Fmt::Float32 => (32, hound::SampleFormat::Float),
    };
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..frames {
        for c in 0..channels as usize {
            let v = f(i, c).clamp(-1.0, 1.0);
            match fmt {
                Fmt::Float32 => w.write_sample(v as f32).unwrap(),
                Fmt::Int(8) => w.write_sample((v * 127.0).round() as i8).unwrap(),
                Fmt::Int(16) => w.write_sample((v * 32767.0).round() as i16).unwrap(),
                Fmt::Int(b) => {
                    let full = ((1i64 << (b - 1)) - 1) as f64;
                    w.write_sample((v * full).round() as i32).unwrap()
                }
            }
        }
    }
    w.finalize().unwrap();
}

fn sine(freq: f64, rate: f64, amp: f64) -> impl Fn(usize) -> f64 {
    move |i| amp * (2.0 * PI * freq * i as f64 / rate).sin()
}

/// Least-squares fit of `a sin(wt) + b cos(wt)` over `y[range]` (t = n / fs):
/// returns (amplitude, phase) with y ~ amplitude * sin(wt + phase).
fn fit_sine(y: &[f32], freq: f64, fs: f64, range: std::ops::Range<usize>) -> (f64, f64) {
    let (mut ss, mut cc, mut sc, mut ys, mut yc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for n in range {
        let (s, c) = (2.0 * PI * freq * n as f64 / fs).sin_cos();
        let v = f64::from(y[n]);
        ss += s * s;
        cc += c * c;
        sc += s * c;
        ys += v * s;
        yc += v * c;
    }
    let det = ss * cc - sc * sc;
    let a = (ys * cc - yc * sc) / det;
    let b = (yc * ss - ys * sc) / det;
    ((a * a + b * b).sqrt(), b.atan2(a))
}

fn db(ratio: f64) -> f64 {
    20.0 * ratio.log10()
}

fn expected_len(frames: usize, rate: u32) -> usize {
    ((frames as u64 * 16_000 + u64::from(rate) / 2) / u64::from(rate)) as usize
}

/// Deterministic xorshift, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
}

// ---------------------------------------------------------------- WAV decoding

#[test]
fn wav_sample_formats_and_channel_layouts_load_with_the_right_length() {
    let dir = tempfile::tempdir().unwrap();
    let frames = 20_011; // not a multiple of anything convenient
    for fmt in [Fmt::Int(8), Fmt::Int(16), Fmt::Int(24), Fmt::Int(32), Fmt::Float32] {
        for channels in [1u16, 2, 6] {
            let path = dir.path().join(format!("{fmt:?}_{channels}.wav"));
            write_wav(&path, fmt, channels, 44_100, frames, |i, _| {
                sine(440.0, 44_100.0, 0.5)(i)
            });
            let (mono, info) = load_mono_16k_with_info(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                info,
                DecodedInfo {
                    sample_rate: 44_100,
                    channels: channels as usize,
                    frames: frames as u64
                }
            );
            assert_eq!(mono.len(), expected_len(frames, 44_100), "{fmt:?} {channels}");
            let (amp, _) = fit_sine(&mono, 440.0, 16_000.0, 500..mono.len() - 500);
            // 8-bit quantisation noise is the worst case here
            assert!((amp - 0.5).abs() < 0.005, "{fmt:?} {channels}: amplitude {amp}");
        }
    }
}

#[test]
fn wav_at_common_rates_has_length_round_frames_times_16k_over_rate() {
    let dir = tempfile::tempdir().unwrap();
    for rate in [
        8_000u32, 11_025, 16_000, 22_050, 32_000, 44_100, 48_000, 88_200, 96_000, 192_000,
    ] {
        for frames in [1usize, 2, 3, 1_000, rate as usize / 3 + 7] {
            let path = dir.path().join(format!("r{rate}_{frames}.wav"));
            write_wav(&path, Fmt::Int(16), 2, rate, frames, |i, c| {
                if c == 0 {
                    0.25
                } else {
                    (i % 7) as f64 / 10.0
                }
            });
            let (mono, info) = load_mono_16k_with_info(&path).unwrap();
            assert_eq!(info.sample_rate, rate);
            assert_eq!(info.frames, frames as u64);
            assert_eq!(mono.len(), expected_len(frames, rate), "rate {rate}, {frames} frames");
        }
    }
}

#[test]
fn downmix_is_the_mean_of_the_channels() {
    let dir = tempfile::tempdir().unwrap();
    let frames = 4_000;
    // 16 kHz: no resampling, so the file's mono mix comes back bit-exactly.
    for channels in [1u16, 2, 6] {
        let value = |i: usize, c: usize| ((i * (c + 3)) as f64 * 0.001 + c as f64).sin() * 0.9;
        let path = dir.path().join(format!("mix{channels}.wav"));
        write_wav(&path, Fmt::Float32, channels, 16_000, frames, value);
        let interleaved: Vec<f32> = (0..frames)
            .flat_map(|i| (0..channels as usize).map(move |c| value(i, c) as f32))
            .collect();
        let expected = downmix_interleaved(&interleaved, channels as usize);
        let mono = load_mono_16k(&path).unwrap();
        assert_eq!(mono.len(), frames);
        for (i, (a, b)) in mono.iter().zip(&expected).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "{channels} channels, frame {i}");
        }
        // and the mean really is the arithmetic mean
        for (i, m) in mono.iter().enumerate().step_by(97) {
            let mean = (0..channels as usize).map(|c| value(i, c) as f32 as f64).sum::<f64>() / f64::from(channels);
            assert!((f64::from(*m) - mean).abs() < 1e-6);
        }
    }
    // Opposite-phase stereo cancels; int16 values stay exact.
    let path = dir.path().join("cancel.wav");
    write_wav(&path, Fmt::Int(16), 2, 16_000, 1_000, |i, c| {
        if c == 0 {
            sine(300.0, 16_000.0, 0.5)(i)
        } else {
            -sine(300.0, 16_000.0, 0.5)(i)
        }
    });
    assert!(load_mono_16k(&path).unwrap().iter().all(|&s| s == 0.0));
}

#[test]
fn sixteen_khz_input_passes_through_bit_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mono16k.wav");
    let mut rng = Rng(7);
    let data: Vec<f32> = (0..10_000).map(|_| rng.unit()).collect();
    write_wav(&path, Fmt::Float32, 1, 16_000, data.len(), |i, _| f64::from(data[i]));
    assert_eq!(load_mono_16k(&path).unwrap(), data);
    assert_eq!(resample_to_16k(&data, 16_000).unwrap(), data);
    let mut r = Resampler16k::new(16_000).unwrap();
    assert_eq!(r.latency_samples(), 0);
    let mut out = Vec::new();
    r.process(&data[..333], &mut out);
    r.process(&data[333..], &mut out);
    assert_eq!(out, data);
}

#[test]
fn a_1khz_sine_at_44k1_is_a_1khz_sine_at_16k_with_the_same_amplitude_and_no_delay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sine1k.wav");
    let frames = 2 * 44_100;
    write_wav(&path, Fmt::Float32, 2, 44_100, frames, |i, _| {
        sine(1_000.0, 44_100.0, 0.5)(i)
    });
    let mono = load_mono_16k(&path).unwrap();
    assert_eq!(mono.len(), 32_000);
    // Away from the abrupt start and end of the tone (filter ringing):
    let body = 1_600..mono.len() - 1_600;
    let (amp, phase) = fit_sine(&mono, 1_000.0, 16_000.0, body.clone());
    let amp_db = db(amp / 0.5);
    println!("1 kHz @ 44.1 kHz -> 16 kHz: amplitude {amp_db:+.5} dB, phase {phase:+.2e} rad");
    assert!(amp_db.abs() < 0.1, "amplitude off by {amp_db} dB");
    // A delay of d samples would show as a phase of -2*pi*1000*d/16000.
    let delay = -phase / (2.0 * PI * 1_000.0) * 16_000.0;
    assert!(delay.abs() < 0.01, "output delayed by {delay} samples");
    // Sample by sample: the ideal 16 kHz sine, peaks at n = 4 (mod 16).
    let ideal = sine(1_000.0, 16_000.0, 0.5);
    let worst = body
        .clone()
        .map(|n| (f64::from(mono[n]) - ideal(n)).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-4, "max deviation from the ideal sine {worst}");
    for n in body.filter(|n| n % 16 == 4).take(50) {
        assert!(mono[n] > mono[n - 1] && mono[n] > mono[n + 1], "peak not at {n}");
    }
}

// ---------------------------------------------------------------- resampler

/// Amplitude in dB of a sine of `freq` at `rate` after resampling to 16 kHz.
fn passband_gain_db(freq: f64, rate: u32) -> f64 {
    let x: Vec<f32> = (0..rate as usize * 2)
        .map(|i| sine(freq, f64::from(rate), 0.5)(i) as f32)
        .collect();
    let y = resample_to_16k(&x, rate).unwrap();
    let (amp, _) = fit_sine(&y, freq, 16_000.0, 4_000..y.len() - 4_000);
    db(amp / 0.5)
}

/// Level in dB (relative to the input sine) of whatever comes out for a sine
/// above the 8 kHz output Nyquist (it could only appear as an alias).
fn stopband_level_db(freq: f64, rate: u32) -> f64 {
    let x: Vec<f32> = (0..rate as usize * 2)
        .map(|i| sine(freq, f64::from(rate), 0.5)(i) as f32)
        .collect();
    let y = resample_to_16k(&x, rate).unwrap();
    let body = &y[4_000..y.len() - 4_000];
    let rms = (body.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / body.len() as f64).sqrt();
    db(rms * 2f64.sqrt() / 0.5)
}

#[test]
fn resampler_passband_is_flat_to_7k8_and_the_stopband_is_deep() {
    for rate in [44_100u32, 48_000] {
        for freq in [100.0, 4_000.0, 7_500.0, 7_800.0] {
            let g = passband_gain_db(freq, rate);
            println!("{rate} Hz in: {freq:>6} Hz -> {g:+.5} dB");
            assert!(g.abs() < 0.01, "{freq} Hz at {rate} Hz: {g} dB");
        }
        let s = stopband_level_db(9_000.0, rate);
        println!("{rate} Hz in: 9000 Hz (aliases to 7 kHz) -> {s:.1} dB");
        assert!(s <= -60.0, "9 kHz at {rate} Hz only attenuated to {s} dB");
    }
}

#[test]
fn streaming_in_random_chunks_equals_the_whole_signal_after_the_latency() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for rate in [8_000u32, 11_025, 22_050, 44_100, 48_000, 96_000, 192_000] {
        let len = rate as usize + rng.below(5_000);
        let x: Vec<f32> = (0..len).map(|_| rng.unit() * 0.5).collect();
        let whole = resample_to_16k(&x, rate).unwrap();
        assert_eq!(whole.len(), expected_len(len, rate));

        let mut r = Resampler16k::new(rate).unwrap();
        let latency = r.latency_samples();
        assert!(latency > 0);
        for round in 0..2 {
            // The second round checks that reset() really forgets everything.
            let mut out = Vec::new();
            let mut pos = 0;
            while pos < len {
                let n = match rng.below(4) {
                    0 => rng.below(3), // empty and tiny chunks
                    1 => rng.below(64),
                    2 => rng.below(2_000),
                    _ => rng.below(20_000),
                }
                .min(len - pos);
                r.process(&x[pos..pos + n], &mut out);
                pos += n;
            }
            let zeros = vec![0.0f32; 1_000];
            while out.len() < latency + whole.len() {
                r.process(&zeros, &mut out);
            }
            let worst = whole
                .iter()
                .zip(&out[latency..])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst <= 1e-6, "rate {rate}, round {round}: max difference {worst}");
            r.reset();
        }
    }
}

#[test]
fn resampler_edge_cases() {
    assert!(resample_to_16k(&[], 44_100).unwrap().is_empty());
    assert_eq!(resample_to_16k(&[0.5], 44_100).unwrap().len(), 0); // round(0.36) = 0
    assert_eq!(resample_to_16k(&[0.5; 3], 44_100).unwrap().len(), 1);
    assert_eq!(resample_to_16k(&[0.5; 3], 8_000).unwrap().len(), 6);
    for bad in [0u32, 999, 768_001, u32::MAX] {
        let e = Resampler16k::new(bad).unwrap_err();
        assert!(
            matches!(e, AudioError::InvalidResampleRate { rate } if rate == bad),
            "{e}"
        );
        assert!(resample_to_16k(&[0.0; 10], bad).is_err());
    }
    // Odd rates work too, with the same alignment.
    let y = resample_to_16k(
        &(0..44_101)
            .map(|i| sine(1_000.0, 44_101.0, 0.5)(i) as f32)
            .collect::<Vec<_>>(),
        44_101,
    )
    .unwrap();
    assert_eq!(y.len(), 16_000);
    let (amp, phase) = fit_sine(&y, 1_000.0, 16_000.0, 2_000..14_000);
    assert!(db(amp / 0.5).abs() < 0.01 && phase.abs() < 1e-3, "{amp} {phase}");
    fn is_send<T: Send>() {}
    is_send::<Resampler16k>();
}

// ---------------------------------------------------------------- committed fixtures

#[test]
fn compressed_fixtures_decode_to_the_440hz_tone() {
    // Left 0.5, right 0.25 amplitude -> mono 0.375; 1 s at 44.1 kHz (AIFF 0.2 s).
    for (name, frames, tolerance_db, max_delay) in [
        ("tone.flac", 44_100u64, 0.01, 0.01),
        ("tone.aiff", 8_820, 0.01, 0.01),
        ("tone.ogg", 44_100, 0.5, 0.5),
        ("tone.mp3", 44_100, 0.5, 0.5),
    ] {
        let path = fixture(name);
        let (mono, info) = load_mono_16k_with_info(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            info,
            DecodedInfo {
                sample_rate: 44_100,
                channels: 2,
                frames
            },
            "{name}"
        );
        assert_eq!(mono.len(), expected_len(frames as usize, 44_100), "{name}");
        let (amp, phase) = fit_sine(&mono, 440.0, 16_000.0, 500..mono.len() - 500);
        let delay = -phase / (2.0 * PI * 440.0) * 16_000.0;
        println!(
            "{name}: 440 Hz at {:+.3} dB, delay {delay:+.3} samples",
            db(amp / 0.375)
        );
        assert!(db(amp / 0.375).abs() < tolerance_db, "{name}: amplitude {amp}");
        assert!(delay.abs() < max_delay, "{name}: delayed by {delay} samples");
    }
}

/// Loads a file that must fail; checks the message names the file and returns the error.
fn load_err(path: &Path) -> AudioError {
    let e = load_mono_16k(path).expect_err("must fail");
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(e.to_string().contains(name), "message does not name the file: {e}");
    assert_eq!(e.path(), Some(path));
    e
}

#[test]
fn broken_fixtures_give_clean_errors_naming_the_file() {
    let e = load_err(&fixture("truncated.flac"));
    assert!(matches!(e, AudioError::Truncated { expected: 44_100, .. }), "{e}");
    let e = load_err(&fixture("random_bytes.wav"));
    assert!(
        matches!(e, AudioError::UnsupportedFormat { .. } | AudioError::Corrupt { .. }),
        "{e}"
    );
    let e = load_err(&fixture("empty.wav"));
    assert!(matches!(e, AudioError::Empty { .. }), "{e}");
    let e = load_err(&fixture("text.mp3"));
    assert!(matches!(e, AudioError::UnsupportedFormat { .. }), "{e}");
    let e = load_err(&fixture("does_not_exist.ogg"));
    assert!(matches!(e, AudioError::Unreadable { .. }), "{e}");
    let e = load_err(&fixture(""));
    assert!(matches!(e, AudioError::Unreadable { .. }), "{e}");
}

#[test]
fn damaged_files_either_fail_cleanly_or_keep_their_length() {
    // Whatever damage does, the result is never silently shorter (which would
    // misalign a stem with its mix): a clean error naming the file, or the
    // full length with bad packets replaced by silence.
    let dir = tempfile::tempdir().unwrap();
    for name in ["tone.flac", "tone.mp3", "tone.ogg"] {
        let original = std::fs::read(fixture(name)).unwrap();
        let mut burst = original.clone();
        let mid = burst.len() / 2;
        for b in &mut burst[mid..mid + 40] {
            *b ^= 0x5a;
        }
        let mut scattered = original.clone();
        let mut rng = Rng(42);
        for _ in 0..30 {
            let i = original.len() / 8 + rng.below(original.len() * 7 / 8);
            scattered[i] ^= 0xff;
        }
        for (kind, bytes) in [("burst", burst), ("scattered", scattered)] {
            let path = dir.path().join(format!("{kind}_{name}"));
            std::fs::write(&path, bytes).unwrap();
            match load_mono_16k_with_info(&path) {
                Ok((mono, info)) => {
                    assert_eq!(info.frames, 44_100, "{kind} {name}");
                    assert_eq!(mono.len(), 16_000, "{kind} {name}");
                    println!("{kind} {name}: decoded, full length");
                }
                Err(e) => {
                    assert!(e.to_string().contains(&format!("{kind}_{name}")), "{e}");
                    println!("{kind} {name}: {e}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------- hand-made broken headers

/// A 16-bit PCM WAV with arbitrary header fields and `data_frames` frames of silence.
fn raw_wav(channels: u16, rate: u32, data_bytes: usize) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&((36 + data_bytes) as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes()); // PCM
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    let block = u32::from(channels) * 2;
    v.extend_from_slice(&(rate.wrapping_mul(block)).to_le_bytes());
    v.extend_from_slice(&(block as u16).to_le_bytes());
    v.extend_from_slice(&16u16.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data_bytes as u32).to_le_bytes());
    v.resize(v.len() + data_bytes, 0);
    v
}

#[test]
fn absurd_headers_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let e = load_err(&write("zero channels.wav", &raw_wav(0, 44_100, 400)));
    assert!(matches!(e, AudioError::ZeroChannels { .. }), "{e}");
    for rate in [0u32, 5, 10_000_000, u32::MAX] {
        let e = load_err(&write(&format!("rate{rate}.wav"), &raw_wav(1, rate, 400)));
        assert!(matches!(e, AudioError::AbsurdSampleRate { .. }), "{e}");
    }
    // A valid header with no data at all.
    let e = load_err(&write("no frames.wav", &raw_wav(2, 44_100, 0)));
    assert!(matches!(e, AudioError::Empty { .. }), "{e}");
    // A WAV cut in the middle of its data.
    let mut cut = raw_wav(2, 44_100, 40_000);
    cut.truncate(20_000);
    let e = load_err(&write("cut.wav", &cut));
    assert!(matches!(e, AudioError::Truncated { expected: 10_000, .. }), "{e}");
    // Header only, cut before the data chunk.
    let e = load_err(&write("header only.wav", &raw_wav(2, 44_100, 0)[..30]));
    assert!(matches!(e, AudioError::UnsupportedFormat { .. }), "{e}");

    // AIFF with a sample rate of 0 (symphonia 0.5 would panic on it).
    let mut aiff = Vec::new();
    aiff.extend_from_slice(b"FORM");
    aiff.extend_from_slice(&(4 + 26 + 16 + 8u32).to_be_bytes());
    aiff.extend_from_slice(b"AIFFCOMM");
    aiff.extend_from_slice(&18u32.to_be_bytes());
    aiff.extend_from_slice(&1i16.to_be_bytes());
    aiff.extend_from_slice(&4u32.to_be_bytes());
    aiff.extend_from_slice(&16i16.to_be_bytes());
    aiff.extend_from_slice(&[0u8; 10]); // rate 0.0
    aiff.extend_from_slice(b"SSND");
    aiff.extend_from_slice(&16u32.to_be_bytes());
    aiff.extend_from_slice(&[0u8; 16]);
    let e = load_err(&write("rate0.aiff", &aiff));
    assert!(matches!(e, AudioError::AbsurdSampleRate { .. }), "{e}");
}

#[test]
fn non_finite_float_samples_are_replaced_by_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nan.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for v in [0.5f32, f32::NAN, -0.25, f32::INFINITY, f32::NEG_INFINITY, 0.125] {
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
    assert_eq!(load_mono_16k(&path).unwrap(), vec![0.5, 0.0, -0.25, 0.0, 0.0, 0.125]);
}
