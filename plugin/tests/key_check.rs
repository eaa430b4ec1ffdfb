//! The key check in the plugin: every 5 s the stem is also scored
//! transposed, and the last 30 s read as `cocola score --alternatives`
//! reads a pair.

mod host;

use std::path::Path;

use cocola::contract::WINDOW_SAMPLES;
use cocola::score::alternatives::{AlternativeOptions, Change};
use cocola::score::Scorer;
use cocola_plugin::snapshot::KeyCheck;
use host::*;
use nice_plug::prelude::*;

/// The key check's final state after `stem` and `condition` (16 kHz) are
/// bounced through the plugin running `model`, hop 1 s.
fn bounce(model: &Path, stem: &[f32], condition: &[f32], key_check: bool) -> KeyCheck {
    let mut host = Host::new(Some(model));
    if !key_check {
        set_normalized(&*host.plugin.cocola_params(), "keycheck", 0.0);
    }
    host.activate(16_000.0, 1024, ProcessMode::Offline, MONO_WITH_SIDECHAIN);
    host.run(&[stem.to_vec()], &[condition.to_vec()], &[1024]);
    host.finish().key
}

#[test]
fn the_example_reads_as_cocola_reads_it_in_key_and_transposed() {
    let model = repo_file("bundles/models/default.onnx");
    let condition = example("condition");
    let mut reference = Scorer::new(cocola::model::Model::load(&model, &Default::default()).unwrap());
    let key_only = AlternativeOptions {
        max_semitones: 6,
        moves_per_side: 0,
    };
    // 10 s at hop 1 s: windows end at 5, 6, ... 10 s; the key is checked on
    // the two that do not overlap, those `cocola score` reads.
    let starts = [0, WINDOW_SAMPLES];
    for (name, out_of_key_expected) in [("stem", false), ("stem-transposed", true)] {
        let stem = example(name);
        let KeyCheck::Read {
            out_of_key,
            best,
            gain,
            windows,
            words,
        } = bounce(&model, &stem, &condition, true)
        else {
            panic!("{name}: no key reading");
        };
        let expected = reference
            .score_alternatives_at(&condition, &stem, &starts, -60.0, &key_only, |_, _| {})
            .unwrap()
            .reading(true)
            .unwrap();
        assert_eq!(windows, 2, "{name}");
        assert_eq!(best, expected.best.change, "{name}: {words}");
        assert!(
            (gain - expected.gain).abs() < 1e-3,
            "{name}: {gain} vs {}",
            expected.gain
        );
        assert_eq!(out_of_key, out_of_key_expected, "{name}: {words}");
        if out_of_key {
            // The README's reading: the stem was transposed 2 semitones down.
            assert_eq!(best, Change::Transpose { semitones: 2 }, "{words}");
            assert!(
                words.starts_with("probably out of key: 2 semitones up fits better"),
                "{words}"
            );
        } else {
            assert!(
                words.starts_with("in key: no transposition fits clearly better"),
                "{words}"
            );
        }
    }
}

#[test]
fn switched_off_it_says_nothing_and_a_model_that_cannot_be_asked_says_why() {
    let stem = signal(16_000.0, 6.0, 31, 0.5);
    let condition = signal(16_000.0, 6.0, 32, 0.5);
    assert_eq!(bounce(calibrated_test_model(), &stem, &condition, false), KeyCheck::Off);
    match bounce(test_model(), &stem, &condition, true) {
        KeyCheck::Unavailable(why) => assert!(why.contains("uncalibrated"), "{why}"),
        other => panic!("expected no check, got {other:?}"),
    }
    // The test model reads the HPS input (mel bands, not semitones).
    match bounce(calibrated_test_model(), &stem, &condition, true) {
        KeyCheck::Unavailable(why) => assert!(why.contains("no semitone bands"), "{why}"),
        other => panic!("expected no check, got {other:?}"),
    }
}
