//! The scorer's entry points for callers holding audio in memory (the Python
//! binding): loose windows, the similarity matrix, rows split across
//! sessions, and in-memory audio converted exactly as a decoded file.

use crate::support::{test_model, voice, write_wav};
use cocola::audio::{load_mono_16k, planar_to_mono_16k};
use cocola::contract::InputKind;
use cocola::contract::FEATURE_LEN;
use cocola::eval::Encoder;
use cocola::features::Extractor;
use cocola::mode::Mode;
use cocola::model::{LoadOptions, Model};
use cocola::model_source::ModelSource;
use cocola::score::Scorer;

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-5 * a.abs().max(b.abs()).max(1.0)
}

fn sessions(path: &std::path::Path, n: usize) -> Vec<Model> {
    let source = ModelSource::File(path.to_path_buf());
    (0..n).map(|_| source.load(&LoadOptions::default()).unwrap()).collect()
}

#[test]
fn windows_matrix_and_split_sessions_agree_with_the_plain_paths() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut single) = test_model(dir.path());
    let clips: Vec<Vec<f32>> = (0..5)
        .map(|i| voice(4.0 + i as f32 * 0.5, 110.0 * (i + 1) as f32, 0.3 + 0.1 * i as f32, i))
        .collect();
    let windows: Vec<&[f32]> = clips.iter().map(Vec::as_slice).collect();

    // embed_windows = features of each window, the mode's mask, then the model.
    let mut features = Extractor::new(InputKind::Hps).extract_windows(&windows);
    for out in features.chunks_exact_mut(FEATURE_LEN) {
        Mode::Harmonic.apply_mask(out);
    }
    let plain = single.embed(&features, windows.len()).unwrap();
    // Three sessions: rows split 2 + 2 + 1, run in parallel.
    let mut split = Scorer::with_sessions(sessions(&path, 3));
    let embedded = split.embed_windows(&windows, Mode::Harmonic).unwrap();
    assert_eq!(embedded.batch, windows.len());
    for (a, b) in embedded.embedding.iter().zip(&plain.embedding) {
        assert!(close(*a, *b), "{a} vs {b}");
    }
    let encoded = split.encode(&features, windows.len()).unwrap();
    assert_eq!(encoded.w_embedding.len(), plain.w_embedding.len());
    for (a, b) in encoded.w_embedding.iter().zip(&plain.w_embedding) {
        assert!(close(*a, *b), "{a} vs {b}");
    }

    // score_matrix[i][j] = the score of the window pair (conditions[i], stems[j]).
    let (conditions, stems) = windows.split_at(2);
    let matrix = split.score_matrix(conditions, stems, Mode::Both).unwrap();
    assert_eq!(matrix.len(), conditions.len() * stems.len());
    let mut scorer = Scorer::new(single);
    for (i, condition) in conditions.iter().enumerate() {
        for (j, stem) in stems.iter().enumerate() {
            let expected = scorer
                .score_window(condition, stem)
                .unwrap()
                .get(Mode::Both)
                .unwrap()
                .raw;
            let got = matrix[i * stems.len() + j];
            assert!(close(got, expected), "[{i}][{j}]: {got} vs {expected}");
        }
    }
}

#[test]
fn in_memory_audio_converts_exactly_as_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let rate = 44_100;
    let left = voice(2.0, 220.0, 0.5, 1);
    let right = voice(2.0, 330.0, 0.25, 2);
    let interleaved: Vec<f32> = left.iter().zip(&right).flat_map(|(&l, &r)| [l, r]).collect();
    let path = dir.path().join("stereo.wav");
    write_wav(&path, &interleaved, rate, 2);
    // What the file holds after 16-bit quantisation, as the decoder scales it.
    let quantised = |x: &[f32]| -> Vec<f32> {
        x.iter()
            .map(|s| (s.clamp(-1.0, 1.0) * 32767.0).round() / 32768.0)
            .collect()
    };
    let (left, right) = (quantised(&left), quantised(&right));
    let from_file = load_mono_16k(&path).unwrap();
    let from_memory = planar_to_mono_16k(&[&left, &right], rate).unwrap();
    assert_eq!(from_file.len(), from_memory.len());
    assert!(from_file
        .iter()
        .zip(&from_memory)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    assert!(planar_to_mono_16k(&[&left], 12).is_err(), "an absurd rate is refused");
}
