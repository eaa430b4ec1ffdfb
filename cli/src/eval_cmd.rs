//! `cocola eval`: whole evaluation sets, as in the paper — a pair set (mean
//! COCOLA score, Table III) or tracks of stems (sub-mix classification
//! accuracy@K, Tables I-II) — and the sensitivity test of tracks of stems
//! (`--sensitivity`, in `sensitivity_cmd`); one shard of either of the first
//! two (`--shard`, merged by `merge_cmd`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use cocola::eval::cache::EmbeddingCache;
use cocola::eval::comparisons::compare;
use cocola::eval::pairs::evaluate_pairs;
use cocola::eval::shard::part::write_part;
use cocola::eval::shard::{self, Shard};
use cocola::eval::submix::{evaluate_submixes, SubmixOptions};
use cocola::eval::tracks::discover_tracks;
use cocola::eval::{read_pair_set, Progress};
use cocola::mode::Mode;
use cocola::model::Model;
use cocola::model_source::ModelInfo;
use serde::Serialize;

use crate::bars::Bars;
use crate::eval_output::{finish_pairs, finish_stems, Outputs, PairsRun};
use crate::visual_args::{check_writable, VisualArgs};
use crate::window_args::{DirectionArgs, WindowArgs};
use crate::ModelArgs;

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
--seed: same files + same seed = same windows, bit for bit. The cost follows the windows, not the
size of the set: a first pass reads each stem once, streaming, for the mix's level every 0.1 s and
a hash of the file; then only the drawn windows are decoded. Both the first pass and the embeddings
are cached on disk (see --cache-dir, --verify), so a re-run with the same files and settings reads
no audio. Every mode is reported and, for a calibrated model evaluated in all its modes, the
combined fit (each pair scored by the mean of its modes' calibrated log-odds); --out writes one row
per (mode or combined, K).

SENSITIVITY (--stems DIR --sensitivity): does the score hear key and groove? For each anchor, a
random 5 s window of a track gives a target (one active, pitched stem with at least 4 note starts;
stems named drums*/percussion* are never targets) and a condition (a random non-empty sub-mix of the
window's other active stems). The true target is scored against the condition beside three
negatives: the target transposed by +-1..6 semitones (pitch-shifted in two passes, duration kept;
compared with the target shifted by the first pass and back, so both sides carry the shifter's
artefacts and only the key differs), the target delayed off the beat (by an odd multiple of half a sixteenth note of the window's measured beat,
0.2-0.7 s), and an active pitched stem of another track. Reported per mode and kind: the win rate
(how often the true target scores higher; ties count one half) with its 95 % Wilson interval, and
the mean margin. A model-free floor decides the same comparisons beside it (chroma cosine for
transpositions, onset-envelope correlation for shifts, their sum for foreign stems): a model worth
its name beats it. A processing control follows: the untouched target against its in-key copy
(same key, only the shifter differs; near 50 % the model does not hear the shifter). A last table gives the same win rates per family of target stem (its name
without a trailing number: bass-2 counts as bass; families of 20+ anchors, all of them in --json),
to show where a model misses. Seeded like accuracy@K; --out writes one row per anchor. With
--baseline OTHER the same anchors are also scored by OTHER, and a paired table says, per mode and
kind, by how much this model's win rate differs from OTHER's, on how many anchors each model is the
better one, and whether that split is more lopsided than chance (exact McNemar p): intervals of
two separate runs overlap long before a real difference is ruled out.

Exit codes: 0 ok; 1 error (unreadable set, bad model, I/O); 2 usage error; 3 the evaluation
finished but some pairs failed (or some tracks could not be decoded) — see the warnings and CSV.

SHARDS: --shard I/N --part FILE runs only shard I of N (counted from 0) and writes a part file
instead of results: pairs are split by position in the set (pair p goes to shard p mod N), tracks
of --stems by position in the folder (every shard still scans all tracks, to draw the same
windows). `cocola merge PARTS...` then prints and writes exactly what the unsharded run would.
A shard exits 0 once its part is written; failed pairs are reported by the merge.",
    after_help = "Examples:\n  cocola eval pairs.csv --out scores.csv\n  cocola eval generated/ --hop 2.5 --json\n  \
cocola eval --stems musdb18hq/test --k 2,8,16,64 --seed 0 --out accuracy.csv\n  \
cocola eval --stems moisesdb/test --anchors 4000 --modes both --threads 8\n  \
cocola eval --stems my-tracks/ --sensitivity --anchors 500 --out sensitivity.csv\n  \
cocola eval --stems my-tracks/ --sensitivity --anchors 1000 --model new.onnx --baseline old.onnx\n  \
cocola eval pairs.csv --shard 3/64 --part parts/3.json   (every shard 0-63, then: cocola merge parts/*.json)"
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
    #[command(flatten)]
    pub visual: VisualArgs,
    /// Run only shard I of N (0 <= I < N, e.g. $SLURM_ARRAY_TASK_ID/64) and write its part file
    /// (--part); combine the parts with `cocola merge`.
    #[arg(long, value_name = "I/N", requires = "part", conflicts_with_all = ["out", "plot", "report"])]
    pub shard: Option<Shard>,
    /// The part file a shard writes (JSON; merged by `cocola merge`).
    #[arg(long, value_name = "FILE.json", requires = "shard")]
    pub part: Option<PathBuf>,
    /// Print the summary as one JSON document on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Modes to report, comma-separated [default: every mode the model has: both,harmonic,percussive
    /// for an HPS model, both for a model without HPS].
    #[arg(long, value_delimiter = ',', value_name = "MODES")]
    pub modes: Vec<Mode>,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Pairs: score both directions and report their mean (see `cocola score --help`).
    #[arg(long, conflicts_with = "stems")]
    pub symmetric: bool,
    /// Stems: batch sizes K, comma-separated (each at least 2).
    #[arg(long = "k", value_delimiter = ',', default_value = "2,8,16,64", value_name = "K,...", value_parser = parse_k)]
    pub ks: Vec<usize>,
    /// Stems: the sensitivity test instead of accuracy@K (see above).
    #[arg(long, requires = "stems", conflicts_with_all = ["shard", "plot", "report"])]
    pub sensitivity: bool,
    /// Sensitivity: also run this model (a .onnx or an authors' .ckpt) on the same anchors and
    /// compare the two anchor by anchor: per mode and kind, the difference in win rate, how many
    /// anchors each model decides better than the other, and an exact McNemar p-value (is the
    /// difference more than chance?). The way to tell whether a new model is really better.
    #[arg(long, value_name = "MODEL", requires = "sensitivity")]
    pub baseline: Option<PathBuf>,
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
    /// Stems: hash every stem file in full before reusing what the cache recorded about it. By
    /// default a file counts as unchanged when its path, size, modification time and a hash of
    /// sampled blocks (about 1 MiB per file) are, so a warm run reads no audio.
    #[arg(long, conflicts_with = "no_cache")]
    pub verify: bool,
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
pub fn run(args: EvalArgs, model: Model, facts: ModelInfo) -> anyhow::Result<ExitCode> {
    let mut modes = args.modes.clone();
    modes.dedup();
    if modes.is_empty() {
        modes = model.input().modes().to_vec();
    }
    for &mode in &modes {
        model.input().check_mode(mode).map_err(anyhow::Error::msg)?;
    }
    // Fail before hours of work, not after.
    for path in args.out.iter().chain(&args.part) {
        check_writable(path)?;
    }
    args.visual.check()?;
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

fn outputs(args: &EvalArgs) -> Outputs<'_> {
    Outputs {
        csv: args.out.as_deref(),
        json: args.json,
        visual: &args.visual,
    }
}

fn run_pairs(
    args: &EvalArgs,
    set: &Path,
    model: Model,
    facts: ModelInfo,
    modes: &[Mode],
    progress: &Bars,
) -> anyhow::Result<ExitCode> {
    let pairs = read_pair_set(set)?;
    let windows = args.window.options();
    // Pairs are scored window by window: one single-threaded session per
    // thread beats one session with intra-op threads (see `Scorer`).
    drop(model);
    let direction = DirectionArgs {
        symmetric: args.symmetric,
    }
    .direction();
    let (scorer, _) = args.model_args().load_scorer()?;
    let mut scorer = scorer.with_direction(direction);
    let is_comparison_set = pairs.iter().any(|p| p.comparison.is_some());
    if let (Some(shard), Some(part_path)) = (args.shard, &args.part) {
        if is_comparison_set {
            progress.warn("a comparison set's win rates need every pair: shards and their merge report scores only");
        }
        let (positions, mine) = shard::pairs::select(&pairs, shard);
        let report = evaluate_pairs(&mut scorer, &mine, &windows, modes, progress);
        let settings = shard::pairs::PairSettings::new(&windows, modes, direction);
        let header = shard::pairs::header(set, &pairs, &settings, facts, shard)?;
        let part = shard::pairs::part(header, &positions, report);
        write_part(part_path, &part)?;
        let failed = part
            .body
            .pairs
            .iter()
            .filter(|p| matches!(p.status, cocola::eval::PairStatus::Failed { .. }))
            .count();
        return report_shard(
            args,
            shard,
            part_path,
            "pairs",
            part.body.pairs.len(),
            pairs.len(),
            failed,
        );
    }
    let report = evaluate_pairs(&mut scorer, &pairs, &windows, modes, progress);
    let comparisons = compare(&pairs, &report.pairs, modes);
    let kinds: Option<Vec<String>> = is_comparison_set.then(|| {
        (pairs.iter())
            .map(|p| match &p.comparison {
                Some(c) if c.is_coherent() => "coherent".to_string(),
                Some(c) => c.kind.clone(),
                None => "no kind".to_string(),
            })
            .collect()
    });
    let run = PairsRun {
        set,
        model: &facts,
        direction,
        hop_seconds: windows.hop_seconds,
        silence_dbfs: windows.silence_dbfs,
        modes,
        parts: None,
        comparisons: comparisons.as_ref(),
        kinds: kinds.as_deref(),
    };
    finish_pairs(&run, &report, &outputs(args))
}

/// What a shard prints once its part is written.
fn report_shard(
    args: &EvalArgs,
    shard: Shard,
    part: &Path,
    what: &'static str,
    done: usize,
    total: usize,
    failed: usize,
) -> anyhow::Result<ExitCode> {
    if args.json {
        #[derive(Serialize)]
        struct Doc<'a> {
            kind: &'static str,
            shard: String,
            part: &'a Path,
            done: usize,
            total: usize,
            failed: usize,
        }
        let doc = Doc {
            kind: what,
            shard: shard.to_string(),
            part,
            done,
            total,
            failed,
        };
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "shard {shard}: {done} of {total} {what} done ({failed} failed); part written to {}",
            part.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn open_cache(args: &EvalArgs, identity: &str, progress: &Bars) -> EmbeddingCache {
    if args.no_cache {
        return EmbeddingCache::disabled();
    }
    let (cache, warning) = EmbeddingCache::open_or_disabled(args.cache_dir.as_deref(), identity);
    if let Some(warning) = warning {
        progress.warn(&warning);
    }
    cache.verifying(args.verify)
}

fn run_stems(
    args: &EvalArgs,
    root: &Path,
    mut model: Model,
    facts: ModelInfo,
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
        silence_dbfs: args.window.options().silence_dbfs,
        // The combined fit's accuracy too, where the model is calibrated.
        calibration: model.metadata().calibration,
    };
    let warn_cache = || {
        if let Some(error) = cache.first_write_error() {
            progress.warn(&format!(
                "the embedding cache could not be written ({error}); results are unaffected"
            ));
        }
    };
    if let (Some(shard), Some(part_path)) = (args.shard, &args.part) {
        let listing = discover_tracks(root)?;
        let tracks = listing.tracks.len();
        let mine: Vec<String> = (listing.tracks.iter().enumerate())
            .filter(|(t, _)| shard.owns(*t))
            .map(|(_, spec)| spec.name.clone())
            .collect();
        let part = shard::stems::evaluate_shard(&mut model, &cache, root, listing, &options, facts, shard, progress)?;
        warn_cache();
        write_part(part_path, &part)?;
        let failed = (part.body.scan.failed_tracks.iter())
            .filter(|f| mine.contains(&f.track))
            .count();
        return report_shard(args, shard, part_path, "tracks", mine.len(), tracks, failed);
    }
    let report = evaluate_submixes(&mut model, &cache, root, &options, progress)?;
    warn_cache();
    let cache_dir = cache.dir().map(|d| d.display().to_string());
    finish_stems(&facts, &report, cache_dir.as_deref(), None, &outputs(args))
}
