//! A whole file as a stream of 16 kHz mono samples, a few packets at a time:
//! the same samples as [`load_mono_16k`](super::load_mono_16k), in memory
//! bounded by a packet and a resampler block whatever the file's length.
//!
//! It is the one-file case of [`MixStream16k`]: one decoding and resampling
//! loop serves both (a mix of one file is that file's signal, bit for bit).

use std::path::Path;

use super::{AudioError, DecodedInfo, MixStream16k};

/// Pulls 16 kHz mono samples out of a file: [`read`](Self::read) until it
/// returns `false`, then [`info`](Self::info) says what the file held.
pub struct MonoStream16k {
    mix: MixStream16k,
}

impl MonoStream16k {
    /// Opens `path`; fails as [`load_mono_16k`](super::load_mono_16k) would
    /// on a file it cannot read.
    pub fn open(path: &Path) -> Result<Self, AudioError> {
        Ok(Self {
            mix: MixStream16k::open(&[path.to_path_buf()])?,
        })
    }

    /// How many samples the header promises (a hint for reserving memory;
    /// capped, since a header can lie).
    pub fn expected_samples(&self) -> usize {
        self.mix.expected_samples()
    }

    /// Appends the next samples to `out` (possibly none); `false` once the
    /// stream has ended and every sample has been given. Errors are those of
    /// a whole-file decode, found when the stream reaches them (a truncated
    /// file fails at its end).
    pub fn read(&mut self, out: &mut Vec<f32>) -> Result<bool, AudioError> {
        self.mix.read(out)
    }

    /// What the file held, once [`read`](Self::read) has returned `false`.
    pub fn info(&self) -> Option<DecodedInfo> {
        self.mix.infos().and_then(|infos| infos.first().copied())
    }
}
