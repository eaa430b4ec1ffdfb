"""Shapes, layouts and the relations between the API's functions."""

import numpy as np
import pytest

import cocola
from conftest import EXAMPLES, tone


def test_constants():
    assert cocola.SAMPLE_RATE == 16_000 and cocola.WINDOW_SECONDS == 5.0 and cocola.EMBEDDING_DIM == 512
    assert cocola.MODES == ["both", "harmonic", "percussive"]
    assert cocola.ORT_VERSION == "1.31.1"
    assert issubclass(cocola.ModelError, cocola.CocolaError) and issubclass(cocola.AudioError, cocola.CocolaError)


def test_model_describes_itself(model):
    assert model.source == "default (embedded)" and model.threads == 2
    # Two channels (HPS or, since 0.10.0, pitch): all three modes.
    assert model.info["input"] in ("hps", "pitch") and model.info["calibrated"]
    assert len(model.info["sha256"]) == 64
    assert model.info["source"] == model.source and model.info["name"] == model.metadata["name"]
    assert model.metadata["calibration"] is not None
    assert model.modes == cocola.MODES
    # The runtime comes from the onnxruntime wheel this package depends on.
    assert "onnxruntime" in model.runtime_library and model.runtime_library.endswith("1.31.1")
    assert "cocola.Model(" in repr(model)


def test_embed_shapes_and_modes(model, example_pair):
    condition, _ = example_pair  # 10 s
    both = model.embed(condition, 16_000)
    assert both.shape == (2, 512) and both.dtype == np.float32
    assert model.embed(condition, 16_000, hop=2.5).shape == (3, 512)
    assert model.embed(condition[:8_000], 16_000).shape == (1, 512)
    assert np.all(np.abs(both) <= 1.0), "after tanh"
    harmonic = model.embed(condition, 16_000, mode="harmonic")
    assert not np.allclose(both, harmonic)
    # A window embeds the same alone or among others.
    np.testing.assert_allclose(model.embed(condition[80_000:], 16_000)[0], both[1], atol=1e-5)


def test_score_report(model, example_pair):
    condition, stem = example_pair
    score = model.score(condition, stem, 16_000, hop=2.5)
    assert score.mode == "both" and score.calibrated
    assert score.scored_windows == 3 and score.silent_windows == 0 and score.duration == 10.0
    np.testing.assert_array_equal(score.starts, [0.0, 2.5, 5.0])
    assert score.timeline.shape == (3,) and score.timeline.dtype == np.float32
    assert len(score.windows) == 3 and score.windows[1]["start"] == 2.5
    assert [w["raw_both"] for w in score.windows] == pytest.approx(score.timeline.tolist(), abs=1e-4)
    assert score.raw == pytest.approx(float(np.mean(score.timeline)), abs=1e-3)
    assert 0 <= score.fit <= 100 and score.verdict in ("fits", "unsure", "clashes")
    assert 0 <= score.combined["fit"] <= 100 and score.combined["verdict"] in ("fits", "unsure", "clashes")
    assert all(0 <= w["fit_combined"] <= 100 for w in score.windows)
    percussive = model.score(condition, stem, 16_000, mode="percussive", hop=2.5)
    assert percussive.raw == score.modes["percussive"]["raw"]
    assert "cocola.Score(mode='both'" in repr(score)
    # Both directions averaged: order-free, and without a fit (the calibration is one-way).
    symmetric = model.score(condition, stem, 16_000, hop=2.5, symmetric=True)
    reverse = model.score(stem, condition, 16_000, hop=2.5, symmetric=True)
    assert symmetric.raw == pytest.approx(reverse.raw, abs=1e-5) and symmetric.raw != score.raw
    assert symmetric.fit is None and not symmetric.calibrated and symmetric.combined is None
    # silence_db=-inf skips no window, not even digital silence.
    quiet = model.score(condition, np.zeros_like(stem), 16_000, silence_db=float("-inf"))
    assert quiet.scored_windows == 2


def test_silent_windows_are_not_scored(model, example_pair):
    condition, stem = example_pair
    quiet = np.zeros_like(stem)
    score = model.score(condition, quiet, 16_000)
    assert score.raw is None and score.fit is None and score.verdict is None
    assert score.scored_windows == 0 and np.isnan(score.timeline).all()
    assert score.windows[0]["state"] == "silent" and score.windows[0]["silent_stem"]
    assert score.modes["both"] == {"raw": None, "fit": None, "verdict": None}
    assert score.combined is None
    assert score.windows[0]["fit_combined"] is None and score.windows[0]["verdict_combined"] is None
    # A stem that ends early counts as silent where it has ended.
    assert model.score(condition, stem[:80_000], 16_000).scored_windows == 1


def test_channels_and_rates(model):
    rate = 22_050
    left, right = tone(5.0, 220.0, rate), tone(5.0, 330.0, rate, seed=1)
    stereo = np.stack([left, right])
    mono = (left + right) / 2
    a = model.score(stereo, stereo, rate).raw
    b = model.score(mono, mono, rate).raw
    assert a == b, "[channels, samples] is mixed to mono as the mean of the channels"
    # Lists and other array-likes go through numpy.asarray; any C/F order works.
    assert model.score(mono.tolist(), np.asfortranarray(stereo), rate).raw == a
    assert cocola.features(stereo[:, ::2], rate // 2).shape == (2, 64, 501)


def test_alternatives_compare_the_stem_with_itself(model, example_pair):
    condition, stem = example_pair
    result = model.alternatives(condition, stem, 16_000)
    assert result["windows"] == 2 and result["beat_seconds"] > 0
    kinds = [next(iter(c["change"])) for c in result["changes"]]
    assert kinds.count("transpose") == 12 and kinds.count("move") == 8
    # The stem as it is scores as ``score`` scores it (the same windows, the same mean).
    plain = model.score(condition, stem, 16_000)
    assert result["as_is"]["combined"]["fit"] == pytest.approx(plain.combined["fit"], abs=1e-3)
    for reading in (result["key"], result["timing"]):
        assert reading["better"] in (True, False) and reading["best"] in result["changes"]
    # The same stem three semitones up: a transposition fits clearly better.
    up = np.asarray(cocola.load_audio(EXAMPLES / "stem-transposed.wav"))
    assert model.alternatives(condition, up, 16_000)["key"]["better"]
    with pytest.raises(ValueError, match="audible"):
        model.alternatives(np.zeros(16_000 * 6, np.float32), stem, 16_000)


def test_score_matrix(model, example_pair):
    condition, stem = example_pair
    clips = [condition[:80_000], stem[:80_000], stem[80_000:]]
    matrix = model.score_matrix(clips[:2], clips, 16_000)
    assert matrix.shape == (2, 3) and matrix.dtype == np.float32
    # Entry [i, j] is the score of one 5 s window pair.
    for i in range(2):
        for j in range(3):
            expected = model.score(clips[i], clips[j], 16_000).raw
            assert matrix[i, j] == pytest.approx(expected, rel=1e-5), (i, j)
    harmonic = model.score_matrix(clips[:1], clips[1:2], 16_000, mode="harmonic")
    assert harmonic[0, 0] == pytest.approx(model.score(clips[0], clips[1], 16_000).modes["harmonic"]["raw"], rel=1e-5)


def test_features(example_pair):
    condition, _ = example_pair
    f = cocola.features(condition, 16_000)
    assert f.shape == (2, 64, 501) and f.dtype == np.float32
    assert f.max() == 0.0 and f.min() >= -80.0, "dB relative to each channel's maximum"
    assert cocola.features(condition, 16_000, hop=1.0).shape == (6, 2, 64, 501)


def test_rank(model, example_pair):
    condition, stem = example_pair
    candidates = [np.roll(stem, 8_000), stem, np.zeros_like(stem), stem[:40_000]]
    ranking = model.rank(condition, candidates, 16_000)
    assert len(ranking) == 4 and ranking.mode == "combined", "the default for a calibrated model"
    scored = [model.score(condition, c, 16_000) for c in candidates]
    combined = [s.combined for s in scored]
    ranked = sorted((i for i in range(4) if combined[i] is not None), key=lambda i: -combined[i]["log_odds"])
    assert ranking.order == ranked + [2], "best first, the silent candidate last"
    records = list(ranking)
    assert [r["index"] for r in records] == ranking.order and records == ranking.records
    assert [r["name"] for r in records] == [str(i) for i in ranking.order]
    assert [r["rank"] for r in records] == [1, 2, 3, None]
    assert [r["fit"] for r in records[:3]] == [combined[i]["fit"] for i in ranked]
    assert all(r["fit"] == r["fit_combined"] and r["raw"] is None for r in records[:3]), "no raw combined score"
    assert all(r["worst_window_fit"] is not None for r in records[:3])
    assert records[3]["status"] == "silent" and "silent" in records[3]["reason"]
    # By the plain score on request: ordered by the raw score Model.score gives.
    by_both = model.rank(condition, candidates, 16_000, mode="both")
    raws = [s.raw for s in scored if s.raw is not None]
    assert by_both.mode == "both" and [r["raw"] for r in by_both.records[:3]] == sorted(raws, reverse=True)
    # The short candidate was scored on one window of two: a note says so.
    assert any("Not every candidate was scored on the same windows" in n for n in ranking.notes)
    named = model.rank(condition, {"real": stem, "late": np.roll(stem, 8_000)}, 16_000, mode="percussive")
    assert {r["name"] for r in named.records} == {"real", "late"} and named.mode == "percussive"
    assert named.records[0]["raw"] == named.records[0]["raw_percussive"]
    assert "cocola.Ranking(mode='percussive', 2 candidates" in repr(named)
