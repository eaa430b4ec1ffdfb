#!/usr/bin/env python3
"""Short (condition, stem) clips cut from the held-out test split of the
rendered corpus (`cargo xtask corpus`), for the default model's regression
test and the README's example.

  make_clips.py AUDIO_DIR OUT_DIR [--tracks 6] [--seconds 5] [--seed 0]

For each of `--tracks` tracks drawn (seeded) from AUDIO_DIR/test/, one stem
is drawn as the stem to judge and the sum of the track's other stems is the
condition; the clip is the `--seconds` long stretch (on a 1 s grid) where
the quieter of the two is loudest, so neither side is silent. Written as
16 kHz mono 16-bit WAV: OUT_DIR/NN-condition.wav, OUT_DIR/NN-stem.wav, and
OUT_DIR/clips.json recording where each came from (track, stem, start,
SoundFont, MIDI source). The tracks are taken as drawn: no clip is picked
for how a model scores it.

The audio is generated from public-domain / freely licensed sources (the
music21 corpus, MMA grooves) with the Debian SoundFonts; see
the README, section "Training corpus", and examples/README.md for their licences.
"""

import argparse
import json
import os
import random
import wave

import numpy as np

RATE = 16000


def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() == RATE, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0


def write_wav(path, x):
    pcm = np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


def rms(x):
    return float(np.sqrt(np.mean(x * x))) if len(x) else 0.0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("audio_dir")
    p.add_argument("out_dir")
    p.add_argument("--tracks", type=int, default=6)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", default="test")
    args = p.parse_args()

    split_dir = os.path.join(args.audio_dir, args.split)
    tracks = sorted(
        d for d in os.listdir(split_dir) if os.path.isfile(os.path.join(split_dir, d, "render.json"))
    )
    rng = random.Random(f"clips-{args.seed}")
    # One track per piece: variants of a piece would make near-duplicate clips.
    by_piece = {}
    for t in tracks:
        by_piece.setdefault(t.split(".v")[0], []).append(t)
    pieces = sorted(by_piece)
    chosen = [rng.choice(by_piece[p]) for p in rng.sample(pieces, args.tracks)]

    os.makedirs(args.out_dir, exist_ok=True)
    n = int(args.seconds * RATE)
    records = []
    for i, track in enumerate(chosen):
        info = json.load(open(os.path.join(split_dir, track, "render.json")))
        stems = {s["name"]: read_wav(os.path.join(split_dir, track, s["name"] + ".wav")) for s in info["stems"]}
        names = sorted(stems)
        stem_name = rng.choice(names)
        length = min(len(x) for x in stems.values())
        stem = stems[stem_name][:length]
        condition = sum(stems[k][:length] for k in names if k != stem_name)
        starts = range(0, max(1, length - n + 1), RATE)
        start = max(starts, key=lambda s: min(rms(stem[s : s + n]), rms(condition[s : s + n])))
        # The condition is a sum of stems: keep it from clipping, same gain on both.
        peak = max(np.max(np.abs(condition[start : start + n])), np.max(np.abs(stem[start : start + n])), 1e-9)
        gain = min(1.0, 0.99 / peak)
        write_wav(os.path.join(args.out_dir, f"{i:02d}-condition.wav"), gain * condition[start : start + n])
        write_wav(os.path.join(args.out_dir, f"{i:02d}-stem.wav"), gain * stem[start : start + n])
        records.append(
            {
                "clip": f"{i:02d}",
                "track": track,
                "stem": stem_name,
                "condition_stems": [k for k in names if k != stem_name],
                "start_seconds": start / RATE,
                "seconds": args.seconds,
                "soundfont": os.path.basename(info["soundfont"]),
                "midi": os.path.basename(info["source"]),
            }
        )
        print(f"{i:02d}: {track} stem={stem_name} start={start / RATE:.0f}s")
    with open(os.path.join(args.out_dir, "clips.json"), "w") as f:
        json.dump({"split": args.split, "seed": args.seed, "clips": records}, f, indent=1)


if __name__ == "__main__":
    main()
