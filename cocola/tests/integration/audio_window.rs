//! Windowed and streaming decoding (`cocola::audio::{load_window_16k,
//! WindowReader, MonoStream16k, MixStream16k}`, and `load_mono_16k`, which
//! streams) give the samples of the whole-buffer path
//! (`load_mono_16k_whole_buffer`), for WAV at several rates and for FLAC,
//! MP3 and Ogg/Vorbis (committed fixtures, tests/fixtures/audio/README.txt).

use std::path::{Path, PathBuf};

use crate::support::{write_wav, Noise};
use cocola::audio::{
    load_mono_16k_whole_buffer, load_mono_16k_with_info, load_window_16k, DecodedInfo, MixStream16k, MonoStream16k,
    WindowReader,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/audio")
        .join(name)
}

/// A stereo 16-bit WAV of `seconds` at `rate`: a chirp, a square wave and
/// seeded noise, so that every part of the spectrum is busy.
fn write_music_wav(path: &Path, rate: u32, seconds: f64) {
    let mut noise = Noise::new(1);
    let frames = (seconds * f64::from(rate)) as usize;
    let interleaved: Vec<f32> = (0..frames)
        .flat_map(|i| {
            let t = i as f64 / f64::from(rate);
            let n = noise.next();
            let chirp = (2.0 * std::f64::consts::PI * (200.0 + 300.0 * t) * t).sin();
            let square = if (t * 97.0).fract() < 0.5 { 0.3 } else { -0.3 };
            [(0.4 * chirp + 0.2 * n) as f32, (square + 0.1 * n) as f32]
        })
        .collect();
    write_wav(path, &interleaved, rate, 2);
}

/// Largest absolute difference; the lengths must match.
fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Windows at the start, inside, across the end and past the end.
fn windows(len: usize) -> Vec<(usize, usize)> {
    let w = 80_000.min(len / 2);
    vec![
        (0, w),
        (1, 1 + w / 3),
        (len / 3, len / 3 + w),
        (len / 2 + 777, len / 2 + 777 + w),
        (len - w, len),
        (len - w / 2, len + w / 2),
        (len + 10, len + 20),
    ]
}

/// Every window equals the whole-file samples at its positions, bit for bit
/// (stricter than the 1e-6 the resampler's chunking tests allow: the window
/// runs the same FFT blocks on the same frames, see `input_span`).
fn check_windows(path: &Path) -> (Vec<f32>, DecodedInfo) {
    let (whole, info) = load_mono_16k_whole_buffer(path).unwrap();
    assert_eq!(whole.len(), info.samples_16k(), "{}", path.display());
    assert_eq!(
        load_mono_16k_with_info(path).unwrap(),
        (whole.clone(), info),
        "{}",
        path.display()
    );
    for (start, end) in windows(whole.len()) {
        let window = load_window_16k(path, &info, start, end).unwrap();
        let expected = &whole[start.min(whole.len())..end.min(whole.len())];
        let diff = max_difference(&window, expected);
        assert_eq!(diff, 0.0, "{}: window {start}..{end} differs by {diff}", path.display());
    }
    // One reader, windows in order of start: overlapping, repeated, close
    // (decoded through) and far apart (a seek), then the end.
    let mut reader = WindowReader::new(path, info);
    let len = whole.len();
    let mut starts = vec![
        0,
        0,
        5_000,
        9_000,
        9_000 + 40_000,
        len / 2,
        len / 2 + 1,
        len * 3 / 4,
        len - 100,
    ];
    starts.retain(|&s| s < len);
    for start in starts {
        let end = start + 20_000;
        let window = reader.window(start, end).unwrap();
        let expected = &whole[start..end.min(len)];
        assert_eq!(
            max_difference(&window, expected),
            0.0,
            "{}: reader at {start}",
            path.display()
        );
    }
    (whole, info)
}

/// The stream, read to its end, is the whole-file signal.
fn check_stream(path: &Path, whole: &[f32], info: DecodedInfo) {
    let mut stream = MonoStream16k::open(path).unwrap();
    let mut samples = Vec::new();
    while stream.read(&mut samples).unwrap() {}
    assert_eq!(stream.info(), Some(info), "{}", path.display());
    let diff = max_difference(&samples, whole);
    assert_eq!(diff, 0.0, "{}: stream differs by {diff}", path.display());
}

/// The mix stream of `paths`, read to its end: the samples and what each file held.
fn read_mix(paths: &[PathBuf]) -> (Vec<f32>, Vec<DecodedInfo>) {
    let mut stream = MixStream16k::open(paths).unwrap();
    let mut samples = Vec::new();
    while stream.read(&mut samples).unwrap() {}
    (samples, stream.infos().expect("read to its end"))
}

/// The mix stream is the sum of the files' whole-file signals over the
/// shortest one's length, within `tolerance` (files of one rate are summed
/// before one resampler: equal up to float rounding).
fn check_mix(paths: &[PathBuf], tolerance: f32) {
    let wholes: Vec<(Vec<f32>, DecodedInfo)> = paths.iter().map(|p| load_mono_16k_whole_buffer(p).unwrap()).collect();
    let len = wholes.iter().map(|(w, _)| w.len()).min().unwrap();
    let expected: Vec<f32> = (0..len).map(|i| wholes.iter().map(|(w, _)| w[i]).sum()).collect();
    let (mix, infos) = read_mix(paths);
    assert_eq!(infos, wholes.iter().map(|(_, i)| *i).collect::<Vec<_>>());
    let diff = max_difference(&mix, &expected);
    assert!(diff <= tolerance, "{paths:?}: mix differs by {diff}");
}

#[test]
fn the_mix_stream_is_the_sum_of_the_whole_file_signals() {
    let dir = tempfile::tempdir().unwrap();
    let wav = |name: &str, rate: u32, seconds: f64| {
        let path = dir.path().join(name);
        write_music_wav(&path, rate, seconds);
        path
    };
    // One file: the file's own stream, bit for bit.
    check_mix(&[wav("one.wav", 44_100, 7.3)], 0.0);
    // Stems of one rate and different lengths (the mix ends with the
    // shortest, in the middle of the others), joined by other rates.
    let paths = [
        wav("a.wav", 44_100, 13.7),
        wav("b.wav", 44_100, 9.35),
        wav("c.wav", 48_000, 12.0),
        wav("d.wav", 16_000, 11.0),
        wav("e.wav", 44_100, 10.0),
    ];
    check_mix(&paths, 1e-5);
    // Compressed stems of one rate.
    check_mix(
        &[fixture("music.flac"), fixture("music.mp3"), fixture("music.ogg")],
        1e-5,
    );
    // A file that cannot be decoded fails the mix, naming it.
    let broken = dir.path().join("broken.wav");
    std::fs::write(&broken, b"RIFF not really").unwrap();
    let mut paths = paths.to_vec();
    paths.insert(1, broken);
    let error = MixStream16k::open(&paths)
        .and_then(|mut s| {
            let mut out = Vec::new();
            while s.read(&mut out)? {}
            Ok(())
        })
        .unwrap_err();
    assert!(error.to_string().contains("broken.wav"), "{error}");
}

#[test]
fn wav_windows_and_streams_equal_the_whole_file_at_every_rate() {
    let dir = tempfile::tempdir().unwrap();
    for rate in [44_100u32, 48_000, 22_050, 16_000, 44_101] {
        let path = dir.path().join(format!("m{rate}.wav"));
        write_music_wav(&path, rate, 13.7);
        let (whole, info) = check_windows(&path);
        check_stream(&path, &whole, info);
    }
}

#[test]
fn compressed_windows_and_streams_equal_the_whole_file() {
    for name in ["music.flac", "music.mp3", "music.ogg"] {
        let path = fixture(name);
        let (whole, info) = check_windows(&path);
        assert_eq!((info.sample_rate, info.channels), (44_100, 2), "{name}");
        check_stream(&path, &whole, info);
    }
}

#[test]
fn a_file_that_no_longer_matches_its_info_is_an_error_or_cut_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.wav");
    write_music_wav(&path, 44_100, 6.0);
    let (whole, info) = load_mono_16k_with_info(&path).unwrap();
    // Claimed longer than it is: samples past the real end are not invented.
    let longer = DecodedInfo {
        frames: info.frames * 2,
        ..info
    };
    let w = load_window_16k(&path, &longer, whole.len() - 100, whole.len() + 100).unwrap();
    assert_eq!(w.len(), 200);
    assert!(
        w[120..].iter().all(|&s| s.abs() < 1e-3),
        "past the end is (filtered) silence"
    );
    // Another rate than the file's: an error naming the file.
    let other = DecodedInfo {
        sample_rate: 48_000,
        ..info
    };
    let e = load_window_16k(&path, &other, 0, 1000).unwrap_err();
    assert!(e.to_string().contains("a.wav"), "{e}");
    std::fs::write(&path, b"not audio any more").unwrap();
    assert!(load_window_16k(&path, &info, 0, 1000).is_err());
}
