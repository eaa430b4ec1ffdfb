//! The stem against itself (`Scorer::score_alternatives`), with the shipped
//! default model: a change is scored exactly as the changed stem would be,
//! and the example pair's stem reads in key and on the beat while its
//! transposed and off-beat copies (`examples/README.md`) do not.
#![cfg(cocola_default_model)]

use std::path::{Path, PathBuf};

use cocola::audio::load_mono_16k;
use cocola::contract::{SAMPLE_RATE, WINDOW_SAMPLES};
use cocola::default_model;
use cocola::model::{LoadOptions, Model};
use cocola::score::alternatives::{AlternativeOptions, Alternatives, AlternativesError, AlternativesTally, Change};
use cocola::score::{Scorer, WindowOptions};

fn example(name: &str) -> Vec<f32> {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name);
    load_mono_16k(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn scorer() -> Scorer {
    let bytes = default_model::embedded().expect("the default model is embedded");
    Scorer::new(Model::from_bytes(bytes, &LoadOptions::default()).expect("the shipped model loads"))
}

fn alternatives(scorer: &mut Scorer, condition: &[f32], stem: &[f32], starts: &[usize], moves: u32) -> Alternatives {
    let options = AlternativeOptions {
        max_semitones: 2,
        moves_per_side: moves,
    };
    (scorer.score_alternatives_at(condition, stem, starts, -60.0, &options, |_, _| {}))
        .expect("the example pair is audible")
}

#[test]
fn a_move_scores_as_the_moved_stem_itself() {
    let (condition, stem) = (example("condition.wav"), example("stem.wav"));
    let mut scorer = scorer();
    let starts = [SAMPLE_RATE as usize];
    let result = alternatives(&mut scorer, &condition, &stem, &starts, 1);
    let later = (result.changes.iter())
        .find(|a| matches!(a.change, Change::Move { seconds } if seconds > 0.0))
        .expect("a move later");
    let Change::Move { seconds } = later.change else {
        unreachable!()
    };
    let delay = (seconds * f64::from(SAMPLE_RATE)).round() as usize;
    let delayed: Vec<f32> = std::iter::repeat_n(0.0, delay).chain(stem.iter().copied()).collect();
    let direct = alternatives(&mut scorer, &condition, &delayed, &starts, 0).as_is;
    for (moved, direct) in later.scores.modes().iter().zip(direct.modes()) {
        assert!((moved.raw - direct.raw).abs() < 1e-3, "{moved:?} vs {direct:?}");
    }
    // Eighths of the measured beat (the example is at 108 BPM).
    let beat = result.beat_seconds.expect("the condition has a beat");
    assert!((seconds - f64::from(beat) / 8.0).abs() < 1e-3, "{seconds} vs {beat}");
}

#[test]
fn a_transposition_changes_the_harmonic_scores_only() {
    let (condition, stem) = (example("condition.wav"), example("stem.wav"));
    let mut scorer = scorer();
    let result = alternatives(&mut scorer, &condition, &stem, &[0, WINDOW_SAMPLES], 0);
    assert_eq!(result.windows, 2);
    assert_eq!(result.changes.len(), 4, "+-1 and +-2 semitones, no moves");
    let percussive = |s: &cocola::score::WindowScores| s.get(cocola::mode::Mode::Percussive).unwrap().raw;
    for a in &result.changes {
        assert!(a.change.is_transposition());
        assert_eq!(
            percussive(&a.scores),
            percussive(&result.as_is),
            "the percussive channel is untouched"
        );
        assert_ne!(
            a.scores.get(cocola::mode::Mode::Harmonic),
            result.as_is.get(cocola::mode::Mode::Harmonic)
        );
    }
}

#[test]
fn the_example_reads_in_key_and_on_the_beat_and_its_wrong_copies_do_not() {
    let condition = example("condition.wav");
    let mut scorer = scorer();
    let mut read = |stem: &str| {
        let stem = example(stem);
        let result = scorer
            .score_alternatives(
                &condition,
                &stem,
                &WindowOptions::default(),
                &AlternativeOptions::default(),
                |_, _| {},
            )
            .expect("audible");
        let key = result.reading(true).expect("calibrated");
        let timing = result.reading(false).expect("calibrated");
        (key.better, timing.better)
    };
    assert_eq!(read("stem.wav"), (false, false), "the true stem");
    assert!(read("stem-transposed.wav").0, "3 semitones up: out of key");
    assert!(read("stem-off-beat.wav").1, "0.485 s late: off the beat");
}

#[test]
fn a_mel_model_cannot_be_asked_for_transpositions_but_can_for_moves() {
    use cocola::contract::InputKind;
    use cocola::model::arch::{Architecture, Pooling};
    use cocola::model::{testing, write_model};
    let arch = Architecture::new(InputKind::Mel, Pooling::Global);
    let mut meta = testing::test_metadata();
    meta.input = InputKind::Mel;
    let bytes = write_model(&testing::random_weights_for(&arch, 3), &meta).unwrap();
    let mut scorer = Scorer::new(Model::from_bytes(&bytes, &LoadOptions::default()).unwrap());
    let (condition, stem) = (example("condition.wav"), example("stem.wav"));
    let err = scorer
        .score_alternatives_at(
            &condition,
            &stem,
            &[0],
            -60.0,
            &AlternativeOptions::default(),
            |_, _| {},
        )
        .unwrap_err();
    assert!(matches!(err, AlternativesError::NotPitchInput("mel")), "{err}");
    let moves_only = AlternativeOptions {
        max_semitones: 0,
        moves_per_side: 2,
    };
    let result = scorer
        .score_alternatives_at(&condition, &stem, &[0], -60.0, &moves_only, |_, _| {})
        .expect("moves need no semitone bands");
    assert_eq!(result.changes.len(), 4);
    assert!(
        result.reading(false).is_none(),
        "an uncalibrated model reads no verdict"
    );
}

#[test]
fn silence_is_refused_rather_than_read() {
    let mut scorer = scorer();
    let silence = vec![0.0f32; 2 * WINDOW_SAMPLES];
    let err = scorer
        .score_alternatives_at(
            &silence,
            &example("stem.wav"),
            &[0],
            -60.0,
            &AlternativeOptions::default(),
            |_, _| {},
        )
        .unwrap_err();
    assert!(matches!(err, AlternativesError::NothingAudible), "{err}");
}

#[test]
fn windows_scored_one_at_a_time_tally_to_what_the_pair_reads() {
    // The plugin's path (`score_window_alternatives` on each window, then a
    // tally of the windows) and the pair's (`score_alternatives_at`) give
    // the same means, moves included (both measure the beat on the whole
    // condition here).
    let (condition, stem) = (example("condition.wav"), example("stem-off-beat.wav"));
    let mut scorer = scorer();
    let starts = [0, WINDOW_SAMPLES];
    let pair = alternatives(&mut scorer, &condition, &stem, &starts, 4);
    let options = AlternativeOptions {
        max_semitones: 2,
        moves_per_side: 4,
    };
    let mut tally: Option<AlternativesTally> = None;
    for &start in &starts {
        let checked = (scorer.score_window_alternatives(&condition, &stem, start, -60.0, &options))
            .expect("a pitch model")
            .expect("an audible window");
        assert_eq!(checked.beat_seconds, pair.beat_seconds);
        let window = start..start + WINDOW_SAMPLES;
        let plain = scorer.score_window(&condition[window.clone()], &stem[window]).unwrap();
        for (m, mode) in plain.modes().iter().enumerate() {
            assert!((checked.raw[m] - mode.raw).abs() < 1e-4, "as-is first: {:?}", mode.mode);
        }
        (tally.get_or_insert_with(|| AlternativesTally::new(checked.changes.clone(), scorer.modes())))
            .add(&checked.raw);
    }
    let calibration = scorer.model().metadata().calibration;
    let tallied = tally.unwrap().finish(calibration.as_ref(), pair.beat_seconds).unwrap();
    assert_eq!(tallied.windows, 2);
    assert_eq!(tallied.changes.len(), 4 + 8);
    for (a, b) in tallied.changes.iter().zip(&pair.changes) {
        assert_eq!(a.change, b.change);
        for (x, y) in a.scores.modes().iter().zip(b.scores.modes()) {
            assert!((x.raw - y.raw).abs() < 1e-4, "{:?}: {x:?} vs {y:?}", a.change);
        }
    }
    for key in [true, false] {
        assert_eq!(tallied.reading_words(key), pair.reading_words(key));
    }
    // A silent window is not scored.
    let silence = vec![0.0f32; 2 * WINDOW_SAMPLES];
    let quiet = scorer.score_window_alternatives(&silence, &stem, 0, -60.0, &options);
    assert!(matches!(quiet, Ok(None)), "{quiet:?}");
}
