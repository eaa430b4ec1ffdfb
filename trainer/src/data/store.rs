//! Where the sampler reads stem windows from: the on-disk stem cache in
//! training, memory in tests and benchmarks.

use std::fs::File;

use super::stem_cache::CachedTrack;

/// Tracks of equal-length 16 kHz mono stems.
pub trait TrackStore: Sync {
    fn track_count(&self) -> usize;
    fn stems(&self, track: usize) -> usize;
    /// Samples per stem.
    fn len(&self, track: usize) -> usize;
    /// Adds stem `stem` of `track` from `start` onto `out`.
    fn add_stem(&self, track: usize, stem: usize, start: usize, out: &mut [f32]) -> std::io::Result<()>;
    /// Whether the stem is unpitched percussion (never transposed).
    fn unpitched(&self, _track: usize, _stem: usize) -> bool {
        false
    }
    /// The transposition of the stem's twin (the stem rendered that many
    /// semitones away, see [`TwinFiles`](super::dataset::TwinFiles)), if
    /// it has one.
    fn twin(&self, _track: usize, _stem: usize) -> Option<i32> {
        None
    }
    /// Adds the twin of stem `stem` of `track` from `start` onto `out`; only
    /// called for a stem [`twin`](TrackStore::twin) names.
    fn add_twin(&self, track: usize, stem: usize, _start: usize, _out: &mut [f32]) -> std::io::Result<()> {
        Err(std::io::Error::other(format!(
            "stem {stem} of track {track} has no twin"
        )))
    }
    /// `len` samples of the stem from `from`, which may lie before the start
    /// or run past the end (zeros there): context around a window.
    fn read_padded(&self, track: usize, stem: usize, from: isize, len: usize) -> std::io::Result<Vec<f32>> {
        let mut out = vec![0.0f32; len];
        let lo = from.max(0);
        let hi = (from + len as isize).min(self.len(track) as isize);
        if lo < hi {
            let span = &mut out[(lo - from) as usize..(hi - from) as usize];
            self.add_stem(track, stem, lo as usize, span)?;
        }
        Ok(out)
    }
}

/// Stems held in memory.
pub struct MemoryStore {
    pub tracks: Vec<Vec<Vec<f32>>>,
}

impl TrackStore for MemoryStore {
    fn track_count(&self) -> usize {
        self.tracks.len()
    }
    fn stems(&self, track: usize) -> usize {
        self.tracks[track].len()
    }
    fn len(&self, track: usize) -> usize {
        self.tracks[track][0].len()
    }
    fn add_stem(&self, track: usize, stem: usize, start: usize, out: &mut [f32]) -> std::io::Result<()> {
        add_onto(out, &self.tracks[track][stem][start..]);
        Ok(())
    }
}

/// Tracks in the stem cache, read window by window (a large dataset does not
/// fit in memory: Slakh2100's training split is ~200 GB as 16 kHz f32 stems).
pub struct CacheStore {
    pub tracks: Vec<CachedTrack>,
    files: Vec<File>,
}

impl CacheStore {
    pub fn open(tracks: Vec<CachedTrack>) -> anyhow::Result<CacheStore> {
        let files = tracks
            .iter()
            .map(|t| File::open(&t.file).map_err(|e| anyhow::anyhow!("{}: {e}", t.file.display())))
            .collect::<anyhow::Result<_>>()?;
        Ok(CacheStore { tracks, files })
    }
}

impl TrackStore for CacheStore {
    fn track_count(&self) -> usize {
        self.tracks.len()
    }
    fn stems(&self, track: usize) -> usize {
        self.tracks[track].stems
    }
    fn len(&self, track: usize) -> usize {
        self.tracks[track].len
    }
    fn unpitched(&self, track: usize, stem: usize) -> bool {
        self.tracks[track].unpitched.get(stem).copied().unwrap_or(false)
    }
    fn add_stem(&self, track: usize, stem: usize, start: usize, out: &mut [f32]) -> std::io::Result<()> {
        let mut buf = vec![0.0f32; out.len()];
        self.tracks[track].read(&self.files[track], stem, start, &mut buf)?;
        add_onto(out, &buf);
        Ok(())
    }
    fn twin(&self, track: usize, stem: usize) -> Option<i32> {
        let t = &self.tracks[track];
        t.twins.get(stem)?.map(|_| t.twin_semitones)
    }
    fn add_twin(&self, track: usize, stem: usize, start: usize, out: &mut [f32]) -> std::io::Result<()> {
        let mut buf = vec![0.0f32; out.len()];
        self.tracks[track].read_twin(&self.files[track], stem, start, &mut buf)?;
        add_onto(out, &buf);
        Ok(())
    }
}

/// `out += x`, sample by sample.
fn add_onto(out: &mut [f32], x: &[f32]) {
    for (o, x) in out.iter_mut().zip(x) {
        *o += x;
    }
}
