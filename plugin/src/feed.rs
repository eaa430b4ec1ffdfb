//! The only bridge from the audio thread to the worker: two lock-free SPSC
//! rings (`ringbuf`), one of downmixed `(stem, condition)` frames and one of
//! small markers that say what the host reported for the block that starts at
//! a given frame (transport, whether a sidechain is connected, resets).
//!
//! The audio side ([`FeedWriter`]) only copies into memory allocated by
//! [`feed`] on the main thread: no allocation, lock, syscall or log. The one
//! exception is offline (bounce) processing, where the host is not running in
//! real time and the issue demands that no window is skipped: there a full
//! ring makes the writer yield until the worker has caught up.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

/// One downmixed frame: `[stem (main input), condition (sidechain)]`.
pub type Frame = [f32; 2];

/// Frames copied per step on the audio thread (a stack buffer of this many frames).
const CHUNK: usize = 256;
/// Seconds of audio the frame ring holds before a stalled worker loses audio.
const RING_SECONDS: f64 = 8.0;
/// Markers the marker ring holds; at most one per host block is written, so
/// with tiny blocks some are dropped, which only costs transport precision.
const MARKER_CAPACITY: usize = 4096;

/// What the host said about the block starting at frame `at_frame` of the stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Marker {
    /// Index, in frames pushed since the feed was created, of the block's first frame.
    pub at_frame: u64,
    /// Song position of that frame in seconds, when the host reports one.
    pub song_seconds: Option<f64>,
    pub playing: bool,
    /// Whether the layout in use has a sidechain input with at least one channel.
    pub sidechain: bool,
    /// The host reset the plugin (or frames were lost) since the last marker:
    /// the worker must forget its history.
    pub discontinuity: bool,
}

/// Counters the audio thread keeps for the GUI/tests; relaxed atomics only.
#[derive(Debug, Default)]
pub struct FeedStats {
    /// Frames dropped because the ring was full (real-time mode only).
    pub dropped_frames: AtomicU64,
    /// Frames accepted into the ring.
    pub pushed_frames: AtomicU64,
}

/// Audio-thread end.
pub struct FeedWriter {
    frames: HeapProd<Frame>,
    markers: HeapProd<Marker>,
    pushed: u64,
    /// A discontinuity not yet delivered in a marker.
    pending_discontinuity: bool,
    offline: bool,
    /// Cleared by the worker when it exits, so an offline writer never waits forever.
    worker_alive: Arc<AtomicBool>,
    stats: Arc<FeedStats>,
}

/// Worker end.
pub struct FeedReader {
    pub frames: HeapCons<Frame>,
    pub markers: HeapCons<Marker>,
    pub worker_alive: Arc<AtomicBool>,
}

/// Creates both ends for a host running at `sample_rate` with blocks of up to
/// `max_block` frames. Allocates; call on the main thread.
pub fn feed(sample_rate: f32, max_block: usize, offline: bool, stats: Arc<FeedStats>) -> (FeedWriter, FeedReader) {
    let capacity = ((sample_rate as f64 * RING_SECONDS) as usize)
        .max(4 * max_block)
        .max(4 * CHUNK);
    let (mut frames_w, mut frames_r) = HeapRb::<Frame>::new(capacity).split();
    let (mut markers_w, mut markers_r) = HeapRb::<Marker>::new(MARKER_CAPACITY).split();
    // Touch every page now, on the main thread: a fresh allocation of this
    // size is mapped lazily, and the first write to each page from the audio
    // thread would otherwise be a page fault (a trip into the kernel).
    frames_w.push_iter(std::iter::repeat_n([0.0; 2], capacity));
    frames_r.clear();
    let blank = Marker {
        at_frame: 0,
        song_seconds: None,
        playing: false,
        sidechain: false,
        discontinuity: false,
    };
    markers_w.push_iter(std::iter::repeat_n(blank, MARKER_CAPACITY));
    markers_r.clear();
    let alive = Arc::new(AtomicBool::new(true));
    (
        FeedWriter {
            frames: frames_w,
            markers: markers_w,
            pushed: 0,
            pending_discontinuity: false,
            offline,
            worker_alive: alive.clone(),
            stats,
        },
        FeedReader {
            frames: frames_r,
            markers: markers_r,
            worker_alive: alive,
        },
    )
}

/// Writes the mean of `channels[..][start..start + out.len()]` (the same
/// downmix as `cocola::audio`; 0 for no channels) into `out[..][slot]`.
/// One loop per channel count, so the common cases compile to straight copies.
#[inline]
fn downmix_into(out: &mut [Frame], slot: usize, channels: &[&[f32]], start: usize) {
    let range = start..start + out.len();
    match channels {
        [] => out.iter_mut().for_each(|f| f[slot] = 0.0),
        [mono] => {
            for (f, &x) in out.iter_mut().zip(&mono[range]) {
                f[slot] = x;
            }
        }
        [l, r] => {
            for (f, (&a, &b)) in out.iter_mut().zip(l[range.clone()].iter().zip(&r[range])) {
                f[slot] = (a + b) * 0.5;
            }
        }
        many => {
            let n = many.len() as f32;
            for (k, f) in out.iter_mut().enumerate() {
                f[slot] = many.iter().map(|c| c[start + k]).sum::<f32>() / n;
            }
        }
    }
}

impl FeedWriter {
    /// Remembers that the next marker must tell the worker to start over.
    pub fn mark_discontinuity(&mut self) {
        self.pending_discontinuity = true;
    }

    /// Downmixes one host block and pushes it. `main` and `side` hold at most
    /// a few channel slices each (no allocation: the caller passes stack arrays).
    pub fn push_block(&mut self, main: &[&[f32]], side: &[&[f32]], samples: usize, transport: BlockTransport) {
        let marker = Marker {
            at_frame: self.pushed,
            song_seconds: transport.song_seconds,
            playing: transport.playing,
            sidechain: !side.is_empty(),
            discontinuity: self.pending_discontinuity,
        };
        if self.markers.try_push(marker).is_ok() {
            self.pending_discontinuity = false;
        }
        let mut chunk = [[0.0f32; 2]; CHUNK];
        let mut start = 0;
        while start < samples {
            let n = (samples - start).min(CHUNK);
            downmix_into(&mut chunk[..n], 0, main, start);
            downmix_into(&mut chunk[..n], 1, side, start);
            if !self.make_room(n) {
                // Real time and the worker is far behind: lose this audio and
                // tell the worker its history no longer joins up.
                self.stats
                    .dropped_frames
                    .fetch_add((samples - start) as u64, Ordering::Relaxed);
                self.pending_discontinuity = true;
                return;
            }
            let written = self.frames.push_slice(&chunk[..n]);
            debug_assert_eq!(written, n);
            self.pushed += n as u64;
            self.stats.pushed_frames.fetch_add(n as u64, Ordering::Relaxed);
            start += n;
        }
    }

    /// Whether `n` frames fit; offline, waits for the worker to make room.
    fn make_room(&self, n: usize) -> bool {
        if self.frames.vacant_len() >= n {
            return true;
        }
        if !self.offline {
            return false;
        }
        while self.frames.vacant_len() < n {
            if !self.worker_alive.load(Ordering::Acquire) {
                return false;
            }
            std::thread::yield_now();
        }
        true
    }
}

/// The transport facts a marker carries.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BlockTransport {
    pub song_seconds: Option<f64>,
    pub playing: bool,
}

impl FeedReader {
    /// Frames waiting to be read.
    pub fn backlog(&self) -> usize {
        self.frames.occupied_len()
    }

    /// Pops up to `out.len()` frames, returns how many.
    pub fn pop_frames(&mut self, out: &mut [Frame]) -> usize {
        self.frames.pop_slice(out)
    }

    /// The next marker, if its block has started by frame `before` (exclusive).
    pub fn next_marker_before(&mut self, before: u64) -> Option<Marker> {
        match self.markers.try_peek() {
            Some(m) if m.at_frame < before => self.markers.try_pop(),
            _ => None,
        }
    }

    /// Frame index of the next pending marker, if any.
    pub fn next_marker_at(&self) -> Option<u64> {
        self.markers.try_peek().map(|m| m.at_frame)
    }
}

impl Drop for FeedReader {
    fn drop(&mut self) {
        self.worker_alive.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downmix_and_markers_line_up() {
        let stats = Arc::new(FeedStats::default());
        let (mut w, mut r) = feed(1000.0, 16, false, stats.clone());
        let l = [1.0, 2.0, 3.0];
        let rr = [3.0, 4.0, 5.0];
        let s = [0.5, 0.5, 0.5];
        w.push_block(
            &[&l, &rr],
            &[&s],
            3,
            BlockTransport {
                song_seconds: Some(1.5),
                playing: true,
            },
        );
        w.mark_discontinuity();
        w.push_block(&[&l], &[], 2, BlockTransport::default());
        let mut out = [[0.0; 2]; 8];
        assert_eq!(r.pop_frames(&mut out), 5);
        assert_eq!(&out[..5], &[[2.0, 0.5], [3.0, 0.5], [4.0, 0.5], [1.0, 0.0], [2.0, 0.0]]);
        let m0 = r.next_marker_before(1).unwrap();
        assert_eq!(
            (m0.at_frame, m0.song_seconds, m0.sidechain, m0.discontinuity),
            (0, Some(1.5), true, false)
        );
        assert!(r.next_marker_before(3).is_none(), "second block starts at frame 3");
        let m1 = r.next_marker_before(4).unwrap();
        assert_eq!((m1.at_frame, m1.sidechain, m1.discontinuity), (3, false, true));
        assert_eq!(stats.pushed_frames.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn full_ring_drops_in_real_time_and_flags_a_gap() {
        let stats = Arc::new(FeedStats::default());
        let (mut w, mut r) = feed(100.0, 1, false, stats.clone());
        let cap = 4 * CHUNK; // 100 Hz * 8 s is below the floor
        let x = vec![0.25f32; cap + 10];
        w.push_block(&[&x], &[], x.len(), BlockTransport::default());
        assert!(stats.dropped_frames.load(Ordering::Relaxed) > 0);
        w.push_block(&[&x[..1]], &[], 1, BlockTransport::default());
        let _ = r.next_marker_before(u64::MAX).unwrap();
        assert!(r.next_marker_before(u64::MAX).unwrap().discontinuity);
    }

    #[test]
    fn offline_writer_gives_up_when_the_worker_is_gone() {
        let stats = Arc::new(FeedStats::default());
        let (mut w, r) = feed(100.0, 1, true, stats.clone());
        drop(r);
        let x = vec![0.0f32; 8 * CHUNK];
        w.push_block(&[&x], &[], x.len(), BlockTransport::default());
        assert!(stats.dropped_frames.load(Ordering::Relaxed) > 0);
    }
}
