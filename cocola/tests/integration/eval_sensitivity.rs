//! The sensitivity test end to end with a random-weight model on synthetic
//! tracks: the report's shape, the draw rules on real audio (drums never the
//! target), reproducibility from the seed, and the embedding cache.

use std::path::Path;

use crate::support::{build_sensitivity_tracks as build_tracks, sha256_hex, test_model};
use cocola::calibration::{Calibration, ModeCalibration, ScoreDistribution};
use cocola::eval::cache::EmbeddingCache;
use cocola::eval::sensitivity::{
    evaluate_sensitivity, AnchorScores, NegativeKind, SensitivityOptions, SensitivityReport,
};
use cocola::eval::NoProgress;
use cocola::mode::Mode;

fn run(model: &mut cocola::model::Model, cache: &EmbeddingCache, root: &Path, seed: u64) -> SensitivityReport {
    let options = SensitivityOptions {
        anchors: 12,
        seed,
        ..SensitivityOptions::default()
    };
    evaluate_sensitivity(model, cache, root, &options, &NoProgress).unwrap()
}

#[test]
fn sensitivity_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tracks");
    build_tracks(&root);
    let (model_path, mut model) = test_model(dir.path());
    let cache = EmbeddingCache::open(&dir.path().join("cache"), &sha256_hex(&model_path)).unwrap();

    let report = run(&mut model, &cache, &root, 1);
    assert_eq!(report.tracks_found, 4);
    assert_eq!(report.failed_tracks.len(), 1);
    assert!(report.warnings.iter().any(|w| w.contains("broken")));
    assert_eq!(report.anchors.len(), 12);
    assert_eq!(
        report.windows,
        12 * 6,
        "condition, target untouched and in key, and three negatives per anchor"
    );

    // Every mode and kind is reported, and the floor beside them.
    let modes: Vec<Mode> = report.model.iter().map(|m| m.mode).collect();
    assert_eq!(modes, Mode::ALL.to_vec());
    for mode in &report.model {
        let kinds: Vec<NegativeKind> = mode.kinds.iter().map(|k| k.kind).collect();
        assert_eq!(kinds, NegativeKind::ALL.to_vec());
        for k in &mode.kinds {
            assert_eq!(k.win.n, 12);
            assert!((0.0..=1.0).contains(&k.win.rate));
            assert!(k.win.ci95.low <= k.win.rate && k.win.rate <= k.win.ci95.high);
        }
    }
    assert_eq!(report.floor.len(), 3);

    for a in &report.anchors {
        assert_ne!(a.target, "drums", "drums are never transposed");
        assert!(!a.condition.is_empty() && !a.condition.contains(&a.target));
        assert!((1..=6).contains(&a.semitones.unsigned_abs()));
        assert!((0.2..=0.75).contains(&a.delay_seconds), "{}", a.delay_seconds);
        let foreign = a.foreign.as_ref().expect("three usable tracks");
        assert_ne!(foreign.track, a.track);
        assert_ne!(foreign.stem, "drums");
        assert!((1..=6).contains(&a.carrier.unsigned_abs()));
        assert!((1..=6).contains(&(a.semitones - a.carrier).unsigned_abs()));
        assert!(a.scores.iter().all(|s| s.truth.is_finite() && s.transposed.is_finite()));
        // the in-key copy went through the shifter: not the untouched stem
        assert!(a.scores.iter().all(|s| s.in_key.is_finite() && s.in_key != s.truth));
    }
    // The win rates are computed from exactly these scores: the transposed
    // stem against the in-key copy, the shifted one against the untouched
    // stem, and the processing control the untouched stem against the
    // in-key copy.
    let win = |t: f32, n: f32| {
        if t > n {
            1.0
        } else if t == n {
            0.5
        } else {
            0.0
        }
    };
    let both = &report.model[0].kinds;
    let wins = |pick: fn(&AnchorScores) -> (f32, f32)| -> f64 {
        report
            .anchors
            .iter()
            .map(|a| pick(&a.scores[0]))
            .map(|(t, n)| win(t, n))
            .sum()
    };
    assert_eq!(both[0].win.wins, wins(|s| (s.in_key, s.transposed)));
    assert_eq!(both[1].win.wins, wins(|s| (s.truth, s.shifted)));
    let processing: Vec<&str> = report.processing.iter().map(|c| c.measure.as_str()).collect();
    assert_eq!(processing, ["both", "harmonic", "percussive"]);
    assert_eq!(report.processing[0].win.wins, wins(|s| (s.truth, s.in_key)));

    // Same files and seed: the same draws and scores; from the cache.
    let again = run(&mut model, &cache, &root, 1);
    assert_eq!(again.anchors, report.anchors);
    assert_eq!(again.embed.encoder_rows, 0, "every window comes from the cache");
    assert!(again.embed.cached_rows > 0);
    let other = run(&mut model, &cache, &root, 2);
    assert_ne!(other.anchors, report.anchors);
    assert!(report.combined.is_empty(), "no calibration, no combined fit");

    // With a calibration the combined fit is measured too, from the same
    // scores: the true stem wins when its combined log-odds are higher.
    let dist = |mean, std| ScoreDistribution { mean, std, count: 10 };
    let calibration = Calibration::from_modes([
        (Mode::Both, ModeCalibration::random_only(dist(1.0, 0.5), dist(0.0, 0.5))),
        (
            Mode::Harmonic,
            ModeCalibration::random_only(dist(0.5, 2.0), dist(0.0, 1.0)),
        ),
        (
            Mode::Percussive,
            ModeCalibration::random_only(dist(3.0, 0.2), dist(-1.0, 0.3)),
        ),
    ])
    .unwrap();
    let calibrated = |modes: Vec<Mode>| SensitivityOptions {
        anchors: 12,
        seed: 1,
        modes,
        calibration: Some(calibration),
        ..SensitivityOptions::default()
    };
    let with = evaluate_sensitivity(&mut model, &cache, &root, &calibrated(Mode::ALL.to_vec()), &NoProgress).unwrap();
    assert_eq!(with.anchors, report.anchors);
    let kinds: Vec<NegativeKind> = with.combined.iter().map(|k| k.kind).collect();
    assert_eq!(kinds, NegativeKind::ALL.to_vec());
    let combined = |a: &cocola::eval::sensitivity::AnchorRecord, pick: fn(&AnchorScores) -> f32| {
        let raw = Mode::ALL.into_iter().zip(a.scores.iter().map(pick));
        calibration.combined(raw).unwrap().log_odds
    };
    let wins: f64 = (with.anchors.iter())
        .map(|a| win(combined(a, |s| s.truth), combined(a, |s| s.shifted)))
        .sum();
    assert_eq!(with.combined[1].kind, NegativeKind::Shifted);
    assert_eq!(with.combined[1].win.wins, wins);
    let control = with.processing.last().expect("a combined control");
    assert_eq!(control.measure, "combined");
    let wins: f64 = (with.anchors.iter())
        .map(|a| win(combined(a, |s| s.truth), combined(a, |s| s.in_key)))
        .sum();
    assert_eq!(control.win.wins, wins);
    // The verdicts: true stems first, then each kind, every anchor counted once.
    let windows: Vec<(&str, usize)> = (with.verdicts.iter()).map(|v| (v.window.as_str(), v.windows)).collect();
    assert_eq!(
        windows,
        [("true stem", 12), ("transposed", 12), ("shifted", 12), ("foreign", 12)]
    );
    let fits = (with.anchors.iter())
        .filter(|a| {
            calibration
                .combined(Mode::ALL.into_iter().zip(a.scores.iter().map(|s| s.truth)))
                .unwrap()
                .fit
                >= 70.0
        })
        .count();
    assert_eq!(with.verdicts[0].fits, fits as f64 / 12.0);
    assert!(with
        .verdicts
        .iter()
        .all(|v| (v.fits + v.unsure + v.clashes - 1.0).abs() < 1e-12));
    assert!(report.verdicts.is_empty(), "no calibration, no verdicts");
    let only_both =
        evaluate_sensitivity(&mut model, &cache, &root, &calibrated(vec![Mode::Both]), &NoProgress).unwrap();
    assert!(only_both.combined.is_empty(), "combined means every calibrated mode");
}
