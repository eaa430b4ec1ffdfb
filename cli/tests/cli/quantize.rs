//! `cocola quantize`: an INT8 copy written from a folder of stems (an
//! unreadable track left out with a warning), which loads (the command
//! compares it with the original) and says what it is.

use crate::run_cocola;
use crate::support::{build_sensitivity_tracks, test_model};

#[test]
fn quantize_writes_an_int8_copy_that_loads_and_describes_itself() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tracks");
    build_sensitivity_tracks(&root);
    let (model, _) = test_model(dir.path());
    let out = dir.path().join("int8.onnx");
    let run = run_cocola(&[
        "quantize",
        "--model",
        model.to_str().unwrap(),
        "--calibrate-on",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--tracks",
        "3",
    ]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    assert!(run.status.success(), "{stderr}");
    assert!(
        stdout.contains("INT8") && stdout.contains("embedding cosine"),
        "{stdout}"
    );
    assert!(out.is_file());

    let info = run_cocola(&["model-info", out.to_str().unwrap()]);
    assert!(info.status.success());
    assert!(String::from_utf8_lossy(&info.stdout).contains("int8-qdq"));

    // Quantizing the copy again is refused with the reason.
    let again = run_cocola(&[
        "quantize",
        "--model",
        out.to_str().unwrap(),
        "--calibrate-on",
        root.to_str().unwrap(),
        "--out",
        dir.path().join("twice.onnx").to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("INT8 model"));
}
