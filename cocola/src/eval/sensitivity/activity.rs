//! From a decoded track to what the sensitivity plan needs to know of it:
//! each stem's level and note starts in every 5 s window of the block grid.

use super::plan::{StemActivity, TrackActivity};
use crate::dsp::onset::{self, note_starts};
use crate::eval::protocol::{window_levels_dbfs, BLOCK_SAMPLES};
use crate::eval::tracks::TrackAudio;
use crate::files::is_unpitched_stem;

/// 10 ms onset frames per block and per 5 s window.
const FRAMES_PER_BLOCK: usize = BLOCK_SAMPLES / onset::FRAME;
const FRAMES_PER_WINDOW: usize = crate::contract::WINDOW_SAMPLES / onset::FRAME;

/// The activity of every stem of `audio`; `stem_names` as
/// [`stem_name`](crate::files::stem_name) gives them (for the pitched rule).
pub fn track_activity(audio: &TrackAudio, stem_names: &[String]) -> TrackActivity {
    let stems = audio
        .stems
        .iter()
        .zip(stem_names)
        .map(|(samples, name)| stem_activity(samples, !is_unpitched_stem(name)))
        .collect();
    TrackActivity { stems }
}

fn stem_activity(samples: &[f32], pitched: bool) -> StemActivity {
    let window_dbfs = window_levels_dbfs(samples);
    let starts = note_starts(samples);
    let window_note_starts = (0..window_dbfs.len())
        .map(|b| {
            let first = b * FRAMES_PER_BLOCK;
            let lo = starts.partition_point(|&f| f < first);
            let hi = starts.partition_point(|&f| f < first + FRAMES_PER_WINDOW);
            (hi - lo) as u32
        })
        .collect();
    StemActivity {
        pitched,
        window_dbfs,
        window_note_starts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::SAMPLE_RATE;

    #[test]
    fn levels_and_note_starts_per_window() {
        // 12 s: clicks every 0.5 s from 0.05 s to 5.55 s, then silence.
        let len = 12 * SAMPLE_RATE as usize;
        let mut clicks = vec![0.0f32; len];
        for k in 0..12 {
            let at = k * SAMPLE_RATE as usize / 2 + 800;
            for (i, s) in clicks[at..at + 400].iter_mut().enumerate() {
                *s = 0.5 * (-(i as f32) / 80.0).exp() * if i % 2 == 0 { 1.0 } else { -1.0 };
            }
        }
        let (audio, _) = TrackAudio::from_stems("t", vec![clicks, vec![0.0; len]]);
        let activity = track_activity(&audio, &["Drums".into(), "bass".into()]);
        let drums = &activity.stems[0];
        assert!(!drums.pitched && activity.stems[1].pitched);
        assert_eq!(drums.window_dbfs.len(), 71, "starts every 0.1 s over 12 - 5 s");
        assert_eq!(drums.window_note_starts[0], 10, "{:?}", &drums.window_note_starts[..5]);
        assert_eq!(drums.window_note_starts[10], 10, "1.0 s - 6.0 s");
        assert_eq!(drums.window_note_starts[60], 0, "6 s - 11 s is silent");
        assert!(drums.window_dbfs[0] > -40.0 && drums.window_dbfs[70] == f32::NEG_INFINITY);
        assert!(activity.stems[1].window_dbfs.iter().all(|&l| l == f32::NEG_INFINITY));
    }
}
