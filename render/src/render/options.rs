//! What `cocola-render render` can be told: value ranges drawn per variant,
//! ensembles for program randomisation, and the options of a run.

use std::path::PathBuf;
use std::str::FromStr;

use serde::Serialize;

use crate::sampler::library::HeldOut;

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
    /// Folder of the sampled instruments' npm packages (`cocola-render
    /// fetch-samples`); Debian's drum kits are found where Debian installs
    /// them. None: SoundFonts only.
    pub samples: Option<PathBuf>,
    /// Held-out sample sets: excluded, preferred or used like the others.
    pub held_out: HeldOut,
    /// Probability that a pitched part is played by a sampled instrument
    /// (when one can play its program over its range).
    pub sample_mix: f64,
    /// Probability that the drum part is played by a sampled or SoundFont
    /// drum kit from the library instead of the GM drum channel.
    pub drum_kit_mix: f64,
    /// Probability of each production effect (tilt, compression, reverb) per stem.
    pub production: f64,
    /// Range of the random level (dB) every stem gets; (0, 0): none.
    pub level_db: (f64, f64),
    /// Also render every pitched stem transposed (its *twin*): the same
    /// events moved by one amount per track (+-1..6 semitones, drawn from a
    /// stream of its own), played by the same voice with the same production
    /// and gain, into `<track>/transposed<+k>/`. The track's own stems are
    /// what they would be without it.
    pub transposed_twins: bool,
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
            samples: None,
            held_out: HeldOut::Include,
            sample_mix: 0.0,
            drum_kit_mix: 0.0,
            production: 0.0,
            level_db: (0.0, 0.0),
            transposed_twins: false,
            jobs: 0,
            progress: false,
        }
    }
}
