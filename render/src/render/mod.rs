//! `cocola-render render`: multi-track MIDI + SoundFont(s) -> time-aligned
//! mono stems, one per instrument part (all drum-channel material is one
//! `drums` stem), written as `OUT/<track>/<stem>.wav`, the generic layout the
//! trainer reads, plus `OUT/<track>/render.json` describing the rendering.
//!
//! - [`options`]: what a run can be told ([`RenderOptions`]).
//! - [`inputs`]: MIDI files to render and the track names they get.
//! - [`midi`]: MIDI file -> parts with times in seconds (midly).
//! - [`variant`]: per-variant random choices and event transforms.
//! - [`synth`]: one rustysynth synthesizer per part; GM families.
//! - [`wav`]: 16-bit mono WAV output (hound).
//!
//! Each (file, variant) is one job; jobs run in parallel (rayon) and every
//! random choice of a job comes from a ChaCha stream derived from (seed,
//! track name), so output is bit-identical whatever the thread count or
//! order. A track is rendered into `OUT/.render-tmp/<track>` and renamed into
//! place when complete, so an existing `OUT/<track>/render.json` means the
//! track is finished and a rerun skips it (resumable).

pub mod inputs;
pub mod midi;
pub mod music;
pub mod options;
pub mod parts;
pub mod production;
pub mod sound;
pub mod synth;
pub mod twins;
pub mod variant;
pub mod wav;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use rustysynth::SoundFont;
use serde::Serialize;

use crate::facts::Facts;
use crate::sampler::library::Library;
use cocola::seeded::{below, unit};
use midi::Song;
use production::Production;
use sound::SoundInfo;
use twins::TwinInfo;
use variant::{choose_programs, crop, draw, job_rng, transform, transposed_notes};

pub use inputs::{collect_inputs, track_name};
pub use options::{Ensemble, Range, RenderOptions};

#[derive(Clone, Debug, Serialize)]
pub struct StemInfo {
    pub name: String,
    /// What the part does (bass, comping, melody, drums, ...), where known.
    pub role: Option<String>,
    /// False for drums and percussion, whose stems are always named
    /// `drums*` or `percussion*`.
    pub pitched: bool,
    /// What played it: a SoundFont, a SoundFont preset, a sample set.
    pub sound: SoundInfo,
    /// The SoundFont that played it, if one did: the track's unless
    /// `--soundfont-mix` gave this stem another.
    pub soundfont: Option<PathBuf>,
    pub program: Option<u8>,
    pub drums: bool,
    pub midi_track: usize,
    pub midi_channel: u8,
    pub part_name: Option<String>,
    pub notes: usize,
    /// Peak after production, before the track's common gain.
    pub peak: f32,
    /// Level, tilt, compression, reverb applied to this stem alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production: Option<Production>,
}

/// What `render.json` records about a rendered track.
#[derive(Clone, Debug, Serialize)]
pub struct TrackInfo {
    pub source: PathBuf,
    pub variant: usize,
    pub seed: u64,
    pub soundfont: PathBuf,
    pub ensemble: Option<Ensemble>,
    pub transpose: i32,
    pub tempo_scale: f64,
    pub velocity_humanize: u8,
    pub reverb_chorus: bool,
    pub sample_rate: u32,
    pub samples: usize,
    pub seconds: f64,
    /// Applied to every stem alike so that none clips.
    pub gain: f32,
    pub stems: Vec<StemInfo>,
    pub dropped_silent: Vec<String>,
    /// Tempo, meter, key, style, form and chords of the rendered audio
    /// (times and tempo scaled, keys transposed, cut at the crop).
    pub music: Facts,
    /// The pitched stems rendered transposed too (`--transposed-twins`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transposed_twins: Option<TwinInfo>,
}

#[derive(Clone, Debug)]
pub enum Outcome {
    Rendered(Box<TrackInfo>),
    /// Fewer than `min_stems` non-silent stems: nothing written.
    TooFewStems {
        stems: usize,
    },
}

#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub rendered: usize,
    pub skipped_existing: usize,
    pub too_few_stems: usize,
    pub failed: Vec<String>,
    pub audio_seconds: f64,
    pub wall_seconds: f64,
    /// Sample sets that could not be loaded (their parts used SoundFonts).
    pub unusable_sets: Vec<String>,
}

/// Renders variant `variant` of `song` (from `source`, with its `facts`
/// if known) into `dir` (which must exist and be empty). Returns what was
/// written.
#[allow(clippy::too_many_arguments)]
pub fn render_song(
    song: &Song,
    source: &Path,
    facts: Option<&Facts>,
    track: &str,
    variant: usize,
    soundfonts: &[(PathBuf, Arc<SoundFont>)],
    library: &Library,
    opts: &RenderOptions,
    dir: &Path,
) -> anyhow::Result<Outcome> {
    anyhow::ensure!(!soundfonts.is_empty(), "no SoundFont given");
    let mut rng = job_rng(opts.seed, track);
    // The variants of one piece take the SoundFonts in turn from a start drawn
    // per piece, so that variants differ in timbre (with as many variants as
    // SoundFonts, each is heard once) and timbre is no shortcut to coherence.
    let piece = track.strip_suffix(&format!(".v{variant}")).unwrap_or(track);
    let first = below(&mut job_rng(opts.seed, piece), soundfonts.len());
    let (sf_path, sf) = &soundfonts[(first + variant) % soundfonts.len()];
    let (ensemble, overrides) = match opts.program_randomize {
        Some(e) => {
            let (e, p) = choose_programs(&song.parts, e, &mut rng);
            (Some(e), p)
        }
        None => (None, vec![None; song.parts.len()]),
    };
    let transpose = draw(&mut rng, opts.transpose).round() as i32;
    let tempo = draw(&mut rng, opts.tempo_scale);
    anyhow::ensure!(tempo > 0.0, "tempo scale must be positive");
    let full = song.duration / tempo;
    let played = opts.crop_seconds.map_or(full, |c| full.min(c));
    let seconds = played + opts.tail_seconds;
    anyhow::ensure!(
        seconds <= opts.max_seconds,
        "{}: {seconds:.0} s long, over the {:.0} s limit",
        source.display(),
        opts.max_seconds
    );
    let total = (seconds * opts.sample_rate as f64).ceil() as usize;
    let programs: Vec<u8> = song
        .parts
        .iter()
        .zip(&overrides)
        .map(|(p, o)| o.unwrap_or_else(|| p.program()))
        .collect();
    let roles = parts::roles(&song.parts, &programs, facts);
    let names = parts::stem_names(&song.parts, &programs, &roles, facts);

    let mut stems: Vec<(StemInfo, Vec<f32>)> = Vec::new();
    let twin_semitones = opts.transposed_twins.then(|| twins::draw_semitones(opts.seed, track));
    let mut twin_stems: Vec<(String, Vec<f32>)> = Vec::new();
    let mut dropped = Vec::new();
    for (i, part) in song.parts.iter().enumerate() {
        let mut events = transform(part, overrides[i], transpose, tempo, opts.velocity_humanize, &mut rng);
        if played < full {
            crop(&mut events, played, part.channel);
        }
        let (stem_sf_path, stem_sf) = if soundfonts.len() > 1 && unit(&mut rng) < opts.soundfont_mix {
            let other = below(&mut rng, soundfonts.len() - 1);
            let (p, s) = &soundfonts[(first + variant + 1 + other) % soundfonts.len()];
            (p, s)
        } else {
            (sf_path, sf)
        };
        let voice = parts::choose_voice(
            part,
            &events,
            programs[i],
            (stem_sf_path, stem_sf),
            library,
            opts,
            &mut rng,
        );
        let mut audio = voice.render(&events, total, opts.sample_rate, opts.reverb_chorus)?;
        let peak = |a: &[f32]| a.iter().fold(0f32, |m, x| m.max(x.abs()));
        if peak(&audio) < opts.silence_peak {
            dropped.push(names[i].clone());
            continue;
        }
        let production = (opts.production > 0.0 || opts.level_db != (0.0, 0.0)).then(|| {
            let p = Production::draw(&mut rng, opts.production, opts.level_db);
            p.apply(&mut audio, opts.sample_rate);
            p
        });
        if let Some(k) = twin_semitones.filter(|_| !part.is_drums && parts::is_pitched(&names[i])) {
            let mut twin = voice.render(
                &transposed_notes(&events, k),
                total,
                opts.sample_rate,
                opts.reverb_chorus,
            )?;
            if let Some(p) = &production {
                p.apply(&mut twin, opts.sample_rate);
            }
            twin_stems.push((names[i].clone(), twin));
        }
        let info = StemInfo {
            name: names[i].clone(),
            role: roles[i].clone(),
            pitched: parts::is_pitched(&names[i]),
            sound: voice.info(),
            soundfont: voice.soundfont().map(Path::to_path_buf),
            program: (!part.is_drums).then_some(programs[i]),
            drums: part.is_drums,
            midi_track: part.track,
            midi_channel: part.channel,
            part_name: part.name.clone(),
            notes: part.note_count(),
            peak: peak(&audio),
            production,
        };
        stems.push((info, audio));
    }
    if stems.len() < opts.min_stems {
        return Ok(Outcome::TooFewStems { stems: stems.len() });
    }
    // One gain for all stems so that none clips and their balance is kept.
    let max_peak = stems.iter().map(|s| s.0.peak).fold(0f32, f32::max);
    let gain = if max_peak > 0.99 { 0.99 / max_peak } else { 1.0 };
    for (info, audio) in &stems {
        wav::write_mono(&dir.join(format!("{}.wav", info.name)), audio, gain, opts.sample_rate)?;
    }
    // The stems' gain, so that twin and stem sound alike (a twin louder than
    // every stem is clamped where it exceeds full scale).
    let transposed_twins = twin_semitones.map(|k| TwinInfo {
        semitones: k,
        folder: cocola::files::twin_folder(k),
        stems: twin_stems.iter().map(|(name, _)| name.clone()).collect(),
    });
    if let Some(info) = &transposed_twins {
        let folder = dir.join(&info.folder);
        std::fs::create_dir_all(&folder).with_context(|| format!("{}: cannot create", folder.display()))?;
        for (name, audio) in &twin_stems {
            wav::write_mono(&folder.join(format!("{name}.wav")), audio, gain, opts.sample_rate)?;
        }
    }
    let known = facts.cloned().unwrap_or_else(|| music::from_midi(song, piece));
    let info = TrackInfo {
        source: source.to_path_buf(),
        variant,
        seed: opts.seed,
        soundfont: sf_path.clone(),
        ensemble,
        transpose,
        tempo_scale: tempo,
        velocity_humanize: opts.velocity_humanize,
        reverb_chorus: opts.reverb_chorus,
        sample_rate: opts.sample_rate,
        samples: total,
        seconds: total as f64 / opts.sample_rate as f64,
        gain,
        stems: stems.into_iter().map(|s| s.0).collect(),
        dropped_silent: dropped,
        music: music::complete(known, song).rendered(tempo, transpose, played),
        transposed_twins,
    };
    let json = serde_json::to_string_pretty(&info)?;
    std::fs::write(dir.join("render.json"), json)
        .with_context(|| format!("{}: cannot write render.json", dir.display()))?;
    Ok(Outcome::Rendered(Box::new(info)))
}

/// Whether `OUT/<track>` is a finished rendering (with its transposed
/// twins, when `twins` asks for them).
pub fn is_complete(out: &Path, track: &str, twins: bool) -> bool {
    let dir = out.join(track);
    dir.join("render.json").is_file() && (!twins || twins::recorded(&dir))
}

/// Renders one (file, variant) job into a temp dir and renames it into place.
fn render_job(
    source: &Path,
    track: &str,
    variant: usize,
    soundfonts: &[(PathBuf, Arc<SoundFont>)],
    library: &Library,
    opts: &RenderOptions,
) -> anyhow::Result<Outcome> {
    let final_dir = opts.out.join(track);
    // A finished track without the twins asked for gets them added.
    let adding_twins = opts.transposed_twins && final_dir.join("render.json").is_file();
    anyhow::ensure!(
        adding_twins || !final_dir.exists(),
        "{}: exists but has no render.json (not a finished rendering); remove it to re-render",
        final_dir.display()
    );
    let song = midi::read(source)?;
    let facts = crate::facts::read_sidecar(source)?;
    let tmp = opts.out.join(".render-tmp").join(track);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).with_context(|| format!("{}: cannot clear", tmp.display()))?;
    }
    std::fs::create_dir_all(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
    let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        render_song(
            &song,
            source,
            facts.as_ref(),
            track,
            variant,
            soundfonts,
            library,
            opts,
            &tmp,
        )
    }))
    .unwrap_or_else(|_| Err(anyhow::anyhow!("synthesis failed (panic)")))
    .with_context(|| format!("{}: rendering failed", source.display()));
    match rendered {
        Ok(Outcome::Rendered(info)) => {
            match (&info.transposed_twins, adding_twins) {
                (Some(twins), true) => {
                    let stems: Vec<String> = info.stems.iter().map(|s| s.name.clone()).collect();
                    let added = twins::add_to_finished(&tmp, &final_dir, &stems, twins);
                    let _ = std::fs::remove_dir_all(&tmp);
                    added?;
                }
                _ => std::fs::rename(&tmp, &final_dir)
                    .with_context(|| format!("{} -> {}: rename failed", tmp.display(), final_dir.display()))?,
            }
            Ok(Outcome::Rendered(info))
        }
        other => {
            let _ = std::fs::remove_dir_all(&tmp);
            other
        }
    }
}

/// Renders every input MIDI file `opts.variants` times into `opts.out`,
/// with the sampled instruments found under `opts.samples` (if given).
/// SoundFont and input errors abort before any work; a file that fails to
/// render is reported in [`Summary::failed`] and the others go on.
pub fn run(inputs: &[PathBuf], opts: &RenderOptions) -> anyhow::Result<Summary> {
    let library = match &opts.samples {
        Some(dir) => {
            let lib = Library::from_catalogue(dir, opts.held_out);
            for (name, path) in &lib.missing {
                eprintln!(
                    "note: sample set {name} not found ({}); its parts use SoundFonts",
                    path.display()
                );
            }
            lib
        }
        None => Library::default(),
    };
    run_with_library(inputs, opts, &library)
}

/// [`run`] with a library of sampled instruments built by the caller.
pub fn run_with_library(inputs: &[PathBuf], opts: &RenderOptions, library: &Library) -> anyhow::Result<Summary> {
    use rayon::prelude::*;
    let start = std::time::Instant::now();
    anyhow::ensure!(!opts.soundfonts.is_empty(), "give at least one --soundfont");
    anyhow::ensure!(opts.variants >= 1, "--variants must be at least 1");
    let soundfonts: Vec<(PathBuf, Arc<SoundFont>)> = opts
        .soundfonts
        .iter()
        .map(|p| synth::load_soundfont(p).map(|sf| (p.clone(), sf)))
        .collect::<anyhow::Result<_>>()?;
    let files = collect_inputs(inputs)?;
    std::fs::create_dir_all(&opts.out).with_context(|| format!("{}: cannot create", opts.out.display()))?;

    let mut summary = Summary::default();
    let mut jobs = Vec::new();
    for (base, path) in &files {
        for v in 0..opts.variants {
            let track = track_name(base, v, opts.variants);
            if is_complete(&opts.out, &track, opts.transposed_twins) {
                summary.skipped_existing += 1;
            } else {
                jobs.push((path.clone(), track, v));
            }
        }
    }
    let bar = if opts.progress {
        let b = indicatif::ProgressBar::new(jobs.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} tracks {elapsed_precise} eta {eta} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(opts.jobs).build()?;
    let results: Vec<anyhow::Result<Outcome>> = pool.install(|| {
        jobs.par_iter()
            .map(|(path, track, v)| {
                let r = render_job(path, track, *v, &soundfonts, library, opts);
                bar.inc(1);
                r
            })
            .collect()
    });
    bar.finish_and_clear();
    for r in results {
        match r {
            Ok(Outcome::Rendered(info)) => {
                summary.rendered += 1;
                summary.audio_seconds += info.seconds * info.stems.len() as f64;
            }
            Ok(Outcome::TooFewStems { .. }) => summary.too_few_stems += 1,
            Err(e) => summary.failed.push(format!("{e:#}")),
        }
    }
    let tmp = opts.out.join(".render-tmp");
    let _ = std::fs::remove_dir(&tmp); // only if empty
    summary.wall_seconds = start.elapsed().as_secs_f64();
    summary.unusable_sets = library.failures();
    Ok(summary)
}
