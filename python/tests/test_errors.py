"""Bad input gets a clear exception, never a crash of the interpreter."""

import os
import subprocess
import sys

import numpy as np
import pytest

import cocola
from conftest import EXAMPLES, tone

SR = 16_000


@pytest.fixture(scope="module")
def clip():
    return tone(2.0, 220.0)


@pytest.mark.parametrize(
    "audio, match",
    [
        (np.array([0.1, np.nan, 0.2], dtype=np.float32), r"non-finite sample \(NaN\) at channel 0, index 1"),
        (np.array([[0.0, 0.1], [0.2, np.inf]]), r"non-finite sample \(inf\) at channel 1, index 1"),
        (np.zeros(0, dtype=np.float32), "empty"),
        (np.zeros((1, 0), dtype=np.float32), "empty"),
        (np.zeros((2, 3, 4), dtype=np.float32), r"\[samples\] \(mono\) or \[channels, samples\]"),
        (np.float32(0.5), r"\[samples\] \(mono\) or \[channels, samples\]"),
        (np.zeros((48_000, 2), dtype=np.float32), r"pass stem.T if it is \[samples, channels\]"),
    ],
)
def test_bad_arrays_raise_value_error(model, clip, audio, match):
    with pytest.raises(ValueError, match=match):
        model.score(clip, audio, SR)


@pytest.mark.parametrize(
    "audio, match",
    [
        (np.zeros(100, dtype=np.int16), "float32 or float64 .* not int16 .*divide by 32768"),
        (np.zeros(100, dtype=np.complex64), "float32 or float64"),
        (["a", "b"], "float32 or float64"),
        ({"not": "audio"}, "float32 or float64"),
    ],
)
def test_wrong_dtypes_raise_type_error(model, clip, audio, match):
    with pytest.raises(TypeError, match=match):
        model.score(clip, audio, SR)


def test_bad_options(model, clip):
    for sr in (0, 999, 800_000, 44_100.5, float("nan")):
        with pytest.raises(ValueError, match="sample rate must be a whole number of Hz"):
            model.score(clip, clip, sr)
    with pytest.raises(ValueError, match="unknown mode 'drums'"):
        model.score(clip, clip, SR, mode="drums")
    for hop in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="hop must be between"):
            model.score(clip, clip, SR, hop=hop)
    with pytest.raises(ValueError, match="silence_db"):
        model.score(clip, clip, SR, silence_db=float("nan"))
    with pytest.raises(ValueError, match="threads must be at least 1"):
        cocola.Model(threads=0)
    with pytest.raises(TypeError, match="sequence of signals"):
        model.score_matrix(clip, [clip], SR)
    with pytest.raises(ValueError, match="conditions is empty"):
        model.score_matrix([], [clip], SR)
    with pytest.raises(ValueError, match=r"stems\[1\] has a non-finite sample"):
        model.score_matrix([clip], [clip, np.full(10, np.nan)], SR)
    with pytest.raises(ValueError, match="two candidates are named '1'"):
        model.rank(clip, {1: clip, "1": clip}, SR)
    with pytest.raises(ValueError, match="candidates is empty"):
        model.rank(clip, {}, SR)
    with pytest.raises(ValueError, match="unknown mode 'drums' \\(expected combined, both, harmonic or percussive\\)"):
        model.rank(clip, [clip], SR, mode="drums")
    with pytest.raises(ValueError, match=r"candidates\['b'\] has a non-finite sample"):
        model.rank(clip, {"a": clip, "b": np.full(10, np.inf)}, SR)
    with pytest.raises(ValueError, match="K must be at least 2"):
        cocola.eval_stems(EXAMPLES, model, k=[1])


def test_model_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.onnx"
    with pytest.raises(cocola.ModelError, match=f"cannot use model {missing}: model file {missing} does not exist"):
        cocola.Model(missing)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(cocola.ModelError, match="garbage.onnx is not an ONNX model"):
        cocola.Model(garbage)
    # A .ckpt is not a model file (yet): a clear error, not a crash.
    checkpoint = tmp_path / "last.ckpt"
    checkpoint.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(cocola.ModelError, match="last.ckpt"):
        cocola.Model(checkpoint)


def test_audio_errors_name_the_file(tmp_path):
    with pytest.raises(cocola.AudioError, match="missing.wav: cannot read file"):
        cocola.load_audio(tmp_path / "missing.wav")
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage garbage")
    with pytest.raises(cocola.AudioError, match="corrupt.wav"):
        cocola.load_audio(corrupt)
    with pytest.raises(FileNotFoundError, match="nothing.csv"):
        cocola.eval_pairs(tmp_path / "nothing.csv")
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("a.wav,b.wav\nc.wav\n")
    with pytest.raises(ValueError, match="bad.csv, line 2"):
        cocola.eval_pairs(bad_csv)
    with pytest.raises(FileNotFoundError, match="no-such-dir"):
        cocola.eval_stems(tmp_path / "no-such-dir")


def run_python(code, **env):
    """Runs `code` in a fresh interpreter (ONNX Runtime is loaded once per process)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env})


def test_missing_runtime_is_a_model_error_listing_where_it_looked(tmp_path):
    code = "import cocola\ntry:\n    cocola.Model()\nexcept cocola.ModelError as e:\n    print(e)\n"
    # A library the user demanded that is not there.
    done = run_python(code, COCOLA_ORT_LIB=str(tmp_path / "libonnxruntime.so.1.31.1"))
    assert done.returncode == 0, done.stderr
    assert "libonnxruntime.so.1.31.1 (from $COCOLA_ORT_LIB) does not exist" in done.stdout
    # No onnxruntime package and nothing in the user cache: the message says what to install.
    hidden = "import sys\nsys.modules['onnxruntime'] = None\n" + code
    done = run_python(hidden, HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path), COCOLA_ORT_LIB="", ORT_DYLIB_PATH="")
    assert done.returncode == 0, done.stderr
    assert "was not found. Looked in:" in done.stdout and "pip install onnxruntime==1.31.1" in done.stdout


def test_eval_pairs_reports_undecodable_pairs_instead_of_raising(model, tmp_path):
    (tmp_path / "broken.wav").write_bytes(b"not audio")
    result = cocola.eval_pairs([(EXAMPLES / "condition.wav", tmp_path / "broken.wav")], model)
    assert result["summary"]["failed"] == 1 and result["pairs"][0]["status"] == "failed"
    assert "broken.wav" in result["pairs"][0]["error"] and result["failed"][0]["id"] == "1"
