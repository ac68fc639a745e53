"""Benchmark of the USB link on the simulated device: `holdtimer sync` of the seed routines against
`mpremote cp` of the same files over the same link, side by side; the no-change sync (target < 150
ms); pull throughput.

Like for like: both commands run against `holdtimer sim` (holdtimer.simulator with its REPL on),
i.e. the same pseudo-terminal link, the same relay and the same device process (the compiled
firmware on the MicroPython unix port, 192 KB heap). mpremote reaches the simulated device as it
reaches a Pico: Ctrl-C stops the app (KeyboardInterrupt), its raw REPL runs in the device's
micropython, the auto soft reset restarts it in the raw REPL, and `cp` writes the files into the
device's flash directory. A plain `micropython` REPL on a pty would leave out what mpremote really
costs on the device (stopping the app, the soft reset) and the link the sync uses, so it was not
used. Each repetition starts a fresh simulator on an empty flash for each side, alternating which
side goes first; both are timed as a user runs them: a new process each, interpreter start included.

Prints `name value unit target` lines (bench/run.py collects them) and "# " notes.
"""
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "host")]

from holdtimer import fw, simulator  # noqa: E402

REPS = 7            # fresh-flash repetitions of the full sync and of mpremote cp
NOCHANGE_RUNS = 9   # no-change syncs (one simulator)
PULL_REPS = 3       # fresh-flash pulls
PULL_SESSIONS = 24  # session logs on the flash for the pull
HEAP_KB = simulator.PICO_HEAP_KB
ROUTINES = sorted(glob.glob(os.path.join(REPO, "routines", "*.json")))
EXE = os.path.join(os.path.dirname(sys.executable), "holdtimer")


def line(name, value, unit, target):
    print("%s %s %s %s" % (name, ("%.1f" % value) if isinstance(value, float) else value, unit, target), flush=True)


def note(text):
    print("# " + text, flush=True)


class Device:
    """A simulated device with its REPL, on a fresh or given flash, booted and idle in the menu."""

    def __init__(self, work, fs=None):
        self.fs = fs or tempfile.mkdtemp(prefix="flash-", dir=work)
        self.link = os.path.join(work, "link-%d" % id(self))
        self.sim = simulator.Simulator(self.fs, link=self.link, speed=1, heap_kb=HEAP_KB, repl=True)

    def __enter__(self):
        self.sim.start()
        self.sim.wait_for(lambda e: e.kind == "C" and e.name == "boot", 60)
        time.sleep(0.2)  # the menu drawn, the loop idle
        return self

    def __exit__(self, *exc):
        self.sim.stop()


def user_env(work, **extra):
    """The environment of the timed commands: as a user's, Python keeps compiled .pyc files (this
    machine may set PYTHONDONTWRITEBYTECODE, which would make every holdtimer command compile its
    modules from source while mpremote's come precompiled from pip); the cache goes to a temporary
    folder, not into the checkout."""
    env = dict(os.environ, PYTHONPYCACHEPREFIX=os.path.join(work, "pycache"), **extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed(cmd, env, dev=None):
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    dt = time.perf_counter() - t
    if r.returncode:
        raise SystemExit("%s failed: %s\n%s%s" % (" ".join(cmd[:6]), r.stdout.strip()[-800:], r.stderr.strip()[-800:],
                         "\ndevice: %s %s" % (dev.sim.boots, "".join(dev.sim.stderr)[-800:]) if dev else ""))
    return dt, r.stdout


def stored(fs):
    d = os.path.join(fs, "routines")
    return sorted(n for n in os.listdir(d) if n.endswith(".json")) if os.path.isdir(d) else []


def bench_sync_vs_mpremote(work):
    want = sorted(os.path.basename(p) for p in ROUTINES)
    src_bytes = sum(os.path.getsize(p) for p in ROUTINES)
    sync_s, mp_s, nochange_s = [], [], []
    for rep in range(-1, REPS):  # rep -1 warms the .pyc cache and the page cache, not counted
        for side in (("sync", "mpremote") if rep % 2 == 0 else ("mpremote", "sync")):
            home = tempfile.mkdtemp(prefix="home-", dir=work)
            env = user_env(work, HOLDTIMER_HOME=home)
            with Device(work) as dev:
                if side == "sync":
                    dt, out = timed([EXE, "sync", "--port", dev.link] + ROUTINES, env)
                    assert "sent 5" in out, out
                    if rep >= 0:
                        sync_s.append(dt)
                    if rep == 0:  # the no-change sync, on this device
                        for _ in range(NOCHANGE_RUNS):
                            dt, out = timed([EXE, "sync", "--port", dev.link] + ROUTINES, env)
                            assert "nothing changed" in out, out
                            nochange_s.append(dt)
                else:
                    dt, out = timed([sys.executable, "-m", "mpremote", "connect", dev.link, "fs", "cp"]
                                    + ROUTINES + [":routines/"], env, dev)
                    if rep >= 0:
                        mp_s.append(dt)
                assert stored(dev.fs) == want, (side, stored(dev.fs))
                if side == "mpremote":
                    for p in ROUTINES:  # the very same bytes arrived
                        with open(p, "rb") as a, open(os.path.join(dev.fs, "routines", os.path.basename(p)), "rb") as b:
                            assert a.read() == b.read(), p
    # what the device holds after a sync: compact routines (notes stripped, docs/routines.md)
    with Device(work) as dev:
        env = user_env(work, HOLDTIMER_HOME=tempfile.mkdtemp(prefix="home-", dir=work))
        timed([EXE, "sync", "--port", dev.link] + ROUTINES, env)
        sent_bytes = sum(os.path.getsize(os.path.join(dev.fs, "routines", n)) for n in want)
        # mpremote variants on the same device: without the soft reset, and back to the app after
        resume_s, reset_s, pts_s = [], [], []
        for _ in range(3):
            dt, _ = timed([sys.executable, "-m", "mpremote", "connect", dev.link, "resume", "fs", "cp", "--force"]
                          + ROUTINES + [":routines/"], env, dev)
            resume_s.append(dt)
        for _ in range(3):
            boots = len([e for e in dev.sim.cues() if e.name == "boot"])
            dt, _ = timed([sys.executable, "-m", "mpremote", "connect", dev.link, "fs", "cp", "--force"]
                          + ROUTINES + [":routines/", "+", "reset"], env, dev)
            reset_s.append(dt)
            end = time.time() + 30  # the app is back (its boot cue) before the next run
            while len([e for e in dev.sim.cues() if e.name == "boot"]) == boots and time.time() < end:
                time.sleep(0.02)
            time.sleep(0.2)
    # mpremote given the pseudo-terminal's own /dev/pts path instead of the link: it then takes the
    # port for a pty (QEMU) and reads blocking, instead of polling a serial port every 10 ms as it
    # does with the link's path and with a Pico's /dev/ttyACM0
    for _ in range(3):
        with Device(work) as dev:
            env = user_env(work, HOLDTIMER_HOME=tempfile.mkdtemp(prefix="home-", dir=work))
            dt, _ = timed([sys.executable, "-m", "mpremote", "connect", dev.sim.port, "fs", "cp"]
                          + ROUTINES + [":routines/"], env, dev)
            assert stored(dev.fs) == want
            pts_s.append(dt)
    # the link and the device alone: the same sync in this process (no interpreter start, imports, store)
    from holdtimer.commands import sync
    from holdtimer.link import Client

    items = sync.prepare(sync.collect(ROUTINES))
    inproc_s = []
    for _ in range(3):
        with Device(work) as dev, Client(dev.link) as c:
            t = time.perf_counter()
            res = sync.sync(c, items)
            inproc_s.append(time.perf_counter() - t)
            assert stored(dev.fs) == want, res
    s, m = statistics.median(sync_s), statistics.median(mp_s)
    line("sync_seed_routines", s * 1000, "ms", "-")
    line("mpremote_cp_seed_routines", m * 1000, "ms", "-")
    line("sync_vs_mpremote_cp_speedup", m / s, "x", ">=10")
    line("sync_nochange", statistics.median(nochange_s) * 1000, "ms", "<150")
    line("mpremote_cp_seed_routines_pts_path", statistics.median(pts_s) * 1000, "ms", "-")
    line("sync_vs_mpremote_cp_pts_path_speedup", statistics.median(pts_s) / s, "x", "-")
    line("sync_seed_routines_link_only", statistics.median(inproc_s) * 1000, "ms", "-")
    line("mpremote_cp_resume_seed_routines", statistics.median(resume_s) * 1000, "ms", "-")
    line("mpremote_cp_reset_seed_routines", statistics.median(reset_s) * 1000, "ms", "-")
    note("5 seed routines: mpremote copies the files as they are (%d bytes); sync sends them compact "
         "(%d bytes, notes stripped) and validates them on the device" % (src_bytes, sent_bytes))
    note("sync runs (s): %s" % " ".join("%.3f" % x for x in sync_s))
    note("mpremote cp runs (s): %s" % " ".join("%.3f" % x for x in mp_s))
    note("no-change sync runs (s): %s (max %.3f)" % (" ".join("%.3f" % x for x in nochange_s), max(nochange_s)))
    note("mpremote `resume` cp (no soft reset) %.3f s; cp + `reset` (back to the app) %.3f s"
         % (statistics.median(resume_s), statistics.median(reset_s)))
    note("mpremote on the /dev/pts path (%s): it reads a pty blocking instead of polling every 10 ms; "
         "on a Pico (/dev/ttyACM0) and on the link path it polls" % dev.sim.port)
    note("speedup %.1fx (target >= 10x: %s)" % (m / s, "met" if m / s >= 10 else "MISSED"))


def make_logs(fs, n):
    """`n` finished sessions of the seed routines on a flash, written by the firmware's own storage
    and sessionlog modules (as the app writes them); returns their total bytes."""
    storage = fw.load("storage")
    routine = fw.load("routine")
    plan = fw.load("plan")
    docs = []
    for p in ROUTINES:
        with open(p, "rb") as f:
            doc, errors = routine.parse(f.read(), p)
        assert not errors, errors
        docs.append((doc, routine.content_hash(routine.compact(doc))))
    st = storage.Storage(fs)
    st.boot()
    for k in range(n):
        doc, h = docs[k % len(docs)]
        w = st.new_log(doc["id"], h, 1000 + k * 3_600_000, 1_767_225_600 + k * 43_200, plan.count(doc))
        off = 0
        for i, (kind, ex, set_no, rep, side, dur) in enumerate(plan.steps(doc)):
            actual = dur or 4000
            w.step(i, kind, ex, set_no, rep, side, dur, actual, off)
            off += actual
        w.end("done", off, off)
    d = os.path.join(fs, "logs")
    return sum(os.path.getsize(os.path.join(d, x)) for x in os.listdir(d) if x.endswith(".seg"))  # sessions share segment files


def bench_pull(work):
    template = os.path.join(work, "pull-template")
    os.makedirs(template)
    total = make_logs(template, PULL_SESSIONS)
    times, link_rates = [], []
    for _ in range(PULL_REPS + 1):  # the first warms the .pyc cache, not counted
        fs = os.path.join(work, "pull-%d" % len(times))
        shutil.copytree(template, fs)
        home = tempfile.mkdtemp(prefix="home-", dir=work)
        env = user_env(work, HOLDTIMER_HOME=home)
        with Device(work, fs=fs) as dev:
            dt, out = timed([EXE, "pull", "--port", dev.link], env)
            assert "pulled %d new" % PULL_SESSIONS in out, out
            times.append(dt)
            # the link alone: read every log again in this process (no interpreter start, no store)
            from holdtimer.link import Client

            with Client(dev.link) as c:
                c.hello()
                names = [(name, size) for name, size, _ in c.logs()]
                t = time.perf_counter()
                got = sum(len(c.read_log(name, size=size)) for name, size in names)
                link_rates.append(got / (time.perf_counter() - t))
            assert got == total, (got, total)
    times, link_rates = times[1:], link_rates[1:]
    t = statistics.median(times)
    line("pull_sessions", PULL_SESSIONS, "sessions", "-")
    line("pull_log_bytes", total, "bytes", "-")
    line("pull_whole_command", t * 1000, "ms", "-")
    line("pull_throughput", total / t, "B/s", "-")
    line("pull_link_read_throughput", statistics.median(link_rates), "B/s", "-")
    note("pull: %d logs, %d bytes; whole command (start, hello, list, read, parse, store, confirm) runs (s): %s"
         % (PULL_SESSIONS, total, " ".join("%.3f" % x for x in times)))
    note("link read alone: 384 bytes a frame (512 base64 characters), stop and wait")


def main():
    if not shutil.which("mpremote") and not os.path.exists(os.path.join(os.path.dirname(sys.executable), "mpremote")):
        raise SystemExit("mpremote is not installed in this environment")
    with tempfile.TemporaryDirectory(prefix="holdtimer-bench-sync-") as work:
        note("simulated device: MicroPython %s unix port, firmware as .mpy (%s), heap %d KB, link = pty relay"
             % (subprocess.run([simulator.micropython_exe(), "-c", "import sys;print('%d.%d.%d' % sys.implementation.version[:3])"],
                               capture_output=True, text=True).stdout.strip() or "?", simulator.native_arch(), HEAP_KB))
        bench_sync_vs_mpremote(work)
        bench_pull(work)


if __name__ == "__main__":
    main()
