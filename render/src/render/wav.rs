//! Mono 16-bit PCM WAV output.

use std::path::Path;

use anyhow::Context;

/// Writes `samples * gain` as mono 16-bit PCM (clamped to full scale).
pub fn write_mono(path: &Path, samples: &[f32], gain: f32, sample_rate: u32) -> anyhow::Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).with_context(|| format!("{}: cannot create", path.display()))?;
    for &s in samples {
        let v = (s * gain * 32767.0).round().clamp(-32768.0, 32767.0) as i16;
        w.write_sample(v)
            .with_context(|| format!("{}: write failed", path.display()))?;
    }
    w.finalize()
        .with_context(|| format!("{}: write failed", path.display()))?;
    Ok(())
}
