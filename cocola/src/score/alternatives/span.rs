//! How much audio a reading of the alternatives reads: the windows, and
//! the moves' reach before and after them.

use super::AlternativeOptions;
use crate::contract::{SAMPLE_RATE, WINDOW_SAMPLES};

/// How far a move can reach, in samples, either way: the largest move at the
/// longest beat measured. A window's stem must be at hand this far before
/// and after it for every move to read real audio.
pub fn move_reach_samples(options: &AlternativeOptions) -> usize {
    let eighth = f64::from(crate::dsp::onset::BEAT_MAX_S) / 8.0;
    (f64::from(options.moves_per_side) * eighth * f64::from(SAMPLE_RATE)).ceil() as usize
}

/// How much of each side a reading of `windows` consecutive windows, end
/// to end, reads: the windows and the moves' reach before the first and
/// after the last. The plugin measures its checks' beat on this much of
/// the condition, so that the windows it averages share one beat.
pub fn windows_span_samples(windows: usize, options: &AlternativeOptions) -> usize {
    windows * WINDOW_SAMPLES + 2 * move_reach_samples(options)
}

/// How much of a history `heard` samples long a reading of up to `windows`
/// recent windows reads: all of it, up to [`windows_span_samples`] of them,
/// and at least one window's span (zeros before the start, as moves read
/// before the start of a file).
pub fn recent_excerpt_len(heard: u64, windows: usize, options: &AlternativeOptions) -> usize {
    let most = windows_span_samples(windows, options) as u64;
    (heard.min(most) as usize).max(windows_span_samples(1, options))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_audio_is_read_whole_between_one_window_span_and_all_of_them() {
        let o = AlternativeOptions::default();
        let (one, six) = (windows_span_samples(1, &o), windows_span_samples(6, &o));
        assert_eq!(six - one, 5 * WINDOW_SAMPLES);
        assert_eq!(recent_excerpt_len(0, 6, &o), one);
        assert_eq!(recent_excerpt_len(one as u64 + 7, 6, &o), one + 7);
        assert_eq!(recent_excerpt_len(10 * six as u64, 6, &o), six);
    }
}
