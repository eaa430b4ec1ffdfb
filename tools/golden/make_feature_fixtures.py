#!/usr/bin/env python3
"""Golden fixtures for COCOLA's feature extractor (cocola/src/features).

Computes the reference features with librosa 0.10.1 exactly as the authors'
code does (feature_extraction/feature_extraction.py, class HPSS) on a set of
deterministic (seeded) test signals, and writes

    cocola/tests/fixtures/features/<case>.input.npy     16 kHz mono float32, 1-D
    cocola/tests/fixtures/features/<case>.expected.npy  float32 [2, 64, 501]
    cocola/tests/fixtures/features/stereo_44k1.wav      44.1 kHz stereo 16-bit PCM

`cocola/tests/golden_features.rs` compares the Rust extractor against them.
Normal tests never run Python; only regenerating the fixtures needs it.

Regenerate (from the repository root):

    python3 -m venv .venv-features
    .venv-features/bin/pip install -r tools/golden/requirements-features.txt
    .venv-features/bin/python tools/golden/make_feature_fixtures.py

Timing mode (used by `cargo bench -p cocola --bench features`):

    .venv-features/bin/python tools/golden/make_feature_fixtures.py --time 20

prints `librosa_ms_per_clip <ms>` (median over the runs, one 5 s clip each).
"""

import argparse
import pathlib
import sys
import time

import numpy as np

SR = 16000
WINDOW_SAMPLES = 80000  # 5 s, the feature contract's analysis window
OUT_DIR = pathlib.Path(__file__).resolve().parents[2] / "cocola" / "tests" / "fixtures" / "features"


def reference_features(audio: np.ndarray) -> np.ndarray:
    """The reference pipeline on one window: [2, 64, 501] float32.

    Shorter input is zero-padded on the right, longer input is cut to 5 s
    (the feature contract). The librosa calls are those of the authors' HPSS
    module with the same arguments; everything else is a librosa 0.10.1 default.
    """
    import librosa

    y = np.zeros(WINDOW_SAMPLES, dtype=np.float32)
    n = min(len(audio), WINDOW_SAMPLES)
    y[:n] = audio[:n]
    stft = librosa.stft(y, n_fft=1024, win_length=400, hop_length=160)
    harmonic, percussive = librosa.decompose.hpss(stft)
    mel_h = librosa.feature.melspectrogram(S=np.abs(harmonic) ** 2, sr=SR, fmin=60.0, fmax=7800.0, n_mels=64)
    mel_p = librosa.feature.melspectrogram(S=np.abs(percussive) ** 2, sr=SR, fmin=60.0, fmax=7800.0, n_mels=64)
    db_h = librosa.power_to_db(mel_h, ref=np.max)
    db_p = librosa.power_to_db(mel_p, ref=np.max)
    out = np.stack((db_h, db_p), axis=0).astype(np.float32)
    assert out.shape == (2, 64, 501), out.shape
    return out


# --------------------------------------------------------------------------
# Deterministic test signals (all float32, 16 kHz unless stated otherwise)
# --------------------------------------------------------------------------


def midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69.0) / 12.0)


def adsr(n: int, sr: int, attack=0.01, decay=0.15, sustain=0.6, release=0.2) -> np.ndarray:
    a, d, r = int(attack * sr), int(decay * sr), int(release * sr)
    assert n > a + d + r, "note too short for its envelope"
    env = np.full(n, sustain)
    env[:a] = np.linspace(0.0, 1.0, a, endpoint=False)
    env[a : a + d] = np.linspace(1.0, sustain, d, endpoint=False)
    env[n - r :] *= np.linspace(1.0, 0.0, r)
    return env


def tone(freq: float, n: int, sr: int, rng, max_hz: float) -> np.ndarray:
    """A harmonic tone (sawtooth-like 1/k partials) with a little vibrato."""
    t = np.arange(n) / sr
    vib = 1.0 + 0.002 * np.sin(2 * np.pi * 5.0 * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * np.cumsum(freq * vib) / sr
    out = np.zeros(n)
    k = 1
    while k * freq < max_hz and k <= 24:
        out += np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k
        k += 1
    return out


def chords(n: int, sr: int, rng, max_hz: float = 7600.0) -> np.ndarray:
    """C - Am - F - G, four chords over the clip, each a triad plus bass."""
    progression = [[48, 60, 64, 67], [45, 57, 60, 64], [41, 57, 60, 65], [43, 55, 59, 62]]
    out = np.zeros(n)
    seg = n // len(progression)
    for i, chord in enumerate(progression):
        start = i * seg
        length = n - start if i == len(progression) - 1 else seg
        env = adsr(length, sr)
        for note in chord:
            out[start : start + length] += 0.25 * env * tone(midi_hz(note), length, sr, rng, max_hz)
    return out / np.max(np.abs(out)) * 0.5


def decaying_noise(n: int, sr: int, rng, tau: float) -> np.ndarray:
    return rng.standard_normal(n) * np.exp(-np.arange(n) / (tau * sr))


def one_pole_lowpass(x: np.ndarray, sr: int, cutoff: float) -> np.ndarray:
    from scipy.signal import lfilter

    a = np.exp(-2 * np.pi * cutoff / sr)
    return lfilter([1.0 - a], [1.0, -a], x)


def drums(n: int, sr: int, rng, bpm: float = 120.0) -> np.ndarray:
    """Kicks (decaying low sine sweeps), snares (decaying noise + tone),
    hi-hats (short high noise) and single-sample clicks, with digital silence
    between hits (exact zeros exercise the zero handling of the soft masks)."""
    out = np.zeros(n)
    beat = int(60.0 / bpm * sr)
    for b in range(n // beat + 1):
        pos = b * beat
        if pos >= n:
            break
        if b % 2 == 0:  # kick
            m = min(int(0.25 * sr), n - pos)
            t = np.arange(m) / sr
            f = 50.0 + 70.0 * np.exp(-t / 0.03)
            out[pos : pos + m] += 0.9 * np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / 0.08)
        else:  # snare
            m = min(int(0.2 * sr), n - pos)
            t = np.arange(m) / sr
            out[pos : pos + m] += 0.5 * decaying_noise(m, sr, rng, 0.04)
            out[pos : pos + m] += 0.3 * np.sin(2 * np.pi * 190.0 * t) * np.exp(-t / 0.05)
        # hats on the off-beats
        hp = pos + beat // 2
        if hp < n:
            m = min(int(0.05 * sr), n - hp)
            noise = decaying_noise(m, sr, rng, 0.01)
            out[hp : hp + m] += 0.25 * (noise - one_pole_lowpass(noise, sr, 4000.0))
    # isolated clicks
    for pos in (int(0.37 * sr), int(2.11 * sr), int(3.93 * sr)):
        if pos < n:
            out[pos] += 0.8
    return out


def noise_bursts(n: int, sr: int, rng) -> np.ndarray:
    """White and low-passed noise bursts of varying length and level,
    separated by digital silence."""
    out = np.zeros(n)
    pos = int(0.05 * sr)
    k = 0
    while pos < n:
        m = min(int(rng.uniform(0.05, 0.5) * sr), n - pos)
        burst = rng.standard_normal(m) * 10 ** rng.uniform(-2.0, -0.4)
        if k % 2:
            burst = one_pole_lowpass(burst, sr, 800.0) * 4.0
        ramp = min(64, m // 2)
        if ramp > 0:
            burst[:ramp] *= np.linspace(0, 1, ramp)
            burst[-ramp:] *= np.linspace(1, 0, ramp)
        out[pos : pos + m] = burst
        pos += m + int(rng.uniform(0.02, 0.4) * sr)
        k += 1
    return out


def mix(n: int, sr: int, rng) -> np.ndarray:
    return 0.6 * chords(n, sr, rng) + 0.5 * drums(n, sr, rng) + 1e-3 * rng.standard_normal(n)


def f32(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def cases(rng) -> dict:
    n = WINDOW_SAMPLES
    c = {}
    c["chords"] = f32(chords(n, SR, rng))
    c["noise_bursts"] = f32(noise_bursts(n, SR, rng))
    c["drums"] = f32(drums(n, SR, rng))
    c["silence"] = np.zeros(n, dtype=np.float32)
    c["clipped"] = f32(np.clip(4.0 * mix(n, SR, rng), -0.8, 0.8))
    c["short_2300ms"] = f32(mix(int(2.3 * SR), SR, rng))
    c["mix"] = f32(mix(n, SR, rng))
    # about -100 dBFS: part of the mel power falls under amin = 1e-10
    c["quiet"] = f32(1e-5 * mix(n, SR, rng))
    return c


# --------------------------------------------------------------------------
# 44.1 kHz stereo file: decode -> mono (mean) -> 16 kHz -> features
# --------------------------------------------------------------------------

STEREO_SR = 44100
STEREO_SECONDS = 1.95  # keeps the 16-bit stereo WAV under 350 KB
BAND_LIMIT_HZ = 6500.0


def band_limit(x: np.ndarray, sr: int, cutoff: float) -> np.ndarray:
    """Removes everything above `cutoff` (FFT brick wall on the whole signal).

    Resamplers differ in their transition band just below the 8 kHz Nyquist of
    16 kHz, and the top mel band reaches 7.8 kHz. Content that reaches up there
    would measure the resampler's anti-alias filter, not the feature pipeline,
    so this fixture keeps its content below 6.5 kHz, where any good resampler
    is flat.
    """
    spec = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1.0 / sr)
    spec[freqs > cutoff] = 0
    return np.fft.irfft(spec, n=len(x))


def stereo_signal(rng) -> np.ndarray:
    n = int(STEREO_SECONDS * STEREO_SR)
    harmonic = chords(n, STEREO_SR, rng, max_hz=BAND_LIMIT_HZ)
    perc = drums(n, STEREO_SR, rng, bpm=150.0)
    left = band_limit(0.7 * harmonic + 0.3 * perc, STEREO_SR, BAND_LIMIT_HZ)
    right = band_limit(0.3 * harmonic + 0.6 * perc, STEREO_SR, BAND_LIMIT_HZ)
    # 20 ms fades: an abrupt start/end would make the result depend on how
    # each resampler treats the edges of the signal.
    fade = int(0.02 * STEREO_SR)
    ramp = np.linspace(0.0, 1.0, fade)
    for ch in (left, right):
        ch[:fade] *= ramp
        ch[-fade:] *= ramp[::-1]
    st = np.stack([left, right], axis=1)
    st *= 0.8 / np.max(np.abs(st))
    return st


def write_stereo_fixture(rng) -> None:
    import librosa
    import soundfile as sf

    path = OUT_DIR / "stereo_44k1.wav"
    sf.write(path, stereo_signal(rng), STEREO_SR, subtype="PCM_16")
    # The pipeline the Rust side runs through cocola::audio::load_mono_16k.
    decoded, sr = sf.read(path, dtype="float32", always_2d=True)  # int16 / 32768
    assert sr == STEREO_SR
    mono = decoded.mean(axis=1, dtype=np.float32)
    mono16k = librosa.resample(mono, orig_sr=STEREO_SR, target_sr=SR, res_type="soxr_vhq").astype(np.float32)
    np.save(OUT_DIR / "stereo_44k1.input.npy", mono16k)
    np.save(OUT_DIR / "stereo_44k1.expected.npy", reference_features(mono16k))
    print(f"stereo_44k1: {path.stat().st_size} bytes WAV, {len(mono16k)} samples at 16 kHz")


def time_reference(runs: int) -> None:
    rng = np.random.default_rng(7)
    clip = f32(mix(WINDOW_SAMPLES, SR, rng))
    reference_features(clip)  # warm-up: imports, numba compilation, caches
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        reference_features(clip)
        times.append((time.perf_counter() - t0) * 1e3)
    print(f"librosa_ms_per_clip {float(np.median(times)):.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time", type=int, metavar="RUNS", help="only time the reference pipeline")
    args = parser.parse_args()
    if args.time:
        time_reference(args.time)
        return 0

    import librosa

    assert librosa.__version__ == "0.10.1", f"need librosa 0.10.1, have {librosa.__version__}"
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240611)
    for name, audio in cases(rng).items():
        np.save(OUT_DIR / f"{name}.input.npy", audio)
        np.save(OUT_DIR / f"{name}.expected.npy", reference_features(audio))
        print(f"{name}: {len(audio)} samples")
    write_stereo_fixture(rng)
    return 0


if __name__ == "__main__":
    sys.exit(main())
