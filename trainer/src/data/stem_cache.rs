//! Preprocessing cache: every track's stems decoded, downmixed and resampled
//! to 16 kHz mono once (by `cocola::audio`, the contract's first row), checked,
//! and stored in one file per track; the sampler reads them through [`store`] that the sampler reads windows from.
//!
//! - **Keyed by content identity and settings**: the file name is a hash of
//!   [`SETTINGS`], the dataset, and every stem file's path, size and
//!   modification time, so changing a setting or a file makes a new entry
//!   (stale ones are simply never read again).
//! - **Safe if interrupted, resumable**: an entry is written to a temporary
//!   name and renamed into place, so a file under its final name is always
//!   complete; a re-run skips tracks already there.
//! - **Bad data never crashes a run**: a stem that cannot be decoded, is
//!   silent throughout, or is shorter than one window is left out with one
//!   warning; stems of different lengths are trimmed to the shortest (one
//!   warning when they differ by more than [`LENGTH_TOLERANCE`]), except that
//!   a stem less than half as long as the longest is left out rather than
//!   cutting the whole track down to it (the reference crashes on such a
//!   CocoChorales track). A track left with fewer than two stems is skipped;
//!   that verdict is cached too (`.skip`), with its reason.
//!
//! Entry format (`<key>.stems`, little-endian): 16-byte magic, `u32` stem
//! count, `u32` zero, `u64` samples per stem, one byte per stem (1 when it
//! is unpitched percussion), then each stem's samples as 16-bit integers
//! (x 32768, clamped). 16 bits are what rendered and most recorded stems
//! hold anyway (lossless for 16 kHz 16-bit WAV), quantisation noise sits at
//! -96 dBFS, far below the features' 80 dB range, and the cache of a corpus
//! takes half the disk and half the reads of f32.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use cocola::contract::{SAMPLE_RATE, WINDOW_SAMPLES};
use sha2::{Digest, Sha256};

use super::dataset::{Split, TrackSource};

/// Everything that changes what an entry holds. Bump on any change of the
/// decoding or checking rules below.
pub const SETTINGS: &str = "cocola-stem-cache-v3;i16;sr=16000;mono=mean;min=80000;trim=shortest;drop<0.5;silent<1e-6";
const MAGIC: &[u8; 16] = b"COCOLA-STEMS-v3\0";
/// Bytes per stored sample.
const SAMPLE_BYTES: usize = 2;
/// Full scale of a stored sample.
const SCALE: f32 = 32_768.0;
const HEADER: u64 = 32;
/// Length differences up to this many samples (10 ms) are trimmed silently:
/// resampling and codec padding routinely leave stems a few samples apart.
pub const LENGTH_TOLERANCE: usize = 160;
/// A stem whose peak stays below this is silent throughout.
const SILENT_PEAK: f32 = 1e-6;

/// A track in the cache: where its stems are and how long they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedTrack {
    pub dataset: String,
    pub name: String,
    pub split: Split,
    pub file: PathBuf,
    pub stems: usize,
    /// Samples per stem (all equal), at least one window.
    pub len: usize,
    /// Per stem: unpitched percussion (see [`TrackSource::unpitched`]).
    pub unpitched: Vec<bool>,
}

impl CachedTrack {
    /// Reads `out.len()` samples of stem `stem` from `start` (must lie inside).
    pub fn read(&self, file: &File, stem: usize, start: usize, out: &mut [f32]) -> std::io::Result<()> {
        assert!(
            stem < self.stems && start + out.len() <= self.len,
            "read outside the cached track"
        );
        let offset = HEADER + self.stems as u64 + ((stem * self.len + start) * SAMPLE_BYTES) as u64;
        let mut bytes = vec![0u8; out.len() * SAMPLE_BYTES];
        file.read_exact_at(&mut bytes, offset)?;
        for (o, b) in out.iter_mut().zip(bytes.chunks_exact(SAMPLE_BYTES)) {
            *o = f32::from(i16::from_le_bytes([b[0], b[1]])) / SCALE;
        }
        Ok(())
    }
}

/// The outcome of preparing a set of tracks.
#[derive(Debug, Default)]
pub struct Prepared {
    pub tracks: Vec<CachedTrack>,
    /// One line per stem or track left out or trimmed.
    pub warnings: Vec<String>,
    /// Tracks decoded in this run (the rest came from the cache).
    pub decoded: usize,
}

/// What one worker reports for one track: its index, the cached track or why
/// it failed, and its warnings.
type TrackOutcome = (usize, Result<CachedTrack, String>, Vec<String>);

/// The cache entry name of a track.
pub fn entry_key(track: &TrackSource) -> String {
    let mut h = Sha256::new();
    h.update(SETTINGS.as_bytes());
    h.update([0]);
    h.update(track.dataset.as_bytes());
    h.update([0]);
    for stem in &track.stems {
        h.update(stem.to_string_lossy().as_bytes());
        h.update([0]);
        if let Ok(meta) = std::fs::metadata(stem) {
            h.update(meta.len().to_le_bytes());
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            h.update(mtime.to_le_bytes());
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes sure every track of `tracks` is in the cache under `dir`, decoding
/// the missing ones on `threads` threads; `progress` is called once per track.
pub fn prepare(
    dir: &Path,
    tracks: &[TrackSource],
    threads: usize,
    progress: &(dyn Fn() + Sync),
) -> anyhow::Result<Prepared> {
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create the stem cache {}: {e}", dir.display()))?;
    let next = AtomicUsize::new(0);
    let decoded = AtomicUsize::new(0);
    let results: Mutex<Vec<TrackOutcome>> = Mutex::new(Vec::new());
    let io_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= tracks.len() || io_error.lock().unwrap().is_some() {
                    break;
                }
                match prepare_one(dir, &tracks[i], &decoded) {
                    Ok((entry, warnings)) => results.lock().unwrap().push((i, entry, warnings)),
                    Err(e) => *io_error.lock().unwrap() = Some(e),
                }
                progress();
            });
        }
    });
    if let Some(e) = io_error.into_inner().unwrap() {
        return Err(e);
    }
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _, _)| *i);
    let mut out = Prepared {
        decoded: decoded.into_inner(),
        ..Prepared::default()
    };
    for (_, entry, warnings) in results {
        out.warnings.extend(warnings);
        match entry {
            Ok(t) => out.tracks.push(t),
            Err(reason) => out.warnings.push(reason),
        }
    }
    Ok(out)
}

/// One track: from the cache if present, else decoded and stored. The outer
/// error is an I/O failure of the cache itself (fatal); the inner one a track
/// left out (a warning).
#[allow(clippy::type_complexity)]
fn prepare_one(
    dir: &Path,
    track: &TrackSource,
    decoded: &AtomicUsize,
) -> anyhow::Result<(Result<CachedTrack, String>, Vec<String>)> {
    let key = entry_key(track);
    let file = dir.join(format!("{key}.stems"));
    let skip = dir.join(format!("{key}.skip"));
    let entry = |len: usize, unpitched: Vec<bool>| CachedTrack {
        dataset: track.dataset.clone(),
        name: track.name.clone(),
        split: track.split,
        file: file.clone(),
        stems: unpitched.len(),
        len,
        unpitched,
    };
    if let Ok(reason) = std::fs::read_to_string(&skip) {
        return Ok((Err(reason), Vec::new()));
    }
    if let Some((len, unpitched)) = read_header(&file) {
        return Ok((Ok(entry(len, unpitched)), Vec::new()));
    }
    decoded.fetch_add(1, Ordering::Relaxed);
    let (stems, warnings) = load_checked(track);
    if stems.len() < 2 {
        let reason = format!(
            "{}/{}: track skipped, {} usable stem(s) left (two sub-mixes need at least 2)",
            track.dataset,
            track.name,
            stems.len()
        );
        write_atomically(&skip, |w| w.write_all(reason.as_bytes()))?;
        return Ok((Err(reason), warnings));
    }
    let len = stems[0].0.len();
    let unpitched: Vec<bool> = stems.iter().map(|(_, u)| *u).collect();
    write_atomically(&file, |w| {
        w.write_all(MAGIC)?;
        w.write_all(&(stems.len() as u32).to_le_bytes())?;
        w.write_all(&0u32.to_le_bytes())?;
        w.write_all(&(len as u64).to_le_bytes())?;
        w.write_all(&unpitched.iter().map(|&u| u as u8).collect::<Vec<u8>>())?;
        for (s, _) in &stems {
            for x in s {
                w.write_all(&quantize(*x).to_le_bytes())?;
            }
        }
        Ok(())
    })?;
    Ok((Ok(entry(len, unpitched)), warnings))
}

/// Decodes every stem and applies the rules of the module docs; each kept
/// stem with its unpitched flag.
fn load_checked(track: &TrackSource) -> (Vec<(Vec<f32>, bool)>, Vec<String>) {
    let who = format!("{}/{}", track.dataset, track.name);
    let mut warnings = Vec::new();
    let mut stems: Vec<(String, Vec<f32>, bool)> = Vec::new();
    for (i, path) in track.stems.iter().enumerate() {
        let unpitched = track.unpitched.get(i).copied().unwrap_or(false);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match cocola::audio::load_mono_16k(path) {
            Err(e) => warnings.push(format!("{who}: stem {name} skipped: {e}")),
            Ok(s) if s.len() < WINDOW_SAMPLES => warnings.push(format!(
                "{who}: stem {name} skipped: {:.2} s long, shorter than one {} s window",
                s.len() as f64 / SAMPLE_RATE as f64,
                WINDOW_SAMPLES / SAMPLE_RATE as usize
            )),
            Ok(s) if s.iter().all(|x| x.abs() < SILENT_PEAK) => {
                warnings.push(format!("{who}: stem {name} skipped: silent throughout"))
            }
            Ok(s) => stems.push((name, s, unpitched)),
        }
    }
    let longest = stems.iter().map(|(_, s, _)| s.len()).max().unwrap_or(0);
    stems.retain(|(name, s, _)| {
        let keep = s.len() * 2 >= longest;
        if !keep {
            warnings.push(format!(
                "{who}: stem {name} skipped: {:.2} s long against {:.2} s for the longest stem",
                s.len() as f64 / SAMPLE_RATE as f64,
                longest as f64 / SAMPLE_RATE as f64
            ));
        }
        keep
    });
    let shortest = stems.iter().map(|(_, s, _)| s.len()).min().unwrap_or(0);
    let longest = stems.iter().map(|(_, s, _)| s.len()).max().unwrap_or(0);
    if longest - shortest > LENGTH_TOLERANCE {
        warnings.push(format!(
            "{who}: stems differ in length ({:.2} s to {:.2} s); all trimmed to the shortest",
            shortest as f64 / SAMPLE_RATE as f64,
            longest as f64 / SAMPLE_RATE as f64
        ));
    }
    let stems = stems
        .into_iter()
        .map(|(_, mut s, unpitched)| {
            s.truncate(shortest);
            (s, unpitched)
        })
        .collect();
    (stems, warnings)
}

/// A sample as stored: x 32768, rounded, clamped to the 16-bit range.
fn quantize(x: f32) -> i16 {
    (x * SCALE).round().clamp(-SCALE, SCALE - 1.0) as i16
}

/// Length and unpitched flags of a complete entry; `None` if absent or damaged.
fn read_header(path: &Path) -> Option<(usize, Vec<bool>)> {
    let file = File::open(path).ok()?;
    let mut header = [0u8; HEADER as usize];
    file.read_exact_at(&mut header, 0).ok()?;
    if &header[..16] != MAGIC {
        return None;
    }
    let stems = u32::from_le_bytes(header[16..20].try_into().ok()?) as usize;
    let len = u64::from_le_bytes(header[24..32].try_into().ok()?) as usize;
    let expected = HEADER + stems as u64 + (stems * len * SAMPLE_BYTES) as u64;
    if file.metadata().ok()?.len() != expected || stems < 2 || len < WINDOW_SAMPLES {
        return None;
    }
    let mut flags = vec![0u8; stems];
    file.read_exact_at(&mut flags, HEADER).ok()?;
    Some((len, flags.iter().map(|&f| f != 0).collect()))
}

/// [`cocola::atomic_file::write_with`], with the entry named in the error:
/// a reader (or a re-run after a crash) never sees a partial entry.
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    cocola::atomic_file::write_with(path, write)
        .map_err(|e| anyhow::anyhow!("cannot write the cache entry {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bit_audio_is_stored_exactly_and_loud_audio_clamped() {
        // What a 16-bit file decodes to (i / 32768) comes back bit for bit.
        for i in [-32_768i32, -12_345, -1, 0, 1, 777, 32_767] {
            let x = i as f32 / SCALE;
            assert_eq!(f32::from(quantize(x)) / SCALE, x, "{i}");
        }
        assert_eq!(quantize(1.5), i16::MAX);
        assert_eq!(quantize(-3.0), i16::MIN);
        // Anything else is within half a step.
        let x = 0.123_456_7f32;
        assert!((f32::from(quantize(x)) / SCALE - x).abs() <= 0.5 / SCALE);
    }
}
