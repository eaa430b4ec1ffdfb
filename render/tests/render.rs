//! `cocola-render render`: a tiny MIDI file built here with midly (two
//! melodic tracks on different channels, a drum track on channel 10, an empty
//! track and a muted one) rendered with the Debian TimGM6mb SoundFont.
//! Skipped, with a message, when that SoundFont is not installed
//! (`apt-get install timgm6mb-soundfont`; `.ci/run` does it).

use std::path::{Path, PathBuf};

use cocola_render::render::{self, Ensemble, Outcome, Range, RenderOptions};
use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

const SF: &str = "/usr/share/sounds/sf2/TimGM6mb.sf2";
pub(crate) const SR: usize = 16_000;

pub(crate) fn soundfont() -> Option<PathBuf> {
    let p = PathBuf::from(SF);
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("SKIPPED: {SF} is absent (apt-get install timgm6mb-soundfont)");
        None
    }
}

/// (beat, channel, key, velocity, beats long) at 120 bpm, 480 ticks/beat.
type Note = (f64, u8, u8, u8, f64);

fn track(name: &str, channel: u8, program: Option<u8>, volume: Option<u8>, notes: &[Note]) -> Vec<TrackEvent<'static>> {
    let name: &'static [u8] = Box::leak(name.as_bytes().to_vec().into_boxed_slice());
    let mut timed: Vec<(u32, TrackEventKind<'static>)> = vec![(0, TrackEventKind::Meta(MetaMessage::TrackName(name)))];
    let ch = u4::new(channel);
    if let Some(p) = program {
        timed.push((
            0,
            TrackEventKind::Midi {
                channel: ch,
                message: MidiMessage::ProgramChange { program: u7::new(p) },
            },
        ));
    }
    if let Some(v) = volume {
        let message = MidiMessage::Controller {
            controller: u7::new(7),
            value: u7::new(v),
        };
        timed.push((0, TrackEventKind::Midi { channel: ch, message }));
    }
    for &(beat, c, key, vel, len) in notes {
        let on = (beat * 480.0) as u32;
        let off = ((beat + len) * 480.0) as u32;
        let c = u4::new(c);
        timed.push((
            on,
            TrackEventKind::Midi {
                channel: c,
                message: MidiMessage::NoteOn {
                    key: u7::new(key),
                    vel: u7::new(vel),
                },
            },
        ));
        timed.push((
            off,
            TrackEventKind::Midi {
                channel: c,
                message: MidiMessage::NoteOff {
                    key: u7::new(key),
                    vel: u7::new(0),
                },
            },
        ));
    }
    timed.sort_by_key(|t| t.0);
    let mut last = 0;
    let mut out: Vec<TrackEvent<'static>> = timed
        .into_iter()
        .map(|(t, kind)| {
            let delta = u28::new(t - last);
            last = t;
            TrackEvent { delta, kind }
        })
        .collect();
    out.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    out
}

/// Melody (ch 1, piano) at 0.0 s and 1.0 s; bass (ch 2) at 0.5 s and 1.5 s;
/// drums (ch 10, split over two tracks) at 0.25 s and 0.75 s; a track with
/// only a program change; a muted (CC7 = 0) organ part.
pub(crate) fn write_midi(path: &Path) {
    let mut smf = Smf::new(Header::new(Format::Parallel, Timing::Metrical(u15::new(480))));
    smf.tracks.push(vec![
        TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::Tempo(u24::new(500_000))),
        },
        TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
        },
    ]);
    smf.tracks.push(track(
        "Melody",
        0,
        Some(0),
        None,
        &[(0.0, 0, 72, 100, 1.0), (2.0, 0, 76, 100, 1.0)],
    ));
    smf.tracks.push(track(
        "Bass",
        1,
        Some(33),
        None,
        &[(1.0, 1, 40, 110, 1.0), (3.0, 1, 43, 110, 1.0)],
    ));
    smf.tracks
        .push(track("Kick", 9, None, None, &[(0.5, 9, 36, 120, 0.25)]));
    smf.tracks
        .push(track("Snare", 9, None, None, &[(1.5, 9, 38, 120, 0.25)]));
    smf.tracks.push(track("Empty", 3, Some(40), None, &[]));
    smf.tracks
        .push(track("Muted", 4, Some(19), Some(0), &[(0.0, 4, 60, 100, 3.0)]));
    smf.save(path).unwrap();
}

pub(crate) fn read_wav(path: &Path) -> Vec<f32> {
    let mut r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(r.spec().channels, 1);
    assert_eq!(r.spec().sample_rate as usize, SR);
    r.samples::<i16>().map(|s| s.unwrap() as f32 / 32768.0).collect()
}

pub(crate) fn stems_of(dir: &Path) -> Vec<(String, Vec<f32>)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), read_wav(&p)))
        .collect()
}

/// First time (s) the signal reaches 2 % of its peak.
pub(crate) fn onset(x: &[f32]) -> f64 {
    let peak = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    x.iter().position(|v| v.abs() >= 0.02 * peak).unwrap() as f64 / SR as f64
}

pub(crate) fn rms(x: &[f32], from: f64, to: f64) -> f64 {
    let s = &x[(from * SR as f64) as usize..(to * SR as f64) as usize];
    (s.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / s.len() as f64).sqrt()
}

pub(crate) fn opts(out: &Path, sf: &Path) -> RenderOptions {
    let mut o = RenderOptions::new(out.to_path_buf(), vec![sf.to_path_buf()]);
    o.jobs = 2;
    o
}

fn files_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = Vec::new();
    for t in std::fs::read_dir(dir).unwrap() {
        let t = t.unwrap().path();
        for f in std::fs::read_dir(&t).unwrap() {
            let f = f.unwrap().path();
            let rel = f.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let mut b = std::fs::read(&f).unwrap();
            if rel.ends_with("render.json") {
                // Its paths name the output's own folder; compare the rest.
                b = String::from_utf8(b)
                    .unwrap()
                    .replace(&dir.display().to_string(), "OUT")
                    .into_bytes();
            }
            v.push((rel, b));
        }
    }
    v.sort();
    v
}

#[test]
fn stems_are_aligned_separate_and_non_silent() {
    let Some(sf) = soundfont() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mid = tmp.path().join("song.mid");
    write_midi(&mid);
    let out = tmp.path().join("out");
    let s = render::run(&[mid], &opts(&out, &sf)).unwrap();
    assert_eq!((s.rendered, s.failed.len()), (1, 0), "{:?}", s.failed);
    assert!(!out.join(".render-tmp").exists(), "temp folder left behind");

    let stems = stems_of(&out.join("song"));
    let names: Vec<&str> = stems.iter().map(|s| s.0.as_str()).collect();
    // Empty part gone, muted organ dropped as silent, two drum tracks -> one stem.
    assert_eq!(names, ["bass", "drums", "piano"]);
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("song/render.json")).unwrap()).unwrap();
    assert_eq!(info["dropped_silent"], serde_json::json!(["organ"]));

    let len = stems[0].1.len();
    // 4 beats at 120 bpm = 2 s of notes + 1 s tail.
    assert!((len as f64 / SR as f64 - 3.0).abs() < 0.01, "length {len}");
    for (name, x) in &stems {
        assert_eq!(x.len(), len, "{name}: stems differ in length");
        assert!(x.iter().fold(0f32, |m, v| m.max(v.abs())) > 0.01, "{name}: silent");
    }
    let get = |n: &str| &stems.iter().find(|s| s.0 == n).unwrap().1;
    let (piano, bass, drums) = (get("piano"), get("bass"), get("drums"));
    for (name, x, expect) in [("piano", piano, 0.0), ("bass", bass, 0.5), ("drums", drums, 0.25)] {
        let t = onset(x);
        assert!(
            (t - expect).abs() < 0.03,
            "{name}: onset at {t:.3} s, expected {expect} s"
        );
    }
    // Second onsets: piano at 1.0 s, bass at 1.5 s, snare at 0.75 s.
    assert!(
        rms(piano, 1.0, 1.1) > 3.0 * rms(piano, 0.9, 0.98),
        "piano's second note not at 1.0 s"
    );
    assert!(
        rms(bass, 1.5, 1.6) > 1.5 * rms(bass, 1.4, 1.48),
        "bass's second note not at 1.5 s"
    );
    assert!(
        rms(drums, 0.75, 0.85) > 3.0 * rms(drums, 0.65, 0.74),
        "snare not at 0.75 s"
    );
    // Drums are separate: nothing of them in the melodic stems before the melody sounds.
    assert!(rms(bass, 0.2, 0.45) < 1e-4, "bass stem has sound before its first note");

    let mix: Vec<f32> = (0..len).map(|i| stems.iter().map(|s| s.1[i]).sum()).collect();
    for (name, x) in &stems {
        let diff = mix.iter().zip(x).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(diff > 0.01, "mix equals the {name} stem");
    }
}

#[test]
fn variants_differ_seeded_output_is_identical_and_resume_skips() {
    let Some(sf) = soundfont() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mid = tmp.path().join("piece.mid");
    write_midi(&mid);
    let mut o = opts(&tmp.path().join("a"), &sf);
    o.variants = 3;
    o.seed = 7;
    o.program_randomize = Some(Ensemble::Mixed);
    o.transpose = "-3..3".parse::<Range>().unwrap();
    o.tempo_scale = "0.9..1.1".parse::<Range>().unwrap();
    o.velocity_humanize = 10;
    let s = render::run(std::slice::from_ref(&mid), &o).unwrap();
    assert_eq!((s.rendered, s.failed.len()), (3, 0), "{:?}", s.failed);

    let a = files_bytes(&o.out);
    let tracks: Vec<Vec<u8>> = (0..3)
        .map(|v| std::fs::read(o.out.join(format!("piece.v{v}/render.json"))).unwrap())
        .collect();
    assert!(
        tracks[0] != tracks[1] && tracks[1] != tracks[2] && tracks[0] != tracks[2],
        "variants are identical"
    );
    let d0 = stems_of(&o.out.join("piece.v0"));
    let d1 = stems_of(&o.out.join("piece.v1"));
    assert!(
        d0.iter().map(|s| &s.1).ne(d1.iter().map(|s| &s.1)),
        "variant audio identical"
    );

    // Same seed, other folder, one thread: bit-identical.
    let mut o2 = o.clone();
    o2.out = tmp.path().join("b");
    o2.jobs = 1;
    render::run(std::slice::from_ref(&mid), &o2).unwrap();
    let b = files_bytes(&o2.out);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert!(x == y, "{} differs between two runs with the same seed", x.0);
    }
    // Another seed: different.
    let mut o3 = o2.clone();
    o3.out = tmp.path().join("c");
    o3.seed = 8;
    render::run(std::slice::from_ref(&mid), &o3).unwrap();
    assert!(files_bytes(&o3.out) != a, "seed has no effect");

    // Resume: finished tracks are skipped untouched; a stale temp folder
    // and a missing track are redone.
    let stamp = std::fs::metadata(o.out.join("piece.v0/render.json"))
        .unwrap()
        .modified()
        .unwrap();
    std::fs::remove_dir_all(o.out.join("piece.v2")).unwrap();
    std::fs::create_dir_all(o.out.join(".render-tmp/piece.v2")).unwrap();
    std::fs::write(o.out.join(".render-tmp/piece.v2/junk.wav"), b"x").unwrap();
    let s = render::run(std::slice::from_ref(&mid), &o).unwrap();
    assert_eq!((s.rendered, s.skipped_existing), (1, 2));
    assert_eq!(
        std::fs::metadata(o.out.join("piece.v0/render.json"))
            .unwrap()
            .modified()
            .unwrap(),
        stamp
    );
    assert!(!o.out.join(".render-tmp").exists());
    assert_eq!(files_bytes(&o.out), a, "re-rendered track differs");
}

#[test]
fn program_ensembles_follow_register() {
    let Some(sf) = soundfont() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mid = tmp.path().join("p.mid");
    write_midi(&mid);
    let song = render::midi::read(&mid).unwrap();
    let sfs = vec![(sf.clone(), render::synth::load_soundfont(&sf).unwrap())];
    let mut o = opts(tmp.path(), &sf);
    o.program_randomize = Some(Ensemble::Strings);
    let dir = tmp.path().join("x");
    std::fs::create_dir_all(&dir).unwrap();
    let library = cocola_render::sampler::library::Library::default();
    let Outcome::Rendered(info) = render::render_song(&song, &mid, None, "x", 0, &sfs, &library, &o, &dir).unwrap()
    else {
        panic!("too few stems")
    };
    let prog = |n: &str| info.stems.iter().find(|s| s.name == n).map(|s| s.program);
    // Melody (highest) -> violin (40), bass line (lowest) -> contrabass (43); drums untouched.
    assert_eq!(prog("strings"), Some(Some(40)));
    assert_eq!(prog("strings-2"), Some(Some(43)));
    assert_eq!(prog("drums"), Some(None));
}

#[test]
fn corrupt_midi_and_soundfont_errors_name_the_file() {
    let Some(sf) = soundfont() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bad_mid = tmp.path().join("broken.mid");
    std::fs::write(&bad_mid, b"MThd garbage, not a MIDI file").unwrap();
    let good = tmp.path().join("good.mid");
    write_midi(&good);
    let out = tmp.path().join("out");
    let s = render::run(&[bad_mid.clone(), good], &opts(&out, &sf)).unwrap();
    assert_eq!(s.rendered, 1, "the good file still renders");
    assert_eq!(s.failed.len(), 1);
    assert!(s.failed[0].contains("broken.mid"), "{}", s.failed[0]);

    let bad_sf = tmp.path().join("broken.sf2");
    std::fs::write(&bad_sf, vec![7u8; 4096]).unwrap();
    let e = render::run(std::slice::from_ref(&bad_mid), &opts(&out, &bad_sf)).unwrap_err();
    assert!(format!("{e:#}").contains("broken.sf2"), "{e:#}");

    // The binary: exit code 1, message names the file, no panic.
    let bin = env!("CARGO_BIN_EXE_cocola-render");
    for (sfp, name) in [(&bad_sf, "broken.sf2"), (&sf, "broken.mid")] {
        let o = std::process::Command::new(bin)
            .args(["render", "--quiet", "--out"])
            .arg(tmp.path().join("cli"))
            .arg("--soundfont")
            .arg(sfp)
            .arg(&bad_mid)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains(name) && !err.contains("panicked"), "{err}");
    }
}

#[test]
fn variants_of_a_piece_take_the_soundfonts_in_turn() {
    let Some(sf) = soundfont() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mid = tmp.path().join("piece.mid");
    write_midi(&mid);
    // Three names for one SoundFont: render.json records which one was used.
    let names: Vec<PathBuf> = ["a.sf2", "b.sf2", "c.sf2"].iter().map(|n| tmp.path().join(n)).collect();
    for n in &names {
        std::os::unix::fs::symlink(&sf, n).unwrap();
    }
    let mut o = opts(&tmp.path().join("out"), &sf);
    o.soundfonts = names.clone();
    o.variants = 6;
    render::run(std::slice::from_ref(&mid), &o).unwrap();
    let used: Vec<String> = (0..6)
        .map(|v| {
            let json = std::fs::read_to_string(o.out.join(format!("piece.v{v}/render.json"))).unwrap();
            let info: serde_json::Value = serde_json::from_str(&json).unwrap();
            info["soundfont"].as_str().unwrap().to_string()
        })
        .collect();
    // Every three consecutive variants use three different SoundFonts, and the
    // turn repeats.
    for w in used.windows(3) {
        assert!(w[0] != w[1] && w[1] != w[2] && w[0] != w[2], "{used:?}");
    }
    assert_eq!(used[0], used[3], "{used:?}");

    // --soundfont-mix 1: every stem is played by another SoundFont than its track's.
    let mut mixed = o.clone();
    mixed.out = tmp.path().join("mixed");
    mixed.soundfont_mix = 1.0;
    render::run(std::slice::from_ref(&mid), &mixed).unwrap();
    for v in 0..6 {
        let json = std::fs::read_to_string(mixed.out.join(format!("piece.v{v}/render.json"))).unwrap();
        let info: serde_json::Value = serde_json::from_str(&json).unwrap();
        for stem in info["stems"].as_array().unwrap() {
            assert_ne!(stem["soundfont"], info["soundfont"], "{json}");
        }
    }
}

#[test]
fn crop_renders_only_the_start_and_releases_held_notes() {
    let Some(sf) = soundfont() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mid = tmp.path().join("piece.mid");
    write_midi(&mid);
    let full = opts(&tmp.path().join("full"), &sf);
    let mut cropped = opts(&tmp.path().join("cropped"), &sf);
    // The bass's second note starts at 1.5 s, the melody's second sounds 1.0-1.5 s.
    cropped.crop_seconds = Some(1.25);
    render::run(std::slice::from_ref(&mid), &full).unwrap();
    render::run(std::slice::from_ref(&mid), &cropped).unwrap();
    let bass = |dir: &Path| {
        stems_of(&dir.join("piece"))
            .into_iter()
            .find(|s| s.0 == "bass")
            .unwrap()
            .1
    };
    let (b_full, b_cropped) = (bass(&full.out), bass(&cropped.out));
    assert_eq!(b_cropped.len(), (2.25 * SR as f64) as usize, "crop + 1 s tail");
    let rms = |x: &[f32]| (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt();
    let late = |x: &[f32]| rms(&x[(1.6 * SR as f64) as usize..(2.0 * SR as f64) as usize]);
    assert!(
        late(&b_full) > 0.01,
        "the uncut bass plays at 1.6-2.0 s: {}",
        late(&b_full)
    );
    assert!(
        late(&b_cropped) < 0.1 * late(&b_full),
        "{} vs {}",
        late(&b_cropped),
        late(&b_full)
    );
    // Before the cut both renderings are the same audio.
    let cut = (1.2 * SR as f64) as usize;
    assert_eq!(&b_cropped[..cut], &b_full[..cut]);
}
