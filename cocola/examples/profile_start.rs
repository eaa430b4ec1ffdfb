//! Writes a model's profile agreement start (`cocola::model::
//! profile_start`) as a model file, so the start can be measured before
//! any training (`cocola eval --stems DIR --sensitivity`), e.g. to choose
//! its gain and weight on validation tracks. A pitch model with a narrower
//! pooling is widened first: to the time-pitch-class pooling, with
//! `--onset` to the time-pitch-class-onset pooling, with `--harmony` to
//! the time-pitch-class-onset-harmony pooling.
//!
//! ```text
//! cargo run --release -p cocola --example profile_start -- MODEL.onnx OUT.onnx \
//!     [--pitch-class GAIN,WEIGHT[,consonance]] [--onset GAIN,WEIGHT] [--harmony GAIN,WEIGHT[,consonance]]
//! ```
//!
//! The file keeps the input model's calibration, which no longer matches
//! its scores: read its raw scores and win rates, not its fits. Without
//! any start, it rewrites the model as it is (same
//! weights, metadata and pooling) with this version's graph.

use std::path::Path;

use cocola::contract::InputKind;
use cocola::model::arch::{Architecture, Pooling, Segment};
use cocola::model::{
    read_weights_file, start_profile_agreements, testing, widen_pooling, write_model_file, ProfileAgreement,
};

fn fail(message: String) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

/// `GAIN,WEIGHT[,INTERVALS]` after `flag`, if given.
fn agreement(args: &[String], flag: &str) -> Option<ProfileAgreement> {
    let i = args.iter().position(|a| a == flag)?;
    let text = args
        .get(i + 1)
        .unwrap_or_else(|| fail(format!("{flag} takes GAIN,WEIGHT[,consonance]")));
    Some(text.parse().unwrap_or_else(|e| fail(format!("{flag}: {e}"))))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, out, ..] = args.as_slice() else {
        eprintln!(
            "usage: profile_start MODEL.onnx OUT.onnx [--pitch-class GAIN,WEIGHT[,consonance]] [--onset GAIN,WEIGHT] \
             [--harmony GAIN,WEIGHT[,consonance]]"
        );
        std::process::exit(2);
    };
    let (pitch_class, onset, harmony) = (
        agreement(&args, "--pitch-class"),
        agreement(&args, "--onset"),
        agreement(&args, "--harmony"),
    );
    let stored = read_weights_file(Path::new(model)).unwrap_or_else(|e| fail(e.to_string()));
    let mut meta = stored.metadata;
    if meta.input != InputKind::Pitch {
        fail(format!(
            "{model} reads the {} input; the profiles need the pitch input",
            meta.input
        ));
    }
    // The narrowest pooling that has every started profile and widens the model's.
    let pooling = [
        Pooling::TimePitchClass,
        Pooling::TimePitchClassOnset,
        Pooling::TimePitchClassOnsetHarmony,
    ]
    .into_iter()
    .find(|p| {
        meta.pooling.widens_to(*p)
            && (onset.is_none() || p.has(Segment::OnsetProfile))
            && (harmony.is_none() || p.has(Segment::HarmonyProfile))
    })
    .unwrap_or_else(|| {
        fail(format!(
            "{model}'s {} pooling cannot be widened to these profiles",
            meta.pooling
        ))
    });
    let arch = Architecture::new(InputKind::Pitch, pooling);
    let weights = if meta.pooling == pooling {
        stored.weights
    } else {
        let fresh = testing::random_weights_for(&arch, 0);
        widen_pooling(InputKind::Pitch, (meta.pooling, &stored.weights), (pooling, &fresh))
            .unwrap_or_else(|e| fail(e.to_string()))
    };
    let starts = [
        (Segment::PitchClassProfile, pitch_class),
        (Segment::OnsetProfile, onset),
        (Segment::HarmonyProfile, harmony),
    ];
    let (weights, started) = start_profile_agreements(&arch, &weights, &starts).unwrap_or_else(|e| fail(e.to_string()));
    let mut version = meta.version.clone();
    for started in started {
        let tag = match started.segment {
            Segment::PitchClassProfile => "pcs",
            Segment::OnsetProfile => "onset",
            _ => "harmony",
        };
        let ProfileAgreement {
            gain,
            weight,
            intervals,
        } = started.agreement;
        version += &format!("+{tag}-g{gain}-w{weight}");
        if !intervals.is_unison() {
            version += &format!("-{intervals}");
        }
        println!("{tag} on embedding dimensions {:?}", started.dims);
    }
    meta.pooling = pooling;
    meta.version = version;
    write_model_file(Path::new(out), &weights, &meta).unwrap_or_else(|e| fail(e.to_string()));
    println!("wrote {out}");
}
