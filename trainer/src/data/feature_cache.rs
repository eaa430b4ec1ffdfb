//! Optional on-disk cache of window features (`--feature-cache DIR`), so a
//! window whose exact samples were featurized before skips the extractor.
//!
//! # When it hits
//!
//! The key is the SHA-256 of the window's exact 16 kHz samples (cocola's
//! [`window_hash`]), nothing else. The sampler draws window starts at sample
//! resolution and adds fresh noise to every positive, so within one run an
//! exact repeat is rare; what repeats exactly is everything seeded the same
//! way: the validation batches at every start of a run, the batches between
//! the last checkpoint and a crash when resuming, and every batch of another
//! run with the same data, seed and sampling (learning-rate or architecture
//! sweeps). That is where the cache pays off.
//!
//! # Why on disk, with a size cap
//!
//! One entry is 2 x 64 x 501 floats = 256.5 KB. In memory a useful cache for
//! a sweep (millions of windows) would not fit, and it would not survive the
//! process, which is exactly what resume and sweeps need. On disk, entries
//! are one file each (`<root>/<extractor fingerprint>/<ab>/<hash>.feat`)
//! written through a temporary file renamed into place (the stem cache's
//! helper). `max_bytes` caps the total: once reached, new windows are no
//! longer stored (no eviction: the earliest windows, which include the
//! validation set, stay), and reads keep working.
//!
//! # Staleness and corruption
//!
//! The folder is named after a fingerprint of the extractor (the hash of its
//! features of a fixed probe signal), so changed feature maths never reads
//! old entries. Each file holds a magic, its own key, the features and the
//! SHA-256 of all that: a truncated, corrupt or misplaced entry is ignored,
//! recomputed and rewritten. Features are stored before the channel mask.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use cocola::content_hash::{hash_samples, window_hash, Digest32};
use cocola::contract::{InputKind, WINDOW_SAMPLES};
use cocola::features::Extractor;
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"CCLAFEA1";

/// Bytes of one entry of features of `input`: magic, key, values, digest.
fn entry_len(input: InputKind) -> u64 {
    (8 + 32 + 4 * input.feature_len() + 32) as u64
}

/// Hits, misses and entries written since the cache was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeatureCacheStats {
    pub hits: u64,
    pub misses: u64,
    pub written: u64,
}

pub struct FeatureCache {
    input: InputKind,
    dir: PathBuf,
    max_bytes: u64,
    used: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    written: AtomicU64,
    warned: std::sync::Once,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hash of the extractor's features of a fixed probe: changes whenever the
/// feature maths does (and differs between input kinds).
fn extractor_fingerprint(extractor: &mut Extractor) -> String {
    let probe: Vec<f32> = (0..WINDOW_SAMPLES)
        .map(|i| 0.3 * (i as f32 * 0.0371).sin() + if i % 4000 < 40 { 0.5 } else { 0.0 })
        .collect();
    let out = extractor.extract(&probe);
    let mut h = Sha256::new();
    h.update(b"cocola-trainer-features-v1");
    hash_samples(&mut h, &out);
    hex(&h.finalize()[..8])
}

impl FeatureCache {
    /// Opens (creating) the cache of `input` features under `root`, holding
    /// at most `max_bytes`.
    pub fn open(root: &Path, max_bytes: u64, input: InputKind) -> anyhow::Result<FeatureCache> {
        let dir = root.join(extractor_fingerprint(&mut Extractor::new(input)));
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("cannot create the feature cache {}: {e}", dir.display()))?;
        let used = walk_size(&dir);
        Ok(FeatureCache {
            input,
            dir,
            max_bytes,
            used: AtomicU64::new(used),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            written: AtomicU64::new(0),
            warned: std::sync::Once::new(),
        })
    }

    /// The folder holding this extractor's entries.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn stats(&self) -> FeatureCacheStats {
        FeatureCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            written: self.written.load(Ordering::Relaxed),
        }
    }

    /// Where the entry of `key` lives.
    pub fn entry_path(&self, key: &Digest32) -> PathBuf {
        let name = hex(key);
        self.dir.join(&name[..2]).join(format!("{name}.feat"))
    }

    /// Unmasked features of `samples` into `out`: read from the cache when a
    /// valid entry exists, else extracted and stored (within the size cap).
    pub fn extract_into(&self, extractor: &mut Extractor, samples: &[f32], out: &mut [f32]) {
        debug_assert_eq!(extractor.kind(), self.input);
        let entry_len = entry_len(self.input);
        let key = window_hash(samples);
        let path = self.entry_path(&key);
        if read_entry(&path, &key, out) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        extractor.extract_into(samples, out);
        let replacing = path.is_file();
        if !replacing && self.used.fetch_add(entry_len, Ordering::Relaxed) + entry_len > self.max_bytes {
            self.used.fetch_sub(entry_len, Ordering::Relaxed);
            return;
        }
        if let Err(e) = write_entry(&path, &key, out) {
            if !replacing {
                self.used.fetch_sub(entry_len, Ordering::Relaxed);
            }
            self.warned
                .call_once(|| eprintln!("warning: feature cache: {e:#} (training goes on without it)"));
        } else {
            self.written.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn digest(key: &Digest32, features: &[f32]) -> Digest32 {
    let mut h = Sha256::new();
    h.update(MAGIC);
    h.update(key);
    hash_samples(&mut h, features);
    h.finalize().into()
}

/// Reads the entry of `key` into `out` (whose length is the features').
fn read_entry(path: &Path, key: &Digest32, out: &mut [f32]) -> bool {
    let Ok(bytes) = std::fs::read(path) else { return false };
    let values = 4 * out.len();
    if bytes.len() != 8 + 32 + values + 32 || &bytes[..8] != MAGIC || &bytes[8..40] != key {
        return false;
    }
    let body = &bytes[40..40 + values];
    for (o, b) in out.iter_mut().zip(body.chunks_exact(4)) {
        *o = f32::from_le_bytes(b.try_into().expect("4 bytes"));
    }
    if digest(key, out)[..] != bytes[40 + values..] {
        return false;
    }
    true
}

fn write_entry(path: &Path, key: &Digest32, features: &[f32]) -> anyhow::Result<()> {
    std::fs::create_dir_all(path.parent().expect("entry in a folder"))?;
    super::stem_cache::write_atomically(path, |w| {
        w.write_all(MAGIC)?;
        w.write_all(key)?;
        for x in features {
            w.write_all(&x.to_le_bytes())?;
        }
        w.write_all(&digest(key, features))
    })
}

fn walk_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => walk_size(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cocola::contract::FEATURE_LEN;

    const ENTRY_LEN: u64 = (8 + 32 + 4 * FEATURE_LEN + 32) as u64;

    fn window(f: f32) -> Vec<f32> {
        (0..WINDOW_SAMPLES)
            .map(|i| 0.2 * (i as f32 * f * std::f32::consts::TAU / 16_000.0).sin())
            .collect()
    }

    #[test]
    fn a_hit_returns_identical_features_and_bad_entries_are_recomputed() {
        let root = tempfile::tempdir().unwrap();
        let cache = FeatureCache::open(root.path(), u64::MAX, InputKind::Hps).unwrap();
        let mut ex = Extractor::new(InputKind::Hps);
        let w = window(330.0);
        let mut want = vec![0.0f32; FEATURE_LEN];
        ex.extract_into(&w, &mut want);

        let mut got = vec![0.0f32; FEATURE_LEN];
        cache.extract_into(&mut ex, &w, &mut got);
        assert_eq!(
            cache.stats(),
            FeatureCacheStats {
                hits: 0,
                misses: 1,
                written: 1
            }
        );
        assert_eq!(got, want);
        let mut hit = vec![1.0f32; FEATURE_LEN];
        cache.extract_into(&mut ex, &w, &mut hit);
        assert_eq!(cache.stats().hits, 1);
        assert!(
            hit.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()),
            "a hit must be bit-identical"
        );

        // A different window never reads this entry.
        let mut other = vec![0.0f32; FEATURE_LEN];
        cache.extract_into(&mut ex, &window(331.0), &mut other);
        assert_eq!(cache.stats().misses, 2);
        assert_ne!(other, want);

        let path = cache.entry_path(&window_hash(&w));
        let good = std::fs::read(&path).unwrap();
        // Flipped feature bytes (checksum fails), a truncated file, and another
        // window's entry under this key: each is recomputed and rewritten.
        let mut flipped = good.clone();
        flipped[1000] ^= 0x40;
        let foreign = std::fs::read(cache.entry_path(&window_hash(&window(331.0)))).unwrap();
        for bad in [flipped, good[..good.len() / 2].to_vec(), foreign] {
            std::fs::write(&path, &bad).unwrap();
            let before = cache.stats();
            let mut again = vec![1.0f32; FEATURE_LEN];
            cache.extract_into(&mut ex, &w, &mut again);
            assert_eq!(
                cache.stats().misses,
                before.misses + 1,
                "a bad entry must not count as a hit"
            );
            assert_eq!(again, want);
            assert_eq!(std::fs::read(&path).unwrap(), good, "the bad entry is rewritten");
        }
    }

    #[test]
    fn each_input_kind_has_its_own_folder_and_entry_size() {
        let root = tempfile::tempdir().unwrap();
        let hps = FeatureCache::open(root.path(), u64::MAX, InputKind::Hps).unwrap();
        let mel = FeatureCache::open(root.path(), u64::MAX, InputKind::Mel).unwrap();
        assert_ne!(hps.dir(), mel.dir());
        let mut ex = Extractor::new(InputKind::Mel);
        let w = window(440.0);
        let mut first = vec![0.0f32; InputKind::Mel.feature_len()];
        mel.extract_into(&mut ex, &w, &mut first);
        let mut again = vec![1.0f32; InputKind::Mel.feature_len()];
        mel.extract_into(&mut ex, &w, &mut again);
        assert_eq!((mel.stats().hits, first), (1, again));
        let size = std::fs::metadata(mel.entry_path(&window_hash(&w))).unwrap().len();
        assert_eq!(size, entry_len(InputKind::Mel));
    }

    #[test]
    fn the_size_cap_stops_new_entries_but_not_extraction() {
        let root = tempfile::tempdir().unwrap();
        let cache = FeatureCache::open(root.path(), ENTRY_LEN + 10, InputKind::Hps).unwrap();
        let mut ex = Extractor::new(InputKind::Hps);
        let mut out = vec![0.0f32; FEATURE_LEN];
        for f in [200.0, 300.0, 400.0] {
            cache.extract_into(&mut ex, &window(f), &mut out);
        }
        assert_eq!(cache.stats().written, 1);
        assert!(!cache.entry_path(&window_hash(&window(300.0))).exists());
        // Reopened, the cache counts what is on disk and stays capped.
        let again = FeatureCache::open(root.path(), ENTRY_LEN + 10, InputKind::Hps).unwrap();
        again.extract_into(&mut ex, &window(500.0), &mut out);
        assert_eq!(again.stats().written, 0);
        again.extract_into(&mut ex, &window(200.0), &mut out);
        assert_eq!(again.stats().hits, 1);
    }
}
