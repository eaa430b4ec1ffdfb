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

/// Writes the random-weight test model with a calibration of every mode
/// (log-odds = 2 x raw), so that its scores carry the combined fit.
pub fn calibrated_test_model(dir: &std::path::Path) -> std::path::PathBuf {
    use cocola::model::testing::{calibrated_test_metadata, random_weights};
    let path = dir.join("calibrated.onnx");
    cocola::model::write_model_file(&path, &random_weights(7), &calibrated_test_metadata()).unwrap();
    path
}

/// Runs the `cocola` binary (without `COCOLA_MODEL` from the environment).
pub fn run_cocola<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cocola"))
        .env_remove("COCOLA_MODEL")
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .args(args)
        .output()
        .expect("the cocola binary runs")
}
