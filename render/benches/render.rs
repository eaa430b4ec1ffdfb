//! Rendering speed, one thread: x real time per core for the corpus's ways
//! of rendering a generated piece (a GM SoundFont; sampled instruments and
//! drum kits; plus production), and the generator's speed.
//!
//! `cargo bench -p cocola-render --bench render` (needs Debian's TimGM6mb;
//! the sampled rows need `cocola-render fetch-samples --dir
//! ~/.cache/cocola/samples` and Debian's drum kits, and are skipped without).

use std::path::{Path, PathBuf};
use std::time::Instant;

use cocola_render::generate::{style::ALL_STYLES, write_piece, GenerateOptions};
use cocola_render::render::{run_with_library, RenderOptions};
use cocola_render::sampler::library::{HeldOut, Library};

const SOUNDFONT: &str = "/usr/share/sounds/sf2/TimGM6mb.sf2";
const PIECES: u64 = 12;

fn main() {
    if !Path::new(SOUNDFONT).is_file() {
        eprintln!("SKIPPED: {SOUNDFONT} is absent (apt-get install timgm6mb-soundfont)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let midi = tmp.path().join("midi");
    let options = GenerateOptions {
        styles: ALL_STYLES.to_vec(),
        seconds: (35.0, 70.0),
    };
    let start = Instant::now();
    for i in 0..PIECES {
        write_piece(&cocola_render::generate::generate(1, i, &options), &midi).unwrap();
    }
    let gen = start.elapsed().as_secs_f64();
    println!(
        "generator: {PIECES} pieces in {:.3} s ({:.1} ms per piece)\n",
        gen,
        1000.0 * gen / PIECES as f64
    );

    let samples = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/cocola/samples"));
    let start = Instant::now();
    let library = samples
        .as_ref()
        .filter(|d| d.is_dir())
        .map(|d| Library::from_catalogue(d, HeldOut::Include));
    if let Some(lib) = &library {
        for set in &lib.sets {
            let _ = set.sound();
        }
        println!(
            "loading {} sample sets: {:.1} s (once per process)\n",
            lib.sets.len(),
            start.elapsed().as_secs_f64()
        );
    }

    println!("| rendering (1 thread) | tracks | music s | stem s | x real time (music) | x real time (stems) |");
    println!("|---|---|---|---|---|---|");
    let empty = Library::default();
    let mut cases: Vec<(&str, f64, f64, f64, &Library)> =
        vec![("GM SoundFont (TimGM6mb, reverb/chorus)", 0.0, 0.0, 0.0, &empty)];
    if let Some(lib) = &library {
        cases.push(("sampled instruments and kits where they fit", 1.0, 1.0, 0.0, lib));
        cases.push(("corpus mix (0.5 sampled, 0.5 production)", 0.5, 0.5, 0.5, lib));
    }
    for (i, (name, sample_mix, kit_mix, production, lib)) in cases.into_iter().enumerate() {
        let mut o = RenderOptions::new(tmp.path().join(format!("out{i}")), vec![PathBuf::from(SOUNDFONT)]);
        o.jobs = 1;
        o.sample_mix = sample_mix;
        o.drum_kit_mix = kit_mix;
        o.production = production;
        if production > 0.0 {
            o.level_db = (-6.0, 3.0);
        }
        let s = run_with_library(std::slice::from_ref(&midi), &o, lib).unwrap();
        assert!(s.failed.is_empty(), "{:?}", s.failed);
        let music: f64 = (0..PIECES)
            .filter_map(|p| {
                let json = o.out.join(format!("gen{p:08}")).join("render.json");
                let v: serde_json::Value = serde_json::from_slice(&std::fs::read(json).ok()?).ok()?;
                v["seconds"].as_f64()
            })
            .sum();
        println!(
            "| {name} | {} | {music:.0} | {:.0} | {:.0}x | {:.0}x |",
            s.rendered,
            s.audio_seconds,
            music / s.wall_seconds,
            s.audio_seconds / s.wall_seconds
        );
    }
}
