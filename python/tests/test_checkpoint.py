"""The authors' PyTorch Lightning checkpoints, as ``cocola.Model(path)``: imported
once by the library's resolver (as the CLI does), scoring what PyTorch scored,
and a model without HPS (mel input) scoring the plain score only.

The fixtures are the library's (cocola/tests/fixtures/checkpoint): random-weight
networks of both input kinds saved by PyTorch in Lightning's layout, with the
reference's scores on a committed pair of clips (reference.json).
"""

import gzip
import json
import re
import shutil

import numpy as np
import pytest

import cocola
from conftest import EXAMPLES, REPO, THREADS

FIXTURES = REPO / "cocola" / "tests" / "fixtures" / "checkpoint"
CLIPS = REPO / "cocola" / "tests" / "fixtures" / "default_model"
# As the library's own test: 1e-4 relative to the larger of |score| and the
# RMS of the fixture's scores (a score near zero has no relative error of its own).
REL = 1e-4


@pytest.fixture(scope="module")
def user_cache(tmp_path_factory, model):
    """A user cache of its own (imports land there), for the package and the
    CLI; the CLI runs the ONNX Runtime the package found."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("XDG_CACHE_HOME", str(cache))
        env.delenv("COCOLA_MODEL", raising=False)
        env.setenv("COCOLA_ORT_LIB", model.runtime_library)
        yield cache


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """`{"hps": path, "mel": path}`: the gzipped fixtures, unpacked."""
    folder = tmp_path_factory.mktemp("checkpoints")
    paths = {}
    for kind in ("hps", "mel"):
        paths[kind] = folder / f"{kind}.ckpt"
        with gzip.open(FIXTURES / f"{kind}.ckpt.gz", "rb") as src, open(paths[kind], "wb") as dst:
            shutil.copyfileobj(src, dst)
    return paths


@pytest.fixture(scope="module")
def clips():
    return cocola.load_audio(CLIPS / "00-condition.wav"), cocola.load_audio(CLIPS / "00-stem.wav")


def reference_scores(kind):
    """`{mode: CoCola.score(condition, stem)}` as PyTorch computed it."""
    scores = json.loads((FIXTURES / "reference.json").read_text())["reference"][kind]["scores"]
    return {mode: s["condition_stem"][0] for mode, s in scores.items()}


def test_a_checkpoint_is_imported_once_and_scores_as_pytorch(user_cache, checkpoints, clips, capfd):
    hps = cocola.Model(checkpoints["hps"], threads=THREADS)
    assert "importing checkpoint" in capfd.readouterr().err
    assert hps.source == f"{checkpoints['hps']} (imported)" == hps.info["source"]
    assert hps.info["input"] == "hps" and not hps.info["calibrated"] and hps.modes == cocola.MODES
    assert len(list((user_cache / "cocola" / "imported").glob("*.onnx"))) == 1
    # The second time, the cached import runs.
    assert cocola.Model(checkpoints["hps"], threads=1).info == hps.info
    assert "importing" not in capfd.readouterr().err

    want = reference_scores("hps")
    scale = float(np.sqrt(np.mean(np.square(list(want.values())))))
    condition, stem = clips
    for mode, expected in want.items():
        got = float(hps.score_matrix([condition], [stem], 16_000, mode=mode)[0, 0])
        assert abs(got - expected) <= REL * max(abs(expected), scale), (mode, got, expected)
    score = hps.score(condition, stem, 16_000)
    assert score.fit is None and score.verdict is None and not score.calibrated


def test_a_checkpoint_scores_as_the_cli(user_cache, checkpoints, cli_json):
    expected = cli_json("score", CLIPS / "00-condition.wav", CLIPS / "00-stem.wav", "--model", checkpoints["hps"],
                        "--json", "-j", THREADS)
    model = cocola.Model(checkpoints["hps"], threads=THREADS)
    score = model.score(cocola.load_audio(CLIPS / "00-condition.wav"), cocola.load_audio(CLIPS / "00-stem.wav"),
                        16_000)
    assert model.info == expected["model"]
    for entry in expected["aggregate"]["modes"]:
        assert abs(score.modes[entry["mode"]]["raw"] - entry["raw"]) <= 1e-6, entry["mode"]


def test_a_model_without_hps_has_the_plain_score_only(user_cache, checkpoints, clips, tmp_path, cli, cli_json):
    mel = cocola.Model(checkpoints["mel"], threads=THREADS)
    assert mel.info["input"] == "mel" and mel.modes == ["both"]
    condition, stem = clips
    expected = reference_scores("mel")["both"]
    got = float(mel.score_matrix([condition], [stem], 16_000)[0, 0])
    assert abs(got - expected) <= REL * max(abs(expected), 1.0), (got, expected)

    score = mel.score(condition, stem, 16_000)
    assert list(score.modes) == ["both"] and score.raw is not None
    assert score.windows[0]["raw_harmonic"] is None, "the columns stay, blank"
    assert score.to_dict()["aggregate"]["modes"][0]["mode"] == "both"
    assert mel.embed(condition, 16_000).shape == (1, 512)
    needs_hps = re.escape("the harmonic score needs a model with harmonic/percussive (HPS) input")
    with pytest.raises(ValueError, match=needs_hps):
        mel.score(condition, stem, 16_000, mode="harmonic")
    with pytest.raises(ValueError, match="percussive score needs"):
        mel.embed(condition, 16_000, mode="percussive")
    with pytest.raises(ValueError, match=needs_hps):
        mel.score_matrix([condition], [stem], 16_000, mode="harmonic")
    with pytest.raises(ValueError, match=needs_hps):
        mel.rank(condition, [stem], 16_000, mode="harmonic")
    # An imported checkpoint is uncalibrated: ranked by the plain score, no combined fit.
    assert mel.rank(condition, [stem], 16_000).mode == "both"
    with pytest.raises(ValueError, match="the combined fit needs a model calibrated in every mode"):
        mel.rank(condition, [stem], 16_000, mode="combined")

    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"{CLIPS / '00-condition.wav'},{CLIPS / '00-stem.wav'}\n")
    with pytest.raises(ValueError, match=needs_hps):
        cocola.eval_pairs(pairs, mel, modes=["harmonic"])
    expected = cli_json("eval", pairs, "--model", checkpoints["mel"], "--json", "-j", THREADS)
    result = cocola.eval_pairs(pairs, checkpoints["mel"])
    assert [m["mode"] for m in result["summary"]["modes"]] == ["both"], "the default modes are the model's"
    assert result["model"] == expected["model"]
    assert abs(result["pairs"][0]["raw_both"] - expected["summary"]["modes"][0]["raw"]["mean"]) <= 1e-6

    # The features such a model sees, as `cocola features --input mel`.
    out = tmp_path / "mel.npy"
    cli("features", EXAMPLES / "condition.wav", "--input", "mel", "--out", out, "--hop", "3")
    ours = cocola.features(cocola.load_audio(EXAMPLES / "condition.wav"), 16_000, hop=3.0, input="mel")
    assert ours.shape == np.load(out).shape and ours.shape[0] > 1 and ours.shape[1:] == (1, 64, 501)
    np.testing.assert_allclose(ours, np.load(out), rtol=0, atol=1e-6)
    # The pitch input: the hps shape, the hps percussive channel, its own harmonic one.
    audio = cocola.load_audio(EXAMPLES / "condition.wav")
    pitch, hps = cocola.features(audio, 16_000, input="pitch"), cocola.features(audio, 16_000)
    assert pitch.shape == hps.shape == (2, 64, 501)
    np.testing.assert_array_equal(pitch[1], hps[1])
    assert not np.array_equal(pitch[0], hps[0])
    with pytest.raises(ValueError, match="unknown input kind"):
        cocola.features(stem, 16_000, input="cqt")


def test_a_broken_or_malicious_checkpoint_is_refused(user_cache, tmp_path):
    with pytest.raises(cocola.ModelError, match="cannot import"):
        cocola.Model(FIXTURES / "evil.ckpt")
    torn = tmp_path / "torn.ckpt"
    torn.write_bytes((FIXTURES / "tiny.ckpt").read_bytes()[:300])
    with pytest.raises(cocola.ModelError, match="cannot import"):
        cocola.Model(torn)
