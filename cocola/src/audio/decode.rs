//! File -> mono at the file's own rate, with symphonia. The error policy is
//! described in the parent module's docs.
//!
//! [`MonoDecoder`] pulls one packet at a time, so a caller holds only what
//! it asks for: [`decode_mono`] gathers a whole file, the streaming and
//! windowed readers ([`super::stream`], [`super::window`]) keep a few
//! packets. All of them go through the same packet loop, so they decode the
//! same samples.

use std::fs::File;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use symphonia::core::audio::AudioBufferRef;
use symphonia::core::codecs::{
    CodecParameters, Decoder, DecoderOptions, CODEC_TYPE_MP1, CODEC_TYPE_MP2, CODEC_TYPE_MP3, CODEC_TYPE_NULL,
    CODEC_TYPE_VORBIS,
};
use symphonia::core::conv::IntoSample;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::downmix::downmix_planes_into;
use super::header::check_riff_aiff_header;
use super::{rate_is_sane, AudioError, DecodedInfo};

/// A decoded file: mono at the file's rate.
pub(crate) struct Decoded {
    pub mono: Vec<f32>,
    pub info: DecodedInfo,
}

/// Bad packets are tolerated up to this fraction of all packets (and at
/// least `MIN_TOLERATED_BAD_PACKETS`); beyond it the file is corrupt.
const MAX_BAD_PACKET_FRACTION: f64 = 0.01;
const MIN_TOLERATED_BAD_PACKETS: u64 = 2;
/// Give up early when this many packets fail before any decodes.
const MAX_BAD_PACKETS_BEFORE_FIRST_GOOD: u64 = 64;
/// A bad packet claiming a longer duration than this is not filled with
/// silence (no codec has packets that long; the duration itself is garbage).
const MAX_SILENCE_PER_BAD_PACKET: u64 = 1 << 18;
/// Upper bound on the up-front reservation taken from a header's frame count,
/// so that a lying header cannot make us allocate gigabytes before decoding.
const MAX_RESERVE_FRAMES: u64 = 1 << 27;
/// A decode may fall this many frames short of the declared count without
/// being called truncated: symphonia 0.5 counts the 8-byte SSND header of an
/// AIFF file as audio (2 frames too many for 16-bit stereo). Real truncation
/// (a cut file) loses whole packets, thousands of frames.
const TRUNCATION_SLACK_FRAMES: u64 = 64;
/// Frames decoded and dropped before a seek target: transform codecs (MP3,
/// Vorbis, AAC) overlap each packet with the one before, so the frames right
/// after a seek point only equal a decode from the start once a few packets
/// have passed through the decoder (the longest such packet is 8 192 frames).
const SEEK_PREROLL_FRAMES: u64 = 16_384;

/// Decodes `path` to mono at its own sample rate.
pub(crate) fn decode_mono(path: &Path) -> Result<Decoded, AudioError> {
    let mut decoder = MonoDecoder::open(path)?;
    let mut mono: Vec<f32> = Vec::new();
    if let Some(n) = decoder.params.n_frames {
        mono.reserve(n.min(MAX_RESERVE_FRAMES) as usize);
    }
    while decoder.read(&mut mono)?.is_some() {}
    let info = decoder.finish()?;
    debug_assert_eq!(mono.len() as u64, info.frames);
    Ok(Decoded { mono, info })
}

/// Runs one step of symphonia under `catch_unwind`: symphonia 0.5 panics on
/// a few malformed inputs, and a hostile file must give an error, not a panic.
fn guarded<T>(path: &Path, step: impl FnOnce() -> Result<T, AudioError>) -> Result<T, AudioError> {
    match catch_unwind(AssertUnwindSafe(step)) {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(AudioError::Corrupt {
                path: path.to_path_buf(),
                reason: format!("the decoder failed on malformed data ({what})"),
            })
        }
    }
}

/// An open audio file, decoded one packet at a time to mono at its own rate.
pub(crate) struct MonoDecoder {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    params: CodecParameters,
    codec_name: String,
    /// (rate, channels) of the first decoded buffer: the authoritative spec.
    spec: Option<(u32, usize)>,
    /// Frames emitted so far (the silence of bad packets included).
    frames: u64,
    packets: u64,
    bad_packets: u64,
    first_bad: Option<String>,
    /// After [`seek`](Self::seek): emit nothing before this frame.
    skip_before: Option<u64>,
}

impl MonoDecoder {
    /// Opens `path` and checks what its header declares.
    pub(crate) fn open(path: &Path) -> Result<Self, AudioError> {
        let unreadable = |error: io::Error| AudioError::Unreadable {
            path: path.to_path_buf(),
            error,
        };
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        if !meta.is_file() {
            return Err(unreadable(io::Error::other("not a regular file")));
        }
        if meta.len() == 0 {
            return Err(AudioError::Empty {
                path: path.to_path_buf(),
            });
        }
        let mut file = File::open(path).map_err(unreadable)?;
        check_riff_aiff_header(path, &mut file)?;
        guarded(path, || Self::open_stream(path, file))
    }

    fn open_stream(path: &Path, file: File) -> Result<Self, AudioError> {
        let p = || path.to_path_buf();
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        // Gapless: trim the encoder delay and padding where the file records them
        // (LAME tag in MP3), so that decoded audio starts where the original did;
        // stems must stay aligned with their mix.
        let format_opts = FormatOptions {
            enable_gapless: true,
            ..Default::default()
        };
        let probed = symphonia::default::get_probe()
            .format(&hint, mss, &format_opts, &MetadataOptions::default())
            .map_err(|e| probe_error(path, e))?;
        let format = probed.format;

        let track = format
            .default_track()
            .filter(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .or_else(|| format.tracks().iter().find(|t| t.codec_params.codec != CODEC_TYPE_NULL))
            .ok_or_else(|| AudioError::NoAudioTrack { path: p() })?;
        let track_id = track.id;
        let params = track.codec_params.clone();
        let codec_name = codec_name(&params);

        // Check what the header declares before decoding anything.
        if let Some(channels) = params.channels {
            if channels.count() == 0 {
                return Err(AudioError::ZeroChannels { path: p() });
            }
        }
        if let Some(rate) = params.sample_rate {
            if !rate_is_sane(f64::from(rate)) {
                return Err(AudioError::AbsurdSampleRate {
                    path: p(),
                    rate: f64::from(rate),
                });
            }
        }

        let decoder = symphonia::default::get_codecs()
            .make(&params, &DecoderOptions::default())
            .map_err(|e| match e {
                SymphoniaError::Unsupported(what) => AudioError::UnsupportedCodec {
                    path: p(),
                    codec: format!("{codec_name} ({what})"),
                },
                other => AudioError::Corrupt {
                    path: p(),
                    reason: format!("cannot set up the {codec_name} decoder: {other}"),
                },
            })?;
        Ok(Self {
            path: p(),
            format,
            decoder,
            track_id,
            params,
            codec_name,
            spec: None,
            frames: 0,
            packets: 0,
            bad_packets: 0,
            first_bad: None,
            skip_before: None,
        })
    }

    /// The frame count and rate the header declares, if it declares both.
    pub(crate) fn declared(&self) -> Option<(u64, u32)> {
        Some((self.params.n_frames?, self.params.sample_rate?))
    }

    /// The sample rate of the decoded signal, once a packet has decoded.
    pub(crate) fn rate(&self) -> Option<u32> {
        self.spec.map(|(rate, _)| rate)
    }

    /// The last frame a decode may emit (exclusive): symphonia 0.5 does not
    /// cut the last Vorbis packet at the final granule position, so a few
    /// hundred frames of decoder tail follow the real end; the Ogg
    /// container's count is exact, so decoding stops there.
    fn frame_limit(&self) -> Option<u64> {
        (self.params.codec == CODEC_TYPE_VORBIS)
            .then(|| trusted_frame_count(&self.params))
            .flatten()
    }

    /// Moves to `frame` (at the file's rate): the next [`read`](Self::read)s
    /// return frames from there on, equal to those a decode from the start
    /// gives at that position. Returns `false` if the format cannot seek
    /// (the caller then reads from the start and drops what it does not need).
    pub(crate) fn seek(&mut self, frame: u64) -> Result<bool, AudioError> {
        let target = frame.saturating_sub(SEEK_PREROLL_FRAMES);
        let track_id = self.track_id;
        let path = self.path.clone();
        let seeked = guarded(&path, || {
            Ok(self
                .format
                .seek(SeekMode::Accurate, SeekTo::TimeStamp { ts: target, track_id }))
        })?;
        match seeked {
            Ok(_) => {
                self.decoder.reset();
                self.skip_before = Some(frame);
                self.frames = 0;
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    }

    /// Decodes the next packet of the track and appends its mono frames to
    /// `out`. Returns the position (frame index in the file) of the first
    /// frame appended, `None` at the end of the stream. After a seek the
    /// position comes from the packet's timestamp and frames before the seek
    /// target are dropped, so a call may append nothing.
    pub(crate) fn read(&mut self, out: &mut Vec<f32>) -> Result<Option<u64>, AudioError> {
        let path = self.path.clone();
        guarded(&path, || self.read_packet(out))
    }

    fn read_packet(&mut self, out: &mut Vec<f32>) -> Result<Option<u64>, AudioError> {
        let path = self.path.clone();
        let p = || path.clone();
        let packet = loop {
            let packet = match self.format.next_packet() {
                Ok(packet) => packet,
                // symphonia signals the normal end of a stream this way.
                Err(SymphoniaError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(SymphoniaError::IoError(error)) => return Err(AudioError::Unreadable { path: p(), error }),
                Err(SymphoniaError::ResetRequired) => {
                    return Err(AudioError::UnsupportedFormat {
                        path: p(),
                        reason: "the stream changes its track layout mid-file (chained stream)".into(),
                    })
                }
                // The demuxer could not find or parse the next packet: it cannot
                // resynchronise, so the rest of the file is unreliable.
                Err(other) => {
                    return Err(AudioError::Corrupt {
                        path: p(),
                        reason: format!("container: {other}"),
                    })
                }
            };
            if packet.track_id() == self.track_id {
                break packet;
            }
        };
        self.packets += 1;
        let start = out.len();
        let position = match self.skip_before {
            Some(_) => packet.ts(),
            None => self.frames,
        };
        match self.decoder.decode(&packet) {
            Ok(buffer) => {
                let buffer_spec = *buffer.spec();
                let channels = buffer_spec.channels.count();
                let rate = buffer_spec.rate;
                if channels == 0 {
                    return Err(AudioError::ZeroChannels { path: p() });
                }
                if !rate_is_sane(f64::from(rate)) {
                    return Err(AudioError::AbsurdSampleRate {
                        path: p(),
                        rate: f64::from(rate),
                    });
                }
                match self.spec {
                    None => self.spec = Some((rate, channels)),
                    Some((r, c)) if (r, c) != (rate, channels) => {
                        return Err(AudioError::Corrupt {
                            path: p(),
                            reason: format!(
                                "the signal changes from {r} Hz, {c} channel(s) to {rate} Hz, {channels} channel(s) mid-stream"
                            ),
                        })
                    }
                    Some(_) => {}
                }
                mix_into(&buffer, out);
            }
            // One bad packet: keep time alignment by putting silence in its place.
            Err(SymphoniaError::DecodeError(msg)) => self.on_bad_packet(packet.dur, msg.to_string(), out),
            Err(SymphoniaError::IoError(e)) => self.on_bad_packet(packet.dur, e.to_string(), out),
            Err(SymphoniaError::Unsupported(what)) => {
                return Err(AudioError::UnsupportedCodec {
                    path: p(),
                    codec: format!("{} ({what})", self.codec_name),
                })
            }
            Err(other) => {
                return Err(AudioError::Corrupt {
                    path: p(),
                    reason: format!("{} decoder: {other}", self.codec_name),
                })
            }
        }
        if self.spec.is_none() && self.bad_packets >= MAX_BAD_PACKETS_BEFORE_FIRST_GOOD {
            return Err(AudioError::Corrupt {
                path: p(),
                reason: format!(
                    "none of the first {} packets could be decoded (first error: {})",
                    self.bad_packets,
                    self.first_bad.clone().unwrap_or_default()
                ),
            });
        }
        let mut position = position;
        if let Some(limit) = self.frame_limit() {
            let end = position + (out.len() - start) as u64;
            if end > limit {
                out.truncate(start + limit.saturating_sub(position) as usize);
            }
        }
        if let Some(first) = self.skip_before {
            let drop = first.saturating_sub(position).min((out.len() - start) as u64) as usize;
            out.drain(start..start + drop);
            position += drop as u64;
        }
        self.frames += (out.len() - start) as u64;
        Ok(Some(position))
    }

    fn on_bad_packet(&mut self, dur: u64, error: String, out: &mut Vec<f32>) {
        self.bad_packets += 1;
        self.first_bad.get_or_insert(error);
        if dur <= MAX_SILENCE_PER_BAD_PACKET {
            out.resize(out.len() + dur as usize, 0.0);
        }
    }

    /// After the last [`read`](Self::read) of a whole-file decode: the checks
    /// that need the whole stream (truncation, share of bad packets, empty
    /// file) and what was decoded. Warns on stderr about replaced packets.
    pub(crate) fn finish(self) -> Result<DecodedInfo, AudioError> {
        let p = || self.path.clone();
        let first_bad = self.first_bad.clone().unwrap_or_default();
        let (bad_packets, packets, frames) = (self.bad_packets, self.packets, self.frames);
        let declared = trusted_frame_count(&self.params);
        let Some((sample_rate, channels)) = self.spec else {
            return Err(if bad_packets > 0 {
                AudioError::Corrupt {
                    path: p(),
                    reason: format!("no packet could be decoded (first error: {first_bad})"),
                }
            } else if let Some(expected) = declared.filter(|&n| n > TRUNCATION_SLACK_FRAMES) {
                // The header promises audio, the demuxer found none.
                AudioError::Truncated {
                    path: p(),
                    expected,
                    decoded: 0,
                }
            } else {
                AudioError::Empty { path: p() }
            });
        };
        if bad_packets > MIN_TOLERATED_BAD_PACKETS && bad_packets as f64 > MAX_BAD_PACKET_FRACTION * packets as f64 {
            return Err(AudioError::Corrupt {
                path: p(),
                reason: format!("{bad_packets} of {packets} packets could not be decoded (first error: {first_bad})"),
            });
        }
        if let Some(expected) = declared {
            if frames + TRUNCATION_SLACK_FRAMES < expected {
                return Err(AudioError::Truncated {
                    path: p(),
                    expected,
                    decoded: frames,
                });
            }
        }
        if frames == 0 {
            return Err(AudioError::Empty { path: p() });
        }
        if bad_packets > 0 {
            eprintln!(
                "warning: {}: {bad_packets} of {packets} packets could not be decoded and were replaced by silence (first error: {first_bad})",
                self.path.display(),
            );
        }
        Ok(DecodedInfo {
            sample_rate,
            channels,
            frames,
        })
    }
}

/// Appends the channel mean of one decoded buffer to `out`.
fn mix_into(buffer: &AudioBufferRef<'_>, out: &mut Vec<f32>) {
    macro_rules! mix {
        ($b:expr) => {{
            let planes = $b.planes();
            downmix_planes_into(planes.planes(), out, |s| -> f32 { s.into_sample() })
        }};
    }
    match buffer {
        AudioBufferRef::U8(b) => mix!(b),
        AudioBufferRef::U16(b) => mix!(b),
        AudioBufferRef::U24(b) => mix!(b),
        AudioBufferRef::U32(b) => mix!(b),
        AudioBufferRef::S8(b) => mix!(b),
        AudioBufferRef::S16(b) => mix!(b),
        AudioBufferRef::S24(b) => mix!(b),
        AudioBufferRef::S32(b) => mix!(b),
        AudioBufferRef::F32(b) => mix!(b),
        AudioBufferRef::F64(b) => mix!(b),
    }
}

/// The frame count the container declares, when it is exact enough to call
/// a shorter decode a truncation (a damaged stretch that the demuxer skips
/// silently also shows up this way). For MPEG audio symphonia *estimates* the
/// count from the bitrate unless the first frame carries a Xing/Info tag;
/// only a LAME tag (which sets encoder delay/padding) proves such a tag was
/// read, so only then is the count trusted. A WAV whose data size is the
/// streaming placeholder (0xFFFFFFFF, written by recorders that never
/// finalised the header) is not trusted either.
fn trusted_frame_count(params: &CodecParameters) -> Option<u64> {
    let expected = params.n_frames?;
    if [CODEC_TYPE_MP1, CODEC_TYPE_MP2, CODEC_TYPE_MP3].contains(&params.codec)
        && params.delay.is_none()
        && params.padding.is_none()
    {
        return None;
    }
    if let (Some(bits), Some(channels)) = (params.bits_per_coded_sample, params.channels) {
        let bytes_per_frame = u64::from(bits.div_ceil(8)) * channels.count() as u64;
        if bytes_per_frame > 0 && expected.saturating_mul(bytes_per_frame) > u64::from(u32::MAX) - bytes_per_frame {
            return None;
        }
    }
    Some(expected)
}

fn codec_name(params: &CodecParameters) -> String {
    symphonia::default::get_codecs()
        .get_codec(params.codec)
        .map(|d| d.short_name.to_string())
        .unwrap_or_else(|| format!("codec {}", params.codec))
}

fn probe_error(path: &Path, e: SymphoniaError) -> AudioError {
    let p = path.to_path_buf();
    match e {
        SymphoniaError::Unsupported(what) => AudioError::UnsupportedFormat {
            path: p,
            reason: if what.contains("no suitable format reader") {
                "no known audio format recognised (not audio, or an unsupported container)".to_string()
            } else {
                what.to_string()
            },
        },
        SymphoniaError::IoError(e) if e.kind() == io::ErrorKind::UnexpectedEof => AudioError::UnsupportedFormat {
            path: p,
            reason: "the file ends before a complete audio header (not audio, or cut short)".to_string(),
        },
        SymphoniaError::IoError(error) => AudioError::Unreadable { path: p, error },
        other => AudioError::Corrupt {
            path: p,
            reason: format!("while opening the file: {other}"),
        },
    }
}
