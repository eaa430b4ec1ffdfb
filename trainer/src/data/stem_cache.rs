//! Preprocessing cache: every track's stems decoded, downmixed and resampled
//! to 16 kHz mono once (by `cocola::audio`, the contract's first row), checked,
//! and stored in one file per track; the sampler reads them through [`store`] that the sampler reads windows from.
//!
//! - **Keyed by content identity and settings**: the file name is a hash of
//!   [`SETTINGS`], the dataset, and every stem file's path, size and
//!   modification time, so changing a setting or a file makes a new entry
//!   (stale ones are never read again; [`unused_entries`] finds them for
//!   `cocola-trainer prune-stem-cache`).
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
//! count, `i32` transposition of the track's twins (0: none), `u64` samples
//! per stem, one byte per stem (1 when it is unpitched percussion), then
//! each stem's samples as 16-bit integers (x 32768, clamped). A track with
//! transposed twins ([`TwinFiles`]) then has one byte per stem (1 when it
//! has a twin) and the twins' samples, in stem order, as the stems'. Entries
//! without twins are what they were before twins existed. 16 bits are what rendered and most recorded stems
//! hold anyway (lossless for 16 kHz 16-bit WAV), quantisation noise sits at
//! -96 dBFS, far below the features' 80 dB range, and the cache of a corpus
//! takes half the disk and half the reads of f32.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use cocola::contract::{SAMPLE_RATE, WINDOW_SAMPLES};
use sha2::{Digest, Sha256};

use super::dataset::{Split, TrackSource, TwinFiles};

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
    /// The transposition of the track's twins (0: it has none).
    pub twin_semitones: i32,
    /// Per stem: where its twin is among the stored twins, if it has one.
    pub twins: Vec<Option<usize>>,
}

impl CachedTrack {
    /// Reads `out.len()` samples of stem `stem` from `start` (must lie inside).
    pub fn read(&self, file: &File, stem: usize, start: usize, out: &mut [f32]) -> std::io::Result<()> {
        assert!(
            stem < self.stems && start + out.len() <= self.len,
            "read outside the cached track"
        );
        let offset = HEADER + self.stems as u64 + ((stem * self.len + start) * SAMPLE_BYTES) as u64;
        read_samples(file, offset, out)
    }

    /// Reads `out.len()` samples of the twin of stem `stem` from `start`
    /// (the stem must have one, and the span lie inside).
    pub fn read_twin(&self, file: &File, stem: usize, start: usize, out: &mut [f32]) -> std::io::Result<()> {
        let twin = self.twins[stem].expect("only stems with a twin are read as twins");
        assert!(start + out.len() <= self.len, "read outside the cached track");
        let twins_start = HEADER + 2 * self.stems as u64 + (self.stems * self.len * SAMPLE_BYTES) as u64;
        read_samples(
            file,
            twins_start + ((twin * self.len + start) * SAMPLE_BYTES) as u64,
            out,
        )
    }
}

/// Reads `out.len()` stored samples from byte `offset` of `file`.
fn read_samples(file: &File, offset: u64, out: &mut [f32]) -> std::io::Result<()> {
    let mut bytes = vec![0u8; out.len() * SAMPLE_BYTES];
    file.read_exact_at(&mut bytes, offset)?;
    for (o, b) in out.iter_mut().zip(bytes.chunks_exact(SAMPLE_BYTES)) {
        *o = f32::from(i16::from_le_bytes([b[0], b[1]])) / SCALE;
    }
    Ok(())
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
    // A track without twins keeps the key it had before twins existed.
    let twins = track.twins.iter().flat_map(|t| t.files.iter().flatten());
    if let Some(t) = &track.twins {
        h.update(b"twins");
        h.update(t.semitones.to_le_bytes());
    }
    for stem in track.stems.iter().chain(twins) {
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

/// The cache's entries under `dir` (`.stems` and `.skip` files) whose key is
/// not in `in_use`, with their sizes in bytes: entries of audio that has
/// changed since (a re-rendered corpus, new twins) or of other data sets.
/// Nothing ever reads a stale entry again, but it keeps its disk.
pub fn unused_entries(dir: &Path, in_use: &HashSet<String>) -> std::io::Result<Vec<(PathBuf, u64)>> {
    let mut unused = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let is_entry = matches!(path.extension().and_then(|e| e.to_str()), Some("stems" | "skip"));
        let key = path.file_stem().and_then(|k| k.to_str()).unwrap_or_default();
        if is_entry && !in_use.contains(key) {
            unused.push((path, entry.metadata()?.len()));
        }
    }
    unused.sort();
    Ok(unused)
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
    let entry = |header: Header| CachedTrack {
        dataset: track.dataset.clone(),
        name: track.name.clone(),
        split: track.split,
        file: file.clone(),
        stems: header.unpitched.len(),
        len: header.len,
        unpitched: header.unpitched,
        twin_semitones: header.twin_semitones,
        twins: header.twins,
    };
    if let Ok(reason) = std::fs::read_to_string(&skip) {
        return Ok((Err(reason), Vec::new()));
    }
    if let Some(header) = read_header(&file) {
        return Ok((Ok(entry(header)), Vec::new()));
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
    let header = Header {
        len: stems[0].samples.len(),
        unpitched: stems.iter().map(|s| s.unpitched).collect(),
        twin_semitones: if stems.iter().any(|s| s.twin.is_some()) {
            track.twins.as_ref().map_or(0, |t| t.semitones)
        } else {
            0
        },
        twins: twin_slots(stems.iter().map(|s| s.twin.is_some())),
    };
    let samples = |w: &mut BufWriter<File>, s: &[f32]| -> std::io::Result<()> {
        for x in s {
            w.write_all(&quantize(*x).to_le_bytes())?;
        }
        Ok(())
    };
    write_atomically(&file, |w| {
        w.write_all(MAGIC)?;
        w.write_all(&(stems.len() as u32).to_le_bytes())?;
        w.write_all(&header.twin_semitones.to_le_bytes())?;
        w.write_all(&(header.len as u64).to_le_bytes())?;
        w.write_all(&header.unpitched.iter().map(|&u| u as u8).collect::<Vec<u8>>())?;
        for s in &stems {
            samples(w, &s.samples)?;
        }
        if header.twin_semitones != 0 {
            w.write_all(&header.twins.iter().map(|t| t.is_some() as u8).collect::<Vec<u8>>())?;
            for twin in stems.iter().filter_map(|s| s.twin.as_deref()) {
                samples(w, twin)?;
            }
        }
        Ok(())
    })?;
    Ok((Ok(entry(header)), warnings))
}

/// What an entry's header (and twin flags) say about it.
struct Header {
    len: usize,
    unpitched: Vec<bool>,
    twin_semitones: i32,
    twins: Vec<Option<usize>>,
}

/// Per stem, where its twin is stored (the twins of the stems that have
/// one, in stem order).
fn twin_slots(has_twin: impl Iterator<Item = bool>) -> Vec<Option<usize>> {
    let mut next = 0;
    has_twin
        .map(|has| {
            has.then(|| {
                next += 1;
                next - 1
            })
        })
        .collect()
}

/// A stem as it is stored: its samples, whether it is unpitched, and its
/// transposed twin (trimmed alike) if it has one.
struct CheckedStem {
    samples: Vec<f32>,
    unpitched: bool,
    twin: Option<Vec<f32>>,
}

/// Decodes every stem (and its twin) and applies the rules of the module
/// docs: the stems kept, each with its unpitched flag and twin.
fn load_checked(track: &TrackSource) -> (Vec<CheckedStem>, Vec<String>) {
    let who = format!("{}/{}", track.dataset, track.name);
    let mut warnings = Vec::new();
    let mut stems: Vec<(String, CheckedStem)> = Vec::new();
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
            Ok(samples) => {
                let twin = load_twin(track.twins.as_ref(), i, samples.len(), &mut warnings, &who);
                stems.push((
                    name,
                    CheckedStem {
                        samples,
                        unpitched,
                        twin,
                    },
                ))
            }
        }
    }
    let longest = stems.iter().map(|(_, s)| s.samples.len()).max().unwrap_or(0);
    stems.retain(|(name, s)| {
        let keep = s.samples.len() * 2 >= longest;
        if !keep {
            warnings.push(format!(
                "{who}: stem {name} skipped: {:.2} s long against {:.2} s for the longest stem",
                s.samples.len() as f64 / SAMPLE_RATE as f64,
                longest as f64 / SAMPLE_RATE as f64
            ));
        }
        keep
    });
    let shortest = stems.iter().map(|(_, s)| s.samples.len()).min().unwrap_or(0);
    let longest = stems.iter().map(|(_, s)| s.samples.len()).max().unwrap_or(0);
    if longest - shortest > LENGTH_TOLERANCE {
        warnings.push(format!(
            "{who}: stems differ in length ({:.2} s to {:.2} s); all trimmed to the shortest",
            shortest as f64 / SAMPLE_RATE as f64,
            longest as f64 / SAMPLE_RATE as f64
        ));
    }
    let stems = stems
        .into_iter()
        .map(|(_, mut s)| {
            s.samples.truncate(shortest);
            if let Some(twin) = &mut s.twin {
                twin.truncate(shortest);
            }
            s
        })
        .collect();
    (stems, warnings)
}

/// The twin of stem `stem`, as long as the stem (a few samples more are cut,
/// fewer are padded with silence); `None` (with a warning) when it cannot be
/// read or its length differs by more than [`LENGTH_TOLERANCE`].
fn load_twin(
    twins: Option<&TwinFiles>,
    stem: usize,
    len: usize,
    warnings: &mut Vec<String>,
    who: &str,
) -> Option<Vec<f32>> {
    let path = twins?.files.get(stem)?.as_ref()?;
    match cocola::audio::load_mono_16k(path) {
        Err(e) => warnings.push(format!("{who}: twin {} left out: {e}", path.display())),
        Ok(twin) if twin.len().abs_diff(len) > LENGTH_TOLERANCE => warnings.push(format!(
            "{who}: twin {} left out: {} samples against {len} for its stem",
            path.display(),
            twin.len()
        )),
        Ok(mut twin) => {
            twin.resize(len, 0.0);
            return Some(twin);
        }
    }
    None
}

/// A sample as stored: x 32768, rounded, clamped to the 16-bit range.
fn quantize(x: f32) -> i16 {
    (x * SCALE).round().clamp(-SCALE, SCALE - 1.0) as i16
}

/// What a complete entry's header says; `None` if absent or damaged.
fn read_header(path: &Path) -> Option<Header> {
    let file = File::open(path).ok()?;
    let mut header = [0u8; HEADER as usize];
    file.read_exact_at(&mut header, 0).ok()?;
    if &header[..16] != MAGIC {
        return None;
    }
    let stems = u32::from_le_bytes(header[16..20].try_into().ok()?) as usize;
    let twin_semitones = i32::from_le_bytes(header[20..24].try_into().ok()?);
    let len = u64::from_le_bytes(header[24..32].try_into().ok()?) as usize;
    let stem_bytes = (stems * len * SAMPLE_BYTES) as u64;
    let size = file.metadata().ok()?.len();
    if stems < 2 || len < WINDOW_SAMPLES || size < HEADER + stems as u64 + stem_bytes {
        return None;
    }
    let mut flags = vec![0u8; stems];
    file.read_exact_at(&mut flags, HEADER).ok()?;
    let mut twin_flags = vec![0u8; if twin_semitones == 0 { 0 } else { stems }];
    file.read_exact_at(&mut twin_flags, HEADER + stems as u64 + stem_bytes)
        .ok()?;
    let twins = twin_slots(twin_flags.iter().map(|&f| f != 0));
    let twin_bytes = (twins.iter().flatten().count() * len * SAMPLE_BYTES) as u64;
    if size != HEADER + stems as u64 + stem_bytes + twin_flags.len() as u64 + twin_bytes {
        return None;
    }
    Some(Header {
        len,
        unpitched: flags.iter().map(|&f| f != 0).collect(),
        twin_semitones,
        twins: if twin_semitones == 0 { vec![None; stems] } else { twins },
    })
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
