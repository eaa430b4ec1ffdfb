//! What pass 1 of accuracy@K learns about a track of stems without keeping
//! its audio, and a cache of it, so that the evaluation's cost follows the
//! windows it embeds rather than the hours of audio in the set.
//!
//! # Pass 1: one streaming read
//!
//! [`TrackIndex::build`] streams the full mix of a track's stems
//! ([`MixStream16k`]: the sum of the stems' whole-file 16 kHz signals, a
//! few packets at a time, stems of one sample rate summed before a single
//! resampler) and keeps only the mix's energy per 0.1 s block
//! ([`BlockEnergies`]), which is all the silence profile of the protocol
//! needs ([`TrackProfile`]): the numbers of `TrackProfile::from_mix` on the
//! whole decoded mix up to float rounding, in memory bounded by a few
//! packets per stem. It also records each stem's decoded length and rate
//! (to read windows later, [`load_window_16k`](crate::audio::load_window_16k)) and its content hash (the
//! SHA-256 of the file's bytes).
//!
//! # Pass 2: windows only
//!
//! [`TrackWindows::submix`] decodes only the 5 s (plus a resampler block
//! and a codec pre-roll) each sub-mix needs, and no frame twice when windows
//! are asked for in order of start. A window's identity in
//! the embedding cache ([`TrackIndex::window_id`]) is derived from the
//! track's content key and the window's recipe (start, stems), not from its
//! samples, so a warm run finds its embeddings without decoding anything.
//!
//! # The cache, and what it trusts
//!
//! Indexes are stored as JSON under `<embedding cache root>/tracks/`, one
//! file per track folder. A stored index is reused when every stem file has
//! the same path, size and modification time as recorded and the same hash
//! of sampled blocks ([`sampled_hash`]: the first and last 64 KiB and 14
//! blocks of 64 KiB spread evenly, about 1 MiB per file whatever its
//! length). The trade-off: an edit that keeps a file's size and timestamp
//! and touches none of the sampled blocks goes unnoticed, and its stale
//! profile and embeddings are used. `--verify` closes that gap: every file
//! is hashed in full and compared with the recorded content hash (a full
//! read of the set, but no decoding when nothing changed).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::protocol::{levels_from_block_energies, BlockEnergies, TrackProfile};
use super::tracks::TrackSpec;
use crate::audio::{DecodedInfo, MixStream16k, WindowReader};
use crate::content_hash::{hex, Digest32};
use crate::contract::{SAMPLE_RATE, WINDOW_SAMPLES};

/// Bytes per sampled block, and how many blocks besides the first and last.
const SAMPLED_BLOCK: u64 = 64 * 1024;
const SAMPLED_INNER_BLOCKS: u64 = 14;
/// Version of the stored index and of window identities: a change in how
/// either is computed (or in the decoder, the resampler or this crate)
/// must not reuse old entries.
const INDEX_VERSION: &str = concat!("cocola-track-index-v1/", env!("CARGO_PKG_VERSION"));

/// One stem file as pass 1 found it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StemFacts {
    pub path: PathBuf,
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch (0 if unknown).
    pub modified_ns: u128,
    /// [`sampled_hash`] of the file, hex.
    pub sampled: String,
    /// SHA-256 of the file's bytes, hex.
    pub content: String,
    pub info: DecodedInfo,
}

/// A track as pass 1 found it (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackIndex {
    pub version: String,
    pub stems: Vec<StemFacts>,
    /// 16 kHz samples of the track: its shortest stem (the others are trimmed).
    pub len: usize,
    /// Energy of the full mix per 0.1 s block.
    pub block_energy: Vec<f64>,
    /// Set when the stems differ in length.
    pub warning: Option<String>,
}

/// Why a window of an indexed track cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    #[error("{}: the file changed after it was scanned", .0.display())]
    Changed(PathBuf),
    #[error(transparent)]
    Audio(#[from] crate::audio::AudioError),
}

impl TrackIndex {
    /// Streams every stem of `spec` once (see the module docs); the error
    /// names the file that failed.
    pub fn build(spec: &TrackSpec) -> Result<Self, String> {
        let mut before = Vec::with_capacity(spec.stems.len());
        for path in &spec.stems {
            before.push(file_stamp(path).map_err(|e| format!("{}: cannot read file: {e}", path.display()))?);
        }
        let mut mix = MixStream16k::open(&spec.stems).map_err(|e| e.to_string())?;
        let (len, block_energy) = stream_energies(&mut mix).map_err(|e| e.to_string())?;
        let infos = mix.infos().expect("the mix was read to its end");
        let mut stems = Vec::with_capacity(spec.stems.len());
        for ((path, info), (size, modified_ns)) in spec.stems.iter().zip(infos).zip(before) {
            let unreadable = |e: io::Error| format!("{}: cannot read file: {e}", path.display());
            let content = full_hash(path).map_err(unreadable)?;
            let sampled = sampled_hash(path, size).map_err(unreadable)?;
            if file_stamp(path).map_err(unreadable)? != (size, modified_ns) {
                return Err(format!("{}: the file changed while it was read", path.display()));
            }
            stems.push(StemFacts {
                path: path.clone(),
                size,
                modified_ns,
                sampled: hex(&sampled),
                content: hex(&content),
                info,
            });
        }
        let lengths: Vec<usize> = stems.iter().map(|s| s.info.samples_16k()).collect();
        let longest = lengths.iter().copied().max().unwrap_or(0);
        let warning = (len != longest).then(|| {
            format!(
                "{}: stems differ in length ({:.2} s to {:.2} s); all trimmed to the shortest",
                spec.name,
                len as f64 / SAMPLE_RATE as f64,
                longest as f64 / SAMPLE_RATE as f64
            )
        });
        Ok(Self {
            version: INDEX_VERSION.to_string(),
            stems,
            len,
            block_energy,
            warning,
        })
    }

    /// The protocol's silence profile of the track.
    pub fn profile(&self, silence_dbfs: f32) -> TrackProfile {
        TrackProfile::from_levels(
            levels_from_block_energies(&self.block_energy, self.len),
            self.stems.len(),
            silence_dbfs,
        )
    }

    pub fn seconds(&self) -> f64 {
        self.len as f64 / SAMPLE_RATE as f64
    }

    /// The track's identity in the embedding cache: its stems' content
    /// hashes and its length, under `INDEX_VERSION`.
    pub fn key(&self) -> Digest32 {
        let mut hasher = Sha256::new();
        hasher.update(INDEX_VERSION.as_bytes());
        hasher.update((self.stems.len() as u64).to_le_bytes());
        hasher.update((self.len as u64).to_le_bytes());
        for stem in &self.stems {
            hasher.update(stem.content.as_bytes());
        }
        hasher.finalize().into()
    }

    /// The identity of the sub-mix of `stems` over the window at `start`:
    /// what [`TrackWindows::submix`] returns is
    /// fully determined by the track's content and this recipe.
    pub fn window_id(&self, start: usize, stems: &[usize]) -> Digest32 {
        let mut hasher = Sha256::new();
        hasher.update(b"cocola-submix-window-v1");
        hasher.update(self.key());
        hasher.update((start as u64).to_le_bytes());
        hasher.update((stems.len() as u64).to_le_bytes());
        for &s in stems {
            hasher.update((s as u64).to_le_bytes());
        }
        hasher.finalize().into()
    }

    /// A reader of this track's sub-mix windows (see [`TrackWindows`]).
    pub fn windows(&self) -> TrackWindows<'_> {
        TrackWindows {
            index: self,
            readers: (0..self.stems.len()).map(|_| None).collect(),
        }
    }
}

/// Reads sub-mix windows of one indexed track, one [`WindowReader`] per
/// stem: asked in increasing order of start, every frame of a stem is
/// decoded at most once, however densely the windows overlap.
pub struct TrackWindows<'a> {
    index: &'a TrackIndex,
    readers: Vec<Option<WindowReader>>,
}

impl TrackWindows<'_> {
    /// The sub-mix of `stems` over the 5 s window at `start`, summed in stem
    /// order; shorter than 5 s at the end of the track. The same samples as
    /// [`TrackAudio::submix_window`](super::tracks::TrackAudio::submix_window)
    /// on the whole decoded track, reading only the window. Fails if a stem
    /// file's size or time changed since the index was made.
    pub fn submix(&mut self, start: usize, stems: &[usize]) -> Result<Vec<f32>, WindowError> {
        let index = self.index;
        let start = start.min(index.len);
        let end = (start + WINDOW_SAMPLES).min(index.len);
        let mut out = vec![0.0f32; end - start];
        for &s in stems {
            let stem = &index.stems[s];
            let reader = match &mut self.readers[s] {
                Some(reader) => reader,
                slot @ None => {
                    if file_stamp(&stem.path).ok() != Some((stem.size, stem.modified_ns)) {
                        return Err(WindowError::Changed(stem.path.clone()));
                    }
                    slot.insert(WindowReader::new(&stem.path, stem.info))
                }
            };
            let window = reader.window(start, end)?;
            if window.len() != out.len() {
                return Err(WindowError::Changed(stem.path.clone()));
            }
            for (o, x) in out.iter_mut().zip(&window) {
                *o += x;
            }
        }
        Ok(out)
    }
}

/// Reads the mix to its end, keeping only its length and block energies.
fn stream_energies(mix: &mut MixStream16k) -> Result<(usize, Vec<f64>), crate::audio::AudioError> {
    let mut energies = BlockEnergies::default();
    let mut samples = Vec::new();
    let mut len = 0usize;
    loop {
        samples.clear();
        let more = mix.read(&mut samples)?;
        energies.push(&samples);
        len += samples.len();
        if !more {
            return Ok((len, energies.finish()));
        }
    }
}

/// (size, modification time in ns since the epoch).
fn file_stamp(path: &Path) -> io::Result<(u64, u128)> {
    let meta = std::fs::metadata(path)?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok((meta.len(), modified))
}

/// SHA-256 of a file's bytes, read in 1 MiB pieces.
pub fn full_hash(path: &Path) -> io::Result<Digest32> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(hasher.finalize().into())
}

/// SHA-256 of a file's size and of sampled blocks of its bytes (see the
/// module docs); a file of up to 16 blocks is hashed whole.
pub fn sampled_hash(path: &Path, size: u64) -> io::Result<Digest32> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    hasher.update(b"cocola-sampled-v1");
    hasher.update(size.to_le_bytes());
    let blocks = SAMPLED_INNER_BLOCKS + 2;
    let mut buffer = vec![0u8; SAMPLED_BLOCK as usize];
    let starts: Vec<u64> = if size <= blocks * SAMPLED_BLOCK {
        (0..size.div_ceil(SAMPLED_BLOCK)).map(|b| b * SAMPLED_BLOCK).collect()
    } else {
        let last = size - SAMPLED_BLOCK;
        (0..blocks).map(|b| last * b / (blocks - 1)).collect()
    };
    for start in starts {
        file.seek(SeekFrom::Start(start))?;
        let want = SAMPLED_BLOCK.min(size - start) as usize;
        file.read_exact(&mut buffer[..want])?;
        hasher.update(&buffer[..want]);
    }
    Ok(hasher.finalize().into())
}

/// The stored indexes (`<root>/tracks/`), or none when the cache is off.
pub struct IndexCache {
    dir: Option<PathBuf>,
    /// Hash every file in full before trusting its stored index.
    verify: bool,
    first_write_error: std::sync::Mutex<Option<String>>,
}

impl IndexCache {
    /// A cache under `dir` (created on first write); `None`: no cache.
    pub fn new(dir: Option<PathBuf>, verify: bool) -> Self {
        Self {
            dir,
            verify,
            first_write_error: std::sync::Mutex::new(None),
        }
    }

    /// The first index that could not be stored (the run is unaffected).
    pub fn first_write_error(&self) -> Option<String> {
        self.first_write_error.lock().ok()?.clone()
    }

    fn path_of(&self, spec: &TrackSpec) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let mut hasher = Sha256::new();
        for stem in &spec.stems {
            let absolute = std::path::absolute(stem).unwrap_or_else(|_| stem.clone());
            hasher.update(absolute.as_os_str().as_encoded_bytes());
            hasher.update([0]);
        }
        Some(dir.join(format!("{}.json", hex(&hasher.finalize()))))
    }

    /// The stored index of `spec` if every stem file still matches it (see
    /// the module docs); `None` otherwise.
    pub fn load(&self, spec: &TrackSpec) -> Option<TrackIndex> {
        let bytes = std::fs::read(self.path_of(spec)?).ok()?;
        let index: TrackIndex = serde_json::from_slice(&bytes).ok()?;
        if index.version != INDEX_VERSION || index.stems.len() != spec.stems.len() {
            return None;
        }
        for (stem, path) in index.stems.iter().zip(&spec.stems) {
            if &stem.path != path || file_stamp(path).ok()? != (stem.size, stem.modified_ns) {
                return None;
            }
            if hex(&sampled_hash(path, stem.size).ok()?) != stem.sampled {
                return None;
            }
            if self.verify && hex(&full_hash(path).ok()?) != stem.content {
                return None;
            }
        }
        Some(index)
    }

    /// Stores `index` for `spec`; a failure only costs a rescan next time
    /// (see [`first_write_error`](Self::first_write_error)).
    pub fn store(&self, spec: &TrackSpec, index: &TrackIndex) {
        let Some(path) = self.path_of(spec) else { return };
        let write = || -> io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let bytes = serde_json::to_vec(index).map_err(io::Error::other)?;
            crate::atomic_file::write_bytes(&path, &bytes)
        };
        if let Err(e) = write() {
            if let Ok(mut first) = self.first_write_error.lock() {
                first.get_or_insert_with(|| format!("{}: {e}", path.display()));
            }
        }
    }

    /// The stored index of `spec`, or a new one (stored for next time).
    pub fn index(&self, spec: &TrackSpec) -> Result<(TrackIndex, bool), String> {
        if let Some(index) = self.load(spec) {
            return Ok((index, true));
        }
        let index = TrackIndex::build(spec)?;
        self.store(spec, &index);
        Ok((index, false))
    }
}
