"""Shared fixtures of the Python package's tests.

They run against the installed wheel (``cargo xtask test`` builds it, installs
it into a fresh venv and runs pytest there) and compare it with the ``cocola``
CLI built from the same sources: ``$COCOLA_CLI``, else the newer of
``target/release/cocola`` and ``target/debug/cocola`` in this repository.
"""

import json
import os
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

import cocola

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
# Every parity comparison runs the CLI and the package with the same number
# of ONNX Runtime sessions: then both split the encoder's rows identically.
THREADS = 2


def read_wav(path):
    """16-bit PCM WAV -> float32 [channels, samples] and its rate, with the
    standard library only (the scale the decoder uses: 1 / 32768)."""
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2, "test fixtures are 16-bit PCM"
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        channels, rate = w.getnchannels(), w.getframerate()
    return (frames.reshape(-1, channels).T / 32768.0).astype(np.float32), rate


def write_wav(path, signal, rate):
    """float [samples] or [channels, samples] in [-1, 1] -> 16-bit PCM WAV."""
    signal = np.atleast_2d(np.asarray(signal, dtype=np.float64))
    pcm = np.round(np.clip(signal, -1.0, 1.0) * 32767.0).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(pcm.shape[0])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.T.tobytes())
    return path


def tone(seconds, freq, rate=16_000, beat=0.5, seed=0):
    """A deterministic test "instrument": a tone with a harmonic, plus noisy
    clicks every `beat` seconds."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    phase = (t % beat) / beat
    click = np.where(phase < 0.02, 0.3 * (1 - phase / 0.02), 0.0) * rng.uniform(-0.5, 0.5, t.size)
    signal = 0.2 * np.sin(2 * np.pi * freq * t) + 0.05 * np.sin(4 * np.pi * freq * t) + click
    return signal.astype(np.float32)


@pytest.fixture(scope="session")
def cli():
    """Runs the cocola CLI; returns its stdout (asserting success)."""
    explicit = os.environ.get("COCOLA_CLI")
    candidates = [Path(explicit)] if explicit else [REPO / "target" / p / "cocola" for p in ("release", "debug")]
    built = [p for p in candidates if p.is_file()]
    binary = max(built, key=lambda p: p.stat().st_mtime) if built else None  # the newer build
    if binary is None:
        pytest.fail(f"no cocola CLI at {', '.join(map(str, candidates))}: build it (cargo build -p cocola-cli) "
                    "or set COCOLA_CLI")

    def run(*args, code=0):
        """`code`: the exit status expected (3: eval finished, some pairs failed)."""
        done = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
        assert done.returncode == code, f"cocola {' '.join(map(str, args))} exited {done.returncode}:\n{done.stderr}"
        return done

    return run


@pytest.fixture(scope="session")
def cli_json(cli):
    def run(*args, code=0):
        return json.loads(cli(*args, code=code).stdout)

    return run


@pytest.fixture(scope="session")
def model():
    """The built-in default model, with the parity tests' session count."""
    return cocola.Model(threads=THREADS)


@pytest.fixture(scope="session")
def example_pair():
    """The README's example pair as float32 mono at 16 kHz."""
    condition, rate = read_wav(EXAMPLES / "condition.wav")
    stem, _ = read_wav(EXAMPLES / "stem.wav")
    assert rate == 16_000 and condition.shape[0] == 1
    return condition[0], stem[0]
