//! `cocola merge PARTS...`: the part files of a sharded `cocola eval` into
//! the results one unsharded run would have printed and written.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use cocola::eval::shard::pairs::PairSettings;
use cocola::eval::shard::{merge_files, Merged};

use crate::eval_output::{finish_pairs, finish_stems, Outputs, PairsRun};
use crate::visual_args::{check_writable, VisualArgs};

#[derive(Args)]
#[command(
    long_about = "Merges the part files of a sharded evaluation (`cocola eval ... --shard I/N --part \
FILE`, one per shard) and prints and writes what the unsharded run would have: the same summary, \
confidence intervals and accuracies, bit for bit, and the same --out CSV, --plot and --report.

The parts must come from one evaluation: merge refuses parts of different models, settings, seeds, \
sets, tool versions or shard counts, and a missing or repeated shard, naming the files. Timings \
are the sums over the shards.

Exit codes: 0 ok; 1 the parts cannot be merged (or read); 2 usage error; 3 merged, but some pairs \
failed (or some tracks could not be decoded).",
    after_help = "Examples:\n  cocola merge parts/*.json --out scores.csv --report report.html\n  \
cocola merge parts/*.json --json --plot scores.png"
)]
pub struct MergeArgs {
    /// Every part file of the evaluation (one per shard, in any order).
    #[arg(required = true, value_name = "PART.json")]
    pub parts: Vec<PathBuf>,
    /// Write the per-pair (or per mode and K) results to this CSV file.
    #[arg(long, short = 'o', value_name = "FILE.csv")]
    pub out: Option<PathBuf>,
    /// Print the summary as one JSON document on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub visual: VisualArgs,
}

pub fn run(args: MergeArgs) -> anyhow::Result<ExitCode> {
    if let Some(out) = &args.out {
        check_writable(out)?;
    }
    args.visual.check()?;
    let merged = merge_files(&args.parts)?;
    let outputs = Outputs {
        csv: args.out.as_deref(),
        json: args.json,
        visual: &args.visual,
    };
    let header = &merged.header;
    match &merged.merged {
        Merged::Pairs(report) => {
            let settings: PairSettings = header.settings()?;
            let run = PairsRun {
                set: &header.set.path,
                model: &header.model,
                direction: settings.direction,
                hop_seconds: settings.hop_seconds,
                silence_dbfs: settings.silence_dbfs,
                modes: &settings.modes,
                comparisons: None,
                kinds: None,
                parts: Some(&args.parts),
            };
            finish_pairs(&run, report, &outputs)
        }
        Merged::Stems(report, cached) => {
            let cache = cached.then_some("the shards' caches");
            finish_stems(&header.model, report, cache, Some(&args.parts), &outputs)
        }
    }
}
