"""The screens shown once in a while, split from screens.py to keep them out of the heap while a
session runs: screens.<name> loads this module for the call and drops it again (screens.__getattr__).
Draw with the helpers of screens.py; the same conventions hold (see its docstring)."""
from micropython import const

from screens import HELP_PAGES, big_number, mmss, text, title, wrap

_COLS = const(16)  # as in screens.py


def empty_menu(fb):
    """No routine on the device yet."""
    message(fb, "NO ROUTINES", ("", "Connect to a PC", "and run", "holdtimer sync"))


def done(fb, routine, elapsed_s, steps, planned, skipped, discomfort, ended=False, hint="short: menu"):
    """Session done (or ended early): duration, steps done of planned, skipped, discomfort marks."""
    fb.fill(0)
    title(fb, "SESSION ENDED" if ended else "SESSION DONE")
    text(fb, routine, 8)
    _summary(fb, elapsed_s, steps, planned, skipped, discomfort, 24)
    text(fb, hint, 56)


def last(fb, routine=None, when="", elapsed_s=0, steps=0, planned=0, skipped=0, discomfort=0, ended=False):
    """The last session's summary (routine None: there is none yet). when: up to 16 characters
    chosen by the caller, e.g. "05-14 08:30" or "boot 12"."""
    fb.fill(0)
    title(fb, "LAST SESSION")
    if routine is None:
        text(fb, "none yet", 32)
        return
    text(fb, routine, 8)
    text(fb, when, 16)
    _summary(fb, elapsed_s, steps, planned, skipped, discomfort, 24)
    text(fb, "ended early" if ended else "completed", 56)


def _summary(fb, elapsed_s, steps, planned, skipped, discomfort, y):
    # label at the left, value at the right, one a line
    for label, value in (("time", mmss(elapsed_s)), ("steps", "%d/%d" % (steps, planned)),
                         ("skipped", "%d" % skipped), ("discomfort", "%d" % discomfort)):
        fb.text(label, 0, y, 1)
        text(fb, value, y, 2)
        y += 8


_HELP = const((
    ("HELP 1/2: MENU", "short  next", "long   start", "double summary", "",
     "Power up with", "button held:", "safe mode"),
    ("HELP 2/2: RUN", "short  pause/go", "double skip", "long   end", "triple mark",
     "  discomfort"),
))


def help(fb, page=0):
    """The button grammar, HELP_PAGES pages: 0 choosing a routine, 1 running a session."""
    fb.fill(0)
    lines = _HELP[page % HELP_PAGES]
    title(fb, lines[0])
    for k in range(1, len(lines)):
        fb.text(lines[k], 0, 8 * k, 1)


def message(fb, head, lines, hint=None):
    """A title bar, up to 6 lines of text (wrapped), and a hint on the bottom line."""
    fb.fill(0)
    title(fb, head)
    y = 8
    for line in lines:
        for part in wrap(line, _COLS, 6) or ("",):
            if y > 48:
                break
            text(fb, part, y)
            y += 8
    if hint:
        text(fb, hint, 56)


def safe_mode(fb):
    """Powered up with the button held: the application did not start."""
    message(fb, "SAFE MODE", ("App not started.", "REPL and", "mpremote free.", ""),
            "Replug to run")


def low_battery(fb, pct=None):
    """Battery nearly empty: a big battery, the percentage, what to do."""
    fb.fill(0)
    title(fb, "LOW BATTERY")
    fb.rect(4, 22, 44, 22, 1)
    fb.fill_rect(48, 28, 4, 10, 1)
    if pct is not None:
        fb.fill_rect(6, 24, (40 * min(max(pct, 0), 100) + 50) // 100, 18, 1)
        big_number(fb, pct, 88)
        fb.text("%", 112, 40, 1)
    text(fb, "Charge via USB", 56)


def error(fb, msg, hint="restarting"):
    """An error, wrapped over six lines, and what happens next."""
    message(fb, "ERROR", (msg,), hint)


def flash_full(fb, unpulled=0, hint="short: ok"):
    """Flash full: no room for a session log; only pulling logs to the PC frees it."""
    lines = ["No room to log.", "Pull logs on PC:", "holdtimer pull"]
    if unpulled:
        lines.append("%d not pulled" % unpulled)
    message(fb, "FLASH FULL", lines, hint)


def resume(fb, routine, step, steps, ex_name=None):
    """A session cut by a power loss can be resumed: the routine (name, or id), the step it goes on
    at and its exercise (None: unknown, or the routine changed), and what long and short do."""
    fb.fill(0)
    title(fb, "RESUME?")
    y = 8
    for line in wrap(routine, _COLS, 2):
        text(fb, line, y)
        y += 8
    text(fb, "at step %d/%d" % (step, steps), 24)
    y = 32
    for line in wrap(ex_name or "", _COLS, 2):
        text(fb, line, y)
        y += 8
    fb.text("long  resume", 0, 48, 1)
    fb.text("short discard", 0, 56, 1)
