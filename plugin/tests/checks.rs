//! The key and timing checks in the plugin: every 5 s the stem is also
//! scored transposed and moved, and the recent windows read as `cocola score
//! --alternatives` reads a pair.

mod host;

use std::path::Path;

use cocola::contract::WINDOW_SAMPLES;
use cocola::perturb::delayed_window;
use cocola::score::alternatives::{AlternativeOptions, AlternativesTally, Change, ChangedWindow};
use cocola::score::Scorer;
use cocola_plugin::checks::{check_excerpt_len, check_excerpt_samples, check_reach};
use cocola_plugin::snapshot::{Check, Checks};
use host::*;
use nice_plug::prelude::*;

/// The checks' final state after `stem` and `condition` (16 kHz) are
/// bounced through the plugin running `model`, hop 1 s.
fn bounce(model: &Path, stem: &[f32], condition: &[f32], checks: bool) -> Checks {
    let mut host = Host::new(Some(model));
    if !checks {
        set_normalized(&*host.plugin.cocola_params(), "keycheck", 0.0);
    }
    host.activate(16_000.0, 1024, ProcessMode::Offline, MONO_WITH_SIDECHAIN);
    host.run(&[stem.to_vec()], &[condition.to_vec()], &[1024]);
    host.finish().checks
}

/// The `len` samples of `x` that end at sample `end`, zeros before its start.
fn tail(x: &[f32], end: usize, len: usize) -> Vec<f32> {
    delayed_window(x, 0, len, len as isize - end as isize)
}

/// The library's reading of the window a check `end` samples into the
/// history reads, on the last `len` samples (the plugin gives it
/// `check_excerpt_len(end)`).
fn library_window(reference: &mut Scorer, condition: &[f32], stem: &[f32], end: usize, len: usize) -> ChangedWindow {
    let start = len - WINDOW_SAMPLES - check_reach();
    let (condition, stem) = (tail(condition, end, len), tail(stem, end, len));
    (reference.score_window_alternatives(&condition, &stem, start, -60.0, &AlternativeOptions::default()))
        .unwrap()
        .expect("an audible window")
}

/// Every key and timing reading of `checks` is the one `expected` makes of
/// `windows` windows.
fn assert_reads_as(checks: &Checks, expected: &cocola::score::alternatives::Alternatives, windows: usize, name: &str) {
    for (key, check) in [(true, &checks.key), (false, &checks.timing)] {
        let (flagged, best, gain, read_windows, words) = read(check);
        let reading = expected.reading(key).unwrap();
        assert_eq!(read_windows, windows, "{name}");
        assert_eq!(best, reading.best.change, "{name}: {words}");
        assert!((gain - reading.gain).abs() < 1e-3, "{name}: {gain} vs {}", reading.gain);
        assert_eq!(flagged, reading.better, "{name}: {words}");
        assert_eq!(Some(words), expected.reading_words(key).as_deref());
    }
}

/// The flag, best change and gain of a reading.
fn read(check: &Check) -> (bool, Change, f32, usize, &str) {
    match check {
        Check::Read {
            flagged,
            best,
            gain,
            windows,
            words,
        } => (*flagged, *best, *gain, *windows, words),
        other => panic!("no reading: {other:?}"),
    }
}

#[test]
fn the_example_reads_as_the_library_reads_the_same_windows() {
    let model = repo_file("bundles/models/default.onnx");
    let condition = example("condition");
    let mut reference = Scorer::new(cocola::model::Model::load(&model, &Default::default()).unwrap());
    let calibration = reference.model().metadata().calibration;
    // 10 s at hop 1 s: windows end at 5, 6, ... 10 s; the first check is due
    // once a window and the moves' reach after it have been heard, at the
    // window ending at 6 s; it reads the window ending the reach earlier.
    let end = 6 * 16_000;
    assert_eq!(check_excerpt_len(end as u64), check_excerpt_samples());
    // What each should read: (out of key, off the beat).
    for (name, wrong) in [
        ("stem", (false, false)),
        ("stem-transposed", (true, false)),
        ("stem-off-beat", (false, true)),
    ] {
        let stem = example(name);
        let checks = bounce(&model, &stem, &condition, true);
        let window = library_window(&mut reference, &condition, &stem, end, check_excerpt_len(end as u64));
        let mut tally = AlternativesTally::new(window.changes.clone(), reference.modes());
        tally.add(&window.raw);
        let expected = tally.finish(calibration.as_ref(), window.beat_seconds).unwrap();
        assert_reads_as(&checks, &expected, 1, name);
        for (key, check) in [(true, &checks.key), (false, &checks.timing)] {
            let (flagged, _, _, _, words) = read(check);
            assert_eq!(flagged, if key { wrong.0 } else { wrong.1 }, "{name}: {words}");
        }
    }
}

/// Clicks every `period` seconds for `seconds` (16 kHz): a condition whose
/// beat is known.
fn clicks(period: f32, seconds: f32) -> Vec<f32> {
    let n = (seconds * 16_000.0) as usize;
    let every = (period * 16_000.0) as usize;
    (0..n)
        .map(|i| {
            let t = i % every;
            if t < 400 {
                0.5 * (-(t as f32) / 80.0).exp() * (t as f32 * 0.9).sin()
            } else {
                0.0
            }
        })
        .collect()
}

#[test]
fn the_windows_averaged_share_the_beat_of_all_the_audio_they_read() {
    let model = repo_file("bundles/models/default.onnx");
    let mut reference = Scorer::new(cocola::model::Model::load(&model, &Default::default()).unwrap());
    let calibration = reference.model().metadata().calibration;
    // The beat slows from 0.5 s to 0.6 s at 10 s; the stem is the example's, twice.
    let condition = [clicks(0.5, 10.0), clicks(0.6, 10.0)].concat();
    let stem = [example("stem"), example("stem")].concat();
    let checks = bounce(&model, &stem, &condition, true);
    // Hop 1 s: checks at the windows ending at 6 s, then every 5 s.
    let windows: Vec<ChangedWindow> = [6, 11, 16]
        .map(|s| s * 16_000)
        .map(|end| library_window(&mut reference, &condition, &stem, end, check_excerpt_len(end as u64)))
        .into();
    // The last check measured its beat on all 16 s heard, not on its own
    // 6.2 s, which the slower clicks fill: the two beats differ.
    let own = library_window(&mut reference, &condition, &stem, 16 * 16_000, check_excerpt_samples()).beat_seconds;
    assert_ne!(
        own, windows[2].beat_seconds,
        "the test cannot tell the two excerpts apart"
    );
    let expected = AlternativesTally::read_windows(&windows, reference.modes(), calibration.as_ref()).unwrap();
    assert_reads_as(&checks, &expected, 3, "three checks");
}

#[test]
fn switched_off_it_says_nothing_and_a_model_that_cannot_be_asked_says_why() {
    let stem = signal(16_000.0, 7.0, 31, 0.5);
    let condition = signal(16_000.0, 7.0, 32, 0.5);
    assert_eq!(
        bounce(calibrated_test_model(), &stem, &condition, false),
        Checks::both(Check::Off)
    );
    match bounce(test_model(), &stem, &condition, true) {
        Checks {
            key: Check::Unavailable(why),
            timing: Check::Unavailable(_),
        } => assert!(why.contains("uncalibrated"), "{why}"),
        other => panic!("expected no check, got {other:?}"),
    }
    // The test model reads the HPS input (mel bands, not semitones): no key
    // check, but the moves are read.
    let checks = bounce(calibrated_test_model(), &stem, &condition, true);
    match &checks.key {
        Check::Unavailable(why) => assert!(why.contains("no semitone bands"), "{why}"),
        other => panic!("expected no key check, got {other:?}"),
    }
    let (_, best, _, windows, _) = read(&checks.timing);
    assert!(matches!(best, Change::Move { .. }), "{best:?}");
    assert_eq!(windows, 1);
}

#[test]
fn another_model_starts_the_display_and_the_checks_afresh() {
    // The test model reads HPS (moves only), the default pitch (moves and
    // transpositions): the old model's windows must not be averaged with
    // the new one's, of another shape and scale, nor its raw scores drawn
    // on the new one's axis.
    let mut host = Host::new(Some(calibrated_test_model()));
    host.activate(16_000.0, 1024, ProcessMode::Offline, MONO_WITH_SIDECHAIN);
    let (stem, condition) = (example("stem"), example("condition"));
    host.run(std::slice::from_ref(&stem), std::slice::from_ref(&condition), &[1024]);
    let wait = std::time::Duration::from_secs(120);
    // Windows end at 5, 6, ... 10 s: all of them scored by the first model.
    let s = host.wait_for("six windows", wait, |s| s.windows_scored == 6);
    assert!(matches!(s.checks.timing, Check::Read { .. }), "{:?}", s.checks.timing);
    assert!(matches!(s.checks.key, Check::Unavailable(_)), "{:?}", s.checks.key);
    host.plugin
        .cocola_params()
        .set_model_choice(cocola_plugin::params::ModelChoice::File(repo_file(
            "bundles/models/default.onnx",
        )));
    // Nothing more to score until more audio comes: the display is empty.
    let s = host.wait_for("the default model", wait, |s| {
        s.model.as_ref().is_some_and(|m| m.name == "cocola-default")
    });
    assert!(s.timeline.is_empty() && s.headline.is_none(), "{:?}", s.timeline);
    assert_eq!(s.checks.timing, Check::Waiting);
    host.run(&[stem], &[condition], &[1024]);
    let s = host.finish();
    let first_song = 10 * 16_000;
    assert!(
        s.timeline.iter().all(|p| p.end_sample > first_song),
        "only the new model's points"
    );
    let checks = s.checks;
    // Every key reading is the new model's (the old one had none): the
    // timing line has read as many windows, not more.
    let (key, timing) = (read(&checks.key), read(&checks.timing));
    assert!(key.3 >= 1);
    assert_eq!(
        timing.3, key.3,
        "the timing line kept the old model's windows: {}",
        timing.4
    );
}
