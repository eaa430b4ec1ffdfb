//! `cargo xtask corpus` builds the same corpus twice from the same seed
//! (docs/CORPUS.md). MMA humanises its grooves from Python's random
//! generator, unseeded unless the chart says otherwise, and
//! writes the input file's path into the MIDI: `corpus.py` fixes both.

use std::path::{Path, PathBuf};
use std::process::Command;

const MMA: &str = "/usr/bin/mma";

fn corpus_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/corpus/corpus.py")
}

/// Every file under `dir` (relative path, bytes), sorted by path.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path.strip_prefix(dir).unwrap().to_path_buf(), bytes));
            }
        }
    }
    out.sort();
    out
}

/// The MIDI of `charts` MMA chord charts, seed 0, written into `dir`.
fn mma_charts(dir: &Path, charts: usize) {
    let status = Command::new("python3")
        .arg(corpus_script())
        .arg("midi")
        .arg(dir)
        .args(["--seed", "0", "--no-music21", "--no-planetblupi", "--jobs", "1"])
        .args(["--mma-charts", &charts.to_string(), "--mma", MMA])
        .status()
        .expect("python3 runs");
    assert!(status.success(), "corpus.py midi failed: {status}");
}

#[test]
fn mma_charts_make_the_same_midi_every_build() {
    if !Path::new(MMA).exists() {
        eprintln!("skipped: needs Debian's mma (.ci/run installs it)");
        return;
    }
    let root = std::env::temp_dir().join(format!("cocola-corpus-midi-{}", std::process::id()));
    let (a, b) = (root.join("a"), root.join("b"));
    mma_charts(&a, 3);
    mma_charts(&b, 3);
    let (first, second) = (files(&a), files(&b));
    let _ = std::fs::remove_dir_all(&root);
    let midi = first
        .iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "mid"))
        .count();
    assert_eq!(
        midi,
        3,
        "one MIDI file per chart: {:?}",
        first.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert_eq!(first.len(), second.len());
    for ((path, bytes), (other_path, other)) in first.iter().zip(&second) {
        assert_eq!(path, other_path);
        assert!(bytes == other, "{} differs between two builds", path.display());
    }
}
