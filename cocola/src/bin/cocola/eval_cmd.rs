//! `cocola eval`: whole evaluation sets, as in the paper — a pair set (mean
//! COCOLA score, Table III) or tracks of stems (sub-mix classification
//! accuracy@K, Tables I-II) — and the sensitivity test of tracks of stems
//! (`--sensitivity`, in `sensitivity_cmd`).

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::Context;
use clap::Args;
use cocola::eval::cache::EmbeddingCache;
use cocola::eval::csv_out;
use cocola::eval::pairs::{evaluate_pairs, PairSetReport};
use cocola::eval::stats::{real_time_factor, Summary};
use cocola::eval::submix::{evaluate_submixes, SubmixOptions, SubmixReport};
use cocola::eval::{read_pair_set, Progress};
use cocola::mode::Mode;
use cocola::model::Model;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::window_args::WindowArgs;
use crate::ModelArgs;

/// Exit code of an evaluation that finished but could not score some pairs
/// (or decode some tracks); the CSV / report says which and why.
pub(crate) const EXIT_SOME_FAILED: u8 = 3;

#[derive(Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["pairs", "stems"])))]
#[command(
    long_about = "Evaluates a whole set with COCOLA, in one of two ways.

PAIR SET (paper Table III): how well do generated stems fit their conditions? Give PAIRS, either
  - a CSV file with one pair per row: `condition,stem` (or `id,condition,stem`). A header row naming
    the columns `condition`, `stem` and optionally `id` (any order, other columns ignored) is
    allowed. Relative paths are relative to the CSV's folder. Rows starting with # are skipped.
    Without an id column a pair's id is its line number.
  - or a folder with one subfolder per pair: PAIRS/<id>/condition.<ext> and PAIRS/<id>/stem.<ext>
    (any audio format: wav, flac, mp3, ogg, m4a, aiff, ...).
Each pair is scored like `cocola score`: 5 s windows every --hop seconds, windows silent on either
side skipped, the mean over windows per mode (both = the COCOLA score, harmonic, percussive). The
summary gives, per mode over the scored pairs: n, mean, sample standard deviation and the 95 %
confidence interval of the mean (Student t with n-1 degrees of freedom), for the raw score and, if
the model is calibrated, the 0-100 fit. Raw scores are comparable only between runs of one model.
--out writes one row per pair: id, paths, status (scored / silent / failed), duration, windows
scored and silent, raw score and fit per mode, and the error of a failed pair. A pair whose file is
missing or corrupt is reported as failed and left out of the statistics; the rest still runs.

SUB-MIX CLASSIFICATION (paper Tables I-II, Eq. 4): can the model tell which sub-mixes belong
together? Give --stems DIR holding DIR/<track>/<stem>.<ext> (files named mixture.* are ignored;
tracks with fewer than 2 stems are skipped). For each K, batches of K random 5 s windows are drawn
from distinct tracks (where there are at least K; otherwise windows of one track overlap by at most
50 %), windows whose full mix is silent are never drawn. Each window's stems are split into two
disjoint non-empty random subsets, summed into an anchor and a positive. Accuracy@K is the fraction
of anchors whose highest-scoring positive among the K is their own (ties count as a fraction),
averaged over batches, with its standard error; chance level is 1/K. Everything is drawn from
--seed: same files + same seed = same windows, bit for bit. Embeddings are cached on disk (see
--cache-dir), so a re-run only decodes the audio. --out writes one row per (mode, K).

SENSITIVITY (--stems DIR --sensitivity): does the score hear key and groove? For each anchor, a
random 5 s window of a track gives a target (one active, pitched stem with at least 4 note starts;
stems named drums*/percussion* are never targets) and a condition (a random non-empty sub-mix of the
window's other active stems). The true target is scored against the condition beside three
negatives: the target transposed by +-1..6 semitones (pitch-shifted, duration kept), the target
delayed off the beat (by an odd multiple of half a sixteenth note of the window's measured beat,
0.2-0.7 s), and an active pitched stem of another track. Reported per mode and kind: the win rate
(how often the true target scores higher; ties count one half) with its 95 % Wilson interval, and
the mean margin. A model-free floor decides the same comparisons beside it (chroma cosine for
transpositions, onset-envelope correlation for shifts, their sum for foreign stems): a model worth
its name beats it. Seeded like accuracy@K; --out writes one row per anchor.

Exit codes: 0 ok; 1 error (unreadable set, bad model, I/O); 2 usage error; 3 the evaluation
finished but some pairs failed (or some tracks could not be decoded) — see the warnings and CSV.",
    after_help = "Examples:\n  cocola eval pairs.csv --out scores.csv\n  cocola eval generated/ --hop 2.5 --json\n  \
cocola eval --stems musdb18hq/test --k 2,8,16,64 --seed 0 --out accuracy.csv\n  \
cocola eval --stems moisesdb/test --anchors 4000 --modes both --threads 8\n  \
cocola eval --stems my-tracks/ --sensitivity --anchors 500 --out sensitivity.csv"
)]
pub struct EvalArgs {
    /// Pair set: a CSV file of condition,stem paths, or a folder of <id>/{condition,stem}.<ext>.
    #[arg(value_name = "PAIRS")]
    pub pairs: Option<PathBuf>,
    /// Tracks of stems (DIR/<track>/<stem>.<ext>) for sub-mix classification accuracy@K.
    #[arg(long, value_name = "DIR")]
    pub stems: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Write the per-pair (or per mode and K) results to this CSV file.
    #[arg(long, short = 'o', value_name = "FILE.csv")]
    pub out: Option<PathBuf>,
    /// Print the summary as one JSON document on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Modes to report, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "both,harmonic,percussive",
        value_name = "MODES"
    )]
    pub modes: Vec<Mode>,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Stems: batch sizes K, comma-separated (each at least 2).
    #[arg(long = "k", value_delimiter = ',', default_value = "2,8,16,64", value_name = "K,...", value_parser = parse_k)]
    pub ks: Vec<usize>,
    /// Stems: the sensitivity test instead of accuracy@K (see above).
    #[arg(long, requires = "stems")]
    pub sensitivity: bool,
    /// Stems: anchors per K (batches = ceil(anchors / K)) [default: 1000], or anchors of the
    /// sensitivity test [default: 300].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub anchors: Option<u64>,
    /// Stems: batches per K, overriding --anchors.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub batches: Option<u64>,
    /// Stems: seed of every random draw.
    #[arg(long, default_value_t = 0, value_name = "SEED")]
    pub seed: u64,
    /// Stems: embedding cache folder [default: ${XDG_CACHE_HOME:-~/.cache}/cocola/embeddings].
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Stems: neither read nor write the embedding cache.
    #[arg(long)]
    pub no_cache: bool,
}

impl EvalArgs {
    pub fn model_args(&self) -> &ModelArgs {
        &self.model
    }
}

fn parse_k(text: &str) -> Result<usize, String> {
    let k: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a batch size"))?;
    if (2..=4096).contains(&k) {
        Ok(k)
    } else {
        Err("K must be between 2 and 4096".into())
    }
}

/// Runs the evaluation the arguments ask for.
pub fn run(args: EvalArgs, model: Model, model_identity: String) -> anyhow::Result<ExitCode> {
    let mut modes = args.modes.clone();
    modes.dedup();
    let facts = ModelFacts {
        name: model.metadata().name.clone(),
        version: model.metadata().version.clone(),
        sha256: model_identity.clone(),
        calibrated: model.metadata().calibration.is_some(),
    };
    if let Some(out) = &args.out {
        // Fail before hours of work, not after.
        let dir = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        anyhow::ensure!(
            dir.is_dir(),
            "cannot write {}: folder {} does not exist",
            out.display(),
            dir.display()
        );
    }
    let progress = Bars::new();
    match (&args.pairs, &args.stems) {
        (Some(set), _) => run_pairs(&args, set, model, facts, &modes, &progress),
        (None, Some(root)) if args.sensitivity => {
            crate::sensitivity_cmd::run(&args, root, model, facts, &modes, &progress)
        }
        (None, Some(root)) => run_stems(&args, root, model, facts, &modes, &progress),
        (None, None) => anyhow::bail!("give a pair set (CSV or folder) or --stems DIR"),
    }
}

#[derive(Serialize)]
pub(crate) struct ModelFacts {
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub calibrated: bool,
}

fn run_pairs(
    args: &EvalArgs,
    set: &Path,
    model: Model,
    facts: ModelFacts,
    modes: &[Mode],
    progress: &Bars,
) -> anyhow::Result<ExitCode> {
    let pairs = read_pair_set(set)?;
    let windows = args.window.options();
    // Pairs are scored window by window: one single-threaded session per
    // thread beats one session with intra-op threads (see `Scorer`).
    drop(model);
    let (mut scorer, _) = args.model_args().load_scorer()?;
    let report = evaluate_pairs(&mut scorer, &pairs, &windows, modes, progress);
    if let Some(out) = &args.out {
        csv_out::write_file(out, |w| csv_out::write_pairs(w, &report, modes))?;
    }
    if args.json {
        #[derive(Serialize)]
        struct Failed<'a> {
            id: &'a str,
            error: &'a str,
        }
        #[derive(Serialize)]
        struct Doc<'a> {
            kind: &'static str,
            set: &'a Path,
            model: &'a ModelFacts,
            hop_seconds: f32,
            silence_dbfs: f32,
            summary: &'a cocola::eval::PairSetSummary,
            failed: Vec<Failed<'a>>,
            audio_seconds: f64,
            seconds: f64,
            real_time_factor: Option<f64>,
            out: Option<&'a Path>,
        }
        let failed = report
            .pairs
            .iter()
            .filter_map(|p| match &p.status {
                cocola::eval::PairStatus::Failed { error } => Some(Failed { id: &p.id, error }),
                _ => None,
            })
            .collect();
        let doc = Doc {
            kind: "pairs",
            set,
            model: &facts,
            hop_seconds: args.window.hop,
            silence_dbfs: args.window.silence_db,
            summary: &report.summary,
            failed,
            audio_seconds: report.audio_seconds,
            seconds: report.seconds,
            real_time_factor: real_time_factor(report.audio_seconds, report.seconds),
            out: args.out.as_deref(),
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", render_pairs(set, &facts, &report, args.out.as_deref()));
    }
    Ok(if report.summary.failed > 0 {
        ExitCode::from(EXIT_SOME_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

pub(crate) fn open_cache(args: &EvalArgs, identity: &str, progress: &Bars) -> EmbeddingCache {
    if args.no_cache {
        return EmbeddingCache::disabled();
    }
    let (cache, warning) = EmbeddingCache::open_or_disabled(args.cache_dir.as_deref(), identity);
    if let Some(warning) = warning {
        progress.warn(&warning);
    }
    cache
}

fn run_stems(
    args: &EvalArgs,
    root: &Path,
    mut model: Model,
    facts: ModelFacts,
    modes: &[Mode],
    progress: &Bars,
) -> anyhow::Result<ExitCode> {
    let cache = open_cache(args, &facts.sha256, progress);
    let options = SubmixOptions {
        ks: args.ks.clone(),
        modes: modes.to_vec(),
        anchors: usize::try_from(args.anchors.unwrap_or(1000)).context("--anchors is too large")?,
        batches: args
            .batches
            .map(usize::try_from)
            .transpose()
            .context("--batches is too large")?,
        seed: args.seed,
        silence_dbfs: args.window.silence_db,
    };
    let report = evaluate_submixes(&mut model, &cache, root, &options, progress)?;
    if let Some(error) = cache.first_write_error() {
        progress.warn(&format!(
            "the embedding cache could not be written ({error}); results are unaffected"
        ));
    }
    if let Some(out) = &args.out {
        csv_out::write_file(out, |w| csv_out::write_accuracy(w, &report))?;
    }
    if args.json {
        #[derive(Serialize)]
        struct Doc<'a> {
            kind: &'static str,
            model: &'a ModelFacts,
            cache_dir: Option<&'a Path>,
            #[serde(flatten)]
            report: &'a SubmixReport,
            out: Option<&'a Path>,
        }
        let doc = Doc {
            kind: "stems",
            model: &facts,
            cache_dir: cache.dir(),
            report: &report,
            out: args.out.as_deref(),
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", render_stems(&facts, &report, cache.dir(), args.out.as_deref()));
    }
    Ok(if report.failed_tracks.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_SOME_FAILED)
    })
}

fn summary_cells(s: &Option<Summary>) -> String {
    match s {
        None => format!("{:>5}  {:>9}  {:>8}  {}", 0, "-", "-", "-"),
        Some(s) => {
            let std = s.std.map_or("-".to_string(), |v| format!("{v:.3}"));
            let ci = s
                .ci95
                .map_or("-".to_string(), |c| format!("[{:.3}, {:.3}]", c.low, c.high));
            format!("{:>5}  {:>9.3}  {:>8}  {ci}", s.n, s.mean, std)
        }
    }
}

fn render_pairs(set: &Path, model: &ModelFacts, report: &PairSetReport, out: Option<&Path>) -> String {
    let s = &report.summary;
    let mut text = String::new();
    let _ = writeln!(text, "set        {}", set.display());
    let _ = writeln!(
        text,
        "model      {} {} (sha256 {:.12})",
        model.name, model.version, model.sha256
    );
    let _ = writeln!(
        text,
        "pairs      {} ({} scored, {} all silent, {} failed)",
        s.pairs, s.scored, s.silent, s.failed
    );
    let speed = real_time_factor(report.audio_seconds, report.seconds)
        .map_or(String::new(), |r| format!(", {r:.0}x real time"));
    let _ = writeln!(
        text,
        "audio      {:.1} s scored in {:.1} s{speed}",
        report.audio_seconds, report.seconds
    );
    let _ = writeln!(text, "\nraw score      n       mean       std  95 % CI of the mean");
    for m in &s.modes {
        let _ = writeln!(text, "{:<10} {}", m.mode.name(), summary_cells(&m.raw));
    }
    if report.calibrated {
        let _ = writeln!(text, "\nfit (0-100)    n       mean       std  95 % CI of the mean");
        for m in &s.modes {
            let _ = writeln!(text, "{:<10} {}", m.mode.name(), summary_cells(&m.fit));
        }
    }
    if s.failed > 0 {
        let where_ = out.map_or("the warnings above".to_string(), |p| p.display().to_string());
        let _ = writeln!(
            text,
            "\n{} pair(s) failed and are not in the statistics: see {where_}.",
            s.failed
        );
    }
    if let Some(p) = out {
        let _ = writeln!(text, "\nper-pair results: {}", p.display());
    }
    text
}

fn render_stems(model: &ModelFacts, report: &SubmixReport, cache_dir: Option<&Path>, out: Option<&Path>) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "stems      {}", report.root.display());
    let _ = writeln!(
        text,
        "model      {} {} (sha256 {:.12})",
        model.name, model.version, model.sha256
    );
    let _ = writeln!(
        text,
        "tracks     {} found, {} used, {} failed to decode; seed {}",
        report.tracks_found,
        report.tracks_used,
        report.failed_tracks.len(),
        report.seed
    );
    let cache = match cache_dir {
        None => "cache off".to_string(),
        Some(dir) => format!(
            "{} of {} embeddings from the cache ({})",
            report.cache.hits,
            report.cache.hits + report.cache.misses,
            dir.display()
        ),
    };
    let _ = writeln!(
        text,
        "windows    {} sub-mixes embedded in {:.1} s; {cache}",
        report.windows, report.seconds
    );
    let _ = writeln!(text, "\nmode          K  batches  anchors  accuracy   std err   chance");
    for r in &report.results {
        let a = &r.accuracy;
        let se = a.std_error.map_or("-".to_string(), |e| format!("{:.2} %", 100.0 * e));
        let _ = writeln!(
            text,
            "{:<10} {:>4}  {:>7}  {:>7}  {:>7.2} %  {:>8}  {:>5.2} %",
            r.mode.name(),
            a.k,
            a.batches,
            a.anchors,
            100.0 * a.accuracy,
            se,
            100.0 * a.chance
        );
    }
    for s in &report.skipped {
        let _ = writeln!(text, "K = {} skipped: {}", s.k, s.reason);
    }
    if let Some(p) = out {
        let _ = writeln!(text, "\nresults: {}", p.display());
    }
    text
}

/// Progress bars on stderr, hidden when stderr is not a terminal; warnings
/// printed above the bar so they do not tear it.
pub(crate) struct Bars {
    visible: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    pub(crate) fn new() -> Self {
        Self {
            visible: std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }

    fn current(&self) -> Option<ProgressBar> {
        self.bar.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Progress for Bars {
    fn begin(&self, stage: &str, total: u64) {
        let bar = if self.visible {
            ProgressBar::new(total)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{msg:<20} {pos:>6}/{len:<6} {wide_bar} {elapsed_precise} eta {eta}")
                .expect("static template"),
        );
        bar.set_message(stage.to_string());
        if let Some(old) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).replace(bar) {
            old.finish_and_clear();
        }
    }

    fn advance(&self, steps: u64) {
        if let Some(bar) = self.current() {
            bar.inc(steps);
        }
    }

    fn end(&self) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish_and_clear();
        }
    }

    fn warn(&self, message: &str) {
        match self.current() {
            Some(bar) => bar.suspend(|| eprintln!("warning: {message}")),
            None => eprintln!("warning: {message}"),
        }
    }
}
