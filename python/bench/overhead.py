"""Per-pair cost of the Python API against the CLI's, measured in one run.

Both score the same pair set (30 s pairs cut from the README's example pair,
16 kHz WAV files) with the same number of ONNX Runtime sessions:

- CLI: ``cocola eval PAIRS.csv --json -j T``; the cost per pair is the
  evaluation time it reports (decoding and scoring every pair, after the
  model has loaded) divided by the number of pairs.
- Python: a loop of ``model.score(cocola.load_audio(c), cocola.load_audio(s), 16_000)``
  with a ``cocola.Model(threads=T)`` loaded beforehand, the same work from
  Python; and the same loop on arrays already in memory (what a generation
  pipeline holds).

Rounds alternate between the two so that a change in the machine's load
hits both; the medians are compared. Needs the package installed
(``pip install ./python``) and a release CLI (``cargo build --release -p cocola``):

    python python/bench/overhead.py [--cli target/release/cocola] [--threads T] [--pairs N] [--rounds R]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

import cocola

REPO = Path(__file__).resolve().parents[2]
SECONDS = 30


def write_wav(path, signal):
    pcm = np.round(np.clip(signal, -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(pcm.tobytes())


def build_pair_set(folder, pairs):
    """`pairs` distinct 30 s pairs: the example pair looped, each rotated differently."""
    condition = cocola.load_audio(REPO / "examples" / "condition.wav")
    stem = cocola.load_audio(REPO / "examples" / "stem.wav")
    reps = -(-SECONDS * 16_000 // condition.size)
    condition, stem = np.tile(condition, reps)[: SECONDS * 16_000], np.tile(stem, reps)[: SECONDS * 16_000]
    rows = []
    for i in range(pairs):
        c, s = folder / f"c{i}.wav", folder / f"s{i}.wav"
        write_wav(c, np.roll(condition, 4_001 * i))
        write_wav(s, np.roll(stem, 4_001 * i))
        rows.append((c, s))
    csv = folder / "pairs.csv"
    csv.write_text("condition,stem\n" + "".join(f"{c},{s}\n" for c, s in rows))
    return csv, rows


def cli_seconds_per_pair(cli, csv, threads, pairs):
    done = subprocess.run([cli, "eval", str(csv), "--json", "-j", str(threads)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"cocola eval failed:\n{done.stderr}")
    report = json.loads(done.stdout)
    assert report["summary"]["scored"] == pairs, report["summary"]
    return report["seconds"] / pairs


def python_seconds_per_pair(model, rows):
    started = time.perf_counter()
    for c, s in rows:
        model.score(cocola.load_audio(c), cocola.load_audio(s), 16_000)
    return (time.perf_counter() - started) / len(rows)


def python_in_memory_seconds_per_pair(model, arrays):
    started = time.perf_counter()
    for c, s in arrays:
        model.score(c, s, 16_000)
    return (time.perf_counter() - started) / len(arrays)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cli", default=str(REPO / "target" / "release" / "cocola"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not Path(args.cli).is_file():
        sys.exit(f"no CLI at {args.cli}: cargo build --release -p cocola")

    with tempfile.TemporaryDirectory() as tmp:
        csv, rows = build_pair_set(Path(tmp), args.pairs)
        arrays = [(cocola.load_audio(c), cocola.load_audio(s)) for c, s in rows]
        model = cocola.Model(threads=args.threads)
        python_seconds_per_pair(model, rows[:1])  # warm-up: first-run allocations
        cli, python, memory = [], [], []
        for _ in range(args.rounds):
            cli.append(cli_seconds_per_pair(args.cli, csv, args.threads, args.pairs))
            python.append(python_seconds_per_pair(model, rows))
            memory.append(python_in_memory_seconds_per_pair(model, arrays))

    base = statistics.median(cli)
    print(f"{args.pairs} pairs of {SECONDS} s, {args.threads} session(s), median of {args.rounds} alternating rounds")
    print(f"{'':34} {'ms per pair':>12} {'vs CLI':>8}")
    for name, values in [
        ("CLI (cocola eval)", cli),
        ("Python (load_audio + score)", python),
        ("Python (arrays in memory)", memory),
    ]:
        median = statistics.median(values)
        print(f"{name:34} {1e3 * median:12.1f} {median / base:7.3f}x")
    overhead = statistics.median(python) / base - 1
    print(f"Python API overhead per pair: {100 * overhead:+.1f} % (target <= 5 %)")


if __name__ == "__main__":
    main()
