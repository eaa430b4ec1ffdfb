//! `cocola perturb`: the transposed and off-beat copies a user can score.

use cocola::dsp::chroma::ChromaAnalyzer;

use crate::run_cocola;
use crate::support::{plucked, write_wav};

fn strongest_pitch_class(signal: &[f32]) -> usize {
    let chroma = ChromaAnalyzer::new().chroma(signal);
    (0..12).max_by(|&a, &b| chroma[a].total_cmp(&chroma[b])).unwrap()
}

#[test]
fn a_transposed_copy_keeps_its_length_and_moves_its_pitch() {
    let dir = tempfile::tempdir().unwrap();
    let (stem, out) = (dir.path().join("a.wav"), dir.path().join("up3.wav"));
    let a = plucked(6.0, 220.0, 0.5);
    write_wav(&stem, &a, 16_000, 1);
    let o = run_cocola(&[
        "perturb",
        stem.to_str().unwrap(),
        "--transpose",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let up = cocola::audio::load_mono_16k(&out).unwrap();
    assert_eq!(up.len(), a.len());
    // A (220 Hz) three semitones up is C.
    let (before, after) = (strongest_pitch_class(&a), strongest_pitch_class(&up));
    assert_eq!((after + 12 - before) % 12, 3, "pitch class {before} -> {after}");
}

#[test]
fn an_off_beat_copy_is_delayed_between_the_grid_lines_of_the_conditions_beat() {
    let dir = tempfile::tempdir().unwrap();
    let (stem, condition, out) = (
        dir.path().join("s.wav"),
        dir.path().join("c.wav"),
        dir.path().join("late.wav"),
    );
    let s = plucked(6.0, 330.0, 0.5);
    write_wav(&stem, &s, 16_000, 1);
    write_wav(&condition, &plucked(6.0, 110.0, 0.5), 16_000, 1);
    let o = run_cocola(&[
        "perturb",
        stem.to_str().unwrap(),
        "--off-beat",
        condition.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("beat 0.50"), "{stderr}");
    // Beat 0.5 s: delays (n + 1/2) x 0.125 s within 0.2-0.7 s; the middle one is
    // 0.5625 s = 9 000 samples (up to the beat measurement's precision).
    let late = cocola::audio::load_mono_16k(&out).unwrap();
    assert_eq!(late.len(), s.len());
    let mismatch = |delay: usize| {
        s[..s.len() - delay]
            .iter()
            .zip(&late[delay..])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max)
    };
    let delay = (8_800..9_200)
        .min_by(|&a, &b| mismatch(a).total_cmp(&mismatch(b)))
        .unwrap();
    assert!(mismatch(delay) < 1e-3, "delay {delay}: {}", mismatch(delay));
    assert!(late[..delay].iter().all(|v| v.abs() < 1e-4));
}

#[test]
fn bad_requests_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let stem = dir.path().join("s.wav");
    write_wav(&stem, &plucked(2.0, 330.0, 0.5), 16_000, 1);
    let out = dir.path().join("o.wav");
    let (stem, out) = (stem.to_str().unwrap(), out.to_str().unwrap());
    let none = run_cocola(&["perturb", stem, "--out", out]);
    assert_eq!(none.status.code(), Some(2));
    let far = run_cocola(&["perturb", stem, "--transpose", "30", "--out", out]);
    assert_eq!(far.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&far.stderr).contains("between -24 and 24"));
    let missing = run_cocola(&["perturb", "/nonexistent/x.wav", "--delay", "0.3", "--out", out]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/x.wav"));
    assert!(!std::path::Path::new(out).exists(), "nothing written on failure");
}
