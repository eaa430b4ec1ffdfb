#!/usr/bin/env python3
"""How much key does a spectrogram front end keep? Measured on exact twins.

A model can only hear key if its input keeps it. This check reads key from
several front ends with the simplest possible reader, no model: a chroma
(12 pitch classes) folded from the front end's bands, compared by cosine.

For every tonal stem of every track that has transposed twins (rendered by
`cocola-render render --transposed-twins`: the same notes re-rendered k
semitones away, so there is no pitch shifter and no artefact), it draws
5 s windows and asks each front end: is the stem's chroma closer to the rest
of the track (in the original key) than its twin's is? The win rate is the
share of windows where it is (ties count half); 50 % means the front end
keeps no key this reader can find.

Front ends: the feature contract's own (STFT 1024 with a 400-sample window,
64 Slaney mel bands from 60 Hz to 7.8 kHz), the same STFT's raw bins, and
longer windows with more mel bands or semitone-spaced (log-frequency)
bands. The last row is the sensitivity test's chroma floor (a 4096-point
spectrum). A learnt encoder may read more than a chroma does, but what a
front end has blurred away no encoder can recover.

  frontend_key.py SPLIT_DIR [--windows 2] [--seed 0] [--tracks N] [--json OUT] [--write-set DIR]

--write-set DIR also writes every window drawn (the rest of the track, the
stem, its twin) as WAV files with a comparison set, so that a model can be
scored on exactly these windows (docs/EVALUATION.md, "Pair sets"):

  cocola eval DIR/comparison.csv [--model M.onnx]

SPLIT_DIR is a rendered split (e.g. .cache/corpus/audio/validation): one
folder per track with 16 kHz mono WAV stems and a transposed<+k>/ folder of
twins. Needs numpy (the corpus venv has it: .cache/corpus/venv/bin/python).
"""

import argparse
import json
import random
import sys
import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
WINDOW = 5 * SAMPLE_RATE
HOP = 160
C0_HZ = 16.351598
C2_HZ = 4 * C0_HZ
#: Skip windows where the stem or the rest is this quiet (RMS): silence has no key.
MIN_RMS = 1e-3
#: The floor's chroma: ln(1 + 100 a) of each band's amplitude a.
COMPRESSION = 100.0


def read_wav(path):
    with wave.open(str(path)) as w:
        if w.getframerate() != SAMPLE_RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise SystemExit(f"{path}: expected 16 kHz mono 16-bit WAV, as the corpus renders")
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768


def hz_to_slaney_mel(hz):
    hz = np.asarray(hz, dtype=np.float64)
    log = 15.0 + np.log(np.maximum(hz, 1e-9) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log, hz / (200.0 / 3))


def slaney_mel_to_hz(mel):
    mel = np.asarray(mel, dtype=np.float64)
    log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log, mel * (200.0 / 3))


def triangles(n_fft, points_hz):
    """Triangular bands over the FFT bins: band i rises from point i, peaks at
    i + 1 and falls to i + 2 (librosa's construction, Slaney area norm). A band
    narrower than a bin gets the bin nearest its centre, so none is empty."""
    bins_hz = np.linspace(0, SAMPLE_RATE / 2, n_fft // 2 + 1)
    n = len(points_hz) - 2
    weights = np.zeros((n, len(bins_hz)))
    for i in range(n):
        lo, mid, hi = points_hz[i : i + 3]
        rise = (bins_hz - lo) / (mid - lo)
        fall = (hi - bins_hz) / (hi - mid)
        weights[i] = np.maximum(0, np.minimum(rise, fall))
        if not weights[i].any():
            weights[i, np.argmin(np.abs(bins_hz - mid))] = 1.0
    weights *= (2.0 / (points_hz[2:] - points_hz[:-2]))[:, None]
    return weights, points_hz[1:-1]


def mel_bank(n_fft, n_mels, f_min=60.0, f_max=7800.0):
    mels = np.linspace(hz_to_slaney_mel(f_min), hz_to_slaney_mel(f_max), n_mels + 2)
    return triangles(n_fft, slaney_mel_to_hz(mels))


def log_bank(n_fft, per_semitone, bands, f_min=55.0):
    """`bands` log-spaced bands, `per_semitone` to a semitone, the lowest
    centred on f_min."""
    return triangles(n_fft, f_min * 2.0 ** (np.arange(-1, bands + 1) / (12 * per_semitone)))


def pitch_classes(centres_hz, max_deviation=None, low=55.0, high=7800.0):
    """Each band's pitch class, or -1 for bands outside [low, high] or, when
    max_deviation is set, farther than that (semitones) from any note."""
    classes = np.full(len(centres_hz), -1)
    for i, hz in enumerate(centres_hz):
        if low <= hz <= high:
            semitones = 12 * np.log2(hz / C0_HZ)
            if max_deviation is None or abs(semitones - round(semitones)) <= max_deviation:
                classes[i] = int(round(semitones)) % 12
    return classes


class FrontEnd:
    """|STFT|^2 (centred, Hann window of `win` zero-padded to `n_fft`), then
    optionally a filterbank, read as a chroma."""

    def __init__(self, name, n_fft, win, hop=HOP, bank=None, max_deviation=None, high=7800.0):
        self.name, self.n_fft, self.win, self.hop = name, n_fft, win, hop
        if bank is None:
            self.bank, centres = None, np.arange(n_fft // 2 + 1) * SAMPLE_RATE / n_fft
        else:
            self.bank, centres = bank
        self.classes = pitch_classes(centres, max_deviation, high=high)
        window = np.zeros(n_fft)
        offset = (n_fft - win) // 2
        window[offset : offset + win] = np.hanning(win + 1)[:-1]
        self.window = window

    def chroma(self, signal):
        padded = np.pad(signal, self.n_fft // 2, mode="reflect")
        frames = 1 + (len(padded) - self.n_fft) // self.hop
        index = np.arange(self.n_fft)[None, :] + self.hop * np.arange(frames)[:, None]
        power = np.abs(np.fft.rfft(padded[index] * self.window, axis=1)) ** 2
        if self.bank is not None:
            power = power @ self.bank.T
        amplitude = np.sqrt(power) * 2.0 / self.window.sum()
        compressed = np.log1p(COMPRESSION * amplitude).sum(axis=0)
        return np.bincount(self.classes[self.classes >= 0], compressed[self.classes >= 0], minlength=12)


def front_ends():
    return [
        FrontEnd("contract: STFT 1024, window 400, 64 mel", 1024, 400, bank=mel_bank(1024, 64)),
        FrontEnd("contract STFT, raw bins", 1024, 400, max_deviation=0.4, high=5000.0),
        FrontEnd("window 400, 128 mel", 1024, 400, bank=mel_bank(1024, 128)),
        FrontEnd("window 1024, 64 mel", 1024, 1024, bank=mel_bank(1024, 64)),
        FrontEnd("window 1024, 128 mel", 1024, 1024, bank=mel_bank(1024, 128)),
        FrontEnd("window 1024, raw bins", 1024, 1024, max_deviation=0.4, high=5000.0),
        FrontEnd("window 2048, 128 mel", 2048, 2048, bank=mel_bank(2048, 128)),
        FrontEnd("window 2048, 256 mel", 2048, 2048, bank=mel_bank(2048, 256)),
        FrontEnd("window 2048, 85 semitone bands 55-7040 Hz", 2048, 2048, bank=log_bank(2048, 1, 85)),
        FrontEnd("window 2048, 169 half-semitones 55-7040 Hz", 2048, 2048, bank=log_bank(2048, 2, 169)),
        # As many rows as the contract's 64 mel bands: the encoder's shape unchanged.
        FrontEnd("window 2048, 64 semitone bands 65-2489 Hz", 2048, 2048, bank=log_bank(2048, 1, 64, C2_HZ)),
        FrontEnd("window 4096, 64 semitone bands 65-2489 Hz", 4096, 4096, bank=log_bank(4096, 1, 64, C2_HZ)),
        FrontEnd("floor: window 4096, raw bins", 4096, 4096, hop=1024, max_deviation=0.4, high=5000.0),
    ]


def cosine(a, b):
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return 0.0 if na == 0 or nb == 0 else float(a @ b / (na * nb))


def tracks_with_twins(split):
    for track in sorted(p for p in split.iterdir() if p.is_dir()):
        twins = sorted(p for p in track.iterdir() if p.is_dir() and p.name.startswith("transposed"))
        if twins:
            yield track, twins[0]


def draw_window(rng, stem, rest):
    """A seeded 5 s window where both the stem and the rest sound, or None."""
    n = min(len(stem), len(rest))
    if n <= WINDOW:
        return None
    for _ in range(10):
        start = rng.randrange(0, n - WINDOW)
        s, r = stem[start : start + WINDOW], rest[start : start + WINDOW]
        if np.sqrt((s**2).mean()) > MIN_RMS and np.sqrt((r**2).mean()) > MIN_RMS:
            return start
    return None


def write_wav(path, samples):
    pcm = np.clip(np.round(samples * 32768), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())


class ComparisonSet:
    """The windows drawn, as WAV files and a `cocola eval` comparison CSV:
    per window, the stem (coherent) and its twin (transposed) against the
    rest of the track."""

    def __init__(self, folder):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.rows = ["id,group,kind,condition,stem"]

    def add(self, rest, stem, twin):
        g = f"w{len(self.rows) // 2:05d}"
        # A sum of stems can exceed full scale; scale it down rather than clip.
        rest = rest / max(1.0, float(np.abs(rest).max()))
        for role, samples in [("rest", rest), ("stem", stem), ("twin", twin)]:
            write_wav(self.folder / f"{g}-{role}.wav", samples)
        self.rows.append(f"{g}a,{g},coherent,{g}-rest.wav,{g}-stem.wav")
        self.rows.append(f"{g}b,{g},transposed,{g}-rest.wav,{g}-twin.wav")

    def finish(self):
        (self.folder / "comparison.csv").write_text("\n".join(self.rows) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("split", type=Path)
    parser.add_argument("--windows", type=int, default=2, help="windows per stem (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tracks", type=int, default=None, help="use only the first N tracks with twins")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--write-set", type=Path, default=None, help="also write the windows as a comparison set")
    args = parser.parse_args()
    comparison = ComparisonSet(args.write_set) if args.write_set else None

    fronts = front_ends()
    rng = random.Random(args.seed)
    wins = {f.name: [] for f in fronts}
    tracks = list(tracks_with_twins(args.split))[: args.tracks]
    if not tracks:
        raise SystemExit(f"{args.split}: no track has transposed twins (render with --transposed-twins)")
    for done, (track, twin_dir) in enumerate(tracks, 1):
        stems = {p.stem: read_wav(p) for p in sorted(track.glob("*.wav"))}
        length = min(len(x) for x in stems.values())
        for twin_path in sorted(twin_dir.glob("*.wav")):
            name = twin_path.stem
            twin = read_wav(twin_path)
            rest = sum(x[:length] for other, x in stems.items() if other != name)
            for _ in range(args.windows):
                start = draw_window(rng, stems[name][:length], rest)
                if start is None or len(twin) < start + WINDOW:
                    continue
                cut = slice(start, start + WINDOW)
                if comparison:
                    comparison.add(rest[cut], stems[name][cut], twin[cut])
                for f in fronts:
                    target = f.chroma(rest[cut])
                    true, transposed = cosine(f.chroma(stems[name][cut]), target), cosine(f.chroma(twin[cut]), target)
                    wins[f.name].append(1.0 if true > transposed else 0.5 if true == transposed else 0.0)
        print(f"\r{done}/{len(tracks)} tracks, {len(wins[fronts[0].name])} windows", end="", file=sys.stderr)
    print(file=sys.stderr)
    if comparison:
        comparison.finish()

    results = []
    print(f"{args.split}: {len(tracks)} tracks, seed {args.seed}; win rate of the true stem over its twin")
    for f in fronts:
        w = np.array(wins[f.name])
        rate = float(w.mean())
        half = 1.96 * np.sqrt(rate * (1 - rate) / len(w))
        results.append({"front_end": f.name, "win_rate": rate, "ci95_half_width": half, "windows": len(w)})
        print(f"  {f.name:<42} {100 * rate:5.1f} % +- {100 * half:.1f}  (n {len(w)})")
    if args.json:
        args.json.write_text(json.dumps({"split": str(args.split), "seed": args.seed, "results": results}, indent=2))


if __name__ == "__main__":
    main()
