//! `cocola eval --stems` (accuracy@K), cold and warm, windowed decoding
//! against the whole-file path it replaced (`eval::submix::whole_file`), in
//! one bench run on one generated set: wall time, CPU time (user + system,
//! all threads) and peak resident memory of each run (each in a fresh child
//! process, so that the peak is its own), and the ratios.
//!
//! ```text
//! cargo bench -p cocola --bench eval_stems -- [STEM_HOURS] [ANCHORS]
//! ```
//!
//! The set is written by the bench (44.1 kHz stereo 16-bit WAV, tracks of
//! four 3-minute stems with rests, ~635 MB per stem-hour) into
//! `$COCOLA_BENCH_DIR` (default: the system's temporary folder) and deleted
//! afterwards; STEM_HOURS defaults to 6 (3.8 GB), ANCHORS (per K, K = 2, 8,
//! 16, 64) to the CLI's 1 000. Both paths run the features of every window
//! they embed; the encoder is a stand-in (an average of the features), so the
//! figures are those of decoding, resampling, hashing and features, which is
//! what windowed decoding changes (the encoder's cost is the same on both
//! paths: rows x per-row time, see the encoder bench). The files are in the
//! page cache for every run (just written), so the runs compare CPU, not disk.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use cocola::contract::{InputKind, EMBEDDING_DIM};
use cocola::eval::cache::EmbeddingCache;
use cocola::eval::embed::Encoder;
use cocola::eval::submix::whole_file::evaluate_whole_files;
use cocola::eval::submix::{evaluate_submixes, SubmixOptions};
use cocola::eval::NoProgress;
use cocola::model::{Embeddings, ModelError};

const RATE: u32 = 44_100;
const STEM_SECONDS: usize = 180;
const STEMS_PER_TRACK: usize = 4;

/// Embeddings from the features alone: each of the 512 outputs the mean of
/// one slice of the feature tensor, so windows that differ embed differently.
struct FeatureMeans;

impl Encoder for FeatureMeans {
    fn input(&self) -> InputKind {
        InputKind::Hps
    }
    fn encode(&mut self, features: &[f32], rows: usize) -> Result<Embeddings, ModelError> {
        let len = features.len() / rows.max(1);
        let slice = len / EMBEDDING_DIM;
        let embedding: Vec<f32> = features
            .chunks(len)
            .flat_map(|row| {
                row.chunks(slice)
                    .take(EMBEDDING_DIM)
                    .map(|s| s.iter().sum::<f32>() / s.len() as f32)
            })
            .collect();
        Ok(Embeddings {
            w_embedding: embedding.clone(),
            embedding,
            batch: rows,
        })
    }
}

/// Writes a 16-bit stereo WAV of one stem: a tone with a harmonic and a
/// tremolo, seeded noise, and rests (silent stretches) so that the silence
/// profile has work to do.
fn write_stem(path: &Path, seed: u64) {
    let frames = RATE as usize * STEM_SECONDS;
    let data_bytes = frames * 4;
    let mut bytes = Vec::with_capacity(44 + data_bytes);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&((36 + data_bytes) as u32).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&RATE.to_le_bytes());
    bytes.extend_from_slice(&(RATE * 4).to_le_bytes());
    bytes.extend_from_slice(&4u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&(data_bytes as u32).to_le_bytes());
    let table: Vec<f32> = (0..4096)
        .map(|i| (i as f32 / 4096.0 * std::f32::consts::TAU).sin())
        .collect();
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let freq = 55.0 * (1.0 + (seed % 24) as f32 / 4.0);
    let step = (freq / RATE as f32 * 4096.0 * 65536.0) as u32;
    let mut phase = 0u32;
    let rest_every = 20 + (seed % 7) as usize;
    for i in 0..frames {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        phase = phase.wrapping_add(step);
        let at = (phase >> 16) as usize & 4095;
        let second = i / RATE as usize;
        let playing = second % rest_every >= 3;
        let tremolo = 0.75 + 0.25 * table[(i / 64) & 4095];
        let tone = if playing {
            tremolo * (0.25 * table[at] + 0.08 * table[(2 * at) & 4095]) + 0.03 * noise
        } else {
            0.0
        };
        for v in [tone, 0.8 * tone + 0.01 * noise * f32::from(u8::from(playing))] {
            bytes.extend_from_slice(&((v.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes());
        }
    }
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("create the track folder");
    std::fs::write(path, bytes).expect("write a stem");
}

/// User + system CPU seconds of this process, all threads.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(f64::NAN);
    // Fields 14 and 15 of the file, 12 and 13 after the command name; 100 ticks per second on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident memory of this process, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// What one run measured, as the child process reports it.
struct Measured {
    wall: f64,
    cpu: f64,
    peak_mib: f64,
    results: serde_json::Value,
}

/// Runs `phase` in a child process (a fresh heap, so that peak memory is
/// that run's own) and reads back what it measured.
fn measure(phase: &str, set: &Path, cache: &Path, anchors: usize) -> Measured {
    let out = cache.with_extension(format!("{}.json", phase.replace(' ', "-")));
    let status = std::process::Command::new(std::env::current_exe().expect("this bench"))
        .env("COCOLA_BENCH_PHASE", phase)
        .env("COCOLA_BENCH_SET", set)
        .env("COCOLA_BENCH_CACHE", cache)
        .env("COCOLA_BENCH_OUT", &out)
        .env("COCOLA_BENCH_ANCHORS", anchors.to_string())
        .status()
        .expect("run the phase");
    assert!(status.success(), "{phase} failed");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("the phase's report")).expect("json");
    let m = Measured {
        wall: doc["wall"].as_f64().unwrap_or(f64::NAN),
        cpu: doc["cpu"].as_f64().unwrap_or(f64::NAN),
        peak_mib: doc["peak_mib"].as_f64().unwrap_or(f64::NAN),
        results: doc["results"].clone(),
    };
    println!(
        "{phase:<20} wall {:>8.2} s   cpu {:>8.2} s   peak RSS {:>7.0} MiB",
        m.wall, m.cpu, m.peak_mib
    );
    m
}

/// The child's side of [`measure`].
fn run_phase(phase: &str) {
    let var = |name: &str| std::env::var_os(name).map(PathBuf::from).expect("set by the parent");
    let (set, cache, out) = (
        var("COCOLA_BENCH_SET"),
        var("COCOLA_BENCH_CACHE"),
        var("COCOLA_BENCH_OUT"),
    );
    let anchors = std::env::var("COCOLA_BENCH_ANCHORS")
        .ok()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let options = SubmixOptions {
        anchors,
        ..SubmixOptions::default()
    };
    let cache = EmbeddingCache::open(&cache, "bench-model").expect("open the cache");
    let (cpu0, wall0) = (cpu_seconds(), Instant::now());
    let results = if phase.starts_with("whole") {
        evaluate_whole_files(&mut FeatureMeans, &cache, &set, &options, &NoProgress).expect("whole-file run")
    } else {
        evaluate_submixes(&mut FeatureMeans, &cache, &set, &options, &NoProgress)
            .expect("windowed run")
            .results
    };
    let doc = serde_json::json!({
        "wall": wall0.elapsed().as_secs_f64(),
        "cpu": cpu_seconds() - cpu0,
        "peak_mib": peak_rss_mib(),
        "results": results,
    });
    std::fs::write(out, serde_json::to_vec(&doc).expect("json")).expect("write the phase's report");
}

/// Equal accuracies, coherent/random score distributions within 1e-4.
fn same_results(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    let (Some(a), Some(b)) = (a.as_array(), b.as_array()) else {
        return false;
    };
    let close = |x: &serde_json::Value, y: &serde_json::Value| match (x.as_f64(), y.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-4,
        _ => x == y,
    };
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x["mode"] == y["mode"]
                && x["k"] == y["k"]
                && x["accuracy"] == y["accuracy"]
                && ["coherent", "random"]
                    .iter()
                    .all(|d| ["mean", "std"].iter().all(|f| close(&x[d][f], &y[d][f])))
        })
}

fn main() {
    if let Ok(phase) = std::env::var("COCOLA_BENCH_PHASE") {
        return run_phase(&phase);
    }
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let stem_hours: f64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(6.0);
    let anchors: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let base = std::env::var_os("COCOLA_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = tempfile::tempdir_in(base).expect("a temporary folder");
    let set = dir.path().join("set");
    let tracks = ((stem_hours * 3600.0) / (STEMS_PER_TRACK * STEM_SECONDS) as f64)
        .ceil()
        .max(2.0) as usize;
    let started = Instant::now();
    (0..tracks * STEMS_PER_TRACK).into_par_iter().for_each(|i| {
        let (t, s) = (i / STEMS_PER_TRACK, i % STEMS_PER_TRACK);
        write_stem(&set.join(format!("track{t:04}/stem{s}.wav")), i as u64);
    });
    let hours = (tracks * STEMS_PER_TRACK * STEM_SECONDS) as f64 / 3600.0;
    println!(
        "set: {tracks} tracks x {STEMS_PER_TRACK} stems x {STEM_SECONDS} s = {hours:.2} stem-hours of 44.1 kHz stereo WAV ({:.2} GB), written in {:.0} s; {anchors} anchors per K, K = 2, 8, 16, 64; {} threads",
        (tracks * STEMS_PER_TRACK) as f64 * (44.0 + (RATE as usize * STEM_SECONDS * 4) as f64) / 1e9,
        started.elapsed().as_secs_f64(),
        rayon::current_num_threads(),
    );
    let whole_cache = dir.path().join("cache-whole");
    let windowed_cache = dir.path().join("cache-windowed");
    let whole_cold = measure("whole-file cold", &set, &whole_cache, anchors);
    let whole_warm = measure("whole-file warm", &set, &whole_cache, anchors);
    let windowed_cold = measure("windowed cold", &set, &windowed_cache, anchors);
    let windowed_warm = measure("windowed warm", &set, &windowed_cache, anchors);
    let same = same_results(&whole_cold.results, &windowed_cold.results)
        && same_results(&windowed_cold.results, &windowed_warm.results)
        && same_results(&whole_cold.results, &whole_warm.results);
    println!("results identical (accuracies equal, score distributions within 1e-4): {same}");
    println!(
        "cold: windowed uses {:.1}x less CPU, {:.1}x less wall time, {:.1}x less peak memory than whole-file",
        whole_cold.cpu / windowed_cold.cpu,
        whole_cold.wall / windowed_cold.wall,
        whole_cold.peak_mib / windowed_cold.peak_mib
    );
    println!(
        "warm: windowed is {:.1}x faster (wall) than its cold run, {:.1}x less CPU; whole-file warm vs cold: {:.1}x",
        windowed_cold.wall / windowed_warm.wall,
        windowed_cold.cpu / windowed_warm.cpu,
        whole_cold.wall / whole_warm.wall
    );
    println!(
        "warm vs whole-file warm: {:.1}x less CPU",
        whole_warm.cpu / windowed_warm.cpu
    );
    assert!(same, "the windowed path must give the whole-file path's results");
}
