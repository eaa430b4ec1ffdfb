//! The mel filterbanks, stored sparsely: the HPS input's
//! `librosa.filters.mel(sr=16000, n_fft=1024, n_mels=64, fmin=60, fmax=7800)`
//! (librosa 0.10.1 defaults: Slaney scale, `htk=False`, `norm='slaney'`,
//! float32), and the mel input's `torchaudio.functional.melscale_fbanks`
//! with the same range (HTK scale, no normalisation, float32; see
//! [`htk_mel_weights`]).
//!
//! librosa builds the weights in float64 and stores them in a float32 matrix
//! twice: once for the triangles, once more after multiplying by the Slaney
//! area normalisation (`weights *= enorm` computes in float64 and rounds back).
//! Doing exactly that here reproduces librosa's matrix bit for bit (checked in
//! the tests), so the only difference left in the mel power is summation order.
//!
//! Each band is a triangle over a few neighbouring bins, so the dense 64 x 513
//! product is ~92 % zeros. The bank is kept per *bin*: the (band, weight) pairs
//! a bin contributes to (at most two, adjacent triangles overlap pairwise).
//! That lets the extractor compute one bin's harmonic/percussive power over
//! all frames and add it straight into the bands that use it, and skip bins
//! no band uses (below ~60 Hz and above ~7.8 kHz).

use crate::contract::{F_MAX, F_MIN, N_BINS, N_FFT, N_MELS, SAMPLE_RATE};

/// A dense filterbank, `[N_MELS][N_BINS]`.
pub(crate) type DenseBank = Vec<Vec<f32>>;

/// A sparse filterbank, by FFT bin: the mel banks here, the pitch input's
/// semitone bank (semitone.rs).
pub(crate) struct Filterbank {
    /// `entries[offsets[k]..offsets[k + 1]]` are bin `k`'s `(band, weight)` pairs,
    /// bands in increasing order.
    offsets: Vec<usize>,
    entries: Vec<(usize, f32)>,
}

impl Filterbank {
    /// librosa's Slaney filterbank (the HPS input).
    pub(crate) fn slaney() -> Self {
        Self::from_dense(&slaney_mel_weights())
    }

    /// torchaudio's HTK filterbank (the mel input).
    pub(crate) fn htk() -> Self {
        Self::from_dense(&htk_mel_weights())
    }

    /// The bank of `dense`, `[bands][bins]` (any number of bins).
    pub(crate) fn from_dense(dense: &DenseBank) -> Self {
        let bins = dense.first().map_or(0, Vec::len);
        let mut offsets = Vec::with_capacity(bins + 1);
        let mut entries = Vec::new();
        offsets.push(0);
        for k in 0..bins {
            for (m, row) in dense.iter().enumerate() {
                if row[k] != 0.0 {
                    entries.push((m, row[k]));
                }
            }
            offsets.push(entries.len());
        }
        Filterbank { offsets, entries }
    }

    /// The bands bin `k` contributes to, with their weights.
    #[inline]
    pub(crate) fn bin(&self, k: usize) -> &[(usize, f32)] {
        &self.entries[self.offsets[k]..self.offsets[k + 1]]
    }

    /// Bins that contribute to at least one band, in increasing order.
    pub(crate) fn used_bins(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.offsets.len() - 1).filter(|&k| self.offsets[k + 1] > self.offsets[k])
    }

    /// One past the highest bin any band uses.
    pub(crate) fn used_end(&self) -> usize {
        self.used_bins().last().map_or(0, |k| k + 1)
    }
}

/// `acc[t] += weight * power[t]` over one band's row: the sparse
/// `mel_basis @ power` one bin at a time. Bins are added in increasing order
/// for every band, like the dense product.
#[inline(always)]
pub(crate) fn accumulate(acc: &mut [f32], weight: f32, power: &[f32]) {
    let n = acc.len();
    for (a, &p) in acc.iter_mut().zip(&power[..n]) {
        *a += weight * p;
    }
}

/// librosa's `hz_to_mel(f, htk=False)` (Slaney): linear below 1 kHz,
/// logarithmic above.
fn hz_to_mel(f: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= min_log_hz {
        min_log_mel + (f / min_log_hz).ln() / logstep
    } else {
        f / f_sp
    }
}

/// librosa's `mel_to_hz(m, htk=False)`.
fn mel_to_hz(m: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= min_log_mel {
        min_log_hz * (logstep * (m - min_log_mel)).exp()
    } else {
        f_sp * m
    }
}

/// librosa's `mel_frequencies(N_MELS + 2, F_MIN, F_MAX)` (Slaney): the
/// edges of the mel bands; band `i` rises from point `i`, peaks at `i + 1`
/// and falls to `i + 2`.
fn slaney_mel_points_hz() -> Vec<f64> {
    // np.linspace(min_mel, max_mel, n) is `i * step + start` with the last
    // point set to `stop` exactly.
    let n_points = N_MELS + 2;
    let min_mel = hz_to_mel(f64::from(F_MIN));
    let max_mel = hz_to_mel(f64::from(F_MAX));
    let step = (max_mel - min_mel) / (n_points - 1) as f64;
    (0..n_points)
        .map(|i| {
            let m = if i == n_points - 1 {
                max_mel
            } else {
                i as f64 * step + min_mel
            };
            mel_to_hz(m)
        })
        .collect()
}

/// The centre frequency (Hz) of each of the feature contract's mel bands,
/// lowest first.
pub fn mel_band_centres_hz() -> Vec<f64> {
    slaney_mel_points_hz()[1..=N_MELS].to_vec()
}

/// The dense librosa mel matrix, `[N_MELS][N_BINS]`, bit-exact.
pub(crate) fn slaney_mel_weights() -> DenseBank {
    let mel_f = slaney_mel_points_hz();

    // fft_frequencies = np.fft.rfftfreq(n_fft, d=1/sr): k * (1 / (n * d)).
    let d = 1.0 / f64::from(SAMPLE_RATE);
    let val = 1.0 / (N_FFT as f64 * d);
    let fft_freqs: Vec<f64> = (0..N_BINS).map(|k| k as f64 * val).collect();

    (0..N_MELS)
        .map(|i| {
            let lower_width = mel_f[i + 1] - mel_f[i];
            let upper_width = mel_f[i + 2] - mel_f[i + 1];
            let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
            fft_freqs
                .iter()
                .map(|&f| {
                    let lower = -(mel_f[i] - f) / lower_width;
                    let upper = (mel_f[i + 2] - f) / upper_width;
                    let tri = 0.0f64.max(lower.min(upper)) as f32;
                    (f64::from(tri) * enorm) as f32
                })
                .collect()
        })
        .collect()
}

/// `torch.linspace(start, end, steps)` for float32 as ATen's CPU kernel
/// computes it: the step in f32, the first half counted up from `start`, the
/// second half down from `end`, so both ends are exact.
fn torch_linspace_f32(start: f32, end: f32, steps: usize) -> Vec<f32> {
    let step = (end - start) / (steps - 1) as f32;
    let halfway = steps / 2;
    (0..steps)
        .map(|i| {
            if i < halfway {
                start + step * i as f32
            } else {
                end - step * (steps - i - 1) as f32
            }
        })
        .collect()
}

/// torchaudio 2.x `melscale_fbanks(n_freqs=513, f_min=60, f_max=7800,
/// n_mels=64, sample_rate=16000, norm=None, mel_scale="htk")`, transposed to
/// `[N_MELS][N_BINS]`. torchaudio computes it in float32 tensor arithmetic,
/// reproduced here step by step (the band edges in mel from Python's f64
/// `2595 log10(1 + f / 700)`, everything after in f32; `10 ** x` is computed
/// in f64 and rounded, i.e. a correctly rounded `powf`).
pub(crate) fn htk_mel_weights() -> DenseBank {
    let hz_to_mel = |f: f64| 2595.0 * (1.0 + f / 700.0).log10();
    let mel_to_hz = |m: f32| 700.0f32 * ((10.0f64.powf(f64::from(m / 2595.0f32)) as f32) - 1.0);
    let all_freqs = torch_linspace_f32(0.0, (SAMPLE_RATE / 2) as f32, N_BINS);
    let m_pts = torch_linspace_f32(
        hz_to_mel(f64::from(F_MIN)) as f32,
        hz_to_mel(f64::from(F_MAX)) as f32,
        N_MELS + 2,
    );
    let f_pts: Vec<f32> = m_pts.into_iter().map(mel_to_hz).collect();
    let f_diff: Vec<f32> = f_pts.windows(2).map(|w| w[1] - w[0]).collect();
    (0..N_MELS)
        .map(|m| {
            all_freqs
                .iter()
                .map(|&f| {
                    // torchaudio writes `-1.0 * x`: the same value.
                    let down = -(f_pts[m] - f) / f_diff[m];
                    let up = (f_pts[m + 2] - f) / f_diff[m + 1];
                    0.0f32.max(down.min(up))
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_centres_rise_from_f_min_to_f_max_linearly_then_by_a_constant_ratio() {
        let c = mel_band_centres_hz();
        assert_eq!(c.len(), N_MELS);
        assert!(c[0] > f64::from(F_MIN) && c[N_MELS - 1] < f64::from(F_MAX));
        assert!(c.windows(2).all(|w| w[1] > w[0]));
        // Below 1 kHz a constant width (~47 Hz: several semitones for a
        // bass line), above it a constant ratio (~0.8 semitone).
        let (low, high) = (c[1] - c[0], c[N_MELS - 1] / c[N_MELS - 2]);
        assert!((40.0..55.0).contains(&low), "{low}");
        let semitones = 12.0 * high.log2();
        assert!((0.7..0.9).contains(&semitones), "{semitones}");
        // The peak of each triangle of the matrix is its centre.
        let w = slaney_mel_weights();
        let bin_hz = f64::from(SAMPLE_RATE) / N_FFT as f64;
        for (band, centre) in w.iter().zip(&c) {
            let peak = band.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
            assert!((peak as f64 * bin_hz - centre).abs() <= bin_hz, "{peak} vs {centre}");
        }
    }

    #[test]
    fn dense_weights_are_librosa_bit_for_bit() {
        let w = slaney_mel_weights();
        // Checksums of librosa 0.10.1's matrix as uint32 bit patterns:
        // b = w.view(np.uint32).astype(np.uint64).ravel(); (b * arange(1, n + 1)).sum(), b.sum()
        let mut weighted = 0u64;
        let mut plain = 0u64;
        for (i, v) in w.iter().flatten().enumerate() {
            let b = u64::from(v.to_bits());
            weighted = weighted.wrapping_add(b.wrapping_mul(i as u64 + 1));
            plain += b;
        }
        assert_eq!(plain, 958_452_715_867);
        assert_eq!(weighted, 21_722_308_638_534_310);
        // spot values (librosa's float32 bits)
        assert_eq!(w[0][4].to_bits(), 0x3aa1_108d);
        assert_eq!(w[0][5].to_bits(), 0x3c11_f700);
        assert_eq!(w[47][220].to_bits(), 0x3b17_10b0);
        assert_eq!(w[63][499].to_bits(), 0x37d5_6e4c);
    }

    #[test]
    #[allow(clippy::needless_range_loop)] // the bank is organised by bin: index by bin
    fn sparse_bank_matches_dense_and_ranges() {
        let dense = slaney_mel_weights();
        let bank = Filterbank::slaney();
        let mut rebuilt = vec![vec![0.0f32; N_BINS]; N_MELS];
        for k in 0..N_BINS {
            assert!(bank.bin(k).len() <= 2, "bin {k}");
            for &(m, w) in bank.bin(k) {
                rebuilt[m][k] = w;
            }
        }
        assert_eq!(rebuilt, dense);
        // first/last nonzero bins of a few bands, from librosa
        for (m, first, last) in [(0, 4, 9), (1, 7, 12), (31, 103, 112), (62, 435, 476), (63, 455, 499)] {
            let nz: Vec<usize> = (0..N_BINS).filter(|&k| dense[m][k] > 0.0).collect();
            assert_eq!((nz[0], *nz.last().unwrap()), (first, last), "band {m}");
        }
        let used: Vec<usize> = bank.used_bins().collect();
        assert_eq!((used[0], *used.last().unwrap(), used.len()), (4, 499, 496));
    }

    #[test]
    fn torch_linspace_hits_both_ends_exactly() {
        let v = torch_linspace_f32(0.0, 8000.0, 513);
        assert_eq!((v[0], v[1], v[256], v[512]), (0.0, 15.625, 4000.0, 8000.0));
        let m = torch_linspace_f32(0.3, 2839.7, 66);
        assert_eq!((m[0], m[65]), (0.3, 2839.7));
    }

    #[test]
    #[allow(clippy::needless_range_loop)] // bins are compared by index
    fn htk_bank_is_triangles_peaking_at_one_without_normalisation() {
        let dense = htk_mel_weights();
        let bank = Filterbank::htk();
        for m in 0..N_MELS {
            let row = &dense[m];
            let peak = row.iter().cloned().fold(0.0f32, f32::max);
            // No area normalisation: every triangle peaks near 1 (at the bin
            // closest to its centre frequency).
            assert!(peak > 0.5 && peak <= 1.0, "band {m}: peak {peak}");
            assert!(row.iter().all(|&w| (0.0..=1.0).contains(&w)));
        }
        for k in 0..N_BINS {
            for &(m, w) in bank.bin(k) {
                assert_eq!(dense[m][k], w);
            }
        }
        // 60 Hz and 7800 Hz edges: nothing below bin 3 (46.9 Hz) or above 499 (7797 Hz).
        let used: Vec<usize> = bank.used_bins().collect();
        assert!(used[0] >= 3 && *used.last().unwrap() <= 499, "{used:?}");
        // HTK centre of band 0: mel(60) + (mel(7800) - mel(60)) / 65.
        let mel = |f: f64| 2595.0 * (1.0 + f / 700.0).log10();
        let centre_mel = mel(60.0) + (mel(7800.0) - mel(60.0)) / 65.0;
        let centre_hz = 700.0 * (10f64.powf(centre_mel / 2595.0) - 1.0);
        let peak_bin = (0..N_BINS)
            .max_by(|&a, &b| dense[0][a].total_cmp(&dense[0][b]))
            .unwrap();
        assert!(
            (peak_bin as f64 * 15.625 - centre_hz).abs() <= 15.625,
            "{peak_bin} vs {centre_hz} Hz"
        );
    }

    #[test]
    fn mel_scale_round_trips_and_is_slaney() {
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel(500.0) - 7.5).abs() < 1e-12);
        assert!((hz_to_mel(6400.0) - 42.0).abs() < 1e-9);
        for f in [60.0, 999.0, 1000.0, 3210.0, 7800.0] {
            assert!((mel_to_hz(hz_to_mel(f)) - f).abs() < 1e-9);
        }
    }

    #[test]
    fn accumulate_adds_weighted_rows() {
        let mut acc = [1.0, 2.0];
        accumulate(&mut acc, 0.5, &[4.0, 8.0, 100.0]);
        assert_eq!(acc, [3.0, 6.0]);
    }
}
