//! `cocola score CONDITION STEM`: one pair, per window and overall.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use cocola::score::alternatives::{AlternativeOptions, AlternativesReport};

use crate::report;
use crate::visual_args::VisualArgs;
use crate::window_args::WindowArgs;
use crate::ModelArgs;

#[derive(Args)]
#[command(
    long_about = "Scores how well STEM fits CONDITION. Both files are decoded (WAV, FLAC, MP3, \
OGG, ...), mixed to mono and resampled to 16 kHz, then cut into 5 s windows every --hop seconds. \
Each window gets a raw COCOLA score in three modes (both channels, harmonic only, percussive only; a \
model without HPS has the plain score only); windows where either side is quieter than --silence-db \
are reported as silent and not scored. The overall score is the mean over scored windows. Files \
shorter than 5 s are zero-padded. A calibrated model adds a 0-100 fit and a verdict per mode, and \
the combined fit: the mean of the modes' calibrated log-odds, which catches a transposed or \
off-beat stem more often than any one mode.\n\nThe raw score is f(CONDITION)^T W f(STEM), the authors' \
CoCola.score(x=condition, y=stem); --symmetric averages it with the reverse direction."
)]
pub struct ScoreArgs {
    /// The condition: the rest of the track (e.g. the mix without the stem).
    pub condition: PathBuf,
    /// The stem to judge (e.g. a generated accompaniment).
    pub stem: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub direction: crate::window_args::DirectionArgs,
    /// Print one JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also score the stem transposed by 1-6 semitones either way and moved
    /// earlier and later by eighths of the condition's beat, and say whether
    /// a change fits clearly better: the stem is then probably out of key or
    /// off the beat. Needs a calibrated pitch-input model (the default is
    /// one); does about ten times a plain score's encoder work per window,
    /// and holds both files in memory.
    #[arg(long)]
    pub alternatives: bool,
    #[command(flatten)]
    pub visual: VisualArgs,
}

#[derive(Serialize)]
struct ScoreJson<'a> {
    condition: &'a std::path::Path,
    stem: &'a std::path::Path,
    model: &'a cocola::model_source::ModelInfo,
    direction: cocola::score::Direction,
    hop_seconds: f32,
    silence_dbfs: f32,
    #[serde(flatten)]
    report: &'a cocola::score::PairReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    alternatives: Option<AlternativesReport>,
}

pub fn run(args: ScoreArgs) -> anyhow::Result<ExitCode> {
    args.visual.check()?;
    // Probe first: a bad audio file should be reported before model problems.
    let files = cocola::score::PairFiles::open(&args.condition, &args.stem)?;
    args.model.init_thread_pool();
    let (scorer, info) = args.model.load_scorer()?;
    let mut scorer = scorer.with_direction(args.direction.direction());
    let options = args.window.options();

    let (report, alternatives) = if args.alternatives {
        // Moves read around each window, so both files are held whole,
        // decoded once for the plain score and the alternatives.
        let condition = cocola::audio::load_mono_16k(&args.condition)?;
        let stem = cocola::audio::load_mono_16k(&args.stem)?;
        let report = with_bar("scoring windows", |tick| {
            scorer.score_pair(&condition, &stem, &options, tick)
        })?;
        let defaults = AlternativeOptions::default();
        let alternatives = with_bar("scoring the stem's alternatives", |tick| {
            scorer.score_alternatives(&condition, &stem, &options, &defaults, tick)
        })?;
        (report, Some(AlternativesReport::from(alternatives)))
    } else {
        // The windows are read one at a time: a long file is not held in memory.
        (
            with_bar("scoring windows", |tick| scorer.score_files(&files, &options, tick))?,
            None,
        )
    };

    args.visual
        .write_plot(|| cocola::visual::pages::score_chart(&args.stem, &report))?;
    let model_line = cocola::visual::ModelLine {
        name: info.name.clone(),
        version: info.version.clone(),
        detail: info.source.clone(),
    };
    args.visual.write_report(|| {
        cocola::visual::pages::score_page(&args.condition, &args.stem, &model_line, &options, &report)
    })?;

    if args.json {
        let doc = ScoreJson {
            condition: &args.condition,
            stem: &args.stem,
            model: &info,
            direction: scorer.direction(),
            hop_seconds: options.hop_seconds,
            silence_dbfs: options.silence_dbfs,
            report: &report,
            alternatives,
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!(
            "{}",
            report::render_pair(&args.condition, &args.stem, &info, scorer.modes(), &report)
        );
        if let Some(alternatives) = &alternatives {
            print!("{}", report::render_alternatives(alternatives));
        }
        print!("{}", args.visual.written());
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `work` with a progress bar labelled `label`, which `work` advances
/// through the `(done, total)` callback it is given.
fn with_bar<T>(label: &str, work: impl FnOnce(&mut dyn FnMut(usize, usize)) -> T) -> T {
    let template = format!("{{spinner}} {label} {{pos}}/{{len}} {{wide_bar}} {{eta}}");
    let bar = ProgressBar::new(0).with_style(ProgressStyle::with_template(&template).expect("static template"));
    let result = work(&mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    result
}
