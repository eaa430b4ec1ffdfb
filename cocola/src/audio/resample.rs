//! Any rate -> 16 kHz, streaming or whole-signal, with one filter.
//!
//! # Choice of resampler
//!
//! rubato's synchronous [`Fft`] resampler: the ratio is fixed (file rate or
//! host rate -> 16 kHz), and for a fixed ratio it is both the fastest and the
//! best-quality resampler rubato has (no interpolation between sinc phases, so
//! no interpolation error). It low-pass filters with a windowed sinc as long
//! as one FFT block and applies it by overlap-add, so the result is an exact
//! linear convolution, independent of how the input is chunked.
//!
//! # Parameters
//!
//! The mel filterbank reaches 7.8 kHz ([`crate::contract::F_MAX`]) and the
//! output Nyquist is 8 kHz: the passband must stay flat up to 7.8 kHz while
//! everything above 8 kHz is removed, a transition band of only 200 Hz. With rubato's default window (squared
//! Blackman-Harris, stopband far below f32 resolution) the transition width is
//! about 16 / block_out of the output rate and rubato places the cutoff so
//! that the stopband starts at Nyquist (no aliasing at all). A block of at
//! least [`TARGET_BLOCK_OUT`] = 2048 output samples (6174 in at 44.1 kHz)
//! puts the whole transition between 7.9 and 8.0 kHz. Measured (tests here
//! and in `tests/audio_io.rs`, 44.1 and 48 kHz in): 100 Hz to 7.8 kHz within
//! 0.0001 dB, 7.9 kHz -0.0001 dB, 7.95 kHz -5 to -8 dB, and anything above
//! 8.05 kHz, e.g. 9 kHz (which would alias to 7 kHz), at -140 dB, the f32
//! noise floor. The price is a delay of `block_out / 2` = 1024+ output
//! samples (64-70 ms), irrelevant for 5 s analysis windows and removed
//! entirely by [`resample_to_16k`].
//!
//! Each block must be a whole number of the smallest blocks the rate pair
//! allows (`rate / gcd(rate, 16000)` in, `16000 / gcd` out), and both sides
//! are kept even so that the filter's centre, at half a block, falls on a
//! whole output sample: the delay is then exactly `block_out / 2` samples and
//! the output lines up with the input to the sample. Awkward rates (e.g.
//! 44 101 Hz, gcd 1) get a bigger block (32 000 out, 1 s delay) but the same
//! or better response.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

use super::{AudioError, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
use crate::contract::SAMPLE_RATE;

/// Smallest FFT block, in output (16 kHz) samples; see the module docs.
pub(crate) const TARGET_BLOCK_OUT: usize = 2048;

/// Streaming converter from a fixed input rate to 16 kHz mono.
///
/// Feed chunks of any length with [`process`](Self::process); output arrives
/// in blocks of a fixed size as soon as enough input has accumulated, delayed
/// by [`latency_samples`](Self::latency_samples) 16 kHz samples relative to
/// the input. After construction no call allocates, except that `output`
/// grows if the caller did not reserve room in it. At 16 kHz input the
/// samples pass through bit-exactly with no delay.
pub struct Resampler16k {
    input_rate: u32,
    /// `None` when the input is already at 16 kHz.
    engine: Option<Engine>,
}

struct Engine {
    fft: Fft<f32>,
    block_in: usize,
    block_out: usize,
    delay: usize,
    /// Input waiting for a full block; capacity `block_in`, never exceeded.
    pending: Vec<f32>,
}

impl std::fmt::Debug for Resampler16k {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Resampler16k");
        d.field("input_rate", &self.input_rate);
        if let Some(e) = &self.engine {
            d.field("block_in", &e.block_in)
                .field("block_out", &e.block_out)
                .field("latency", &e.delay)
                .field("pending", &e.pending.len());
        } else {
            d.field("passthrough", &true);
        }
        d.finish()
    }
}

/// Block sizes (in, out) for `input_rate` -> 16 kHz: the smallest multiple of
/// the minimal block pair with at least `TARGET_BLOCK_OUT` output samples and
/// both sides even.
fn block_sizes(input_rate: u32) -> (usize, usize) {
    let g = gcd(input_rate as usize, SAMPLE_RATE as usize);
    let min_in = input_rate as usize / g;
    let min_out = SAMPLE_RATE as usize / g;
    let mut k = TARGET_BLOCK_OUT.div_ceil(min_out).max(1);
    while (k * min_in) & 1 == 1 || (k * min_out) & 1 == 1 {
        k += 1;
    }
    (k * min_in, k * min_out)
}

pub(crate) fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Resampler16k {
    /// A converter from `input_rate` Hz to 16 kHz. Fails for rates outside
    /// `MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE`.
    pub fn new(input_rate: u32) -> Result<Self, AudioError> {
        if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&input_rate) {
            return Err(AudioError::InvalidResampleRate { rate: input_rate });
        }
        if input_rate == SAMPLE_RATE {
            return Ok(Self {
                input_rate,
                engine: None,
            });
        }
        let (block_in, block_out) = block_sizes(input_rate);
        // FixedSync::Both with chunk_size = block_in makes rubato use exactly
        // one FFT block of block_in -> block_out per call.
        let fft = Fft::<f32>::new_custom(
            input_rate as usize,
            SAMPLE_RATE as usize,
            block_in,
            1,
            1,
            WindowFunction::BlackmanHarris2,
            FixedSync::Both,
        )
        .map_err(|_| AudioError::InvalidResampleRate { rate: input_rate })?;
        debug_assert_eq!(fft.input_frames_next(), block_in);
        debug_assert_eq!(fft.output_frames_next(), block_out);
        debug_assert_eq!(fft.output_delay(), block_out / 2);
        let delay = fft.output_delay();
        Ok(Self {
            input_rate,
            engine: Some(Engine {
                fft,
                block_in,
                block_out,
                delay,
                pending: Vec::with_capacity(block_in),
            }),
        })
    }

    /// The input rate this converter was built for.
    pub fn input_rate(&self) -> u32 {
        self.input_rate
    }

    /// Converts `input` (any length, possibly empty) and appends every 16 kHz
    /// sample that became available to `output`. Input shorter than a block
    /// is kept until the next call.
    pub fn process(&mut self, input: &[f32], output: &mut Vec<f32>) {
        let Some(e) = &mut self.engine else {
            output.extend_from_slice(input);
            return;
        };
        let mut rest = input;
        if !e.pending.is_empty() {
            let take = (e.block_in - e.pending.len()).min(rest.len());
            e.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if e.pending.len() < e.block_in {
                return;
            }
            run_block(&mut e.fft, &e.pending, e.block_out, output);
            e.pending.clear();
        }
        // Whole blocks straight from the caller's slice, without a copy.
        while rest.len() >= e.block_in {
            run_block(&mut e.fft, &rest[..e.block_in], e.block_out, output);
            rest = &rest[e.block_in..];
        }
        e.pending.extend_from_slice(rest);
    }

    /// Forgets all buffered input and filter state, as if newly constructed.
    pub fn reset(&mut self) {
        if let Some(e) = &mut self.engine {
            e.fft.reset();
            e.pending.clear();
        }
    }

    /// Delay of the output in 16 kHz samples: output sample `latency + i`
    /// corresponds to input time `i / 16000` s. 0 for 16 kHz input.
    pub fn latency_samples(&self) -> usize {
        self.engine.as_ref().map_or(0, |e| e.delay)
    }

    /// The 16 kHz position (in the whole-file output of [`resample_to_16k`])
    /// of the first sample a freshly reset converter outputs when fed from
    /// input frame `first`, which must lie on the block grid
    /// ([`input_span`] gives such frames). Negative when it precedes the
    /// signal (the latency).
    pub(crate) fn output_position_of(&self, first: u64) -> i64 {
        match &self.engine {
            Some(e) => {
                debug_assert_eq!(first % e.block_in as u64, 0, "on the block grid");
                (first / e.block_in as u64 * e.block_out as u64) as i64 - e.delay as i64
            }
            None => first as i64,
        }
    }

    /// Pushes the pending input padded with zeros to a whole block (the end
    /// of a signal); nothing at 16 kHz.
    pub(crate) fn flush_block(&mut self, output: &mut Vec<f32>) {
        if let Some(e) = &mut self.engine {
            e.pending.resize(e.block_in, 0.0);
            run_block(&mut e.fft, &e.pending, e.block_out, output);
            e.pending.clear();
        }
    }

    /// Pushes zeros until `output` holds at least `min_len` samples.
    fn flush_until(&mut self, output: &mut Vec<f32>, min_len: usize) {
        let Some(e) = &mut self.engine else {
            return;
        };
        while output.len() < min_len {
            e.pending.resize(e.block_in, 0.0);
            run_block(&mut e.fft, &e.pending, e.block_out, output);
            e.pending.clear();
        }
    }
}

/// A [`Resampler16k`] whose output lines up with its input, produced a chunk
/// at a time: the latency's samples are dropped and
/// [`finish`](Self::finish) pads the end with zeros up to the signal's
/// 16 kHz length, so that everything handed out is [`resample_to_16k`]'s
/// result for the whole input.
pub(crate) struct AlignedResampler16k {
    resampler: Resampler16k,
    /// Output samples still to drop: they precede the input's start.
    to_drop: usize,
    emitted: usize,
    raw: Vec<f32>,
}

impl AlignedResampler16k {
    pub(crate) fn new(input_rate: u32) -> Result<Self, AudioError> {
        let resampler = Resampler16k::new(input_rate)?;
        Ok(Self {
            to_drop: resampler.latency_samples(),
            resampler,
            emitted: 0,
            raw: Vec::new(),
        })
    }

    /// Converts the next input and appends the aligned samples that became available.
    pub(crate) fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.resampler.process(input, &mut self.raw);
        self.hand_out(out, usize::MAX);
    }

    /// The end of the input: appends the remaining samples, up to `total`
    /// handed out in all (`round(frames * 16000 / rate)` for a file).
    pub(crate) fn finish(&mut self, total: usize, out: &mut Vec<f32>) {
        while self.emitted < total {
            let before = self.emitted;
            self.resampler.flush_block(&mut self.raw);
            self.hand_out(out, total);
            if self.emitted == before && self.to_drop == 0 {
                break;
            }
        }
    }

    pub(crate) fn input_rate(&self) -> u32 {
        self.resampler.input_rate()
    }

    /// Samples handed out so far.
    pub(crate) fn emitted(&self) -> usize {
        self.emitted
    }

    /// Moves converted samples past the latency to `out`, at most up to `limit` in all.
    fn hand_out(&mut self, out: &mut Vec<f32>, limit: usize) {
        let drop = self.to_drop.min(self.raw.len());
        self.to_drop -= drop;
        let take = (self.raw.len() - drop).min(limit.saturating_sub(self.emitted));
        out.extend_from_slice(&self.raw[drop..drop + take]);
        self.emitted += take;
        self.raw.clear();
    }
}

/// One FFT block: `block.len()` input samples -> `block_out` samples appended to `output`.
fn run_block(fft: &mut Fft<f32>, block: &[f32], block_out: usize, output: &mut Vec<f32>) {
    let start = output.len();
    output.resize(start + block_out, 0.0);
    // Buffer sizes are exactly what this resampler reported at construction,
    // so neither the adapters nor rubato can reject them; a failure here is a
    // bug in this module, not something input data can cause.
    let input = InterleavedSlice::new(block, 1, block.len()).expect("input block matches its length");
    let mut out =
        InterleavedSlice::new_mut(&mut output[start..], 1, block_out).expect("output block matches its length");
    let (read, written) = fft
        .process_into_buffer(&input, &mut out, None)
        .expect("block sizes fixed at construction");
    debug_assert_eq!((read, written), (block.len(), block_out));
}

/// Resamples a whole mono signal to 16 kHz with the delay removed: the
/// output is aligned with the input and `round(len * 16000 / input_rate)`
/// samples long. 16 kHz input is returned unchanged.
pub fn resample_to_16k(mono: &[f32], input_rate: u32) -> Result<Vec<f32>, AudioError> {
    let mut resampler = Resampler16k::new(input_rate)?;
    if input_rate == SAMPLE_RATE {
        return Ok(mono.to_vec());
    }
    let rate = u128::from(input_rate);
    let out_len = ((mono.len() as u128 * u128::from(SAMPLE_RATE) + rate / 2) / rate) as usize;
    let delay = resampler.latency_samples();
    let block_out = resampler.engine.as_ref().map_or(0, |e| e.block_out);
    let mut out = Vec::with_capacity(delay + out_len + block_out);
    resampler.process(mono, &mut out);
    resampler.flush_until(&mut out, delay + out_len);
    out.copy_within(delay..delay + out_len, 0);
    out.truncate(out_len);
    Ok(out)
}

/// The input frames that samples `start..end` of [`resample_to_16k`]'s
/// output depend on: `(first, end)`, at the input rate. [`resample_span`]
/// turns exactly these frames into exactly those samples.
///
/// Why a span suffices, and bit for bit: the FFT resampler runs in fixed
/// blocks counted from the file's first frame, and rubato applies each
/// block's filter (as long as the block) by overlap-add into the next block
/// only, so an output block depends on its own input block and the one
/// before. Starting one block early, on the block grid, reproduces every
/// block after it exactly.
pub(crate) fn input_span(input_rate: u32, start: usize, end: usize) -> (u64, u64) {
    if input_rate == SAMPLE_RATE || end <= start {
        return (start as u64, end.max(start) as u64);
    }
    let (block_in, block_out) = block_sizes(input_rate);
    let delay = block_out / 2;
    let first_block = ((start + delay) / block_out).saturating_sub(1);
    let last_block = (end - 1 + delay) / block_out;
    ((first_block * block_in) as u64, ((last_block + 1) * block_in) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_sizes_are_even_multiples_of_the_minimal_blocks() {
        for rate in [
            8_000u32, 11_025, 22_050, 32_000, 44_100, 48_000, 88_200, 96_000, 176_400, 192_000, 44_101, 1_000, 768_000,
        ] {
            let (bi, bo) = block_sizes(rate);
            assert!(bo >= TARGET_BLOCK_OUT, "{rate}");
            assert_eq!(bi % 2, 0, "{rate}");
            assert_eq!(bo % 2, 0, "{rate}");
            assert_eq!(bi as u64 * 16_000, bo as u64 * u64::from(rate), "{rate}");
        }
        // 44.1 kHz: minimal blocks 441 -> 160; 13 of them would make an odd input block.
        assert_eq!(block_sizes(44_100), (6_174, 2_240));
        assert_eq!(block_sizes(48_000), (6_144, 2_048));
    }

    #[test]
    fn an_impulse_comes_out_centred_exactly_at_the_latency() {
        // 48 kHz -> 16 kHz is 3:1, so an impulse at input 3m is output sample m.
        let mut r = Resampler16k::new(48_000).unwrap();
        assert_eq!(r.latency_samples(), 1_024);
        let mut x = vec![0.0f32; 48_000];
        x[3 * 5_000] = 1.0;
        let mut y = Vec::new();
        r.process(&x, &mut y);
        let peak = (0..y.len()).max_by(|&a, &b| y[a].total_cmp(&y[b])).unwrap();
        assert_eq!(peak, 5_000 + r.latency_samples());
        // symmetric around the peak (linear phase)
        for k in 1..50 {
            assert!((y[peak - k] - y[peak + k]).abs() < 1e-6, "asymmetric at {k}");
        }
    }
}
