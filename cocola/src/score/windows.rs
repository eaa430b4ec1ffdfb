//! Where the 5 s analysis windows of a longer signal lie, and which are silent.

use std::cmp::Ordering;

use crate::contract::{SAMPLE_RATE, WINDOW_SAMPLES};

/// How a pair of long signals is cut into windows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowOptions {
    /// Seconds between the starts of consecutive windows (> 0).
    pub hop_seconds: f32,
    /// A window whose RMS level is below this (dBFS) counts as silent and is
    /// not scored: the encoder's output on near-silence is meaningless.
    pub silence_dbfs: f32,
}

impl Default for WindowOptions {
    fn default() -> Self {
        Self {
            hop_seconds: 5.0,
            silence_dbfs: -60.0,
        }
    }
}

/// The hops a user may ask for, in seconds: shorter ones multiply the work
/// for nothing (consecutive windows would be nearly identical).
pub const HOP_RANGE_SECONDS: std::ops::RangeInclusive<f32> = 0.01..=3600.0;

impl WindowOptions {
    /// Checks a hop asked for by a user (CLI, Python) against
    /// [`HOP_RANGE_SECONDS`].
    pub fn check_hop(hop_seconds: f32) -> Result<(), String> {
        if hop_seconds.is_finite() && HOP_RANGE_SECONDS.contains(&hop_seconds) {
            Ok(())
        } else {
            Err(format!(
                "hop must be between {} and {} seconds, not {hop_seconds}",
                HOP_RANGE_SECONDS.start(),
                HOP_RANGE_SECONDS.end()
            ))
        }
    }

    /// Hop in samples at 16 kHz, at least one sample.
    pub fn hop_samples(&self) -> usize {
        ((self.hop_seconds as f64 * SAMPLE_RATE as f64).round() as usize).max(1)
    }
}

/// Start samples of the windows covering a signal of `len` samples at 16 kHz:
/// 0, hop, 2*hop, ... as long as a whole window fits; a signal shorter than one
/// window gets a single window (zero-padded on the right by the features).
pub fn window_starts(len: usize, hop: usize) -> Vec<usize> {
    if len <= WINDOW_SAMPLES {
        return vec![0];
    }
    (0..=(len - WINDOW_SAMPLES) / hop).map(|k| k * hop).collect()
}

/// The samples of the window starting at `start` (may be shorter than a full
/// window at the end of a signal).
pub fn window_slice(signal: &[f32], start: usize) -> &[f32] {
    let start = start.min(signal.len());
    let end = (start + WINDOW_SAMPLES).min(signal.len());
    &signal[start..end]
}

/// The windows of a signal every `hop` samples, as [`window_starts`] places
/// them (the last ones may be shorter than a full window).
pub fn window_slices(signal: &[f32], hop: usize) -> Vec<&[f32]> {
    window_starts(signal.len(), hop)
        .into_iter()
        .map(|start| window_slice(signal, start))
        .collect()
}

/// RMS level in dBFS over a full window (missing samples count as zeros, as
/// the features zero-pad them). Non-finite samples are ignored.
pub fn window_level_dbfs(window: &[f32]) -> f32 {
    let energy: f64 = window
        .iter()
        .filter(|s| s.is_finite())
        .map(|&s| (s as f64) * (s as f64))
        .sum();
    let mean_square = energy / WINDOW_SAMPLES as f64;
    if mean_square <= 0.0 {
        return f32::NEG_INFINITY;
    }
    (10.0 * mean_square.log10()) as f32
}

/// Whether a window is below the silence threshold (`dbfs`, RMS over a full
/// window). The one silence rule of scoring, evaluation and training.
pub fn is_silent(window: &[f32], dbfs: f32) -> bool {
    level_is_silent(window_level_dbfs(window), dbfs)
}

/// [`is_silent`] for a level already measured with [`window_level_dbfs`].
pub fn level_is_silent(level_dbfs: f32, dbfs: f32) -> bool {
    // "Not at least" so that a NaN level also counts as silent.
    !matches!(level_dbfs.partial_cmp(&dbfs), Some(Ordering::Greater | Ordering::Equal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_cover_whole_windows_only() {
        assert_eq!(window_starts(0, 16_000), vec![0]);
        assert_eq!(window_starts(WINDOW_SAMPLES, 16_000), vec![0]);
        assert_eq!(window_starts(WINDOW_SAMPLES + 15_999, 16_000), vec![0]);
        assert_eq!(window_starts(WINDOW_SAMPLES + 16_000, 16_000), vec![0, 16_000]);
        let starts = window_starts(10 * SAMPLE_RATE as usize, 8_000);
        assert_eq!(starts.len(), 11);
        assert_eq!(*starts.last().unwrap() + WINDOW_SAMPLES, 10 * SAMPLE_RATE as usize);
    }

    #[test]
    fn level_of_full_scale_sine_is_minus_three_db() {
        let sine: Vec<f32> = (0..WINDOW_SAMPLES).map(|i| (i as f32 * 0.1).sin()).collect();
        assert!((window_level_dbfs(&sine) + 3.01).abs() < 0.05);
        assert_eq!(window_level_dbfs(&[0.0; 100]), f32::NEG_INFINITY);
        assert_eq!(window_level_dbfs(&[f32::NAN; 100]), f32::NEG_INFINITY);
        assert!(!is_silent(&sine, -60.0));
        assert!(is_silent(&sine, 0.0));
        assert!(is_silent(&[0.0; 100], -200.0));
    }

    #[test]
    fn hop_range_is_checked() {
        assert!(WindowOptions::check_hop(0.01).is_ok());
        assert!(WindowOptions::check_hop(5.0).is_ok());
        for bad in [0.0, -1.0, 3601.0, f32::NAN, f32::INFINITY] {
            assert!(WindowOptions::check_hop(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slices_follow_the_starts() {
        let signal: Vec<f32> = (0..WINDOW_SAMPLES + 16_000).map(|i| i as f32).collect();
        let slices = window_slices(&signal, 8_000);
        assert_eq!(slices.len(), 3);
        assert_eq!(slices[2][0], 16_000.0);
        assert!(slices.iter().all(|s| s.len() == WINDOW_SAMPLES));
        assert_eq!(window_slices(&signal[..10], 8_000), vec![&signal[..10]]);
    }

    #[test]
    fn hop_is_at_least_one_sample() {
        let o = WindowOptions {
            hop_seconds: 0.0,
            ..Default::default()
        };
        assert_eq!(o.hop_samples(), 1);
        assert_eq!(WindowOptions::default().hop_samples(), 80_000);
    }
}
