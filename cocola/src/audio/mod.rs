//! Audio in: any file or stream -> mono (mean of channels) -> 16 kHz `f32`.
//!
//! This is the first row of the feature contract (docs/DESIGN.md): every consumer
//! (CLI, trainer, plugin) gets its 16 kHz mono signal from here, so that the
//! same file always turns into the same samples.
//!
//! - [`load_mono_16k`] / [`load_mono_16k_with_info`]: decode a whole file
//!   (WAV int 8/16/24/32 and float, FLAC, MP3, OGG/Vorbis, AIFF, and whatever
//!   else symphonia 0.5 with the `all` feature reads, e.g. AAC/ALAC in M4A).
//! - [`downmix_interleaved`] / [`downmix_planar`]: interleaved frames or
//!   channel planes -> mono, the same mean the decoder uses.
//! - [`planar_to_mono_16k`]: audio already in memory (the Python binding's
//!   arrays) -> 16 kHz mono, exactly as a file holding those samples.
//! - [`Resampler16k`]: streaming FFT converter; [`resample_to_16k`]: the
//!   same filter over a whole signal with the delay removed (files).
//! - [`StreamingResampler16k`]: the plugin's worker thread's converter, a
//!   low-latency polyphase FIR ([`FirResampler16k`]) with the same passband
//!   and stopband, no block wait and a third of the delay.
//! - [`MonoStream16k`]: the same samples as [`load_mono_16k`], pulled a
//!   packet at a time (memory bounded by a packet, not the file).
//! - [`MixStream16k`]: the sum of several files' [`load_mono_16k`] signals
//!   over the length they all have, streamed, with one resampler per
//!   distinct sample rate rather than one per file.
//! - [`load_window_16k`]: samples `start..end` of [`load_mono_16k`]'s
//!   result, decoding only the frames they depend on (seek + margin);
//!   [`WindowReader`]: many windows of one file in order of start, each
//!   frame decoded at most once.
//! - [`sanitize`]: NaN/Inf -> 0.
//!
//! # Error policy
//!
//! Every file error names the file. A file fails when it cannot be opened or
//! read, is empty, is not a recognised audio format, has no audio track, uses
//! an unsupported codec, declares zero channels or an absurd sample rate
//! (outside [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`]), changes sample rate or
//! channel count mid-stream, is truncated (the container declares an exact
//! length and more than 64 frames fewer decode: cut short, or a damaged
//! stretch the demuxer skipped, which would shift everything after it; MPEG
//! audio without a LAME/Xing tag, whose length symphonia only estimates, is
//! exempt), or when the demuxer reports malformed data it cannot recover
//! from.
//! Vorbis output is cut at the length the Ogg container declares, because
//! symphonia 0.5 leaves the decoder's tail after the real end.
//!
//! A single packet the *decoder* rejects (CRC mismatch, bad MP3 frame, ...) is
//! replaced by silence of the packet's duration, with one warning per file on
//! stderr: dropping it would shift everything after it in time, and the
//! condition/stem pairs scored by COCOLA must stay aligned. More than 1 % bad
//! packets (and more than two) fails the file as corrupt; so does a file whose
//! packets all fail. Non-finite samples (possible in float WAVs) are set to 0,
//! also with a warning, because one NaN would spread over a whole FFT block.
//!
//! symphonia 0.5 panics on a few malformed headers (e.g. a WAV/AIFF sample
//! rate of 0 reaches `TimeBase::new(1, 0)`). WAV and AIFF headers are checked
//! before symphonia sees them, and decoding runs under `catch_unwind` as a
//! last line of defence, so a hostile file gives [`AudioError::Corrupt`],
//! never a panic (unless the binary is built with `panic = "abort"`).

mod decode;
mod downmix;
mod fir_resample;
mod header;
mod mix_stream;
mod resample;
mod stream;
mod window;

use std::path::{Path, PathBuf};

pub use downmix::{downmix_interleaved, downmix_planar};
pub use fir_resample::{fir_supports, FirResampler16k, StreamingResampler16k};
pub use mix_stream::MixStream16k;
pub use resample::{resample_to_16k, Resampler16k};
pub use stream::MonoStream16k;
pub use window::{load_window_16k, WindowReader};

/// Lowest sample rate accepted from a file or for the resampler.
pub const MIN_SAMPLE_RATE: u32 = 1_000;
/// Highest sample rate accepted (768 kHz, the highest rate in common use).
pub const MAX_SAMPLE_RATE: u32 = 768_000;

/// What the decoder found in a file, before downmix and resampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DecodedInfo {
    /// Sample rate of the file in Hz.
    pub sample_rate: u32,
    /// Channel count of the file (before the downmix).
    pub channels: usize,
    /// Frames decoded at the file's own rate (samples per channel), including
    /// the silence that replaces undecodable packets.
    pub frames: u64,
}

impl DecodedInfo {
    /// Length of the file's 16 kHz signal: `round(frames * 16000 / rate)`.
    pub fn samples_16k(&self) -> usize {
        let rate = u128::from(self.sample_rate.max(1));
        ((u128::from(self.frames) * u128::from(crate::contract::SAMPLE_RATE) + rate / 2) / rate) as usize
    }
}

/// Why a file could not be turned into 16 kHz mono.
///
/// Every variant except [`AudioError::InvalidResampleRate`] (which concerns a
/// stream, not a file) carries the path, and its message starts with it.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file could not be opened or read (missing, permissions, I/O error,
    /// not a regular file).
    #[error("{}: cannot read file: {error}", path.display())]
    Unreadable { path: PathBuf, error: std::io::Error },
    /// The file has no bytes, or decodes to zero frames.
    #[error("{}: file is empty (no audio frames)", path.display())]
    Empty { path: PathBuf },
    /// No format reader recognises the file (wrong extension, random bytes, text, ...).
    #[error("{}: not a supported audio file: {reason}", path.display())]
    UnsupportedFormat { path: PathBuf, reason: String },
    /// The container holds no decodable audio track.
    #[error("{}: the file has no audio track", path.display())]
    NoAudioTrack { path: PathBuf },
    /// The audio track uses a codec (or codec feature) that cannot be decoded.
    #[error("{}: unsupported audio codec: {codec}", path.display())]
    UnsupportedCodec { path: PathBuf, codec: String },
    /// Malformed data that cannot be decoded reliably.
    #[error("{}: corrupt audio data: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    /// The container declares an exact length and fewer frames decode: the
    /// file was cut short, or a damaged stretch was skipped by the demuxer.
    #[error(
        "{}: file is truncated or damaged: the header declares {expected} frames but only {decoded} could be decoded",
        path.display()
    )]
    Truncated { path: PathBuf, expected: u64, decoded: u64 },
    /// The header declares zero channels.
    #[error("{}: the audio has zero channels", path.display())]
    ZeroChannels { path: PathBuf },
    /// The header declares a sample rate outside `MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE`.
    #[error(
        "{}: absurd sample rate {rate} Hz (supported: {MIN_SAMPLE_RATE}..={MAX_SAMPLE_RATE} Hz)",
        path.display()
    )]
    AbsurdSampleRate { path: PathBuf, rate: f64 },
    /// [`Resampler16k::new`] / [`resample_to_16k`] called with a rate outside
    /// `MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE` (no file involved).
    #[error(
        "cannot resample from {rate} Hz to 16 kHz (supported input rates: {MIN_SAMPLE_RATE}..={MAX_SAMPLE_RATE} Hz)"
    )]
    InvalidResampleRate { rate: u32 },
}

impl AudioError {
    /// The file the error is about (`None` only for [`AudioError::InvalidResampleRate`]).
    pub fn path(&self) -> Option<&Path> {
        match self {
            AudioError::Unreadable { path, .. }
            | AudioError::Empty { path }
            | AudioError::UnsupportedFormat { path, .. }
            | AudioError::NoAudioTrack { path }
            | AudioError::UnsupportedCodec { path, .. }
            | AudioError::Corrupt { path, .. }
            | AudioError::Truncated { path, .. }
            | AudioError::ZeroChannels { path }
            | AudioError::AbsurdSampleRate { path, .. } => Some(path),
            AudioError::InvalidResampleRate { .. } => None,
        }
    }
}

/// Decodes a whole file to 16 kHz mono (mean of channels), aligned with the
/// original (no resampler delay) and `round(frames * 16000 / rate)` long.
pub fn load_mono_16k(path: &Path) -> Result<Vec<f32>, AudioError> {
    load_mono_16k_with_info(path).map(|(samples, _)| samples)
}

/// [`load_mono_16k`], plus what the file contained before conversion. The
/// file is decoded and resampled a packet at a time ([`MonoStream16k`]), so
/// memory holds the 16 kHz result, not the signal at the file's rate.
pub fn load_mono_16k_with_info(path: &Path) -> Result<(Vec<f32>, DecodedInfo), AudioError> {
    let mut stream = MonoStream16k::open(path)?;
    let mut samples = Vec::with_capacity(stream.expected_samples());
    while stream.read(&mut samples)? {}
    let info = stream.info().expect("read until the stream ended");
    Ok((samples, info))
}

/// What [`load_mono_16k_with_info`] would find in `path`, and its errors,
/// without resampling or keeping anything: one decoding pass at the file's
/// rate (for [`WindowReader`], which needs the length first).
pub fn probe(path: &Path) -> Result<DecodedInfo, AudioError> {
    let mut decoder = decode::MonoDecoder::open(path)?;
    let mut scratch = Vec::new();
    let mut replaced = 0;
    loop {
        scratch.clear();
        if decoder.read(&mut scratch)?.is_none() {
            break;
        }
        replaced += sanitize(&mut scratch);
    }
    let info = decoder.finish()?;
    warn_non_finite(path, replaced);
    Ok(info)
}

/// [`load_mono_16k_with_info`] the plain way: the whole file decoded at its
/// own rate into memory, then [`resample_to_16k`]. The reference the
/// streaming and windowed readers are tested against (`tests/integration/audio_window.rs`).
#[doc(hidden)]
pub fn load_mono_16k_whole_buffer(path: &Path) -> Result<(Vec<f32>, DecodedInfo), AudioError> {
    let decoded = decode::decode_mono(path)?;
    let info = decoded.info;
    let mut mono = decoded.mono;
    warn_non_finite(path, sanitize(&mut mono));
    let samples = resample_to_16k(&mono, info.sample_rate).map_err(|_| {
        // decode_mono already bounds the rate, so this is only reachable if the
        // two checks ever diverge; report it against the file all the same.
        AudioError::AbsurdSampleRate {
            path: path.to_path_buf(),
            rate: f64::from(info.sample_rate),
        }
    })?;
    Ok((samples, info))
}

/// Audio already in memory, one slice per channel (all of equal length) at
/// `sample_rate`, to 16 kHz mono: the same downmix and resampler as
/// [`load_mono_16k`], so a file and its decoded samples give the same signal.
/// Samples should be finite (callers reject or [`sanitize`] them first).
pub fn planar_to_mono_16k(planes: &[&[f32]], sample_rate: u32) -> Result<Vec<f32>, AudioError> {
    resample_to_16k(&downmix_planar(planes), sample_rate)
}

/// Replaces every NaN and ±Inf with 0 and returns how many were replaced.
pub fn sanitize(samples: &mut [f32]) -> usize {
    let mut replaced = 0;
    for s in samples.iter_mut() {
        if !s.is_finite() {
            *s = 0.0;
            replaced += 1;
        }
    }
    replaced
}

/// The one warning a file gets when [`sanitize`] replaced `replaced` of its
/// samples (none when it replaced nothing).
pub(crate) fn warn_non_finite(path: &Path, replaced: usize) {
    if replaced > 0 {
        eprintln!(
            "warning: {}: replaced {replaced} non-finite sample(s) (NaN/Inf) with 0",
            path.display()
        );
    }
}

pub(crate) fn rate_is_sane(rate: f64) -> bool {
    rate.is_finite() && rate >= f64::from(MIN_SAMPLE_RATE) && rate <= f64::from(MAX_SAMPLE_RATE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_replaces_only_non_finite_values() {
        let mut x = [0.5, f32::NAN, -1.0, f32::INFINITY, f32::NEG_INFINITY, f32::MIN_POSITIVE];
        assert_eq!(sanitize(&mut x), 3);
        assert_eq!(x, [0.5, 0.0, -1.0, 0.0, 0.0, f32::MIN_POSITIVE]);
        assert_eq!(sanitize(&mut x), 0);
    }

    #[test]
    fn every_file_error_names_the_file() {
        let p = PathBuf::from("/some/dir/song name.flac");
        let errors = [
            AudioError::Unreadable {
                path: p.clone(),
                error: std::io::Error::other("boom"),
            },
            AudioError::Empty { path: p.clone() },
            AudioError::UnsupportedFormat {
                path: p.clone(),
                reason: "x".into(),
            },
            AudioError::NoAudioTrack { path: p.clone() },
            AudioError::UnsupportedCodec {
                path: p.clone(),
                codec: "x".into(),
            },
            AudioError::Corrupt {
                path: p.clone(),
                reason: "x".into(),
            },
            AudioError::Truncated {
                path: p.clone(),
                expected: 2,
                decoded: 1,
            },
            AudioError::ZeroChannels { path: p.clone() },
            AudioError::AbsurdSampleRate {
                path: p.clone(),
                rate: 0.0,
            },
        ];
        for e in errors {
            assert!(e.to_string().starts_with("/some/dir/song name.flac: "), "{e}");
            assert_eq!(e.path(), Some(p.as_path()));
        }
    }

    #[test]
    fn rate_bounds() {
        assert!(rate_is_sane(8_000.0));
        assert!(rate_is_sane(192_000.0));
        assert!(!rate_is_sane(0.0));
        assert!(!rate_is_sane(999.0));
        assert!(!rate_is_sane(768_001.0));
        assert!(!rate_is_sane(f64::NAN));
    }
}
