"""Helpers for tests that run the real firmware on the simulated device (holdtimer.simulator)."""
import glob
import os
import threading

from conftest import REPO, ROUTINES, TESTS_FW, run_micropython
from holdtimer import fw, simulator

routine = fw.load("routine")
plan = fw.load("plan")
engine = fw.load("engine")
sessionlog = fw.load("sessionlog")


def seeds():
    """{id: (doc, compact bytes)} of the routines in routines/."""
    out = {}
    for p in sorted(glob.glob(os.path.join(ROUTINES, "*.json"))):
        with open(p, "rb") as f:
            doc, errors = routine.parse(f.read(), p)
        assert not errors, errors
        out[doc["id"]] = (doc, routine.compact(doc))
    return out


def flash_with(fs, routines):
    """Put compact routines on the simulated flash, as a sync would."""
    os.makedirs(os.path.join(fs, "routines"), exist_ok=True)
    for rid, data in routines:
        with open(os.path.join(fs, "routines", rid + ".json"), "wb") as f:
            f.write(data)


MASK = (1 << 30) - 1
START = (1 << 30) - 20000  # boards/sim.py's default first tick
PRESS_WAIT_MS = 1500  # a set at your own pace takes the simulated user this long


def start(fs, script=(), heap_kb=96, speed=100, press_on_wait=True, clock=None, **kw):
    """A started simulator; with press_on_wait it presses short whenever a set waits for a press
    (press_on_wait may be a function: then only while it returns True).
    Its clock is virtual (exact, as fast as the CPU allows) unless it has a link (the PC talks to
    it in wall-clock time: then paced), or `clock` says otherwise."""
    if clock is None:
        clock = "paced" if kw.get("link") else "virtual"
    kw["clock"] = clock
    holder = {"done": set()}
    if press_on_wait is True and clock != "paced":
        kw["press_on_wait"] = PRESS_WAIT_MS  # pressed by the device itself, at an exact device time
        press_on_wait = False
    when = press_on_wait if callable(press_on_wait) else (lambda: bool(press_on_wait))
    lock = threading.Lock()

    def press_pending():
        """Presses short once for every press_wait cue not pressed yet, while when() holds."""
        if not when():
            return
        with lock:
            for e in holder["sim"].cues():
                if e.name == "cue" and e.data.startswith("press_wait") and id(e) not in holder["done"]:
                    holder["done"].add(id(e))
                    holder["sim"].press("short")

    def on_event(ev):
        if ev.kind == "C" and ev.name == "cue" and ev.data.startswith("press_wait"):
            press_pending()

    sim = simulator.Simulator(fs, speed=speed, script=script, heap_kb=heap_kb, on_event=on_event, **kw)
    holder["sim"] = sim
    sim.press_pending = press_pending  # call after when() has become true
    return sim.start()


def cues(sim):
    """[(name, at tick, step)] of the cue events the app reported."""
    out = []
    for e in sim.cues():
        if e.name == "cue":
            name, at, i = e.data.split()
            out.append((name, int(at), int(i)))
    return out


def late(sim, start=START):
    """Cues the app reported at another moment than their scheduled tick: [(name, at, reported)]."""
    out = []
    for e in sim.cues():
        if e.name == "cue":
            name, at, _i = e.data.split()
            if tick(e.ms, start) != int(at):
                out.append((name, int(at), tick(e.ms, start)))
    return out


def planned_starts(doc, t0):
    """{step: tick} at which each step starts by the plan alone (no pause, press or gesture)."""
    return {i: (t0 + plan.ms_before(doc, i)) & MASK for i in range(plan.count(doc))}


def gestures(sim):
    out = []
    for e in sim.cues():
        if e.name == "gesture":
            g, at = e.data.split()
            out.append((g, int(at)))
    return out


def replay(doc, t0, gestures_, start_step=0):
    """The cue events the engine gives on CPython for the same start tick and gestures."""
    e = engine.Engine(doc, t0, start_step)
    evs = list(e.start(t0))
    for g, at in gestures_:
        evs += e.update(at)
        if e.done:
            break
        evs += e.gesture(g, at)
    t = t0
    while not e.done:
        w = e.wake_in(t)
        if w is None:
            break
        t = (t + max(w, 1)) & ((1 << 30) - 1)
        evs += e.update(t)
    return [(n, at, i) for n, at, i, _d in evs if n != "step"]


def tick(ms, start=START):
    """The device tick at `ms` device ms since power-up."""
    return (start + ms) & MASK


def _app_constants():
    """PRIORITY and ACK of firmware/app.py, read from its source (app imports the board)."""
    import ast

    with open(os.path.join(fw.path(), "app.py")) as f:
        tree = ast.parse(f.read())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and getattr(node.targets[0], "id", "") in ("PRIORITY", "ACK"):
            out[node.targets[0].id] = ast.literal_eval(node.value)
    return out["PRIORITY"], out["ACK"]


PRIORITY, ACK = _app_constants()
haptics = fw.load("haptics")


def motor(sim):
    """[(tick, on)] of every switch of the motor, as the device did it."""
    return [(int(e.data), e.name == "1") for e in sim.events if e.kind == "M"]


def felt(cue_list):
    """[(tick, on)] the motor must do for these cues [(name, at tick, step)], from the haptic table
    (haptics.PATTERNS) and the app's choice among cues due at once (PRIORITY, ACK): a pattern
    (on, off, on, ...) ms starts at its cue's tick and ends off; a later cue cuts the one playing.
    Computed here from the table, not by the firmware's Player."""
    plays = []  # [[tick, cue]]: the cue played at each tick
    for name, at, _i in cue_list:
        if name not in PRIORITY:
            continue
        if plays and plays[-1][0] == at:
            if PRIORITY.index(name) < PRIORITY.index(plays[-1][1]):
                plays[-1][1] = name
        else:
            plays.append([at, name])
    level, out = False, []
    for k, (at, name) in enumerate(plays):
        pat = haptics.PATTERNS["ack" if name in ACK else name]
        cut = plays[k + 1][0] if k + 1 < len(plays) else None
        t = at
        for j in range(len(pat) + 1):
            if cut is not None and _after(t, cut) >= 0:
                break  # the next cue takes the motor over from here
            on = j % 2 == 0 and j < len(pat)
            if on != level:
                out.append((t & MASK, on))
                level = on
            if j < len(pat):
                t += pat[j]
    return out


def _after(a, b):
    """Signed ms from tick b to tick a (wrap-safe)."""
    return (((a - b) & MASK) ^ (1 << 29)) - (1 << 29)


def log_bytes(fs):
    """The bytes of the one session log file on a simulated flash, each session's random uid (the
    last 8 bytes of its header) and the header's check masked: what must be the same run to run."""
    (name,) = os.listdir(os.path.join(fs, "logs"))
    with open(os.path.join(fs, "logs", name), "rb") as f:
        data = bytearray(f.read())
    pos = 0
    while pos + 4 <= len(data):
        typ, plen = data[pos], data[pos + 1]
        if typ == sessionlog.HEADER and data[pos + 2] >= 2:
            data[pos + 2 + plen - sessionlog.UID_LEN:pos + 4 + plen] = b"\0" * (sessionlog.UID_LEN + 2)
        pos += plen + 4
    return bytes(data)


def logs(fs):
    """[(name, sessionlog.read dict)] of the session logs on a (stopped) simulated flash, read with
    the firmware's own storage code: sessions share segment files there."""
    storage = fw.load("storage")
    st = storage.Storage(fs)
    return [(name, st.session(name)) for name, _size, _pulled in st.logs()]


def read_screens(frames, tmp_path):
    """Text lines and big number of each frame, read back with MicroPython's font."""
    p = os.path.join(str(tmp_path), "frames.hex")
    with open(p, "w") as f:
        for fr in frames:
            f.write(fr.data.hex() + "\n")
    r = run_micropython([os.path.join(TESTS_FW, "readframes.py"), p], heap_kb=1024)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


__all__ = ["REPO", "seeds", "flash_with", "start", "cues", "gestures", "replay", "logs", "read_screens", "motor",
           "felt", "late", "planned_starts", "tick"]
