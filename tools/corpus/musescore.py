"""MuseScore 3 scores (.mscx, or an .mscz zip holding one) -> multi-track MIDI.

Enough of the format for the demo scores Debian ships: parts and their
staves (one MIDI track per staff, with the part's GM program), measures with
voices, chords and rests with dots and tuplets, irregular measures, time
signatures, tempo marks and dynamics. Ties re-strike the note, grace notes
and repeats are left out (a piece is played through once). Used by
corpus.py; writes through music21.
"""

import io
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from fractions import Fraction

# Note values in quarter notes.
DURATIONS = {
    "long": Fraction(16),
    "breve": Fraction(8),
    "whole": Fraction(4),
    "half": Fraction(2),
    "quarter": Fraction(1),
    "eighth": Fraction(1, 2),
    "16th": Fraction(1, 4),
    "32nd": Fraction(1, 8),
    "64th": Fraction(1, 16),
    "128th": Fraction(1, 32),
}
GRACE_TAGS = {"acciaccatura", "appoggiatura", "grace4", "grace16", "grace32", "grace8after", "grace16after", "grace32after"}


@dataclass
class Staff:
    name: str
    program: int
    drums: bool
    # (start, length) in quarter notes, MIDI key, velocity
    notes: list = field(default_factory=list)


@dataclass
class Score:
    staves: list
    tempos: list  # (quarter, quarter notes per minute)
    meters: list  # (quarter, numerator, denominator)


def _root(path):
    if path.endswith(".mscz"):
        with zipfile.ZipFile(path) as z:
            name = next(n for n in z.namelist() if n.endswith(".mscx") and "/" not in n)
            return ET.parse(io.BytesIO(z.read(name))).getroot()
    return ET.parse(path).getroot()


def _length(element, tuplet):
    kind = element.findtext("durationType")
    base = DURATIONS.get(kind)
    if base is None:
        return None
    dots = int(element.findtext("dots") or 0)
    factor = sum(Fraction(1, 2**i) for i in range(dots + 1))
    return base * factor * tuplet


def _fraction(text):
    n, d = text.split("/")
    return Fraction(int(n), int(d))


def read(path):
    """Parses a MuseScore 3 file into staves of timed notes."""
    score = _root(path).find("Score")
    if score is None:
        raise ValueError(f"{path}: no <Score>")
    parts = {}
    for part in score.findall("Part"):
        instrument = part.find("Instrument")
        program = 0
        drums = False
        if instrument is not None:
            p = instrument.find("Channel/program")
            program = int(p.get("value")) if p is not None else 0
            drums = instrument.findtext("useDrumset") == "1"
        name = part.findtext("trackName") or "part"
        for staff in part.findall("Staff"):
            parts[staff.get("id")] = (name, program, drums)
    staves, tempos, meters = [], [], []
    for staff_index, staff in enumerate(score.findall("Staff")):
        name, program, drums = parts.get(staff.get("id"), ("part", 0, False))
        out = Staff(name, program, drums)
        signature = Fraction(4)
        start = Fraction(0)
        velocity = 80
        for measure in staff.findall("Measure"):
            for ts in measure.iter("TimeSig"):
                n, d = int(ts.findtext("sigN")), int(ts.findtext("sigD"))
                signature = Fraction(4 * n, d)
                if staff_index == 0:
                    meters.append((start, n, d))
                break
            length = _fraction(measure.get("len")) * 4 if measure.get("len") else signature
            for voice in measure.findall("voice"):
                pos = start
                tuplet = Fraction(1)
                for el in voice:
                    if el.tag == "Tuplet":
                        tuplet = Fraction(int(el.findtext("normalNotes")), int(el.findtext("actualNotes")))
                    elif el.tag == "endTuplet":
                        tuplet = Fraction(1)
                    elif el.tag == "location":
                        f = el.findtext("fractions")
                        if f:
                            pos += _fraction(f) * 4
                    elif el.tag == "Tempo" and staff_index == 0:
                        tempos.append((pos, float(el.findtext("tempo")) * 60.0))
                    elif el.tag == "Dynamic" and el.findtext("velocity"):
                        velocity = max(1, min(127, int(el.findtext("velocity"))))
                    elif el.tag == "Rest":
                        d = length if el.findtext("durationType") == "measure" else _length(el, tuplet)
                        pos += d or 0
                    elif el.tag == "Chord":
                        if any(child.tag in GRACE_TAGS for child in el):
                            continue
                        d = _length(el, tuplet)
                        if d is None:
                            continue
                        for n in el.findall("Note"):
                            out.notes.append((pos, d, int(n.findtext("pitch")), velocity))
                        pos += d
            start += length
        staves.append(out)
    return Score(staves, tempos, meters)


def write_midi(score, path):
    """One MIDI track per pitched staff (drum staves are left out)."""
    from music21 import instrument, meter, midi, note, stream, tempo

    out = stream.Score()
    for i, staff in enumerate(s for s in score.staves if s.notes and not s.drums):
        part = stream.Part()
        inst = instrument.Instrument()
        inst.midiProgram = staff.program
        inst.partName = staff.name
        part.insert(0, inst)
        if i == 0:
            for q, qpm in score.tempos:
                part.insert(float(q), tempo.MetronomeMark(number=qpm))
            for q, n, d in score.meters:
                part.insert(float(q), meter.TimeSignature(f"{n}/{d}"))
        for start, length, key, velocity in staff.notes:
            n = note.Note(key, quarterLength=float(length))
            n.volume.velocity = velocity
            part.insert(float(start), n)
        out.insert(0, part)
    mf = midi.translate.streamToMidiFile(out)
    mf.open(path, "wb")
    mf.write()
    mf.close()
