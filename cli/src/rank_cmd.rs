//! `cocola rank CONDITION CANDIDATE... | --dir DIR`: best of N, candidates
//! for one condition sorted by their COCOLA score (`cocola::score::rank`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use cocola::files::{is_audio_file, sorted_entries};
use cocola::mode::Mode;
use cocola::model_source::ModelInfo;
use cocola::score::rank::{score_and_rank, Ranking, Standing};
use cocola::score::Measure;
use cocola::visual::{pages, ModelLine};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::eval_output::EXIT_SOME_FAILED;
use crate::report::clock;
use crate::visual_args::VisualArgs;
use crate::window_args::WindowArgs;
use crate::{load_audio, ModelArgs};

#[derive(Args)]
#[command(group(clap::ArgGroup::new("candidates").required(true).args(["candidate", "dir"])))]
#[command(
    override_usage = "cocola rank [OPTIONS] CONDITION (CANDIDATE... | --dir DIR)",
    long_about = "Ranks candidate stems (e.g. N outputs of a generator for one condition) by how well \
they fit CONDITION. Each candidate is scored like `cocola score` (5 s windows every --hop seconds, \
silent windows skipped) and ranked by --mode: by default the combined fit (every mode's calibrated \
evidence together, the surest on an off-beat candidate or another song's), or the mean raw score of one \
mode. The table shows every mode, the fit and verdict, and each candidate's worst window (where it \
drifts furthest).

Candidates with exactly the same score share a rank (1, 2, 2, 4) and keep the order given. A \
candidate with no window audible on both sides is not ranked and is listed after the ranked ones \
with the side that is silent; one that cannot be read is listed last with its error. When \
candidates were scored on different numbers of windows (partly silent), a note says so.

Exit codes: 0 ok; 1 error (unreadable condition, bad model); 2 usage error; 3 ranked, but some \
candidates could not be read or scored.",
    after_help = "Examples:\n  cocola rank mix.wav take1.wav take2.wav take3.wav\n  \
cocola rank mix.wav --dir generated/ --mode harmonic --report ranking.html\n  \
cocola rank mix.wav --dir generated/ --json --plot ranking.png"
)]
pub struct RankArgs {
    /// The condition: the rest of the track.
    pub condition: PathBuf,
    /// Candidate stems.
    #[arg(value_name = "CANDIDATE")]
    pub candidate: Vec<PathBuf>,
    /// Rank every audio file in this folder (sorted by name).
    #[arg(long, value_name = "DIR", conflicts_with = "candidate")]
    pub dir: Option<PathBuf>,
    /// What orders the candidates: combined, both, harmonic or percussive
    /// [default: combined; both for a model without calibration].
    #[arg(long, value_name = "MODE")]
    pub mode: Option<Measure>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Print one JSON document (the ranking with every candidate's timeline) instead of the table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub visual: VisualArgs,
}

/// The candidates: (name shown, path).
fn candidates(args: &RankArgs) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let Some(dir) = &args.dir else {
        return Ok(args
            .candidate
            .iter()
            .map(|p| (p.display().to_string(), p.clone()))
            .collect());
    };
    let files: Vec<(String, PathBuf)> = sorted_entries(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .into_iter()
        .filter(|p| p.is_file() && is_audio_file(p))
        .map(|p| {
            (
                p.file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
                p,
            )
        })
        .collect();
    anyhow::ensure!(!files.is_empty(), "{}: no audio files to rank", dir.display());
    Ok(files)
}

pub fn run(args: RankArgs) -> anyhow::Result<ExitCode> {
    args.visual.check()?;
    let candidates = candidates(&args)?;
    // Decode first: a bad condition should be reported before model problems.
    let condition = load_audio(&args.condition)?;
    args.model.init_thread_pool();
    let (mut scorer, summary) = args.model.load_scorer()?;
    let measure = args.mode.unwrap_or_else(|| scorer.default_measure());
    scorer.check_measure(measure).map_err(anyhow::Error::msg)?;
    let options = args.window.options();

    let bar = ProgressBar::new(candidates.len() as u64).with_style(
        ProgressStyle::with_template("{spinner} scoring candidates {pos}/{len} {wide_bar} {eta}")
            .expect("static template"),
    );
    // One candidate's audio at a time: decoded as the ranking asks for it.
    let lazily = candidates
        .iter()
        .map(|(name, path)| (name.clone(), load_audio(path).map_err(|e| format!("{e:#}"))));
    let ranking = score_and_rank(&mut scorer, &condition, lazily, &options, measure, |done| {
        bar.set_position(done as u64)
    });
    bar.finish_and_clear();

    args.visual.write_plot(|| pages::rank_chart(&ranking))?;
    let line = ModelLine {
        name: summary.name.clone(),
        version: summary.version.clone(),
        detail: summary.source.clone(),
    };
    args.visual
        .write_report(|| pages::rank_page(&args.condition, &line, &options, &ranking))?;
    if args.json {
        #[derive(Serialize)]
        struct Doc<'a> {
            condition: &'a Path,
            model: &'a ModelInfo,
            hop_seconds: f32,
            silence_dbfs: f32,
            #[serde(flatten)]
            ranking: &'a Ranking,
        }
        let doc = Doc {
            condition: &args.condition,
            model: &summary,
            hop_seconds: options.hop_seconds,
            silence_dbfs: options.silence_dbfs,
            ranking: &ranking,
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", render(&args.condition, &summary, &ranking));
        print!("{}", args.visual.written());
    }
    let failed = ranking
        .candidates
        .iter()
        .any(|c| matches!(c.standing, Standing::Failed { .. }));
    Ok(if failed {
        ExitCode::from(EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

fn render(condition: &Path, model: &ModelInfo, ranking: &Ranking) -> String {
    let measure = ranking.measure;
    let mut out = String::new();
    let _ = writeln!(out, "condition  {}", condition.display());
    let _ = writeln!(out, "model      {} {} ({})", model.name, model.version, model.source);
    let how = match measure {
        Measure::Combined => "mean calibrated log-odds of every mode",
        Measure::Mode(_) => "mean raw score",
    };
    let _ = writeln!(
        out,
        "ranked by  {measure} ({how} over the windows audible on both sides)\n"
    );
    // A mode's own value is its raw score; the combined measure's its log-odds.
    let value = measure.column();
    let width = ranking
        .candidates
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(9)
        .clamp(9, 48);
    let _ = writeln!(
        out,
        "rank  {:<width$}  {:>9}  {:>5}  {:<7}  {:>9}  {:>9}  {:>10}  worst window",
        "candidate", value, "fit", "verdict", "both", "harmonic", "percussive"
    );
    for c in &ranking.candidates {
        let rank = match &c.standing {
            Standing::Ranked { rank, tied_with } if !tied_with.is_empty() => format!("{rank:>3}="),
            Standing::Ranked { rank, .. } => format!("{rank:>3} "),
            _ => "  - ".to_string(),
        };
        let name = if c.name.chars().count() > width {
            cocola::visual::chart::shorten(&c.name, width)
        } else {
            c.name.clone()
        };
        let detail = match (&c.standing, c.scores) {
            (Standing::Silent { reason }, _) => format!("silent: {reason}"),
            (Standing::Failed { error }, _) => format!("failed: {error}"),
            (Standing::Ranked { .. }, Some(s)) => {
                // Ranked candidates carry the ranking's measure.
                let Some(m) = measure.of(&s) else { continue };
                let fit = m.fit.map_or("    -".into(), |f| format!("{f:5.1}"));
                let verdict = m.verdict.map_or("-".into(), |v| v.to_string());
                let worst = c.worst_window.map_or(String::new(), |w| {
                    format!(
                        "{}-{} ({:.3})",
                        clock(w.start_seconds),
                        clock(w.end_seconds),
                        w.score(measure).map_or(f32::NAN, |m| m.value)
                    )
                });
                let raw = |mode: Mode| s.get(mode).map_or("-".to_string(), |m| format!("{:.3}", m.raw));
                format!(
                    "{:>9.3}  {fit}  {verdict:<7}  {:>9}  {:>9}  {:>10}  {worst}",
                    m.value,
                    raw(Mode::Both),
                    raw(Mode::Harmonic),
                    raw(Mode::Percussive)
                )
            }
            (Standing::Ranked { .. }, None) => String::new(),
        };
        let _ = writeln!(out, "{rank}  {name:<width$}  {detail}");
    }
    if !ranking.notes.is_empty() {
        let _ = writeln!(out);
        for note in &ranking.notes {
            let _ = writeln!(out, "note: {note}");
        }
    }
    out
}
