#!/usr/bin/env python3
"""Does a model hear the key of a transposed stem, or the pitch shifter?

The sensitivity test's transposed stems are made with `cocola perturb
--transpose` (a phase vocoder, then a resampler), and so are the trainer's
transposed hard negatives. A model can tell the true stem from a transposed
one by the shifter's artefacts alone, without hearing any key. This check
separates the two. For each (condition, stem) clip it writes

  original     the stem as it is: in key, never processed;
  transposed   the stem shifted by k semitones: out of key, one pass;
  round-trip   the transposed stem shifted back by -k: in key, two passes;

and two comparison sets for `cocola eval` (docs/EVALUATION.md, "Pair sets"):

  as-tested.csv   original against transposed (what the sensitivity test
                  asks) and against round-trip (same key, only processing:
                  a model that hears harmony alone is at chance, 50 %);
  processed.csv   round-trip against transposed: in key beats out of key
                  although the in-key stem went through the shifter twice.
                  A model that hears the key wins; one that hears the
                  shifter loses (below 50 %).

It then runs `cocola eval` on both and prints their win rates, each beside
the model-free chroma floor on the same files.

  shifter_check.py CLIPS_DIR OUT_DIR [--model M.onnx] [--cocola PATH] [--seed 11]

CLIPS_DIR holds NN-condition.wav / NN-stem.wav pairs, as
`tools/corpus/make_clips.py` writes them. k is drawn (seeded) from +-1..6
semitones per clip, as the sensitivity test draws it. Only Python's
standard library is needed.
"""

import argparse
import random
import subprocess
import sys
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="See the module docstring (head -40 of this file) for what is compared and why.",
    )
    ap.add_argument("clips", type=Path, help="directory of NN-condition.wav / NN-stem.wav pairs")
    ap.add_argument("out", type=Path, help="directory for the perturbed stems and the two comparison sets")
    ap.add_argument("--model", type=Path, help="ONNX model (default: the embedded default model)")
    ap.add_argument("--cocola", default="target/release/cocola", help="the cocola binary")
    ap.add_argument("--seed", type=int, default=11, help="seed of the semitone draw")
    args = ap.parse_args()

    stems = sorted(args.clips.glob("*-stem.wav"))
    if not stems:
        sys.exit(f"no NN-stem.wav in {args.clips}")
    audio = args.out / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    as_tested = ["id,group,kind,condition,stem"]
    processed = ["id,group,kind,condition,stem"]
    for i, stem in enumerate(stems):
        group = stem.name.removesuffix("-stem.wav")
        condition = stem.with_name(f"{group}-condition.wav").resolve()
        k = rng.choice([1, 2, 3, 4, 5, 6]) * rng.choice([-1, 1])
        transposed = audio / f"{group}-transposed{k:+d}.wav"
        round_trip = audio / f"{group}-round-trip{k:+d}.wav"
        perturb(args.cocola, stem, k, transposed)
        perturb(args.cocola, transposed, -k, round_trip)
        as_tested += [
            f"{group}a,{group},coherent,{condition},{stem.resolve()}",
            f"{group}b,{group},transposed,{condition},{transposed.resolve()}",
            f"{group}c,{group},pitch-round-trip,{condition},{round_trip.resolve()}",
        ]
        processed += [
            f"{group}a,{group},coherent,{condition},{round_trip.resolve()}",
            f"{group}b,{group},transposed,{condition},{transposed.resolve()}",
        ]
        print(f"\r{i + 1}/{len(stems)} clips perturbed", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    for name, rows in (("as-tested", as_tested), ("processed", processed)):
        csv = args.out / f"{name}.csv"
        csv.write_text("\n".join(rows) + "\n")
        cmd = [args.cocola, "eval", str(csv)] + (["--model", str(args.model)] if args.model else [])
        print(f"== {name}: {' '.join(cmd)}", flush=True)
        if subprocess.run(cmd).returncode not in (0, 3):
            sys.exit(f"{' '.join(cmd)} failed")


def perturb(cocola, stem, semitones, out):
    cmd = [cocola, "perturb", str(stem), "--transpose", str(semitones), "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr}")


if __name__ == "__main__":
    main()
