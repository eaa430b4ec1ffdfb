//! ONNX Runtime that cannot be found is its own state, with the places
//! looked at, and audio still passes through. A separate test binary: ONNX
//! Runtime is loaded once per process, so this must run before any other
//! test could load it.

mod host;

use std::time::Duration;

use cocola_plugin::snapshot::State;
use host::*;
use nice_plug::prelude::*;

#[test]
fn missing_onnx_runtime_is_reported_and_audio_still_passes() {
    let bogus = std::env::temp_dir().join("cocola-no-such-dir/libonnxruntime.so.1.31.1");
    // Set before anything in this process touches ONNX Runtime; the runtime
    // locator treats a named library that is missing as an error.
    std::env::set_var(cocola::model::runtime::ENV_COCOLA_ORT_LIB, &bogus);
    let mut host = Host::new(Some(test_model()));
    host.activate(48_000.0, 256, ProcessMode::Realtime, STEREO_WITH_SIDECHAIN);
    let stem = signal(48_000.0, 0.2, 1, 0.5);
    let out = host.run(&[stem.clone(), stem.clone()], &[stem.clone(), stem.clone()], &[256]);
    assert!(out[0].iter().zip(&stem).all(|(a, b)| a.to_bits() == b.to_bits()));
    let s = host.wait_for("ORT not found", Duration::from_secs(60), |s| {
        matches!(s.state, State::OrtNotFound(_))
    });
    let State::OrtNotFound(msg) = s.state else {
        unreachable!()
    };
    assert!(msg.contains("cocola-no-such-dir"), "{msg}");
}
