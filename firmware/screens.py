"""Screens: draws every screen of the device on a 128x64 framebuf.FrameBuffer from plain values.

Layout (y in pixels). Text sits on 8-pixel pages, so a changed line costs few bus bytes:
  page 0     the exercise name, or an inverse title bar (every state but hold/tempo/press)
  page 1     cue or second line
  pages 2-5  the big band (y 16..47): side box (inverse L/R) at the left, big number (20x28 px)
  page 6     rep i/n  set j/m, or a hint
  page 7     status: progress bar through the routine, battery icon
Functions take the FrameBuffer first, then plain values; none imports engine, plan or app.
- side: 0 none, 1 left, 2 right (plan.NONE, LEFT, RIGHT)
- progress: per mille (0..1000) of the routine's planned time done, or None for no bar
- batt: (percent 0..100 or None, on_usb) as board.battery() returns it, or None for no icon
- seconds: whole seconds to show (the caller rounds up, so a 30 s hold shows 30 first, 1 last)
The rare screens (done, last, help, message, safe_mode, low_battery, error,
flash_full, resume, empty_menu) are in screens_extra.py and reached as screens.<name> all the same.
Full screens start with fb.fill(0). update() redraws only the big band and the status line (what
changes every second during prep/hold/switch/rest) and allocates nothing. Texts are at most 16
characters a line (8x8 font); longer names are cut by the screen edge.
"""

from micropython import const

_W = const(128)
_COLS = const(16)  # characters per line of the 8x8 font

# The big font: 5x7 cells drawn as _BIG_SCALE x _BIG_SCALE blocks; 7 row bytes per character,
# bit 4 = leftmost cell. "|" is the pause sign.
BIG_CHARS = "0123456789LRx-|"
BIG_FONT = (
    b"\x0e\x11\x11\x11\x11\x11\x0e"  # 0
    b"\x04\x0c\x14\x04\x04\x04\x1f"  # 1
    b"\x0e\x11\x01\x02\x04\x08\x1f"  # 2
    b"\x1f\x02\x04\x02\x01\x11\x0e"  # 3
    b"\x02\x06\x0a\x12\x1f\x02\x02"  # 4
    b"\x1f\x10\x1e\x01\x01\x11\x0e"  # 5
    b"\x06\x08\x10\x1e\x11\x11\x0e"  # 6
    b"\x1f\x01\x02\x04\x08\x08\x08"  # 7
    b"\x0e\x11\x11\x0e\x11\x11\x0e"  # 8
    b"\x0e\x11\x11\x0f\x01\x02\x0c"  # 9
    b"\x10\x10\x10\x10\x10\x10\x1f"  # L
    b"\x1e\x11\x11\x1e\x14\x12\x11"  # R
    b"\x00\x00\x11\x0a\x04\x0a\x11"  # x
    b"\x00\x00\x00\x1f\x00\x00\x00"  # -
    b"\x1b\x1b\x1b\x1b\x1b\x1b\x1b"  # | (pause)
)
_BIG_SCALE = const(4)  # big digits: 20 x 28 px, 4 px apart
_BIG_TOP = const(16)  # the big band: y 16..47 (pages 2..5)
_BIG_Y = const(18)  # top of the big digits
_BOX_W = const(24)  # side box: x 0..23 across the band, an inverse letter at _BOX_SCALE
_BOX_SCALE = const(3)
_BOX_GLYPH_X = const(4)
_BOX_GLYPH_Y = const(21)
_L = const(10)  # indexes into BIG_CHARS
_R = const(11)
_X = const(12)
_PAUSE = const(14)

_LEFT = const(1)
_RIGHT = const(2)
HELP_PAGES = 2


# ---- drawing helpers -------------------------------------------------------------------------
def big_glyph(fb, i, x, y, s=_BIG_SCALE, c=1):
    """Draw big character BIG_CHARS[i] with its top-left at (x, y), cells s px; 5s x 7s px."""
    o = i * 7
    for r in range(7):
        bits = BIG_FONT[o + r]
        col = 0
        while col < 5:
            if bits & (0x10 >> col):
                start = col
                while col < 5 and bits & (0x10 >> col):
                    col += 1
                fb.fill_rect(x + start * s, y + r * s, (col - start) * s, s, c)
            else:
                col += 1


def big_number(fb, n, cx, y=_BIG_Y, s=_BIG_SCALE, c=1, prefix=-1):
    """Draw the non-negative int n in big digits centred on x = cx; prefix: a BIG_CHARS index
    drawn first (e.g. the "x" of "x10"). Allocates nothing."""
    if n < 0:
        n = 0
    k = 1
    d = 1
    while n >= d * 10:
        d *= 10
        k += 1
    x = cx - ((k + (prefix >= 0)) * 6 - 1) * s // 2
    if prefix >= 0:
        big_glyph(fb, prefix, x, y, s, c)
        x += 6 * s
    while d:
        big_glyph(fb, (n // d) % 10, x, y, s, c)
        x += 6 * s
        d //= 10


def _band(fb, n, side, prefix=-1, box=-1):
    # The big band: the side box (inverse L/R, or the `box` glyph) at the left, then n centred in
    # the rest (n None: no number).
    fb.fill_rect(0, _BIG_TOP, _W, 32, 0)
    if box < 0 and side:
        box = _L if side == _LEFT else _R
    if box >= 0:
        fb.fill_rect(0, _BIG_TOP, _BOX_W, 32, 1)
        big_glyph(fb, box, _BOX_GLYPH_X, _BOX_GLYPH_Y, _BOX_SCALE, 0)
    if n is not None:
        big_number(fb, n, (_BOX_W + _W) // 2 if box >= 0 else _W // 2, _BIG_Y, _BIG_SCALE, 1, prefix)


def battery(fb, x, y, pct, usb):
    """A 13 x 7 px battery at (x, y) filled to pct; on USB with no reading: striped."""
    fb.rect(x, y, 11, 7, 1)
    fb.fill_rect(x + 11, y + 2, 2, 3, 1)
    if pct is None:
        if usb:
            for i in range(x + 2, x + 10, 2):
                fb.vline(i, y + 2, 3, 1)
        return
    if pct > 100:
        pct = 100
    w = (9 * pct + 50) // 100
    if pct > 0 and w == 0:
        w = 1
    fb.fill_rect(x + 1, y + 1, w, 5, 1)


def status(fb, progress, batt):
    """The bottom line: routine progress bar (x 0..111) and battery (x 115..127). No allocation."""
    fb.fill_rect(0, 56, _W, 8, 0)
    if progress is not None:
        if progress < 0:
            progress = 0
        elif progress > 1000:
            progress = 1000
        fb.rect(0, 57, 112, 7, 1)
        fb.fill_rect(2, 59, (108 * progress + 500) // 1000, 3, 1)
    if batt is not None:
        battery(fb, 115, 57, batt[0], batt[1])


def update(fb, seconds, side=0, progress=None, batt=None):
    """The per-second redraw of prep, hold, switch and rest: the big number (with the side box)
    and the status line; the rest of the screen stays. Allocates nothing."""
    _band(fb, seconds, side)
    status(fb, progress, batt)


def text(fb, s, y, align=1, c=1):
    """Text on the line at y: align 0 left, 1 centre, 2 right (clipped at 16 characters)."""
    if not s:
        return
    n = len(s)
    if align == 0 or n >= _COLS:
        x = 0
    elif align == 1:
        x = (_W - 8 * n) // 2
    else:
        x = _W - 8 * n
    fb.text(s, x, y, c)


def title(fb, s, y=0):
    """An inverse bar across the line at y with s centred in it."""
    fb.fill_rect(0, y, _W, 8, 1)
    text(fb, s, y, 1, 0)


def wrap(s, width=_COLS, lines=6):
    """Words of s in lines of at most width characters (long words cut), at most `lines` lines."""
    out = []
    cur = ""
    for word in s.split():
        while len(word) > width:
            if cur:
                out.append(cur)
                cur = ""
            out.append(word[:width])
            word = word[width:]
        if not cur:
            cur = word
        elif len(cur) + 1 + len(word) <= width:
            cur += " " + word
        else:
            out.append(cur)
            cur = word
    if cur:
        out.append(cur)
    return out[:lines]


def mmss(seconds):
    """12:05 under an hour, 1h05 above."""
    if seconds >= 3600:
        return "%dh%02d" % (seconds // 3600, seconds % 3600 // 60)
    return "%d:%02d" % (seconds // 60, seconds % 60)


def repset(rep, reps, set_no, sets, always_rep=False):
    """ "rep 2/5  set 1/2" shortened to fit 16 characters; a 1-of-1 part is left out."""
    r = "rep %d/%d" % (rep, reps) if reps > 1 or always_rep else ""
    s = "set %d/%d" % (set_no, sets) if sets > 1 else ""
    if not (r and s):
        return r or s
    for sep in ("  ", " "):
        if len(r) + len(sep) + len(s) <= _COLS:
            return r + sep + s
    return "r%d/%d s%d/%d" % (rep, reps, set_no, sets)


# ---- the screens -----------------------------------------------------------------------------
def menu(fb, name, i, n, exercises, total_s, batt=None, hint="long: start"):
    """Choosing a routine: routine i of n (1-based), its name (up to 32 characters, two lines),
    exercise count, planned duration, and the hint bar."""
    fb.fill(0)
    fb.text("ROUTINE %d/%d" % (i, n), 0, 0, 1)
    if batt is not None:
        battery(fb, 115, 0, batt[0], batt[1])
    fb.hline(0, 10, _W, 1)
    y = 16
    for line in wrap(name, _COLS, 2):
        text(fb, line, y)
        y += 8
    text(fb, "%d exercise%s" % (exercises, "" if exercises == 1 else "s"), 40)
    text(fb, "total " + mmss(total_s), 48)
    title(fb, hint, 56)


def prep(fb, name, cue, seconds, side=0, progress=None, batt=None):
    """Get-into-position countdown before an exercise."""
    fb.fill(0)
    title(fb, "GET IN POSITION")
    text(fb, name, 8)
    text(fb, cue, 48)
    update(fb, seconds, side, progress, batt)


def hold(fb, name, cue, seconds, side, rep, reps, set_no, sets, progress=None, batt=None):
    """A timed hold: name, cue, side box and the remaining seconds, rep i/n and set j/m."""
    fb.fill(0)
    text(fb, name, 0)
    text(fb, cue, 8)
    text(fb, repset(rep, reps, set_no, sets), 48)
    update(fb, seconds, side, progress, batt)


def switch(fb, name, seconds, side, progress=None, batt=None):
    """Change side: the side to change to, and the seconds left to do it."""
    fb.fill(0)
    title(fb, "SWITCH SIDE")
    text(fb, "now LEFT side" if side == _LEFT else "now RIGHT side", 8)
    text(fb, name, 48)
    update(fb, seconds, side, progress, batt)


def rest(fb, name, seconds, rep, reps, set_no, sets, set_rest=False, side=0, progress=None, batt=None):
    """Rest between reps (or sets when set_rest); name/rep/set/side describe what comes next."""
    fb.fill(0)
    title(fb, "SET REST" if set_rest else "REST")
    text(fb, name, 8)
    nxt = "next set %d/%d" % (set_no, sets) if set_rest else "next rep %d/%d" % (rep, reps)
    if side:
        nxt += " " + ("L" if side == _LEFT else "R")
    text(fb, nxt, 48)
    update(fb, seconds, 0, progress, batt)


def tempo(fb, name, cue, rep, reps, side, set_no, sets, progress=None, batt=None):
    """Counted reps paced by the device: the rep being done in big digits, rep i/n, set j/m."""
    fb.fill(0)
    text(fb, name, 0)
    text(fb, cue, 8)
    _band(fb, rep, side)
    text(fb, repset(rep, reps, set_no, sets, True), 48)
    status(fb, progress, batt)


def press(fb, name, cue, reps, side, set_no, sets, progress=None, batt=None):
    """Counted reps at the user's pace: "x10" in big, ends on a press."""
    fb.fill(0)
    text(fb, name, 0)
    text(fb, cue, 8)
    _band(fb, reps, side, _X)
    text(fb, "set %d/%d: press" % (set_no, sets) if sets > 1 else "press when done", 48)
    status(fb, progress, batt)


def paused(fb, name, seconds=None, hint="short: resume", hint2="long: end"):
    """Paused: the pause sign, the seconds that were left (None: none), how to go on."""
    fb.fill(0)
    title(fb, "PAUSED")
    text(fb, name, 8)
    _band(fb, seconds, 0, -1, _PAUSE)
    text(fb, hint, 48)
    text(fb, hint2, 56)


def __getattr__(name):
    # The screens shown once in a while (done, last, help, message, safe_mode, low_battery, error,
    # flash_full, resume, empty_menu) live in screens_extra.py: loaded at boot (main._load), unloaded
    # by the app while the PC's link needs the room, and loaded again before the next session.
    if name.startswith("__"):
        raise AttributeError(name)
    import screens_extra

    try:
        return getattr(screens_extra, name)
    except AttributeError:
        raise AttributeError(name)
