//! Finding ONNX Runtime, and what the user is told when it cannot be used.
//!
//! One test function on purpose: the first successful initialisation wins
//! for the whole process, so the failures must be exercised before it, in
//! order, in a test binary of their own.

use std::path::Path;

use cocola::model::runtime::{self, candidates, RuntimeError, Source};
use cocola::model::{testing, write_model, LoadOptions, Model, ModelError};

#[test]
fn failures_are_clear_then_a_good_library_loads_once() {
    let dir = tempfile::tempdir().unwrap();

    // A bogus explicit path: named, with how to get the library.
    let bogus = dir.path().join("nowhere/libonnxruntime.so.1.31.1");
    let err = runtime::init(Some(&bogus), None).unwrap_err();
    let text = err.to_string();
    println!("{text}");
    assert!(
        matches!(
            err,
            RuntimeError::Missing {
                source_kind: Source::Explicit,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(text.contains(&bogus.display().to_string()), "{text}");
    assert!(
        text.contains("cargo xtask setup") && text.contains("COCOLA_ORT_LIB"),
        "{text}"
    );

    // The same through the model loader.
    let bytes = write_model(&testing::random_weights(1), &testing::test_metadata()).unwrap();
    let opts = LoadOptions {
        ort_library: Some(bogus.clone()),
        ..LoadOptions::default()
    };
    let err = Model::from_bytes(&bytes, &opts).unwrap_err();
    assert!(
        matches!(err, ModelError::Runtime(RuntimeError::Missing { .. })),
        "{err:?}"
    );

    // A directory without the library in it.
    let err = runtime::init(Some(dir.path()), None).unwrap_err();
    assert!(matches!(err, RuntimeError::Missing { .. }), "{err:?}");

    // A file that is not a shared library: an error, not a panic.
    let junk = dir.path().join("libonnxruntime.so");
    std::fs::write(&junk, b"this is not a shared library").unwrap();
    let err = runtime::init(Some(&junk), None).unwrap_err();
    println!("{err}");
    assert!(matches!(err, RuntimeError::LoadFailed { .. }), "{err:?}");
    assert!(err.to_string().contains(&junk.display().to_string()));

    // A real shared library that is not ONNX Runtime.
    for other in ["/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6"] {
        if Path::new(other).exists() {
            let err = runtime::init(Some(Path::new(other)), None).unwrap_err();
            println!("{err}");
            assert!(matches!(err, RuntimeError::LoadFailed { .. }), "{err:?}");
            break;
        }
    }

    // When nothing is found, every place looked at is listed.
    let looked = candidates(None, Some(dir.path()));
    let text = RuntimeError::NotFound { looked: looked.clone() }.to_string();
    for c in &looked {
        assert!(text.contains(&c.path.display().to_string()), "{text}");
    }

    // After all that, the documented search finds the installed library
    // (`cargo xtask setup`), and it stays the process's runtime.
    let rt = runtime::init(None, None).unwrap_or_else(|e| panic!("{e}"));
    assert!(rt.library().is_absolute());
    let again = runtime::init(Some(&bogus), None).unwrap();
    assert_eq!(again.library(), rt.library());
    let mut model = Model::from_bytes(&bytes, &LoadOptions::default()).unwrap();
    assert_eq!(model.runtime_library(), rt.library());
    let e = model.embed(&testing::random_features("x", 1), 1).unwrap();
    assert_eq!((e.batch, e.embedding.len(), e.w_embedding.len()), (1, 512, 512));
}
