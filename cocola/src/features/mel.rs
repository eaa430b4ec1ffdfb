//! The mel filterbank of `librosa.filters.mel(sr=16000, n_fft=1024, n_mels=64,
//! fmin=60, fmax=7800)` (librosa 0.10.1 defaults: Slaney scale, `htk=False`,
//! `norm='slaney'`, float32), stored sparsely.
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

/// Sparse mel filterbank, by FFT bin.
pub(crate) struct MelBank {
    /// `entries[offsets[k]..offsets[k + 1]]` are bin `k`'s `(band, weight)` pairs,
    /// bands in increasing order.
    offsets: Vec<usize>,
    entries: Vec<(usize, f32)>,
}

impl MelBank {
    pub(crate) fn new() -> Self {
        let dense = slaney_mel_weights();
        let mut offsets = Vec::with_capacity(N_BINS + 1);
        let mut entries = Vec::new();
        offsets.push(0);
        for k in 0..N_BINS {
            for (m, row) in dense.iter().enumerate() {
                if row[k] != 0.0 {
                    entries.push((m, row[k]));
                }
            }
            offsets.push(entries.len());
        }
        MelBank { offsets, entries }
    }

    /// The bands bin `k` contributes to, with their weights.
    #[inline]
    pub(crate) fn bin(&self, k: usize) -> &[(usize, f32)] {
        &self.entries[self.offsets[k]..self.offsets[k + 1]]
    }

    /// Bins that contribute to at least one band, in increasing order.
    pub(crate) fn used_bins(&self) -> impl Iterator<Item = usize> + '_ {
        (0..N_BINS).filter(|&k| self.offsets[k + 1] > self.offsets[k])
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

/// The dense librosa mel matrix, `[N_MELS][N_BINS]`, bit-exact.
pub(crate) fn slaney_mel_weights() -> Vec<Vec<f32>> {
    // mel_frequencies(n_mels + 2): np.linspace(min_mel, max_mel, n) is
    // `i * step + start` with the last point set to `stop` exactly.
    let n_points = N_MELS + 2;
    let min_mel = hz_to_mel(f64::from(F_MIN));
    let max_mel = hz_to_mel(f64::from(F_MAX));
    let step = (max_mel - min_mel) / (n_points - 1) as f64;
    let mel_f: Vec<f64> = (0..n_points)
        .map(|i| {
            let m = if i == n_points - 1 {
                max_mel
            } else {
                i as f64 * step + min_mel
            };
            mel_to_hz(m)
        })
        .collect();

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

#[cfg(test)]
mod tests {
    use super::*;

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
        let bank = MelBank::new();
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
