//! Speed figures of the issue, measured in-process and printed (run with
//! `--nocapture` to read them). Assertions are loose bounds: the tests run
//! in the dev profile on a shared machine; the numbers in the report come
//! from these prints.

mod host;

use std::time::{Duration, Instant};

use host::*;
use nice_plug::prelude::*;

fn process_cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct; RUSAGE_SELF covers every thread
    // (the worker and the rayon threads computing features).
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 * 1e-6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

#[test]
fn real_time_process_cost_and_score_latency() {
    let rate = 48_000.0;
    let block = 512;
    let started = Instant::now();
    let mut host = Host::new(Some(test_model()));
    host.activate(rate, block as u32, ProcessMode::Realtime, STEREO_WITH_SIDECHAIN);
    let loaded = host.wait_for("model", Duration::from_secs(60), |s| s.model.is_some());
    let instantiate = started.elapsed();
    eprintln!(
        "instantiate + activate + model load: {:.0} ms (ORT session {:.0} ms)",
        instantiate.as_secs_f64() * 1e3,
        loaded.model_load_ms.unwrap()
    );

    let seconds = 5.8;
    let stem = vec![signal(rate, seconds, 1, 0.5); 2];
    let cond = vec![signal(rate, seconds, 2, 0.5); 2];
    let (mut out, mut side) = (stem.clone(), cond.clone());
    let period = Duration::from_secs_f64(block as f64 / rate as f64);
    let mut times = Vec::new();
    let mut window_end_at = None;
    let mut score_seen_at = None;
    let monitor = host.plugin.monitor();
    let t0 = Instant::now();
    let mut pos = 0;
    let mut k = 0u32;
    while pos + block <= stem[0].len() {
        // Only the plugin's process() call is timed, not the test's buffer set-up.
        host.process_block_via(&mut out, &mut side, true, pos, block, |f| {
            let t = Instant::now();
            let status = f();
            times.push(t.elapsed());
            status
        });
        pos += block;
        k += 1;
        if window_end_at.is_none() && pos >= 5 * rate as usize {
            window_end_at = Some(Instant::now());
        }
        // What the GUI would see, polled once per block (~11 ms resolution).
        if window_end_at.is_some() && score_seen_at.is_none() && monitor.with_latest(|s| s.windows_scored >= 1) {
            score_seen_at = Some(Instant::now());
        }
        // Real-time pacing: the worker sees audio arrive as in a host.
        let due = t0 + period * k;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let s = host.wait_for("first score", Duration::from_secs(30), |s| s.windows_scored >= 1);
    let latency = score_seen_at.unwrap_or_else(Instant::now) - window_end_at.unwrap();
    // Back to back (warm caches), 5 s of audio, the worker running: the cost
    // of process() itself, without the wake-up after each real-time pause.
    let mut hot = Vec::new();
    let mut pos = 0;
    while pos + 10 * block <= stem[0].len() {
        host.process_block_via(&mut out, &mut side, true, pos, block, |f| {
            let t = Instant::now();
            let status = f();
            hot.push(t.elapsed());
            status
        });
        pos += block;
    }
    hot.sort();
    eprintln!(
        "process() back to back: median {:?}, p99 {:?} per 512-frame stereo block",
        hot[hot.len() / 2],
        hot[hot.len() * 99 / 100]
    );
    times.sort();
    let median = times[times.len() / 2];
    let p99 = times[times.len() * 99 / 100];
    eprintln!(
        "process(): median {median:?}, p99 {p99:?} per 512-frame stereo block (worker running); window end -> score published: {:.0} ms (inference {:.0} ms)",
        latency.as_secs_f64() * 1e3,
        s.inference_ms.unwrap()
    );
    assert!(median < Duration::from_micros(200));
}

#[test]
fn worker_cpu_per_second_of_audio_at_hop_one_second() {
    let rate = 48_000.0;
    let mut host = Host::new(Some(test_model()));
    host.activate(rate, 1024, ProcessMode::Offline, STEREO_WITH_SIDECHAIN);
    host.wait_for("model", Duration::from_secs(60), |s| s.model.is_some());
    let seconds = 15.0;
    let stem = vec![signal(rate, seconds, 3, 0.5); 2];
    let cond = vec![signal(rate, seconds, 4, 0.5); 2];
    let cpu0 = process_cpu_seconds();
    let wall = Instant::now();
    host.run(&stem, &cond, &[1024]);
    let s = host.finish();
    let cpu = process_cpu_seconds() - cpu0;
    assert_eq!(s.windows_scored, 11);
    // Other tests run in parallel in this process: an upper bound.
    eprintln!(
        "worker: {:.1} s CPU for {seconds} s of audio at hop 1 s (3 modes) = at most {:.1} % of one core \
         ({:.1} s wall offline)",
        cpu,
        100.0 * cpu / seconds as f64,
        wall.elapsed().as_secs_f64()
    );
}
