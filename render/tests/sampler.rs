//! The sample player: tuning (a rendered A4 measures 440 Hz ± 5 cents, from
//! a real piano recording and from synthetic sets with a mistuned
//! recording), velocity layers, release tails, loops for held notes, drum
//! kits from a Hydrogen drumkit.xml, and SoundFont kit presets.

use std::f64::consts::PI;
use std::path::Path;

use cocola_render::render::midi::{Event, Msg};
use cocola_render::render::wav::write_mono;
use cocola_render::sampler::hydrogen::load_kit;
use cocola_render::sampler::instrument::{Articulation, Instrument};
use cocola_render::sampler::pitch::{cents, fundamental, key_hz};
use cocola_render::sampler::pitched::{load_pitched, PitchedSpec};
use cocola_render::sampler::player::render;

const SR: u32 = 16_000;

/// A note: (start s, key, velocity, length s).
fn events(notes: &[(f64, u8, u8, f64)]) -> Vec<Event> {
    let mut e: Vec<Event> = notes
        .iter()
        .flat_map(|&(t, key, vel, len)| {
            [
                Event {
                    time: t,
                    channel: 0,
                    msg: Msg::NoteOn { key, vel },
                },
                Event {
                    time: t + len,
                    channel: 0,
                    msg: Msg::NoteOff { key },
                },
            ]
        })
        .collect();
    e.sort_by(|a, b| a.time.total_cmp(&b.time));
    e
}

/// `seconds` of a tone at `hz` with `harmonics` partials (1/h amplitudes)
/// and an exponential decay (`decay` per second; 0 = steady).
fn tone(hz: f64, seconds: f64, harmonics: usize, decay: f64) -> Vec<f32> {
    (0..(seconds * SR as f64) as usize)
        .map(|i| {
            let t = i as f64 / SR as f64;
            let s: f64 = (1..=harmonics)
                .map(|h| (2.0 * PI * hz * h as f64 * t).sin() / h as f64)
                .sum();
            (0.4 * s * (-decay * t).exp()) as f32
        })
        .collect()
}

fn write(dir: &Path, name: &str, x: &[f32]) {
    std::fs::create_dir_all(dir).unwrap();
    write_mono(&dir.join(name), x, 1.0, SR).unwrap();
}

fn pitched(name: &str, layers: Vec<std::path::PathBuf>, sustaining: bool) -> Instrument {
    load_pitched(&PitchedSpec {
        name: name.into(),
        layers,
        articulation: Articulation {
            release_seconds: 0.3,
            one_shot: false,
            pitched: true,
        },
        sustaining,
    })
    .unwrap()
}

fn rms(x: &[f32], from: f64, to: f64) -> f64 {
    let s = &x[(from * SR as f64) as usize..(to * SR as f64) as usize];
    (s.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / s.len() as f64).sqrt()
}

fn measured_cents(x: &[f32], key: u8) -> f64 {
    let from = (0.15 * SR as f64) as usize;
    let f = fundamental(&x[from..from + SR as usize / 2], SR as f64, 50.0, 2000.0).expect("a pitch");
    cents(f, key_hz(key as f64))
}

#[test]
fn a_real_piano_recording_plays_a4_at_440_hz() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/salamander");
    let piano = pitched("salamander-a4", vec![dir], false);
    for key in [69u8, 72, 66] {
        let out = render(&piano, &events(&[(0.0, key, 100, 1.0)]), SR as usize, SR);
        let c = measured_cents(&out, key);
        assert!(c.abs() <= 5.0, "key {key}: {c:.1} cents off");
    }
}

#[test]
fn mistuned_recordings_are_corrected_and_shifted_notes_are_in_tune() {
    let tmp = tempfile::tempdir().unwrap();
    // C4 recorded 20 cents sharp, F#4 in tune.
    write(tmp.path(), "C4.wav", &tone(key_hz(60.2), 2.0, 6, 0.5));
    write(tmp.path(), "Fs4.wav", &tone(key_hz(66.0), 2.0, 6, 0.5));
    write(tmp.path(), "notes.txt", b"not audio".map(|b| b as f32).as_slice());
    let inst = pitched("synthetic", vec![tmp.path().to_path_buf()], false);
    assert_eq!(inst.zones.len(), 2);
    assert!((inst.tuning.iter().find(|t| t.0 == 60).unwrap().1.unwrap() - 20.0).abs() < 1.0);
    for key in [60u8, 62, 69, 57] {
        let out = render(&inst, &events(&[(0.0, key, 100, 1.0)]), SR as usize, SR);
        let c = measured_cents(&out, key);
        assert!(c.abs() <= 5.0, "key {key}: {c:.1} cents off");
    }
}

#[test]
fn velocity_layers_change_timbre_and_level() {
    let tmp = tempfile::tempdir().unwrap();
    let (soft, loud) = (tmp.path().join("soft"), tmp.path().join("loud"));
    // The soft layer is a pure tone, the loud one rich in harmonics.
    write(&soft, "A4.wav", &tone(440.0, 1.5, 1, 1.0));
    write(&loud, "A4.wav", &tone(440.0, 1.5, 8, 1.0));
    let inst = pitched("layers", vec![soft, loud], false);
    // Power of the second harmonic relative to the fundamental (Goertzel).
    let brightness = |x: &[f32]| {
        let power = |hz: f64| {
            let w = 2.0 * PI * hz / SR as f64;
            let (mut re, mut im) = (0.0, 0.0);
            for (i, &v) in x[..SR as usize / 2].iter().enumerate() {
                re += v as f64 * (w * i as f64).cos();
                im -= v as f64 * (w * i as f64).sin();
            }
            re * re + im * im
        };
        power(880.0) / power(440.0)
    };
    let p = render(&inst, &events(&[(0.0, 69, 30, 1.0)]), SR as usize, SR);
    let f = render(&inst, &events(&[(0.0, 69, 120, 1.0)]), SR as usize, SR);
    assert!(
        brightness(&f) > 0.1 && brightness(&p) < 0.01,
        "{} vs {}",
        brightness(&f),
        brightness(&p)
    );
    assert!(rms(&f, 0.0, 0.5) > rms(&p, 0.0, 0.5));
    // Within one layer, velocity still scales the level.
    let q = render(&inst, &events(&[(0.0, 69, 10, 1.0)]), SR as usize, SR);
    assert!(rms(&q, 0.0, 0.5) < 0.6 * rms(&p, 0.0, 0.5));
}

#[test]
fn notes_release_with_a_tail_and_held_notes_loop() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "A3.wav", &tone(220.0, 1.0, 4, 0.0));
    // Decaying set: the release fades within its time, not at once.
    let decaying = pitched("decaying", vec![tmp.path().to_path_buf()], false);
    let out = render(&decaying, &events(&[(0.0, 57, 100, 0.5)]), SR as usize * 2, SR);
    let held = rms(&out, 0.3, 0.45);
    assert!(rms(&out, 0.52, 0.56) > 0.2 * held, "no release tail");
    assert!(rms(&out, 0.9, 1.0) < 1e-3 * held, "release too long");
    // Sustaining set: a 3 s note from a 1 s recording keeps sounding.
    let sustaining = pitched("sustaining", vec![tmp.path().to_path_buf()], true);
    let out = render(&sustaining, &events(&[(0.0, 57, 100, 3.0)]), SR as usize * 4, SR);
    assert!(rms(&out, 2.4, 2.9) > 0.7 * rms(&out, 0.2, 0.6), "held note died");
    let steps = out.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0f32, f32::max);
    let normal = out[..SR as usize / 2]
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0f32, f32::max);
    assert!(steps <= 1.3 * normal, "click at a loop point: {steps} vs {normal}");
    assert!(rms(&out, 3.5, 4.0) < 1e-3, "loop kept playing after note-off");
}

#[test]
fn hydrogen_kits_map_gm_notes_layers_and_chokes() {
    let tmp = tempfile::tempdir().unwrap();
    let kit = tmp.path();
    // Each recording a tone of its own pitch, so that the test can tell them apart.
    for (file, hz) in [
        ("kick_soft.wav", 60.0),
        ("kick_hard.wav", 80.0),
        ("snare.wav", 200.0),
        ("hhc.wav", 3000.0),
        ("hho.wav", 2000.0),
    ] {
        write(kit, file, &tone(hz, 1.0, 1, 2.0));
    }
    let layer = |f: &str, lo: f32, hi: f32| {
        format!("<layer><filename>{f}</filename><min>{lo}</min><max>{hi}</max><gain>1</gain><pitch>0</pitch></layer>")
    };
    let xml = format!(
        "<drumkit_info><name>t</name><license>CC0</license><instrumentList>\
         <instrument><id>0</id><name>Kick</name><volume>1</volume>{}{}</instrument>\
         <instrument><id>1</id><name>Snare</name><volume>1</volume>{}</instrument>\
         <instrument><id>2</id><name>Hat Closed</name><volume>1</volume>{}</instrument>\
         <instrument><id>3</id><name>Hat Open</name><volume>1</volume>{}</instrument>\
         </instrumentList></drumkit_info>",
        layer("kick_soft.wav", 0.0, 0.5),
        layer("kick_hard.wav", 0.5, 1.0),
        layer("snare.wav", 0.0, 1.0),
        layer("hhc.wav", 0.0, 1.0),
        layer("hho.wav", 0.0, 1.0)
    );
    std::fs::write(kit.join("drumkit.xml"), xml).unwrap();
    let drums = load_kit("test-kit", kit).unwrap();
    let pitch_of = |x: &[f32]| fundamental(&x[800..8800], SR as f64, 40.0, 4000.0).unwrap();
    let soft = render(&drums, &events(&[(0.0, 36, 40, 0.1)]), SR as usize, SR);
    let hard = render(&drums, &events(&[(0.0, 36, 120, 0.1)]), SR as usize, SR);
    assert!((pitch_of(&soft) - 60.0).abs() < 2.0 && (pitch_of(&hard) - 80.0).abs() < 2.0);
    // One-shot: note-off after 0.1 s does not cut the hit.
    assert!(rms(&hard, 0.3, 0.4) > 0.1 * rms(&hard, 0.0, 0.1));
    // Keys are played at the recording's pitch: the snare (38) and the
    // electric snare (40, borrowing it) sound alike.
    let s38 = render(&drums, &events(&[(0.0, 38, 100, 0.1)]), SR as usize, SR);
    let s40 = render(&drums, &events(&[(0.0, 40, 100, 0.1)]), SR as usize, SR);
    assert_eq!(s38, s40);
    // The closed hat chokes the open one.
    let open = render(&drums, &events(&[(0.0, 46, 100, 0.1)]), SR as usize, SR);
    let choked = render(
        &drums,
        &events(&[(0.0, 46, 100, 0.1), (0.2, 42, 1, 0.1)]),
        SR as usize,
        SR,
    );
    assert!(rms(&choked, 0.3, 0.4) < 0.3 * rms(&open, 0.3, 0.4));
    // Notes the kit has nothing for stay silent rather than failing.
    let none = render(&drums, &events(&[(0.0, 81, 100, 0.1)]), SR as usize / 2, SR);
    assert!(none.iter().all(|v| *v == 0.0));
}

#[test]
fn broken_sample_sets_fail_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("A4.mp3"), b"not an mp3 at all").unwrap();
    let err = load_pitched(&PitchedSpec {
        name: "broken".into(),
        layers: vec![tmp.path().to_path_buf()],
        articulation: Articulation {
            release_seconds: 0.2,
            one_shot: false,
            pitched: true,
        },
        sustaining: false,
    })
    .unwrap_err();
    assert!(format!("{err:#}").contains("A4.mp3"), "{err:#}");
    std::fs::write(tmp.path().join("drumkit.xml"), b"<drumkit_info><instrumentList>").unwrap();
    let err = load_kit("k", tmp.path()).unwrap_err();
    assert!(format!("{err:#}").contains("drumkit.xml"), "{err:#}");
}
