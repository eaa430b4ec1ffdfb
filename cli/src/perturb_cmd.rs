//! `cocola perturb STEM --out OUT.wav --transpose N | --off-beat CONDITION | --delay S`:
//! a copy of a stem that keeps its sound but no longer fits, to hear and score
//! what a coherence metric should reject. The same perturbations as the
//! sensitivity test (`cocola::perturb`).

use std::io::Cursor;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{ArgGroup, Args};
use cocola::contract::SAMPLE_RATE;
use cocola::dsp::onset::OnsetAnalyzer;
use cocola::perturb::{delayed_window, off_beat_delay, pitch_shift};

/// Largest transposition, in semitones.
const MAX_SEMITONES: f64 = 24.0;

#[derive(Args)]
#[command(
    long_about = "Writes a copy of STEM that keeps its sound but no longer fits the track: transposed by \
N semitones with its duration kept (phase vocoder), or delayed off the beat. Use it to hear, and to \
score, what COCOLA should reject: a stem out of key or off the beat should score lower than the \
original against the same condition. The output is 16 kHz mono 16-bit WAV, as long as STEM. A \
transposed copy also carries the phase vocoder's artefacts, which a model can hear instead of the \
key: compare it with a copy shifted there and back (--transpose N, then -N on the result), not \
with the untouched stem, to learn whether the key is heard (docs/EVALUATION.md, \"Key or pitch \
shifter?\").",
    after_help = "Examples:\n  cocola perturb bass.wav --transpose 3 --out bass-up3.wav\n  \
cocola perturb bass.wav --off-beat mix.wav --out bass-late.wav\n  \
cocola score mix.wav bass-late.wav",
    group(ArgGroup::new("perturbation").required(true).args(["transpose", "off_beat", "delay"]))
)]
pub struct PerturbArgs {
    /// The stem to perturb (any format cocola reads).
    pub stem: PathBuf,
    /// Output WAV file.
    #[arg(long, short = 'o', value_name = "OUT.wav")]
    pub out: PathBuf,
    /// Transpose by this many semitones (-24 to 24; fractions allowed), duration kept.
    #[arg(long, value_name = "SEMITONES", allow_negative_numbers = true)]
    pub transpose: Option<f64>,
    /// Delay off the beat of CONDITION: its beat is measured from its onsets, and the
    /// delay is an odd multiple of a 32nd note between 0.2 and 0.7 s (off the
    /// eighth-note grid), as the sensitivity test's shifted stems.
    #[arg(long, value_name = "CONDITION")]
    pub off_beat: Option<PathBuf>,
    /// Delay by this many seconds (negative: earlier), silence where nothing was played.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub delay: Option<f64>,
}

pub fn run(args: PerturbArgs) -> anyhow::Result<ExitCode> {
    let stem = crate::load_audio(&args.stem)?;
    let (out, what) = if let Some(semitones) = args.transpose {
        anyhow::ensure!(
            semitones.is_finite() && semitones.abs() <= MAX_SEMITONES,
            "--transpose must be between -{MAX_SEMITONES} and {MAX_SEMITONES} semitones"
        );
        (
            pitch_shift(&stem, semitones),
            format!("transposed by {semitones:+} semitones"),
        )
    } else {
        let (delay, why) = match (&args.off_beat, args.delay) {
            (Some(condition), _) => {
                let condition = crate::load_audio(condition)?;
                let (delay, beat) = off_beat_delay(&mut OnsetAnalyzer::new(), &condition, 0.5);
                let delay = delay as isize;
                let why = match beat {
                    Some(b) => format!("beat {b:.3} s ({:.0} BPM) measured on the condition", 60.0 / b),
                    None => "no beat measurable on the condition; 120 BPM assumed".to_string(),
                };
                (delay, why)
            }
            (None, Some(seconds)) => {
                anyhow::ensure!(seconds.is_finite(), "--delay must be a number of seconds");
                ((seconds * SAMPLE_RATE as f64).round() as isize, "as asked".to_string())
            }
            (None, None) => unreachable!("clap requires one perturbation"),
        };
        let seconds = delay as f64 / SAMPLE_RATE as f64;
        (
            delayed_window(&stem, 0, stem.len(), delay),
            format!("delayed by {seconds:.3} s ({why})"),
        )
    };
    write_wav_16k(&args.out, &out).with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!(
        "wrote {} ({what}, {:.1} s)",
        args.out.display(),
        out.len() as f64 / SAMPLE_RATE as f64
    );
    Ok(ExitCode::SUCCESS)
}

/// 16 kHz mono 16-bit WAV, written whole or not at all.
fn write_wav_16k(path: &std::path::Path, samples: &[f32]) -> anyhow::Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut bytes = Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut bytes, spec)?;
    for &s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16)?;
    }
    w.finalize()?;
    cocola::atomic_file::write_bytes(path, bytes.get_ref())?;
    Ok(())
}
