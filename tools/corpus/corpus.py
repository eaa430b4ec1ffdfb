#!/usr/bin/env python3
"""MIDI for COCOLA's offline training corpus from existing music.

Run by `cargo xtask corpus` (which installs what this needs, generates the
procedural pieces and renders all MIDI into stems with `cocola-render`);
usable by hand too:

  corpus.py midi MIDI_DIR [--seed S] [--palestrina N] [--mma-charts N] ...

writes multi-track MIDI files, one track per instrument part, each with a
`NAME.facts.json` beside it (source, piece, composer or style, key), from:

  music21      the multi-part scores of the music21 corpus (Bach chorales,
               Palestrina, Beethoven/Mozart/Haydn quartets, Monteverdi
               madrigals, Trecento, Josquin): one MIDI track per part.
  mma          chord charts generated here (random key, mode, tempo, length and
               a diatonic progression with occasional secondary dominants), each
               played by a groove of Debian's MMA library (drums, bass, chords,
               arpeggios, walking bass...), `grooves-per-chart` grooves each.
  planetblupi  the ten General-MIDI songs of Debian's planetblupi-music-midi.
  musescore    the multi-part demo scores of Debian's musescore3-common
               (MuseScore 3 files, converted here), given with --musescore-demos.

into MIDI_DIR/<split>/<source>/<piece>.mid. The split (train / validation /
test, 0.8 / 0.1 / 0.1) is drawn per *piece* (a score file, a chord chart
with all its grooves, a song) from a hash of the seed and the piece id, so
no piece is ever in two splits, whatever is added or removed around it,
and all variants rendered from one MIDI file stay in its split. Whole
families go to the out-of-distribution split `test-ood` instead, never to
the others: Monteverdi's madrigals, MMA's Latin and funk grooves, and the
MuseScore demos (docs/CORPUS.md). MIDI_DIR/manifest.json lists every piece
and what failed. Existing files are kept (resumable); each is written to a
temporary name and renamed.

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
import shutil
import subprocess
import sys
import tempfile
import zlib

SPLITS = (("train", 0.8), ("validation", 0.9), ("test", 1.0))
OOD_SPLIT = "test-ood"
# Families only the out-of-distribution split hears.
HELD_OUT_COMPOSERS = {"monteverdi"}
HELD_OUT_MMA_STYLES = {
    "afro-cuban", "beguine", "bolero", "bossanova", "calypso", "chacha", "cubanguitar", "jazzrhumba",
    "latinwaltz", "lighttango", "mambo", "merengue", "rhumba", "salsa", "samba", "slowbolero", "son",
    "tango", "bvfunk", "lfusion",
}
# Not music: click tracks and the empty style.
NOT_MMA_STYLES = {"metronome", "metronome3", "metronome6", "metronome68", "none"}
PLANETBLUPI_DIR = "/usr/share/planetblupi/music"
PC_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]

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


def write_facts(midi_path, facts):
    """NAME.facts.json beside NAME.mid (read by cocola-render into render.json)."""
    path = os.path.splitext(midi_path)[0] + ".facts.json"
    write_atomically(path, lambda t: json.dump(facts, open(t, "w"), indent=1))


def key_fact(tonic, mode):
    return {"tonic": tonic, "name": f"{PC_NAMES[tonic]} {mode}", "mode": mode}


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

    split = OOD_SPLIT if composer in HELD_OUT_COMPOSERS else split_of(seed, piece_id)
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
            write_facts(out, {"source": "music21", "piece": piece_id, "composer": composer})
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
        "tonic": tonic,
        "mode": "minor" if minor else "major",
        "tempo": rng.randrange(72, 161, 4),
        "bars": chart,
    }


def mma_source(chart, groove, rnd_seed):
    # MMA humanises grooves (random timing, velocity, skipped notes) from
    # Python's random, unseeded unless told: RndSeed makes the
    # same chart the same MIDI in every build.
    lines = [
        "// Generated by tools/corpus/corpus.py for the COCOLA training corpus.",
        f"RndSeed {rnd_seed}",
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
    usable = sorted(set(styles) - NOT_MMA_STYLES)
    held_out = [st for st in usable if st in HELD_OUT_MMA_STYLES]
    seen = [st for st in usable if st not in HELD_OUT_MMA_STYLES]
    entries = []
    for c in range(charts):
        rng = random.Random(f"mma-chart-{seed}-{c}")
        chart = make_chart(rng)
        piece_id = f"mma-chart{c:04d}"
        # A chart is played by held-out grooves only (and is out-of-
        # distribution) as often as those styles are among all.
        ood = rng.random() < len(held_out) / len(usable)
        split = OOD_SPLIT if ood else split_of(seed, piece_id)
        pool = held_out if ood else seen
        for g in range(grooves_per_chart):
            style = rng.choice(pool)
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
                # From the chart and groove, not drawn from rng, so that the
                # charts and grooves chosen stay as they were.
                rnd_seed = zlib.crc32(f"mma-{seed}-{c}-{g}".encode())
                error = run_mma(mma, mma_source(chart, groove, rnd_seed), out)
                if error:
                    entries.append({"piece": piece_id, "track": name, "source": "mma", "failed": error})
                    continue
            facts = {
                "source": "mma",
                "piece": piece_id,
                "style": style,
                "tempo_qpm": float(chart["tempo"]),
                "key": key_fact(chart["tonic"], chart["mode"]),
                "key_from": "chart",
            }
            write_facts(out, facts)
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
        # A fixed hash seed too: MMA's own set and dict orders must not vary.
        env = dict(os.environ, PYTHONHASHSEED="0")
        # Names relative to the working folder: MMA writes the input's path
        # into the MIDI, and a temporary folder's name differs every run.
        r = subprocess.run(
            [mma, "-f", "chart.mid", "chart.mma"], capture_output=True, text=True, cwd=tmp, env=env
        )
        if r.returncode != 0 or not os.path.exists(target):
            tail = (r.stdout + r.stderr).strip().splitlines()[-3:]
            return "mma failed: " + " | ".join(tail)
        write_atomically(out, lambda t: os.replace(target, t))
    return None


# ---------------------------------------------------------------- planetblupi


def export_planetblupi(midi_dir, seed, source_dir=PLANETBLUPI_DIR):
    """Copies the game's General-MIDI songs (GPL-3+, Daniel Roux, EPSITEC SA
    and Denis Dumoulin), split by song."""
    entries = []
    for path in sorted(glob.glob(os.path.join(source_dir, "*.mid"))):
        piece_id = "planetblupi-" + safe_name(os.path.splitext(os.path.basename(path))[0])
        split = split_of(seed, piece_id)
        out = os.path.join(midi_dir, split, "planetblupi", piece_id + ".mid")
        if not os.path.exists(out):
            write_atomically(out, lambda t, path=path: shutil.copyfile(path, t))
        write_facts(out, {"source": "planetblupi", "piece": piece_id, "style": "game music"})
        entries.append(
            {"piece": piece_id, "track": piece_id, "source": "planetblupi", "split": split,
             "midi": os.path.relpath(out, midi_dir)}
        )
    return entries


# ---------------------------------------------------------------- MuseScore demos

# Authors of the demo scores (Debian's musescore3-common copyright file).
MUSESCORE_AUTHORS = {
    "Brassed_Up": ("James Thistlewood", "CC-BY-SA-4.0"),
    "Dynamic_Strings": ("James Thistlewood", "CC-BY-SA-4.0"),
    "Fugue_1": ("Marc Sabatella", "CC-BY-3.0"),
    "Reunion": ("Marc Sabatella", "CC-BY-3.0"),
    "Unclaimed_Gift": ("Marc Sabatella", "CC-BY-3.0"),
}


def export_musescore(midi_dir, demos_dir):
    """The multi-part MuseScore demos, converted (musescore.py), into the
    out-of-distribution split: other composers, other arrangements."""
    import musescore

    entries = []
    for path in sorted(glob.glob(os.path.join(demos_dir, "*.msc[xz]"))):
        stem = os.path.splitext(os.path.basename(path))[0]
        piece_id = "musescore-" + safe_name(stem)
        out = os.path.join(midi_dir, OOD_SPLIT, "musescore", piece_id + ".mid")
        try:
            if not os.path.exists(out):
                score = musescore.read(path)
                if len([s for s in score.staves if s.notes and not s.drums]) < 2:
                    entries.append({"piece": piece_id, "source": "musescore", "skipped": "fewer than 2 parts"})
                    continue
                write_atomically(out, lambda t, score=score: musescore.write_midi(score, t))
        except Exception as e:  # noqa: BLE001 - one bad score must not stop the corpus
            entries.append({"piece": piece_id, "source": "musescore", "failed": f"{type(e).__name__}: {e}"})
            continue
        author, licence = MUSESCORE_AUTHORS.get(stem, (None, None))
        write_facts(out, {"source": "musescore", "piece": piece_id, "composer": author})
        entries.append(
            {"piece": piece_id, "track": piece_id, "source": "musescore", "split": OOD_SPLIT, "composer": author,
             "license": licence, "midi": os.path.relpath(out, midi_dir)}
        )
    return entries


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
    if args.planetblupi:
        entries += export_planetblupi(args.midi_dir, args.seed)
    if args.musescore_demos:
        entries += export_musescore(args.midi_dir, args.musescore_demos)
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
    m.add_argument("--no-planetblupi", dest="planetblupi", action="store_false")
    m.add_argument("--musescore-demos", help="folder of MuseScore 3 demo scores (musescore3-common)")
    args = parser.parse_args()
    if args.palestrina is not None and args.palestrina < 0:
        args.palestrina = None
    cmd_midi(args)


if __name__ == "__main__":
    main()
