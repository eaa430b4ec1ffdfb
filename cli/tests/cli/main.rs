//! Tests of the `cocola` command, one binary: what a user types, what they
//! get back, and how it fails (each module one area).

mod eval_pairs;
mod eval_speed;
mod perturb;
mod quantize;
mod rank_and_reports;
mod score;
mod sensitivity;
mod shard_merge;
// Shared with the library's tests, which use helpers these do not.
#[allow(dead_code)]
#[path = "../../../cocola/tests/integration/support.rs"]
mod support;

/// Runs the `cocola` binary (without `COCOLA_MODEL` from the environment).
pub fn run_cocola<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cocola"))
        .env_remove("COCOLA_MODEL")
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .args(args)
        .output()
        .expect("the cocola binary runs")
}
