#!/usr/bin/env python3
"""MIDI for COCOLA's offline training corpus, and the corpus report.

Run by `cargo xtask corpus` (which installs what this needs and renders the
MIDI into stems with `cocola-trainer render`); usable by hand too:

  corpus.py midi MIDI_DIR [--seed S] [--palestrina N] [--mma-charts N] ...
  corpus.py report AUDIO_DIR MIDI_DIR

`midi` writes multi-track MIDI files, one track per instrument part, from two
sources only:

  music21  the multi-part scores of the music21 corpus (Bach chorales,
           Palestrina, Beethoven/Mozart/Haydn quartets, Monteverdi madrigals,
           Trecento, Josquin): one MIDI track per part.
  mma      chord charts generated here (random key, mode, tempo, length and
           a diatonic progression with occasional secondary dominants), each
           played by a groove of Debian's MMA library (drums, bass, chords,
           arpeggios, walking bass...), `grooves-per-chart` grooves each.

into MIDI_DIR/<split>/<source>/<piece>.mid. The split (train / validation /
test, 0.8 / 0.1 / 0.1) is drawn per *piece* (a music21 score file, or an MMA
chord chart with all its grooves) from a hash of the seed and the piece id,
so no piece is ever in two splits, whatever is added or removed around it,
and all variants rendered from one MIDI file stay in its split.
MIDI_DIR/manifest.json lists every piece (source, split, composer or style,
parts, estimated seconds) and what failed. Existing files are kept
(resumable); each is written to a temporary name and renamed.

`report` summarises a rendered corpus (AUDIO_DIR/<split>/<track>/render.json
from `cocola-trainer render`): hours, tracks, stems per track, sources,
styles, instruments, SoundFonts; writes AUDIO_DIR/corpus.json and prints
Markdown.

Pinned: music21==10.5.1 (tools/corpus/requirements.txt), MMA 21.09 (Debian).
"""

import argparse
import collections
import glob
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile

SPLITS = (("train", 0.8), ("validation", 0.9), ("test", 1.0))

# music21 corpus groups with multi-part scores, in the order they are read.
MUSIC21_COMPOSERS = (
    "bach",
    "palestrina",
    "beethoven",
    "mozart",
    "haydn",
    "monteverdi",
    "trecento",
    "josquin",
)

MMA_LIB = "/usr/share/mma/lib/stdlib"
# Grooves that are only an intro, ending, fill or break do not make a piece.
NOT_A_MAIN_GROOVE = re.compile(r"(intro|end|fill|break)", re.IGNORECASE)


def split_of(seed, piece_id):
    digest = hashlib.sha256(f"cocola-corpus-split-v1;{seed};{piece_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "little") / 2.0**64
    for name, upper in SPLITS:
        if u < upper:
            return name
    return SPLITS[-1][0]


def safe_name(text):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "piece"


def write_atomically(path, write):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# ---------------------------------------------------------------- music21


def music21_pieces(composers, palestrina_limit, seed):
    """(piece id, composer, corpus path) of every score file to export."""
    from music21 import common, corpus

    root = str(common.getCorpusFilePath())
    pieces = []
    for composer in composers:
        paths = sorted(str(p) for p in corpus.getComposer(composer))
        if composer == "palestrina" and palestrina_limit is not None:
            # A seeded subset: Palestrina alone is two thirds of the corpus.
            rng = random.Random(f"palestrina-{seed}")
            paths = sorted(rng.sample(paths, min(palestrina_limit, len(paths))))
        for path in paths:
            stem = os.path.splitext(os.path.relpath(path, root))[0]
            pieces.append((f"m21-{safe_name(stem.replace(os.sep, '-'))}", composer, path))
    return pieces


def drop_repeats(score):
    from music21 import bar, repeat

    for el in list(score.recurse().getElementsByClass((repeat.RepeatMark, repeat.RepeatExpression))):
        el.activeSite.remove(el)
    for measure in score.recurse().getElementsByClass("Measure"):
        for side in ("leftBarline", "rightBarline"):
            if isinstance(getattr(measure, side), bar.Repeat):
                setattr(measure, side, None)


def export_music21_piece(job):
    """Parses one score file; writes one MIDI per contained score with >= 2
    non-empty parts. Returns manifest entries (or a failure)."""
    piece_id, composer, path, midi_dir, seed = job
    from music21 import common, corpus, midi, repeat, stream

    split = split_of(seed, piece_id)
    out_dir = os.path.join(midi_dir, split, "music21")
    try:
        parsed = corpus.parse(path)
        scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
        entries = []
        for i, score in enumerate(scores):
            name = piece_id if len(scores) == 1 else f"{piece_id}-{i + 1}"
            parts = [p for p in score.parts if len(p.flatten().notes) > 0]
            if len(parts) < 2:
                continue
            out = os.path.join(out_dir, name + ".mid")
            if not os.path.exists(out):
                kept = stream.Score(parts)

                def write(tmp, kept=kept):
                    try:
                        mf = midi.translate.streamToMidiFile(kept)
                    except repeat.ExpanderException:
                        # Badly formed repeat marks: play it through once.
                        drop_repeats(kept)
                        mf = midi.translate.streamToMidiFile(kept)
                    mf.open(tmp, "wb")
                    mf.write()
                    mf.close()

                write_atomically(out, write)
            entries.append(
                {
                    "piece": piece_id,
                    "track": name,
                    "source": "music21",
                    "split": split,
                    "composer": composer,
                    "corpus_path": os.path.relpath(path, str(common.getCorpusFilePath())),
                    "parts": len(parts),
                    # At music21's default 120 quarter notes per minute.
                    "seconds": float(score.highestTime) * 0.5,
                    "midi": os.path.relpath(out, midi_dir),
                }
            )
        if not entries:
            return [{"piece": piece_id, "source": "music21", "skipped": "fewer than 2 parts with notes"}]
        return entries
    except Exception as e:  # noqa: BLE001 - one bad score must not stop the corpus
        return [{"piece": piece_id, "source": "music21", "failed": f"{type(e).__name__}: {e}"}]


# ---------------------------------------------------------------- MMA

NOTE_NAMES_SHARP = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
NOTE_NAMES_FLAT = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]
# Keys written with flats (by tonic pitch class, major / minor).
FLAT_MAJOR = {1, 3, 5, 8, 10}
FLAT_MINOR = {0, 2, 3, 5, 7, 10}

MAJOR_SCALE = [0, 2, 4, 5, 7, 9, 11]
MINOR_SCALE = [0, 2, 3, 5, 7, 8, 10]  # natural minor; V is made major below
# Diatonic chord quality per degree: (triad, seventh).
MAJOR_QUALITIES = [("", "maj7"), ("m", "m7"), ("m", "m7"), ("", "maj7"), ("", "7"), ("m", "m7"), ("dim", "m7b5")]
MINOR_QUALITIES = [("m", "m7"), ("dim", "m7b5"), ("", "maj7"), ("m", "m7"), ("", "7"), ("", "maj7"), ("", "7")]
# Where a degree tends to go next (degrees 0-6), common-practice style.
NEXT_DEGREE = {
    0: [3, 4, 5, 1, 2, 3, 4],
    1: [4, 4, 4, 6],
    2: [5, 3, 5],
    3: [4, 0, 1, 4, 6],
    4: [0, 0, 0, 5, 3],
    5: [1, 3, 4, 1],
    6: [0, 0, 2],
}


def mma_grooves():
    """{style file: [main groove names]} from MMA's standard library."""
    styles = {}
    for path in sorted(glob.glob(os.path.join(MMA_LIB, "*.mma"))):
        style = os.path.splitext(os.path.basename(path))[0]
        names = []
        with open(path, encoding="latin-1") as f:
            for line in f:
                m = re.match(r"\s*DefGroove\s+(\S+)", line, re.IGNORECASE)
                if m and not NOT_A_MAIN_GROOVE.search(m.group(1)):
                    names.append(m.group(1))
        if names:
            styles[style] = sorted(set(names))
    return styles


def chord_name(tonic, minor, degree, seventh):
    scale = MINOR_SCALE if minor else MAJOR_SCALE
    qualities = MINOR_QUALITIES if minor else MAJOR_QUALITIES
    flats = (tonic in FLAT_MINOR) if minor else (tonic in FLAT_MAJOR)
    names = NOTE_NAMES_FLAT if flats else NOTE_NAMES_SHARP
    root = (tonic + scale[degree]) % 12
    return names[root] + qualities[degree][1 if seventh else 0]


def secondary_dominant(tonic, minor, target_degree):
    scale = MINOR_SCALE if minor else MAJOR_SCALE
    flats = (tonic in FLAT_MINOR) if minor else (tonic in FLAT_MAJOR)
    names = NOTE_NAMES_FLAT if flats else NOTE_NAMES_SHARP
    return names[(tonic + scale[target_degree] + 7) % 12] + "7"


def make_chart(rng):
    """A chord chart: key, mode, tempo and one chord (or two) per bar, in
    4-bar phrases that end on V or I."""
    tonic = rng.randrange(12)
    minor = rng.random() < 0.4
    bars = rng.choice([16, 24, 24, 32, 32, 40])
    sevenths = rng.random() < 0.5
    degree = 0
    chart = []
    for bar in range(bars):
        end_of_phrase = bar % 4 == 3
        if bar == 0:
            degree = 0
        elif end_of_phrase and bar == bars - 1:
            degree = 0
        elif end_of_phrase:
            degree = rng.choice([4, 4, 0])
        else:
            degree = rng.choice(NEXT_DEGREE[degree])
        seventh = sevenths or rng.random() < 0.2
        chord = chord_name(tonic, minor, degree, seventh)
        # Sometimes two chords in a bar: a secondary dominant of the next.
        if not end_of_phrase and degree not in (0, 6) and rng.random() < 0.15:
            nxt = rng.choice(NEXT_DEGREE[degree])
            if nxt not in (0, 6):
                chord = f"{chord} {secondary_dominant(tonic, minor, nxt)}"
        chart.append(chord)
    key = (NOTE_NAMES_FLAT if ((tonic in FLAT_MINOR) if minor else (tonic in FLAT_MAJOR)) else NOTE_NAMES_SHARP)[tonic]
    return {
        "key": f"{key} {'minor' if minor else 'major'}",
        "tempo": rng.randrange(72, 161, 4),
        "bars": chart,
    }


def mma_source(chart, groove):
    lines = [
        "// Generated by tools/corpus/corpus.py for the COCOLA training corpus.",
        f"Tempo {chart['tempo']}",
        f"Groove {groove}",
        f"KeySig {chart['key']}",
    ]
    lines += [f"{i + 1} {chord}" for i, chord in enumerate(chart["bars"])]
    return "\n".join(lines) + "\n"


def export_mma(midi_dir, charts, grooves_per_chart, seed, mma):
    styles = mma_grooves()
    if not styles:
        sys.exit(f"no MMA grooves found in {MMA_LIB} (install Debian's mma)")
    style_names = sorted(styles)
    entries = []
    for c in range(charts):
        rng = random.Random(f"mma-chart-{seed}-{c}")
        chart = make_chart(rng)
        piece_id = f"mma-chart{c:04d}"
        split = split_of(seed, piece_id)
        for g in range(grooves_per_chart):
            style = rng.choice(style_names)
            groove = rng.choice(styles[style])
            name = f"{piece_id}-{safe_name(groove)}"
            out = os.path.join(midi_dir, split, "mma", name + ".mid")
            entry = {
                "piece": piece_id,
                "track": name,
                "source": "mma",
                "split": split,
                "style": style,
                "groove": groove,
                "key": chart["key"],
                "tempo": chart["tempo"],
                "bars": len(chart["bars"]),
                "midi": os.path.relpath(out, midi_dir),
            }
            if not os.path.exists(out):
                error = run_mma(mma, mma_source(chart, groove), out)
                if error:
                    entries.append({"piece": piece_id, "track": name, "source": "mma", "failed": error})
                    continue
            entries.append(entry)
    return entries


def run_mma(mma, source, out):
    """Runs MMA on one chart; returns an error message or None."""
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        chart = os.path.join(tmp, "chart.mma")
        with open(chart, "w") as f:
            f.write(source)
        target = os.path.join(tmp, "chart.mid")
        r = subprocess.run([mma, "-f", target, chart], capture_output=True, text=True, cwd=tmp)
        if r.returncode != 0 or not os.path.exists(target):
            tail = (r.stdout + r.stderr).strip().splitlines()[-3:]
            return "mma failed: " + " | ".join(tail)
        write_atomically(out, lambda t: os.replace(target, t))
    return None


# ---------------------------------------------------------------- commands


def cmd_midi(args):
    os.makedirs(args.midi_dir, exist_ok=True)
    entries = []
    if args.music21:
        jobs = [
            (pid, comp, path, args.midi_dir, args.seed)
            for pid, comp, path in music21_pieces(args.composers.split(","), args.palestrina, args.seed)
        ]
        print(f"music21: exporting {len(jobs)} score files with {args.jobs} process(es)...", flush=True)
        if args.jobs > 1:
            import multiprocessing

            with multiprocessing.Pool(args.jobs) as pool:
                results = pool.imap(export_music21_piece, jobs, chunksize=4)
                for i, r in enumerate(results, 1):
                    entries += r
                    if i % 100 == 0:
                        print(f"  {i}/{len(jobs)}", flush=True)
        else:
            for i, job in enumerate(jobs, 1):
                entries += export_music21_piece(job)
                if i % 100 == 0:
                    print(f"  {i}/{len(jobs)}", flush=True)
    if args.mma_charts > 0:
        print(f"mma: {args.mma_charts} chord charts x {args.grooves_per_chart} groove(s)...", flush=True)
        entries += export_mma(args.midi_dir, args.mma_charts, args.grooves_per_chart, args.seed, args.mma)
    ok = [e for e in entries if "midi" in e and "failed" not in e]
    failed = [e for e in entries if "failed" in e]
    skipped = [e for e in entries if "skipped" in e]
    manifest = {
        "seed": args.seed,
        "splits": {name: upper for name, upper in SPLITS},
        "palestrina_limit": args.palestrina,
        "mma_charts": args.mma_charts,
        "grooves_per_chart": args.grooves_per_chart,
        "pieces": ok,
        "skipped": skipped,
        "failed": failed,
    }
    path = os.path.join(args.midi_dir, "manifest.json")
    write_atomically(path, lambda t: json.dump(manifest, open(t, "w"), indent=1))
    per_split = collections.Counter(e["split"] for e in ok)
    print(
        f"{len(ok)} MIDI files ({dict(per_split)}), {len(skipped)} skipped, {len(failed)} failed; "
        f"manifest: {path}"
    )
    for e in failed[:10]:
        print(f"  failed: {e['piece']}: {e['failed']}", file=sys.stderr)


def gm_family(program):
    families = [
        "piano", "chromatic percussion", "organ", "guitar", "bass", "strings", "ensemble", "brass",
        "reed", "pipe", "synth lead", "synth pad", "synth effects", "ethnic", "percussive", "sound effects",
    ]
    return "drums" if program is None else families[program // 8]


def cmd_report(args):
    manifest = json.load(open(os.path.join(args.midi_dir, "manifest.json")))
    by_midi = {os.path.normpath(os.path.join(args.midi_dir, e["midi"])): e for e in manifest["pieces"]}
    tracks = []
    for path in sorted(glob.glob(os.path.join(args.audio_dir, "*", "*", "render.json"))):
        info = json.load(open(path))
        split = os.path.basename(os.path.dirname(os.path.dirname(path)))
        piece = by_midi.get(os.path.normpath(info["source"]), {})
        tracks.append((split, piece, info))
    if not tracks:
        sys.exit(f"no rendered tracks under {args.audio_dir}/<split>/<track>/render.json")
    report = {"splits": {}, "sources": {}, "styles": {}, "composers": {}, "instruments": {}, "soundfonts": {}}
    stems_per_track = collections.Counter()
    for split, piece, info in tracks:
        hours = info["seconds"] / 3600.0
        s = report["splits"].setdefault(split, {"tracks": 0, "pieces": set(), "hours": 0.0, "stem_hours": 0.0})
        s["tracks"] += 1
        s["pieces"].add(piece.get("piece", info["source"]))
        s["hours"] += hours
        s["stem_hours"] += hours * len(info["stems"])
        src = report["sources"].setdefault(piece.get("source", "?"), {"tracks": 0, "hours": 0.0})
        src["tracks"] += 1
        src["hours"] += hours
        if "style" in piece:
            report["styles"][piece["style"]] = report["styles"].get(piece["style"], 0) + 1
        if "composer" in piece:
            report["composers"][piece["composer"]] = report["composers"].get(piece["composer"], 0) + 1
        for stem in info["stems"]:
            fam = gm_family(stem["program"])
            report["instruments"][fam] = report["instruments"].get(fam, 0) + 1
        sf = os.path.basename(info["soundfont"])
        report["soundfonts"][sf] = report["soundfonts"].get(sf, 0) + 1
        stems_per_track[len(info["stems"])] += 1
    for s in report["splits"].values():
        s["pieces"] = len(s["pieces"])
    report["tracks"] = len(tracks)
    report["hours"] = sum(s["hours"] for s in report["splits"].values())
    report["stem_hours"] = sum(s["stem_hours"] for s in report["splits"].values())
    report["stems_per_track"] = {str(k): v for k, v in sorted(stems_per_track.items())}
    out = os.path.join(args.audio_dir, "corpus.json")
    write_atomically(out, lambda t: json.dump(report, open(t, "w"), indent=1, sort_keys=True))

    def top(d, n=12):
        return ", ".join(f"{k} {v}" for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:n])

    print(f"# Corpus ({args.audio_dir})\n")
    print(f"{report['tracks']} tracks, {report['hours']:.2f} h of music, {report['stem_hours']:.2f} h of stems\n")
    print("| split | pieces | tracks | hours | stem hours |\n|---|---|---|---|---|")
    for name, _ in SPLITS:
        if name in report["splits"]:
            s = report["splits"][name]
            print(f"| {name} | {s['pieces']} | {s['tracks']} | {s['hours']:.2f} | {s['stem_hours']:.2f} |")
    print()
    print("sources: " + ", ".join(f"{k} {v['tracks']} tracks / {v['hours']:.2f} h" for k, v in report["sources"].items()))
    print(f"stems per track: {report['stems_per_track']}")
    print(f"composers (tracks): {top(report['composers'])}")
    print(f"MMA styles ({len(report['styles'])}, tracks): {top(report['styles'])}")
    print(f"instrument families (stems): {top(report['instruments'], 16)}")
    print(f"SoundFonts (tracks): {top(report['soundfonts'])}")
    print(f"\nwritten: {out}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("midi", help="write the corpus MIDI files and manifest.json")
    m.add_argument("midi_dir")
    m.add_argument("--seed", type=int, default=0, help="splits, Palestrina subset and MMA charts")
    m.add_argument("--palestrina", type=int, default=100, help="Palestrina scores to use (-1: all ~1300)")
    m.add_argument("--no-music21", dest="music21", action="store_false")
    m.add_argument(
        "--composers", default=",".join(MUSIC21_COMPOSERS), help="music21 corpus groups, comma-separated"
    )
    m.add_argument("--mma-charts", type=int, default=300, help="generated chord charts (0: no MMA)")
    m.add_argument("--grooves-per-chart", type=int, default=1)
    m.add_argument("--mma", default="mma", help="the MMA executable")
    m.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    r = sub.add_parser("report", help="summarise a rendered corpus")
    r.add_argument("audio_dir")
    r.add_argument("midi_dir")
    args = parser.parse_args()
    if args.command == "midi":
        if args.palestrina is not None and args.palestrina < 0:
            args.palestrina = None
        cmd_midi(args)
    else:
        cmd_report(args)


if __name__ == "__main__":
    main()
