"""Writes cocola/assets/fonts/DejaVuSans-subset.ttf, the font the PNG charts are drawn with.

DejaVu Sans (Debian package fonts-dejavu-core) cut down to printable ASCII,
Latin-1 and the few symbols the charts use (32 KB instead of 740 KB). The
Bitstream Vera licence allows modified fonts under a name without "Bitstream"
or "Vera": the subset is renamed "DejaVu Sans Cocola Subset".

    python3 -m venv /tmp/v && /tmp/v/bin/pip install fonttools==4.68.0
    /tmp/v/bin/python tools/fonts/subset_dejavu.py
"""

from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

SOURCE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
TARGET = Path(__file__).resolve().parents[2] / "cocola/assets/fonts/DejaVuSans-subset.ttf"
EXTRA = "–—‘’“”…−×±·•▲▼≤≥≈µ"
NAMES = {
    1: "DejaVu Sans Cocola Subset",  # family
    3: "DejaVuSansCocolaSubset",  # unique id
    4: "DejaVu Sans Cocola Subset",  # full name
    6: "DejaVuSansCocolaSubset",  # PostScript name
    16: "DejaVu Sans Cocola Subset",  # typographic family
}


def main() -> None:
    options = subset.Options()
    options.layout_features = ["kern"]
    options.name_IDs = ["*"]
    options.hinting = False
    options.notdef_outline = True
    font = TTFont(SOURCE)
    text = "".join(map(chr, range(0x20, 0x7F))) + "".join(map(chr, range(0xA0, 0x100))) + EXTRA
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    for record in font["name"].names:
        if record.nameID in NAMES:
            record.string = NAMES[record.nameID]
    font.save(TARGET)
    print(f"{TARGET}: {TARGET.stat().st_size} bytes")


if __name__ == "__main__":
    main()
