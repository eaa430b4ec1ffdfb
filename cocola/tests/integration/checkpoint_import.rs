//! `cocola import`: the authors' PyTorch Lightning checkpoints, read in pure
//! Rust, against files PyTorch itself wrote.
//!
//! Fixtures in `tests/fixtures/checkpoint/` were made by
//! `tools/golden/make_checkpoint_fixtures.py` (torch 2.11.0, torchaudio
//! 2.11.0, efficientnet_pytorch 0.7.1, librosa 0.10.1; see there): the full
//! reference network for both input kinds, saved with `torch.save` in
//! Lightning's checkpoint layout, and the reference's features, embeddings
//! and `CoCola.score` in both directions on a committed pair of clips.
//!
//! Tolerances: embeddings and W·embeddings within 1e-4 of the reference
//! relative to their largest magnitude; scores within 1e-4 relative to the
//! larger of |score| and the RMS of the fixture's scores (a score near zero
//! has no meaningful relative error of its own).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use cocola::checkpoint::pickle::PickleError;
use cocola::checkpoint::torch_file::TorchFile;
use cocola::checkpoint::{read_checkpoint, ImportError};
use cocola::contract::InputKind;
use cocola::features::Extractor;
use cocola::mode::Mode;
use cocola::model::{score, write_model, LoadOptions, Model};
use cocola::npy;
use cocola::score::{Direction, Scorer};

const REL: f64 = 1e-4;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/checkpoint")
        .join(name)
}

/// The gzipped fixture `name.gz`, decompressed into `dir`.
fn gunzip(name: &str, dir: &Path) -> PathBuf {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(fixture(&format!("{name}.gz"))).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    let out = dir.join(name);
    std::fs::write(&out, bytes).unwrap();
    out
}

fn reference() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("reference.json")).unwrap()).unwrap()
}

fn load(name: &str) -> (Vec<usize>, Vec<f32>) {
    npy::read_f32(fixture(name)).unwrap()
}

fn max_abs(v: &[f32]) -> f64 {
    v.iter().map(|x| f64::from(x.abs())).fold(0.0, f64::max)
}

/// Largest |got - want| relative to want's largest magnitude.
fn relative_difference(got: &[f32], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len());
    let diff = got
        .iter()
        .zip(want)
        .map(|(a, b)| f64::from((a - b).abs()))
        .fold(0.0, f64::max);
    diff / max_abs(want).max(f64::MIN_POSITIVE)
}

fn score_error(got: f32, want: f32, scale: f64) -> f64 {
    f64::from((got - want).abs()) / f64::from(want.abs()).max(scale)
}

fn mask(features: &[f32], mode: Mode) -> Vec<f32> {
    let mut x = features.to_vec();
    for row in x.chunks_mut(2 * 64 * 501) {
        mode.apply_mask(row);
    }
    x
}

/// Imports `kind`'s checkpoint and checks it against the reference: the
/// network on the reference's own features (every mode), then the whole
/// pipeline from the clips' audio through our features and the scorer.
fn check_kind(kind: InputKind) {
    let dir = tempfile::tempdir().unwrap();
    let name = kind.name();
    let path = gunzip(&format!("{name}.ckpt"), dir.path());
    let reference = reference();
    let fixture_meta = &reference["checkpoints"][format!("{name}.ckpt")];

    let checkpoint = read_checkpoint(&path).unwrap();
    assert_eq!(checkpoint.input, kind);
    let origin = &checkpoint.origin;
    assert_eq!(origin.sha256, fixture_meta["sha256"].as_str().unwrap());
    assert_eq!(origin.record.epoch, fixture_meta["epoch"].as_i64());
    assert_eq!(origin.record.global_step, fixture_meta["global_step"].as_i64());
    assert_eq!(origin.record.lightning_version.as_deref(), Some("2.2.1"));
    let meta = checkpoint.metadata(None, None);
    assert_eq!(meta.name, name);
    assert_eq!(meta.input, kind);
    assert!(meta.calibration.is_none());
    let imported = &meta.training["imported_from"];
    assert_eq!(imported["hyper_parameters"]["input_type"], fixture_meta["input_type"]);
    assert_eq!(imported["hyper_parameters"]["embedding_dim"], 512);
    let bytes = write_model(&checkpoint.weights, &meta).unwrap();
    let mut model = Model::from_bytes(&bytes, &LoadOptions::default()).unwrap();
    assert_eq!(model.input(), kind);

    // The network alone, fed the reference's features.
    let (shape, features) = load(&format!("{name}.features.npy"));
    assert_eq!(shape, [2, kind.channels(), 64, 501]);
    let scale = {
        let all: Vec<f64> = kind
            .modes()
            .iter()
            .flat_map(|m| load(&format!("{name}.{m}.scores.npy")).1)
            .map(f64::from)
            .collect();
        (all.iter().map(|s| s * s).sum::<f64>() / all.len() as f64).sqrt()
    };
    for &mode in kind.modes() {
        let e = model.embed(&mask(&features, mode), 2).unwrap();
        let (_, want_e) = load(&format!("{name}.{mode}.embedding.npy"));
        let (_, want_we) = load(&format!("{name}.{mode}.w_embedding.npy"));
        let (_, want_scores) = load(&format!("{name}.{mode}.scores.npy"));
        let de = relative_difference(&e.embedding, &want_e);
        let dwe = relative_difference(&e.w_embedding, &want_we);
        // Row 0 is the condition, row 1 the stem: CoCola.score(x=condition, y=stem), then reversed.
        let (forward, backward) = (score(&e, 0, 1), score(&e, 1, 0));
        let ds = score_error(forward, want_scores[0], scale).max(score_error(backward, want_scores[1], scale));
        println!(
            "{name} {mode}: embedding {de:.1e}, W embedding {dwe:.1e}, scores {ds:.1e} \
             (ours {forward:.5} / {backward:.5}, reference {:.5} / {:.5})",
            want_scores[0], want_scores[1]
        );
        assert!(
            de <= REL && dwe <= REL && ds <= REL,
            "{name} {mode} differs from the reference network"
        );
    }

    // Audio -> our features -> the scorer, both directions.
    let rows = &reference["reference"][name];
    let clip = |side: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/default_model/00-{side}.wav"));
        let audio = cocola::audio::load_mono_16k(&path).unwrap();
        let bytes: Vec<u8> = audio.iter().flat_map(|v| v.to_le_bytes()).collect();
        let sha: String = <sha2::Sha256 as sha2::Digest>::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            sha,
            rows["audio_sha256"][format!("00-{side}")],
            "{side}: decoded differently"
        );
        audio
    };
    let (condition, stem) = (clip("condition"), clip("stem"));
    let mut extractor = Extractor::new(kind);
    let ours: Vec<f32> = [&condition, &stem].iter().flat_map(|a| extractor.extract(a)).collect();
    let feature_db = ours
        .iter()
        .zip(&features)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!("{name}: features within {feature_db:.2e} dB of the reference");
    assert!(feature_db <= 0.05, "{name} features differ by {feature_db} dB");
    for direction in [Direction::ConditionStem, Direction::Symmetric] {
        let model = Model::from_bytes(&bytes, &LoadOptions::default()).unwrap();
        let mut scorer = Scorer::new(model).with_direction(direction);
        let window = scorer.score_window(&condition, &stem).unwrap();
        assert_eq!(window.modes().len(), kind.modes().len());
        for m in window.modes() {
            let (_, want) = load(&format!("{name}.{}.scores.npy", m.mode));
            let want = match direction {
                Direction::ConditionStem => want[0],
                Direction::Symmetric => ((f64::from(want[0]) + f64::from(want[1])) / 2.0) as f32,
            };
            let err = score_error(m.raw, want, scale);
            println!(
                "{name} {} {direction:?}: {:.5} vs reference {want:.5} ({err:.1e})",
                m.mode, m.raw
            );
            assert!(err <= REL, "{name} {} {direction:?}: {} vs {want}", m.mode, m.raw);
            assert!(m.fit.is_none(), "an imported model is uncalibrated");
        }
    }
}

#[test]
fn the_hps_checkpoint_matches_the_reference_in_every_mode() {
    check_kind(InputKind::Hps);
}

#[test]
fn the_mel_checkpoint_matches_the_reference() {
    check_kind(InputKind::Mel);
}

fn refusal(path: &Path) -> ImportError {
    match read_checkpoint(path) {
        Ok(c) => panic!("{} was accepted ({:?})", path.display(), c.input),
        Err(e) => {
            println!("{}: {e}", path.file_name().unwrap().to_string_lossy());
            e
        }
    }
}

#[test]
fn mismatched_tensors_are_listed_all_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let err = refusal(&gunzip("mismatched.ckpt", dir.path()));
    let ImportError::Tensors(problems) = &err else {
        panic!("{err:?}")
    };
    let text = err.to_string();
    assert_eq!(problems.len(), 3, "{text}");
    assert!(
        text.contains("'layer_norm.bias' is missing (expected shape [512])"),
        "{text}"
    );
    assert!(
        text.contains("'encoder.encoder.model.0._fc.weight' is not a parameter of the COCOLA network"),
        "{text}"
    );
    assert!(
        text.contains("'similarity.w' has shape [256, 256], expected [512, 512]"),
        "{text}"
    );
}

#[test]
fn foreign_unsupported_and_malicious_files_are_refused_clearly() {
    let err = refusal(&fixture("foreign.ckpt"));
    assert!(
        matches!(&err, ImportError::NotACheckpoint(m) if m.contains("none of its 4 tensors") && m.contains("'0.weight'")),
        "{err}"
    );
    let err = refusal(&fixture("dim256.ckpt"));
    assert!(
        matches!(&err, ImportError::Unsupported(m) if m.contains("embedding_dim is 256")),
        "{err}"
    );
    let marker = Path::new("/tmp/cocola-evil-checkpoint-ran");
    let _ = std::fs::remove_file(marker);
    let err = refusal(&fixture("evil.ckpt"));
    assert!(
        matches!(&err, ImportError::Pickle(PickleError::Dangerous { module, name }) if module == "posix" && name == "system"),
        "{err}"
    );
    assert!(!marker.exists(), "the malicious pickle ran");
    // The small Lightning file: everything parses, most of the network is missing.
    let err = refusal(&fixture("tiny.ckpt"));
    let text = err.to_string();
    assert!(text.contains("is missing") && text.contains("more"), "{text}");
    assert!(text.contains("'similarity.w' has shape [2, 3]"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let whole = std::fs::read(fixture("tiny.ckpt")).unwrap();
    for (name, bytes, expect) in [
        ("empty.ckpt", &b""[..], "not a zip archive"),
        ("text.ckpt", &b"hello, world"[..], "not a zip archive"),
        ("half.ckpt", &whole[..whole.len() / 2], "unreadable"),
        ("model.ckpt.gz", &b"\x1f\x8b\x08\x00rest"[..], "gzip"),
        (
            "legacy.pt",
            &b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.rest"[..],
            "legacy format",
        ),
    ] {
        let err = refusal(&write(name, bytes));
        assert!(err.to_string().contains(expect), "{name}: {err}");
    }
    let err = read_checkpoint(&dir.path().join("missing.ckpt")).unwrap_err();
    assert!(
        matches!(err, ImportError::Io { .. }) && err.to_string().contains("missing.ckpt"),
        "{err}"
    );
}

#[test]
fn strided_views_are_read_as_torch_lays_them_out() {
    // tiny.ckpt's similarity.w is torch.eye(3)[:, :2].t(): shape [2, 3],
    // stride (1, 3) into a 9-element storage.
    let f = std::fs::File::open(fixture("tiny.ckpt")).unwrap();
    let mut torch = TorchFile::open(f, b"PK\x03\x04").unwrap();
    let p = &torch.pickle;
    let sd = p.get(p.root, "state_dict").unwrap();
    let w = p.get(sd, "similarity.w").unwrap();
    let t = torch.tensor(w).unwrap().unwrap();
    assert_eq!((t.shape.as_slice(), t.stride.as_slice()), (&[2, 3][..], &[1, 3][..]));
    assert_eq!(torch.read_f32(&t).unwrap(), [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let p = &torch.pickle;
    let proj = p
        .get(p.get(p.root, "state_dict").unwrap(), "encoder.projection.weight")
        .unwrap();
    let t = torch.tensor(proj).unwrap().unwrap();
    assert_eq!(torch.read_f32(&t).unwrap(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
}

#[test]
fn a_parameter_wrapping_itself_is_refused_not_followed_forever() {
    // p = torch._utils._rebuild_parameter(*L) with L = [p]: a loop through
    // a list the pickle mutates after the call.
    let pickle = b"\x80\x02ctorch._utils\n_rebuild_parameter\nq\x00]q\x01Rq\x02h\x01h\x02a0.";
    let archive = rezip(&[("x/data.pkl".to_string(), pickle.to_vec())]);
    let torch = TorchFile::open(std::io::Cursor::new(archive), b"PK\x03\x04").unwrap();
    let err = torch.tensor(torch.pickle.root).unwrap().unwrap_err();
    assert!(err.contains("wrapped in itself"), "{err}");
}

// ---------------------------------------------------------------------------
// Fuzz: mutated checkpoints are refused with an error, never a panic.
// ---------------------------------------------------------------------------

/// SplitMix64: a small deterministic generator for the mutations.
struct Mutator(u64);

impl Mutator {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        cocola::seeded::mix64(self.0)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// One to four edits: flipped bytes, interesting values, a cut, a
    /// duplicated or deleted span.
    fn mutate(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = data.to_vec();
        for _ in 0..1 + self.below(4) {
            if out.is_empty() {
                out.push(0);
            }
            let at = self.below(out.len());
            match self.below(6) {
                0 => out[at] ^= 1 << self.below(8),
                1 => out[at] = [0x00, 0xff, 0x7f, 0x80, b'(', b'.', b'R', b'b', b'Q'][self.below(9)],
                2 => out.truncate(at),
                3 => {
                    let len = self.below(64).min(out.len() - at);
                    let span = out[at..at + len].to_vec();
                    let to = self.below(out.len());
                    out.splice(to..to, span);
                }
                4 => {
                    let len = self.below(64).min(out.len() - at);
                    out.drain(at..at + len);
                }
                _ => {
                    let v = self.next().to_le_bytes();
                    let len = 4.min(out.len() - at);
                    out[at..at + len].copy_from_slice(&v[..len]);
                }
            }
        }
        out
    }
}

/// The entries of a stored zip, in order.
fn unzip(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut e = archive.by_index(i).unwrap();
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).unwrap();
            (e.name().unwrap().to_string(), bytes)
        })
        .collect()
}

fn rezip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in entries {
        w.start_file(name.as_str(), options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap();
    out.into_inner()
}

/// Imports `bytes` as a file; returns whether it was accepted.
fn import_bytes(dir: &Path, bytes: &[u8]) -> bool {
    let path = dir.join("fuzz.ckpt");
    std::fs::write(&path, bytes).unwrap();
    read_checkpoint(&path).is_ok()
}

#[test]
fn thousands_of_mutated_checkpoints_are_refused_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = Mutator(0x00C0_C01A);
    let tiny = fixture("tiny.ckpt");
    let whole = std::fs::read(&tiny).unwrap();
    let entries = unzip(&tiny);
    let pkl = entries.iter().position(|(n, _)| n.ends_with("data.pkl")).unwrap();

    // The pickle mutated inside an intact archive: reaches the pickle
    // machine and the checkpoint reader.
    for _ in 0..2000 {
        let mut e = entries.clone();
        e[pkl].1 = m.mutate(&entries[pkl].1);
        assert!(
            !import_bytes(dir.path(), &rezip(&e)),
            "a mutated tiny checkpoint was accepted"
        );
    }
    // The archive itself mutated: the zip reader and the storages.
    for _ in 0..1000 {
        assert!(!import_bytes(dir.path(), &m.mutate(&whole)));
    }
    // Storages truncated or grown under an intact pickle.
    for i in 0..entries.len() {
        let mut e = entries.clone();
        let n = e[i].1.len();
        e[i].1.truncate(n / 2);
        assert!(!import_bytes(dir.path(), &rezip(&e)));
        e[i].1.resize(n + 3, 0);
        assert!(!import_bytes(dir.path(), &rezip(&e)));
    }

    // The real checkpoint's pickle (every opcode and class torch and
    // Lightning emit), mutated, in an archive without its 60 MB of storages:
    // whatever the mutation leaves readable, a storage is then missing.
    let hps = gunzip("hps.ckpt", dir.path());
    let entries: Vec<(String, Vec<u8>)> = unzip(&hps).into_iter().filter(|(n, _)| !n.contains("/data/")).collect();
    let pkl = entries.iter().position(|(n, _)| n.ends_with("data.pkl")).unwrap();
    let mut parsed = 0;
    for _ in 0..500 {
        let mut e = entries.clone();
        e[pkl].1 = m.mutate(&entries[pkl].1);
        parsed += usize::from(cocola::checkpoint::pickle::parse(&e[pkl].1).is_ok());
        assert!(!import_bytes(dir.path(), &rezip(&e)));
    }
    println!("mutated reference pickles that still parse: {parsed} of 500");
}
