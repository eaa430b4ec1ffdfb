//! process() never allocates or frees, with the worker running and scoring.
//! Built only with `--features assert_process_allocs`: nice-plug then installs
//! an allocator that aborts the process on any (de)allocation inside
//! `assert_no_alloc`. `cargo xtask test` runs it.

mod host;

use std::time::{Duration, Instant};

use host::*;
use nice_plug::prelude::*;

#[test]
fn process_never_allocates() {
    for (mode, layout) in [
        (ProcessMode::Realtime, STEREO_WITH_SIDECHAIN),
        (ProcessMode::Offline, MONO_WITH_SIDECHAIN),
        (ProcessMode::Realtime, STEREO_NO_SIDECHAIN),
    ] {
        let rate = 48_000.0;
        let mut host = Host::new(Some(test_model()));
        host.activate(rate, 4096, mode, layout);
        let channels = if layout == MONO_WITH_SIDECHAIN { 1 } else { 2 };
        let stem = vec![signal(rate, 6.0, 1, 0.5); channels];
        let cond = if layout == STEREO_NO_SIDECHAIN {
            vec![]
        } else {
            vec![signal(rate, 6.0, 2, 0.5); channels]
        };
        let mut out = stem.clone();
        let mut side = cond.clone();
        let has_aux = layout != STEREO_NO_SIDECHAIN;
        let sizes = [512, 1, 4096, 100, 7];
        let (mut pos, mut k) = (0, 0);
        while pos < stem[0].len() {
            let n = sizes[k % sizes.len()].min(stem[0].len() - pos);
            k += 1;
            // Only the plugin's process() runs inside the guard; building the
            // test's buffers may allocate.
            host.process_block_checked(&mut out, &mut side, has_aux, pos, n);
            pos += n;
            if k % 5 == 0 {
                host.plugin.reset();
            }
        }
        let s = host.finish();
        assert!(s.model.is_some(), "{:?}", s.state);
    }
}

#[test]
fn process_time_per_512_block() {
    // Not an assertion on speed (debug build, shared machine): prints the
    // figure for the report. The release figure comes from the bench.
    let rate = 48_000.0;
    let mut host = Host::new(Some(test_model()));
    host.activate(rate, 512, ProcessMode::Realtime, STEREO_WITH_SIDECHAIN);
    let stem = vec![signal(rate, 2.0, 1, 0.5); 2];
    let cond = vec![signal(rate, 2.0, 2, 0.5); 2];
    let (mut out, mut side) = (stem.clone(), cond.clone());
    let start = Instant::now();
    let mut blocks = 0;
    let mut pos = 0;
    while pos + 512 <= stem[0].len() {
        host.process_block_checked(&mut out, &mut side, true, pos, 512);
        pos += 512;
        blocks += 1;
    }
    let per_block = start.elapsed() / blocks;
    eprintln!("process(): {per_block:?} per 512-frame stereo block (incl. test buffer setup)");
    assert!(per_block < Duration::from_millis(1));
}
