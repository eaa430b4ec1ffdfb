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

/// `--help` shows each command's long explanation, `-h` only its summary.
#[test]
fn every_command_explains_itself_in_its_long_help() {
    // (command, words only its long help has)
    let commands = [
        ("score", "Scores how well STEM fits CONDITION"),
        ("rank", "Ranks candidate stems"),
        ("eval", "SENSITIVITY"),
        ("merge", "Merges the part files"),
        ("features", "Writes the features"),
        ("model-info", "Prints a model file's metadata"),
        ("import", "Converts a COCOLA checkpoint"),
        ("perturb", "phase vocoder's artefacts"),
        ("quantize", "Writes an INT8 copy"),
    ];
    for (command, long_only) in commands {
        let text = |flag: &str| String::from_utf8(run_cocola(&[command, flag]).stdout).unwrap();
        let (long, short) = (text("--help"), text("-h"));
        assert!(
            long.contains(long_only),
            "cocola {command} --help lacks {long_only:?}:\n{long}"
        );
        assert!(
            !short.contains(long_only),
            "cocola {command} -h is the summary:\n{short}"
        );
    }
}
