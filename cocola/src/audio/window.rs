//! A stretch of a file's 16 kHz mono signal, decoding only the frames it
//! depends on: a seek (with pre-roll for transform codecs, see
//! [`MonoDecoder::seek`]) and one resampler block of margin on each side
//! ([`input_span`]). The samples equal those at the same positions of
//! [`load_mono_16k`](super::load_mono_16k) (`tests/audio_window.rs`), so an
//! evaluation that reads 5 s windows of long stems costs the windows, not
//! the stems, in time and in memory.

use std::path::Path;

use super::decode::MonoDecoder;
use super::resample::{input_span, resample_span};
use super::{sanitize, AudioError, DecodedInfo};

/// Samples `start..end` (16 kHz) of the file at `path`, which a whole pass
/// found to be `info` (the length the whole-file path has is known only
/// after decoding everything, and samples past it do not exist: the result
/// is shorter, or empty, there). Fails if the file no longer decodes as
/// `info` says.
pub fn load_window_16k(path: &Path, info: &DecodedInfo, start: usize, end: usize) -> Result<Vec<f32>, AudioError> {
    let end = end.min(info.samples_16k());
    if end <= start {
        return Ok(Vec::new());
    }
    let (first, last) = input_span(info.sample_rate, start, end);
    let mut native = vec![0.0f32; (last - first) as usize];
    let mut decoder = MonoDecoder::open(path)?;
    if first > 0 && !decoder.seek(first)? {
        // Not seekable: decode from the start; frames before `first` are dropped below.
    }
    let mut packet = Vec::new();
    loop {
        packet.clear();
        let Some(position) = decoder.read(&mut packet)? else {
            break;
        };
        if let Some(rate) = decoder.rate() {
            if rate != info.sample_rate {
                return Err(AudioError::Corrupt {
                    path: path.to_path_buf(),
                    reason: format!("the file now decodes at {rate} Hz, not {} Hz", info.sample_rate),
                });
            }
        }
        let (from, to) = (position.max(first), (position + packet.len() as u64).min(last));
        if from < to {
            native[(from - first) as usize..(to - first) as usize]
                .copy_from_slice(&packet[(from - position) as usize..(to - position) as usize]);
        }
        if position + packet.len() as u64 >= last {
            break;
        }
    }
    // Frames past the file's end stay zero, as the whole-file path pads its
    // last block; frames past `info.frames` that a changed file might add
    // are cut for the same reason.
    if info.frames < last {
        let real = info.frames.saturating_sub(first).min(native.len() as u64) as usize;
        native[real..].fill(0.0);
    }
    sanitize(&mut native);
    resample_span(&native, info.sample_rate, start, end, info.samples_16k()).map_err(|_| AudioError::AbsurdSampleRate {
        path: path.to_path_buf(),
        rate: f64::from(info.sample_rate),
    })
}
