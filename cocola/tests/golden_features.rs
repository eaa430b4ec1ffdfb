//! The feature extractors against the reference implementation: librosa
//! 0.10.1 for the HPS input, torchaudio 2.11.0 for the mel input.
//!
//! Fixtures in `tests/fixtures/features/` were made by
//! `tools/golden/make_feature_fixtures.py` (see there to regenerate): for each
//! case `<case>.input.npy` (16 kHz mono f32) and `<case>.expected.npy`
//! (librosa's [2, 64, 501] f32); `<case>.mel.expected.npy` (torchaudio's
//! [1, 64, 501]) by `tools/golden/make_checkpoint_fixtures.py`. No Python is
//! needed to run these tests.
//!
//! Tolerance, for both kinds: max |diff| <= 0.05 dB and mean |diff| <= 0.005
//! dB per fixture; mel values near `AmplitudeToDB`'s floor are compared in
//! power (see `MEL_ROUND_OFF_REGION_DB`).
//! The measured values are printed (`cargo test -p cocola --test
//! golden_features -- --nocapture`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};

use cocola::contract::{InputKind, FEATURE_SHAPE, N_FRAMES, N_MELS};
use cocola::features::{Extractor, FeatureExtractor, MelExtractor};
use cocola::npy;

const MAX_DB: f32 = 0.05;
const MEAN_DB: f64 = 0.005;

const CASES: &[&str] = &[
    "chords",
    "noise_bursts",
    "drums",
    "silence",
    "clipped",
    "short_2300ms",
    "mix",
    "quiet",
    // the 16 kHz signal the Python side resampled from stereo_44k1.wav (soxr)
    "stereo_44k1",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/features")
        .join(name)
}

fn load_case(case: &str) -> (Vec<f32>, Vec<f32>) {
    let (in_shape, input) = npy::read_f32(fixture(&format!("{case}.input.npy"))).unwrap();
    assert_eq!(in_shape.len(), 1, "{case}: input must be 1-D");
    let (shape, expected) = npy::read_f32(fixture(&format!("{case}.expected.npy"))).unwrap();
    assert_eq!(shape, FEATURE_SHAPE, "{case}: expected features shape");
    (input, expected)
}

struct Comparison {
    max: f32,
    mean: f64,
    /// (channel, mel, frame, got, expected) of the largest difference
    worst: (usize, usize, usize, f32, f32),
}

fn compare(got: &[f32], expected: &[f32]) -> Comparison {
    assert_eq!(got.len(), expected.len());
    let mut max = 0.0f32;
    let mut sum = 0.0f64;
    let mut worst = (0, 0, 0, 0.0, 0.0);
    for (i, (&g, &e)) in got.iter().zip(expected).enumerate() {
        let d = if g.is_finite() { (g - e).abs() } else { f32::INFINITY };
        sum += f64::from(d);
        if d > max || (i == 0 && d.is_nan()) {
            max = d;
            worst = (i / (N_MELS * N_FRAMES), i / N_FRAMES % N_MELS, i % N_FRAMES, g, e);
        }
    }
    Comparison {
        max,
        mean: sum / got.len() as f64,
        worst,
    }
}

fn report(case: &str, c: &Comparison) -> Option<String> {
    let (ch, mel, frame, g, e) = c.worst;
    println!(
        "{case:>14}: max |diff| {:.2e} dB, mean |diff| {:.2e} dB (worst: channel {ch}, mel {mel}, frame {frame}: {g} vs {e})",
        c.max, c.mean
    );
    (c.max > MAX_DB || c.mean > MEAN_DB || !c.max.is_finite()).then(|| {
        format!(
            "{case}: max |diff| {} dB (limit {MAX_DB}), mean {} dB (limit {MEAN_DB}); \
             largest at channel {ch} ({}), mel {mel}, frame {frame}: got {g}, librosa {e}",
            c.max,
            c.mean,
            match (case.ends_with("(mel)"), ch) {
                (true, _) => "mel",
                (false, 0) => "harmonic",
                _ => "percussive",
            }
        )
    })
}

#[test]
fn features_match_librosa() {
    let mut extractor = FeatureExtractor::new();
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|case| {
            let (input, expected) = load_case(case);
            report(case, &compare(&extractor.extract(&input), &expected))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "features differ from librosa:\n{}",
        failures.join("\n")
    );
}

/// The cases the mel fixtures cover (torchaudio's output for the same inputs).
const MEL_CASES: &[&str] = &["chords", "drums", "silence", "short_2300ms", "mix", "quiet"];

/// Mel values (absolute dB) more than this far below their frame's loudest
/// band, or within it of `AmplitudeToDB`'s -100 dB floor, are compared in
/// power instead of dB: torchaudio computes the STFT in float32, whose
/// round-off is relative to the frame's largest values (about -120 dB of the
/// frame's peak power on these fixtures), so far below the peak no float32
/// reference is closer than that.
const MEL_ROUND_OFF_REGION_DB: f32 = 90.0;
/// Power difference accepted there: round-off relative to the frame's peak
/// (-110 dB), plus a fifth of the floor's power (1e-10).
const MEL_ROUND_OFF_OF_PEAK: f64 = 1e-11;
const MEL_ROUND_OFF_ABSOLUTE: f64 = 2e-11;
/// `AmplitudeToDB`'s floor: 10 log10(1e-10).
const MEL_FLOOR_DB: f32 = -100.0;

#[test]
fn mel_features_match_torchaudio() {
    let mut extractor = MelExtractor::new();
    let power = |db: f32| 10f64.powf(f64::from(db) / 10.0);
    let failures: Vec<String> = MEL_CASES
        .iter()
        .filter_map(|case| {
            let (input, _) = load_case(case);
            let (shape, expected) = npy::read_f32(fixture(&format!("{case}.mel.expected.npy"))).unwrap();
            assert_eq!(shape, InputKind::Mel.feature_shape(), "{case}: expected mel shape");
            let got = extractor.extract(&input);
            let (mut faint, mut worst_ratio) = (0, 0.0f64);
            // Faint values leave the dB comparison: set to the reference there.
            let mut loud = got.clone();
            for frame in 0..N_FRAMES {
                let at = |m: usize| m * N_FRAMES + frame;
                let peak = (0..N_MELS).map(|m| expected[at(m)]).fold(f32::MIN, f32::max);
                for m in 0..N_MELS {
                    let (g, e) = (got[at(m)], expected[at(m)]);
                    if e < peak - MEL_ROUND_OFF_REGION_DB || e <= MEL_FLOOR_DB + 10.0 {
                        faint += 1;
                        let allowed = MEL_ROUND_OFF_OF_PEAK * power(peak) + MEL_ROUND_OFF_ABSOLUTE;
                        worst_ratio = worst_ratio.max((power(g) - power(e)).abs() / allowed);
                        loud[at(m)] = e;
                    }
                }
            }
            println!(
                "{case:>14} (mel): {faint} faint values, power difference at most {worst_ratio:.2} of the allowance"
            );
            let loud = report(&format!("{case} (mel)"), &compare(&loud, &expected));
            let faint = (worst_ratio > 1.0).then(|| format!("{case}: faint values differ beyond float32 round-off"));
            loud.or(faint)
        })
        .collect();
    assert!(
        failures.is_empty(),
        "mel features differ from torchaudio:\n{}",
        failures.join("\n")
    );
}

/// Input longer than 5 s: only the first 5 s count.
#[test]
fn longer_input_uses_the_first_five_seconds() {
    let (mut input, expected) = load_case("mix");
    let mut extractor = FeatureExtractor::new();
    let first = extractor.extract(&input);
    input.extend((0..24_000).map(|i| ((i as f32) * 0.37).sin()));
    assert_eq!(extractor.extract(&input), first);
    assert!(report("mix+1.5s", &compare(&first, &expected)).is_none());
}

/// A NaN in the input is a one-sample dropout, not a ruined window.
#[test]
fn nan_sample_does_not_poison_the_window() {
    let (mut input, expected) = load_case("mix");
    for i in [10, 20_000, 55_555] {
        input[i] = f32::NAN;
    }
    let got = FeatureExtractor::new().extract(&input);
    assert!(got.iter().all(|v| v.is_finite()));
    let c = compare(&got, &expected);
    println!(
        "mix with 3 NaN samples: max |diff| {:.3} dB, mean {:.2e} dB",
        c.max, c.mean
    );
    // three missing samples in a 5 s mix move the features very little on average
    assert!(c.mean < 0.05, "mean difference {} dB", c.mean);
}

// ---------------------------------------------------------------------------
// The whole file pipeline: 44.1 kHz stereo WAV -> decode -> mono -> 16 kHz
// (cocola::audio) -> features, against decode -> mean -> soxr 'vhq' -> librosa.
// ---------------------------------------------------------------------------

/// Resamplers are allowed to differ: this compares the two 16 kHz signals
/// (SNR of Rust's against soxr's) and the features they lead to, and prints
/// both. The fixture's content stays below 6.5 kHz, where a good resampler is
/// flat (see the script), so what remains is passband ripple, delay handling
/// and the edges of the signal.
#[test]
fn stereo_file_pipeline_matches_librosa_with_soxr() {
    let wav = fixture("stereo_44k1.wav");
    let ours = cocola::audio::load_mono_16k(&wav).expect("decode the 44.1 kHz stereo fixture");
    let (reference, expected) = load_case("stereo_44k1");

    let n = ours.len().min(reference.len());
    let signal: f64 = reference[..n].iter().map(|&v| f64::from(v).powi(2)).sum();
    let error: f64 = ours[..n]
        .iter()
        .zip(&reference[..n])
        .map(|(&a, &b)| f64::from(a - b).powi(2))
        .sum();
    let snr = 10.0 * (signal / error.max(f64::MIN_POSITIVE)).log10();
    println!(
        "resampled: {} samples (soxr: {}), SNR against soxr {snr:.1} dB",
        ours.len(),
        reference.len()
    );

    let c = compare(&FeatureExtractor::new().extract(&ours), &expected);
    let failure = report("stereo file", &c);
    // The same length up to the resamplers' rounding of 1.95 s * 16000 / 44100.
    assert!(
        ours.len().abs_diff(reference.len()) <= 2,
        "length {} vs {}",
        ours.len(),
        reference.len()
    );
    assert!(snr > 60.0, "16 kHz signal too far from soxr's: SNR {snr:.1} dB");
    assert!(failure.is_none(), "{}", failure.unwrap_or_default());
}

// ---------------------------------------------------------------------------
// No heap allocation in extract_into (the plugin's worker calls it every hop).
// ---------------------------------------------------------------------------

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only counts calls per thread.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn extract_into_does_not_allocate() {
    let (input, _) = load_case("mix");
    for kind in InputKind::ALL {
        let mut extractor = Extractor::new(kind);
        let mut out = vec![0.0f32; kind.feature_len()];
        extractor.extract_into(&input, &mut out); // first call: CPU feature detection etc.
        let before = ALLOCATIONS.with(Cell::get);
        for _ in 0..3 {
            extractor.extract_into(&input, &mut out);
            extractor.extract_into(&input[..1000], &mut out);
        }
        assert_eq!(
            ALLOCATIONS.with(Cell::get) - before,
            0,
            "the {kind} extract_into allocated"
        );
    }
}
