//! A whole file as a stream of 16 kHz mono samples, a few packets at a time:
//! the same samples as [`load_mono_16k`](super::load_mono_16k), in memory
//! bounded by a packet and a resampler block whatever the file's length.

use std::path::Path;

use super::decode::MonoDecoder;
use super::resample::AlignedResampler16k;
use super::{sanitize, warn_non_finite, AudioError, DecodedInfo};
use crate::contract::SAMPLE_RATE;

/// Pulls 16 kHz mono samples out of a file: [`read`](Self::read) until it
/// returns `false`, then [`info`](Self::info) says what the file held.
pub struct MonoStream16k {
    decoder: Option<MonoDecoder>,
    path: std::path::PathBuf,
    resampler: Option<AlignedResampler16k>,
    /// Frames of the current packet at the file's rate.
    native: Vec<f32>,
    /// Frames that came before the rate was known (silence of bad packets).
    held: Vec<f32>,
    replaced: usize,
    info: Option<DecodedInfo>,
}

impl MonoStream16k {
    /// Opens `path`; fails as [`load_mono_16k`](super::load_mono_16k) would
    /// on a file it cannot read.
    pub fn open(path: &Path) -> Result<Self, AudioError> {
        Ok(Self {
            decoder: Some(MonoDecoder::open(path)?),
            path: path.to_path_buf(),
            resampler: None,
            native: Vec::new(),
            held: Vec::new(),
            replaced: 0,
            info: None,
        })
    }

    /// How many samples the header promises (a hint for reserving memory;
    /// capped, since a header can lie).
    pub fn expected_samples(&self) -> usize {
        const MAX_HINT: u64 = 1 << 25;
        self.decoder
            .as_ref()
            .and_then(MonoDecoder::declared)
            .map_or(0, |(frames, rate)| {
                (frames.min(MAX_HINT * 48) * u64::from(SAMPLE_RATE) / u64::from(rate.max(1))).min(MAX_HINT) as usize
            })
    }

    /// Appends the next samples to `out` (possibly none); `false` once the
    /// stream has ended and every sample has been given. Errors are those of
    /// a whole-file decode, found when the stream reaches them (a truncated
    /// file fails at its end).
    pub fn read(&mut self, out: &mut Vec<f32>) -> Result<bool, AudioError> {
        let Some(decoder) = self.decoder.as_mut() else {
            return Ok(false);
        };
        self.native.clear();
        if decoder.read(&mut self.native)?.is_none() {
            let decoder = self.decoder.take().expect("checked above");
            let info = decoder.finish()?;
            self.finish(info, out)?;
            return Ok(true);
        }
        if self.native.is_empty() {
            return Ok(true);
        }
        self.replaced += sanitize(&mut self.native);
        let resampler = match (&mut self.resampler, decoder.rate()) {
            (Some(r), _) => r,
            // Silence for packets that failed before any decoded: the rate
            // is not known yet, so it waits.
            (None, None) => {
                self.held.extend_from_slice(&self.native);
                return Ok(true);
            }
            (None, Some(rate)) => {
                let r = AlignedResampler16k::new(rate).map_err(|_| AudioError::AbsurdSampleRate {
                    path: self.path.clone(),
                    rate: f64::from(rate),
                })?;
                let r = self.resampler.insert(r);
                r.process(&self.held, out);
                self.held = Vec::new();
                r
            }
        };
        resampler.process(&self.native, out);
        Ok(true)
    }

    /// The end of the file: the resampler's tail, cut where the whole-file
    /// path cuts (`round(frames * 16000 / rate)` samples).
    fn finish(&mut self, info: DecodedInfo, out: &mut Vec<f32>) -> Result<(), AudioError> {
        warn_non_finite(&self.path, self.replaced);
        let total = info.samples_16k();
        if let Some(mut resampler) = self.resampler.take() {
            resampler.finish(total, out);
            debug_assert!(resampler.emitted() == total || info.sample_rate == SAMPLE_RATE);
        }
        self.info = Some(info);
        Ok(())
    }

    /// What the file held, once [`read`](Self::read) has returned `false`.
    pub fn info(&self) -> Option<DecodedInfo> {
        self.info
    }
}
