//! Onsets: where new sounds start, as an envelope over time (for comparing
//! two grooves and estimating the beat) and as a count of note starts (for
//! choosing stems whose timing can be heard at all).

use super::stft::{magnitude, Stft};

/// Frames per second of the onset envelope: 10 ms at 16 kHz.
pub const FRAME: usize = 160;
const N_FFT: usize = 1024;
const COMPRESSION: f32 = 100.0;
/// Beat periods considered, in seconds (200 down to 50 BPM).
const BEAT_MIN_S: f32 = 0.3;
/// The longest beat [`beat_period`] returns.
pub const BEAT_MAX_S: f32 = 1.2;
/// Prior on the beat: log-normal around 120 BPM, one octave wide (as beat
/// trackers use, to prefer the tapped beat over its halves and doubles).
const BEAT_PRIOR_S: f32 = 0.5;

/// Onset strength per 10 ms frame: the spectral flux, i.e. the sum over
/// bins of the increase of log-compressed magnitude since the previous frame.
pub struct OnsetAnalyzer {
    stft: Stft,
}

impl Default for OnsetAnalyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl OnsetAnalyzer {
    pub fn new() -> Self {
        Self {
            stft: Stft::new(N_FFT, FRAME),
        }
    }

    /// The onset envelope of 16 kHz mono `signal`: one value per frame
    /// (`1 + len / 160`), the first zero.
    pub fn envelope(&mut self, signal: &[f32]) -> Vec<f32> {
        let spec = self.stft.forward(signal);
        let mut previous: Vec<f32> = vec![0.0; spec.n_bins];
        let mut out = Vec::with_capacity(spec.frames);
        for t in 0..spec.frames {
            let mut flux = 0.0;
            for (p, z) in previous.iter_mut().zip(spec.frame(t)) {
                let level = (1.0 + COMPRESSION * magnitude(*z)).ln();
                if t > 0 {
                    flux += (level - *p).max(0.0);
                }
                *p = level;
            }
            out.push(flux);
        }
        out
    }
}

/// Pearson correlation of two envelopes over their common length: 1 when
/// they rise and fall together, 0 when unrelated (or either is constant).
pub fn correlation(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 0.0;
    }
    let (a, b) = (&a[..n], &b[..n]);
    let mean = |x: &[f32]| x.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
    let (ma, mb) = (mean(a), mean(b));
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (f64::from(x) - ma, f64::from(y) - mb);
        ab += dx * dy;
        aa += dx * dx;
        bb += dy * dy;
    }
    if aa > 0.0 && bb > 0.0 {
        (ab / (aa * bb).sqrt()) as f32
    } else {
        0.0
    }
}

/// The beat period of an onset envelope, in seconds: the lag between 0.3 and
/// 1.2 s where the envelope's autocorrelation, weighted by a prior around
/// 0.5 s (120 BPM), is highest. `None` when the envelope is flat or shorter
/// than two beats.
pub fn beat_period(envelope: &[f32]) -> Option<f32> {
    let fps = crate::contract::SAMPLE_RATE as f32 / FRAME as f32;
    let min_lag = (BEAT_MIN_S * fps).round() as usize;
    let max_lag = (BEAT_MAX_S * fps).round() as usize;
    if envelope.len() < 2 * max_lag {
        return None;
    }
    let mean = envelope.iter().sum::<f32>() / envelope.len() as f32;
    let centred: Vec<f32> = envelope.iter().map(|v| v - mean).collect();
    let energy: f32 = centred.iter().map(|v| v * v).sum();
    if energy <= 0.0 {
        return None;
    }
    let weighted = |lag: usize| {
        let r: f32 = centred[..centred.len() - lag]
            .iter()
            .zip(&centred[lag..])
            .map(|(x, y)| x * y)
            .sum::<f32>()
            / energy;
        let octaves = (lag as f32 / fps / BEAT_PRIOR_S).log2();
        r * (-0.5 * octaves * octaves).exp()
    };
    let scores: Vec<f32> = (min_lag..=max_lag).map(weighted).collect();
    let best = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b]))?;
    if scores[best] <= 0.0 {
        return None;
    }
    // Parabolic refinement between the neighbouring lags.
    let offset = if best > 0 && best + 1 < scores.len() {
        let (a, b, c) = (scores[best - 1], scores[best], scores[best + 1]);
        let denominator = a - 2.0 * b + c;
        if denominator < 0.0 {
            0.5 * (a - c) / denominator
        } else {
            0.0
        }
    } else {
        0.0
    };
    Some(((min_lag + best) as f32 + offset) / fps)
}

/// Note starts in 16 kHz mono `signal`, as 10 ms frame indices, from the
/// level alone (no FFT: cheap enough to run over whole stems): a frame at
/// least [`RISE_DB`] louder than the quietest of the 50 ms before it, above
/// [`FLOOR_DBFS`], and at least 50 ms after the previous start. Repeated and
/// plucked notes count; a legato line without level changes does not, which
/// is what the timing tests want (its shift would be hard to hear).
pub fn note_starts(signal: &[f32]) -> Vec<usize> {
    let levels: Vec<f32> = signal.chunks(FRAME).map(level_dbfs).collect();
    let mut starts = Vec::new();
    let mut last: Option<usize> = None;
    for t in 1..levels.len() {
        let before = levels[t.saturating_sub(LOOKBACK)..t]
            .iter()
            .cloned()
            .fold(f32::INFINITY, f32::min);
        let rises = levels[t] >= FLOOR_DBFS && levels[t] - before >= RISE_DB;
        if rises && last.is_none_or(|l| t - l >= LOOKBACK) {
            starts.push(t);
            last = Some(t);
        }
    }
    starts
}

/// Level rise that makes a note start, in dB.
pub const RISE_DB: f32 = 6.0;
/// Frames below this level never start a note.
pub const FLOOR_DBFS: f32 = -50.0;
/// 50 ms, in frames.
const LOOKBACK: usize = 5;

fn level_dbfs(frame: &[f32]) -> f32 {
    let power = frame
        .iter()
        .filter(|s| s.is_finite())
        .map(|&s| f64::from(s) * f64::from(s))
        .sum::<f64>()
        / frame.len().max(1) as f64;
    (10.0 * (power + 1e-12).log10()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::SAMPLE_RATE;

    /// Decaying noise bursts every `period` seconds, starting at `offset`.
    fn clicks(period: f32, offset: f32, len: usize) -> Vec<f32> {
        let mut state = 7u32;
        let mut x = vec![0.0f32; len];
        let mut t = offset;
        while ((t * SAMPLE_RATE as f32) as usize) < len {
            let start = (t * SAMPLE_RATE as f32) as usize;
            for (i, s) in x[start..].iter_mut().take(1_600).enumerate() {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                *s += noise * (-(i as f32) / 300.0).exp();
            }
            t += period;
        }
        x
    }

    #[test]
    fn the_beat_of_a_click_track() {
        let mut analyzer = OnsetAnalyzer::new();
        for bpm in [72.0f32, 100.0, 128.0, 150.0] {
            let period = 60.0 / bpm;
            let env = analyzer.envelope(&clicks(period, 0.1, 80_000));
            let found = beat_period(&env).expect("a beat");
            assert!(
                (found - period).abs() < 0.012,
                "{bpm} BPM: {found} s, expected {period}"
            );
        }
        assert_eq!(beat_period(&analyzer.envelope(&[0.0; 80_000])), None);
    }

    #[test]
    fn a_groove_correlates_with_itself_not_with_its_shift() {
        let mut analyzer = OnsetAnalyzer::new();
        let a = analyzer.envelope(&clicks(0.5, 0.1, 80_000));
        let same = analyzer.envelope(&clicks(0.5, 0.1, 80_000));
        let shifted = analyzer.envelope(&clicks(0.5, 0.35, 80_000));
        assert!(correlation(&a, &same) > 0.99);
        assert!(correlation(&a, &shifted) < 0.2, "{}", correlation(&a, &shifted));
        assert_eq!(correlation(&a, &[1.0; 500]), 0.0);
    }

    #[test]
    fn note_starts_of_clicks_and_of_a_steady_tone() {
        let starts = note_starts(&clicks(0.25, 0.05, 32_000));
        assert_eq!(starts.len(), 8, "{starts:?}");
        // each within a frame of the click (5 + 25 k frames)
        for (i, &s) in starts.iter().enumerate() {
            assert!(s.abs_diff(5 + 25 * i) <= 1, "{starts:?}");
        }
        let mut tone = vec![0.0f32; 1_600];
        tone.extend((0..32_000).map(|i| 0.3 * (i as f32 * 0.1).sin()));
        assert_eq!(note_starts(&tone).len(), 1, "only the start of the tone");
    }
}
