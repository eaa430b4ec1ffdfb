//! Cache-blocked matrix transpose. The time-direction median runs on the
//! frame-major copy of the spectrogram; the masks and the mel product run
//! bin-major, so its result is turned around once.

/// Tile edge: 16 x 16 f32 tiles keep both the rows read and the rows written
/// within a few cache lines each.
const TILE: usize = 16;

/// `dst[c * dst_stride + r] = src[r * src_stride + c]` for `r < rows`, `c < cols`.
pub(crate) fn transpose(src: &[f32], src_stride: usize, rows: usize, cols: usize, dst: &mut [f32], dst_stride: usize) {
    debug_assert!(cols <= src_stride && rows <= dst_stride);
    for r0 in (0..rows).step_by(TILE) {
        let r1 = (r0 + TILE).min(rows);
        for c0 in (0..cols).step_by(TILE) {
            let c1 = (c0 + TILE).min(cols);
            for c in c0..c1 {
                let out = &mut dst[c * dst_stride + r0..c * dst_stride + r1];
                for (o, r) in out.iter_mut().zip(r0..r1) {
                    *o = src[r * src_stride + c];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_ragged_sizes() {
        let (rows, cols, ss, ds) = (37, 21, 24, 40);
        let src: Vec<f32> = (0..rows * ss).map(|i| i as f32).collect();
        let mut dst = vec![-1.0; cols * ds];
        transpose(&src, ss, rows, cols, &mut dst, ds);
        for r in 0..rows {
            for c in 0..cols {
                assert_eq!(dst[c * ds + r], src[r * ss + c]);
            }
            // padding past `rows` is untouched
        }
        assert!(dst[ds - 1] == -1.0 && dst[rows] == -1.0);
    }
}
