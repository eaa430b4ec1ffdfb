"""Per-pair cost of the Python API against the CLI's, measured in one run.

Both score the same pair set (30 s pairs cut from the README's example pair,
16 kHz WAV files) with the same number of ONNX Runtime sessions:

- CLI: ``cocola eval PAIRS.csv --json -j T``; the wall time per pair is
  the evaluation time it reports (decoding and scoring every pair, after the
  model has loaded) divided by the number of pairs, the CPU time per pair
  that of all its threads less a one-pair run's (start-up and model load).
- Python: a loop of ``model.score(cocola.load_audio(c), cocola.load_audio(s), 16_000)``
  with a ``cocola.Model(threads=T)`` loaded beforehand, the same work from
  Python; the same loop on arrays already in memory (what a generation
  pipeline holds); and ``cocola.eval_pairs`` (the CLI's own loop, run in
  this process: the difference to the loops is what the binding adds per call).

Rounds alternate between the two so that a change in the machine's load
hits both; the medians are compared. CPU time (all threads of the process)
is the steadier measure on a busy machine. Needs the package installed
(``pip install ./python``) and a release CLI (``cargo build --release -p cocola-cli``):

    python python/bench/overhead.py [--cli target/release/cocola] [--threads T] [--pairs N] [--rounds R]
"""

import argparse
import json
import os
import resource
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


def cli_cost_per_pair(cli, csv, one_pair_csv, threads, pairs):
    """(wall, CPU) seconds per pair of `cocola eval`. Wall: the evaluation
    time the CLI reports, after its model has loaded. CPU: all its threads,
    less a one-pair run's (process start, model load and one pair)."""

    def run(path, expected):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run([cli, "eval", str(path), "--json", "-j", str(threads)], capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            sys.exit(f"cocola eval failed:\n{done.stderr}")
        report = json.loads(done.stdout)
        assert report["summary"]["scored"] == expected, report["summary"]
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return report["seconds"], cpu

    wall, cpu = run(csv, pairs)
    _, cpu_one = run(one_pair_csv, 1)
    return wall / pairs, (cpu - cpu_one) / (pairs - 1)


def python_cost_per_pair(score_one, items):
    """(wall, CPU) seconds per pair of a Python loop; CPU counts every thread."""
    wall, cpu = time.perf_counter(), time.process_time()
    for item in items:
        score_one(item)
    return (time.perf_counter() - wall) / len(items), (time.process_time() - cpu) / len(items)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cli", default=str(REPO / "target" / "release" / "cocola"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not Path(args.cli).is_file():
        sys.exit(f"no CLI at {args.cli}: cargo build --release -p cocola-cli")

    with tempfile.TemporaryDirectory() as tmp:
        csv, rows = build_pair_set(Path(tmp), args.pairs)
        one_pair = Path(tmp) / "one.csv"
        one_pair.write_text(f"condition,stem\n{rows[0][0]},{rows[0][1]}\n")
        arrays = [(cocola.load_audio(c), cocola.load_audio(s)) for c, s in rows]
        model = cocola.Model(threads=args.threads)

        def from_files(pair):
            model.score(cocola.load_audio(pair[0]), cocola.load_audio(pair[1]), 16_000)

        def from_arrays(pair):
            model.score(pair[0], pair[1], 16_000)

        def library_loop(_):
            cocola.eval_pairs(csv, model)

        from_files(rows[0])  # warm-up: first-run allocations
        runs = {
            "CLI (cocola eval)": [],
            "Python cocola.eval_pairs": [],
            "Python load_audio + score": [],
            "Python score (arrays)": [],
        }
        for _ in range(args.rounds):
            runs["CLI (cocola eval)"].append(cli_cost_per_pair(args.cli, csv, one_pair, args.threads, args.pairs))
            wall, cpu = python_cost_per_pair(library_loop, [None])
            runs["Python cocola.eval_pairs"].append((wall / args.pairs, cpu / args.pairs))
            runs["Python load_audio + score"].append(python_cost_per_pair(from_files, rows))
            runs["Python score (arrays)"].append(python_cost_per_pair(from_arrays, arrays))

    medians = {name: [statistics.median(v[i] for v in values) for i in (0, 1)] for name, values in runs.items()}
    cli_wall, cli_cpu = medians["CLI (cocola eval)"]
    print(f"{args.pairs} pairs of {SECONDS} s, {args.threads} session(s), median of {args.rounds} alternating rounds")
    print(f"{'':30} {'wall ms/pair':>13} {'vs CLI':>7} {'CPU ms/pair':>12} {'vs CLI':>7}")
    for name, (wall, cpu) in medians.items():
        print(f"{name:30} {1e3 * wall:13.1f} {wall / cli_wall:6.3f}x {1e3 * cpu:12.1f} {cpu / cli_cpu:6.3f}x")
    wall, cpu = medians["Python load_audio + score"]
    print(
        f"Python API overhead per pair: {100 * (wall / cli_wall - 1):+.1f} % wall, "
        f"{100 * (cpu / cli_cpu - 1):+.1f} % CPU (target <= 5 %)"
    )


if __name__ == "__main__":
    main()
