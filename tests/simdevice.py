"""Helpers for tests that run the real firmware on the simulated device (holdtimer.simulator)."""
import glob
import os

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


def start(fs, script=(), heap_kb=96, speed=100, press_on_wait=True, clock=None, **kw):
    """A started simulator; with press_on_wait it presses short whenever a set waits for a press.
    Its clock is virtual (exact, as fast as the CPU allows) unless it has a link (the PC talks to
    it in wall-clock time: then paced), or `clock` says otherwise."""
    if clock is None:
        clock = "paced" if kw.get("link") else "virtual"
    kw["clock"] = clock
    holder = {}

    def on_event(ev):
        if press_on_wait and ev.kind == "C" and ev.name == "cue" and ev.data.startswith("press_wait"):
            holder["sim"].press("short")

    sim = simulator.Simulator(fs, speed=speed, script=script, heap_kb=heap_kb, on_event=on_event, **kw)
    holder["sim"] = sim
    return sim.start()


def cues(sim):
    """[(name, at tick, step)] of the cue events the app reported."""
    out = []
    for e in sim.cues():
        if e.name == "cue":
            name, at, i = e.data.split()
            out.append((name, int(at), int(i)))
    return out


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


def logs(fs):
    d = os.path.join(fs, "logs")
    out = []
    for n in sorted(os.listdir(d), key=lambda n: int(n.split(".")[0])):
        with open(os.path.join(d, n), "rb") as f:
            out.append((n, sessionlog.read(f.read())))
    return out


def read_screens(frames, tmp_path):
    """Text lines and big number of each frame, read back with MicroPython's font."""
    p = os.path.join(str(tmp_path), "frames.hex")
    with open(p, "w") as f:
        for fr in frames:
            f.write(fr.data.hex() + "\n")
    r = run_micropython([os.path.join(TESTS_FW, "readframes.py"), p], heap_kb=1024)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


__all__ = ["REPO", "seeds", "flash_with", "start", "cues", "gestures", "replay", "logs", "read_screens"]
