//! Exact sliding median of length `HPSS_KERNEL` (31), as
//! `scipy.ndimage.median_filter(..., mode='reflect')` computes it along one axis.
//!
//! The HPSS needs two of these over the 513 x 501 magnitude matrix (along time
//! and along frequency); they dominate the cost of the features, so this is
//! the one place written for speed:
//!
//! - Many independent sequences are filtered at once, one per SIMD lane: the
//!   caller lays the matrix out so the sequences are its *columns* and each
//!   step reads one contiguous row segment (`LANES` values).
//! - Each lane keeps its window as a sorted array. Moving the window removes
//!   the oldest value and inserts the newest with a data-independent,
//!   branch-free pass over the 31 slots (a compare, a blend, a max and a min
//!   per slot), so all lanes move in lock-step whatever their data. The median
//!   is slot 15 of the sorted array; nothing is approximated.
//! - The kernel is generic over the lane count and compiled three times:
//!   AVX-512 (16 lanes) and AVX2 (8 lanes) behind runtime CPU detection, and
//!   a portable build (8 lanes, i.e. two SSE2/NEON vectors) for everything else.
//!
//! scipy's 'reflect' boundary is the half-sample symmetric extension
//! `d c b a | a b c d | d c b a`: index -1 reads 0, index n reads n - 1.

use crate::contract::HPSS_KERNEL;

/// Window length and its half (the window of output `i` is `i - HALF ..= i + HALF`).
const K: usize = HPSS_KERNEL;
const HALF: usize = K / 2;

/// Column counts passed to [`median_columns`] must be multiples of this (the
/// widest lane count), so every lane group is full.
pub(crate) const LANE_ALIGN: usize = 16;

/// scipy.ndimage 'reflect' index for a window position `j` that is at most
/// `HALF` outside `0..n` (needs `n > HALF`).
#[inline(always)]
fn reflect(j: isize, n: usize) -> usize {
    if j < 0 {
        (-j - 1) as usize
    } else if j as usize >= n {
        2 * n - 1 - j as usize
    } else {
        j as usize
    }
}

/// For every column `c < cols` of the row-major matrix `input`
/// (`rows` rows, `stride` floats apart), writes the median of the 31 values
/// `input[reflect(i + d)][c]`, `d` in `-15..=15`, to `out[i * stride + c]`.
///
/// Values must not be NaN (the features never contain any). `cols` must be a
/// multiple of [`LANE_ALIGN`] and `rows` larger than 15.
pub(crate) fn median_columns(input: &[f32], rows: usize, cols: usize, stride: usize, out: &mut [f32]) {
    assert!(cols % LANE_ALIGN == 0 && cols <= stride && rows > HALF);
    assert!(input.len() >= rows * stride && out.len() >= rows * stride);

    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            return unsafe { median_columns_avx512(input, rows, cols, stride, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { median_columns_avx2(input, rows, cols, stride, out) };
        }
    }
    median_columns_lanes::<8>(input, rows, cols, stride, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn median_columns_avx512(input: &[f32], rows: usize, cols: usize, stride: usize, out: &mut [f32]) {
    median_columns_lanes::<16>(input, rows, cols, stride, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn median_columns_avx2(input: &[f32], rows: usize, cols: usize, stride: usize, out: &mut [f32]) {
    median_columns_lanes::<8>(input, rows, cols, stride, out)
}

/// The kernel for `L` lanes; `#[inline(always)]` so that each caller above
/// compiles it with its own target features.
#[inline(always)]
fn median_columns_lanes<const L: usize>(input: &[f32], rows: usize, cols: usize, stride: usize, out: &mut [f32]) {
    debug_assert!(cols % L == 0);
    let load = |row: usize, c0: usize| -> [f32; L] {
        let mut v = [0.0; L];
        v.copy_from_slice(&input[row * stride + c0..row * stride + c0 + L]);
        v
    };
    for c0 in (0..cols).step_by(L) {
        // K sorted slots per lane plus a +inf sentinel slot the removal reads.
        let mut sorted = [[f32::INFINITY; L]; K + 1];
        // Fill the first window by replacing the +inf placeholders one by one.
        for j in -(HALF as isize)..=HALF as isize {
            slide(&mut sorted, [f32::INFINITY; L], load(reflect(j, rows), c0));
        }
        out[c0..c0 + L].copy_from_slice(&sorted[HALF]);
        for i in 1..rows {
            let old = load(reflect(i as isize - 1 - HALF as isize, rows), c0);
            let new = load(reflect((i + HALF) as isize, rows), c0);
            slide(&mut sorted, old, new);
            out[i * stride + c0..i * stride + c0 + L].copy_from_slice(&sorted[HALF]);
        }
    }
}

/// Removes `old` (which must be in the window, or +inf while filling) from
/// every lane's sorted window and inserts `new`, without branches.
///
/// With `s` the sorted window and `s[K] = +inf`:
/// - after removing `old`, slot `k` holds `b[k] = s[k] < old ? s[k] : s[k + 1]`
///   (everything from the first copy of `old` on moves down one slot; with
///   ties, exactly one copy goes);
/// - after inserting `new`, slot `k` holds `min(b[k], max(b[k - 1], new))`
///   with `b[-1] = -inf`: values below `new` stay, `new` lands in the first
///   slot whose old value is not below it, and the rest move up one slot.
///
/// `a < b ? a : b` and `a > b ? a : b` are written out (not `f32::min/max`,
/// whose NaN rules cost extra instructions) so they compile to plain vector
/// min/max; inputs are never NaN.
#[inline(always)]
fn slide<const L: usize>(s: &mut [[f32; L]; K + 1], old: [f32; L], new: [f32; L]) {
    let mut prev = [f32::NEG_INFINITY; L];
    for k in 0..K {
        let mut b = [0.0f32; L];
        let mut c = [0.0f32; L];
        for l in 0..L {
            b[l] = if s[k][l] < old[l] { s[k][l] } else { s[k + 1][l] };
            let hi = if prev[l] > new[l] { prev[l] } else { new[l] };
            c[l] = if b[l] < hi { b[l] } else { hi };
        }
        s[k] = c;
        prev = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scipy's definition, directly: sort the reflected window, take the middle.
    fn brute_force(input: &[f32], rows: usize, cols: usize, stride: usize) -> Vec<f32> {
        let mut out = vec![0.0; rows * stride];
        for c in 0..cols {
            for i in 0..rows {
                let mut w: Vec<f32> = (-(HALF as isize)..=HALF as isize)
                    .map(|d| input[reflect(i as isize + d, rows) * stride + c])
                    .collect();
                w.sort_by(f32::total_cmp);
                out[i * stride + c] = w[HALF];
            }
        }
        out
    }

    fn test_matrix(rows: usize, stride: usize, seed: u32, levels: u32) -> Vec<f32> {
        let mut state = seed;
        (0..rows * stride)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                // few distinct levels: many ties; zeros included
                ((state >> 8) % levels) as f32 * 0.25
            })
            .collect()
    }

    fn check<F: Fn(&[f32], usize, usize, usize, &mut [f32])>(f: F) {
        for (rows, cols, stride, levels) in [(501, 32, 48, 1000), (513, 48, 48, 7), (16, 16, 16, 3), (40, 16, 17, 2)] {
            let input = test_matrix(rows, stride, rows as u32 * 31 + levels, levels);
            let expected = brute_force(&input, rows, cols, stride);
            let mut out = vec![f32::NAN; rows * stride];
            f(&input, rows, cols, stride, &mut out);
            for i in 0..rows {
                for c in 0..cols {
                    assert_eq!(out[i * stride + c], expected[i * stride + c], "rows {rows} row {i} col {c}");
                }
            }
        }
    }

    #[test]
    fn dispatched_kernel_is_exact() {
        check(median_columns);
    }

    #[test]
    fn every_lane_width_is_exact() {
        check(median_columns_lanes::<1>);
        check(median_columns_lanes::<4>);
        check(median_columns_lanes::<8>);
        check(median_columns_lanes::<16>);
    }

    #[test]
    fn reflect_is_half_sample_symmetric() {
        let n = 20;
        let got: Vec<usize> = (-3..3).map(|j| reflect(j, n)).collect();
        assert_eq!(got, [2, 1, 0, 0, 1, 2]);
        let got: Vec<usize> = (17..23).map(|j| reflect(j, n)).collect();
        assert_eq!(got, [17, 18, 19, 19, 18, 17]);
    }

    #[test]
    fn extreme_values_and_infinities_are_ordered() {
        let rows = 64;
        let mut input = vec![0.0f32; rows * 16];
        for (i, v) in input.iter_mut().enumerate() {
            *v = match i % 5 {
                0 => f32::MAX,
                1 => f32::MIN_POSITIVE / 8.0, // subnormal
                2 => 0.0,
                3 => 1.0,
                _ => 1e-30,
            };
        }
        let expected = brute_force(&input, rows, 16, 16);
        let mut out = vec![0.0; rows * 16];
        median_columns(&input, rows, 16, 16, &mut out);
        assert_eq!(out, expected);
    }
}
