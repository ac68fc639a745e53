# Heap and allocation of the real app during a session (bench/bench_device.py runs it; not a bench_* script).
#
#   micropython -X heapsize=96k -c "...; import mp_device; mp_device.main([ROOT, MODE])"
#
# The firmware (compiled by mpy-cross) runs unchanged: app.App().run() with a `board` that is this
# file's FakeBoard: the real ssd1306 driver on a bus that only counts bytes (like machine.I2C, it
# allocates nothing; the emulator of boards/sim_i2c.py would add its own allocations), storage
# on a unix folder (ROOT, holding one routine), a scripted button (a long press in the menu starts the
# session; a short press ends each PRESS step after 1.5 s) and a fake clock that board.wait(ms) just
# advances by ms (the session runs as fast as the loop goes; every pass is a real pass of the app).
# Measured in wait(), i.e. once per loop pass, between passes:
#   MODE alloc: per pass, by the kind of step running: micropython.mem_total() (every byte allocated,
#               counted by the port's MICROPY_MEM_STATS, including call frames that are freed again as
#               the call returns) and micropython.mem_current() (allocated minus explicitly freed: what
#               is left for the garbage collector); the I2C bytes written
#   MODE live:  gc.collect() then gc.mem_alloc() every pass: the live heap, its peak over the session
#   MODE boot:  no session: the app as at power-up, reading the last session's log (storage.session)
#   MODE "cut N": the session is cut (no end record) once steps 0..N-1 are logged
#   MODE resume: a power-up after the cut: the app offers to resume, a long press accepts; the step it
#               resumes at
# Prints one JSON line.
import gc
import json
import micropython
import sys

MASK = (1 << 30) - 1
START = (1 << 30) - 30000  # the session crosses the tick wrap


class Stop(Exception):
    pass


class Motor:
    def __init__(self):
        self.duty = 0

    def on(self, duty=65535):
        self.duty = duty

    def off(self):
        self.duty = 0


class Null:
    def read(self, n):
        return b""

    def write(self, b):
        return len(b)


class CountBus:
    """Stands for machine.I2C: counts the bytes the driver writes (no emulation, no allocation)."""

    def __init__(self):
        self.bytes = 0

    def writeto(self, addr, buf, stop=True):
        self.bytes += len(buf)

    def writevto(self, addr, bufs, stop=True):
        for buf in bufs:
            self.bytes += len(buf)


class FakeBoard:
    NAME = "bench"
    POLL_MS = 20

    def __init__(self, root, mode):
        import ssd1306
        self.bus = CountBus()
        self.display = ssd1306.SSD1306_I2C(128, 64, self.bus)
        self.root = root
        self.serial = "BENCH00000000001"
        self.motor = Motor()
        self.link_in = Null()
        self.link_out = Null()
        self.mode = mode
        self.t = 0
        self.app = None
        self.presses = [[500, 1800]]  # a long press in the menu: start
        self.press_step = -1
        self.ended = False
        # figures
        self.passes = 0
        self.last_total = micropython.mem_total()
        self.last_cur = micropython.mem_current()
        self.last_bus = 0
        self.last_i = -2
        self.by_kind = {}      # kind -> [ms, bytes allocated, passes, I2C bytes, bytes left to the GC]; steady passes only
        self.hold_all = [0, 0, 0]  # ms, bytes allocated, left to the GC over whole holds (first pass included)
        self.peak_live = 0
        self.min_free = 1 << 30
        self.started_at = None
        self.resumed_at = None
        self.cut_at = int(mode[4:]) if mode.startswith("cut ") else None

    def ticks_ms(self):
        return (START + self.t) & MASK

    def sleep_ms(self, ms):
        self.t += ms

    def battery(self):
        return 80, True

    def watchdog(self):
        return None

    def trace(self, name, *data):
        if name == "resume" and self.mode == "resume":
            self.resumed_at = data[1]
            raise Stop()
        if name == "session_start":
            self.started_at = self.t
        if name == "session_end":
            self.ended = True
            raise Stop()

    def button(self):
        app = self.app
        eng = app.eng if app is not None else None
        if eng is not None and eng.step is not None and eng.step[0] == 6 and eng.i != self.press_step:
            self.press_step = eng.i  # a PRESS step: press "done" 1.5 s in
            self.presses.append([self.t + 1500, self.t + 1620])
        while self.presses and self.presses[0][1] <= self.t:
            self.presses.pop(0)
        return bool(self.presses) and self.presses[0][0] <= self.t

    def wait(self, ms):
        # between two passes of the app's loop: account for the pass that just ran
        self.passes += 1
        app = self.app
        eng = app.eng if app is not None else None
        if self.cut_at is not None and eng is not None and eng.i >= self.cut_at and not app.pending:
            raise Stop()  # a power cut: steps 0..cut_at-1 logged, no end record
        kind = eng.step[0] if eng is not None and eng.step is not None else -1
        i = eng.i if eng is not None else -1
        if self.presses:  # wake at the scripted press edges, as the simulated board does
            p = self.presses[0]
            edge = p[0] if p[0] > self.t else p[1]
            if edge - self.t < ms:
                ms = max(0, edge - self.t)
        if self.mode == "alloc":
            alloc = micropython.mem_total() - self.last_total
            left = micropython.mem_current() - self.last_cur
            bus = self.bus.bytes
            if kind == 1:  # HOLD
                self.hold_all[0] += ms
                self.hold_all[1] += alloc
                self.hold_all[2] += left
            if i == self.last_i:  # steady: not the pass that began this step
                k = self.by_kind.get(kind)
                if k is None:
                    k = self.by_kind[kind] = [0, 0, 0, 0, 0]
                k[0] += ms
                k[1] += alloc
                k[2] += 1
                k[3] += bus - self.last_bus
                k[4] += left
            self.last_i = i
            self.last_bus = bus
            self.t += ms
            self.last_total = micropython.mem_total()  # what the lines above allocate is not counted
            self.last_cur = micropython.mem_current()
        else:
            gc.collect()
            a = gc.mem_alloc()
            f = gc.mem_free()
            if a > self.peak_live:
                self.peak_live = a
            if f < self.min_free:
                self.min_free = f
            self.t += ms
        return False


def count_records(st, name):
    """(step records, end reason or None) of log `name`, walked with storage's fold() (no step dicts:
    on this heap, after a session, sessionlog.read's dicts for a 60-step log do not fit)."""
    if name is None:
        return 0, None
    d = st.fold(name)
    return (0, None) if d is None else (d["steps"], d["end"])


def main(argv):
    root, mode = argv[0], argv[1]
    b = FakeBoard(root, mode)
    sys.modules["board"] = b
    gc.collect()
    heap0 = gc.mem_alloc()
    import app
    gc.collect()
    heap_mod = gc.mem_alloc()
    a = app.App()
    b.app = a
    gc.collect()
    heap_app = gc.mem_alloc()
    err = None
    if mode == "resume":  # a power-up after a cut: resume (long press) and report the step it goes on at
        name = a.st.logs()[-1][0]
        before = count_records(a.st, name)[0]
        try:
            a.run()
        except Stop:
            pass
        except MemoryError as e:
            err = "MemoryError: %s" % e
        print(json.dumps({"mode": mode, "resumed_at": b.resumed_at, "steps_logged_before": before, "error": err}))
        return
    if mode == "boot":
        # a power-up after the session: what the app's resume and last-session paths make of its log
        # (storage.fold: a walk through a small buffer, no step dicts)
        name = a.st.logs()[-1][0]
        free = gc.mem_free()
        try:
            d = a.st.fold(name)
            print(json.dumps({"mode": mode, "free": free, "steps_read": d["steps"], "torn": False,
                              "end": d["end"], "valid_bytes": d["stop"]}))
        except MemoryError:
            print(json.dumps({"mode": mode, "free": free, "steps_read": -1, "torn": None, "end": None,
                              "valid_bytes": None}))
        return
    err = None
    try:
        a.run()
    except Stop:
        pass
    except MemoryError as e:
        err = "MemoryError: %s" % e
    logs = a.st.logs()
    steps, end = count_records(a.st, logs[-1][0] if logs else None)
    a = b.app = None
    gc.collect()
    out = {"mode": mode, "ended": b.ended, "error": err, "device_ms": b.t, "passes": b.passes,
           "session_ms": b.t - (b.started_at or 0), "steps_logged": steps, "end": end,
           "heap_board": heap0, "heap_modules": heap_mod, "heap_app_idle": heap_app}
    if mode == "alloc":
        out["by_kind"] = b.by_kind
        out["hold_all"] = b.hold_all
    else:
        out["peak_live"] = b.peak_live
        out["min_free"] = b.min_free
    gc.collect()
    out["heap_end"] = gc.mem_alloc()
    out["heap_total"] = gc.mem_alloc() + gc.mem_free()
    print(json.dumps(out))
