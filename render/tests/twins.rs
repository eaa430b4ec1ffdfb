//! `--transposed-twins`: every pitched stem rendered again, transposed, by
//! the same voice; the track's own stems unchanged; twins added to a
//! finished track only when it renders identically.

use std::path::Path;

use cocola_render::render;

use crate::render::{opts, read_wav, soundfont, write_midi, SR};

/// Power of `x` at `hz` (Goertzel), per sample.
fn power_at(x: &[f32], hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / SR as f64;
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s = f64::from(v) + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2) / x.len() as f64
}

fn render_json(track: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(track.join("render.json")).unwrap()).unwrap()
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn twins_are_the_pitched_stems_in_another_key_and_leave_the_stems_alone() {
    let Some(sf) = soundfont() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mid = tmp.path().join("piece.mid");
    write_midi(&mid);

    let mut with = opts(&tmp.path().join("with"), &sf);
    with.transposed_twins = true;
    let s = render::run(std::slice::from_ref(&mid), &with).unwrap();
    assert_eq!((s.rendered, s.failed.len()), (1, 0), "{:?}", s.failed);
    let track = with.out.join("piece");
    let info = render_json(&track);
    let twins = &info["transposed_twins"];
    let k = twins["semitones"].as_i64().unwrap() as i32;
    assert!(k != 0 && k.abs() <= 6, "{k}");
    let folder = track.join(twins["folder"].as_str().unwrap());
    assert_eq!(
        folder.file_name().unwrap().to_string_lossy(),
        format!("transposed{k:+}")
    );
    let twinned: Vec<&str> = twins["stems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let pitched: Vec<&str> = (info["stems"].as_array().unwrap().iter())
        .filter(|s| s["pitched"].as_bool().unwrap())
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(twinned, pitched, "every pitched stem, and only those, has a twin");
    assert!(pitched.len() >= 2);
    let files = std::fs::read_dir(&folder).unwrap().count();
    assert_eq!(files, pitched.len(), "no twin of the drums");

    // The melody (C5 for its first beat) sounds k semitones away in its twin.
    let melody = pitched
        .iter()
        .find(|n| n.contains("melody") || n.contains("piano"))
        .copied()
        .unwrap_or(pitched[0]);
    let stem = read_wav(&track.join(format!("{melody}.wav")));
    let twin = read_wav(&folder.join(format!("{melody}.wav")));
    assert_eq!(stem.len(), twin.len());
    let first_beat = |x: &[f32]| x[SR / 20..SR / 2].to_vec();
    let (c5, moved) = (523.25, 523.25 * 2f64.powf(f64::from(k) / 12.0));
    let (stem_beat, twin_beat) = (first_beat(&stem), first_beat(&twin));
    assert!(
        power_at(&stem_beat, c5) > 10.0 * power_at(&stem_beat, moved),
        "stem not at C5"
    );
    assert!(
        power_at(&twin_beat, moved) > 10.0 * power_at(&twin_beat, c5),
        "twin not moved by {k}"
    );

    // Without twins the stems are byte for byte the same.
    let without = opts(&tmp.path().join("without"), &sf);
    render::run(std::slice::from_ref(&mid), &without).unwrap();
    let plain = without.out.join("piece");
    for name in info["stems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
    {
        let file = format!("{name}.wav");
        assert!(
            bytes(&plain.join(&file)) == bytes(&track.join(&file)),
            "{file} changed by twins"
        );
    }
    assert!(render_json(&plain).get("transposed_twins").is_none());

    // Asking for twins of the finished track adds them, the same as above;
    // asking again finds it complete.
    let mut add = without.clone();
    add.transposed_twins = true;
    let s = render::run(std::slice::from_ref(&mid), &add).unwrap();
    assert_eq!((s.rendered, s.failed.len()), (1, 0), "{:?}", s.failed);
    for name in &pitched {
        let file = format!("{name}.wav");
        let added = plain.join(folder.file_name().unwrap()).join(&file);
        assert!(bytes(&added) == bytes(&folder.join(&file)), "added twin {file} differs");
    }
    assert_eq!(render_json(&plain)["transposed_twins"], *twins);
    assert!(!add.out.join(".render-tmp/piece").exists());
    let s = render::run(std::slice::from_ref(&mid), &add).unwrap();
    assert_eq!((s.rendered, s.skipped_existing), (0, 1));
}

#[test]
fn twins_are_refused_for_a_track_made_with_other_options() {
    let Some(sf) = soundfont() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mid = tmp.path().join("piece.mid");
    write_midi(&mid);
    let made = opts(&tmp.path().join("out"), &sf);
    render::run(std::slice::from_ref(&mid), &made).unwrap();
    let track = made.out.join("piece");
    let before = bytes(&track.join("render.json"));

    let mut other = made.clone();
    other.transposed_twins = true;
    other.velocity_humanize = 20;
    let s = render::run(std::slice::from_ref(&mid), &other).unwrap();
    assert_eq!(s.failed.len(), 1);
    assert!(s.failed[0].contains("differs"), "{:?}", s.failed);
    assert_eq!(bytes(&track.join("render.json")), before, "the track is untouched");
    let folders = std::fs::read_dir(&track)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert_eq!(folders, 0, "no twins were added");
}
