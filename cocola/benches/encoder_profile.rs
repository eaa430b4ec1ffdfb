//! Where the encoder's time goes inside ONNX Runtime, for the shipped graph:
//! the plugin's batch (condition + stem x 3 modes = 6 rows) on one intra-op
//! thread, as the CLI and the plugin run it.
//!
//! ```text
//! cargo bench -p cocola --bench encoder_profile -- [RUNS] [MODEL.onnx]
//! ```
//!
//! Prints, in one process:
//! 1. the time of one batch at each ONNX Runtime graph-optimisation level,
//!    as a ratio to the level cocola uses (all optimisations);
//! 2. ONNX Runtime's own per-operator profile at that level: share of the
//!    kernel time and milliseconds per batch for each operator type of the
//!    optimised graph (`QuickGelu` is the fused `x * sigmoid(x)`,
//!    `ReorderInput`/`ReorderOutput` the layout changes around the operators
//!    that cannot run in the blocked NCHWc layout).
//!
//! MODEL defaults to the embedded default model; the weights do not change
//! the cost, only the architecture (and pooling) does. RUNS defaults to 20.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use cocola::contract::FEATURE_LEN;
use cocola::model::runtime;
use cocola::model::testing;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;

const BATCH: usize = 6;

fn session(bytes: &[u8], level: GraphOptimizationLevel, profile: Option<&std::path::Path>) -> Session {
    let rt = runtime::init(None, None).unwrap_or_else(|e| panic!("{e}"));
    let mut builder = Session::builder(rt.environment())
        .expect("session builder")
        .with_intra_threads(1)
        .expect("threads")
        .with_inter_threads(1)
        .expect("threads")
        .with_intra_op_spinning(false)
        .expect("spinning")
        .with_optimization_level(level)
        .expect("level");
    if let Some(prefix) = profile {
        builder = builder.with_profiling(prefix).expect("profiling");
    }
    builder.commit_from_memory(bytes).expect("load the model")
}

/// Median milliseconds of one batch over `runs` runs, after two warm-ups.
fn time_batch(session: &mut Session, features: &[f32], runs: usize) -> f64 {
    let shape = [BATCH, 2, 64, 501];
    let mut once = || {
        let input = TensorRef::from_array_view((shape, features)).expect("input");
        let start = Instant::now();
        session.run(ort::inputs!["features" => input]).expect("run");
        start.elapsed().as_secs_f64() * 1e3
    };
    once();
    once();
    let mut times: Vec<f64> = (0..runs).map(|_| once()).collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Sums ONNX Runtime's trace events of kind "Node" (one per kernel run) by
/// operator type: (op type -> (microseconds, kernel runs)).
fn kernel_time_by_op(trace: &str) -> BTreeMap<String, (f64, usize)> {
    let events: Vec<serde_json::Value> = serde_json::from_str(trace).expect("ONNX Runtime's profile is JSON");
    let mut by_op = BTreeMap::new();
    for e in &events {
        let is_kernel = e["cat"] == "Node" && e["name"].as_str().is_some_and(|n| n.ends_with("_kernel_time"));
        if !is_kernel {
            continue;
        }
        let op = e["args"]["op_name"].as_str().unwrap_or("?").to_string();
        let entry = by_op.entry(op).or_insert((0.0, 0));
        entry.0 += e["dur"].as_f64().unwrap_or(0.0);
        entry.1 += 1;
    }
    by_op
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let runs: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(20);
    let bytes = match args.get(1) {
        Some(path) => std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}")),
        None => cocola::default_model::embedded()
            .expect("this build embeds a default model")
            .to_vec(),
    };
    let features: Vec<f32> = (0..BATCH)
        .flat_map(|i| testing::random_features(&format!("profile.{i}"), 1))
        .collect();
    assert_eq!(features.len(), BATCH * FEATURE_LEN);

    println!("encoder, batch {BATCH}, 1 intra-op thread, median of {runs} runs");
    let levels = [
        ("all (what cocola uses)", GraphOptimizationLevel::All),
        ("extended (no NCHWc layout)", GraphOptimizationLevel::Level2),
        ("basic (constant folding, Conv+BN)", GraphOptimizationLevel::Level1),
        ("none", GraphOptimizationLevel::Disable),
    ];
    let mut baseline = None;
    for (name, level) in levels {
        let ms = time_batch(&mut session(&bytes, level, None), &features, runs);
        let base = *baseline.get_or_insert(ms);
        println!("  {name:36} {ms:7.2} ms   {:5.2}x the time of 'all'", ms / base);
    }

    let dir = tempfile::tempdir().expect("temporary folder");
    let prefix: PathBuf = dir.path().join("encoder");
    let mut profiled = session(&bytes, GraphOptimizationLevel::All, Some(&prefix));
    let ms = time_batch(&mut profiled, &features, runs);
    let trace_path = profiled.end_profiling().expect("end profiling");
    let trace = std::fs::read_to_string(&trace_path).expect("read the profile");
    let by_op = kernel_time_by_op(&trace);
    let batches = (runs + 2) as f64;
    let total: f64 = by_op.values().map(|(us, _)| us).sum();
    let mut rows: Vec<_> = by_op.into_iter().collect();
    rows.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    println!(
        "\nper operator type ({ms:.2} ms per batch while profiled; kernels {:.2} ms):",
        total / batches / 1e3
    );
    println!("  {:26} {:>7} {:>12} {:>8}", "operator", "share", "ms/batch", "nodes");
    for (op, (us, count)) in rows {
        println!(
            "  {op:26} {:6.1} % {:12.2} {:>8}",
            100.0 * us / total,
            us / batches / 1e3,
            count / (runs + 2)
        );
    }
}
