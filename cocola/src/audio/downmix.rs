//! Channels -> mono as the plain mean of the channels (librosa `to_mono`).
//!
//! Interleaved and planar input go through the same arithmetic, in the same
//! order (channel 0 + channel 1 + ... then one division by the channel
//! count), so a file decoded here and the same frames pushed through
//! [`downmix_interleaved`] by the plugin give bit-identical mono signals.

/// Mean of the channels of interleaved frames. A trailing partial frame
/// (`interleaved.len()` not a multiple of `channels`) is ignored; zero
/// channels give an empty signal. One channel is returned unchanged.
pub fn downmix_interleaved(interleaved: &[f32], channels: usize) -> Vec<f32> {
    match channels {
        0 => Vec::new(),
        1 => interleaved.to_vec(),
        2 => interleaved.chunks_exact(2).map(|f| (f[0] + f[1]) / 2.0).collect(),
        n => {
            let scale = n as f32;
            interleaved
                .chunks_exact(n)
                .map(|f| {
                    let mut sum = f[0];
                    for &s in &f[1..] {
                        sum += s;
                    }
                    sum / scale
                })
                .collect()
        }
    }
}

/// Mean of the channels of planar audio: one slice per channel, all of
/// equal length (e.g. the rows of a `[channels, samples]` array). One channel
/// is returned unchanged.
pub fn downmix_planar(planes: &[&[f32]]) -> Vec<f32> {
    let mut out = Vec::with_capacity(planes.first().map_or(0, |p| p.len()));
    downmix_planes_into(planes, &mut out, |s| s);
    out
}

/// Appends the mean of `planes` (one slice per channel, all of equal length)
/// to `out`, converting each sample with `convert`. Summing plane by plane
/// into the output keeps every pass a straight sequential loop.
pub(crate) fn downmix_planes_into<S: Copy>(planes: &[&[S]], out: &mut Vec<f32>, convert: impl Fn(S) -> f32) {
    let Some((first, rest)) = planes.split_first() else {
        return;
    };
    let start = out.len();
    out.extend(first.iter().map(|&s| convert(s)));
    if rest.is_empty() {
        return;
    }
    let mixed = &mut out[start..];
    for plane in rest {
        for (acc, &s) in mixed.iter_mut().zip(plane.iter()) {
            *acc += convert(s);
        }
    }
    let scale = planes.len() as f32;
    for acc in mixed.iter_mut() {
        *acc /= scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_mean_of_channels() {
        assert_eq!(downmix_interleaved(&[1.0, 3.0, -2.0, 0.0], 2), vec![2.0, -1.0]);
        assert_eq!(downmix_interleaved(&[1.0, 2.0, 3.0, 6.0, 6.0, 6.0], 3), vec![2.0, 6.0]);
        assert_eq!(downmix_interleaved(&[0.25, -0.5, 1.0], 1), vec![0.25, -0.5, 1.0]);
        assert!(downmix_interleaved(&[1.0, 2.0], 0).is_empty());
        // trailing partial frame ignored
        assert_eq!(downmix_interleaved(&[1.0, 1.0, 5.0], 2), vec![1.0]);
    }

    #[test]
    fn planar_and_interleaved_are_bit_identical() {
        for channels in 1..=8usize {
            let frames = 257;
            let planes: Vec<Vec<f32>> = (0..channels)
                .map(|c| (0..frames).map(|i| ((i * 7 + c * 13) as f32 * 0.37).sin()).collect())
                .collect();
            let mut interleaved = Vec::with_capacity(frames * channels);
            for i in 0..frames {
                for plane in &planes {
                    interleaved.push(plane[i]);
                }
            }
            let refs: Vec<&[f32]> = planes.iter().map(|p| p.as_slice()).collect();
            let mut planar = vec![42.0]; // appends after existing content
            downmix_planes_into(&refs, &mut planar, |s| s);
            assert_eq!(planar[0], 42.0);
            assert_eq!(downmix_planar(&refs), planar[1..]);
            let expected = downmix_interleaved(&interleaved, channels);
            assert_eq!(planar[1..].len(), expected.len());
            for (a, b) in planar[1..].iter().zip(&expected) {
                assert_eq!(a.to_bits(), b.to_bits(), "channels {channels}");
            }
        }
    }
}
