//! Harmonic/percussive split of one frequency bin, as `librosa.decompose.hpss`
//! (0.10.1, defaults: power 2, margin 1, `mask=False`) does it once the two
//! median-filtered magnitudes are known.
//!
//! librosa computes, in float32:
//! `mask_h = softmask(harm, perc, power=2, split_zeros=True)` and
//! `mask_p = softmask(perc, harm, power=2, split_zeros=True)` — `split_zeros`
//! is `margin_harm == 1 and margin_perc == 1`, so true with the default margin —
//! then `H = S * mask_h * phase`, `P = S * mask_p * phase`. The features only use
//! `|H|^2` and `|P|^2`, so the phase drops out (|phase| is 1 up to float32
//! rounding, well below the golden tolerance).
//!
//! `softmask(X, X_ref)` rescales by `Z = max(X, X_ref)`; where `Z` is below the
//! smallest normal float32 (`np.finfo(float32).tiny`) — both medians zero or
//! subnormal — the mask is 0.5 on both sides (the "split zeros"); elsewhere it
//! is `(X/Z)^2 / ((X/Z)^2 + (X_ref/Z)^2)`, evaluated in that order in f32.
//!
//! [`HpssSpectrogram`] holds one STFT's magnitudes and both medians, for the
//! contract's STFT and for the pitch input's longer one alike.

use super::mel::{self, Filterbank};
use super::stft::Stft;
use super::{median, transpose::transpose, FRAME_STRIDE};
use crate::contract::{HPSS_KERNEL, HPSS_MARGIN, HPSS_MASK_POWER, N_FRAMES};

// The closed forms below are those of the contract's settings.
const _: () = assert!(HPSS_MASK_POWER == 2.0 && HPSS_MARGIN == 1.0);

/// The two soft masks for one element: `(mask_h, mask_p)`.
#[inline(always)]
pub(crate) fn soft_masks(harm: f32, perc: f32) -> (f32, f32) {
    let z = if harm > perc { harm } else { perc };
    let small = z < f32::MIN_POSITIVE;
    let z = if small { 1.0 } else { z };
    let h = harm / z;
    let p = perc / z;
    let h = h * h;
    let p = p * p;
    let sum = h + p;
    if small {
        (0.5, 0.5)
    } else {
        (h / sum, p / sum)
    }
}

/// Harmonic and percussive power of one bin over all frames:
/// `harm_power[t] = (s[t] * mask_h)^2`, `perc_power[t] = (s[t] * mask_p)^2`.
#[inline(always)]
pub(crate) fn split_power(s: &[f32], harm: &[f32], perc: &[f32], harm_power: &mut [f32], perc_power: &mut [f32]) {
    let n = s.len();
    let (harm, perc) = (&harm[..n], &perc[..n]);
    let (harm_power, perc_power) = (&mut harm_power[..n], &mut perc_power[..n]);
    for t in 0..n {
        let (mh, mp) = soft_masks(harm[t], perc[t]);
        let h = s[t] * mh;
        let p = s[t] * mp;
        harm_power[t] = h * h;
        perc_power[t] = p * p;
    }
}

/// One window's |STFT| and its two HPSS medians, kept twice: frame-major for
/// the median along time and bin-major for the median along frequency, so
/// that both run along contiguous memory, many sequences per SIMD vector.
/// The bin-major side then feeds the masks one bin at a time.
///
/// Only the bins some band can use are analysed ([`Self::up_to`]): the
/// medians of the bins below a cut are exactly those of the whole spectrum
/// as long as the cut lies half a kernel above the highest bin used, since
/// the median along frequency reads 15 bins either side.
pub(crate) struct HpssSpectrogram {
    stft: Stft,
    /// Bins analysed (the lowest ones).
    bins: usize,
    /// Row stride of the frame-major buffers: the STFT's bins rounded up to
    /// whole SIMD groups (the padding stays zero and never reaches the output).
    bin_stride: usize,
    /// |STFT|, frame-major: `[N_FRAMES][bin_stride]`.
    spec_by_frame: Vec<f32>,
    /// |STFT|, bin-major: `[bins][FRAME_STRIDE]`.
    spec_by_bin: Vec<f32>,
    /// Median along time, frame-major (as computed) and bin-major (as used).
    harm_by_frame: Vec<f32>,
    harm_by_bin: Vec<f32>,
    /// Median along frequency, bin-major.
    perc_by_bin: Vec<f32>,
    /// One bin's harmonic and percussive power over all frames.
    harm_row: Vec<f32>,
    perc_row: Vec<f32>,
}

impl HpssSpectrogram {
    /// Analyses every bin of `stft`.
    pub(crate) fn new(stft: Stft) -> Self {
        let bins = stft.bins();
        Self::up_to(stft, bins)
    }

    /// Analyses enough bins for bands that use bins below `used` (their
    /// masks exactly as with every bin analysed).
    pub(crate) fn up_to(stft: Stft, used: usize) -> Self {
        let all = stft.bins();
        let bin_stride = all.next_multiple_of(median::LANE_ALIGN);
        let bins = (used + HPSS_KERNEL / 2).next_multiple_of(median::LANE_ALIGN).min(all);
        HpssSpectrogram {
            stft,
            bins,
            bin_stride,
            spec_by_frame: vec![0.0; N_FRAMES * bin_stride],
            spec_by_bin: vec![0.0; bins * FRAME_STRIDE],
            harm_by_frame: vec![0.0; N_FRAMES * bin_stride],
            harm_by_bin: vec![0.0; bins * FRAME_STRIDE],
            perc_by_bin: vec![0.0; bins * FRAME_STRIDE],
            harm_row: vec![0.0; FRAME_STRIDE],
            perc_row: vec![0.0; FRAME_STRIDE],
        }
    }

    /// Bins analysed, the lowest ones.
    #[cfg(test)]
    pub(crate) fn bins(&self) -> usize {
        self.bins
    }

    /// The STFT of `signal` (one cleaned 5 s window) and both medians: along
    /// time (harmonic) on the frame-major copy, along frequency (percussive)
    /// on the bin-major copy. No heap allocation.
    pub(crate) fn analyse(&mut self, signal: &[f32]) {
        let (bins, stride) = (self.bins, self.bin_stride);
        self.stft.magnitudes(signal, &mut self.spec_by_frame, stride);
        transpose(
            &self.spec_by_frame,
            stride,
            N_FRAMES,
            bins,
            &mut self.spec_by_bin,
            FRAME_STRIDE,
        );
        // Whole SIMD groups of columns: the stride has room for them.
        let columns = bins.next_multiple_of(median::LANE_ALIGN);
        median::median_columns(&self.spec_by_frame, N_FRAMES, columns, stride, &mut self.harm_by_frame);
        median::median_columns(
            &self.spec_by_bin,
            bins,
            FRAME_STRIDE,
            FRAME_STRIDE,
            &mut self.perc_by_bin,
        );
        transpose(
            &self.harm_by_frame,
            stride,
            N_FRAMES,
            bins,
            &mut self.harm_by_bin,
            FRAME_STRIDE,
        );
    }

    /// Adds the harmonic power of the analysed window into `harm_bands` and
    /// its percussive power into `perc_bands` (each `[bands][FRAME_STRIDE]`,
    /// either may be left out), through `bank`: the sparse `bank @ |H|^2`
    /// and `bank @ |P|^2`, one bin at a time, only for bins some band uses.
    pub(crate) fn add_band_power(
        &mut self,
        bank: &Filterbank,
        mut harm_bands: Option<&mut [f32]>,
        mut perc_bands: Option<&mut [f32]>,
    ) {
        for k in bank.used_bins() {
            debug_assert!(k < self.bins, "bin {k} was not analysed");
            let row = k * FRAME_STRIDE..(k + 1) * FRAME_STRIDE;
            split_power(
                &self.spec_by_bin[row.clone()],
                &self.harm_by_bin[row.clone()],
                &self.perc_by_bin[row],
                &mut self.harm_row,
                &mut self.perc_row,
            );
            for &(m, w) in bank.bin(k) {
                let band = m * FRAME_STRIDE..(m + 1) * FRAME_STRIDE;
                if let Some(acc) = harm_bands.as_deref_mut() {
                    mel::accumulate(&mut acc[band.clone()], w, &self.harm_row);
                }
                if let Some(acc) = perc_bands.as_deref_mut() {
                    mel::accumulate(&mut acc[band], w, &self.perc_row);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_split_zeros_evenly() {
        assert_eq!(soft_masks(0.0, 0.0), (0.5, 0.5));
        // both subnormal: librosa's `Z < tiny` also counts as zero
        assert_eq!(soft_masks(1e-39, 2e-39), (0.5, 0.5));
        // one side zero, the other normal: a hard 1/0 split
        assert_eq!(soft_masks(0.0, 1e-20), (0.0, 1.0));
        assert_eq!(soft_masks(3.0, 0.0), (1.0, 0.0));
    }

    #[test]
    fn masks_are_power_two_wiener_weights() {
        let (h, p) = soft_masks(3.0, 1.0);
        assert!((h - 0.9).abs() < 1e-7 && (p - 0.1).abs() < 1e-7);
        let (h, p) = soft_masks(2.0, 2.0);
        assert_eq!((h, p), (0.5, 0.5));
        // rescaling by the larger value keeps huge inputs finite
        let (h, p) = soft_masks(3e38, 1e38);
        assert!((h - 0.9).abs() < 1e-6 && (p - 0.1).abs() < 1e-6);
    }

    #[test]
    fn split_power_squares_the_masked_magnitude() {
        let s = [2.0, 0.0, 1.0];
        let harm = [3.0, 0.0, 0.0];
        let perc = [1.0, 0.0, 0.0];
        let (mut hp, mut pp) = ([0.0; 3], [0.0; 3]);
        split_power(&s, &harm, &perc, &mut hp, &mut pp);
        assert!((hp[0] - (2.0f32 * 0.9).powi(2)).abs() < 1e-6);
        assert!((pp[0] - (2.0f32 * 0.1).powi(2)).abs() < 1e-6);
        assert_eq!((hp[1], pp[1]), (0.0, 0.0));
        // medians both zero but S not: librosa gives each side half the magnitude
        assert_eq!((hp[2], pp[2]), (0.25, 0.25));
    }
}
