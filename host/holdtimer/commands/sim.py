"""`holdtimer sim`: the simulated device, drawn in the terminal, with its serial link at a path."""
import math
import os

SPEED_MIN, SPEED_MAX = 0.01, 1000


def add_arguments(p):
    p.add_argument("--link", metavar="PATH", help="where the device's serial link appears (a symlink to a pseudo-terminal)")
    p.add_argument("--fs", metavar="DIR", help="directory standing for the device's flash, kept between runs "
                   "(default: sim-fs in the holdtimer data directory)")
    p.add_argument("--speed", type=float, default=1.0, metavar="N",
                   help="device time runs N times faster than real time, N from %g to %g (default 1); a "
                   "--script runs as fast as the computer can, exactly the same at any N, and only what "
                   "follows it goes at N" % (SPEED_MIN, SPEED_MAX))
    p.add_argument("--script", metavar="FILE", help="timed presses, one a line: <seconds since start> "
                   "short|long|double|triple (or crash: an error in the app, cut: a power cut)")
    p.add_argument("--heap", type=int, default=None, metavar="KB", help="the heap the firmware gets (default: the Pico's, 192; the simulated board's own 8 KB comes on top)")
    p.add_argument("--headless", action="store_true", help="draw nothing in the terminal")
    p.add_argument("--frames", metavar="DIR", help="save each new screen as a PNG there")
    p.add_argument("--exit-when-done", action="store_true", help="exit once the script has run and the session it started has ended")
    p.add_argument("--hold-button", action="store_true", help="power up with the button held (safe mode)")
    p.add_argument("--no-repl", action="store_true", help="power off when the firmware's main returns, instead of "
                   "leaving a MicroPython REPL on the link as a Pico does (mpremote and `holdtimer install` need "
                   "it); implied by --exit-when-done")
    p.add_argument("--firmware", choices=("auto", "repo"), default="auto",
                   help="auto: run the firmware installed on the flash by `holdtimer install` if there is one "
                   "(a main.py in --fs), else this checkout's; repo: always this checkout's")


def run(args):
    import signal
    import sys
    import threading

    from holdtimer import simulator
    from holdtimer.errors import UserError
    from holdtimer.paths import data_dir

    if not (math.isfinite(args.speed) and SPEED_MIN <= args.speed <= SPEED_MAX):
        raise UserError("--speed %g is out of range: give a number from %g to %g (times real time)"
                        % (args.speed, SPEED_MIN, SPEED_MAX))
    script = []
    if args.script:
        try:
            with open(args.script, encoding="utf-8") as f:
                script = simulator.parse_script(f.read(), args.script)
        except OSError as e:
            raise UserError("cannot read the script %s: %s" % (args.script, e.strerror))
    if args.exit_when_done and not script:
        raise UserError("--exit-when-done needs a --script that starts a session")
    fs = args.fs or os.path.join(data_dir(), "sim-fs")
    frames_dir = args.frames
    if frames_dir:
        os.makedirs(frames_dir, exist_ok=True)
    interactive = not args.headless and sys.stdout.isatty()
    view = _View(interactive, frames_dir, args.headless)
    sim = simulator.Simulator(fs, link=args.link, speed=args.speed, script=script,
                              heap_kb=args.heap or simulator.PICO_HEAP_KB, exit_when_done=args.exit_when_done,
                              hold_at_boot=args.hold_button, on_event=view.event, keep_frames=False,
                              repl=not (args.no_repl or args.exit_when_done), firmware=args.firmware,
                              clock="script" if script else "paced", flash_kb=simulator.PICO_FLASH_KB)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    sim.start()
    view.sim = sim
    print("holdtimer sim: serial link at %s%s (flash: %s; firmware: %s)" % (
        args.link or sim.port, " -> " + sim.port if args.link else "", fs,
        "installed on the flash" if sim.boots[0][1] == "flash" else "this checkout's"), file=sys.stderr, flush=True)
    keys = _Keys(sim) if interactive and sys.stdin.isatty() else None
    try:
        while sim.running() and not stop.is_set():
            if keys:
                keys.poll(0.05)
            else:
                stop.wait(0.05)
    finally:
        if keys:
            keys.restore()
        code = sim.returncode
        sim.stop()
        for s, h in old.items():
            signal.signal(s, h)
    if stop.is_set():
        print("holdtimer sim: stopped", file=sys.stderr)
        return 0
    if code:
        tail = "".join(sim.stderr)[-1500:]
        raise UserError("the simulated device exited with status %s%s" % (code, ":\n" + tail if tail else ""))
    return 0


class _View:
    """Draws frames in the terminal (half blocks), saves PNGs, prints cues when headless."""

    def __init__(self, interactive, frames_dir, headless):
        self.interactive = interactive
        self.frames_dir = frames_dir
        self.headless = headless
        self.n = 0
        self.last_cue = ""
        self.sim = None

    def event(self, ev):
        import sys

        from holdtimer import simulator

        if ev.kind == "F":
            self.n += 1
            if self.frames_dir:
                simulator.frame_to_png(ev.data, os.path.join(self.frames_dir, "frame-%05d.png" % self.n))
            if self.interactive:
                sys.stdout.write("\x1b[H\x1b[2J" + self.screen(ev))
                sys.stdout.flush()
        elif ev.kind == "C":
            self.last_cue = "%s %s" % (ev.name, ev.data)
            if not self.interactive:
                print("[%9.3f s] %-12s %s" % (ev.ms / 1000, ev.name, ev.data), flush=True)
        elif ev.kind == "E":
            sys.stderr.write(ev.data)
        elif ev.kind == "B":
            firmware, why = ev.data.split(" ", 1)
            print("holdtimer sim: %s: %s (firmware: %s)" % (why, "the REPL has the link" if ev.name == "repl"
                  else "main.py runs", "installed on the flash" if firmware == "flash" else "this checkout's"),
                  file=sys.stderr, flush=True)


    def screen(self, ev, columns=None):
        """The frame and two status lines, fitted to the terminal's width: half blocks (128
        columns) when it is wide enough, else braille (64 columns, every pixel kept)."""
        import shutil

        from holdtimer import simulator

        if columns is None:
            columns = shutil.get_terminal_size((80, 24)).columns
        art = simulator.frame_to_text(ev.data) if columns >= 128 else simulator.frame_to_braille(ev.data)
        status = "t=%.1fs  %s" % (ev.ms / 1000, self.last_cue)
        keys = "keys: s=short l=long d=double t=triple  Ctrl-C quits"
        width = max(columns - 1, 20)
        return art + "\n" + status[:width] + "\n" + keys[:width] + "\n"


class _Keys:
    KEYS = {"s": "short", " ": "short", "l": "long", "d": "double", "t": "triple"}

    def __init__(self, sim):
        import sys
        import termios
        import tty

        self.sim = sim
        self.fd = sys.stdin.fileno()
        self.old = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)

    def poll(self, timeout):
        import select

        r, _, _ = select.select([self.fd], [], [], timeout)
        if r:
            ch = os.read(self.fd, 1).decode(errors="ignore")
            if ch in self.KEYS:
                self.sim.press(self.KEYS[ch])

    def restore(self):
        import termios

        termios.tcsetattr(self.fd, termios.TCSADRAIN, self.old)
