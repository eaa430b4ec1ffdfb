//! The plugin driven in-process as a host would: pass-through, when scores
//! appear and that they are `cocola`'s, the distinct states, bad input,
//! every host rate and buffer size, state save/restore.

mod host;

use std::time::Duration;

use cocola::contract::WINDOW_SAMPLES;
use cocola::score::Scorer;
use cocola_plugin::params::ModelChoice;
use cocola_plugin::snapshot::{Outcome, State};
use host::*;
use nice_plug::prelude::*;

const WAIT: Duration = Duration::from_secs(120);

fn reference_scorer() -> Scorer {
    let model = cocola::model::Model::load(test_model(), &Default::default()).unwrap();
    Scorer::new(model)
}

fn assert_close(a: &cocola::score::WindowScores, b: &cocola::score::WindowScores) {
    assert_eq!(a.modes().len(), b.modes().len());
    for (x, y) in a.modes().iter().zip(b.modes()) {
        assert_eq!(x.mode, y.mode);
        assert!(
            (x.raw - y.raw).abs() <= 1e-3,
            "{:?}: plugin {} vs cocola {}",
            x.mode,
            x.raw,
            y.raw
        );
    }
}

#[test]
fn audio_passes_through_bit_exactly() {
    // No model named: the analyzer's state must not matter to the audio.
    let mut host = Host::new(None);
    host.activate(44_100.0, 4096, ProcessMode::Realtime, STEREO_WITH_SIDECHAIN);
    let mut left = signal(44_100.0, 0.5, 1, 0.9);
    left[10] = f32::MIN_POSITIVE / 4.0; // a denormal must survive untouched too
    left[11] = -0.0;
    left[12] = f32::NAN;
    let right = signal(44_100.0, 0.5, 2, 0.5);
    let cond = vec![signal(44_100.0, 0.5, 3, 0.5); 2];
    let stem = vec![left, right];
    let out = host.run(&stem, &cond, &[1, 7, 512, 4096, 33]);
    for (o, i) in out.iter().zip(&stem) {
        assert_eq!(o.len(), i.len());
        assert!(o.iter().zip(i).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
    if cocola::default_model::embedded().is_some() {
        // This build ships a default model: the plugin loads it by itself.
        let s = host.wait_for("default model", WAIT, |s| s.model.is_some());
        let info = s.model.unwrap();
        assert_eq!(
            (info.name.as_str(), info.source.as_str()),
            ("cocola-default", "default (embedded)")
        );
        assert!(info.calibrated);
    } else {
        let s = host.wait_for("no-model state", WAIT, |s| s.state == State::NoModel);
        assert!(s.model.is_none());
    }
}

#[test]
fn scores_appear_after_five_seconds_and_equal_cocola() {
    let mut host = Host::new(Some(test_model()));
    host.plugin.cocola_params(); // hop default is 1 s
    host.activate(16_000.0, 1024, ProcessMode::Offline, MONO_WITH_SIDECHAIN);
    let stem = signal(16_000.0, 6.0, 11, 0.5);
    let cond = signal(16_000.0, 6.0, 12, 0.5);
    // 3 s first: listening, no score.
    host.run(&[stem[..48_000].to_vec()], &[cond[..48_000].to_vec()], &[1024]);
    let s = host.wait_for("listening 3.0 s", WAIT, |s| {
        s.state == State::Listening { heard_seconds: 3.0 }
    });
    assert!(s.timeline.is_empty() && s.headline.is_none());
    host.run(&[stem[48_000..].to_vec()], &[cond[48_000..].to_vec()], &[1024]);
    let s = host.finish();
    let windows = scored(&s);
    // Windows end at 5 s and 6 s (hop 1 s).
    assert_eq!(
        windows.iter().map(|w| w.0).collect::<Vec<_>>(),
        vec![80_000, 96_000],
        "{:?}",
        s.timeline
    );
    let mut reference = reference_scorer();
    for (end, scores) in &windows {
        let start = *end as usize - WINDOW_SAMPLES;
        let expected = reference
            .score_window(&cond[start..*end as usize], &stem[start..*end as usize])
            .unwrap();
        assert_close(scores, &expected);
    }
    assert_eq!(s.state, State::Scoring);
    assert!(s.inference_ms.unwrap() > 0.0);
    let info = s.model.unwrap();
    assert_eq!(info.name, "cocola-test-random");
    assert!(!info.calibrated);
    let headline = s.headline.unwrap();
    assert_eq!(
        (headline.shows, headline.fit),
        (cocola_plugin::params::HeadlineMode::Both, None),
        "an uncalibrated model has no combined fit: the headline is the plain raw score"
    );
    // The window's song position comes from the transport.
    let p = s.timeline.back().unwrap();
    assert!((p.song_seconds.unwrap() - 6.0).abs() < 1e-3, "{:?}", p.song_seconds);
}

/// The authors' checkpoint format through the picker: a `.ckpt` chosen as
/// the model file is imported once (into the user cache, here a temporary
/// one) and runs; this one is a mel model (no HPS), which has the plain
/// score only, whatever the headline parameter says.
#[test]
fn a_checkpoint_from_the_picker_is_imported_and_scores_like_cocola() {
    let dir = std::env::temp_dir().join(format!("cocola-plugin-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let checkpoint = dir.join("mel.ckpt");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../cocola/tests/fixtures/checkpoint/mel.ckpt.gz"
    );
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(fixture).unwrap()),
        &mut bytes,
    )
    .unwrap();
    std::fs::write(&checkpoint, bytes).unwrap();
    // The import goes to $XDG_CACHE_HOME/cocola/imported; ONNX Runtime stays
    // where it was found (named explicitly first, for the other tests too).
    if std::env::var_os("COCOLA_ORT_LIB").is_none() {
        let library = cocola::model::runtime::user_cache_library().unwrap();
        std::env::set_var("COCOLA_ORT_LIB", library);
    }
    std::env::set_var("XDG_CACHE_HOME", dir.join("cache"));

    let mut host = Host::new(Some(&checkpoint));
    let params = host.plugin.cocola_params();
    // Normalized 2/3 of four choices (combined, both, harmonic, percussive): Harmonic.
    set_normalized(&*params, "headline", 2.0 / 3.0);
    assert_eq!(params.headline.value(), cocola_plugin::params::HeadlineMode::Harmonic);
    host.activate(16_000.0, 1024, ProcessMode::Offline, MONO_WITH_SIDECHAIN);
    let stem = signal(16_000.0, 6.0, 31, 0.5);
    let cond = signal(16_000.0, 6.0, 32, 0.5);
    host.run(std::slice::from_ref(&stem), std::slice::from_ref(&cond), &[1024]);
    let s = host.finish();

    let info = s.model.clone().expect("the checkpoint loaded");
    assert_eq!(info.input, cocola::contract::InputKind::Mel);
    assert_eq!(info.source, format!("{} (imported)", checkpoint.display()));
    assert!(!info.calibrated);
    let imported: Vec<_> = std::fs::read_dir(dir.join("cache/cocola/imported"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(imported.len(), 1, "{imported:?}");
    let windows = scored(&s);
    assert_eq!(windows.iter().map(|w| w.0).collect::<Vec<_>>(), vec![80_000, 96_000]);
    let mut reference = Scorer::new(cocola::model::Model::load(&imported[0], &Default::default()).unwrap());
    for (end, scores) in &windows {
        assert_eq!(scores.modes().len(), 1);
        let r = *end as usize - WINDOW_SAMPLES..*end as usize;
        assert_close(scores, &reference.score_window(&cond[r.clone()], &stem[r]).unwrap());
    }
    let headline = s.headline.unwrap();
    assert_eq!(
        headline.shows,
        cocola_plugin::params::HeadlineMode::Both,
        "a mel model has no harmonic score"
    );
    assert!(s.harmonic.is_none() && s.percussive.is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The default headline is the combined fit of the smoothed scores,
/// computed by `cocola`'s calibration; a single mode can be chosen instead.
#[test]
fn the_headline_is_the_combined_fit_of_the_smoothed_scores() {
    use cocola_plugin::params::HeadlineMode;
    let model = calibrated_test_model();
    let calibration = cocola::model::Model::load(model, &Default::default())
        .unwrap()
        .metadata()
        .calibration
        .unwrap();
    let stem = signal(16_000.0, 6.0, 41, 0.5);
    let cond = signal(16_000.0, 6.0, 42, 0.5);
    let run = |headline: Option<f32>| {
        let mut host = Host::new(Some(model));
        if let Some(normalized) = headline {
            set_normalized(&*host.plugin.cocola_params(), "headline", normalized);
        }
        host.activate(16_000.0, 1024, ProcessMode::Offline, MONO_WITH_SIDECHAIN);
        host.run(std::slice::from_ref(&stem), std::slice::from_ref(&cond), &[1024]);
        host.finish()
    };
    let s = run(None);
    let smoothed = match s.timeline.back().unwrap().outcome {
        Outcome::Scored { smoothed, .. } => smoothed,
        ref other => panic!("the last window was not scored: {other:?}"),
    };
    let expected = calibration
        .combined(cocola::mode::Mode::ALL.into_iter().zip(smoothed))
        .unwrap();
    let headline = s.headline.unwrap();
    assert_eq!(headline.shows, HeadlineMode::Combined);
    assert_eq!(headline.fit, Some(expected.fit));
    assert_eq!(headline.verdict, Some(expected.verdict));
    assert_eq!(headline.raw, smoothed[0], "the raw number beside it is the plain score");

    // Percussive (the last of four choices): that mode's own fit.
    let s = run(Some(1.0));
    let headline = s.headline.unwrap();
    let smoothed = match s.timeline.back().unwrap().outcome {
        Outcome::Scored { smoothed, .. } => smoothed,
        ref other => panic!("the last window was not scored: {other:?}"),
    };
    assert_eq!(headline.shows, HeadlineMode::Percussive);
    let percussive = calibration.mode(cocola::mode::Mode::Percussive).unwrap();
    assert_eq!(headline.fit, Some(percussive.fit(smoothed[2])));
}

#[test]
fn resampled_host_audio_scores_like_cocola_on_the_resampled_file() {
    let rate = 48_000.0;
    let mut host = Host::new(Some(test_model()));
    host.activate(rate, 512, ProcessMode::Offline, STEREO_WITH_SIDECHAIN);
    let stem = signal(rate, 6.0, 21, 0.5);
    let cond = signal(rate, 6.0, 22, 0.5);
    host.run(&[stem.clone(), stem.clone()], &[cond.clone(), cond.clone()], &[512]);
    let s = host.finish();
    let windows = scored(&s);
    // 6 s at hop 1 s: windows end at 5 and 6 s. At the end of an offline
    // render the resampler's tail is flushed with zeros exactly as the
    // whole-file resampler does, so every window matches `cocola score`.
    assert_eq!(windows.iter().map(|w| w.0).collect::<Vec<_>>(), vec![80_000, 96_000]);
    let stem16 = cocola::audio::resample_to_16k(&stem, 48_000).unwrap();
    let cond16 = cocola::audio::resample_to_16k(&cond, 48_000).unwrap();
    assert_eq!(stem16.len(), 96_000);
    let mut reference = reference_scorer();
    for (end, scores) in &windows {
        let r = *end as usize - WINDOW_SAMPLES..*end as usize;
        assert_close(scores, &reference.score_window(&cond16[r.clone()], &stem16[r]).unwrap());
    }
}

#[test]
fn real_time_uses_the_low_latency_resampler_and_still_scores_like_cocola() {
    // In real time the worker resamples with a short FIR instead of the
    // files' FFT filter (26 ms of delay instead of up to 192 ms); the two
    // differ only in the 7.9-8.05 kHz transition band, and the scores of
    // windows inside the signal agree with `cocola score` to 1e-3.
    let rate = 44_100.0;
    let mut host = Host::new(Some(test_model()));
    host.activate(rate, 441, ProcessMode::Realtime, STEREO_WITH_SIDECHAIN);
    host.wait_for("model", WAIT, |s| s.model.is_some());
    let stem = signal(rate, 6.5, 91, 0.5);
    let cond = signal(rate, 6.5, 92, 0.5);
    host.run(
        &[stem.clone(), stem.clone()],
        &[cond.clone(), cond.clone()],
        &[441, 1000, 64],
    );
    let s = host.wait_for("both windows accounted for", WAIT, |s| {
        s.windows_scored + s.windows_skipped == 2
    });
    let windows = scored(&s);
    assert!(!windows.is_empty());
    let stem16 = cocola::audio::resample_to_16k(&stem, 44_100).unwrap();
    let cond16 = cocola::audio::resample_to_16k(&cond, 44_100).unwrap();
    let mut reference = reference_scorer();
    for (end, scores) in &windows {
        assert!([80_000, 96_000].contains(end), "window ending at {end}");
        let r = *end as usize - WINDOW_SAMPLES..*end as usize;
        assert_close(scores, &reference.score_window(&cond16[r.clone()], &stem16[r]).unwrap());
    }
}

#[test]
fn missing_and_silent_sidechain_are_distinct_states() {
    // A layout without sidechain says so at once.
    let mut host = Host::new(Some(test_model()));
    host.activate(16_000.0, 256, ProcessMode::Offline, STEREO_NO_SIDECHAIN);
    let stem = signal(16_000.0, 1.0, 31, 0.5);
    host.run(&[stem.clone(), stem.clone()], &[], &[256]);
    host.wait_for("no sidechain", WAIT, |s| s.state == State::NoSidechain);

    // A connected but digitally silent sidechain: no sidechain signal.
    let mut host = Host::new(Some(test_model()));
    host.activate(16_000.0, 256, ProcessMode::Offline, MONO_WITH_SIDECHAIN);
    let stem = signal(16_000.0, 5.0, 32, 0.5);
    host.run(std::slice::from_ref(&stem), &[vec![0.0; stem.len()]], &[256]);
    let s = host.finish();
    assert_eq!(s.state, State::NoSidechain);
    assert!(matches!(s.timeline.back().unwrap().outcome, Outcome::NoSidechain));

    // A quiet condition (about -95 dBFS) is silent, not absent.
    let mut host = Host::new(Some(test_model()));
    host.activate(16_000.0, 256, ProcessMode::Offline, MONO_WITH_SIDECHAIN);
    let quiet = signal(16_000.0, 5.0, 33, 2e-5);
    host.run(std::slice::from_ref(&stem), &[quiet], &[256]);
    let s = host.finish();
    assert_eq!(
        s.state,
        State::Silent {
            condition: true,
            stem: false
        }
    );
    assert_eq!(s.windows_scored, 0);
}

#[test]
fn nan_and_inf_input_neither_crash_nor_poison_later_scores() {
    let rate = 16_000.0;
    let mut host = Host::new(Some(test_model()));
    host.activate(rate, 1024, ProcessMode::Offline, MONO_WITH_SIDECHAIN);
    let stem = signal(rate, 11.0, 41, 0.5);
    let cond = signal(rate, 11.0, 42, 0.5);
    let mut bad_stem = stem.clone();
    let mut bad_cond = cond.clone();
    for i in (1_000..20_000).step_by(3) {
        bad_stem[i] = f32::NAN;
        bad_cond[i + 1] = f32::INFINITY;
        bad_cond[i + 2] = f32::NEG_INFINITY;
    }
    let out = host.run(&[bad_stem.clone()], &[bad_cond], &[1024]);
    assert!(out[0].iter().zip(&bad_stem).all(|(a, b)| a.to_bits() == b.to_bits()));
    let s = host.finish();
    let windows = scored(&s);
    assert_eq!(windows.len(), 7); // 5 s .. 11 s
    assert!(windows.iter().all(|(_, w)| w.modes().iter().all(|m| m.raw.is_finite())));
    // Windows that start after the damage are exactly the clean signal's.
    let mut reference = reference_scorer();
    for (end, scores) in windows
        .iter()
        .filter(|(end, _)| *end as usize - WINDOW_SAMPLES >= 20_003)
    {
        let r = *end as usize - WINDOW_SAMPLES..*end as usize;
        assert_close(scores, &reference.score_window(&cond[r.clone()], &stem[r]).unwrap());
    }
}

#[test]
fn every_host_rate_and_buffer_size() {
    // Varying sizes, including 1-sample blocks and the largest 4096.
    let sizes = [1, 1, 3, 64, 4096, 17, 1000, 2048, 1, 511, 4096, 256];
    for rate in [8_000.0f32, 44_100.0, 48_000.0, 96_000.0, 192_000.0] {
        let mut host = Host::new(Some(test_model()));
        host.activate(rate, 4096, ProcessMode::Offline, STEREO_WITH_SIDECHAIN);
        host.plugin.cocola_params();
        let stem = signal(rate, 5.3, 51, 0.5);
        let cond = signal(rate, 5.3, 52, 0.5);
        let out = host.run(&[stem.clone(), stem.clone()], &[cond.clone(), cond], &sizes);
        assert!(
            out[0].iter().zip(&stem).all(|(a, b)| a.to_bits() == b.to_bits()),
            "{rate}"
        );
        let s = host.finish();
        assert_eq!(s.windows_scored, 1, "{rate} Hz: {:?}", s.state);
        assert_eq!(s.host_sample_rate, rate);
    }
}

#[test]
fn reset_starts_listening_again() {
    let mut host = Host::new(Some(test_model()));
    host.activate(16_000.0, 512, ProcessMode::Offline, MONO_WITH_SIDECHAIN);
    let stem = signal(16_000.0, 5.0, 61, 0.5);
    let cond = signal(16_000.0, 5.0, 62, 0.5);
    host.run(std::slice::from_ref(&stem), std::slice::from_ref(&cond), &[512]);
    host.wait_for("first score", WAIT, |s| s.windows_scored == 1);
    host.plugin.reset();
    host.run(&[stem[..16_000].to_vec()], &[cond[..16_000].to_vec()], &[512]);
    host.wait_for("listening again", WAIT, |s| {
        s.state == State::Listening { heard_seconds: 1.0 }
    });
    // The GUI's reset button clears the timeline too.
    host.plugin
        .shared()
        .reset_requested
        .store(true, std::sync::atomic::Ordering::Release);
    host.wait_for("history cleared", WAIT, |s| {
        s.timeline.is_empty() && s.headline.is_none()
    });
}

#[test]
fn transport_stop_then_start_elsewhere_listens_afresh_at_the_new_song_position() {
    let mut host = Host::new(Some(test_model()));
    host.activate(16_000.0, 512, ProcessMode::Offline, MONO_WITH_SIDECHAIN);
    let stem = signal(16_000.0, 6.0, 71, 0.5);
    let cond = signal(16_000.0, 6.0, 72, 0.5);
    host.run(std::slice::from_ref(&stem), std::slice::from_ref(&cond), &[512]);
    host.wait_for("two windows", WAIT, |s| s.windows_scored == 2);
    // Stopped: the host keeps calling process() with silence.
    host.ctx.transport.playing = false;
    host.run(&[vec![0.0; 16_000]], &[vec![0.0; 16_000]], &[512]);
    // Started again at 42 s: the audio no longer joins up with the history.
    host.ctx.transport.playing = true;
    host.song_frames = 42 * 16_000;
    host.run(&[stem[..32_000].to_vec()], &[cond[..32_000].to_vec()], &[512]);
    host.wait_for("listening afresh", WAIT, |s| {
        s.state == State::Listening { heard_seconds: 2.0 }
    });
    host.run(&[stem[32_000..].to_vec()], &[cond[32_000..].to_vec()], &[512]);
    let s = host.finish();
    // Windows end 5 s and 6 s after the restart, at song positions 47 and 48 s;
    // none spans the jump.
    let scored: Vec<f64> = s
        .timeline
        .iter()
        .filter(|p| matches!(p.outcome, Outcome::Scored { .. }))
        .map(|p| p.song_seconds.unwrap())
        .filter(|&t| t > 40.0)
        .collect();
    assert_eq!(scored.len(), 2, "{scored:?}");
    assert!(
        (scored[0] - 47.0).abs() < 1e-3 && (scored[1] - 48.0).abs() < 1e-3,
        "{scored:?}"
    );
}

#[test]
fn bad_model_file_is_a_clear_error_and_a_good_one_recovers() {
    let dir = std::env::temp_dir().join(format!("cocola-plugin-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("not-a-model.onnx");
    std::fs::write(&bad, b"this is not an onnx file").unwrap();
    let mut host = Host::new(Some(&bad));
    host.activate(48_000.0, 512, ProcessMode::Realtime, STEREO_WITH_SIDECHAIN);
    let s = host.wait_for("model failed", WAIT, |s| matches!(s.state, State::ModelFailed(_)));
    let State::ModelFailed(msg) = s.state else {
        unreachable!()
    };
    assert!(
        msg.contains("not-a-model.onnx") && msg.contains("not an ONNX model"),
        "{msg}"
    );
    // Choosing a good file from the GUI loads it without re-activation.
    host.plugin
        .cocola_params()
        .set_model_choice(ModelChoice::File(test_model().to_path_buf()));
    let s = host.wait_for("model loaded", WAIT, |s| s.model.is_some());
    assert!(matches!(s.state, State::Listening { .. }), "{:?}", s.state);
}

#[test]
fn state_round_trips_through_the_params() {
    let host = Host::new(Some(test_model()));
    let params = host.plugin.cocola_params();
    let setter = set_normalized;
    setter(&*params, "hop", 0.25);
    setter(&*params, "silence", 0.5);
    setter(&*params, "smooth", 0.1);
    setter(&*params, "headline", 1.0);
    let fields = params.serialize_fields();
    let values: Vec<(String, f32)> = params
        .param_map()
        .into_iter()
        .map(|(id, ptr, _)| (id, unsafe { ptr.unmodulated_normalized_value() }))
        .collect();

    let restored = Host::new(None);
    let p2 = restored.plugin.cocola_params();
    p2.deserialize_fields(&fields);
    for (id, v) in &values {
        setter(&*p2, id, *v);
    }
    assert_eq!(p2.model_choice(), ModelChoice::File(test_model().to_path_buf()));
    assert_eq!(p2.hop_seconds.value(), params.hop_seconds.value());
    assert_eq!(p2.silence_dbfs.value(), params.silence_dbfs.value());
    assert_eq!(p2.smoothing.value(), params.smoothing.value());
    assert_eq!(p2.headline.value(), cocola_plugin::params::HeadlineMode::Percussive);
    assert!(
        (p2.hop_seconds.value() - 1.6).abs() < 1e-6,
        "{}",
        p2.hop_seconds.value()
    );
}

#[test]
fn real_time_skips_windows_it_cannot_keep_up_with_but_scores_the_latest() {
    // 7 s arriving at once (a host far faster than real time): the windows
    // ending at 5 s and 6 s have newer audio queued behind them and may be
    // skipped, the last one never is; nothing is lost from the audio.
    let mut host = Host::new(Some(test_model()));
    host.activate(16_000.0, 4096, ProcessMode::Realtime, MONO_WITH_SIDECHAIN);
    host.wait_for("model", WAIT, |s| s.model.is_some());
    let stem = signal(16_000.0, 7.0, 81, 0.5);
    let cond = signal(16_000.0, 7.0, 82, 0.5);
    let out = host.run(std::slice::from_ref(&stem), &[cond], &[4096]);
    assert_eq!(out[0], stem);
    let s = host.wait_for("three windows accounted for", WAIT, |s| {
        s.windows_scored + s.windows_skipped == 3
    });
    assert!(s.windows_scored >= 1);
    assert_eq!(s.timeline.back().unwrap().end_sample, 7 * 16_000);
    assert_eq!(s.dropped_frames, 0);
}
