//! `cocola features IN --out F.npy`: the model's input, for inspection and interop.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use cocola::contract::{FEATURE_LEN, FEATURE_SHAPE};
use cocola::features::FeatureExtractor;
use cocola::score::windows::window_slices;
use cocola::score::WindowOptions;

#[derive(Args)]
#[command(
    long_about = "Writes the harmonic/percussive log-mel features COCOLA's encoder sees, as a \
float32 .npy file: shape [2, 64, 501] (channel 0 harmonic, 1 percussive; 64 mel bands; 501 frames \
of 10 ms) when the file yields one 5 s window, else [N, 2, 64, 501] for N windows every --hop \
seconds. Values are dB relative to each channel's maximum (0 down to -80), identical to the \
reference implementation's librosa pipeline."
)]
pub struct FeaturesArgs {
    /// Audio file (any format cocola reads).
    pub input: PathBuf,
    /// Output .npy file.
    #[arg(long, short = 'o', value_name = "F.npy")]
    pub out: PathBuf,
    /// Seconds between window starts for files longer than 5 s.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub hop: f32,
}

pub fn run(args: FeaturesArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.hop.is_finite() && args.hop > 0.0,
        "--hop must be a positive number of seconds"
    );
    let audio = crate::load_audio(&args.input)?;
    let hop = WindowOptions {
        hop_seconds: args.hop,
        ..WindowOptions::default()
    }
    .hop_samples();
    let windows = window_slices(&audio, hop);
    let mut extractor = FeatureExtractor::new();
    let mut data = vec![0.0f32; windows.len() * FEATURE_LEN];
    for (window, out) in windows.iter().zip(data.chunks_exact_mut(FEATURE_LEN)) {
        extractor.extract_into(window, out);
    }
    let shape: Vec<usize> = if windows.len() == 1 {
        FEATURE_SHAPE.to_vec()
    } else {
        std::iter::once(windows.len()).chain(FEATURE_SHAPE).collect()
    };
    cocola::npy::write_f32(&args.out, &shape, &data).with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!(
        "wrote {} window(s), shape {:?}, to {}",
        windows.len(),
        shape,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
