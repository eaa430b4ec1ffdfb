//! The key and timing checks in the plugin: every 5 s the stem is also
//! scored transposed and moved, and the recent windows read as `cocola score
//! --alternatives` reads a pair.

mod host;

use std::path::Path;

use cocola::perturb::delayed_window;
use cocola::score::alternatives::{AlternativeOptions, AlternativesTally, Change};
use cocola::score::Scorer;
use cocola_plugin::checks::{check_excerpt_samples, check_reach};
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
    let excerpt = |x: &[f32]| delayed_window(x, 0, check_excerpt_samples(), (check_excerpt_samples() - end) as isize);
    // What each should read: (out of key, off the beat).
    for (name, wrong) in [
        ("stem", (false, false)),
        ("stem-transposed", (true, false)),
        ("stem-off-beat", (false, true)),
    ] {
        let stem = example(name);
        let checks = bounce(&model, &stem, &condition, true);
        let window = reference
            .score_window_alternatives(
                &excerpt(&condition),
                &excerpt(&stem),
                check_reach(),
                -60.0,
                &AlternativeOptions::default(),
            )
            .unwrap()
            .expect("an audible window");
        let mut tally = AlternativesTally::new(window.changes.clone(), reference.modes());
        tally.add(&window.raw);
        let expected = tally.finish(calibration.as_ref(), window.beat_seconds).unwrap();
        for (key, check) in [(true, &checks.key), (false, &checks.timing)] {
            let (flagged, best, gain, windows, words) = read(check);
            let reading = expected.reading(key).unwrap();
            assert_eq!(windows, 1, "{name}");
            assert_eq!(best, reading.best.change, "{name}: {words}");
            assert!((gain - reading.gain).abs() < 1e-3, "{name}: {gain} vs {}", reading.gain);
            assert_eq!(flagged, reading.better, "{name}: {words}");
            assert_eq!(Some(words), expected.reading_words(key).as_deref());
            assert_eq!(flagged, if key { wrong.0 } else { wrong.1 }, "{name}: {words}");
        }
    }
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
