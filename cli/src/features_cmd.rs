//! `cocola features IN --out F.npy`: the model's input, for inspection and interop.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use cocola::contract::InputKind;
use cocola::features::Extractor;
use cocola::score::windows::window_slices;
use cocola::score::WindowOptions;

#[derive(Args)]
#[command(
    long_about = "Writes the features COCOLA's encoder sees, as a float32 .npy file. With --input \
hps (the default): shape [2, 64, 501] (channel 0 harmonic, 1 percussive; 64 mel bands; 501 frames \
of 10 ms), dB relative to each channel's maximum (0 down to -80), identical to the reference's \
librosa pipeline. With --input mel (models without HPS): [1, 64, 501], absolute dB (silence is \
-100), identical to the reference's torchaudio MelSpectrogram + AmplitudeToDB. With --input \
pitch (this project's key-keeping input): [2, 64, 501] like hps, but channel 0 is the harmonic \
part of a 128 ms STFT in 64 semitone bands from C2 (65 Hz) to D#7 (2.5 kHz). A file longer \
than 5 s gives [N, C, 64, 501] for N windows every --hop seconds."
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
    /// Which model input: hps (harmonic/percussive, 2 channels), mel (1 channel, no HPS) or
    /// pitch (hps with a semitone harmonic channel).
    #[arg(long = "input", default_value = "hps", value_name = "KIND")]
    pub kind: InputKind,
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
    let data = Extractor::new(args.kind).extract_windows(&windows);
    let shape: Vec<usize> = if windows.len() == 1 {
        args.kind.feature_shape().to_vec()
    } else {
        std::iter::once(windows.len())
            .chain(args.kind.feature_shape())
            .collect()
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
