//! `cocola-trainer render`: multi-track MIDI + SoundFont(s) -> time-aligned
//! mono stems, one per instrument part (all drum-channel material is one
//! `drums` stem), written as `OUT/<track>/<stem>.wav`, the generic layout the
//! trainer reads, plus `OUT/<track>/render.json` describing the rendering.
//!
//! - [`midi`]: MIDI file -> parts with times in seconds (midly).
//! - [`synth`]: one rustysynth synthesizer per part; GM families.
//! - [`wav`]: 16-bit mono WAV output (hound).
//!
//! Each (file, variant) is one job; jobs run in parallel (rayon) and every
//! random choice of a job comes from a ChaCha stream derived from (seed,
//! track name), so output is bit-identical whatever the thread count or
//! order. A track is rendered into `OUT/.render-tmp/<track>` and renamed into
//! place when complete, so an existing `OUT/<track>/render.json` means the
//! track is finished and a rerun skips it (resumable).

pub mod midi;
pub mod synth;
pub mod wav;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;
use rustysynth::SoundFont;
use serde::Serialize;
use sha2::{Digest, Sha256};

use midi::{Event, Msg, Part, Song};

/// A fixed value (`3`) or a uniform random range (`-3..3`), drawn per variant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub lo: f64,
    pub hi: f64,
}

impl Range {
    pub fn fixed(v: f64) -> Self {
        Range { lo: v, hi: v }
    }
}

impl FromStr for Range {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let num = |t: &str| {
            t.trim()
                .parse::<f64>()
                .map_err(|_| format!("{s:?}: expected a number or LO..HI"))
        };
        let r = match s.split_once("..") {
            Some((a, b)) => Range {
                lo: num(a)?,
                hi: num(b)?,
            },
            None => Range::fixed(num(s)?),
        };
        if !(r.lo.is_finite() && r.hi.is_finite()) || r.lo > r.hi {
            return Err(format!("{s:?}: need LO <= HI"));
        }
        Ok(r)
    }
}

/// How `--program-randomize` assigns GM programs (CocoChorales-style).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Ensemble {
    /// Any melodic program per part (bass parts stay in the bass family).
    Random,
    /// Violin, viola, cello, contrabass by register.
    Strings,
    /// Trumpet, French horn, trombone, tuba by register.
    Brass,
    /// Flute, oboe, clarinet, bassoon by register.
    Woodwind,
    /// One of the four above, drawn per variant.
    Mixed,
}

const STRINGS: [u8; 4] = [40, 41, 42, 43];
const BRASS: [u8; 4] = [56, 60, 57, 58];
const WOODWIND: [u8; 4] = [73, 68, 71, 70];

#[derive(Clone, Debug)]
pub struct RenderOptions {
    pub out: PathBuf,
    pub soundfonts: Vec<PathBuf>,
    pub variants: usize,
    pub seed: u64,
    pub program_randomize: Option<Ensemble>,
    /// Semitones (rounded), melodic parts only.
    pub transpose: Range,
    /// > 1 plays faster.
    pub tempo_scale: Range,
    /// Each note-on velocity moves by a uniform integer in -N..=N.
    pub velocity_humanize: u8,
    pub reverb_chorus: bool,
    pub sample_rate: u32,
    /// Silence kept after the last event, for releases and reverb.
    pub tail_seconds: f64,
    /// Longer pieces are refused (after tempo scaling and cropping).
    pub max_seconds: f64,
    /// Render only the first this many seconds (after tempo scaling); notes
    /// still sounding there are released (the tail follows).
    pub crop_seconds: Option<f64>,
    /// Probability that a stem is played by another SoundFont than its
    /// track's (drawn per stem), so that timbre says nothing about which
    /// stems belong together.
    pub soundfont_mix: f64,
    /// Stems whose peak stays below this are dropped as silent.
    pub silence_peak: f32,
    /// Tracks with fewer non-silent stems are not written (COCOLA needs 2).
    pub min_stems: usize,
    /// Worker threads (0: rayon's default, all cores).
    pub jobs: usize,
    pub progress: bool,
}

impl RenderOptions {
    pub fn new(out: PathBuf, soundfonts: Vec<PathBuf>) -> Self {
        RenderOptions {
            out,
            soundfonts,
            variants: 1,
            seed: 0,
            program_randomize: None,
            transpose: Range::fixed(0.0),
            tempo_scale: Range::fixed(1.0),
            velocity_humanize: 0,
            reverb_chorus: true,
            sample_rate: 16_000,
            tail_seconds: 1.0,
            max_seconds: 1800.0,
            crop_seconds: None,
            soundfont_mix: 0.0,
            silence_peak: 1e-4,
            min_stems: 2,
            jobs: 0,
            progress: false,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct StemInfo {
    pub name: String,
    /// The track's SoundFont unless `--soundfont-mix` gave this stem another.
    pub soundfont: PathBuf,
    pub program: Option<u8>,
    pub drums: bool,
    pub midi_track: usize,
    pub midi_channel: u8,
    pub part_name: Option<String>,
    pub notes: usize,
    pub peak: f32,
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
}

#[derive(Clone, Debug)]
pub enum Outcome {
    Rendered(TrackInfo),
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
}

/// MIDI inputs: files, or directories searched recursively for .mid/.midi.
/// Returns (track base name, path); names of files found in a directory are
/// their relative path with separators turned into `_`.
pub fn collect_inputs(inputs: &[PathBuf]) -> anyhow::Result<Vec<(String, PathBuf)>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("{}: cannot list", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if p
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
            {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut found = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut files = Vec::new();
            walk(input, &mut files)?;
            for f in files {
                let rel = f.strip_prefix(input).unwrap_or(&f).with_extension("");
                let name: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                found.push((sanitize(&name.join("_")), f));
            }
        } else if input.is_file() {
            let stem = input
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            found.push((sanitize(&stem), input.clone()));
        } else {
            anyhow::bail!("{}: no such MIDI file or directory", input.display());
        }
    }
    let mut seen = std::collections::HashMap::new();
    for (name, path) in &found {
        if let Some(prev) = seen.insert(name.clone(), path.clone()) {
            anyhow::bail!(
                "{} and {}: both would be track {name:?}",
                prev.display(),
                path.display()
            );
        }
    }
    Ok(found)
}

fn sanitize(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let t = t.trim_start_matches('.').to_string();
    if t.is_empty() {
        "track".into()
    } else {
        t
    }
}

/// Output track name of a variant.
pub fn track_name(base: &str, variant: usize, variants: usize) -> String {
    if variants <= 1 {
        base.to_string()
    } else {
        format!("{base}.v{variant}")
    }
}

fn job_rng(seed: u64, track: &str) -> ChaCha12Rng {
    let mut h = Sha256::new();
    h.update(b"cocola-render-v1");
    h.update(seed.to_le_bytes());
    h.update(track.as_bytes());
    ChaCha12Rng::from_seed(h.finalize().into())
}

fn uniform(rng: &mut impl Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn draw(rng: &mut impl Rng, r: Range) -> f64 {
    if r.lo == r.hi {
        r.lo
    } else {
        r.lo + (r.hi - r.lo) * uniform(rng)
    }
}

/// Programs per part (None: keep the file's own program changes).
fn choose_programs(parts: &[Part], ensemble: Ensemble, rng: &mut impl Rng) -> (Ensemble, Vec<Option<u8>>) {
    use cocola::eval::rng::below;
    let ensemble = if ensemble == Ensemble::Mixed {
        [Ensemble::Random, Ensemble::Strings, Ensemble::Brass, Ensemble::Woodwind][below(rng, 4)]
    } else {
        ensemble
    };
    let melodic: Vec<usize> = (0..parts.len()).filter(|&i| !parts[i].is_drums).collect();
    let mut programs = vec![None; parts.len()];
    match ensemble {
        Ensemble::Random | Ensemble::Mixed => {
            // Melodic pool: families piano..synth-pad without bass, timpani, orchestra hit.
            let pool: Vec<u8> = (0u8..96)
                .filter(|p| !(32..40).contains(p) && *p != 47 && *p != 55)
                .collect();
            for &i in &melodic {
                let p = if (32..40).contains(&parts[i].program()) {
                    32 + below(rng, 8) as u8
                } else {
                    pool[below(rng, pool.len())]
                };
                programs[i] = Some(p);
            }
        }
        family => {
            let list = match family {
                Ensemble::Strings => STRINGS,
                Ensemble::Brass => BRASS,
                _ => WOODWIND,
            };
            // Highest part gets the highest instrument, as in CocoChorales.
            let mut order = melodic.clone();
            order.sort_by(|&a, &b| parts[b].mean_key().total_cmp(&parts[a].mean_key()));
            // Highest part -> first instrument, lowest -> last, spread between.
            let n = order.len();
            for (rank, &i) in order.iter().enumerate() {
                let idx = if n <= 1 {
                    0
                } else {
                    ((rank * (list.len() - 1)) as f64 / (n - 1) as f64).round() as usize
                };
                programs[i] = Some(list[idx.min(list.len() - 1)]);
            }
        }
    }
    (ensemble, programs)
}

/// The part's events after program override, transposition, tempo scaling
/// and velocity humanisation.
/// Drops the events from `at` on and releases everything there: sustain
/// pedal up (CC 64), then all notes off (CC 123).
fn crop(events: &mut Vec<Event>, at: f64, channel: u8) {
    events.retain(|e| e.time < at);
    for cc in [64, 123] {
        events.push(Event {
            time: at,
            channel,
            msg: Msg::Controller { cc, value: 0 },
        });
    }
}

fn transform(
    part: &Part,
    program: Option<u8>,
    transpose: i32,
    tempo: f64,
    humanize: u8,
    rng: &mut impl Rng,
) -> Vec<Event> {
    let mut out = Vec::with_capacity(part.events.len() + 2);
    if let Some(p) = program {
        out.push(Event {
            time: 0.0,
            channel: part.channel,
            msg: Msg::Controller { cc: 0, value: 0 },
        });
        out.push(Event {
            time: 0.0,
            channel: part.channel,
            msg: Msg::Program(p),
        });
    }
    let shift = |key: u8| -> Option<u8> {
        if part.is_drums {
            return Some(key);
        }
        let k = key as i32 + transpose;
        (0..=127).contains(&k).then_some(k as u8)
    };
    for e in &part.events {
        let msg = match e.msg {
            Msg::Program(_) | Msg::Controller { cc: 0 | 32, .. } if program.is_some() => continue,
            Msg::NoteOn { key, vel } => {
                let Some(key) = shift(key) else { continue };
                let vel = if humanize > 0 {
                    let j = cocola::eval::rng::below(rng, 2 * humanize as usize + 1) as i32 - humanize as i32;
                    (vel as i32 + j).clamp(1, 127) as u8
                } else {
                    vel
                };
                Msg::NoteOn { key, vel }
            }
            Msg::NoteOff { key } => match shift(key) {
                Some(key) => Msg::NoteOff { key },
                None => continue,
            },
            Msg::KeyPressure { key, value } => match shift(key) {
                Some(key) => Msg::KeyPressure { key, value },
                None => continue,
            },
            m => m,
        };
        out.push(Event {
            time: e.time / tempo,
            channel: e.channel,
            msg,
        });
    }
    out
}

fn stem_names(parts: &[Part], programs: &[u8]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let base = if p.is_drums {
            "drums".to_string()
        } else {
            synth::family(programs[i]).to_string()
        };
        let mut name = base.clone();
        let mut k = 2;
        while names.contains(&name) {
            name = format!("{base}-{k}");
            k += 1;
        }
        names.push(name);
    }
    names
}

/// Renders variant `variant` of `song` (from `source`) into `dir` (which
/// must exist and be empty). Returns what was written.
#[allow(clippy::too_many_arguments)]
pub fn render_song(
    song: &Song,
    source: &Path,
    track: &str,
    variant: usize,
    soundfonts: &[(PathBuf, Arc<SoundFont>)],
    opts: &RenderOptions,
    dir: &Path,
) -> anyhow::Result<Outcome> {
    anyhow::ensure!(!soundfonts.is_empty(), "no SoundFont given");
    let mut rng = job_rng(opts.seed, track);
    // The variants of one piece take the SoundFonts in turn from a start drawn
    // per piece, so that variants differ in timbre (with as many variants as
    // SoundFonts, each is heard once) and timbre is no shortcut to coherence.
    let piece = track.strip_suffix(&format!(".v{variant}")).unwrap_or(track);
    let first = cocola::eval::rng::below(&mut job_rng(opts.seed, piece), soundfonts.len());
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
    let names = stem_names(&song.parts, &programs);

    let mut stems: Vec<(StemInfo, Vec<f32>)> = Vec::new();
    let mut dropped = Vec::new();
    for (i, part) in song.parts.iter().enumerate() {
        let mut events = transform(part, overrides[i], transpose, tempo, opts.velocity_humanize, &mut rng);
        if played < full {
            crop(&mut events, played, part.channel);
        }
        let (stem_sf_path, stem_sf) = if soundfonts.len() > 1 && uniform(&mut rng) < opts.soundfont_mix {
            let other = cocola::eval::rng::below(&mut rng, soundfonts.len() - 1);
            let (p, s) = &soundfonts[(first + variant + 1 + other) % soundfonts.len()];
            (p, s)
        } else {
            (sf_path, sf)
        };
        let audio = synth::render_events(stem_sf, &events, total, opts.sample_rate, opts.reverb_chorus)?;
        let peak = audio.iter().fold(0f32, |m, x| m.max(x.abs()));
        if peak < opts.silence_peak {
            dropped.push(names[i].clone());
            continue;
        }
        let info = StemInfo {
            name: names[i].clone(),
            soundfont: stem_sf_path.clone(),
            program: (!part.is_drums).then_some(programs[i]),
            drums: part.is_drums,
            midi_track: part.track,
            midi_channel: part.channel,
            part_name: part.name.clone(),
            notes: part.note_count(),
            peak,
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
    };
    let json = serde_json::to_string_pretty(&info)?;
    std::fs::write(dir.join("render.json"), json)
        .with_context(|| format!("{}: cannot write render.json", dir.display()))?;
    Ok(Outcome::Rendered(info))
}

/// Whether `OUT/<track>` is a finished rendering.
pub fn is_complete(out: &Path, track: &str) -> bool {
    out.join(track).join("render.json").is_file()
}

/// Renders one (file, variant) job into a temp dir and renames it into place.
fn render_job(
    source: &Path,
    track: &str,
    variant: usize,
    soundfonts: &[(PathBuf, Arc<SoundFont>)],
    opts: &RenderOptions,
) -> anyhow::Result<Outcome> {
    let final_dir = opts.out.join(track);
    anyhow::ensure!(
        !final_dir.exists(),
        "{}: exists but has no render.json (not a finished rendering); remove it to re-render",
        final_dir.display()
    );
    let song = midi::read(source)?;
    let tmp = opts.out.join(".render-tmp").join(track);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).with_context(|| format!("{}: cannot clear", tmp.display()))?;
    }
    std::fs::create_dir_all(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
    let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        render_song(&song, source, track, variant, soundfonts, opts, &tmp)
    }))
    .unwrap_or_else(|_| Err(anyhow::anyhow!("synthesis failed (panic)")))
    .with_context(|| format!("{}: rendering failed", source.display()));
    match rendered {
        Ok(Outcome::Rendered(info)) => {
            std::fs::rename(&tmp, &final_dir)
                .with_context(|| format!("{} -> {}: rename failed", tmp.display(), final_dir.display()))?;
            Ok(Outcome::Rendered(info))
        }
        other => {
            let _ = std::fs::remove_dir_all(&tmp);
            other
        }
    }
}

/// Renders every input MIDI file `opts.variants` times into `opts.out`.
/// SoundFont and input errors abort before any work; a file that fails to
/// render is reported in [`Summary::failed`] and the others go on.
pub fn run(inputs: &[PathBuf], opts: &RenderOptions) -> anyhow::Result<Summary> {
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
            if is_complete(&opts.out, &track) {
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
                let r = render_job(path, track, *v, &soundfonts, opts);
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
    Ok(summary)
}
