//! `cocola-render render` with sampled instruments instead of a SoundFont:
//! the facts it writes, held-out instruments and the sample library.

use std::path::Path;

use crate::render::{onset, opts, rms, soundfont, stems_of, write_midi, SR};
use cocola_render::facts::{Facts, PartFact};
use cocola_render::render::{self, Range};
use cocola_render::sampler::catalogue::Role;
use cocola_render::sampler::instrument::{key_zones, velocity_range, Articulation, Instrument, Sample};
use cocola_render::sampler::library::{HeldOut, Library, Sound};
use std::sync::Arc;

/// A sampled instrument of one sine recording at A3, 2 s.
fn sine_instrument(name: &str) -> Instrument {
    let data: Vec<f32> = (0..2 * SR)
        .map(|i| (0.3 * (2.0 * std::f64::consts::PI * 220.0 * i as f64 / SR as f64).sin()) as f32)
        .collect();
    let sample = Arc::new(Sample {
        data,
        root: 57.0,
        loop_range: None,
    });
    Instrument {
        name: name.into(),
        zones: key_zones(&[sample], velocity_range(0, 1)),
        articulation: Articulation {
            release_seconds: 0.2,
            one_shot: false,
            pitched: true,
        },
        chokes: vec![],
        tuning: vec![],
        range: (0, 127),
    }
}

fn pitched(name: &str, programs: &'static [u8], held_out: bool) -> (String, Role, bool, Sound) {
    let role = Role::Pitched {
        programs,
        sustaining: false,
        release_seconds: 0.2,
    };
    (
        name.into(),
        role,
        held_out,
        Sound::Sampled(Arc::new(sine_instrument(name))),
    )
}

fn info(out: &Path, track: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join(track).join("render.json")).unwrap()).unwrap()
}

fn stem<'a>(info: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    info["stems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

#[test]
fn sampled_sets_and_kit_presets_play_parts_and_are_recorded() {
    let Some(sf) = soundfont() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mid = tmp.path().join("song.mid");
    write_midi(&mid);
    let font = cocola_render::render::synth::load_soundfont(&sf).unwrap();
    // TimGM6mb's standard kit is preset 128:0: played as an explicit
    // preset on a melodic channel it must sound like on channel 10.
    let kit = Sound::SoundFontKit {
        path: sf.clone(),
        font,
        bank: 128,
        program: 0,
    };
    let library = Library::from_sounds(vec![
        pitched("piano-set", &[0], false),
        pitched("bass-set", &[33], false),
        ("kit".into(), Role::DrumKit, false, kit),
    ]);
    let mut o = opts(&tmp.path().join("out"), &sf);
    o.sample_mix = 1.0;
    o.drum_kit_mix = 1.0;
    let s = render::run_with_library(std::slice::from_ref(&mid), &o, &library).unwrap();
    assert_eq!((s.rendered, s.failed.len()), (1, 0), "{:?}", s.failed);
    let info = info(&o.out, "song");
    assert_eq!(
        stem(&info, "piano")["sound"],
        serde_json::json!({"kind": "sampled", "set": "piano-set"})
    );
    assert_eq!(stem(&info, "bass")["sound"]["set"], "bass-set");
    assert_eq!(stem(&info, "bass")["soundfont"], serde_json::Value::Null);
    assert_eq!(stem(&info, "drums")["sound"]["kind"], "soundfont-preset");
    assert_eq!(stem(&info, "drums")["pitched"], false);
    assert_eq!(stem(&info, "piano")["pitched"], true);
    // The sampled piano plays its notes at 0 and 1 s (C5 and E5).
    let stems = stems_of(&o.out.join("song"));
    let piano = &stems.iter().find(|s| s.0 == "piano").unwrap().1;
    assert!((onset(piano) - 0.0).abs() < 0.01);
    assert!(rms(piano, 1.0, 1.1) > 3.0 * rms(piano, 0.9, 0.98));
    let drums = &stems.iter().find(|s| s.0 == "drums").unwrap().1;
    assert!((onset(drums) - 0.25).abs() < 0.03, "kit preset onset {}", onset(drums));
}

/// Debian's AVL kits sit at bank 0 program 0, not in the GM drum bank:
/// the renderer plays the preset explicitly on a melodic channel rather
/// than relying on how a synthesizer falls back on channel 10. Skipped
/// without avldrums.lv2-soundfont.
#[test]
fn avl_kits_play_as_explicit_presets() {
    let Some(sf) = soundfont() else { return };
    let avl = Path::new("/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2");
    if !avl.is_file() {
        eprintln!(
            "SKIPPED: {} is absent (apt-get install avldrums.lv2-soundfont)",
            avl.display()
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mid = tmp.path().join("song.mid");
    write_midi(&mid);
    let kit = Sound::SoundFontKit {
        path: avl.to_path_buf(),
        font: cocola_render::render::synth::load_soundfont(avl).unwrap(),
        bank: 0,
        program: 0,
    };
    let library = Library::from_sounds(vec![("avl".into(), Role::DrumKit, false, kit)]);
    let mut o = opts(&tmp.path().join("out"), &sf);
    o.drum_kit_mix = 1.0;
    render::run_with_library(std::slice::from_ref(&mid), &o, &library).unwrap();
    let stems = stems_of(&o.out.join("song"));
    let drums = &stems.iter().find(|s| s.0 == "drums").expect("the kit sounds").1;
    assert!((onset(drums) - 0.25).abs() < 0.03, "kick at {}", onset(drums));
    assert!(
        rms(drums, 0.75, 0.85) > 3.0 * rms(drums, 0.65, 0.74),
        "snare not at 0.75 s"
    );
    assert_eq!(
        stem(&info(&o.out, "song"), "drums")["sound"]["kind"],
        "soundfont-preset"
    );
}

#[test]
fn held_out_sets_are_excluded_or_preferred() {
    let Some(sf) = soundfont() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mid = tmp.path().join("song.mid");
    write_midi(&mid);
    let library = Library::from_sounds(vec![pitched("seen", &[0], false), pitched("unseen", &[0], true)]);
    let set_of = |policy: HeldOut, dir: &str| {
        let mut o = opts(&tmp.path().join(dir), &sf);
        o.sample_mix = 1.0;
        o.held_out = policy;
        o.variants = 6;
        render::run_with_library(std::slice::from_ref(&mid), &o, &library).unwrap();
        (0..6)
            .map(|v| stem(&info(&o.out, &format!("song.v{v}")), "piano")["sound"]["set"].clone())
            .collect::<Vec<_>>()
    };
    assert!(set_of(HeldOut::Exclude, "a").iter().all(|s| s == "seen"));
    assert!(set_of(HeldOut::Prefer, "b").iter().all(|s| s == "unseen"));
    let both = set_of(HeldOut::Include, "c");
    assert!(
        both.iter().any(|s| s == "seen") && both.iter().any(|s| s == "unseen"),
        "{both:?}"
    );
}

#[test]
fn facts_name_stems_and_follow_tempo_and_transposition() {
    let Some(sf) = soundfont() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mid = tmp.path().join("song.mid");
    write_midi(&mid);
    let facts = Facts {
        source: "generated".into(),
        piece: "song".into(),
        style: Some("test".into()),
        key: Some(cocola_render::facts::KeyFact::new(0, "dorian")),
        parts: vec![
            PartFact {
                midi_track: 1,
                channel: 0,
                role: "melody".into(),
            },
            PartFact {
                midi_track: 2,
                channel: 1,
                role: "bass".into(),
            },
            PartFact {
                midi_track: 3,
                channel: 9,
                role: "drums".into(),
            },
        ],
        ..Default::default()
    };
    std::fs::write(tmp.path().join("song.facts.json"), serde_json::to_vec(&facts).unwrap()).unwrap();
    let mut o = opts(&tmp.path().join("out"), &sf);
    o.tempo_scale = Range::fixed(2.0);
    o.transpose = Range::fixed(3.0);
    render::run(std::slice::from_ref(&mid), &o).unwrap();
    let info = info(&o.out, "song");
    let names: Vec<&str> = info["stems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["melody", "bass", "drums"]);
    assert_eq!(stem(&info, "melody")["role"], "melody");
    let music = &info["music"];
    assert_eq!(music["style"], "test");
    // The MIDI sets 120 quarter notes per minute; played twice as fast.
    assert_eq!(music["tempo_qpm"], 240.0);
    assert_eq!(music["key"]["name"], "D# dorian");
}

#[test]
fn unpitched_gm_families_are_named_percussion() {
    assert_eq!(cocola_render::render::synth::family(115), "percussion");
    assert_eq!(cocola_render::render::synth::family(127), "percussion-fx");
    assert!(!cocola_render::render::parts::is_pitched("percussion-2"));
    assert!(!cocola_render::render::parts::is_pitched("drums"));
    assert!(cocola_render::render::parts::is_pitched("chromatic-percussion"));
}
