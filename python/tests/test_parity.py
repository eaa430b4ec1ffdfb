"""The package gives the CLI's numbers: same audio in, same scores out (to
1e-6), for single pairs, pair sets, sub-mix accuracy, features and metadata."""

import csv
import math

import numpy as np
import pytest

import cocola
from conftest import EXAMPLES, THREADS, read_wav, tone, write_wav

TOLERANCE = 1e-6


def assert_close(ours, theirs, path="result"):
    """Recursive comparison of JSON-like values; numbers to TOLERANCE."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and ours.keys() == theirs.keys(), f"{path}: {ours!r} != {theirs!r}"
        for key in theirs:
            assert_close(ours[key], theirs[key], f"{path}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), f"{path}: {ours!r} != {theirs!r}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_close(a, b, f"{path}[{i}]")
    elif isinstance(theirs, float) and not isinstance(ours, bool):
        assert isinstance(ours, (int, float)), f"{path}: {ours!r} != {theirs!r}"
        assert abs(ours - theirs) <= TOLERANCE, f"{path}: {ours!r} != {theirs!r}"
    else:
        assert ours == theirs, f"{path}: {ours!r} != {theirs!r}"


def test_example_pair_scores_as_the_cli(model, example_pair, cli_json):
    condition, stem = example_pair
    expected = cli_json("score", EXAMPLES / "condition.wav", EXAMPLES / "stem.wav", "--json", "-j", THREADS)
    score = model.score(condition, stem, 16_000)
    assert_close(score.to_dict(), {k: expected[k] for k in ("duration_seconds", "windows", "aggregate")})
    for entry in expected["aggregate"]["modes"]:
        ours = score.modes[entry["mode"]]
        assert abs(ours["raw"] - entry["raw"]) <= TOLERANCE
        assert abs(ours["fit"] - entry["fit"]) <= TOLERANCE
        assert ours["verdict"] == entry["verdict"]
    assert score.raw == score.modes["both"]["raw"] and score.verdict == expected["aggregate"]["modes"][0]["verdict"]
    combined = expected["aggregate"]["combined"]
    assert abs(score.combined["log_odds"] - combined["log_odds"]) <= TOLERANCE
    assert abs(score.combined["fit"] - combined["fit"]) <= TOLERANCE
    assert score.combined["verdict"] == combined["verdict"]


def test_stereo_44k_arrays_score_as_the_cli_reads_the_files(model, tmp_path, cli_json):
    rate = 44_100
    condition = np.stack([tone(7.0, 220.0, rate), tone(7.0, 330.0, rate, seed=1)])
    stem = np.stack([tone(7.0, 110.0, rate, beat=0.25, seed=2), tone(7.0, 165.0, rate, seed=3)])
    c_path = write_wav(tmp_path / "condition.wav", condition, rate)
    s_path = write_wav(tmp_path / "stem.wav", stem, rate)
    expected = cli_json("score", c_path, s_path, "--json", "--hop", "1", "-j", THREADS)
    # What the files hold (16-bit), as the decoder reads them.
    condition, _ = read_wav(c_path)
    stem, _ = read_wav(s_path)
    score = model.score(condition, stem, rate, hop=1.0)
    assert score.scored_windows == 3
    assert_close(score.to_dict(), {k: expected[k] for k in ("duration_seconds", "windows", "aggregate")})
    # float64 input is the same signal.
    assert score.raw == model.score(condition.astype(np.float64), stem.astype(np.float64), rate, hop=1.0).raw


def test_candidates_rank_as_the_cli(model, tmp_path, cli_json):
    condition_path = EXAMPLES / "condition.wav"
    stem, _ = read_wav(EXAMPLES / "stem.wav")
    signals = [stem[0], np.roll(stem[0], 5_333), stem[0][::-1], stem[0], np.zeros_like(stem[0])]
    paths = [write_wav(tmp_path / f"take{i}.wav", s, 16_000) for i, s in enumerate(signals)]
    # Both by their default: the combined fit (the default model is calibrated).
    expected = cli_json("rank", condition_path, *paths, "--json", "-j", THREADS)
    assert expected["mode"] == "combined"
    condition, _ = read_wav(condition_path)
    # Named by their paths, as the CLI names them.
    candidates = {str(p): read_wav(p)[0] for p in paths}
    ranking = model.rank(condition[0], candidates, 16_000)
    assert_close(ranking.to_dict(), {k: expected[k] for k in ("mode", "candidates", "notes")})
    assert ranking.order[-1] == 4 and ranking.records[-1]["status"] == "silent"
    ties = [r for r in ranking.records if r["index"] in (0, 3)]
    assert ties[0]["rank"] == ties[1]["rank"] and ties[0]["tied_with"] == [str(paths[3])]


def test_pair_set_evaluates_as_the_cli(model, tmp_path, cli_json):
    silence = np.zeros(16_000 * 6, dtype=np.float32)
    write_wav(tmp_path / "quiet.wav", silence, 16_000)
    write_wav(tmp_path / "c2.wav", tone(8.0, 196.0), 16_000)
    write_wav(tmp_path / "s2.wav", tone(8.0, 98.0, beat=0.25, seed=5), 16_000)
    (tmp_path / "broken.wav").write_bytes(b"RIFF not really")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "id,condition,stem\n"
        f"example,{EXAMPLES / 'condition.wav'},{EXAMPLES / 'stem.wav'}\n"
        "synthetic,c2.wav,s2.wav\n"
        "silent,quiet.wav,s2.wav\n"
        "broken,c2.wav,broken.wav\n"
    )
    out = tmp_path / "cli.csv"
    done_json = cli_json("eval", pairs, "--json", "--out", out, "-j", THREADS, code=3)
    result = cocola.eval_pairs(pairs, model)
    for key in ("kind", "model", "direction", "hop_seconds", "silence_dbfs", "failed", "audio_seconds"):
        assert_close(result[key], done_json[key], key)
    assert result["set"] == done_json["set"]
    assert_close(result["summary"], done_json["summary"], "summary")
    assert result["summary"]["scored"] == 2 and result["summary"]["failed"] == 1

    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert 0.0 <= float(rows[0]["fit_combined"]) <= 100.0, "the default model is calibrated"
    assert [list(r) for r in result["pairs"]] == [list(row) for row in rows], "same columns as --out"
    for ours, row in zip(result["pairs"], rows):
        for column, cell in row.items():
            value = ours[column]
            if cell == "":
                assert value in (None, ""), f"{column}: {value!r}"
            elif isinstance(value, float):
                assert math.isclose(value, float(cell), abs_tol=1e-3 if column == "duration_s" else TOLERANCE)
            else:
                assert str(value) == cell, f"{column}: {value!r} != {cell!r}"


@pytest.fixture(scope="module")
def stem_tracks(tmp_path_factory):
    """Five tracks of two or three 12 s stems, each track in its own key and tempo."""
    root = tmp_path_factory.mktemp("stems")
    for track in range(5):
        base = 110.0 * 2 ** (track / 5)
        for stem in range(2 + track % 2):
            signal = tone(12.0, base * (stem + 1), beat=0.3 + 0.1 * track, seed=10 * track + stem)
            write_wav(root / f"track{track}" / f"stem{stem}.wav", signal, 16_000)
    return root


def test_submix_accuracy_as_the_cli(model, stem_tracks, cli_json, tmp_path):
    expected = cli_json("eval", "--stems", stem_tracks, "--k", "2,4", "--anchors", "8", "--seed", "3",
                        "--no-cache", "--json", "-j", THREADS)
    result = cocola.eval_stems(stem_tracks, model, k=[2, 4], anchors=8, seed=3, cache=False)
    assert result["kind"] == "stems" and result["cache_dir"] is None
    for key in ("tracks_found", "tracks_used", "windows", "seed", "skipped", "failed_tracks", "model"):
        assert result[key] == expected[key], key
    assert_close(result["results"], expected["results"], "results")
    # (K, mode), and the combined fit per K: the default model is calibrated.
    assert [r["mode"] for r in result["results"]] == ["both", "harmonic", "percussive", "combined"] * 2

    # The embedding cache: a second run embeds nothing and gives the same numbers.
    first = cocola.eval_stems(stem_tracks, model, k=[2, 4], anchors=8, seed=3, cache_dir=tmp_path)
    second = cocola.eval_stems(stem_tracks, model, k=[2, 4], anchors=8, seed=3, cache_dir=tmp_path)
    assert first["cache"]["misses"] > 0 and second["cache"]["misses"] == 0
    assert second["cache"]["hits"] == first["cache"]["misses"]
    assert second["embed"]["encoder_rows"] == 0
    assert_close(second["results"], expected["results"], "cached results")


def test_features_as_the_cli(example_pair, cli, tmp_path):
    condition, _ = example_pair
    out = tmp_path / "f.npy"
    cli("features", EXAMPLES / "condition.wav", "--out", out, "--hop", "2.5")
    expected = np.load(out)
    ours = cocola.features(condition, 16_000, hop=2.5)
    assert ours.shape == expected.shape == (3, 2, 64, 501) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, expected, rtol=0, atol=TOLERANCE)
    np.testing.assert_array_equal(cocola.features(condition, 16_000), ours[0])


def test_symmetric_published_pair_set_as_the_cli(model, tmp_path, cli_json):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"{EXAMPLES / 'condition.wav'},{EXAMPLES / 'stem.wav'}\n")
    expected = cli_json("eval", pairs, "--protocol", "published", "--symmetric", "--json", "-j", THREADS)
    result = cocola.eval_pairs(pairs, model, hop=2.5, silence_db=float("-inf"), symmetric=True)
    assert result["direction"] == expected["direction"] == "symmetric"
    assert_close(result["summary"], expected["summary"], "summary")


def test_model_info_and_audio_as_the_cli(model, example_pair, cli_json):
    assert model.metadata == cli_json("model-info", "--json")
    assert model.info == cli_json("score", EXAMPLES / "condition.wav", EXAMPLES / "stem.wav", "--json")["model"]
    condition, _ = example_pair
    np.testing.assert_array_equal(cocola.load_audio(EXAMPLES / "condition.wav"), condition)
