//! `librosa.power_to_db(M, ref=np.max, amin=1e-10, top_db=80)` for one
//! channel, with librosa 0.10.1 / numpy 1.26's precision per step:
//!
//! - `10 * log10(maximum(amin, M))` runs on the float32 array in float32;
//! - the reference `10 * log10(maximum(amin, M.max()))` is a scalar
//!   expression, which numpy 1.x evaluates in float64, then subtracts from
//!   the float32 array as a float32;
//! - the floor `log_spec.max() - top_db` is again a float64 scalar, rounded
//!   to float32 by `np.maximum` with the array.
//!
//! Silence (all-zero power) gives `f32(10 * log10f(f32(1e-10))) - f32(-100)`
//! everywhere: 0 with a correctly rounded `log10f` (Rust's), -7.63e-6 dB with
//! numpy's AVX-512 `log10` (one ulp off), which is what the golden silence
//! fixture holds. Such last-ulp differences of the transcendental functions
//! are the only thing not reproduced here.

use crate::contract::{DB_AMIN, DB_TOP, MEL_DB_AMIN};

/// torchaudio's `AmplitudeToDB()` with its defaults (the mel input kind):
/// `10 * log10(max(power, 1e-10))` in float32, no reference maximum and no
/// `top_db` floor, so the values are absolute (silence: -100 dB). Converts
/// the first `out.len() / rows` columns of each row, like [`power_to_db`].
pub(crate) fn power_to_absolute_db(power: &[f32], rows: usize, stride: usize, out: &mut [f32]) {
    let cols = out.len() / rows;
    debug_assert!(cols <= stride && out.len() == rows * cols && power.len() >= rows * stride);
    for (r, out_row) in out.chunks_exact_mut(cols).enumerate() {
        for (o, &p) in out_row.iter_mut().zip(&power[r * stride..r * stride + cols]) {
            *o = 10.0f32 * p.max(MEL_DB_AMIN).log10();
        }
    }
}

/// Converts the first `out.len() / rows` columns of each of the `rows` rows
/// of `power` (row stride `stride`) to dB, into `out` (row-major, dense).
pub(crate) fn power_to_db(power: &[f32], rows: usize, stride: usize, out: &mut [f32]) {
    let cols = out.len() / rows;
    debug_assert!(cols <= stride && out.len() == rows * cols && power.len() >= rows * stride);
    let row = |r: usize| &power[r * stride..r * stride + cols];

    let peak = (0..rows).flat_map(row).fold(0.0f32, |m, &v| if v > m { v } else { m });
    // DB_AMIN is the contract's f32 1e-10; librosa applies the f64 1e-10 here.
    // The two differ in the 9th digit, far below the f32 rounding of the result.
    let ref_db = (10.0 * f64::from(DB_AMIN).max(f64::from(peak)).log10()) as f32;

    let mut max_db = f32::NEG_INFINITY;
    for r in 0..rows {
        for (o, &p) in out[r * cols..(r + 1) * cols].iter_mut().zip(row(r)) {
            let clamped = if p > DB_AMIN { p } else { DB_AMIN };
            let db = 10.0f32 * clamped.log10() - ref_db;
            max_db = if db > max_db { db } else { max_db };
            *o = db;
        }
    }
    let floor = (f64::from(max_db) - f64::from(DB_TOP)) as f32;
    for o in out.iter_mut() {
        if *o < floor {
            *o = floor;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_gives_librosas_tiny_negative_constant() {
        let power = vec![0.0f32; 2 * 5];
        let mut out = vec![1.0f32; 2 * 4];
        power_to_db(&power, 2, 5, &mut out);
        // librosa 0.10.1 gives 0 or -7.63e-6 (one ulp of log10f at -100 dB,
        // depending on numpy's SIMD build); ours is correctly rounded: 0.
        assert!(out.iter().all(|&v| v == 0.0), "{out:?}");
    }

    #[test]
    fn relative_to_peak_and_floored_80_db_below() {
        let power = [1.0f32, 0.1, 1e-3, 1e-9, 100.0, 0.0];
        let mut out = [0.0f32; 6];
        power_to_db(&power, 1, 6, &mut out);
        let expected = [-20.0, -30.0, -50.0, -80.0, 0.0, -80.0];
        for (g, e) in out.iter().zip(expected) {
            assert!((g - e).abs() < 1e-4, "{out:?}");
        }
        assert_eq!(out[4], 0.0);
        assert_eq!(out[3], -80.0);
    }

    #[test]
    fn absolute_db_has_no_reference_and_no_floor_but_amin() {
        let power = [1.0f32, 0.1, 100.0, 0.0, 1e-12, 7.0];
        let mut out = [0.0f32; 4];
        power_to_absolute_db(&power, 2, 3, &mut out);
        let expected = [0.0, -10.0, -100.0, -100.0];
        for (g, e) in out.iter().zip(expected) {
            assert!((g - e).abs() < 1e-5, "{out:?}");
        }
    }

    #[test]
    fn only_the_requested_columns_count() {
        // the padding column (1e6) must neither set the reference nor be written
        let power = [1.0f32, 0.5, 1e6, 0.25, 1.0, 1e6];
        let mut out = [0.0f32; 4];
        power_to_db(&power, 2, 3, &mut out);
        assert_eq!(out[0], 0.0);
        assert!((out[1] + 3.0103).abs() < 1e-3 && (out[2] + 6.0206).abs() < 1e-3);
    }
}
