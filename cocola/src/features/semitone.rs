//! The pitch input's harmonic bands: one triangular band per equal-tempered
//! semitone (A4 = 440 Hz), 64 of them from C2 (65.4 Hz) to D#7 (2.5 kHz),
//! over the bins of the 2048-point STFT.
//!
//! Why semitones: the contract's mel bands are ~45 Hz wide below 1 kHz, so
//! a bass line and the same line a few semitones up land in the same bands,
//! and a 25 ms window smears each partial over ~80 Hz anyway. One band per
//! note keeps which notes sound; the 128 ms window makes the partials narrow
//! enough to fall in their own band from about 100 Hz up (below, the
//! window's main lobe spans neighbouring notes).
//!
//! Band `i` is centred on note `C2 + i` and rises from half a semitone
//! below it to fall half a semitone above ([`PITCH_BAND_HALF_WIDTH_SEMITONES`]):
//! neighbouring triangles touch without overlapping, so a partial on a note
//! counts for that note only. Mel-style triangles that reach the
//! neighbouring notes (`cocola-pitch-features-1`) give each note's energy
//! to both neighbours too, which blurs the key: measured on exact
//! transposed twins of validation stems (docs/EVALUATION.md, "How much key
//! each front end keeps"), a pitch-class profile read from this channel
//! (band dB averaged over the window, folded, centred) tells a stem from
//! its transposition in 85.9 % of windows with these bands, 75.1 % with
//! the wide ones. Each band has the Slaney area normalisation
//! `2 / (hi - lo)` so that bands of different widths compare. Where a band
//! is narrower than the bins around it and no bin falls inside it (the
//! lowest notes), it takes the bin nearest its centre, so no band is ever
//! empty.

use super::mel::DenseBank;
use crate::contract::{
    CHANNEL_LEN, N_FRAMES, N_MELS, PITCH_BAND_HALF_WIDTH_SEMITONES, PITCH_LOWEST_MIDI_NOTE, PITCH_N_FFT, SAMPLE_RATE,
};

/// The frequency (Hz) of MIDI note `note` in equal temperament, A4 (note
/// 69) = 440 Hz; fractional notes are allowed.
pub fn midi_note_hz(note: f64) -> f64 {
    440.0 * 2f64.powf((note - 69.0) / 12.0)
}

/// The centre frequency (Hz) of each of the pitch input's 64 harmonic
/// bands, lowest (C2) first.
pub fn semitone_band_centres_hz() -> Vec<f64> {
    (0..N_MELS)
        .map(|i| midi_note_hz(f64::from(PITCH_LOWEST_MIDI_NOTE) + i as f64))
        .collect()
}

/// The dense semitone filterbank, `[64][PITCH_N_FFT / 2 + 1]`.
pub(crate) fn semitone_weights() -> DenseBank {
    let bins = PITCH_N_FFT / 2 + 1;
    let bin_hz = f64::from(SAMPLE_RATE) / PITCH_N_FFT as f64;
    let lowest = f64::from(PITCH_LOWEST_MIDI_NOTE);
    (0..N_MELS)
        .map(|i| {
            let note = lowest + i as f64;
            let half = PITCH_BAND_HALF_WIDTH_SEMITONES;
            let (lo, mid, hi) = (midi_note_hz(note - half), midi_note_hz(note), midi_note_hz(note + half));
            let norm = 2.0 / (hi - lo);
            let mut band: Vec<f64> = (0..bins)
                .map(|k| {
                    let f = k as f64 * bin_hz;
                    ((f - lo) / (mid - lo)).min((hi - f) / (hi - mid)).max(0.0)
                })
                .collect();
            if band.iter().all(|&w| w == 0.0) {
                band[(mid / bin_hz).round() as usize] = 1.0;
            }
            band.into_iter().map(|w| (w * norm) as f32).collect()
        })
        .collect()
}

/// Transposes pitch-input features by whole semitones in place: the
/// harmonic channel (the first of the two, one row of frames per semitone
/// band) moves `semitones` bands up (down when negative), as the same notes
/// played that much higher would. Bands moved in from beyond C2..D#7 read
/// the channel's quietest value (nothing sounding there); the percussive
/// channel is left as it is.
pub fn transpose_semitone_bands(features: &mut [f32], semitones: i32) {
    let harmonic = &mut features[..CHANNEL_LEN];
    let quietest = harmonic.iter().copied().fold(f32::INFINITY, f32::min);
    let shift = semitones.unsigned_abs() as usize;
    if shift >= N_MELS {
        harmonic.fill(quietest);
        return;
    }
    let moved = (N_MELS - shift) * N_FRAMES;
    if semitones > 0 {
        harmonic.copy_within(..moved, shift * N_FRAMES);
        harmonic[..shift * N_FRAMES].fill(quietest);
    } else if semitones < 0 {
        harmonic.copy_within(shift * N_FRAMES.., 0);
        harmonic[moved..].fill(quietest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_the_notes_c2_to_d_sharp_7() {
        let c = semitone_band_centres_hz();
        assert_eq!(c.len(), 64);
        assert!((c[0] - 65.406).abs() < 1e-3, "{}", c[0]);
        assert!((c[21] - 220.0).abs() < 1e-9, "A3: {}", c[21]);
        assert!((c[63] - 2489.016).abs() < 1e-2, "{}", c[63]);
        assert!(c
            .windows(2)
            .all(|w| (w[1] / w[0] - 2f64.powf(1.0 / 12.0)).abs() < 1e-12));
    }

    #[test]
    fn every_band_has_a_bin_and_peaks_at_its_note() {
        let w = semitone_weights();
        let bin_hz = f64::from(SAMPLE_RATE) / PITCH_N_FFT as f64;
        for (band, centre) in w.iter().zip(semitone_band_centres_hz()) {
            assert_eq!(band.len(), 1025);
            let peak = band.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
            assert!(band[peak] > 0.0);
            assert!((peak as f64 * bin_hz - centre).abs() <= bin_hz, "{peak} vs {centre}");
            // Nothing below half a semitone under the note or above half a semitone over it.
            let (lo, hi) = (centre * 2f64.powf(-0.5 / 12.0), centre * 2f64.powf(0.5 / 12.0));
            for (k, &v) in band.iter().enumerate() {
                let f = k as f64 * bin_hz;
                assert!(
                    v == 0.0 || (f - lo > -bin_hz && hi - f > -bin_hz),
                    "bin {k} ({f} Hz) in {centre}"
                );
            }
        }
    }

    #[test]
    fn a_note_and_the_note_a_semitone_up_peak_in_neighbouring_bands() {
        // From ~100 Hz up the bins resolve semitones: a bin at a note's
        // frequency weighs most in that note's band.
        let w = semitone_weights();
        let bin_hz = f64::from(SAMPLE_RATE) / PITCH_N_FFT as f64;
        for (i, centre) in semitone_band_centres_hz().into_iter().enumerate().skip(8) {
            let k = (centre / bin_hz).round() as usize;
            let best = (0..64).max_by(|&a, &b| w[a][k].total_cmp(&w[b][k])).unwrap();
            assert!(
                best.abs_diff(i) <= usize::from(centre < 200.0),
                "note {i} ({centre} Hz) -> band {best}"
            );
        }
    }

    #[test]
    fn a_partial_on_a_note_counts_for_that_note_only() {
        // Bins are 7.8 Hz apart, so from ~150 Hz up the bin nearest a note
        // lies well within half a semitone of it: it weighs in the note's
        // band and in no neighbour's (wide bands gave it to both neighbours
        // as well, blurring the key).
        let w = semitone_weights();
        let bin_hz = f64::from(SAMPLE_RATE) / PITCH_N_FFT as f64;
        let centres = semitone_band_centres_hz();
        let mut checked = 0;
        for (i, &centre) in centres.iter().enumerate().filter(|(_, &c)| c >= 150.0) {
            let k = (centre / bin_hz).round() as usize;
            let bands: Vec<usize> = (0..64).filter(|&b| w[b][k] > 0.0).collect();
            assert_eq!(bands, [i], "note {i} ({centre} Hz), bin {k}");
            checked += 1;
        }
        assert!(checked > 30, "{checked}");
    }

    #[test]
    fn transposing_moves_the_harmonic_rows_and_keeps_the_percussive_channel() {
        let band = |features: &[f32], b: usize| features[b * N_FRAMES];
        let original: Vec<f32> = (0..2 * CHANNEL_LEN).map(|i| -((i / N_FRAMES) as f32)).collect();
        let mut up = original.clone();
        transpose_semitone_bands(&mut up, 3);
        let quietest = -((N_MELS - 1) as f32);
        assert_eq!(band(&up, 10), band(&original, 7), "band 7's notes now sound 3 bands up");
        assert_eq!(band(&up, 0), quietest, "nothing below the lowest moved band");
        assert_eq!(up[CHANNEL_LEN..], original[CHANNEL_LEN..]);
        let mut back = up.clone();
        transpose_semitone_bands(&mut back, -3);
        assert_eq!(back[..(N_MELS - 3) * N_FRAMES], original[..(N_MELS - 3) * N_FRAMES]);
        assert!(back[(N_MELS - 3) * N_FRAMES..CHANNEL_LEN]
            .iter()
            .all(|&v| v == quietest));
        let mut unchanged = original.clone();
        transpose_semitone_bands(&mut unchanged, 0);
        assert_eq!(unchanged, original);
    }
}
