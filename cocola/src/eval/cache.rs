//! On-disk cache of encoder outputs, so that re-running an evaluation skips
//! the features and the encoder. Windows of files are keyed by their decoded
//! samples; the sub-mix windows of accuracy@K by their track's content key
//! and their recipe ([`crate::eval::track_index`]), so that a warm run reads
//! no audio at all. The track indexes pass 1 makes are cached beside the
//! embeddings, under `<root>/tracks/`.
//!
//! # Keys
//!
//! An embedding is identified by the SHA-256 of the exact 16 kHz samples of
//! its window (as `f32` little-endian bytes), or by a window id that
//! determines those samples ([`crate::eval::track_index::TrackIndex::window_id`]),
//! together with the mode, under a
//! model identified by the SHA-256 of the model file's bytes. Nothing else
//! (paths, names, timestamps) enters a key, so a renamed file still hits and
//! a changed file, or a different model, can never return a stale result.
//!
//! # Layout: one file per (model, group)
//!
//! `<root>/<model sha256>/<group sha256>.emb`, where a *group* is what the
//! caller embeds together: one track of stems (accuracy@K), one audio file.
//! The group id is a content hash too (of all the group's samples), so a
//! group file only ever holds windows of that content.
//!
//! Why not one file per embedding: an evaluation embeds thousands of windows
//! and a file per 2 KB vector means a slow, bloated directory. Why not one
//! pack file per model: every run would read (and, to stay atomic, rewrite)
//! the whole pack, and two concurrent runs would fight over it. A file per
//! group is read once when that group is processed, rewritten only when it
//! gained entries, and there are as many files as tracks or audio files.
//!
//! # Robustness
//!
//! A file is written to a temporary name in the same folder and renamed into
//! place, so readers see either the old or the new complete file. Each file
//! ends with the SHA-256 of everything before it and records the model hash
//! and the embedding size: a truncated, corrupt, foreign or outdated file is
//! ignored (its windows are recomputed and the file replaced), never trusted.
//! Before a rewrite the current file is merged in, so concurrent runs lose at
//! most each other's latest additions, which are then recomputed. The cache
//! only ever speeds things up: a cache that cannot be written costs a warning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::content_hash::{hex, Digest32};
use crate::mode::Mode;

const MAGIC: &[u8; 8] = b"CCLAEMB1";
const HEADER_LEN: usize = 8 + 4 + 4 + 32;
const DIGEST_LEN: usize = 32;
/// Temporary files older than this are left-overs of killed runs.
const STALE_TEMP_SECONDS: u64 = 24 * 3600;

/// The key of one cache entry: a window under a mode.
pub fn entry_key(window: &Digest32, mode: Mode) -> Digest32 {
    let mut hasher = Sha256::new();
    hasher.update(b"cocola-embedding-v1");
    hasher.update(window);
    hasher.update(mode.name().as_bytes());
    hasher.finalize().into()
}

/// The model identity as a folder name and digest: a 64-digit hex SHA-256
/// as given, anything else hashed.
fn model_digest(identity: &str) -> Digest32 {
    let lower = identity.trim().to_ascii_lowercase();
    if lower.len() == 64 && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&lower[2 * i..2 * i + 2], 16).unwrap_or(0);
        }
        out
    } else {
        Sha256::digest(identity.as_bytes()).into()
    }
}

/// `${XDG_CACHE_HOME:-~/.cache}/cocola/embeddings`, if a home is known.
pub fn default_root() -> Option<PathBuf> {
    Some(crate::user_cache::dir()?.join("embeddings"))
}

/// What the cache did during a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub files_written: u64,
    /// Files that were unreadable, truncated or corrupt and were ignored.
    pub files_ignored: u64,
    pub write_failures: u64,
}

/// The embeddings of one group, loaded from disk and extended in memory.
pub struct CacheGroup {
    id: Digest32,
    dim: usize,
    entries: HashMap<Digest32, Vec<f32>>,
    added: usize,
}

impl CacheGroup {
    pub fn get(&self, key: &Digest32) -> Option<&[f32]> {
        self.entries.get(key).map(Vec::as_slice)
    }

    /// Adds an entry (ignored if its length is not the group's embedding size).
    pub fn insert(&mut self, key: Digest32, embedding: Vec<f32>) {
        if embedding.len() == self.dim && self.entries.insert(key, embedding).is_none() {
            self.added += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Why the cache folder cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("embedding cache {}: {error}", path.display())]
pub struct CacheError {
    pub path: PathBuf,
    pub error: std::io::Error,
}

/// The embedding cache of one model (or a disabled one that never hits).
pub struct EmbeddingCache {
    dir: Option<PathBuf>,
    /// Where the cache of track indexes lives (`<root>/tracks`).
    tracks_dir: Option<PathBuf>,
    /// `--verify`: hash every stem file in full before trusting its index.
    verify: bool,
    model: Digest32,
    hits: AtomicU64,
    misses: AtomicU64,
    files_written: AtomicU64,
    files_ignored: AtomicU64,
    write_failures: AtomicU64,
    first_write_error: std::sync::Mutex<Option<String>>,
}

impl EmbeddingCache {
    fn with_dir(dir: Option<PathBuf>, model: Digest32) -> Self {
        Self {
            dir,
            tracks_dir: None,
            verify: false,
            model,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            files_written: AtomicU64::new(0),
            files_ignored: AtomicU64::new(0),
            write_failures: AtomicU64::new(0),
            first_write_error: std::sync::Mutex::new(None),
        }
    }

    /// A cache that stores nothing (`--no-cache`).
    pub fn disabled() -> Self {
        Self::with_dir(None, [0; 32])
    }

    /// The cache of the model `model_identity` (its SHA-256 in hex) under
    /// `root`; creates `root/<model>/`.
    pub fn open(root: &Path, model_identity: &str) -> Result<Self, CacheError> {
        let model = model_digest(model_identity);
        let dir = root.join(hex(&model));
        std::fs::create_dir_all(&dir).map_err(|error| CacheError {
            path: dir.clone(),
            error,
        })?;
        remove_stale_temporaries(&dir);
        Ok(Self {
            tracks_dir: Some(root.join("tracks")),
            ..Self::with_dir(Some(dir), model)
        })
    }

    /// Trust a stored track index only after hashing its files in full
    /// (`--verify`; see [`crate::eval::track_index`]).
    pub fn verifying(self, verify: bool) -> Self {
        Self { verify, ..self }
    }

    /// The cache of track indexes that goes with this one (none when disabled).
    pub fn track_indexes(&self) -> crate::eval::track_index::IndexCache {
        crate::eval::track_index::IndexCache::new(self.tracks_dir.clone(), self.verify)
    }

    /// The cache an evaluation uses: under `root`, else under
    /// [`default_root`]. When neither can be used the cache is off, and the
    /// message says why (the evaluation itself is unaffected).
    pub fn open_or_disabled(root: Option<&Path>, model_identity: &str) -> (Self, Option<String>) {
        let Some(root) = root.map(Path::to_path_buf).or_else(default_root) else {
            let why = "no home folder or XDG_CACHE_HOME to keep the embedding cache in: it is off";
            return (Self::disabled(), Some(why.to_string()));
        };
        match Self::open(&root, model_identity) {
            Ok(cache) => (cache, None),
            Err(e) => (Self::disabled(), Some(format!("{e}; the embedding cache is off"))),
        }
    }

    /// The folder holding this model's entries; `None` when disabled.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            files_written: self.files_written.load(Ordering::Relaxed),
            files_ignored: self.files_ignored.load(Ordering::Relaxed),
            write_failures: self.write_failures.load(Ordering::Relaxed),
        }
    }

    /// The first error met while writing, to show once.
    pub fn first_write_error(&self) -> Option<String> {
        self.first_write_error.lock().ok().and_then(|e| e.clone())
    }

    /// Counts a lookup; callers report hits and misses so that the stats
    /// describe windows, not files.
    pub fn record(&self, hits: u64, misses: u64) {
        self.hits.fetch_add(hits, Ordering::Relaxed);
        self.misses.fetch_add(misses, Ordering::Relaxed);
    }

    fn path_of(&self, group: &Digest32) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{}.emb", hex(group))))
    }

    /// The stored entries of `group` with embeddings of `dim` values; empty
    /// when there is no valid file (or the cache is disabled).
    pub fn load(&self, group: &Digest32, dim: usize) -> CacheGroup {
        let mut loaded = CacheGroup {
            id: *group,
            dim,
            entries: HashMap::new(),
            added: 0,
        };
        if let Some(path) = self.path_of(group) {
            match std::fs::read(&path) {
                Ok(bytes) => match decode(&bytes, &self.model, dim) {
                    Some(entries) => loaded.entries = entries,
                    None => {
                        self.files_ignored.fetch_add(1, Ordering::Relaxed);
                    }
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(_) => {
                    self.files_ignored.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        loaded
    }

    /// Writes `group` back if it gained entries, merged with whatever another
    /// run stored meanwhile. Failures are counted, not returned: the cache is
    /// an optimisation.
    pub fn store(&self, group: &mut CacheGroup) {
        let Some(path) = self.path_of(&group.id) else { return };
        if group.added == 0 {
            return;
        }
        if let Ok(bytes) = std::fs::read(&path) {
            if let Some(existing) = decode(&bytes, &self.model, group.dim) {
                for (key, value) in existing {
                    group.entries.entry(key).or_insert(value);
                }
            }
        }
        match crate::atomic_file::write_bytes(&path, &encode(&group.entries, &self.model, group.dim)) {
            Ok(()) => {
                group.added = 0;
                self.files_written.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => {
                self.write_failures.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = self.first_write_error.lock() {
                    first.get_or_insert_with(|| format!("{}: {error}", path.display()));
                }
            }
        }
    }
}

/// File bytes: magic, dim (u32 LE), count (u32 LE), model digest, then
/// `count` x (key, dim x f32 LE) sorted by key, then the SHA-256 of all of it.
fn encode(entries: &HashMap<Digest32, Vec<f32>>, model: &Digest32, dim: usize) -> Vec<u8> {
    let mut keys: Vec<&Digest32> = entries.keys().collect();
    keys.sort();
    let mut out = Vec::with_capacity(HEADER_LEN + keys.len() * (32 + 4 * dim) + DIGEST_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(dim as u32).to_le_bytes());
    out.extend_from_slice(&(keys.len() as u32).to_le_bytes());
    out.extend_from_slice(model);
    for key in keys {
        out.extend_from_slice(key);
        for v in &entries[key] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

/// Parses a file; `None` unless it is complete, intact, of this model and size.
fn decode(bytes: &[u8], model: &Digest32, dim: usize) -> Option<HashMap<Digest32, Vec<f32>>> {
    if bytes.len() < HEADER_LEN + DIGEST_LEN || &bytes[..8] != MAGIC {
        return None;
    }
    let (body, digest) = bytes.split_at(bytes.len() - DIGEST_LEN);
    if Sha256::digest(body).as_slice() != digest {
        return None;
    }
    let stored_dim = u32::from_le_bytes(body[8..12].try_into().ok()?) as usize;
    let count = u32::from_le_bytes(body[12..16].try_into().ok()?) as usize;
    if stored_dim != dim || &body[16..48] != model {
        return None;
    }
    let entry_len = 32 + 4 * dim;
    if body.len() != HEADER_LEN + count.checked_mul(entry_len)? {
        return None;
    }
    let mut entries = HashMap::with_capacity(count);
    for entry in body[HEADER_LEN..].chunks_exact(entry_len) {
        let key: Digest32 = entry[..32].try_into().ok()?;
        let values = entry[32..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        entries.insert(key, values);
    }
    Some(entries)
}

/// Removes temporary files that killed runs left behind (best effort).
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name
            .to_string_lossy()
            .contains(&format!(".emb{}", crate::atomic_file::TEMP_MARKER))
        {
            continue;
        }
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > STALE_TEMP_SECONDS);
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content_hash::window_hash;

    const MODEL: &str = "ab0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";

    fn vector(seed: f32, dim: usize) -> Vec<f32> {
        (0..dim).map(|i| seed + i as f32 * 0.5).collect()
    }

    #[test]
    fn round_trip_is_bit_exact() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EmbeddingCache::open(dir.path(), MODEL).unwrap();
        let group = window_hash(&[1.0, 2.0]);
        let key = entry_key(&window_hash(&[0.25; 100]), Mode::Harmonic);
        let mut g = cache.load(&group, 4);
        assert!(g.is_empty());
        let value = vec![f32::MIN_POSITIVE, -0.0, 1.0e-7, 3.5];
        g.insert(key, value.clone());
        cache.store(&mut g);
        let again = cache.load(&group, 4);
        assert_eq!(
            again.get(&key).unwrap().iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            value.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(cache.stats().files_written, 1);
        // Stored under <root>/<model hex>/.
        assert!(dir.path().join(MODEL).join(format!("{}.emb", hex(&group))).is_file());
    }

    #[test]
    fn keys_depend_on_samples_and_mode_only() {
        let w = window_hash(&[0.5; 10]);
        assert_eq!(w, window_hash(&[0.5; 10]));
        assert_ne!(w, window_hash(&[0.5; 11]));
        assert_ne!(entry_key(&w, Mode::Both), entry_key(&w, Mode::Percussive));
    }

    #[test]
    fn corrupt_truncated_and_foreign_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EmbeddingCache::open(dir.path(), MODEL).unwrap();
        let group = [7u8; 32];
        let mut g = cache.load(&group, 3);
        g.insert([1; 32], vector(1.0, 3));
        g.insert([2; 32], vector(2.0, 3));
        cache.store(&mut g);
        let path = cache.path_of(&group).unwrap();
        let good = std::fs::read(&path).unwrap();

        let mut flipped = good.clone();
        flipped[HEADER_LEN + 40] ^= 1;
        for bad in [
            flipped,
            good[..good.len() - 1].to_vec(),
            b"garbage".to_vec(),
            Vec::new(),
        ] {
            std::fs::write(&path, &bad).unwrap();
            assert!(cache.load(&group, 3).is_empty());
        }
        // A different embedding size or model does not match either.
        std::fs::write(&path, &good).unwrap();
        assert_eq!(cache.load(&group, 3).len(), 2);
        assert!(cache.load(&group, 4).is_empty());
        let other = EmbeddingCache::open(dir.path(), "another model").unwrap();
        std::fs::copy(&path, other.path_of(&group).unwrap()).unwrap();
        assert!(other.load(&group, 3).is_empty());
        assert!(cache.stats().files_ignored >= 5);

        // A corrupt file is replaced by the next store.
        std::fs::write(&path, b"junk").unwrap();
        let mut g = cache.load(&group, 3);
        g.insert([3; 32], vector(3.0, 3));
        cache.store(&mut g);
        assert_eq!(cache.load(&group, 3).len(), 1);
    }

    #[test]
    fn store_merges_concurrent_additions() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EmbeddingCache::open(dir.path(), MODEL).unwrap();
        let group = [9u8; 32];
        let mut first = cache.load(&group, 2);
        let mut second = cache.load(&group, 2);
        first.insert([1; 32], vec![1.0, 1.0]);
        second.insert([2; 32], vec![2.0, 2.0]);
        cache.store(&mut first);
        cache.store(&mut second);
        let merged = cache.load(&group, 2);
        assert_eq!(merged.len(), 2);
        // Nothing new: no rewrite.
        let mut unchanged = cache.load(&group, 2);
        cache.store(&mut unchanged);
        assert_eq!(cache.stats().files_written, 2);
        // No temporary files are left behind.
        let names: Vec<String> = std::fs::read_dir(cache.dir().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn disabled_cache_never_hits_or_writes() {
        let cache = EmbeddingCache::disabled();
        let mut g = cache.load(&[0; 32], 2);
        g.insert([1; 32], vec![0.0, 1.0]);
        cache.store(&mut g);
        assert!(cache.load(&[0; 32], 2).is_empty());
        assert_eq!(cache.stats().files_written, 0);
        assert!(cache.dir().is_none());
    }

    #[test]
    fn unwritable_cache_counts_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EmbeddingCache::open(dir.path(), MODEL).unwrap();
        std::fs::remove_dir_all(cache.dir().unwrap()).unwrap();
        let mut g = cache.load(&[0; 32], 2);
        g.insert([1; 32], vec![0.0, 1.0]);
        cache.store(&mut g);
        assert_eq!(cache.stats().write_failures, 1);
        assert!(cache.first_write_error().is_some());
    }
}
