//! Pitched sample sets: one folder of recordings per velocity layer, each
//! file named by its note (`A4.mp3`, `Cs3.mp3`, `D#1v8.ogg`), as the
//! tonejs-instruments and Salamander Grand Piano packages ship them.

use std::path::PathBuf;
use std::sync::Arc;

use super::instrument::{key_zones, natural_range, velocity_range, Articulation, Instrument, Sample};
use super::looping::add_loop;
use super::recordings::{audio_files, load, normalise, parse_note, tuned_root, SAMPLE_RATE};

/// Peak level of a set's loudest recording after loading.
const SET_PEAK: f32 = 0.5;

#[derive(Clone, Debug)]
pub struct PitchedSpec {
    pub name: String,
    /// Folders of recordings, softest velocity layer first.
    pub layers: Vec<PathBuf>,
    pub articulation: Articulation,
    /// Bowed, blown or pumped: loop recordings so that notes can be held.
    pub sustaining: bool,
}

/// Loads every layer's recordings. A file whose name is not a note, or is a
/// second take (`F2 v2`), is skipped; an unreadable recording fails the set,
/// naming the file.
pub fn load_pitched(spec: &PitchedSpec) -> anyhow::Result<Instrument> {
    anyhow::ensure!(!spec.layers.is_empty(), "{}: no sample folders", spec.name);
    let mut tuning = Vec::new();
    let mut layers: Vec<Vec<Sample>> = Vec::new();
    for dir in &spec.layers {
        let mut samples = Vec::new();
        for (stem, path) in audio_files(dir)? {
            let Some((key, rest)) = parse_note(&stem) else { continue };
            // Salamander names carry their layer (`v8`); other suffixes are retakes.
            if !(rest.is_empty() || rest.starts_with('v') && rest[1..].chars().all(|c| c.is_ascii_digit())) {
                continue;
            }
            let data = load(&path)?;
            let (root, off) = tuned_root(&data, key);
            tuning.push((key, off));
            let mut sample = Sample {
                data,
                root,
                loop_range: None,
            };
            if spec.sustaining {
                add_loop(&mut sample, SAMPLE_RATE);
            }
            samples.push(sample);
        }
        anyhow::ensure!(
            !samples.is_empty(),
            "{}: no recordings named by note in {}",
            spec.name,
            dir.display()
        );
        layers.push(samples);
    }
    let mut all: Vec<&mut Sample> = layers.iter_mut().flatten().collect();
    normalise(&mut all, SET_PEAK);
    let count = layers.len();
    let zones = layers
        .into_iter()
        .enumerate()
        .flat_map(|(i, samples)| {
            let shared: Vec<Arc<Sample>> = samples.into_iter().map(Arc::new).collect();
            key_zones(&shared, velocity_range(i, count))
        })
        .collect::<Vec<_>>();
    let range = natural_range(&zones);
    Ok(Instrument {
        name: spec.name.clone(),
        zones,
        articulation: spec.articulation,
        chokes: Vec::new(),
        tuning,
        range,
    })
}
