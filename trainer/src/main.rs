//! `cocola-trainer`: train, evaluate and export COCOLA encoders.

use std::path::PathBuf;
use std::process::ExitCode;

mod cli_values;
use cli_values::{emphasis, positive_minutes, share};

use clap::ValueEnum;
use clap::{Args, Parser, Subcommand};
use cocola::contract::InputKind;
use cocola::model::arch::Pooling;
use cocola::model::ProfileAgreement;
use cocola_trainer::data::dataset::DatasetSpec;
use cocola_trainer::data::hard_negatives::KindWeights;
use cocola_trainer::data::sampler::{MaskWeights, Masks};
use cocola_trainer::model::threshold::ThresholdLoss;
use cocola_trainer::train::config::{InitFrom, LrSchedule, ProfileStarts, TrainConfig};
use cocola_trainer::train::{checkpoint, stop};

#[derive(Parser)]
#[command(
    name = "cocola-trainer",
    version,
    about = "Train, evaluate and export COCOLA encoders (libtorch)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the libtorch version, CUDA availability and the training device.
    Doctor,
    /// Train an encoder (paper recipe by default).
    Train(Box<TrainArgs>),
    /// Write a checkpoint as the ONNX model cocola and the plugin run, with
    /// metadata and the score calibration measured on validation pairs.
    Export(ExportArgs),
    /// Accuracy@K (paper Tables I-II) per dataset and mode.
    Eval(EvalArgs),
    /// List the stem cache's entries that no track of the given data sets
    /// uses (left behind when audio was re-rendered), or remove them.
    PruneStemCache(PruneArgs),
    /// Draw a run's training curves (losses, validation, sensitivity win
    /// rates against the floor, hard-negative win rates) from its
    /// metrics.jsonl; several runs are drawn together to compare them.
    /// Works on a run still training.
    Curves(CurvesArgs),
}

#[derive(Args)]
struct CurvesArgs {
    /// Run folders (each with a metrics.jsonl).
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    /// The chart, .png or .svg [default: RUN/curves.png of the first run].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Steps in the running mean drawn of the training losses (one batch
    /// each, too noisy to read step by step).
    #[arg(long, value_name = "STEPS", default_value_t = 25)]
    smooth: usize,
}

#[derive(Args)]
struct PruneArgs {
    /// The stem cache directory (a run's --cache; by default OUT/../stem-cache).
    cache: PathBuf,
    /// Dataset as KIND:PATH (repeatable): every entry one of their tracks
    /// uses, in any split, is kept. Name every data set the cache serves.
    #[arg(long = "data", required = true)]
    data: Vec<DatasetSpec>,
    /// Remove the unused entries (without it, only say what would go).
    #[arg(long)]
    delete: bool,
}

#[derive(Args)]
struct EvalArgs {
    /// Checkpoint (.json or .safetensors), or a run folder: its best
    /// checkpoint if validation chose one, else its newest.
    checkpoint: PathBuf,
    /// Dataset as KIND:PATH (repeatable); each is evaluated on its own.
    #[arg(long = "data", required = true)]
    data: Vec<DatasetSpec>,
    #[arg(long, default_value = "test")]
    split: cocola_trainer::data::dataset::Split,
    /// Batch sizes K.
    #[arg(long, value_delimiter = ',', default_value = "2,8,16,64")]
    k: Vec<usize>,
    /// Anchors per K.
    #[arg(long, default_value_t = 1000)]
    anchors: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Seed of the dataset splits (the training run's --seed).
    #[arg(long, default_value_t = 0)]
    split_seed: u64,
    /// Write the full reports as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args)]
struct ExportArgs {
    /// Checkpoint (.json or .safetensors), or a run folder: its best
    /// checkpoint if validation chose one, else its newest.
    checkpoint: PathBuf,
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value = "cocola")]
    name: String,
    #[arg(long = "model-version", default_value = "1.0.0")]
    model_version: String,
    #[arg(long, default_value = "")]
    description: String,
    #[arg(long, default_value = "")]
    license: String,
    /// What the model was trained on, in words (the run's datasets are appended).
    #[arg(long, default_value = "")]
    training_data: String,
    /// First recompute BatchNorm's running statistics for the checkpoint's
    /// weights from N training batches (recommended after short runs, whose
    /// statistics still lag the weights; 0: keep the checkpoint's, often the
    /// better estimate after a long, slow fine-tune: compare both on
    /// validation).
    #[arg(long, value_name = "N", default_value_t = 0)]
    recalibrate_bn: u64,
    /// Validation batches measured for the calibration and accuracy.
    #[arg(long, default_value_t = 20)]
    batches: u64,
}

#[derive(Args)]
struct TrainArgs {
    /// Dataset as KIND:PATH[:WEIGHT]; KIND is musdb, moisesdb, slakh,
    /// cocochorales[-random|-brass|-string|-woodwind] or generic. Repeatable.
    #[arg(long = "data", required = true)]
    data: Vec<DatasetSpec>,
    /// Run directory (checkpoints/, metrics.jsonl, config.json).
    #[arg(long)]
    out: PathBuf,
    /// Stem cache directory [default: OUT/../stem-cache].
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Steps to train. 0 writes the starting weights (--init-from with its
    /// widening and starts) as a checkpoint, untouched, for `export`.
    #[arg(long, default_value_t = 100_000)]
    steps: u64,
    /// Windows per batch, K.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Steps over which the learning rate rises linearly from lr/N to lr.
    #[arg(long, value_name = "N", default_value_t = 0)]
    warmup_steps: u64,
    /// After the warm-up: constant (the paper's), or cosine down to 0 at
    /// --steps (for a run whose length is known in advance).
    #[arg(long, value_enum, default_value_t = LrSchedule::Constant)]
    lr_schedule: LrSchedule,
    /// Standard deviation of the bilinear W at initialisation (the
    /// reference's 0.05 starts with logits of std ~10; ~0.002 near 1).
    #[arg(long, default_value_t = cocola_trainer::model::params::W_INIT_STD)]
    w_init_std: f64,
    /// Model input: hps (harmonic/percussive log-mel, 2 channels, the
    /// paper's default), mel (one log-mel channel, the paper's "w/o HPS")
    /// or pitch (hps with a harmonic channel in semitone bands from a 128 ms
    /// window, which keeps key; same shape as hps, so --init-from an hps
    /// model works) [default: the --init-from model's input, else hps].
    #[arg(long, value_name = "KIND")]
    input: Option<InputKind>,
    /// How the encoder pools its last feature map: global (the paper's
    /// average over the whole window: blind to *when* things happen, so it
    /// cannot tell a stem on the beat from the same stem shifted off it) or
    /// time-profile (adds 16 channels per ~0.33 s time cell), or
    /// time-pitch-class (--input pitch only: adds also the 12-value
    /// pitch-class profile of the harmonic channel, so the score can compare
    /// keys), or time-pitch-class-onset (adds also a 100-cell onset profile
    /// of the percussive channel, 50 ms sharp, so the score can compare
    /// grooves), or time-pitch-class-onset-harmony (adds also a pitch-class
    /// profile per second of the window, so the score can compare chords).
    /// With --init-from a model with fewer of these, the run widens
    /// it: it starts out scoring exactly as that model does [default: the
    /// --init-from model's pooling, else global].
    #[arg(long, value_name = "POOLING")]
    pooling: Option<Pooling>,
    /// Channel masks: per-pair (the reference), per-batch (the mask cannot
    /// tell pairs apart) or off [default: per-pair; off for --input mel,
    /// which has one channel to mask].
    #[arg(long, value_enum)]
    masks: Option<Masks>,
    /// How often each channel mask is drawn: e.g. both=2 gives the
    /// both-channel mode (the score users read) half the pairs or batches
    /// instead of a third; 0 never draws a mode; a mode left out keeps 1.
    #[arg(long, value_name = "MODE=W,...", default_value_t = MaskWeights::default())]
    mask_weights: MaskWeights,
    /// Share of pairs (0-1) that also get a hard negative made from their
    /// positive: transposed (harmonic and both masks), shifted off the beat
    /// or stretched (percussive and both), contrasted with every anchor of
    /// the batch. 0 is the paper's objective.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = share)]
    hard_negatives: f64,
    /// How often each kind of hard negative is drawn, among the kinds the
    /// pair's mask allows: e.g. transposed=2 makes half of the both-mask
    /// hard negatives transpositions instead of a third; 0 never draws a
    /// kind; a kind left out keeps 1.
    #[arg(long, value_name = "KIND=W,...", default_value_t = KindWeights::default())]
    hard_negative_weights: KindWeights,
    /// Pass both sides of a transposition through the pitch shifter twice:
    /// the positive by k then -k semitones (back in key), its transposed
    /// hard negative by k then another j (out of key). Without it the
    /// positive is clean and the negative alone carries the shifter's
    /// artefacts, which a model learns to hear instead of the key.
    #[arg(long)]
    matched_processing: bool,
    /// Share (0-1) of the transpositions of tracks rendered with transposed
    /// twins that use the twins (exact); the rest go through the pitch
    /// shifter like any other track's (matched with --matched-processing).
    /// Below 1 the model also learns to hear key through a shifter's
    /// artefacts, as the sensitivity test measures it. E.g. 0.5
    #[arg(long, value_name = "P", default_value_t = 1.0, value_parser = share)]
    twin_share: f64,
    /// Add the shared-threshold loss (weight WEIGHT beside the contrastive
    /// loss's 1): every positive pushed above, every negative below one line
    /// through the batch's scores, SCALE logits per raw score unit [default
    /// scale: 0.2]. The contrastive loss only orders each anchor's own
    /// candidates; this makes a coherent pair outscore incoherent pairs of
    /// other songs too, so the calibrated fit can say "fits" or "clashes"
    /// instead of "unsure" (docs/TRAINING.md). E.g. 1 or 1,0.2
    #[arg(long, value_name = "WEIGHT[,SCALE]")]
    threshold_loss: Option<ThresholdLoss>,
    /// Count each anchor's own hard negative this many times in the
    /// contrastive loss (ln N added to its logit). Once (1, the default) it is
    /// one column among K + M and moves the loss little once it scores below
    /// the positive. E.g. 8
    #[arg(long, value_name = "N", default_value_t = 1.0, requires = "hard_negatives", value_parser = emphasis)]
    hard_negative_emphasis: f64,
    /// At each validation, also run the sensitivity test (transposed,
    /// shifted, foreign stems; `cocola eval --sensitivity`) on this many
    /// anchors of the validation split; 0 turns it off.
    #[arg(long, value_name = "N", default_value_t = 64)]
    sensitivity_anchors: usize,
    /// Run the sensitivity test at the last step on this many anchors
    /// instead (the last step is then validated even off the
    /// --validate-every grid): 1000 anchors narrow its interval to about
    /// +-3 points, enough to choose between runs from the run's own record;
    /// 0 keeps the last step like any other.
    #[arg(long, value_name = "N", default_value_t = 0)]
    final_sensitivity_anchors: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Largest overlap ratio r between windows of one track in a batch.
    #[arg(long, default_value_t = 0.5)]
    max_overlap: f64,
    /// One stem per sub-mix instead of random stem subsets.
    #[arg(long, conflicts_with = "target_stem")]
    single_stem: bool,
    /// Pair one stem (the positive) with a random sub-mix of the other stems
    /// (the anchor), as a producer's stem meets the rest of the track,
    /// instead of two random subsets (the paper's).
    #[arg(long)]
    target_stem: bool,
    #[arg(long, default_value_t = 1e-3)]
    noise_std: f32,
    /// Also end the run after this many minutes of its time (loading
    /// included, summed over resumes), like a run that reached --steps,
    /// which then only bounds it: the cosine follows whichever of the two
    /// is further along, so a run on a machine lent for a fixed time still
    /// ends at a learning rate of 0, validated and checkpointed.
    #[arg(long, value_name = "MINUTES", value_parser = positive_minutes)]
    time_budget: Option<f64>,
    #[arg(long, default_value_t = 1000)]
    validate_every: u64,
    #[arg(long, default_value_t = 20)]
    validation_batches: u64,
    #[arg(long, default_value_t = 1000)]
    checkpoint_every: u64,
    /// Feature worker threads [default: CPU cores - 1].
    #[arg(long)]
    workers: Option<usize>,
    #[arg(long, default_value_t = 8)]
    prefetch: usize,
    /// Train on the CPU even if CUDA is available.
    #[arg(long)]
    cpu: bool,
    /// libtorch CPU threads (0: libtorch's default).
    #[arg(long, default_value_t = 0)]
    torch_threads: usize,
    /// Cache computed window features in DIR, keyed by the window's exact
    /// samples (pays off for validation, resumes and same-seed sweeps).
    #[arg(long, value_name = "DIR")]
    feature_cache: Option<PathBuf>,
    /// Size cap of --feature-cache in GiB (new windows are not stored beyond it).
    #[arg(long, default_value_t = 20)]
    feature_cache_max_gb: u64,
    /// Start from the weights of an exported model (.onnx, e.g. the shipped
    /// bundles/models/default.onnx) instead of a random initialisation:
    /// fine-tune it on --data. Adam starts fresh; --w-init-std is unused.
    #[arg(long, value_name = "MODEL")]
    init_from: Option<PathBuf>,
    /// With --init-from and --pooling time-pitch-class: start the
    /// pitch-class profile as a key reader instead of from zero columns.
    /// The 12 embedding dimensions the score relies on least read only the
    /// profile (GAIN per unit) and W scores their agreement between the two
    /// sides (WEIGHT); training moves both (docs/TRAINING.md). A third
    /// field `consonance` scores every interval between the two sides'
    /// classes, as --harmony-start does. E.g. 0.01,100
    #[arg(long, value_name = "GAIN,WEIGHT[,consonance]")]
    pitch_class_start: Option<ProfileAgreement>,
    /// With --init-from and --pooling time-pitch-class-onset: start the
    /// onset profile as a groove reader instead of from zero columns. The
    /// 100 embedding dimensions the score relies on least (after the pitch
    /// classes') read only the profile's 50 ms cells (GAIN per unit of its
    /// root mean square) and W scores their agreement between the two
    /// sides (WEIGHT), as the floor's onset correlation (docs/TRAINING.md).
    /// E.g. 1,6
    #[arg(long, value_name = "GAIN,WEIGHT")]
    onset_start: Option<ProfileAgreement>,
    /// With --init-from and --pooling time-pitch-class-onset-harmony: start
    /// the harmony profile as a chord reader instead of from zero columns.
    /// The 60 embedding dimensions the score relies on least (after the
    /// other profiles') read only its 1 s cells of pitch classes (GAIN per
    /// unit) and W scores their agreement between the two sides, second by
    /// second (WEIGHT; docs/TRAINING.md). A third field `consonance`
    /// scores every interval between the two sides' classes of a second
    /// (a semitone clash costs, a third or fifth counts a little) instead
    /// of unison alone. E.g. 0.005,80 or 0.005,50,consonance
    #[arg(long, value_name = "GAIN,WEIGHT[,consonance]")]
    harmony_start: Option<ProfileAgreement>,
    /// With a profile start (--pitch-class-start, --onset-start,
    /// --harmony-start): the started dimensions
    /// keep reading only their profile while the rest trains (their
    /// projection rows and LayerNorm entries never move; W still does).
    /// Without it, fine-tuning soon gives them weights on every other
    /// feature too, and the start's gain fades (docs/TRAINING.md)
    #[arg(long)]
    hold_starts: bool,
    /// With --init-from: train only the head (the time profile's 1x1 conv,
    /// the projection, its LayerNorm and W); the EfficientNet backbone
    /// keeps its weights and BatchNorm statistics and runs as in inference,
    /// with no backward pass through it, so a CPU step is several times
    /// faster. For teaching a trained model to read what its features
    /// already hold, at learning rates that would wear the backbone down.
    #[arg(long, requires = "init_from")]
    freeze_backbone: bool,
    /// Continue from the newest checkpoint in OUT/checkpoints.
    #[arg(long)]
    resume: bool,
}

impl TrainArgs {
    fn config(self) -> anyhow::Result<(TrainConfig, bool)> {
        let cache = self
            .cache
            .unwrap_or_else(|| self.out.parent().unwrap_or(&self.out).join("stem-cache"));
        let mut c = TrainConfig::paper(self.data, self.out, cache);
        c.steps = self.steps;
        c.batch = self.batch;
        c.lr = self.lr;
        c.warmup_steps = self.warmup_steps;
        c.lr_schedule = self.lr_schedule;
        c.w_init_std = self.w_init_std;
        // What is not given follows the model the run starts from, so that
        // fine-tuning a model needs no flag to say what it already is.
        let base = match &self.init_from {
            Some(base) => {
                let bytes = std::fs::read(base).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", base.display()))?;
                Some(cocola::model::read_metadata(&bytes, &base.display().to_string())?)
            }
            None => None,
        };
        c.input = (self.input)
            .or(base.as_ref().map(|b| b.input))
            .unwrap_or(InputKind::Hps);
        c.pooling = (self.pooling)
            .or(base.as_ref().map(|b| b.pooling))
            .unwrap_or(Pooling::Global);
        anyhow::ensure!(
            c.pooling.supports(c.input),
            "--pooling {} reads the harmonic channel's semitone bands: it needs --input pitch, not {}",
            c.pooling,
            c.input
        );
        c.masks = match (c.input.splits_harmonic_percussive(), self.masks) {
            (true, masks) => masks.unwrap_or(Masks::PerPair),
            (false, None | Some(Masks::Off)) => Masks::Off,
            (false, Some(m)) => anyhow::bail!(
                "--masks {} needs the two channels of --input hps or pitch; a mel model has one (use --masks off)",
                m.to_possible_value()
                    .map_or("?".to_string(), |v| v.get_name().to_string())
            ),
        };
        anyhow::ensure!(
            c.masks != Masks::Off || self.mask_weights == MaskWeights::default(),
            "--mask-weights weighs the channel masks, which --masks off (or --input mel) does not draw"
        );
        c.mask_weights = self.mask_weights;
        c.hard_negatives = self.hard_negatives;
        c.hard_negative_weights = self.hard_negative_weights;
        c.matched_processing = self.matched_processing;
        c.twin_share = self.twin_share;
        c.threshold_loss = self.threshold_loss;
        c.hard_negative_emphasis = self.hard_negative_emphasis;
        c.sensitivity_anchors = self.sensitivity_anchors;
        c.final_sensitivity_anchors = self.final_sensitivity_anchors;
        c.seed = self.seed;
        c.max_overlap = self.max_overlap;
        c.single_stem = self.single_stem;
        c.target_stem = self.target_stem;
        c.noise_std = self.noise_std;
        c.validate_every = self.validate_every;
        c.validation_batches = self.validation_batches;
        c.checkpoint_every = self.checkpoint_every;
        c.time_budget_s = self.time_budget.map(|minutes| minutes * 60.0);
        if let Some(w) = self.workers {
            c.workers = w.max(1);
        }
        c.prefetch = self.prefetch;
        c.cpu = self.cpu;
        c.torch_threads = self.torch_threads;
        c.feature_cache = self.feature_cache;
        c.feature_cache_max_gb = self.feature_cache_max_gb;
        c.init_from = self
            .init_from
            .as_deref()
            .map(|p| InitFrom::read(p, c.input, c.pooling))
            .transpose()?;
        c.start_profiles(ProfileStarts {
            pitch_class: self.pitch_class_start,
            onset: self.onset_start,
            harmony: self.harmony_start,
            hold: self.hold_starts,
        })?;
        c.freeze_backbone = self.freeze_backbone;
        Ok((c, self.resume))
    }
}

fn main() -> ExitCode {
    // See the module: halves a CPU training step on glibc.
    let _ = cocola_trainer::malloc::keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Doctor => {
            print!("{}", cocola_trainer::doctor::report());
            Ok(())
        }
        Command::Train(args) => return train(*args),
        Command::Export(a) => {
            let opts = cocola_trainer::export::ExportOptions {
                name: a.name,
                version: a.model_version,
                description: a.description,
                license: a.license,
                batches: a.batches,
                training_data: a.training_data,
                recalibrate_bn_batches: a.recalibrate_bn,
            };
            checkpoint::resolve(&a.checkpoint)
                .inspect(|p| eprintln!("checkpoint {}", p.display()))
                .and_then(|checkpoint| cocola_trainer::export::export(&checkpoint, &a.out, &opts))
                .map(|meta| {
                    print!("{meta}");
                    eprintln!("wrote {}", a.out.display());
                })
        }
        Command::Eval(a) => eval(a),
        Command::PruneStemCache(a) => prune_stem_cache(&a),
        Command::Curves(a) => {
            let out = a.out.unwrap_or_else(|| a.runs[0].join("curves.png"));
            cocola_trainer::curves::write(&a.runs, &out, a.smooth).map(|chart| {
                for run in &chart.runs {
                    eprintln!("{}: {} steps", run.name, run.last_step());
                }
                println!("{}", out.display());
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Trains; a run stopped with Ctrl-C (or SIGTERM) first checkpoints the step
/// it was in and exits with [`stop::EXIT_CODE`].
fn train(args: TrainArgs) -> ExitCode {
    let result = args.config().and_then(|(config, resume)| {
        stop::install()?;
        cocola_trainer::train::run(&config, resume, true)
    });
    match result {
        Ok(o) if o.stopped_early => {
            let kept = o.last_checkpoint.map_or("none".into(), |p| p.display().to_string());
            eprintln!(
                "stopped at step {} of {} on request; checkpoint {kept}. \
                 Run the same command with --resume to continue.",
                o.last_step, o.steps
            );
            ExitCode::from(stop::EXIT_CODE)
        }
        Ok(o) => {
            if let Some(p) = o.last_checkpoint {
                let why = if o.last_step < o.steps {
                    " (the time budget is spent)"
                } else {
                    ""
                };
                eprintln!("done: step {}{why}, checkpoint {}", o.last_step, p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn eval(a: EvalArgs) -> anyhow::Result<()> {
    let device = tch::Device::cuda_if_available();
    let checkpoint = checkpoint::resolve(&a.checkpoint)?;
    eprintln!("checkpoint {}", checkpoint.display());
    let (net, _) = cocola_trainer::export::load_network(&checkpoint, device)?;
    let options = cocola::eval::SubmixOptions {
        ks: a.k,
        anchors: a.anchors,
        seed: a.seed,
        modes: net.arch.input.modes().to_vec(),
        ..Default::default()
    };
    let mut reports = Vec::new();
    for spec in &a.data {
        let report = cocola_trainer::eval::evaluate(&net, spec, a.split, a.split_seed, &options)?;
        println!(
            "{} ({} split, {} tracks)",
            spec.kind.label(),
            a.split.name(),
            report.tracks_used
        );
        for r in &report.results {
            println!(
                "  K={:<3} {:<10} {:6.2} %  (chance {:.2} %, {} anchors)",
                r.accuracy.k,
                r.mode.name(),
                100.0 * r.accuracy.accuracy,
                100.0 * r.accuracy.chance,
                r.accuracy.anchors
            );
        }
        for s in &report.skipped {
            println!("  K={} skipped: {}", s.k, s.reason);
        }
        reports.push(report);
    }
    if let Some(path) = a.json {
        std::fs::write(&path, serde_json::to_vec_pretty(&reports)?)?;
    }
    Ok(())
}

fn prune_stem_cache(a: &PruneArgs) -> anyhow::Result<()> {
    use cocola_trainer::data::{prepare::cache_keys, stem_cache::unused_entries};
    // Keys do not depend on how tracks are split, so any split seed lists them all.
    let keys = cache_keys(&a.data, 0)?;
    let unused = unused_entries(&a.cache, &keys)
        .map_err(|e| anyhow::anyhow!("cannot read the stem cache {}: {e}", a.cache.display()))?;
    let bytes: u64 = unused.iter().map(|(_, len)| len).sum();
    let gb = bytes as f64 / 1e9;
    if !a.delete {
        println!(
            "unused entries: {} ({gb:.1} GB), of no track of these data sets; --delete removes them",
            unused.len()
        );
        return Ok(());
    }
    for (path, _) in &unused {
        std::fs::remove_file(path).map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", path.display()))?;
    }
    println!("removed unused entries: {} ({gb:.1} GB)", unused.len());
    Ok(())
}
