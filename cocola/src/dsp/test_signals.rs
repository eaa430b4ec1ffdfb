//! Test signals and measurements shared by the DSP tests.

use std::f32::consts::PI;

use crate::contract::SAMPLE_RATE;

/// `len` samples of a sine of `freq` Hz and amplitude `amp` at 16 kHz.
pub(crate) fn sine(freq: f32, amp: f32, len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| amp * (2.0 * PI * freq * i as f32 / SAMPLE_RATE as f32).sin())
        .collect()
}

/// The frequency of the strongest partial of `x`, in Hz: the peak of a
/// Hann-windowed, 8x zero-padded DFT, refined by a parabola through the log
/// magnitudes around it (well under a cent for a second of a steady tone).
pub(crate) fn dominant_frequency(x: &[f32]) -> f32 {
    use realfft::RealFftPlanner;
    let n = (x.len() * 8).next_power_of_two();
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
    let mut input = fft.make_input_vec();
    for (i, &s) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / x.len() as f64).cos();
        input[i] = f64::from(s) * w;
    }
    let mut spectrum = fft.make_output_vec();
    fft.process(&mut input, &mut spectrum).expect("sized by the plan");
    let mags: Vec<f64> = spectrum.iter().map(|z| z.norm().max(1e-30).ln()).collect();
    let k = (1..mags.len() - 1)
        .max_by(|&a, &b| mags[a].total_cmp(&mags[b]))
        .expect("non-empty");
    let (a, b, c) = (mags[k - 1], mags[k], mags[k + 1]);
    let offset = 0.5 * (a - c) / (a - 2.0 * b + c);
    ((k as f64 + offset) * f64::from(SAMPLE_RATE) / n as f64) as f32
}

/// The share of `x`'s energy within `tolerance` Hz of the given frequencies
/// (Hann-windowed DFT, so a steady partial's energy stays within ~2 bins).
pub(crate) fn energy_near(x: &[f32], freqs: &[f32], tolerance: f32) -> f32 {
    use realfft::RealFftPlanner;
    let n = x.len();
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
    let mut input: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, &s)| f64::from(s) * (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()))
        .collect();
    let mut spectrum = fft.make_output_vec();
    fft.process(&mut input, &mut spectrum).expect("sized by the plan");
    let bin_hz = SAMPLE_RATE as f32 / n as f32;
    let (mut near, mut total) = (0.0f64, 0.0f64);
    for (k, z) in spectrum.iter().enumerate() {
        let e = z.norm_sqr();
        total += e;
        if freqs.iter().any(|f| (k as f32 * bin_hz - f).abs() <= tolerance) {
            near += e;
        }
    }
    if total > 0.0 {
        (near / total) as f32
    } else {
        0.0
    }
}
