//! A sanity check of WAV and AIFF headers before symphonia reads them:
//! symphonia 0.5 panics on a sample rate of 0, so channel count and rate are
//! read from the `fmt ` / `COMM` chunk first and refused with a clear error.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use super::{rate_is_sane, AudioError};

/// Checks channel count and sample rate in a WAV `fmt ` or AIFF `COMM` chunk
/// before symphonia parses it (symphonia 0.5 panics on a rate of 0), then
/// rewinds. Anything that is not a well-formed RIFF/FORM chunk list is left
/// for symphonia to judge.
pub(super) fn check_riff_aiff_header(path: &Path, file: &mut File) -> Result<(), AudioError> {
    let unreadable = |error: io::Error| AudioError::Unreadable {
        path: path.to_path_buf(),
        error,
    };
    let mut head = [0u8; 12];
    let n = read_full(file, &mut head).map_err(unreadable)?;
    let found = if n < head.len() {
        None
    } else if &head[0..4] == b"RIFF" && &head[8..12] == b"WAVE" {
        find_chunk(file, b"fmt ", u32::from_le_bytes)
            .map_err(unreadable)?
            .map(|body| {
                // WAVEFORMAT: format tag u16, channels u16, sample rate u32 (little-endian)
                let channels = body.get(2..4).map(|b| i32::from(u16::from_le_bytes([b[0], b[1]])));
                let rate = body
                    .get(4..8)
                    .map(|b| f64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])));
                (channels, rate)
            })
    } else if &head[0..4] == b"FORM" && (&head[8..12] == b"AIFF" || &head[8..12] == b"AIFC") {
        find_chunk(file, b"COMM", u32::from_be_bytes)
            .map_err(unreadable)?
            .map(|body| {
                // COMM: channels i16, frames u32, sample size i16, rate 80-bit extended (big-endian)
                let channels = body.get(0..2).map(|b| i32::from(i16::from_be_bytes([b[0], b[1]])));
                let rate = body
                    .get(8..18)
                    .map(|b| extended_to_f64(b.try_into().expect("10 bytes")));
                (channels, rate)
            })
    } else {
        None
    };
    if let Some((channels, rate)) = found {
        match channels {
            Some(0) => {
                return Err(AudioError::ZeroChannels {
                    path: path.to_path_buf(),
                })
            }
            Some(c) if c < 0 => {
                return Err(AudioError::Corrupt {
                    path: path.to_path_buf(),
                    reason: format!("negative channel count {c} in the header"),
                })
            }
            _ => {}
        }
        if let Some(rate) = rate {
            if !rate_is_sane(rate) {
                return Err(AudioError::AbsurdSampleRate {
                    path: path.to_path_buf(),
                    rate,
                });
            }
        }
    }
    file.seek(SeekFrom::Start(0)).map_err(unreadable)?;
    Ok(())
}

/// Walks the chunk list after a 12-byte RIFF/FORM header looking for `id`;
/// returns up to the first 32 bytes of its body. Gives up quietly (None) on
/// a malformed list or after 256 chunks.
fn find_chunk(file: &mut File, id: &[u8; 4], size_of: fn([u8; 4]) -> u32) -> io::Result<Option<Vec<u8>>> {
    for _ in 0..256 {
        let mut header = [0u8; 8];
        if read_full(file, &mut header)? < header.len() {
            return Ok(None);
        }
        let size = size_of([header[4], header[5], header[6], header[7]]);
        if &header[0..4] == id {
            let mut body = vec![0u8; size.min(32) as usize];
            let got = read_full(file, &mut body)?;
            body.truncate(got);
            return Ok(Some(body));
        }
        // Chunks are padded to an even size.
        let skip = i64::from(size) + i64::from(size & 1);
        file.seek(SeekFrom::Current(skip))?;
    }
    Ok(None)
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// IEEE 754 80-bit extended (AIFF sample rate) -> f64. NaN/Inf stay NaN/Inf,
/// which the rate check rejects.
fn extended_to_f64(b: [u8; 10]) -> f64 {
    let sign = if b[0] & 0x80 != 0 { -1.0 } else { 1.0 };
    let exponent = (i32::from(b[0] & 0x7f) << 8) | i32::from(b[1]);
    let mantissa = u64::from_be_bytes([b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]]);
    if exponent == 0x7fff {
        return if mantissa << 1 == 0 {
            sign * f64::INFINITY
        } else {
            f64::NAN
        };
    }
    if exponent == 0 && mantissa == 0 {
        return 0.0;
    }
    // value = mantissa * 2^(exponent - 16383 - 63). Exponents beyond f64's
    // range give Inf or 0, both rejected by the rate check.
    sign * (mantissa as f64) * 2f64.powi(exponent - 16383 - 63)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_float_rates() {
        // 44100 Hz as AIFF writes it.
        let r44k = [0x40, 0x0E, 0xAC, 0x44, 0, 0, 0, 0, 0, 0];
        assert_eq!(extended_to_f64(r44k), 44_100.0);
        let r8k = [0x40, 0x0B, 0xFA, 0x00, 0, 0, 0, 0, 0, 0];
        assert_eq!(extended_to_f64(r8k), 8_000.0);
        assert_eq!(extended_to_f64([0; 10]), 0.0);
        assert!(extended_to_f64([0x7f, 0xff, 0xc0, 0, 0, 0, 0, 0, 0, 0]).is_nan());
    }
}
