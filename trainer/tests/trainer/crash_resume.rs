//! Crash safety of the real binary: `cocola-trainer train` killed with
//! SIGKILL right after its first checkpoint leaves only complete checkpoints,
//! and `--resume` continues from the newest one; stopped with Ctrl-C, it
//! first checkpoints the step it was in.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cocola_trainer::train::checkpoint;

fn train(data: &Path, out: &Path, steps: u64, checkpoint_every: u64, resume: bool) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cocola-trainer"));
    c.arg("train")
        .arg("--data")
        .arg(format!("generic:{}", data.display()))
        .arg("--out")
        .arg(out)
        .args(["--steps", &steps.to_string()])
        .args(["--batch", "2", "--validate-every", "0"])
        .args(["--checkpoint-every", &checkpoint_every.to_string()])
        .args(["--workers", "1", "--prefetch", "2", "--cpu", "--torch-threads", "1"])
        .env("OMP_NUM_THREADS", "1")
        .env("OMP_WAIT_POLICY", "PASSIVE");
    if resume {
        c.arg("--resume");
    }
    c
}

/// Every file under its final name in `dir` is complete: each JSON parses
/// and its weights load.
fn assert_no_torn_checkpoint(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue; // a temporary the kill interrupted: never read
        }
        let path: PathBuf = entry.path();
        let loaded = checkpoint::load(&path).unwrap_or_else(|e| panic!("torn checkpoint {name}: {e:#}"));
        assert!(!loaded.tensors.is_empty(), "{name}: no tensors");
    }
}

/// A 1000-step run on generated data in a new temporary folder, started and
/// left running until `ready(run folder)` holds (90 s at most).
struct Started {
    _dir: tempfile::TempDir,
    data: PathBuf,
    out: PathBuf,
    child: std::process::Child,
}

fn start_until(checkpoint_every: u64, what: &str, ready: impl Fn(&Path) -> bool) -> Started {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    crate::support::generic(&data, 8, 3, 8.0);
    let out = dir.path().join("run");
    // Far more steps than it will live for: it is stopped first.
    let mut child = train(&data, &out, 1000, checkpoint_every, false)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !ready(&out) {
        assert!(Instant::now() < deadline, "no {what} within 90 s");
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("trainer exited early ({status}): {err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Started {
        _dir: dir,
        data,
        out,
        child,
    }
}

#[test]
fn sigkill_after_a_checkpoint_then_resume_continues_from_it() {
    let t0 = Instant::now();
    let Started {
        _dir,
        data,
        out,
        mut child,
    } = start_until(2, "checkpoint", |out| {
        !checkpoint::periodic(&out.join("checkpoints")).is_empty()
    });
    let ckpts = out.join("checkpoints");
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(!status.success(), "the trainer was killed, not finished");
    let killed_after = t0.elapsed();

    assert_no_torn_checkpoint(&ckpts);
    let newest = checkpoint::latest(&ckpts).expect("a checkpoint survived the kill");
    let s = newest.info.step;
    assert!(s >= 2 && s.is_multiple_of(2), "checkpoint step {s}");

    // Resume and train two more steps: it must start exactly at step s.
    let resumed = train(&data, &out, s + 2, 2, true).output().unwrap();
    let err = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "resume failed: {err}");
    assert!(
        err.contains(&format!("(step {s})")),
        "did not resume from step {s}: {err}"
    );
    assert_no_torn_checkpoint(&ckpts);
    let last = checkpoint::latest(&ckpts).unwrap();
    assert_eq!(last.info.step, s + 2);
    assert!(last.tensors.values().all(|t| t.isfinite().all().int64_value(&[]) != 0));

    // The metrics read like one run: train steps 1..=s+2, each once.
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let steps: Vec<u64> = metrics
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "train")
        .map(|v| v["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, (1..=s + 2).collect::<Vec<_>>());
    println!(
        "killed after {killed_after:.1?} at checkpoint step {s}; whole test {:.1?}",
        t0.elapsed()
    );
}

/// The steps of `metrics.jsonl`'s training records, in file order.
fn train_steps(out: &Path) -> Vec<u64> {
    std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["kind"] == "train")
        .map(|v| v["step"].as_u64().unwrap())
        .collect()
}

#[test]
fn ctrl_c_checkpoints_the_current_step_then_resume_continues_there() {
    // Periodic checkpoints far apart: only the stop can write one.
    let Started { _dir, data, out, child } = start_until(500, "training step", |out| !train_steps(out).is_empty());
    let ckpts = out.join("checkpoints");
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let stopped = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&stopped.stderr);
    assert_eq!(stopped.status.code(), Some(130), "{err}");
    assert!(err.contains("--resume"), "{err}");

    // The checkpoint is of the last step taken, not of a periodic interval.
    assert_no_torn_checkpoint(&ckpts);
    let s = *train_steps(&out).last().unwrap();
    let newest = checkpoint::latest(&ckpts).expect("the stop wrote a checkpoint");
    assert_eq!(newest.info.step, s);
    assert!(s < 1000);
    assert!(err.contains(&format!("stopped at step {s} of 1000")), "{err}");

    let resumed = train(&data, &out, s + 1, 500, true).output().unwrap();
    let err = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "resume failed: {err}");
    assert!(
        err.contains(&format!("(step {s})")),
        "did not resume from step {s}: {err}"
    );
    assert_eq!(train_steps(&out), (1..=s + 1).collect::<Vec<_>>());
}
