# Cue timing under the MicroPython unix port (bench/bench_timing.py runs it; not a bench_* script).
#
#   micropython -X heapsize=96k bench/mp_timing.py FWDIR MODE [SECONDS]
#
# FWDIR holds the firmware (holdtimer.simulator.build_for_sim) and boards/sim_i2c, compiled by mpy-cross;
# bench_timing.py compiles this file there too and imports it (no heap spent compiling source).
# MODE:
#   engine   the real engine, clocked by the real time.ticks_ms (masked to 2**30 like rp2), in a loop
#            shaped like app.App.run: poll the button (gestures), update the engine, start the motor
#            pattern (haptics), draw the screen (screens + ssd1306 driver + emulated SSD1306 bus: the
#            full screen at a new step, update() each second), then sleep with time.sleep_ms until
#            the nearest of engine.wake_in, haptics, gestures, the next screen second and POLL_MS.
#            For every cue the lateness = the moment update() returned it - its scheduled tick.
#   naive    the same routine, cues, motor and screens, timed the naive way: cue, draw, then
#            time.sleep_ms(the step's duration); cue times are compared with the ideal schedule.
#   countdown  naive with a countdown on screen: cue, then per second draw + sleep_ms(1000).
#   drift    no real time: a 60-minute routine driven with simulated late wakes (see below).
# Sessions of the short bench routine repeat until SECONDS of real time have passed.
# Prints one JSON line.
from array import array
import gc
import json
import sys
import time

if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])

import gestures  # noqa: E402
import haptics  # noqa: E402
import plan  # noqa: E402
import routine  # noqa: E402
import ticks  # noqa: E402
from engine import Engine  # noqa: E402

MASK = ticks.PERIOD - 1
POLL_MS = 20  # boards/*.py: the button is polled at least this often

# Short holds and rests so that a minute holds many boundaries: holds of 3 s (with their 2 last-second
# ticks), side switches, rests, a tempo exercise (a beat a second), sets with a set rest.
BENCH = {"v": 1, "id": "bench-timing", "name": "Timing bench", "src": "bench/mp_timing.py",
         "freq": {"n": 1, "per": "day"}, "prep": 1,
         "ex": [{"name": "Alt holds", "cue": "hold", "hold": 2, "reps": 3, "rest": 1, "sides": "alt", "switch": 1},
                {"name": "Beats", "cue": "go", "tempo": 1, "reps": 4},
                {"name": "Sets", "cue": "hold", "hold": 1, "reps": 3, "rest": 1, "sets": 2, "srest": 1, "prep": 0},
                {"name": "Long hold", "hold": 4, "prep": 0}]}

BOUNDARY = ("prep", "hold", "rest", "switch", "press_wait", "hold_end", "done")  # step starts and ends
CUES = BOUNDARY + ("tick", "rep", "ex_done")


class Motor:
    def __init__(self):
        self.duty = 0

    def on(self, duty=65535):
        self.duty = duty

    def off(self):
        self.duty = 0


def display():
    import sim_i2c
    import ssd1306
    return ssd1306.SSD1306_I2C(128, 64, sim_i2c.SimI2C())


def now_us():
    """(µs, ms tick): one reading of the monotonic clock; the ms tick is time.ticks_ms() of that
    instant (the unix port derives both from CLOCK_MONOTONIC), masked to 2**30 like rp2's."""
    us = time.ticks_us()
    return us, (us // 1000) & MASK


class Screen:
    """Draws what the app draws: the full screen when a step starts, update() when the second changes."""

    def __init__(self, doc):
        import screens
        self.s = screens
        self.fb = display()
        self.doc = doc
        self.total = plan.total_ms(doc)

    def full(self, st, secs, prog):
        kind, e, set_no, rep, side, dur = st
        ex = self.doc["ex"][e]
        reps = routine.field(self.doc, ex, "reps")
        sets = routine.field(self.doc, ex, "sets")
        name = ex["name"]
        cue = ex.get("cue", "")
        s = self.s
        if kind == plan.PREP:
            s.prep(self.fb, name, cue, secs, side, prog)
        elif kind == plan.HOLD:
            s.hold(self.fb, name, cue, secs, side, rep, reps, set_no, sets, prog)
        elif kind == plan.SWITCH:
            s.switch(self.fb, name, secs, side, prog)
        elif kind == plan.TEMPO:
            s.tempo(self.fb, name, cue, rep, reps, side, set_no, sets, prog)
        else:
            s.rest(self.fb, name, secs, rep, reps, set_no, sets, kind == plan.SREST, side, prog)
        self.fb.show()

    def second(self, secs, side, prog):
        self.s.update(self.fb, secs, side, prog)
        self.fb.show()


def stats(a):
    a = sorted(a)
    n = len(a)
    if not n:
        return {"n": 0}

    def pct(p):
        return a[min(n - 1, (n * p + 99) // 100 - 1)] if p < 100 else a[-1]
    return {"n": n, "p50": pct(50), "p99": pct(99), "max": a[-1], "min": a[0], "mean": sum(a) // n}


def run_engine(doc, seconds):
    scr = Screen(doc)
    g = gestures.Gestures()
    hp = haptics.Player(Motor())
    wake = array("i")    # µs late, every cue
    bound = array("i")   # µs late, boundary cues
    motor = array("i")   # µs from the scheduled tick to the motor switched on (after haptics.play)
    passes = 0
    sessions = 0
    t_end = time.ticks_add(time.ticks_ms(), seconds * 1000)
    gc.collect()
    while time.ticks_diff(t_end, time.ticks_ms()) > 0:
        sessions += 1
        us, now = now_us()
        e = Engine(doc, now)
        evs = e.start(now)
        drawn_i = -1
        drawn_s = -1
        while True:
            passes += 1
            if evs:
                best = None
                for name, at, i, data in evs:
                    if name in CUES:
                        late = us - ((us // 1000) - ticks.diff(now, at)) * 1000
                        wake.append(late)
                        if name in BOUNDARY:
                            bound.append(late)
                        if best is None:
                            best = (name, at)
                if best is not None:
                    hp.play(best[0], now)
                    u2 = time.ticks_us()
                    motor.append(u2 - ((us // 1000) - ticks.diff(now, best[1])) * 1000)
            if e.done:
                break
            hp.update(now)
            st = e.step
            rem = e.remaining(now)
            secs = (rem + 999) // 1000 if rem is not None else -1
            if evs or e.i != drawn_i or secs != drawn_s:
                prog = (plan.ms_before(doc, e.i) + e.elapsed(now)) * 1000 // scr.total
                if evs or e.i != drawn_i:  # the app redraws the whole screen after any event
                    scr.full(st, secs, prog)
                else:
                    scr.second(secs, st[4], prog)
                drawn_i, drawn_s = e.i, secs
            # the app's sleep: the nearest deadline of every component (app.App.sleep_ms)
            ms = POLL_MS
            for w in (e.wake_in(now), hp.wake_in(now), g.wake_in(now), (rem % 1000 or 1000) if rem is not None else None):
                if w is not None and w < ms:
                    ms = w
            time.sleep_ms(ms)
            us, now = now_us()
            g.update(False, now)
            evs = e.update(now)
    ck = time.ticks_ms() & MASK
    _, now = now_us()
    return {"mode": "engine", "sessions": sessions, "passes": passes, "wake": stats(wake),
            "boundary": stats(bound), "motor": stats(motor), "clock_check_ms": ticks.diff(now, ck)}


def _cue_list(doc):
    """The cues of an undisturbed run, in order: (name, ms from start), as docs/engine.md defines them."""
    out = []
    t = 0
    prev = None
    for st in plan.steps(doc):
        kind, ex, d = st[0], st[1], st[5]
        if prev is not None and prev != ex:
            out.append(("ex_done", t))
        prev = ex
        out.append((("prep", "hold", "rest", "switch", "rest", "rep", "press_wait")[kind], t))
        t += d
    return out, t


def run_naive(doc, seconds, countdown):
    scr = Screen(doc)
    hp = haptics.Player(Motor())
    bound = array("i")
    ends = []   # µs late at each session's end (drift over one session)
    sessions = 0
    steps = 0
    t_end = time.ticks_add(time.ticks_ms(), seconds * 1000)
    gc.collect()
    while time.ticks_diff(t_end, time.ticks_ms()) > 0:
        sessions += 1
        t0, _ = now_us()
        sched = 0  # ms from t0: the ideal schedule
        for st in plan.steps(doc):
            us, now = now_us()
            bound.append(us - t0 - sched * 1000)
            hp.play(("prep", "hold", "rest", "switch", "rest", "rep", "press_wait")[st[0]], now)
            d = st[5]
            secs = d // 1000
            scr.full(st, secs, 0)
            if countdown:
                for s in range(secs - 1, -1, -1):
                    time.sleep_ms(1000)
                    scr.second(s, st[4], 0)
                    hp.update(time.ticks_ms() & MASK)
            else:
                time.sleep_ms(d)
            sched += d
            steps += 1
        us, _ = now_us()
        bound.append(us - t0 - sched * 1000)  # "done"
        ends.append(us - t0 - sched * 1000)
    return {"mode": "countdown" if countdown else "naive", "sessions": sessions, "steps": steps,
            "boundary": stats(bound), "session_end_late_us": ends, "session_ms": sched}


# ---- drift over a simulated 60-minute session ------------------------------------------------------
HOUR = {"v": 1, "id": "hour", "name": "Hour", "src": "tests/fw/test_engine.py", "freq": {"n": 1, "per": "day"},
        "prep": 10,
        "ex": [{"name": "long holds", "hold": 45, "reps": 20, "rest": 15, "sides": "each", "switch": 10},
               {"name": "tempo", "tempo": 4, "reps": 25, "sets": 3, "srest": 30},
               {"name": "short holds", "hold": 8, "reps": 30, "rest": 2, "sides": "alt", "switch": 5},
               {"name": "last hold", "hold": 132}]}


class Rand:
    def __init__(self, seed):
        self.x = seed

    def below(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.x >> 8) % n


def drift(doc, late_ms, seed=6, start=ticks.PERIOD - 1234567):
    """Engine woken late by 0..late_ms-1 ms at every wake (random): (cues, max cue lateness, end - planned).
    The naive loop with the same random lateness added to each of its sleeps: its end - planned."""
    e = Engine(doc, start)
    r = Rand(seed)
    t = 0
    cues = 0
    worst = 0
    last = None
    evs = e.start(start)
    while True:
        for name, at, i, data in evs:
            if name in CUES:
                cues += 1
                late = t - ticks.diff(at, start)
                worst = late if late > worst else worst
            if name == "done":
                last = ticks.diff(at, start)
        if e.done:
            break
        t += e.wake_in(ticks.add(start, t)) + r.below(late_ms)
        evs = e.update(ticks.add(start, t))
    total = plan.total_ms(doc)
    r = Rand(seed)
    naive = 0
    n = 0
    for st in plan.steps(doc):
        naive += st[5] + r.below(late_ms)
        n += 1
    return {"late_ms": late_ms, "cues": cues, "worst_cue_late_ms": worst, "engine_end_minus_planned_ms": last - total,
            "naive_end_minus_planned_ms": naive - total, "planned_ms": total, "steps": n}


def main(argv):
    mode = argv[0]
    seconds = int(argv[1]) if len(argv) > 1 else 60
    doc, errs = routine.parse(json.dumps(BENCH).encode(), "bench")
    assert not errs, errs
    hour, errs = routine.parse(json.dumps(HOUR).encode(), "hour")
    assert not errs and plan.total_ms(hour) == 3600000
    del sys.modules["rcheck"]  # as the app does: the validator's heap back before a session
    gc.collect()
    if mode == "engine":
        out = run_engine(doc, seconds)
    elif mode in ("naive", "countdown"):
        out = run_naive(doc, seconds, mode == "countdown")
    else:
        out = {"mode": "drift", "runs": [drift(hour, 2000), drift(hour, 20), drift(hour, 3)]}
    out["routine_ms"] = plan.total_ms(doc)
    out["routine_steps"] = plan.count(doc)
    gc.collect()
    out["heap_free"] = gc.mem_free()
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[2:])
