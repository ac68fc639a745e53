# Prints the plan, a full engine session and a gesture decoding as text, so tests/test_engine_parity.py
# can check CPython and MicroPython print the very same lines. Usage:
#   python|micropython tests/fw/trace_engine.py ROUTINE.json|-   ("-": a small built-in routine)
# The session starts 9 s before the tick counter wraps, the loop wakes up to 1.9 s late at
# pseudo-random, and the user pauses, resumes, marks discomfort, skips and presses.
import json
import sys

here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, here + "/../../firmware")

import plan  # noqa: E402
import ticks  # noqa: E402
from engine import Engine  # noqa: E402
from gestures import Gestures  # noqa: E402

BUILTIN = {"v": 1, "id": "builtin", "name": "Builtin", "src": "test", "freq": {"n": 1, "per": "day"}, "prep": 3,
           "ex": [{"name": "a", "hold": 7, "reps": 2, "sides": "alt", "rest": 2},
                  {"name": "b", "tempo": 2, "reps": 4, "sets": 2, "srest": 5},
                  {"name": "c", "press": True, "reps": 6, "sides": "each"}]}


class Rand:
    def __init__(self, seed):
        self.x = seed

    def below(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.x >> 8) % n


def trace_plan(doc):
    print("plan count=%d total_ms=%d" % (plan.count(doc), plan.total_ms(doc)))
    for i, st in enumerate(plan.steps(doc)):
        print("step", i, st, plan.ex_bounds(doc, i), plan.ms_before(doc, i), plan.progress(doc, i, 0, 1000))


def trace_session(doc):
    start = ticks.PERIOD - 9000
    total = plan.total_ms(doc)
    script = [(5000, "short"), (66000, "short"), (66000 + total // 4, "triple"), (66000 + total // 3, "double")]
    rnd = Rand(4242)
    e = Engine(doc, start)
    t = 0
    for ev in e.start(start):
        print("ev", ev[0], ticks.diff(ev[1], start), ev[2], ev[3])
    while not e.done:
        now = ticks.add(start, t)
        w = e.wake_in(now)
        if w is None and not script:
            script.append((max(t, ticks.diff(e.step_at, start) + 2345), "short"))
        target = None if w is None else t + w + rnd.below(1900)
        if script and (target is None or script[0][0] <= target):
            g_at, name = script.pop(0)
            t = max(t, g_at)
            evs = e.gesture(name, ticks.add(start, t))
        else:
            t = target
            evs = e.update(ticks.add(start, t))
        for ev in evs:
            print("ev", ev[0], ticks.diff(ev[1], start), ev[2], ev[3])
    print("end", e.end_reason, e.i)


def trace_gestures():
    g = Gestures()
    rnd = Rand(777)
    start = ticks.PERIOD - 4000
    level = False
    t = 0
    change = 0
    while t < 60000:
        if t >= change:
            level = not level
            change = t + (rnd.below(1200) if level else rnd.below(600)) + 1
        r = g.update(level, ticks.add(start, t))
        if r is not None:
            print("gesture", t, r)
        t += 1 + rnd.below(15)


def main():
    arg = sys.argv[1] if len(sys.argv) > 1 else "-"
    if arg == "-":
        doc = BUILTIN
    else:
        with open(arg, "rb") as f:
            doc = json.loads(f.read())
    trace_plan(doc)
    trace_session(doc)
    trace_gestures()


main()
