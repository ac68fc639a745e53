"""A year of use on the Pico's flash: twice-daily sessions of a seed routine written through the real
storage and log code onto LittleFS (vfs.VfsLfs2, as rp2 mounts it) on a RAM image of the Pico's
filesystem size (1408 KB = 352 blocks of 4 KB). MicroPython only. Prints the figures:

    micropython -X heapsize=8M tests/fw/flashyear.py [--days N] [--routine ID] [--blocks N]
                      [--fw DIR] [--scenarios weekly,monthly,never,late] [--per-seed] [--quiet]

--fw: the folder whose .py/.mpy files stand for the firmware on flash (default firmware/, sources;
give the mpy-cross output for the deployed size).

Scenarios, each on a fresh image holding the firmware files and the five seed routines:
  weekly   the PC pulls every 7 days: pulled logs stay until room is needed, then go oldest first
  monthly  the PC pulls every 30 days
  never    the PC never pulls: the flash fills with unpulled logs; from then on a new session is
           refused (storage.Full: the app says "flash full, connect to the PC") and nothing is lost
  late     never pulled until the flash is full, then pulled once (room again; nothing was lost)
The last line is machine-readable: "RESULT key=value ...".
"""
import gc
import os
import sys
import time

_here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
for _p in (_here + "/../../firmware", _here):
    if _p not in sys.path:
        sys.path.append(_p)

import vfs  # noqa: E402

import sessionlog  # noqa: E402
import storage  # noqa: E402

BLOCK = 4096
MOUNT = "/year"
ERASED = b"\xff" * BLOCK
_RAM = {}  # nblocks -> the one RamFlash of that size, reused (a 1.4 MB buffer is hard to find twice)


class RamFlash:
    """A RAM block device with the extended protocol (as rp2.Flash): 4 KB blocks."""

    def __init__(self, nblocks):
        self.n = nblocks
        self.data = bytearray(nblocks * BLOCK)
        self.wipe()

    def wipe(self):
        for b in range(self.n):
            self.data[b * BLOCK:(b + 1) * BLOCK] = ERASED
        self.progs = self.erases = 0

    @staticmethod
    def get(nblocks):
        dev = _RAM.get(nblocks)
        if dev is None:
            dev = _RAM[nblocks] = RamFlash(nblocks)
        else:
            dev.wipe()
        return dev

    def readblocks(self, b, buf, off=0):
        a = b * BLOCK + off
        buf[:] = memoryview(self.data)[a:a + len(buf)]

    def writeblocks(self, b, buf, off=None):
        if off is None:
            self.ioctl(6, b)
            off = 0
        a = b * BLOCK + off
        self.data[a:a + len(buf)] = buf
        self.progs += 1

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return BLOCK
        if op == 6:
            self.erases += 1
            a = arg * BLOCK
            self.data[a:a + BLOCK] = ERASED
        return 0


def _arg(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def _seeds():
    d = _here + "/../../routines"
    out = []
    for n in sorted(os.listdir(d)):
        if n.endswith(".json"):
            with open(d + "/" + n, "rb") as f:
                out.append((n[:-5], f.read()))
    return out


def _plan_steps(data):
    """The routine's steps as plan.py expands them: [(kind, ex, set, rep, side, dur_ms)]."""
    import plan
    import routine

    doc = routine.parse(data, "r")[0]
    return list(plan.steps(doc))


def _copy_firmware(fw_dir):
    n = 0
    for name in sorted(os.listdir(fw_dir)):
        if name.endswith(".py") or name.endswith(".mpy"):
            with open(fw_dir + "/" + name, "rb") as f:
                data = f.read()
            with open(MOUNT + "/" + name, "wb") as f:
                f.write(data)
            n += len(data)
    return n


class Year:
    def __init__(self, nblocks, fw_dir, rid, data, steps):
        self.dev = RamFlash.get(nblocks)
        vfs.VfsLfs2.mkfs(self.dev, progsize=256)
        vfs.mount(vfs.VfsLfs2(self.dev, progsize=256), MOUNT)
        self.fw_bytes = _copy_firmware(fw_dir)
        storage._BOOTS.clear()
        self.st = storage.Storage(MOUNT)
        self.st.boot()
        for sid, sdata in _seeds():
            self.st.put_routine(sid, sdata)
        self.rid, self.hash, self.steps = rid, self.st.routines()[0][1], steps
        for r in self.st.routines():
            if r[0] == rid:
                self.hash = r[1]
        self.free0 = self.st.free()
        self.total = nblocks * BLOCK
        self.written = {}  # seq -> steps written (every session ever logged)
        self.pc = {}  # seq -> steps the PC has
        self.refused = 0
        self.first_full = None  # (day, sessions logged so far)
        self.deleted = 0
        self.max_logs = 0
        self.append_ms = 0
        self.appends = 0

    def close(self):
        vfs.umount(MOUNT)
        self.dev = None
        gc.collect()

    def session(self, day, k):
        st = self.st
        try:
            w = st.new_log(self.rid, self.hash, 1000 + k, 0, len(self.steps))
        except storage.Full:
            self.refused += 1
            if self.first_full is None:
                self.first_full = (day, len(self.written))
            return False
        t0 = time.ticks_ms()
        off = 0
        for i, s in enumerate(self.steps):
            actual = s[5] - (i % 5) * 100
            w.step(i, s[0], s[1], s[2], s[3], s[4], s[5], actual, off, 2 if i % 17 == 3 else 0, i % 11 == 0)
            off += actual + 200
        w.end("done", off, off + 500)
        self.append_ms += time.ticks_diff(time.ticks_ms(), t0)
        self.appends += len(self.steps) + 1
        self.written[w.seq] = len(self.steps)
        n = len(st.logs())
        if n > self.max_logs:
            self.max_logs = n
        return True

    def pull(self):
        """The PC copies every unpulled log (in READ_MAX pieces), checks it, and confirms it."""
        st = self.st
        for name, size, pulled in st.logs():
            if pulled:
                continue
            data = b""
            while len(data) < size:
                data += st.read_log(name, len(data), storage.READ_MAX)
            d = sessionlog.read(data)
            assert not d["torn"] and d["end"] == "done", name
            self.pc[d["seq"]] = len(d["steps"])
            st.confirm_log(name)

    def check(self):
        """Nothing unpulled is lost: every session ever logged is at the PC or whole on flash."""
        on_flash = {}
        for name, size, pulled in self.st.logs():
            d = self.st.session(name)
            assert not d["torn"] and d["end"] == "done", name
            on_flash[d["seq"]] = len(d["steps"])
        lost = 0
        for seq, n in self.written.items():
            if self.pc.get(seq) != n and on_flash.get(seq) != n:
                lost += 1
        return lost

    def used(self):
        return self.total - self.st.free()


def run(scenario, days, nblocks, fw_dir, rid, data, steps, out):
    y = Year(nblocks, fw_dir, rid, data, steps)
    every = {"weekly": 7, "monthly": 30}.get(scenario)
    base_used = y.used()
    pulled_late = None
    for day in range(days):
        for k in (0, 1):
            y.session(day, k)
        if every and (day + 1) % every == 0:
            y.pull()
        if scenario == "late" and y.first_full is not None and pulled_late is None:
            pulled_late = day
            y.pull()
    logged = len(y.written)
    lost = y.check()
    used = y.used()
    per_session = (used - base_used) / max(1, len(y.st.logs()))
    r = {"scenario": scenario, "days": days, "logged": logged, "refused": y.refused, "lost": lost,
         "full_day": y.first_full[0] if y.first_full else -1,
         "full_after": y.first_full[1] if y.first_full else -1,
         "on_flash": len(y.st.logs()), "unpulled": len([1 for r in y.st.logs() if not r[2]]),
         "max_logs": y.max_logs, "used_kb": used // 1024, "free_kb": y.st.free() // 1024,
         "base_kb": base_used // 1024, "fw_kb": y.fw_bytes // 1024,
         "flash_per_session": int(per_session), "erases": y.dev.erases,
         "flash_per_step": int((per_session + len(steps) - 1) // len(steps)),
         "ms_per_append": y.append_ms / max(1, y.appends)}
    out("%-8s %3d days: %4d sessions logged, %3d refused (flash full from day %d after %d sessions), "
        "%d lost; %3d logs on flash (%d unpulled), %4d KB used, %4d KB free; %5d bytes of flash per "
        "kept session (%d per step, statvfs); %d block erases" % (
            scenario, days, logged, y.refused, r["full_day"], r["full_after"], lost, r["on_flash"],
            r["unpulled"], r["used_kb"], r["free_kb"], r["flash_per_session"], r["flash_per_step"], r["erases"]))
    y.close()
    return r


def per_seed(nblocks, fw_dir, out):
    """Bytes of each seed routine's session log, and the flash it takes (LittleFS blocks)."""
    rows = []
    for rid, data in _seeds():
        steps = _plan_steps(data)
        y = Year(nblocks, fw_dir, rid, data, steps)
        before = y.used()
        for k in range(10):
            y.session(0, k)
        flash = (y.used() - before) // 10
        size = y.st.logs()[0][1]
        rows.append((rid, len(steps), size, flash))
        out("  %-26s %3d steps: log %5d bytes (%.1f per step), flash %5d bytes per session (%.0f per step)"
            % (rid, len(steps), size, size / len(steps), flash, flash / len(steps)))
        y.close()
    return rows


def main(argv_days=None):
    days = int(_arg("--days", argv_days or 365))
    nblocks = int(_arg("--blocks", 352))
    fw_dir = _arg("--fw", _here + "/../../firmware")
    rid = _arg("--routine", "hamstring-lower-back")
    quiet = "--quiet" in sys.argv
    out = (lambda s: None) if quiet else print
    seeds = dict(_seeds())
    data = seeds[rid]
    steps = _plan_steps(data)
    out("flash: %d blocks of %d bytes (%d KB); routine %s: %d steps; log record %d bytes per step" % (
        nblocks, BLOCK, nblocks * BLOCK // 1024, rid, len(steps), sessionlog.STEP_SIZE))
    results = []
    scen = _arg("--scenarios", "weekly,monthly,never,late").split(",")
    for s in scen:
        results.append(run(s, days, nblocks, fw_dir, rid, data, steps, out))
    if "--per-seed" in sys.argv:
        per_seed(nblocks, fw_dir, out)
    parts = []
    for r in results:
        for k in ("logged", "refused", "lost", "full_day", "full_after", "on_flash", "unpulled", "used_kb",
                  "free_kb", "flash_per_session", "flash_per_step", "fw_kb", "base_kb"):
            parts.append("%s.%s=%s" % (r["scenario"], k, r[k]))
    print("RESULT steps=%d step_bytes=%d %s" % (len(steps), sessionlog.STEP_SIZE, " ".join(parts)))


if __name__ == "__main__":
    main()
