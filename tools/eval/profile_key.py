#!/usr/bin/env python3
"""How much key the time-pitch-class pooling's profile can carry.

Reads a twins comparison set (`frontend_key.py --write-set DIR`: 5 s windows
of a stem, its exact transposed twin and the rest of the track), computes
the pitch input's features of each window with `cocola features --input
pitch`, and folds them the way the encoder's parameter-free profile does
(channel 0's semitone bands averaged over the window, folded into the 12
pitch classes, centred). It then asks how often the rest's profile agrees
more with the stem's than with the twin's (dot product). No model is
involved: this is the ceiling of a score that reads key from the profile
alone, to set beside the chroma floor of `cocola eval`.

    .cache/corpus/venv/bin/python tools/eval/profile_key.py SET_DIR [--cocola target/release/cocola]
"""

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

PITCH_CLASSES = 12


def profile(features):
    """The encoder's pitch-class profile of one [2, 64, 501] window."""
    band_means = features[0].mean(axis=1)
    folded = np.array([band_means[c::PITCH_CLASSES].mean() for c in range(PITCH_CLASSES)])
    return folded - folded.mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("set", type=Path, help="a twins comparison set (its comparison.csv and WAVs)")
    parser.add_argument("--cocola", default="target/release/cocola", help="the cocola binary")
    args = parser.parse_args()
    rows = list(csv.DictReader(open(args.set / "comparison.csv")))
    groups = {}
    for r in rows:
        groups.setdefault(r["group"], {})[r["kind"]] = (r["condition"], r["stem"])

    cache = {}
    with tempfile.TemporaryDirectory() as tmp:

        def features_of(name):
            if name not in cache:
                out = Path(tmp) / f"{name}.npy"
                subprocess.run(
                    [args.cocola, "features", str(args.set / name), "--input", "pitch", "--out", str(out)],
                    check=True,
                    capture_output=True,
                )
                x = np.load(out)
                cache[name] = profile(x[0] if x.ndim == 4 else x)
            return cache[name]

        wins = []
        for done, kinds in enumerate(groups.values(), 1):
            if "coherent" not in kinds or "transposed" not in kinds:
                continue
            (rest, stem), (_, twin) = kinds["coherent"], kinds["transposed"]
            target = features_of(rest)
            true, transposed = target @ features_of(stem), target @ features_of(twin)
            wins.append(1.0 if true > transposed else 0.5 if true == transposed else 0.0)
            print(f"\r{done}/{len(groups)} windows", end="", file=sys.stderr)
        print(file=sys.stderr)
    if not wins:
        raise SystemExit(f"{args.set}: no window has both a coherent and a transposed row")
    rate = float(np.mean(wins))
    half = 1.96 * np.sqrt(rate * (1 - rate) / len(wins))
    print(f"{args.set}: the true stem's profile agrees more with the rest's than its twin's in "
          f"{100 * rate:.1f} % +- {100 * half:.1f} of {len(wins)} windows")


if __name__ == "__main__":
    main()
