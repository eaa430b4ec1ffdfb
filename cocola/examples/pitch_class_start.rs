//! Writes a model's pitch-class agreement start (`cocola::model::
//! pitch_class_start`) as a model file, so the start can be measured
//! before any training (`cocola eval --stems DIR --sensitivity`), e.g. to
//! choose its gain and weight on validation tracks. A pitch model with a
//! narrower pooling is widened to the time-pitch-class pooling first.
//!
//! ```text
//! cargo run --release -p cocola --example pitch_class_start -- MODEL.onnx OUT.onnx GAIN WEIGHT
//! ```
//!
//! The file keeps the input model's calibration, which no longer matches
//! its scores: read its raw scores and win rates, not its fits.

use std::path::Path;

use cocola::contract::InputKind;
use cocola::model::arch::{Architecture, Pooling};
use cocola::model::{
    read_weights_file, start_pitch_class_agreement, testing, widen_pooling, write_model_file, PitchClassAgreement,
};

fn fail(message: String) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, out, gain, weight] = args.as_slice() else {
        eprintln!("usage: pitch_class_start MODEL.onnx OUT.onnx GAIN WEIGHT");
        std::process::exit(2);
    };
    let number = |s: &str| s.parse::<f32>().unwrap_or_else(|_| fail(format!("not a number: {s}")));
    let agreement = PitchClassAgreement {
        gain: number(gain),
        weight: number(weight),
    };
    let stored = read_weights_file(Path::new(model)).unwrap_or_else(|e| fail(e.to_string()));
    let mut meta = stored.metadata;
    if meta.input != InputKind::Pitch {
        fail(format!(
            "{model} reads the {} input; the profile needs the pitch input",
            meta.input
        ));
    }
    let arch = Architecture::new(InputKind::Pitch, Pooling::TimePitchClass);
    let weights = if meta.pooling == Pooling::TimePitchClass {
        stored.weights
    } else {
        let fresh = testing::random_weights_for(&arch, 0);
        widen_pooling(
            InputKind::Pitch,
            (meta.pooling, &stored.weights),
            (Pooling::TimePitchClass, &fresh),
        )
        .unwrap_or_else(|e| fail(e.to_string()))
    };
    let (weights, dims) =
        start_pitch_class_agreement(&arch, &weights, agreement).unwrap_or_else(|e| fail(e.to_string()));
    meta.pooling = Pooling::TimePitchClass;
    meta.version = format!("{}+pcs-g{}-w{}", meta.version, agreement.gain, agreement.weight);
    write_model_file(Path::new(out), &weights, &meta).unwrap_or_else(|e| fail(e.to_string()));
    println!("wrote {out}: pitch classes on embedding dimensions {dims:?}");
}
