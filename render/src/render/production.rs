//! Light production on a stem: level, a spectral tilt, compression and a
//! reverb send, drawn per stem, so that neither loudness nor "sound" tells
//! which stems were rendered together (in a real mix every stem has its own
//! channel strip).

use rand::Rng;
use serde::Serialize;

use crate::generate::random::{chance, uniform};

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Production {
    /// Gain applied to the stem (dB).
    pub level_db: f32,
    /// Treble minus bass (dB) of a first-order tilt around `TILT_HZ`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tilt_db: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compressor: Option<Compressor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverb: Option<Reverb>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Compressor {
    /// Threshold relative to the stem's loudness while it plays (dB).
    pub threshold_db: f32,
    pub ratio: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Reverb {
    /// Wet level relative to the dry signal.
    pub send: f32,
    /// Seconds to decay by 60 dB.
    pub decay_seconds: f32,
}

const TILT_HZ: f32 = 800.0;

impl Production {
    /// A random channel strip: a level for every stem (within `level_db`
    /// of unity), and each effect with probability `effects`.
    pub fn draw(rng: &mut impl Rng, effects: f64, level_db: (f64, f64)) -> Production {
        Production {
            level_db: uniform(rng, level_db.0, level_db.1) as f32,
            tilt_db: chance(rng, effects).then(|| uniform(rng, -6.0, 6.0) as f32),
            compressor: chance(rng, effects).then(|| Compressor {
                threshold_db: uniform(rng, -2.0, 8.0) as f32,
                ratio: uniform(rng, 2.0, 5.0) as f32,
            }),
            reverb: chance(rng, effects).then(|| Reverb {
                send: uniform(rng, 0.05, 0.35) as f32,
                decay_seconds: uniform(rng, 0.4, 2.2) as f32,
            }),
        }
    }

    /// Applies the strip to `x` in place.
    pub fn apply(&self, x: &mut [f32], sample_rate: u32) {
        let sr = sample_rate as f32;
        if let Some(t) = self.tilt_db {
            tilt(x, t, sr);
        }
        if let Some(c) = self.compressor {
            compress(x, c, sr);
        }
        if let Some(r) = self.reverb {
            let wet = reverb(x, r.decay_seconds, sr);
            for (d, w) in x.iter_mut().zip(wet) {
                *d += r.send * w;
            }
        }
        let g = 10f32.powf(self.level_db / 20.0);
        x.iter_mut().for_each(|v| *v *= g);
    }
}

/// One-pole low-pass coefficient for cutoff `hz`.
fn one_pole(hz: f32, sr: f32) -> f32 {
    1.0 - (-2.0 * std::f32::consts::PI * hz / sr).exp()
}

/// Lows down and highs up by `db / 2` each (or the reverse), crossing at `TILT_HZ`.
fn tilt(x: &mut [f32], db: f32, sr: f32) {
    let a = one_pole(TILT_HZ, sr);
    let (low, high) = (10f32.powf(-db / 40.0), 10f32.powf(db / 40.0));
    let mut lp = 0.0;
    for v in x.iter_mut() {
        lp += a * (*v - lp);
        *v = low * lp + high * (*v - lp);
    }
}

/// Feed-forward RMS compressor (10 ms attack, 150 ms release); the
/// threshold is relative to the RMS of the stem where it sounds.
fn compress(x: &mut [f32], c: Compressor, sr: f32) {
    let active: Vec<f32> = x.iter().copied().filter(|v| v.abs() > 1e-4).collect();
    if active.is_empty() {
        return;
    }
    let rms = (active.iter().map(|v| v * v).sum::<f32>() / active.len() as f32).sqrt();
    let threshold = 20.0 * rms.log10() + c.threshold_db;
    let (att, rel) = ((-1.0 / (0.010 * sr)).exp(), (-1.0 / (0.150 * sr)).exp());
    let mut env = 0.0f32;
    for v in x.iter_mut() {
        let p = *v * *v;
        let coef = if p > env { att } else { rel };
        env = coef * env + (1.0 - coef) * p;
        let level = 10.0 * env.max(1e-12).log10();
        let over = level - threshold;
        if over > 0.0 {
            let reduction = over * (1.0 - 1.0 / c.ratio);
            *v *= 10f32.powf(-reduction / 20.0);
        }
    }
}

/// A small Schroeder reverb: four damped comb filters in parallel, two
/// all-passes in series; returns the wet signal.
fn reverb(x: &[f32], decay_seconds: f32, sr: f32) -> Vec<f32> {
    let combs_ms = [29.7f32, 37.1, 41.1, 43.7];
    let damping = one_pole(4000.0, sr);
    let mut wet = vec![0f32; x.len()];
    for ms in combs_ms {
        let d = (ms / 1000.0 * sr) as usize;
        let feedback = 10f32.powf(-3.0 * ms / 1000.0 / decay_seconds);
        let mut line = vec![0f32; d];
        let mut lp = 0.0;
        for (i, (w, &v)) in wet.iter_mut().zip(x).enumerate() {
            let out = line[i % d];
            lp += damping * (out - lp);
            line[i % d] = v + feedback * lp;
            *w += 0.25 * out;
        }
    }
    for (ms, g) in [(5.0f32, 0.5f32), (1.7, 0.5)] {
        let d = (ms / 1000.0 * sr) as usize;
        let mut line = vec![0f32; d];
        for (i, w) in wet.iter_mut().enumerate() {
            let delayed = line[i % d];
            let input = *w + g * delayed;
            line[i % d] = input;
            *w = delayed - g * input;
        }
    }
    wet
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * hz * i as f32 / 16_000.0).sin() * 0.5)
            .collect()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
    }

    #[test]
    fn tilt_moves_lows_and_highs_apart() {
        let (mut lo, mut hi) = (tone(100.0, 16_000), tone(5000.0, 16_000));
        tilt(&mut lo, 6.0, 16_000.0);
        tilt(&mut hi, 6.0, 16_000.0);
        let db = |x: &[f32]| 20.0 * (rms(&x[4000..]) / (0.5 / 2f32.sqrt())).log10();
        assert!(db(&lo) < -2.0 && db(&hi) > 2.0, "{} {}", db(&lo), db(&hi));
    }

    #[test]
    fn compressor_reduces_loud_passages_more() {
        let mut x = tone(440.0, 32_000);
        for v in &mut x[..16_000] {
            *v *= 0.1;
        }
        let before = rms(&x[20_000..]) / rms(&x[4000..16_000]);
        compress(
            &mut x,
            Compressor {
                threshold_db: 0.0,
                ratio: 4.0,
            },
            16_000.0,
        );
        let after = rms(&x[20_000..]) / rms(&x[4000..16_000]);
        assert!(after < 0.7 * before, "{before} -> {after}");
    }

    #[test]
    fn reverb_tail_decays_and_level_applies() {
        let mut x = vec![0f32; 48_000];
        x[0] = 1.0;
        let wet = reverb(&x, 1.0, 16_000.0);
        let early = rms(&wet[800..4000]);
        let late = rms(&wet[24_000..32_000]);
        assert!(early > 0.0 && late < early * 0.05, "{early} {late}");
        let mut y = tone(440.0, 1000);
        Production {
            level_db: -6.0,
            ..Default::default()
        }
        .apply(&mut y, 16_000);
        assert!((rms(&y) - 0.5 / 2f32.sqrt() * 0.501).abs() < 0.01);
    }
}
