"""The device application: menu, session, screens, haptics, session log and USB link in one loop.

The loop never busy-waits: it sleeps in board.wait() until the engine's next deadline, the motor's
next switch, the gesture decoder's next decision, the next screen second or the next button poll,
and wakes early when the USB serial link has data. Flash writes wait until the motor is quiet.
"""
import gc
import json
import sys

from micropython import const

import board
import gestures
import haptics
import logops  # storage's log operations: loaded with the app (main._load), never on a fragmented heap
import logwalk
import plan
import routine
import screens
import storage
import ticks

VERSION = "0.1.0"
_MENU = const(0)
_RUN = const(1)
_DONE = const(2)
_LAST = const(3)
_HELP = const(4)
_RESUME = const(5)
_NOTICE = const(6)
_LOW_BATTERY = const(10)  # percent at which the device warns at power-up
# When several cues fall due at once (a hold ends, the next exercise's prep starts), the one the
# user most needs to feel is played: the first of this list.
PRIORITY = ("done", "ex_done", "switch", "hold_end", "hold", "press_wait", "rest", "prep", "rep",
            "tick", "reminder", "paused", "resumed", "skipped", "discomfort", "ended")
ACK = ("paused", "resumed", "skipped", "discomfort", "ended")
_SKIPPED = const(1)  # engine's step flags (the same bits as sessionlog's)
_DISCOMFORT = const(2)
_LINK_READ_MAX = const(512)  # bytes taken from the serial link per loop pass
_LINK_IDLE_MS = const(10000)  # the link handler is unloaded after this long without traffic


def _trace(*args):
    if board.trace:
        board.trace(*args)


class App:
    def __init__(self):
        self.st = storage.Storage(board.root)
        self.boot = self.st.boot()
        self.fb = board.display
        self.g = gestures.Gestures()
        self.hp = haptics.Player(board.motor)
        self.link = None         # the USB link's handler, loaded when the PC first talks
        self.link_at = 0         # uptime of the last link traffic
        self.link_faults = 0     # times the link handler failed and was dropped
        self.wdt = board.watchdog()
        self.now = board.ticks_ms()
        self.uptime = 0          # ms since this app started (ticks wrap; this does not)
        self.clock = None        # (epoch seconds, uptime ms) when the PC set the clock
        self.mode = _MENU
        self.sel = 0             # routine selected in the menu
        self.page = 0            # help page
        self.rlist = self.st.routines()
        self.doc = self.eng = self.log = None
        self.rid = self.rhash = None
        self.pending = []        # log records waiting for the motor to stop
        self.ending = False
        self.tally = [0, 0, 0]
        self.summary = None      # (routine, elapsed_s, steps, planned, skipped, discomfort, ended)
        self.notice = None       # (head, lines) of a message screen
        self.after_notice = _MENU
        self.dirty = True        # redraw the whole screen
        self.drawn_i = -1
        self.drawn_s = -1
        self.total = 1
        self.base_ms = 0         # planned ms before the current step
        self.resume_name = None
        self.resume_at = None

    # -- what the USB link asks of the app --------------------------------------------------------
    def info(self):
        pct, usb = board.battery()
        return {"fw": VERSION, "board": board.NAME, "serial": board.serial, "boot": self.boot,
                "uptime": self.uptime, "clock": self.epoch(), "battery": pct, "usb": usb,
                "session": self.busy(), "routines": len(self.rlist)}

    def busy(self):
        return self.eng is not None or self.ending

    def set_clock(self, epoch):
        self.clock = (epoch, self.uptime)

    def epoch(self):
        """Wall clock in epoch seconds, or 0 while the PC has not set it since power-up."""
        if self.clock is None:
            return 0
        return self.clock[0] + (self.uptime - self.clock[1]) // 1000

    # -- the loop -----------------------------------------------------------------------------------
    def run(self):
        self.resume_name = self.st.unfinished()
        if self.resume_name:
            self.mode = _RESUME
            try:
                rp = self.st.resume_point(self.resume_name)
                self.resume_at = (rp[0], rp[3] + 1, rp[2], None) if rp else ("?", 0, 0, None)
                doc, h = self._load(rp[0]) if rp else (None, None)  # its name, the exercise resumed at
                b = doc and plan.ex_bounds(doc, rp[3])
                if b:
                    self.resume_at = (doc.get("name") or rp[0], rp[3] + 1, rp[2],
                                      doc["ex"][b[0]].get("name") if h == rp[1] else None)
                doc = None
            except (OSError, ValueError, MemoryError, KeyError, TypeError):
                self.resume_at = self.resume_at or ("?", 0, 0, None)
        self.st.forget()
        gc.collect()
        pct, usb = board.battery()
        if pct is not None and pct < _LOW_BATTERY and not usb:
            self.tell("LOW", (), self.mode)
        _trace("boot", self.boot, len(self.rlist))
        link_ready = False
        while True:
            now = board.ticks_ms()
            self.uptime += ticks.diff(now, self.now)
            self.now = now
            if link_ready:
                self.serve_link()
            elif (self.link is not None and self.uptime - self.link_at > _LINK_IDLE_MS and not self.link.pending()
                  and self.link._put is None):
                # The PC has gone quiet: give the handler's memory back until it talks again.
                self.link = None
                _unload(_LINK_MODULES)
                gc.collect()
            g = self.g.update(board.button(), now)
            if g:
                _trace("gesture", g, now)
                self.on_gesture(g, now)
            if self.eng is not None:
                evs = self.eng.update(now)
                if evs:
                    self.on_events(evs, now)
            self.hp.update(now)
            if self.pending and not self.hp.busy():
                self.flush_log()
            try:
                self.draw(now)
            except MemoryError:
                # The screen can wait a pass, the session cannot: the link's handler (loaded when the
                # PC talked during the session) gives its memory back, and the frame is drawn again.
                if self.link is not None and not self.link.pending():
                    self._drop_link("memory")
                gc.collect()
                self.dirty = True
            if self.wdt is not None:
                self.wdt.feed()
            link_ready = board.wait(self.sleep_ms(now))

    def sleep_ms(self, now):
        """How long the loop may sleep: the nearest of every component's next deadline (no
        allocation: this runs on every pass of the loop)."""
        ms = _sooner(board.POLL_MS, self.eng.wake_in(now) if self.eng is not None else None)
        ms = _sooner(ms, self.hp.wake_in(now))
        ms = _sooner(ms, self.g.wake_in(now))
        ms = _sooner(ms, self.redraw_in(now))
        if self.pending and not self.hp.busy():
            ms = 0
        return ms if ms > 0 else 0

    def serve_link(self):
        """Serve what arrived on the USB link. Nothing the link receives may stop the app or cut a
        session: the handler's memory is one line and one reply (replies are written as they are
        made), and a MemoryError or any other failure in it drops the handler, which is loaded again
        when the next bytes arrive."""
        try:
            self._serve_link()
        except MemoryError:
            self._drop_link("memory")
        except Exception as e:  # noqa: BLE001 - the link must never take the app down
            self._drop_link(type(e).__name__)

    def _drop_link(self, why):
        self.link = None
        _unload(_LINK_MODULES)
        gc.collect()
        self.link_faults += 1
        _trace("link_fault", why)

    def _serve_link(self):
        data = bytearray()
        while len(data) < _LINK_READ_MAX and board.wait(0):
            b = board.link_in.read(1)
            if not b:
                break
            data += b
            if b == b"\n":
                break  # answer each frame as soon as it is complete
        if data:
            self.link_at = self.uptime
            if self.link is None:
                if not self.busy():
                    # The PC talks and no session runs: what only a session needs makes room for the
                    # link (and the validator, while routines arrive); loaded again when one starts.
                    _unload(_SESSION_ONLY)
                gc.collect()
                import link

                self.link = link.DeviceLink(self.st, self)
            data = bytes(data)
            self.link.feed(data, board.link_out.write)
            data = None
            if "rcheck" in sys.modules:
                # The full validator is needed only while routines arrive: give its memory back.
                del sys.modules["rcheck"]
                gc.collect()
            rl = self.st.routines()
            if rl != self.rlist:
                self.rlist = rl
                if self.mode == _MENU:
                    self.sel = min(self.sel, max(0, len(rl) - 1))
                    self.dirty = True

    # -- gestures -----------------------------------------------------------------------------------
    def on_gesture(self, g, now):
        self.dirty = True
        m = self.mode
        if m == _RUN:
            if self.eng is None:  # the session ended while a notice was shown
                self.mode = _DONE if self.summary else _MENU
                return
            evs = self.eng.gesture(g, now)
            if evs:
                self.on_events(evs, now)
        elif m == _MENU:
            if g == "short" and self.rlist:
                self.sel = (self.sel + 1) % len(self.rlist)
            elif g == "long" and self.rlist:
                self.start_session(now)
            elif g == "double":
                self.show_last()
            elif g == "triple":
                self.mode, self.page = _HELP, 0
        elif m == _HELP:
            self.page += 1
            if g != "short" or self.page >= screens.HELP_PAGES:
                self.mode = _MENU
        elif m == _RESUME:
            if g == "long":
                self.resume_session(now)
            elif g == "short":
                self.st.finish(self.resume_name, "abandoned")
                self.resume_name = None
                self.mode = _MENU
        elif m == _NOTICE:
            self.mode = self.after_notice
        else:  # _DONE, _LAST
            self.mode = _MENU

    def show_last(self):
        if self.summary is None:
            try:
                self.summary = self.st.last_summary()
            except (OSError, ValueError, MemoryError):
                self.summary = None
        self.mode = _LAST

    # -- a session ----------------------------------------------------------------------------------
    def _load(self, rid, with_hash=True):
        """(doc, hash) of a stored routine. It was validated when it was stored (and is replaced
        only atomically), so the built-in JSON parser suffices here: the full validator stays out
        of the heap while a session runs. Read as a stream: no buffer the size of the file."""
        try:
            with self.st.open_routine(rid) as f:
                doc = json.load(f)
        except ValueError:
            raise ValueError("unreadable")
        if not isinstance(doc, dict) or not doc.get("ex"):
            raise ValueError("no exercises")
        return doc, self.st.routine_hash(rid) if with_hash else None

    def start_session(self, now):
        if self.pending:  # the last session's end record is still queued: write it first
            self.hp.stop()
            self.flush_log()
        if not self._ready():
            return
        rid = self.rlist[self.sel][0]
        try:
            doc, h = self._load(rid)
        except (OSError, ValueError) as e:
            self.tell("Bad routine", (rid[:16], str(e)[-32:]))
            return
        self.doc, self.rid, self.rhash = doc, rid, h
        self.log = None
        try:
            self.log = self.st.new_log(rid, h, self.uptime, self.epoch(), plan.count(doc))
        except OSError:
            # Flash full even after deleting pulled logs: the session runs, unlogged; say so first.
            self.tell("Flash full", ("session not", "logged: pull", "the logs (PC)"), _RUN)
        self._begin(doc, now, 0)

    def _ready(self):
        """Make the heap ready for a session before anything is logged: the link's handler goes (it
        is loaded again when the PC next talks), the session's modules come back if the link had
        unloaded them. False (and a notice) if they do not fit: the menu stays, nothing is lost."""
        if self.link is not None:
            self.link = None
            _unload(_LINK_MODULES)
        self.st.forget()
        gc.collect()
        try:
            _session_modules()
            return True
        except MemoryError:
            gc.collect()
            self.tell("Low memory", ("restart the", "device (unplug)"))
            return False

    def resume_session(self, now):
        if not self._ready():
            return
        name = self.resume_name
        self.resume_name = None
        try:
            rp = self.st.resume_point(name)  # not session(): its step dicts may not fit the heap
            if rp is None:
                raise ValueError("no header")
            rid, rhash, _planned, at, offset, _n = rp
            doc, h = self._load(rid)
            if h != rhash:
                raise ValueError("routine changed")
        except (OSError, ValueError, KeyError, TypeError):
            self.st.finish(name, "abandoned")
            self.tell("Cannot resume", ("routine changed", "or missing"))
            return
        self.doc, self.rid, self.rhash = doc, rid, h
        self.log = self.st.resume_log(name)
        self.log.resume(self.boot, self.uptime, self.epoch(), at, offset)
        _trace("resume", name, at)
        self._begin(doc, now, at, offset)

    def _begin(self, doc, now, at, offset=0):
        gc.collect()
        import engine  # loaded by _ready()

        self.eng = engine.Engine(doc, now, at, offset)
        self.total = plan.total_ms(doc) or 1
        self.ending = False
        self.summary = None
        self.tally = [0, 0, 0]   # steps logged, skipped, with discomfort
        if self.mode != _NOTICE:
            self.mode = _RUN
        _trace("session_start", self.rid, at)
        self.on_events(self.eng.start(now), now)

    def on_events(self, evs, now):
        best = None
        for ev in evs:
            name = ev[0]
            if name == "step":
                d = ev[3]
                self.tally[0] += 1
                self.tally[1] += 1 if d[3] & _SKIPPED else 0
                self.tally[2] += 1 if d[3] & _DISCOMFORT else 0
                # (kind, planned, actual, flags, pauses, ex, set, rep, side, offset)
                self.pending.append((ev[2], d[0], d[5], d[6], d[7], d[8], d[1], d[2], d[9], d[3], d[4]))
                continue
            _trace("cue", name, ev[1], ev[2])
            if name in ("done", "ended"):
                self.finish_session(name, ev[1])
            if name in PRIORITY and (best is None or PRIORITY.index(name) < PRIORITY.index(best)):
                best = name
        if best is not None:
            self.hp.play("ack" if best in ACK else best, now)
        self.dirty = True

    def finish_session(self, reason, at):
        eng = self.eng
        total = ticks.diff(at, eng.t_start)
        self.pending.append(("end", "done" if reason == "done" else "ended", total))
        self.ending = True
        t = self.tally
        self.summary = (self.rid, total // 1000, t[0], eng.n, t[1], t[2], reason != "done")
        if self.mode != _NOTICE:
            self.mode = _DONE
        # The engine and the routine are not needed any more: free them before the done screen
        # (its drawing code is loaded on demand) and the end record need memory.
        self.eng = self.doc = None
        gc.collect()

    def flush_log(self):
        """Write the queued records (the motor is quiet). A failed write never stops the session."""
        while self.pending:
            r = self.pending.pop(0)
            if self.log is not None:
                try:
                    if r[0] == "end":
                        self.log.end(r[1], r[2], r[2])
                    else:
                        self.log.step(*r)
                except OSError:
                    self.log = None
                    self.tell("Flash full", ("log stopped:", "pull the logs"), _DONE if self.ending else _RUN)
            if r[0] == "end":
                self._close(r)

    def _close(self, r):
        self.log = None
        self.ending = False
        gc.collect()
        _trace("session_end", r[1], r[2])

    def tell(self, head, lines, after=_MENU):
        self.notice = (head, lines)
        self.after_notice = after
        self.mode = _NOTICE
        self.dirty = True
        _trace("notice", head.replace(" ", "_"))

    # -- the screen ---------------------------------------------------------------------------------
    def redraw_in(self, now):
        """ms until the number on screen changes (the next whole second of the step)."""
        if self.mode != _RUN or self.eng is None:
            return None
        r = self.eng.remaining(now)
        if r is None:
            return None
        return r % 1000 or 1000

    def draw(self, now):
        fb = self.fb
        m = self.mode
        if m == _RUN and self.eng is not None and self.eng.step is not None and not self.ending:
            self._draw_run(now)
            return
        if not self.dirty:
            return
        self.dirty = False
        self.drawn_i = -1
        batt = board.battery()
        if m == _MENU or m == _RUN:
            if not self.rlist:
                screens.empty_menu(fb)
            else:
                self._draw_menu(batt)
        elif m == _HELP:
            screens.help(fb, self.page)
        elif m == _RESUME:
            screens.resume(fb, *self.resume_at)
        elif m == _NOTICE:
            if self.notice[0] == "LOW":
                screens.low_battery(fb, batt[0])
            else:
                screens.message(fb, self.notice[0], self.notice[1], "short: ok")
        elif m == _DONE or m == _LAST:
            s = self.summary
            if m == _DONE and s is not None:
                screens.done(fb, *s)
            elif s is not None:
                screens.last(fb, s[0], "", *s[1:])
            else:
                screens.last(fb)
        fb.show()
        _trace("screen", m)

    def _draw_menu(self, batt):
        rid = self.rlist[self.sel][0]
        try:
            doc, _h = self._load(rid, False)
            screens.menu(self.fb, doc.get("name", rid), self.sel + 1, len(self.rlist), len(doc["ex"]),
                         plan.total_ms(doc) // 1000, batt)
            del doc
        except (OSError, ValueError):
            screens.menu(self.fb, rid, self.sel + 1, len(self.rlist), 0, 0, batt)

    def _draw_run(self, now):
        eng = self.eng
        st = eng.step
        rem = eng.remaining(now)
        secs = (rem + 999) // 1000 if rem is not None else -1
        if not self.dirty and eng.i == self.drawn_i and secs == self.drawn_s:
            return
        fb = self.fb
        if eng.i != self.drawn_i:
            # A new step: the cue has been played; collect the garbage while nothing is due (a few
            # ms, once a step), so freed neighbours merge and the small heap keeps large free blocks.
            gc.collect()
            self.base_ms = plan.ms_before(self.doc, eng.i)
        prog = (self.base_ms + eng.elapsed(now)) * 1000 // self.total
        if prog > 1000:
            prog = 1000
        batt = board.battery()
        if self.dirty or eng.i != self.drawn_i:
            kind, e, set_no, rep, side, dur = st
            ex = self.doc["ex"][e]
            name = ex["name"]
            cue = ex.get("cue", "")
            reps = routine.field(self.doc, ex, "reps")
            sets = routine.field(self.doc, ex, "sets")
            if eng.paused:
                screens.paused(fb, name, secs if secs >= 0 else None)
            elif kind == plan.PREP:
                screens.prep(fb, name, cue, secs, side, prog, batt)
            elif kind == plan.HOLD:
                screens.hold(fb, name, cue, secs, side, rep, reps, set_no, sets, prog, batt)
            elif kind == plan.SWITCH:
                screens.switch(fb, name, secs, side, prog, batt)
            elif kind == plan.REST or kind == plan.SREST:
                screens.rest(fb, name, secs, rep, reps, set_no, sets, kind == plan.SREST, side, prog, batt)
            elif kind == plan.TEMPO:
                screens.tempo(fb, name, cue, eng.beat, reps, side, set_no, sets, prog, batt)
            else:
                screens.press(fb, name, cue, reps, side, set_no, sets, prog, batt)
        elif not eng.paused and st[0] != plan.TEMPO and st[0] != plan.PRESS:
            screens.update(fb, secs, st[4], prog, batt)
        self.dirty = False
        self.drawn_i = eng.i
        self.drawn_s = secs
        fb.show()


# Modules loaded on demand and given back: the link's (while the PC is quiet), and before a session
# the log walker and the link's storage operations (the session needs only the log writer).
_LINK_MODULES = ("link", "rcheck", "logread")  # logops and logwalk stay: the app holds them
_HELD = (logops, logwalk)  # held on purpose: unloading them would mean importing them again later


_SESSION_ONLY = ("engine", "screens_extra")


def _session_modules():
    # Back before a session (the link may have unloaded them), on a heap without the link's handler:
    # the rare screens first (the done screen needs them at the end), then the engine.
    for name in _SESSION_ONLY:
        if name not in sys.modules:
            gc.collect()
            __import__(name)


def _unload(names):
    for n in names:
        sys.modules.pop(n, None)


def _sooner(ms, w):
    return w if w is not None and w < ms else ms
