"""The session state machine: plan steps + the time it is handed + gestures -> cue events (pure)."""
# No clock reads and no I/O: every call is handed `now` (a tick, see ticks.py) and returns the events
# that became due. An event is (name, at_ms, step_index, data); at_ms is the SCHEDULED tick, not the
# time the loop woke. Deadlines are absolute: a step ends at its start + planned ms + ms paused, and
# the next step starts at that scheduled end, so a late wake never accumulates drift.
# docs/engine.md describes the events, their timing and the gestures.
import plan
import routine
import ticks

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x


# Bits of a step record's flags (data[3] of a "step" event).
SKIPPED = 1
DISCOMFORT = 2
ENDED = 4

# Cue emitted when a step starts, by plan kind (a TEMPO step starts with its first "rep" beat).
_START_CUES = const(("prep", "hold", "rest", "switch", "rest", "rep", "press_wait"))

_TICK = const(0)
_BEAT = const(1)
_END = const(2)
_NOTHING = const(())  # returned when nothing happened: no allocation in the idle loop


def _next_step(it):
    try:
        return next(it)
    except StopIteration:
        return None


class Engine:
    """Runs routine `doc` from step `start_step` (resume after a power cut). Override the timing
    constants below on the class or on an instance."""

    ticks_at = (3000, 2000, 1000)  # ms before a HOLD's end at which a "tick" is cued (descending)
    reminder_ms = 30000  # while paused, a "reminder" every this many ms (0: none)

    def __init__(self, doc, now_ms, start_step=0, offset_ms=0):
        self.doc = doc
        self.n = plan.count(doc)  # number of steps of the routine
        self.i = start_step  # index of the current step
        self.step = None  # current step tuple (plan.py), None before start and when done
        self.created = now_ms
        self.offset_ms = offset_ms  # session time already spent (a resumed session goes on from it)
        self.t_start = now_ms  # tick of session time 0 (start() - offset_ms): step offsets count from here
        self.started = False
        self.done = False
        self.end_reason = None  # "done" (ran to the end) or "ended" (long press)
        self.paused = False
        self.beat = 0  # the last rep beat cued in a TEMPO step (1..reps)
        self._it = None
        self.step_at = now_ms  # tick the current step began
        self._base = self._paused_at = now_ms
        self._off = None  # ms after _base of the next in-step deadline; None: none (PRESS)
        self._what = _END
        self._k = 0
        self._flags = self._pauses = self._paused_ms = 0
        self._rem_at = None
        self._beat_ms = self._reps = 0

    # ---- driving -------------------------------------------------------------------------------
    def start(self, now):
        """Begin the session (at step start_step) at tick `now`; returns the first events."""
        if self.started:
            return _NOTHING
        self.started = True
        self.t_start = ticks.add(now, -self.offset_ms)
        self._it = plan.steps(self.doc, self.i)
        out = []
        st = _next_step(self._it)
        if st is None:
            self._finish(now, out)
        else:
            self._begin(st, now, out)
        return out

    def update(self, now):
        """Every event due at or before tick `now`, in order (an empty tuple when none)."""
        if not self.started or self.done:
            return _NOTHING
        out = None
        if self.paused:
            while self._rem_at is not None and ticks.diff(now, self._rem_at) >= 0:
                if out is None:
                    out = []
                out.append(("reminder", self._rem_at, self.i, ticks.diff(self._rem_at, self._paused_at)))
                self._rem_at = ticks.add(self._rem_at, self.reminder_ms)
            return _NOTHING if out is None else out
        while self._off is not None:
            at = ticks.add(self._base, self._off)
            if ticks.diff(now, at) < 0:
                break
            if out is None:
                out = []
            if self._what == _TICK:
                out.append(("tick", at, self.i, self.ticks_at[self._k] // 1000))
                self._k += 1
                self._schedule()
            elif self._what == _BEAT:
                self._k += 1
                self.beat = self._k
                out.append(("rep", at, self.i, self._k))
                self._schedule()
            else:
                if self.step[0] == plan.HOLD:
                    out.append(("hold_end", at, self.i, self.step))
                self._advance(at, 0, out)
        return _NOTHING if out is None else out

    def gesture(self, name, now):
        """Apply gesture `name` (short/double/long/triple) at tick `now`; returns the events (the
        ones already due at `now` first). Ignored before start and after the end."""
        out = self.update(now)
        if not self.started or self.done:
            return out
        if not out:
            out = []
        if name == "short":
            if self.paused:
                self._resume(now, out)
            elif self.step[0] == plan.PRESS:  # PRESS: a short press ends the set (no pausing)
                self._advance(now, 0, out)
            else:
                self._pause(now, out)
        elif name == "double":
            if self.paused:
                self._resume(now, out)
            out.append(("skipped", now, self.i, self.step))
            self._advance(now, SKIPPED, out)
        elif name == "long":
            self._record(now, ENDED, out)
            out.append(("ended", now, self.i, None))
            self._stop("ended")
        elif name == "triple":
            self._flags |= DISCOMFORT
            out.append(("discomfort", now, self.i, self.step))
        return out

    def wake_in(self, now):
        """ms from `now` until the next deadline (0 if one is already due), or None if there is none
        (not started, done, or a PRESS step waiting for the user)."""
        if not self.started or self.done:
            return None
        if self.paused:
            at = self._rem_at
        elif self._off is None:
            return None
        else:
            at = ticks.add(self._base, self._off)
        if at is None:
            return None
        d = ticks.diff(at, now)
        return d if d > 0 else 0

    # ---- queries for the screen ----------------------------------------------------------------
    def elapsed(self, now):
        """ms the current step has run, pauses excluded (frozen while paused)."""
        if self.step is None:
            return 0
        d = ticks.diff(self._paused_at if self.paused else now, self._base)
        return d if d > 0 else 0

    def remaining(self, now):
        """ms left in the current step (frozen while paused); None for a PRESS step or when idle."""
        if self.step is None or self.step[0] == plan.PRESS:
            return None
        d = self.step[5] - self.elapsed(now)
        return d if d > 0 else 0

    def paused_for(self, now):
        """ms since the current pause began (0 when running)."""
        return ticks.diff(now, self._paused_at) if self.paused else 0

    # ---- internals -----------------------------------------------------------------------------
    def _begin(self, st, at, out):
        self.step = st
        self.step_at = self._base = at
        self._flags = self._pauses = self._paused_ms = 0
        self._k = 0
        self.beat = 0
        if st[0] == plan.TEMPO:
            ex = self.doc["ex"][st[1]]
            self._beat_ms = ex["tempo"] * 1000
            self._reps = routine.field(self.doc, ex, "reps")
            self._k = self.beat = 1
            out.append(("rep", at, self.i, 1))
        else:
            out.append((_START_CUES[st[0]], at, self.i, st))
        self._schedule()

    def _schedule(self):
        """Set _off/_what to the current step's next in-step deadline after the _k-th."""
        kind = self.step[0]
        d = self.step[5]
        if kind == plan.PRESS:
            self._off = None
            return
        if kind == plan.HOLD:
            ta = self.ticks_at
            while self._k < len(ta):
                r = ta[self._k]
                if 0 < r < d:
                    self._off = d - r
                    self._what = _TICK
                    return
                self._k += 1
        elif kind == plan.TEMPO and self._k < self._reps:
            self._off = self._k * self._beat_ms
            self._what = _BEAT
            return
        self._off = d
        self._what = _END

    def _record(self, at, flags, out):
        st = self.step
        self._flags |= flags
        out.append(("step", at, self.i, (st[0], st[5], self.elapsed(at), self._flags, self._pauses,
                                         st[1], st[2], st[3], st[4], ticks.diff(self.step_at, self.t_start))))

    def _advance(self, at, flags, out):
        """Close the current step at tick `at` and start the next one at the same tick."""
        if self.paused:
            self._resume(at, out)
        self._record(at, flags, out)
        ex = self.step[1]
        st = _next_step(self._it)
        if st is None or st[1] != ex:
            out.append(("ex_done", at, self.i, ex))
        if st is None:
            self._finish(at, out)
        else:
            self.i += 1
            self._begin(st, at, out)

    def _finish(self, at, out):
        out.append(("done", at, self.i if self.step is not None else self.i - 1, None))
        self._stop("done")

    def _stop(self, reason):
        self.done = True
        self.end_reason = reason
        self.paused = False
        self.step = None
        self._off = None
        self._it = None

    def _pause(self, now, out):
        self.paused = True
        self._paused_at = now
        self._pauses += 1
        self._rem_at = ticks.add(now, self.reminder_ms) if self.reminder_ms > 0 else None
        out.append(("paused", now, self.i, None))

    def _resume(self, now, out):
        p = ticks.diff(now, self._paused_at)
        self._base = ticks.add(self._base, p)
        self._paused_ms += p
        self.paused = False
        self._rem_at = None
        out.append(("resumed", now, self.i, p))
