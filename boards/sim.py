"""The simulated board: the same names as boards/pico.py, backed by the MicroPython unix port.

`holdtimer sim` writes a JSON config and points HOLDTIMER_SIM_CONF at it. The OLED is the real
ssd1306 driver on an emulated SSD1306 controller (sim_i2c); frames, motor changes and cues go out
as text lines on the `events` file descriptor; button presses come from a script (device time) and
from keys typed in the terminal (the `keys` descriptor). The clock runs `speed` times real time and
starts shortly before the 2**30 tick wrap, so every simulated session crosses it.
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
root = conf.get("fs", "/tmp/holdtimer-sim-fs")
serial = conf.get("serial", "5133000000000001")
link_in = sys.stdin.buffer
link_out = sys.stdout.buffer
_events = open(conf["events"], "wb") if conf.get("events") else None
_keys = open(conf["keys"], "rb") if conf.get("keys") else None
_t0 = time.ticks_us()

# Synthesized button timings (device ms) per gesture: (press, release) pairs from its start.
GESTURES = {
    "short": ((0, 120),),
    "long": ((0, 1300),),
    "double": ((0, 120), (270, 390)),
    "triple": ((0, 120), (270, 390), (540, 660)),
}


def _elapsed():
    """Device ms since the simulated power-up (not wrapped)."""
    return int(time.ticks_diff(time.ticks_us(), _t0) * SPEED) // 1000


def ticks_ms():
    return (START + _elapsed()) & _MASK


def sleep_ms(ms):
    time.sleep_us(int(ms * 1000 / SPEED))


def _emit(line):
    if _events is not None:
        _events.write(line.encode() + b"\n")


# --- button: scripted presses and typed keys become pin levels at device times ---------------
_presses = []      # [start_ms, end_ms] intervals in device ms since power-up, in time order
_script = []       # [(at_ms, gesture)] still to come
_crash_at = []     # device ms at which button() raises (to exercise the crash log)


def _load_script():
    if conf.get("hold_at_boot"):
        _presses.append([0, 3000])
    for at, g in conf.get("script", ()):
        if g == "crash":
            _crash_at.append(int(at * 1000))
        else:
            _script.append((int(at * 1000), g))
    _script.sort()


_load_script()


def _add_gesture(at, name):
    for a, b in GESTURES.get(name, ()):
        _presses.append([at + a, at + b])
    _emit("P %d %s" % (at, name))


def script_done():
    """Every scripted press has begun (a long press may still be held when the session ends)."""
    if _script:
        return False
    now = _elapsed()
    for p in _presses:
        if p[0] > now:
            return False
    return True


def _pump(now):
    while _script and _script[0][0] <= now:
        at, g = _script.pop(0)
        _add_gesture(at, g)
    while _presses and _presses[0][1] <= now:
        _presses.pop(0)


def button():
    now = _elapsed()
    _start(now)
    if _crash_at and _crash_at[0] <= now:
        _crash_at.pop(0)
        raise RuntimeError("simulated crash (script)")
    _pump(now)
    return bool(_presses) and _presses[0][0] <= now < _presses[0][1]


def _next_edge(now):
    t = None
    if _script:
        t = _script[0][0]
    if _presses:
        p = _presses[0]
        e = p[0] if p[0] > now else p[1]
        t = e if t is None else min(t, e)
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
                _add_gesture(_elapsed() + 1, word)
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
        for k in range(len(_crash_at)):
            _crash_at[k] += now


def wait(ms):
    """Sleep up to ms of device time, waking early for link data, typed keys or a scripted press."""
    now = _elapsed()
    _start(now)
    edge = _next_edge(now)
    if edge is not None:
        ms = max(0, min(ms, edge - now))
    us = int(ms * 1000 / SPEED)
    if us >= 2000:
        ready = _poller.poll(us // 1000)
    else:
        ready = _poller.poll(0)
        if not ready and us:
            time.sleep_us(us)
            ready = _poller.poll(0)
    link = False
    for obj, _ev in ready:
        if obj is _keys:
            _read_keys()
        else:
            link = True
    return link


# --- motor, battery, watchdog -----------------------------------------------------------------
class Motor:
    def __init__(self):
        self.duty = 0

    def on(self, duty=65535):
        if not self.duty:
            _emit("M %d 1" % _elapsed())
        self.duty = duty

    def off(self):
        if self.duty:
            _emit("M %d 0" % _elapsed())
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
