//! The sum of several files' 16 kHz mono signals, streamed: each file's
//! [`load_mono_16k`](super::load_mono_16k) signal summed sample by sample,
//! over the length every file has (the shortest file's), with one
//! resampler per distinct sample rate instead of one per file. A mix of one
//! file is that file's signal, bit for bit: it is what
//! [`MonoStream16k`](super::MonoStream16k) streams.
//!
//! Resampling is a linear, time-invariant filter (an exact convolution, see
//! the resampler's docs), so resampling the sum of the files that share a
//! rate equals the sum of their resampled signals, up to float rounding
//! (~1e-7 of the signal). The files of a rate are summed at that rate, each
//! padded with zeros after its end, exactly as its own resampler's end pads
//! it. On a track of stems recorded at one rate this divides the
//! resampling work (the largest part of reading a stem) by the number of
//! stems; decoding is unchanged.
//!
//! Memory is bounded by a few packets and a resampler block per file, not
//! by the files' length.

use std::path::{Path, PathBuf};

use super::decode::MonoDecoder;
use super::resample::AlignedResampler16k;
use super::{sanitize, warn_non_finite, AudioError, DecodedInfo};
use crate::contract::SAMPLE_RATE;

/// Frames (at a file's rate) each file is read ahead before the files of a
/// rate are summed: a few packets of any codec.
const LOCKSTEP_FRAMES: usize = 32_768;

/// Pulls the mix's 16 kHz samples: [`read`](Self::read) until it returns
/// `false`, then [`infos`](Self::infos) says what each file held.
pub struct MixStream16k {
    files: Vec<FileStream>,
    /// Formed once every file's rate is known (after its first packet).
    groups: Vec<RateGroup>,
    /// Mix samples handed out so far.
    emitted: usize,
    done: bool,
}

/// One file, decoded at its own rate.
struct FileStream {
    path: PathBuf,
    /// `None` once the file has ended.
    decoder: Option<MonoDecoder>,
    /// Frames decoded and not yet summed into the file's rate group.
    pending: Vec<f32>,
    /// Frames decoded so far.
    frames: u64,
    replaced: usize,
    rate: Option<u32>,
    info: Option<DecodedInfo>,
}

/// The files of one sample rate, summed at that rate and resampled once.
struct RateGroup {
    members: Vec<usize>,
    resampler: AlignedResampler16k,
    /// The members' sum of the frames being converted.
    sum: Vec<f32>,
    /// 16 kHz samples of the group, from the mix's next sample to hand out.
    out: Vec<f32>,
    finished: bool,
}

impl FileStream {
    fn ended(&self) -> bool {
        self.decoder.is_none()
    }

    /// Decodes the next packet into `pending`; at the end of the file, the
    /// whole-file checks (a truncated or corrupt file fails here).
    fn read_packet(&mut self) -> Result<(), AudioError> {
        let Some(decoder) = self.decoder.as_mut() else {
            return Ok(());
        };
        let before = self.pending.len();
        if decoder.read(&mut self.pending)?.is_none() {
            let decoder = self.decoder.take().expect("checked above");
            self.info = Some(decoder.finish()?);
            warn_non_finite(&self.path, self.replaced);
            return Ok(());
        }
        self.replaced += sanitize(&mut self.pending[before..]);
        self.frames += (self.pending.len() - before) as u64;
        if self.rate.is_none() {
            self.rate = decoder.rate();
        }
        Ok(())
    }

    /// 16 kHz samples this file certainly has: all of them once it has
    /// ended, else those its frames so far give (its length rounds up from
    /// there).
    fn samples_16k_at_least(&self) -> usize {
        match (self.info, self.rate) {
            (Some(info), _) => info.samples_16k(),
            (None, Some(rate)) => (u128::from(self.frames) * u128::from(SAMPLE_RATE) / u128::from(rate)) as usize,
            (None, None) => 0,
        }
    }
}

impl RateGroup {
    /// Sums the frames every live member has (all that is left once every
    /// member has ended, the ended ones padded with zeros) and converts
    /// them, as long as the mix can still use them (`needed` samples: the
    /// mix ends with its shortest file).
    fn advance(&mut self, files: &mut [FileStream], needed: usize) {
        let live = self.members.iter().filter(|&&m| !files[m].ended());
        let pending = |m: &usize| files[*m].pending.len();
        let all_ended = live.clone().next().is_none();
        let n = if all_ended {
            self.members.iter().map(pending).max().unwrap_or(0)
        } else {
            live.map(pending).min().unwrap_or(0)
        };
        self.sum.clear();
        self.sum.resize(n, 0.0);
        for &m in &self.members {
            let frames = &mut files[m].pending;
            let k = n.min(frames.len());
            for (s, x) in self.sum.iter_mut().zip(&frames[..k]) {
                *s += x;
            }
            frames.drain(..k);
        }
        if self.resampler.emitted() < needed {
            self.resampler.process(&self.sum, &mut self.out);
        }
        if all_ended && !self.finished {
            let shortest = self.members.iter().map(|&m| files[m].samples_16k_at_least()).min();
            self.resampler.finish(shortest.unwrap_or(0).min(needed), &mut self.out);
            self.finished = true;
        }
    }
}

impl MixStream16k {
    /// Opens every file; fails as [`load_mono_16k`](super::load_mono_16k)
    /// would on the first one it cannot read.
    pub fn open(paths: &[PathBuf]) -> Result<Self, AudioError> {
        let files = paths
            .iter()
            .map(|path| {
                Ok(FileStream {
                    path: path.clone(),
                    decoder: Some(MonoDecoder::open(path)?),
                    pending: Vec::new(),
                    frames: 0,
                    replaced: 0,
                    rate: None,
                    info: None,
                })
            })
            .collect::<Result<Vec<_>, AudioError>>()?;
        Ok(Self {
            done: files.is_empty(),
            files,
            groups: Vec::new(),
            emitted: 0,
        })
    }

    /// How many samples the headers promise (the shortest file's; a hint
    /// for reserving memory, capped, since a header can lie).
    pub fn expected_samples(&self) -> usize {
        const MAX_HINT: u64 = 1 << 25;
        let declared = |f: &FileStream| f.decoder.as_ref().and_then(MonoDecoder::declared);
        self.files
            .iter()
            .map(|f| {
                declared(f).map_or(0, |(frames, rate)| {
                    (frames.min(MAX_HINT * 48) * u64::from(SAMPLE_RATE) / u64::from(rate.max(1))).min(MAX_HINT) as usize
                })
            })
            .min()
            .unwrap_or(0)
    }

    /// Appends the mix's next samples to `out` (possibly none); `false`
    /// once every file has ended and every sample has been given. Errors
    /// are those of each file's whole decode, found when the stream reaches
    /// them.
    pub fn read(&mut self, out: &mut Vec<f32>) -> Result<bool, AudioError> {
        if self.done {
            return Ok(false);
        }
        if self.groups.is_empty() {
            self.form_groups()?;
        }
        for file in &mut self.files {
            while !file.ended() && file.pending.len() < LOCKSTEP_FRAMES {
                file.read_packet()?;
            }
        }
        // The mix is no longer than any file that has ended: past that,
        // the groups' output would be dropped (the longer files are still
        // decoded to their end, for their length and their errors).
        let needed = self.files.iter().filter_map(|f| f.info).map(|i| i.samples_16k()).min();
        let needed = needed.unwrap_or(usize::MAX);
        for group in &mut self.groups {
            group.advance(&mut self.files, needed);
            group.out.truncate(needed.saturating_sub(self.emitted));
        }
        let safe = self
            .files
            .iter()
            .map(FileStream::samples_16k_at_least)
            .min()
            .unwrap_or(0);
        let ready = self.groups.iter().map(|g| g.out.len()).min().unwrap_or(0);
        let take = ready.min(safe.saturating_sub(self.emitted));
        let start = out.len();
        out.resize(start + take, 0.0);
        for group in &mut self.groups {
            for (o, x) in out[start..].iter_mut().zip(&group.out[..take]) {
                *o += x;
            }
            group.out.drain(..take);
        }
        self.emitted += take;
        self.done = self.groups.iter().all(|g| g.finished) && self.emitted == safe;
        Ok(!self.done)
    }

    /// Reads every file until its rate is known (its frames wait in
    /// `pending`), then gives each rate one resampler.
    fn form_groups(&mut self) -> Result<(), AudioError> {
        for file in &mut self.files {
            while file.rate.is_none() && !file.ended() {
                file.read_packet()?;
            }
        }
        for (i, file) in self.files.iter().enumerate() {
            // A file that ended before any packet decoded has failed in
            // `finish` above, so every file has a rate here.
            let rate = file.rate.or(file.info.map(|i| i.sample_rate)).unwrap_or(SAMPLE_RATE);
            match self.groups.iter_mut().find(|g| g.resampler.input_rate() == rate) {
                Some(group) => group.members.push(i),
                None => self.groups.push(RateGroup {
                    members: vec![i],
                    resampler: AlignedResampler16k::new(rate).map_err(|_| absurd_rate(&file.path, rate))?,
                    sum: Vec::new(),
                    out: Vec::new(),
                    finished: false,
                }),
            }
        }
        Ok(())
    }

    /// What each file held (in the order opened), once [`read`](Self::read)
    /// has returned `false`.
    pub fn infos(&self) -> Option<Vec<DecodedInfo>> {
        self.files.iter().map(|f| f.info).collect()
    }
}

fn absurd_rate(path: &Path, rate: u32) -> AudioError {
    AudioError::AbsurdSampleRate {
        path: path.to_path_buf(),
        rate: f64::from(rate),
    }
}
