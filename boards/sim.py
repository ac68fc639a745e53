"""The simulated board: the same names as boards/pico.py, backed by the MicroPython unix port.

`holdtimer sim` writes a JSON config and points HOLDTIMER_SIM_CONF at it. The OLED is the real
ssd1306 driver on an emulated SSD1306 controller (sim_i2c); frames, motor changes and cues go out
as text lines on the `events` file descriptor; button presses come from a script (device time) and
from keys typed in the terminal (the `keys` descriptor). The clock starts shortly before the 2**30
tick wrap, so every simulated session crosses it.

The clock is VIRTUAL: device time moves only in wait() and sleep_ms(), never while the firmware
computes (as if the CPU were infinitely fast), and a wait ends exactly at its deadline or at the
next scripted button edge, whichever is first. The button's level is always computed from device
time (the presses are intervals in device ms), never by sampling the wall clock. conf["clock"]:
  "virtual"  wait() never sleeps: the run goes as fast as the CPU allows and is exactly the same
             whatever `speed` is (the tests);
  "script"   as "virtual" while the script has something left to do (a scripted press, crash or cut
             still to come or held, or a session running, or less than _GRACE ms since), then
             "paced" (holdtimer sim --script);
  "paced"    interactive use (keys typed, the USB link): a wait sleeps until wall-clock x `speed`
             reaches its deadline, waking early for link data or a key. Device time never runs
             ahead of wall-clock x speed; when the machine is too slow to keep up, it slips (falls
             behind by at most 100 ms of wall time; boards/sim_extra.py) instead of rushing to catch up.
A key typed or link data arriving wakes the wait at the device time the wall clock has reached;
what the device then does is exact in device time from there on.
"""
import binascii
import json
import os
import select
import sys
import time

from micropython import const

import ssd1306

NAME = "sim"
_MASK = const(0x3FFFFFFF)  # ticks wrap at 2**30
POLL_MS = 20
# Memory: this board runs inside the heap it simulates (`--heap`), so it keeps its own footprint
# small: private constants are const(), start-up temporaries live in functions, and a frame goes out
# in small pieces instead of one 2 KB line.


def _conf():
    path = os.getenv("HOLDTIMER_SIM_CONF")
    if not path:
        return {}
    with open(path) as f:
        return json.load(f)


conf = _conf()
SPEED = conf.get("speed", 1)
START = conf.get("tick_start", (1 << 30) - 20000) & _MASK
CLOCK = conf.get("clock", "paced")
root = conf.get("fs", "/tmp/holdtimer-sim-fs")
serial = conf.get("serial", "5133000000000001")
link_in = sys.stdin.buffer
link_out = sys.stdout.buffer
_events = open(conf["events"], "wb") if conf.get("events") else None
_keys = open(conf["keys"], "rb") if conf.get("keys") else None
_PRESS_WAIT = conf.get("press_on_wait")  # ms after a press_wait cue at which to press short
_SPIN = const(1000)    # this many zero-ms waits in a row with nothing to do move the clock 1 ms

# Synthesized button timings (device ms) per gesture: (press, release) pairs from its start.
GESTURES = {
    "short": ((0, 120),),
    "long": ((0, 1300),),
    "double": ((0, 120), (270, 390)),
    "triple": ((0, 120), (270, 390), (540, 660)),
}

# --- the virtual clock ------------------------------------------------------------------------
_now = 0                 # device ms since the simulated power-up (not wrapped)
_free = CLOCK != "paced"  # True: waits do not sleep
_spins = 0
_in_session = False      # between the app's session_start and session_end traces
_idle_at = None          # device ms since which the script is over and no session runs
_GRACE = const(2000)     # ms after that before the clock is paced (or the run ends)


def _elapsed():
    """Device ms since the simulated power-up (not wrapped)."""
    return _now


def ticks_ms():
    return (START + _now) & _MASK


_over_at = None          # device ms since which the script has had nothing more to do
_STALL = const(7200000)  # a session still running this long after the script is over waits forever
#                          (paused, or at a press-when-done set): no routine is that long


def _idle():
    """True once the script is over (every press released, no crash or cut to come) and no
    session has run for _GRACE ms since, or a session is still running _STALL ms after the script
    ended (paused or waiting for a press nobody will make): nothing scripted can happen any more."""
    global _idle_at, _over_at
    if _script or _crash_at or _cut_at or _presses:
        _idle_at = _over_at = None
        return False
    if _over_at is None:
        _over_at = _now
    if _in_session:
        _idle_at = None
        return _now - _over_at >= _STALL
    if _idle_at is None:
        _idle_at = _now
    return _now - _idle_at >= _GRACE


def _pace():
    """Leaves free-running for paced time when the clock is "script" and the script is over; with
    exit_when_done, a free-running device whose script is over and no session runs powers off."""
    global _free
    if _free and CLOCK != "paced" and _idle():
        if conf.get("exit_when_done"):
            _emit("X %d idle" % _now)
            sys.stderr.write("holdtimer sim: the script is over and %s\n" % (
                "the session waits for a press (paused, or a set ended by a press)" if _in_session
                else "no session is running"))
            raise SystemExit(3)
        if CLOCK == "script":
            _free = False
    if not _free:
        import sim_extra  # the paced clock: loaded only when the device is used interactively

        sim_extra.anchor(_now)


def sleep_ms(ms):
    global _now
    _pace()
    if ms <= 0:
        return
    if not _free:
        sys.modules["sim_extra"].sleep_until(_now + ms, None)
    _now += ms


def _emit(line):
    if _events is not None:
        _events.write(line.encode() + b"\n")


# --- button: scripted presses and typed keys become pin levels at device times ---------------
_presses = []      # [start_ms, end_ms] intervals in device ms since power-up, in time order
_script = []       # [(at_ms, gesture)] still to come
_crash_at = []     # device ms at which button() raises (to exercise the crash log)
_cut_at = []       # device ms at which the power is cut (the host kills the process)


def _load_script():
    if conf.get("hold_at_boot"):
        _presses.append([0, 3000])
    for at, g in conf.get("script", ()):
        if g == "crash":
            _crash_at.append(int(at * 1000))
        elif g == "cut":
            _cut_at.append(int(at * 1000))
        else:
            _script.append((int(at * 1000), g))
    _script.sort()
    _crash_at.sort()
    _cut_at.sort()


_load_script()


def _add_gesture(at, name):
    for a, b in GESTURES.get(name, ()):
        _presses.append([at + a, at + b])
    _presses.sort()
    _emit("P %d %s" % (at, name))


def script_done():
    """Every scripted press has begun (a long press may still be held when the session ends), and
    no scripted crash or cut is still to come."""
    if _script or _crash_at or _cut_at:
        return False
    for p in _presses:
        if p[0] > _now:
            return False
    return True


def _pump(now):
    while _script and _script[0][0] <= now:
        at, g = _script.pop(0)
        _add_gesture(at, g)
    while _presses and _presses[0][1] <= now:
        _presses.pop(0)


def _cut(now):
    if _cut_at and _cut_at[0] <= now:
        # A power cut: nothing more happens on this device; the host kills the process (SIGKILL)
        # when it reads this line, so no `finally` of the firmware runs.
        _emit("X %d cut" % now)
        while True:
            time.sleep(3600)


def button():
    now = _now
    _start(now)
    _cut(now)
    if _crash_at and _crash_at[0] <= now:
        _crash_at.pop(0)
        raise RuntimeError("simulated crash (script)")
    _pump(now)
    return bool(_presses) and _presses[0][0] <= now < _presses[0][1]


def _next_edge(now):
    """Device ms of the next scripted event or button edge after `now` (None: none known)."""
    t = None
    for q in (_script, _crash_at, _cut_at):
        if q:
            e = q[0][0] if q is _script else q[0]
            t = e if t is None or e < t else t
    for p in _presses:
        e = p[0] if p[0] > now else p[1]
        if e > now:
            t = e if t is None or e < t else t
        break
    return t


_keybuf = bytearray()
_keypoll = select.poll()
if _keys is not None:
    _keypoll.register(_keys, select.POLLIN)


def _read_keys():
    # One byte at a time while the pipe has data (a read of n bytes would wait for all n).
    while _keypoll.poll(0):
        b = _keys.read(1)
        if not b:
            break
        if b == b"\n":
            word = _keybuf.decode()
            _keybuf[:] = b""
            if word in GESTURES:
                _add_gesture(_now + 1, word)
        elif len(_keybuf) < 16:
            _keybuf.extend(b)


_poller = select.poll()
_poller.register(sys.stdin, select.POLLIN)
if _keys is not None:
    _poller.register(_keys, select.POLLIN)


_ready = []


def _start(now):
    if not _ready:
        # Script times count from when the app first polls the button (it has booted).
        _ready.append(now)
        for k in range(len(_script)):
            _script[k] = (_script[k][0] + now, _script[k][1])
        for q in (_crash_at, _cut_at):
            for k in range(len(q)):
                q[k] += now


def wait(ms):
    """Wait up to ms of device time, waking early for link data, typed keys or the next scripted
    button edge; the clock then stands at the moment of waking. True if the link has data."""
    global _now, _spins
    _start(_now)
    _pace()
    target = _now + (ms if ms > 0 else 0)
    edge = _next_edge(_now)
    if edge is not None and edge < target:
        target = edge
    if _free or target <= _now:
        ready = _poller.poll(0)
    else:
        ready = sys.modules["sim_extra"].sleep_until(target, _poller)
    if ready and not _free:
        w = sys.modules["sim_extra"].wall_ms()  # woken early: the clock stands where wall-clock x SPEED has got to
        if w > target:
            w = target
        if w > _now:
            _now = w
    elif not ready:
        if target == _now:
            _spins += 1
            if _spins >= _SPIN:  # a loop that never lets time pass would hang the virtual clock
                target += 1
        if target != _now:
            _spins = 0
        _now = target
    link = False
    for obj, _ev in ready:
        if obj is _keys:
            _read_keys()
        else:
            link = True
    return link


# --- the flash's size: a Pico's, not the PC's disk ----------------------------------------------
if conf.get("flash_kb"):
    # The firmware's `os` then reports the simulated flash's size, not the PC's disk (it costs the
    # simulated heap about 2 KB, so the 96 KB device tests go without it).
    import sim_flash

    sim_flash.root, sim_flash.kb = root, conf["flash_kb"]
    sys.modules["os"] = sim_flash
    del sim_flash


# --- motor, battery, watchdog -----------------------------------------------------------------
class Motor:
    def __init__(self):
        self.duty = 0

    def on(self, duty=65535):
        if not self.duty:
            _emit("M %d 1 %d" % (_now, ticks_ms()))
        self.duty = duty

    def off(self):
        if self.duty:
            _emit("M %d 0 %d" % (_now, ticks_ms()))
        self.duty = 0


motor = Motor()


def on_usb():
    return conf.get("usb", True)


def battery():
    return conf.get("battery", 80), on_usb()


def watchdog():
    return None


def trace(name, *data):
    """Cue and state events from the app, for the terminal view and the tests."""
    global _in_session
    if name == "session_start":
        _in_session = True
    elif name == "session_end" or name == "boot":  # boot: the app (re)started, e.g. after a crash
        _in_session = False
    elif name == "cue" and data and data[0] == "press_wait" and _PRESS_WAIT is not None:
        _add_gesture(_now + _PRESS_WAIT, "short")  # the simulated user: done with the set
    _emit("C %d %s %s" % (_elapsed(), name, " ".join(str(d) for d in data)))
    if name == "session_end" and conf.get("exit_when_done") and script_done():
        _emit("X %d done" % _elapsed())
        raise SystemExit(0)


# --- display: the real driver; the emulated controller runs on the host ----------------------
class Wire:
    """The I2C bus as the driver sees it (writeto/writevto). Every transaction goes out on the
    event pipe as `I <hex bytes>`; the host feeds it to the emulated SSD1306 (sim_i2c.SimI2C, the
    same code the firmware tests run under MicroPython), so the emulator costs the device's
    heap nothing, as it would cost a Pico nothing."""

    def __init__(self):
        self.bytes_total = 0

    def scan(self):
        return [0x3C]

    def writeto(self, addr, buf, stop=True):
        return self.writevto(addr, (buf,), stop)

    def writevto(self, addr, bufs, stop=True):
        for b in bufs:
            self.bytes_total += len(b)
        if _events is not None:
            _events.write(b"I ")
            for b in bufs:
                mv = memoryview(b)
                for i in range(0, len(mv), 64):  # small pieces: no 2 KB string on the heap
                    _events.write(binascii.hexlify(mv[i:i + 64]))
            _events.write(b"\n")
        return 1


bus = Wire()


class _Display(ssd1306.SSD1306_I2C):
    def show(self, *args):
        n = super().show(*args)
        _emit("S %d %d" % (_elapsed(), bus.bytes_total))  # the host turns its emulator's pixels into a frame
        return n


display = _Display(128, 64, bus)
