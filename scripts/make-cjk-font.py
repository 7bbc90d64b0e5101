#!/usr/bin/env python3
"""Build assets/fonts/NotoSansSC-GB2312.otf: the Simplified Chinese face of Noto Sans CJK,
cut down to GB2312 plus the symbols the interface uses, so Chinese renders on machines that
have no CJK font while the binary stays small.

Inputs: Debian's `fonts-noto-cjk` package (NotoSansCJK-Regular.ttc, face 2 = "Noto Sans CJK SC")
and `pip install fonttools`. Run from the repository root:

    apt-get install -y fonts-noto-cjk && pip install fonttools
    python3 scripts/make-cjk-font.py

Licence: SIL Open Font License 1.1 (assets/fonts/OFL.txt). The subset keeps the original
copyright and licence name records.
"""
from fontTools import subset
from fontTools.ttLib import TTCollection

SRC = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FACE = 2  # Noto Sans CJK SC
OUT = "assets/fonts/NotoSansSC-GB2312.otf"


def gb2312_chars():
    """Every character GB2312 can encode (6,763 hanzi plus 682 symbols)."""
    chars = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def symbol_ranges():
    """Blocks the UI and log view draw: punctuation, arrows, box drawing, shapes, full width."""
    ranges = [
        (0x20, 0x7E), (0xA0, 0x17F), (0x2000, 0x206F), (0x2100, 0x214F), (0x2190, 0x21FF),
        (0x2200, 0x22FF), (0x2300, 0x23FF), (0x2460, 0x24FF), (0x2500, 0x259F),
        (0x25A0, 0x25FF), (0x2600, 0x26FF), (0x3000, 0x303F), (0xFE30, 0xFE4F),
        (0xFF00, 0xFFEF), (0xFFFD, 0xFFFD),
    ]
    return {chr(c) for lo, hi in ranges for c in range(lo, hi + 1)}


def main():
    font = TTCollection(SRC).fonts[FACE]
    cmap = font.getBestCmap()
    wanted = {ord(c) for c in gb2312_chars() | symbol_ranges()}
    unicodes = sorted(u for u in wanted if u in cmap)
    opts = subset.Options()
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.layout_features = ["kern", "vert", "locl"]
    opts.hinting = False
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=unicodes)
    sub.subset(font)
    font.save(OUT)
    print(f"{OUT}: {len(unicodes)} characters")


if __name__ == "__main__":
    main()
