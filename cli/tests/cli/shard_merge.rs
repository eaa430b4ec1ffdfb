//! `cocola eval --shard I/N --part FILE` + `cocola merge`: the merged parts
//! print and write exactly what one unsharded run does, on pair sets and on
//! tracks of stems, also when some shards get no work; and inconsistent
//! parts are refused.
//!
//! Runs the binary with a random-weight model (needs the ONNX Runtime
//! library, `cargo xtask setup`).

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::{test_model, voice, write_wav};
use crate::{calibrated_test_model, run_cocola};
use serde_json::Value;

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&o.stderr)))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A pair set of 7 pairs: five scorable, one silent, one with a missing file.
fn pair_set(dir: &Path) -> PathBuf {
    let mut rows = vec!["id,condition,stem".to_string()];
    for i in 0..5u32 {
        let seconds = 6.0 + 2.0 * i as f32;
        write_wav(
            &dir.join(format!("c{i}.wav")),
            &voice(seconds, 200.0 + 30.0 * i as f32, 0.5, i),
            16_000,
            1,
        );
        write_wav(
            &dir.join(format!("s{i}.wav")),
            &voice(seconds, 110.0 + 10.0 * i as f32, 0.25, 50 + i),
            16_000,
            1,
        );
        rows.push(format!("p{i},c{i}.wav,s{i}.wav"));
    }
    write_wav(&dir.join("silence.wav"), &vec![0.0; 16_000 * 6], 16_000, 1);
    rows.push("quiet,c0.wav,silence.wav".into());
    rows.push("missing,c1.wav,nowhere.wav".into());
    let csv = dir.join("pairs.csv");
    std::fs::write(&csv, rows.join("\n") + "\n").unwrap();
    csv
}

/// Five tracks of three stems, one of them shorter.
fn stems_set(dir: &Path) -> PathBuf {
    let root = dir.join("stems");
    for t in 0..5u32 {
        for (s, name) in ["bass", "drums", "keys"].iter().enumerate() {
            let freq = 100.0 * (1 + s as u32) as f32 + 11.0 * t as f32;
            let seconds = if t == 3 { 7.0 } else { 12.0 };
            write_wav(
                &root.join(format!("track{t}/{name}.wav")),
                &voice(seconds, freq, 0.3 + 0.1 * s as f32, t * 10 + s as u32),
                16_000,
                1,
            );
        }
    }
    root
}

struct Run<'a> {
    model: &'a Path,
    dir: &'a Path,
}

impl Run<'_> {
    fn eval(&self, input: &[&str], extra: &[&str]) -> Output {
        let mut args: Vec<String> = vec!["eval".into()];
        args.extend(input.iter().map(|s| s.to_string()));
        args.extend([
            "--model".into(),
            self.model.display().to_string(),
            "-j".into(),
            "1".into(),
        ]);
        args.extend(extra.iter().map(|s| s.to_string()));
        run_cocola(&args)
    }

    /// Runs all `count` shards, returns their part files.
    fn shards(&self, input: &[&str], extra: &[&str], count: usize, tag: &str) -> Vec<PathBuf> {
        (0..count)
            .map(|i| {
                let part = self.dir.join(format!("{tag}-{i}-of-{count}.json"));
                let shard = format!("{i}/{count}");
                let mut args = extra.to_vec();
                args.extend(["--shard", &shard, "--part", part.to_str().unwrap()]);
                let o = self.eval(input, &args);
                assert!(o.status.success(), "shard {shard}: {}", stderr(&o));
                part
            })
            .collect()
    }

    fn merge(&self, parts: &[PathBuf], extra: &[&str]) -> Output {
        let mut args: Vec<String> = vec!["merge".into()];
        args.extend(parts.iter().map(|p| p.display().to_string()));
        args.extend(extra.iter().map(|s| s.to_string()));
        run_cocola(&args)
    }
}

/// The fields of an evaluation's JSON that do not depend on timing or on
/// how the work was split.
fn numbers(doc: &Value, keys: &[&str]) -> Vec<(String, Value)> {
    keys.iter().map(|k| (k.to_string(), doc[*k].clone())).collect()
}

#[test]
fn pair_sets_merge_to_the_unsharded_numbers_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = test_model(dir.path());
    let csv = pair_set(dir.path());
    let run = Run {
        model: &model,
        dir: dir.path(),
    };
    let set = [csv.to_str().unwrap()];
    let single_csv = dir.path().join("single.csv");
    let single = run.eval(&set, &["--json", "--out", single_csv.to_str().unwrap()]);
    assert_eq!(single.status.code(), Some(3), "one pair fails: {}", stderr(&single));
    let single = json(&single);
    assert_eq!(single["summary"]["scored"], 5);
    // 3 shards, and 10 shards of which 3 get no pair at all.
    for count in [3, 10] {
        let parts = run.shards(&set, &[], count, "pairs");
        let merged_csv = dir.path().join(format!("merged-{count}.csv"));
        let mut shuffled = parts.clone();
        shuffled.reverse();
        let merged = run.merge(&shuffled, &["--json", "--out", merged_csv.to_str().unwrap()]);
        assert_eq!(merged.status.code(), Some(3), "{}", stderr(&merged));
        let merged = json(&merged);
        // JSON writes floats in their shortest exact form: equal text = equal bits.
        let keys = [
            "kind",
            "model",
            "hop_seconds",
            "silence_dbfs",
            "summary",
            "failed",
            "audio_seconds",
        ];
        assert_eq!(numbers(&merged, &keys), numbers(&single, &keys), "{count} shards");
        assert_eq!(
            std::fs::read(&merged_csv).unwrap(),
            std::fs::read(&single_csv).unwrap(),
            "{count} shards: the per-pair CSV"
        );
        assert_eq!(merged["merged_parts"].as_array().unwrap().len(), count);
    }
    // The text summary is the same table, plus where it came from.
    let parts: Vec<PathBuf> = (0..3)
        .map(|i| dir.path().join(format!("pairs-{i}-of-3.json")))
        .collect();
    let (png, html) = (dir.path().join("merged.png"), dir.path().join("merged.html"));
    let merged = run.merge(
        &parts,
        &["--plot", png.to_str().unwrap(), "--report", html.to_str().unwrap()],
    );
    let text = String::from_utf8(merged.stdout).unwrap();
    assert!(std::fs::metadata(&png).unwrap().len() > 1000);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("COCOLA evaluation of a pair set") && page.contains("<svg") && page.contains("quiet"));
    assert!(
        text.contains("pairs      7 (5 scored, 1 all silent, 1 failed)"),
        "{text}"
    );
    assert!(text.contains("merged     3 part file(s)"), "{text}");
    let header: Value = serde_json::from_slice(&std::fs::read(&parts[1]).unwrap()).unwrap();
    assert_eq!(header["header"]["shard"], serde_json::json!({"index": 1, "count": 3}));
    assert_eq!(header["header"]["model"]["sha256"], single["model"]["sha256"]);
    assert_eq!(header["header"]["set"]["items"], 7);
}

#[test]
fn stems_merge_to_the_unsharded_accuracies_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    // Calibrated: the combined fit's rows are merged too.
    let model = calibrated_test_model(dir.path());
    let root = stems_set(dir.path());
    let run = Run {
        model: &model,
        dir: dir.path(),
    };
    let input = ["--stems", root.to_str().unwrap()];
    let settings = ["--k", "2,4", "--batches", "3", "--seed", "7", "--no-cache"];
    let single_csv = dir.path().join("single.csv");
    let mut args = settings.to_vec();
    args.extend(["--json", "--out", single_csv.to_str().unwrap()]);
    let single = run.eval(&input, &args);
    assert!(single.status.success(), "{}", stderr(&single));
    let single = json(&single);
    let combined = (single["results"].as_array().unwrap().iter()).filter(|r| r["mode"] == "combined");
    assert_eq!(combined.count(), 2, "one combined row per K");
    // 2 shards, and 8 shards of which 3 own no track.
    for count in [2, 8] {
        let parts = run.shards(&input, &settings, count, "stems");
        let merged_csv = dir.path().join(format!("merged-{count}.csv"));
        let merged = run.merge(&parts, &["--json", "--out", merged_csv.to_str().unwrap()]);
        assert!(merged.status.success(), "{}", stderr(&merged));
        let merged = json(&merged);
        let keys = [
            "results",
            "skipped",
            "seed",
            "tracks_found",
            "tracks_used",
            "failed_tracks",
            "windows",
            "audio_seconds",
        ];
        assert_eq!(numbers(&merged, &keys), numbers(&single, &keys), "{count} shards");
        assert_eq!(std::fs::read(&merged_csv).unwrap(), std::fs::read(&single_csv).unwrap());
        // Every window was embedded once, by the shard that owns its track.
        assert_eq!(merged["embed"]["windows"], single["embed"]["windows"]);
    }
    let empty: Value = serde_json::from_slice(&std::fs::read(dir.path().join("stems-7-of-8.json")).unwrap()).unwrap();
    assert_eq!(
        empty["body"]["slots"].as_array().unwrap().len(),
        0,
        "shard 7 of 8 owns no track"
    );
}

#[test]
fn inconsistent_parts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = test_model(dir.path());
    let csv = pair_set(dir.path());
    let root = stems_set(dir.path());
    let run = Run {
        model: &model,
        dir: dir.path(),
    };
    let set = [csv.to_str().unwrap()];
    let stems = ["--stems", root.to_str().unwrap()];
    let seed = |s: &'static str| ["--k", "2", "--batches", "2", "--no-cache", "--seed", s];
    let refused = |parts: &[PathBuf], needle: &str| {
        let o = run.merge(parts, &[]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "merge must refuse: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        assert!(stderr(&o).contains(needle), "expected '{needle}' in: {}", stderr(&o));
    };
    let pairs = run.shards(&set, &[], 2, "pairs");
    // A missing shard, a duplicated one, nothing at all.
    refused(&pairs[..1], "1 of 2 shard(s) missing: 1");
    refused(
        &[pairs[0].clone(), pairs[1].clone(), pairs[1].clone()],
        "shard 1/2 is given twice",
    );
    // Another hop, another model: other settings, another SHA-256.
    let hop = run.shards(&set, &["--hop", "2"], 2, "hop");
    refused(&[pairs[0].clone(), hop[1].clone()], "settings differs");
    let other_dir = tempfile::tempdir().unwrap();
    let (other_model, _) = {
        let path = other_dir.path().join("other.onnx");
        let weights = cocola::model::testing::random_weights(8);
        cocola::model::write_model_file(&path, &weights, &cocola::model::testing::test_metadata()).unwrap();
        (path, ())
    };
    let other = Run {
        model: &other_model,
        dir: other_dir.path(),
    };
    let other_parts = other.shards(&set, &[], 2, "pairs");
    refused(&[pairs[0].clone(), other_parts[1].clone()], "model (SHA-256) differs");
    // Stems of another seed, and stems mixed with pairs.
    let seed0 = run.shards(&stems, &seed("0"), 2, "seed0");
    let seed1 = run.shards(&stems, &seed("1"), 2, "seed1");
    refused(&[seed0[0].clone(), seed1[1].clone()], "settings differs");
    refused(&[seed0[0].clone(), pairs[1].clone()], "kind of evaluation differs");
    // A part that lies: a record moved to another index.
    let text = std::fs::read_to_string(&pairs[1]).unwrap();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    doc["body"]["pairs"][0]["index"] = serde_json::json!(0);
    let forged = dir.path().join("forged.json");
    std::fs::write(&forged, serde_json::to_vec(&doc).unwrap()).unwrap();
    refused(&[pairs[0].clone(), forged.clone()], "record 0 is given twice");
    // Not a part at all.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, b"{\"rows\": [1, 2]}").unwrap();
    refused(&[pairs[0].clone(), junk], "not a valid cocola part file");
    // And the usage: --part without --shard, --shard with --out.
    let o = run.eval(&set, &["--part", "x.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = run.eval(&set, &["--shard", "0/2", "--part", "x.json", "--out", "y.csv"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = run.eval(&set, &["--shard", "2/2", "--part", "x.json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("numbered 0 to 1"), "{}", stderr(&o));
}
