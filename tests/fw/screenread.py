"""Reads a screen back from pixels, for tests under MicroPython: 8x8 text and the big digits.

`pix` is 1024 bytes in framebuf.MONO_VLSB layout: the emulated panel's `SimI2C.pixels()` or a
driver's `buffer`. Text is found on page boundaries (y % 8 == 0), where firmware/screens.py puts
all of it. Uses MicroPython's framebuf for the font and firmware/screens.py for the big font.
"""
import framebuf

import screens

_glyph_table = []


def _layout():
    # screens.py keeps its layout numbers as private const()s (no heap on the device): read them
    # from its source, e.g. "_BIG_TOP = const(16)" -> BIG_TOP = 16.
    out = {}
    with open(screens.__file__.rsplit(".", 1)[0] + ".py") as f:
        for line in f:
            if line.startswith("_") and " = const(" in line:
                name, _, rest = line.partition(" = const(")
                v = rest.split(")")[0]
                if v.isdigit():
                    out[name[1:]] = int(v)
    return out


_L = _layout()
BIG_SCALE, BIG_TOP, BIG_Y = _L["BIG_SCALE"], _L["BIG_TOP"], _L["BIG_Y"]
BOX_W, BOX_SCALE, BOX_GLYPH_X, BOX_GLYPH_Y = _L["BOX_W"], _L["BOX_SCALE"], _L["BOX_GLYPH_X"], _L["BOX_GLYPH_Y"]


def find_text(pix, text, inverse=False):
    """(x, y) where `text` is drawn in the 8x8 font (inverse: dark on a lit bar), or None."""
    n = 8 * len(text)
    ref = bytearray(n)
    fb = framebuf.FrameBuffer(ref, n, 8, framebuf.MONO_VLSB)
    fb.fill(1 if inverse else 0)
    fb.text(text, 0, 0, 0 if inverse else 1)
    ref = bytes(ref)
    for page in range(8):
        base = page * 128
        for x in range(129 - n):
            if pix[base + x] == ref[0] and bytes(pix[base + x : base + x + n]) == ref:
                return (x, page * 8)
    return None


def _glyphs():
    # 8-byte column patterns of framebuf's 8x8 font -> character
    if not _glyph_table:
        table = {}
        buf = bytearray(8)
        fb = framebuf.FrameBuffer(buf, 8, 8, framebuf.MONO_VLSB)
        for code in range(33, 127):
            fb.fill(0)
            fb.text(chr(code), 0, 0, 1)
            if bytes(buf) not in table:
                table[bytes(buf)] = chr(code)
        _glyph_table.append(table)
    return _glyph_table[0]


def lines(pix):
    """Best-effort reading of the 8x8 text: 8 strings, one a page, stripped (a mostly lit page,
    a title bar, is read inverted). Big digits and icons read as nothing."""
    glyphs = _glyphs()
    out = []
    for page in range(8):
        row = bytes(pix[page * 128 : page * 128 + 128])
        if sum(1 for v in row if v == 0xFF) > 48:
            row = bytes(v ^ 0xFF for v in row)
        s = ""
        x = 0
        end = 0  # column after the last glyph read
        while x < 128:
            if row[x] == 0:
                x += 1
                continue
            hit = None
            x0 = end + (x - end) // 8 * 8  # the same string goes on on an 8-px grid
            if s and x - x0 <= 3 and x0 + 8 <= 128:
                hit = glyphs.get(row[x0 : x0 + 8])
            if hit is None:
                for back in (0, 1, 2, 3):  # a glyph has up to 3 blank columns before its ink
                    x0 = x - back
                    if x0 >= end and x0 + 8 <= 128:
                        hit = glyphs.get(row[x0 : x0 + 8])
                        if hit:
                            break
            if hit is None:
                x += 1
                continue
            if s and x0 > end:
                s += " " * ((x0 - end + 4) // 8)
            s += hit
            end = x0 + 8
            x = end
        out.append(s)
    return out


def _bit(pix, x, y):
    if x < 0 or x > 127 or y < 0 or y > 63:
        return 0
    return (pix[(y >> 3) * 128 + x] >> (y & 7)) & 1


def _glyph_at(pix, x, y, s, inv):
    # The big character whose s x s cells sit at (x, y), followed by its dark gap column; or None.
    rows = bytearray(7)
    for r in range(7):
        v = 0
        for c in range(5):
            first = _bit(pix, x + c * s, y + r * s) ^ inv
            for dy in range(s):
                for dx in range(s):
                    if _bit(pix, x + c * s + dx, y + r * s + dy) ^ inv != first:
                        return None
            v = (v << 1) | first
        rows[r] = v
    if not any(rows):
        return None
    font = screens.BIG_FONT
    for i in range(len(screens.BIG_CHARS)):
        if font[i * 7 : i * 7 + 7] == bytes(rows):
            for dy in range(7 * s):
                if _bit(pix, x + 5 * s, y + dy) ^ inv:
                    return None
            return screens.BIG_CHARS[i]
    return None


def big_text(pix):
    """The big band's characters as a string: the side box letter (or "|" for paused) first,
    then the big digits, e.g. "L45", "|17", "x10", "30"; "" when there are none."""
    out = ""
    if _bit(pix, 0, BIG_TOP) and _bit(pix, BOX_W - 1, BIG_TOP + 31):
        g = _glyph_at(pix, BOX_GLYPH_X, BOX_GLYPH_Y, BOX_SCALE, 1)
        if g:
            out = g
    s = BIG_SCALE
    x = BOX_W if out else 0
    while x <= 128 - 5 * s:
        g = _glyph_at(pix, x, BIG_Y, s, 0)
        if g:
            out += g
            x += 6 * s
        else:
            x += 1
    return out
