//! Stretches of a file's 16 kHz mono signal, decoding only the frames they
//! depend on: a seek (with pre-roll for transform codecs, see
//! [`MonoDecoder::seek`]) and one resampler block of margin
//! ([`input_span`]). The samples equal those at the same positions of
//! [`load_mono_16k`](super::load_mono_16k) (`tests/audio_window.rs`), so an
//! evaluation that reads 5 s windows of long stems costs the windows, not
//! the stems, in time and in memory.
//!
//! A [`WindowReader`] serves many windows of one file in increasing order
//! of start: it keeps decoding forward through short gaps and overlaps (no
//! frame decoded twice) and seeks over long ones, holding only the samples
//! from the current window's start on.

use std::path::{Path, PathBuf};

use super::decode::MonoDecoder;
use super::resample::input_span;
use super::{sanitize, AudioError, DecodedInfo, Resampler16k};

/// A gap between windows longer than this (16 kHz samples, 2 s) is skipped
/// by seeking rather than decoded through: a seek costs about a pre-roll
/// and a resampler block of decoding (~0.5 s of audio at 44.1 kHz).
const SEEK_OVER_SAMPLES: usize = 32_000;

/// Samples `start..end` (16 kHz) of the file at `path`, which a whole pass
/// found to be `info` (see [`WindowReader::window`]).
pub fn load_window_16k(path: &Path, info: &DecodedInfo, start: usize, end: usize) -> Result<Vec<f32>, AudioError> {
    WindowReader::new(path, *info).window(start, end)
}

/// Windows of one file, read in increasing order of start (see the module docs).
pub struct WindowReader {
    path: PathBuf,
    info: DecodedInfo,
    stream: Option<Positioned>,
}

/// A decoder and resampler running forward from a seek point, and the
/// samples they produced from the current window's start on.
struct Positioned {
    decoder: MonoDecoder,
    /// `None` at 16 kHz.
    resampler: Option<Resampler16k>,
    /// Next frame (at the file's rate) the resampler expects.
    next_frame: u64,
    /// 16 kHz position of the resampler's next output sample (negative
    /// before the signal's start: the resampler's latency).
    next_out: i64,
    /// Samples from `buffer_start` on.
    buffer: Vec<f32>,
    buffer_start: usize,
    native: Vec<f32>,
    raw: Vec<f32>,
    ended: bool,
}

impl WindowReader {
    /// A reader of `path`, which a whole pass found to be `info`; opens
    /// nothing until the first window.
    pub fn new(path: &Path, info: DecodedInfo) -> Self {
        Self {
            path: path.to_path_buf(),
            info,
            stream: None,
        }
    }

    /// Samples `start..end` of the file's 16 kHz signal, equal to
    /// `load_mono_16k(path)[start..end]`. The signal is `info.samples_16k()`
    /// long: a window past its end is shorter, or empty. Fails if the file
    /// no longer decodes at `info`'s rate; frames beyond `info.frames` (a
    /// file that grew) are ignored, and missing ones (a file that shrank)
    /// read as silence: callers check that the file is unchanged
    /// ([`crate::eval::track_index`] compares size and time).
    pub fn window(&mut self, start: usize, end: usize) -> Result<Vec<f32>, AudioError> {
        let end = end.min(self.info.samples_16k());
        if end <= start {
            return Ok(Vec::new());
        }
        let reposition = match &self.stream {
            None => true,
            Some(s) => start < s.buffer_start || start > s.buffer_end() + SEEK_OVER_SAMPLES,
        };
        if reposition {
            self.stream = Some(Positioned::at(&self.path, &self.info, start, end)?);
        }
        let stream = self.stream.as_mut().expect("positioned above");
        stream.drop_before(start);
        while stream.buffer_end() < end {
            stream.advance(&self.path, &self.info)?;
        }
        Ok(stream.buffer[..end - start].to_vec())
    }
}

impl Positioned {
    /// Opens the file and seeks to the frames window `start..end` needs.
    fn at(path: &Path, info: &DecodedInfo, start: usize, end: usize) -> Result<Self, AudioError> {
        let (first, _) = input_span(info.sample_rate, start, end);
        let mut decoder = MonoDecoder::open(path)?;
        let resampler = Resampler16k::new(info.sample_rate).map_err(|_| AudioError::AbsurdSampleRate {
            path: path.to_path_buf(),
            rate: f64::from(info.sample_rate),
        })?;
        // A format that cannot seek is read from its start, the frames
        // before the window decoded and dropped.
        let next_frame = if first > 0 && decoder.seek(first)? { first } else { 0 };
        let next_out = resampler.output_position_of(next_frame);
        let passthrough = resampler.latency_samples() == 0 && info.sample_rate == crate::contract::SAMPLE_RATE;
        Ok(Self {
            decoder,
            resampler: (!passthrough).then_some(resampler),
            next_frame,
            next_out,
            buffer: Vec::new(),
            buffer_start: start,
            native: Vec::new(),
            raw: Vec::new(),
            ended: false,
        })
    }

    fn buffer_end(&self) -> usize {
        self.buffer_start + self.buffer.len()
    }

    /// Forgets the samples before `start` (windows only move forward).
    fn drop_before(&mut self, start: usize) {
        let drop = start.saturating_sub(self.buffer_start).min(self.buffer.len());
        self.buffer.drain(..drop);
        self.buffer_start = self.buffer_start.max(start);
    }

    /// Decodes one more packet (or, past the file's end, one block of the
    /// zeros the whole-file path pads with) into the buffer.
    fn advance(&mut self, path: &Path, info: &DecodedInfo) -> Result<(), AudioError> {
        self.raw.clear();
        if self.ended {
            match &mut self.resampler {
                Some(r) => r.flush_block(&mut self.raw),
                // 16 kHz: the file holds fewer frames than `info` says.
                None => self.raw.resize(4096, 0.0),
            }
        } else {
            self.native.clear();
            match self.decoder.read(&mut self.native)? {
                Some(position) if self.next_frame < info.frames => {
                    if let Some(rate) = self.decoder.rate().filter(|&r| r != info.sample_rate) {
                        return Err(AudioError::Corrupt {
                            path: path.to_path_buf(),
                            reason: format!("the file now decodes at {rate} Hz, not {} Hz", info.sample_rate),
                        });
                    }
                    self.feed_frames(position, info.frames);
                }
                _ => {
                    self.ended = true;
                    return Ok(());
                }
            }
        }
        let skip = (self.buffer_start as i64 - self.next_out).clamp(0, self.raw.len() as i64) as usize;
        self.buffer.extend_from_slice(&self.raw[skip..]);
        self.next_out += self.raw.len() as i64;
        Ok(())
    }

    /// Puts the frames of a packet that starts at `position` in line with
    /// the frames expected next (dropping what came before, filling a gap
    /// with silence as a whole decode would have), cut at `frames`, through
    /// the resampler into `raw`.
    fn feed_frames(&mut self, position: u64, frames: u64) {
        let mut chunk: &[f32] = &self.native;
        let gap = position.saturating_sub(self.next_frame) as usize;
        let overlap = (self.next_frame.saturating_sub(position) as usize).min(chunk.len());
        chunk = &chunk[overlap..];
        let mut input = vec![0.0f32; gap];
        input.extend_from_slice(chunk);
        input.truncate(frames.saturating_sub(self.next_frame) as usize);
        sanitize(&mut input);
        self.next_frame += input.len() as u64;
        match &mut self.resampler {
            Some(r) => r.process(&input, &mut self.raw),
            None => self.raw.extend_from_slice(&input),
        }
    }
}
