//! Hydrogen drum kits (`drumkit.xml` + recordings) as [`Instrument`]s that
//! play General MIDI drum notes.
//!
//! Hydrogen kits name their instruments freely ("BassDrum", "Sabian Hat
//! Closed", "Tom Low") and their MIDI notes are often unset or all 60, so the
//! GM notes are matched to instruments by name. Each instrument's velocity
//! layers become zones; a closed or pedal hi-hat chokes the open one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use super::instrument::{Articulation, Instrument, Sample, Zone};
use super::recordings::{load, normalise};

const KIT_PEAK: f32 = 0.5;

/// One instrument of a kit as the file describes it.
#[derive(Clone, Debug)]
struct KitInstrument {
    name: String,
    gain: f32,
    /// (file, lowest velocity 0-1, highest, gain, pitch in semitones)
    layers: Vec<(PathBuf, f32, f32, f32, f32)>,
}

/// One velocity layer of a kit instrument, loaded.
#[derive(Clone, Debug)]
struct Layer {
    sample: Sample,
    velocities: (u8, u8),
    gain: f32,
}

/// A loaded layer, its recording shared by every note mapped to it.
struct SharedLayer {
    sample: Arc<Sample>,
    velocities: (u8, u8),
    gain: f32,
}

/// What a GM drum note is called in kits, most specific first: the first
/// instrument whose lower-case name contains all words of a pattern and
/// none of the `not` words is taken.
struct Pattern {
    all: &'static [&'static str],
    not: &'static [&'static str],
}

const fn p(all: &'static [&'static str], not: &'static [&'static str]) -> Pattern {
    Pattern { all, not }
}

/// GM drum notes by name; notes missing from a kit fall back (below).
const NAMES: &[(u8, &[Pattern])] = &[
    (
        36,
        &[p(&["kick"], &[]), p(&["bass", "drum"], &[]), p(&["bassdrum"], &[])],
    ),
    (
        37,
        &[
            p(&["side", "stick"], &[]),
            p(&["stick"], &[]),
            p(&["rim", "click"], &[]),
        ],
    ),
    (
        38,
        &[
            p(&["snare"], &["roll", "rim", "dry", "2", "jazz", "off"]),
            p(&["snare"], &["roll"]),
        ],
    ),
    (
        40,
        &[
            p(&["snare", "rim"], &[]),
            p(&["snare", "dry"], &[]),
            p(&["snare", "jazz"], &[]),
        ],
    ),
    (39, &[p(&["clap"], &[])]),
    (
        42,
        &[
            p(&["hat", "clos"], &[]),
            p(&["hh", "clos"], &[]),
            p(&["closed", "hh"], &[]),
        ],
    ),
    (
        44,
        &[
            p(&["hat", "pedal"], &[]),
            p(&["hh", "pedal"], &[]),
            p(&["hat", "foot"], &[]),
        ],
    ),
    (
        46,
        &[
            p(&["hat", "open"], &["semi"]),
            p(&["hh", "open"], &["semi"]),
            p(&["open", "hh"], &[]),
            p(&["hat", "semi"], &[]),
        ],
    ),
    (
        49,
        &[p(&["crash"], &["ride", "bell", "choke", "bow"]), p(&["crash"], &[])],
    ),
    (
        57,
        &[
            p(&["crash"], &["ride", "bell", "choke", "bow"]),
            p(&["splash"], &["choke"]),
        ],
    ),
    (
        51,
        &[p(&["ride"], &["bell", "cup", "crash"]), p(&["ride"], &["bell", "cup"])],
    ),
    (59, &[p(&["ride"], &["bell", "cup", "crash"]), p(&["ride"], &[])]),
    (
        53,
        &[
            p(&["ride", "bell"], &[]),
            p(&["ride", "cup"], &[]),
            p(&["bell"], &["cow"]),
        ],
    ),
    (52, &[p(&["china"], &[])]),
    (55, &[p(&["splash"], &["choke"])]),
    (54, &[p(&["tamb"], &["pedal", "foot"])]),
    (56, &[p(&["cowbell"], &[])]),
];

/// Where a missing note borrows its sound (in order of preference).
const FALLBACK: &[(u8, &[u8])] = &[
    (35, &[36]),
    (40, &[38]),
    (37, &[38]),
    (39, &[38]),
    (44, &[42]),
    (46, &[42]),
    (57, &[49]),
    (59, &[51, 49]),
    (51, &[49]),
    (53, &[51, 49]),
    (52, &[49]),
    (55, &[49]),
    (49, &[51]),
];

/// GM toms, low to high: spread over the kit's toms ordered by name.
const TOMS: [u8; 6] = [41, 43, 45, 47, 48, 50];

/// Reads `dir/drumkit.xml`: the kit's name, author and licence as written,
/// and its instruments.
fn read_kit(dir: &Path) -> anyhow::Result<Vec<KitInstrument>> {
    let path = dir.join("drumkit.xml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}: cannot read", path.display()))?;
    let doc = roxmltree::Document::parse(&text).with_context(|| format!("{}: not valid XML", path.display()))?;
    let child_text = |node: roxmltree::Node, tag: &str| {
        node.children()
            .find(|c| c.tag_name().name() == tag)
            .and_then(|c| c.text())
            .map(|t| t.trim().to_string())
    };
    let number = |node: roxmltree::Node, tag: &str, default: f32| {
        child_text(node, tag)
            .and_then(|t| t.parse::<f32>().ok())
            .filter(|v| v.is_finite())
            .unwrap_or(default)
    };
    let mut kit = Vec::new();
    for inst in doc.descendants().filter(|n| n.tag_name().name() == "instrument") {
        let name = child_text(inst, "name").unwrap_or_default();
        let gain = number(inst, "volume", 1.0) * number(inst, "gain", 1.0);
        let mut layers = Vec::new();
        for layer in inst.descendants().filter(|n| n.tag_name().name() == "layer") {
            if let Some(file) = child_text(layer, "filename").filter(|f| !f.is_empty()) {
                layers.push((
                    dir.join(file),
                    number(layer, "min", 0.0),
                    number(layer, "max", 1.0),
                    number(layer, "gain", 1.0),
                    number(layer, "pitch", 0.0),
                ));
            }
        }
        // Old kits put one file directly in the instrument.
        if layers.is_empty() {
            if let Some(file) = child_text(inst, "filename").filter(|f| !f.is_empty()) {
                layers.push((dir.join(file), 0.0, 1.0, 1.0, 0.0));
            }
        }
        // Placeholders, and files a kit names but does not ship (one in
        // Debian's Millo_MultiLayered2), are left out.
        layers.retain(|l| {
            l.0.is_file()
                && !l
                    .0
                    .file_name()
                    .is_some_and(|f| f.to_string_lossy().starts_with("emptySample"))
        });
        if !layers.is_empty() && !name.is_empty() {
            kit.push(KitInstrument { name, gain, layers });
        }
    }
    anyhow::ensure!(!kit.is_empty(), "{}: no instruments with samples", path.display());
    Ok(kit)
}

fn matches(name: &str, pattern: &Pattern) -> bool {
    let name = name.to_lowercase();
    pattern.all.iter().all(|w| name.contains(w)) && !pattern.not.iter().any(|w| name.contains(w))
}

/// Rank of a tom by its name, low to high: "floor", "low", "mid", "hi"; kits
/// that number their rack toms count from the highest ("Tom 1").
fn tom_rank(name: &str) -> u8 {
    let n = name.to_lowercase();
    let has = |w: &str| n.contains(w);
    if has("floor") {
        0
    } else if has("low") {
        1
    } else if has("mid") || (has("2") && !has("hi")) {
        2
    } else {
        3
    }
}

/// GM note -> index into `kit`.
fn gm_map(kit: &[KitInstrument]) -> Vec<(u8, usize)> {
    let mut map: Vec<(u8, usize)> = Vec::new();
    for (note, patterns) in NAMES {
        if let Some(i) = patterns
            .iter()
            .find_map(|pat| kit.iter().position(|k| matches(&k.name, pat)))
        {
            map.push((*note, i));
        }
    }
    let mut toms: Vec<usize> = (0..kit.len())
        .filter(|&i| matches(&kit[i].name, &p(&["tom"], &[])))
        .collect();
    toms.sort_by_key(|&i| (tom_rank(&kit[i].name), i));
    toms.dedup_by(|a, b| kit[*a].layers[0].0 == kit[*b].layers[0].0);
    if !toms.is_empty() {
        for (j, note) in TOMS.iter().enumerate() {
            let idx = j * toms.len() / TOMS.len();
            map.push((*note, toms[idx]));
        }
    }
    for (note, from) in FALLBACK {
        if map.iter().any(|(n, _)| n == note) {
            continue;
        }
        if let Some(&(_, i)) = from.iter().find_map(|f| map.iter().find(|(n, _)| n == f)) {
            map.push((*note, i));
        }
    }
    map.sort();
    map
}

/// Loads a kit. Fails, naming the file, if a recording it needs cannot be
/// read, or if it has no kick or no snare (not a drum kit).
pub fn load_kit(name: &str, dir: &Path) -> anyhow::Result<Instrument> {
    let kit = read_kit(dir)?;
    let map = gm_map(&kit);
    for (needed, what) in [(36, "kick"), (38, "snare")] {
        anyhow::ensure!(
            map.iter().any(|(n, _)| *n == needed),
            "{}: no {what} found among {:?}",
            dir.display(),
            kit.iter().map(|k| &k.name).collect::<Vec<_>>()
        );
    }
    // Each used instrument's layers, loaded once.
    let mut loaded: Vec<Option<Vec<Layer>>> = vec![None; kit.len()];
    for &(_, i) in &map {
        if loaded[i].is_some() {
            continue;
        }
        let mut layers = Vec::new();
        for (file, lo, hi, gain, pitch) in &kit[i].layers {
            let mut data = load(file)?;
            if *pitch != 0.0 {
                data = repitch(&data, *pitch);
            }
            layers.push(Layer {
                sample: Sample {
                    data,
                    root: 60.0,
                    loop_range: None,
                },
                velocities: (
                    ((lo.clamp(0.0, 1.0) * 127.0).round() as u8).max(1),
                    ((hi.clamp(0.0, 1.0) * 127.0).round() as u8).max(1),
                ),
                gain: gain * kit[i].gain,
            });
        }
        loaded[i] = Some(layers);
    }
    let mut samples: Vec<&mut Sample> = loaded.iter_mut().flatten().flatten().map(|l| &mut l.sample).collect();
    normalise(&mut samples, KIT_PEAK);
    // Shared, so that notes mapped to one instrument reuse its recordings.
    let shared: Vec<Option<Vec<SharedLayer>>> = loaded
        .into_iter()
        .map(|o| {
            o.map(|ls| {
                ls.into_iter()
                    .map(|l| SharedLayer {
                        sample: Arc::new(l.sample),
                        velocities: l.velocities,
                        gain: l.gain,
                    })
                    .collect()
            })
        })
        .collect();
    let mut zones = Vec::new();
    for &(note, i) in &map {
        for layer in shared[i].iter().flatten() {
            zones.push(Zone {
                keys: (note, note),
                velocities: layer.velocities,
                sample: Arc::clone(&layer.sample),
                gain: layer.gain,
            });
        }
    }
    Ok(Instrument {
        name: name.to_string(),
        zones,
        articulation: Articulation {
            release_seconds: 0.15,
            one_shot: true,
            pitched: false,
        },
        chokes: vec![(42, vec![46]), (44, vec![46])],
        tuning: Vec::new(),
        range: (0, 127),
    })
}

/// `x` played `semitones` higher (shorter), what Hydrogen does with a
/// layer's pitch setting (band-limited, `cocola::dsp`).
fn repitch(x: &[f32], semitones: f32) -> Vec<f32> {
    let step = 2f64.powf(semitones as f64 / 12.0);
    let len = (x.len() as f64 / step).floor() as usize;
    cocola::dsp::interpolate::resample_by_step(x, step, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(name: &str) -> KitInstrument {
        KitInstrument {
            name: name.into(),
            gain: 1.0,
            layers: vec![(PathBuf::from(format!("{name}.wav")), 0.0, 1.0, 1.0, 0.0)],
        }
    }

    #[test]
    fn gm_notes_are_found_by_name() {
        let kit: Vec<KitInstrument> = [
            "BassDrum",
            "Snare",
            "Hi Hat Closed",
            "Hi Hat Opened",
            "Tom",
            "Floor Tom",
            "Crash Left",
            "Ride Bell",
            "Ride",
            "Snare Roll",
        ]
        .iter()
        .map(|n| inst(n))
        .collect();
        let map = gm_map(&kit);
        let of = |note: u8| map.iter().find(|(n, _)| *n == note).map(|(_, i)| kit[*i].name.as_str());
        assert_eq!(of(36), Some("BassDrum"));
        assert_eq!(of(38), Some("Snare"));
        assert_eq!(of(42), Some("Hi Hat Closed"));
        assert_eq!(of(46), Some("Hi Hat Opened"));
        assert_eq!(of(44), Some("Hi Hat Closed"), "pedal falls back to closed");
        assert_eq!(of(49), Some("Crash Left"));
        assert_eq!(of(51), Some("Ride"));
        assert_eq!(of(53), Some("Ride Bell"));
        assert_eq!(of(41), Some("Floor Tom"), "lowest tom is the floor tom");
        assert_eq!(of(50), Some("Tom"));
        assert_eq!(of(40), Some("Snare"), "no rimshot: the snare");
    }

    #[test]
    fn repitch_up_an_octave_halves_the_length_and_doubles_the_pitch() {
        let x: Vec<f32> = (0..16_000).map(|i| (i as f32 * 0.05).sin()).collect();
        let y = repitch(&x, 12.0);
        assert_eq!(y.len(), 8000);
        // sin(0.05 i) read at 2 i is sin(0.1 i).
        assert!((y[100] - (10.0f32).sin()).abs() < 1e-3, "{}", y[100]);
    }
}
