//! Exact sliding median of length `HPSS_KERNEL` (31), as
//! `scipy.ndimage.median_filter(..., mode='reflect')` computes it along one axis.
//!
//! The HPSS needs two of these over the 513 x 501 magnitude matrix (along time
//! and along frequency); they dominate the cost of the features, so this is
//! the one place written for speed:
//!
//! - Many independent sequences are filtered at once, one per SIMD lane: the
//!   caller lays the matrix out so the sequences are its *columns* and each
//!   step reads one contiguous row segment.
//! - Each lane keeps its window as a sorted array. Moving the window removes
//!   the oldest value and inserts the newest with a data-independent,
//!   branch-free pass over the 31 slots (a compare, a blend, a max and a min
//!   per slot), so all lanes move in lock-step whatever their data. The median
//!   is slot 15 of the sorted array; nothing is approximated.
//! - One kernel template ([`sliding_median_kernel!`]) is instantiated per
//!   instruction set with explicit intrinsics: AVX-512 (16 lanes) and AVX2
//!   (8 lanes) behind runtime CPU detection, SSE2 (4 lanes, every x86-64) and
//!   NEON (4 lanes, every aarch64). Explicit, because LLVM does not vectorise
//!   the per-lane selects of plain Rust here: it turns them into branches and
//!   runs ten times slower. Other CPUs get the plain-Rust version of the same
//!   algorithm ([`slide`]). All of them are checked against a sort-based median.
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
    assert!(cols.is_multiple_of(LANE_ALIGN) && cols <= stride && rows > HALF);
    assert!(input.len() >= rows * stride && out.len() >= rows * stride);

    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            return unsafe { x86::median_avx512(input, rows, cols, stride, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe { x86::median_avx2(input, rows, cols, stride, out) };
        }
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { x86::median_sse2(input, rows, cols, stride, out) }
    }
    #[cfg(target_arch = "aarch64")]
    {
        // SAFETY: NEON is part of the aarch64 baseline.
        unsafe { neon::median_neon(input, rows, cols, stride, out) }
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    median_columns_lanes::<4>(input, rows, cols, stride, out)
}

/// The kernel for one instruction set. `$v` is its f32 vector type with
/// `$lanes` lanes; the operations are `unsafe fn`s compiled for the same
/// target features:
/// `$splat(x)`, `$load(ptr)`, `$store(ptr, v)`, `$min(a, b)`, `$max(a, b)` and
/// `$below_or_next(a, old, next)`, i.e. per lane `a < old ? a : next`.
/// The algorithm is [`slide`]'s, one vector per sorted slot.
macro_rules! sliding_median_kernel {
    (
        $(#[$attr:meta])*
        fn $name:ident: $v:ty, $lanes:expr,
        $splat:path, $load:path, $store:path, $below_or_next:path, $min:path, $max:path
    ) => {
        $(#[$attr])*
        pub(super) unsafe fn $name(input: &[f32], rows: usize, cols: usize, stride: usize, out: &mut [f32]) {
            const L: usize = $lanes;
            debug_assert!(cols.is_multiple_of(L));
            let h = HALF as isize;
            // SAFETY (all blocks below): the vector operations were compiled for
            // this function's target features; loads and stores go through
            // bounds-checked slices of exactly L floats (unaligned access is fine).
            let (inf, neg_inf) = unsafe { ($splat(f32::INFINITY), $splat(f32::NEG_INFINITY)) };
            for c0 in (0..cols).step_by(L) {
                // K sorted slots plus a +inf sentinel slot the removal reads.
                let mut s: [$v; K + 1] = [inf; K + 1];
                // Window position j enters; j - K leaves (+inf placeholders
                // leave while the first window fills). Output i = j - HALF is
                // ready once the window is full.
                for j in -h..rows as isize + h {
                    let new = unsafe { $load(input[reflect(j, rows) * stride + c0..][..L].as_ptr()) };
                    let old = if j - K as isize >= -h {
                        unsafe { $load(input[reflect(j - K as isize, rows) * stride + c0..][..L].as_ptr()) }
                    } else {
                        inf
                    };
                    let mut prev = neg_inf;
                    for k in 0..K {
                        unsafe {
                            let b = $below_or_next(s[k], old, s[k + 1]);
                            s[k] = $min(b, $max(prev, new));
                            prev = b;
                        }
                    }
                    if j >= h {
                        let i = (j - h) as usize;
                        unsafe { $store(out[i * stride + c0..][..L].as_mut_ptr(), s[HALF]) };
                    }
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{reflect, HALF, K};
    use std::arch::x86_64::*;

    sliding_median_kernel! {
        #[target_feature(enable = "avx512f")]
        fn median_avx512: __m512, 16, splat512, load512, store512, below_or_next512, min512, max512
    }
    sliding_median_kernel! {
        #[target_feature(enable = "avx2")]
        fn median_avx2: __m256, 8, splat256, load256, store256, below_or_next256, min256, max256
    }
    sliding_median_kernel! {
        #[target_feature(enable = "sse2")]
        fn median_sse2: __m128, 4, splat128, load128, store128, below_or_next128, min128, max128
    }

    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn splat512(x: f32) -> __m512 {
        _mm512_set1_ps(x)
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn load512(p: *const f32) -> __m512 {
        _mm512_loadu_ps(p)
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn store512(p: *mut f32, v: __m512) {
        _mm512_storeu_ps(p, v)
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn below_or_next512(a: __m512, old: __m512, next: __m512) -> __m512 {
        _mm512_mask_blend_ps(_mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, old), next, a)
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn min512(a: __m512, b: __m512) -> __m512 {
        _mm512_min_ps(a, b)
    }
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn max512(a: __m512, b: __m512) -> __m512 {
        _mm512_max_ps(a, b)
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn splat256(x: f32) -> __m256 {
        _mm256_set1_ps(x)
    }
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn load256(p: *const f32) -> __m256 {
        _mm256_loadu_ps(p)
    }
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn store256(p: *mut f32, v: __m256) {
        _mm256_storeu_ps(p, v)
    }
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn below_or_next256(a: __m256, old: __m256, next: __m256) -> __m256 {
        _mm256_blendv_ps(next, a, _mm256_cmp_ps::<_CMP_LT_OQ>(a, old))
    }
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn min256(a: __m256, b: __m256) -> __m256 {
        _mm256_min_ps(a, b)
    }
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn max256(a: __m256, b: __m256) -> __m256 {
        _mm256_max_ps(a, b)
    }

    #[target_feature(enable = "sse2")]
    #[inline]
    unsafe fn splat128(x: f32) -> __m128 {
        _mm_set1_ps(x)
    }
    #[target_feature(enable = "sse2")]
    #[inline]
    unsafe fn load128(p: *const f32) -> __m128 {
        _mm_loadu_ps(p)
    }
    #[target_feature(enable = "sse2")]
    #[inline]
    unsafe fn store128(p: *mut f32, v: __m128) {
        _mm_storeu_ps(p, v)
    }
    #[target_feature(enable = "sse2")]
    #[inline]
    unsafe fn below_or_next128(a: __m128, old: __m128, next: __m128) -> __m128 {
        // no blend instruction before SSE4.1: and/andnot/or
        let below = _mm_cmplt_ps(a, old);
        _mm_or_ps(_mm_and_ps(below, a), _mm_andnot_ps(below, next))
    }
    #[target_feature(enable = "sse2")]
    #[inline]
    unsafe fn min128(a: __m128, b: __m128) -> __m128 {
        _mm_min_ps(a, b)
    }
    #[target_feature(enable = "sse2")]
    #[inline]
    unsafe fn max128(a: __m128, b: __m128) -> __m128 {
        _mm_max_ps(a, b)
    }
}

#[cfg(target_arch = "aarch64")]
mod neon {
    use super::{reflect, HALF, K};
    use std::arch::aarch64::*;

    sliding_median_kernel! {
        #[target_feature(enable = "neon")]
        fn median_neon: float32x4_t, 4, splat, load, store, below_or_next, min, max
    }

    #[target_feature(enable = "neon")]
    #[inline]
    unsafe fn splat(x: f32) -> float32x4_t {
        vdupq_n_f32(x)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    unsafe fn load(p: *const f32) -> float32x4_t {
        vld1q_f32(p)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    unsafe fn store(p: *mut f32, v: float32x4_t) {
        vst1q_f32(p, v)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    unsafe fn below_or_next(a: float32x4_t, old: float32x4_t, next: float32x4_t) -> float32x4_t {
        vbslq_f32(vcltq_f32(a, old), a, next)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    unsafe fn min(a: float32x4_t, b: float32x4_t) -> float32x4_t {
        vminq_f32(a, b)
    }
    #[target_feature(enable = "neon")]
    #[inline]
    unsafe fn max(a: float32x4_t, b: float32x4_t) -> float32x4_t {
        vmaxq_f32(a, b)
    }
}

/// The plain-Rust kernel for `L` lanes: the reference for the SIMD ones and
/// the fallback for CPUs without one.
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), allow(dead_code))]
fn median_columns_lanes<const L: usize>(input: &[f32], rows: usize, cols: usize, stride: usize, out: &mut [f32]) {
    debug_assert!(cols.is_multiple_of(L));
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
/// The SIMD kernels use the same min/max semantics (`a < b ? a : b`), which
/// differ from `f32::min/max` only for NaN; inputs are never NaN.
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
                    assert_eq!(
                        out[i * stride + c],
                        expected[i * stride + c],
                        "rows {rows} row {i} col {c}"
                    );
                }
            }
        }
    }

    #[test]
    fn dispatched_kernel_is_exact() {
        check(median_columns);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn every_x86_kernel_is_exact() {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F is available (checked).
            check(|i, r, c, s, o| unsafe { x86::median_avx512(i, r, c, s, o) });
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is available (checked).
            check(|i, r, c, s, o| unsafe { x86::median_avx2(i, r, c, s, o) });
        }
        // SAFETY: SSE2 is part of x86-64.
        check(|i, r, c, s, o| unsafe { x86::median_sse2(i, r, c, s, o) });
    }

    #[test]
    #[cfg(target_arch = "aarch64")]
    fn neon_kernel_is_exact() {
        // SAFETY: NEON is part of aarch64.
        check(|i, r, c, s, o| unsafe { neon::median_neon(i, r, c, s, o) });
    }

    #[test]
    fn every_portable_lane_width_is_exact() {
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
