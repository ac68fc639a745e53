"""Power cuts during every flash write: LittleFS (vfs.VfsLfs2, configured as on rp2) on a NOR-flash
block device that loses power at its k-th program or erase, tearing it; then the flash is powered
up again, mounted, and the firmware's boot path and its promises are checked. MicroPython only.

    micropython -X heapsize=4M tests/fw/powercut.py [--long]

For each scenario the operation is run once uncut to count its flash operations W; then for every
k in 1..W and every tear mode the same starting image is cut at the k-th operation:
    tear 0  power lost just before the operation (nothing of it reaches the flash)
    tear 1  power lost half way (the first half of the bytes programmed / of the block erased)
    tear 2  power lost just after it (the code is stopped before its next step)
and after each cut: the filesystem mounts; Storage(root), boot(), logs(), routines(), unfinished()
work; no temporary file is left; every record committed before the operation is there and
unchanged; the record in flight is there whole or not at all; a routine is the old or the new
bytes, never a mix; and the firmware carries on (resume or start a session, end it, read it back).
"""
import gc
import os
import sys

try:
    import vfs
except ImportError:  # CPython: nothing to run here (tests/test_fw_micropython.py runs it)
    vfs = None

BLOCK = 4096
PICO_BLOCKS = 352  # 1408 KB: the rp2 port's filesystem on a 2 MB Pico
MOUNT = "/pcut"
HASH = "0123456789abcdef"
ERASED = b"\xff" * BLOCK

_here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
_fw = _here + "/../../firmware"
if _fw not in sys.path:
    sys.path.append(_fw)


if vfs is not None:
    import rcheck  # noqa: F401 - the validator, compiled now while the heap is empty (tests run with 192 KB)
    import routine  # noqa: F401

    routine.parse(b"{}", "warm-up")  # imports the checker, rcheck


def _program(f, b, off, src, n):
    # Program n bytes of src at block b, offset off of image file f: NOR flash only clears bits.
    old = bytearray(n)
    f.seek(b * BLOCK + off)
    f.readinto(old)
    if old == ERASED[:n]:
        old[:] = src[:n]
    else:
        for i in range(n):
            old[i] &= src[i]
    f.seek(b * BLOCK + off)
    f.write(old)


def _erase(f, b, n=BLOCK):
    f.seek(b * BLOCK)
    f.write(memoryview(ERASED)[:n])  # no 4 KB copy: the rig must not be what runs out of heap


class Flash:
    """NOR flash behind MicroPython's extended block-device protocol (as rp2.Flash): 4 KB erase
    blocks, programs only clear bits; the cells are an image file `f` (so the test needs little heap).

    arm(k, tear): at the k-th program or erase the power is cut: `on_cut()` copies the image as it is
    to another file and returns it (open), and that operation lands there torn as `tear` says. The
    code itself runs on to its end on the live image, so no half-closed file lingers in the
    interpreter; only the copy is powered up again (`snap`)."""

    def __init__(self, f, nblocks, on_cut=None):
        self.f = f
        self.n = nblocks
        self.on_cut = on_cut
        self.ops = 0  # programs and erases so far
        self.erases = 0
        self.cut_at = 0  # the power is cut at this op (0: never)
        self.tear = 1
        self.snap = None  # the image file when the power was cut

    def arm(self, k, tear):
        self.ops = self.erases = 0
        self.cut_at = k
        self.tear = tear
        self.snap = None

    def readblocks(self, b, buf, off=0):
        self.f.seek(b * BLOCK + off)
        self.f.readinto(buf)

    def _cut(self):
        self.ops += 1
        if self.ops != self.cut_at:
            return None
        self.snap = self.on_cut()
        return self.snap

    def writeblocks(self, b, buf, off=None):
        if off is None:  # basic protocol: erase, then program the whole block
            self.ioctl(6, b)
            off = 0
        n = len(buf)
        snap = self._cut()
        if snap is not None:
            part = (0, n // 2, n)[self.tear]
            if part:
                _program(snap, b, off, buf, part)
        _program(self.f, b, off, buf, n)

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return BLOCK
        if op == 6:
            self.erases += 1
            snap = self._cut()
            if snap is not None:
                part = (0, BLOCK // 2, BLOCK)[self.tear]
                if part:
                    _erase(snap, arg, part)
            _erase(self.f, arg)
            return 0
        return 0


class Rig:
    """Flash image files under /tmp: `base` (the starting state), `live` (a trial runs on a copy of
    base) and `snap` (the image a power cut left). One is mounted at MOUNT at a time."""

    def __init__(self, nblocks=PICO_BLOCKS):
        self.n = nblocks
        self.dir = "/tmp/ht-pcut-%s" % "".join("%02x" % b for b in os.urandom(6))
        os.mkdir(self.dir)
        self.files = {}
        for name in ("base", "live", "snap"):
            with open(self.dir + "/" + name, "wb") as f:
                for _ in range(nblocks):
                    f.write(ERASED)
            self.files[name] = open(self.dir + "/" + name, "r+b")
        self.buf = bytearray(BLOCK)
        vfs.VfsLfs2.mkfs(Flash(self.files["base"], nblocks), progsize=256)
        self.mounted = False
        self.erases = 0

    def close(self):
        self.unmount()
        for name, f in self.files.items():
            f.close()
            os.remove(self.dir + "/" + name)
        os.rmdir(self.dir)

    def copy(self, src, dst):
        """Copy image src over image dst (names); returns dst's file."""
        a, b = self.files[src], self.files[dst]
        a.seek(0)
        b.seek(0)
        for _ in range(self.n):
            a.readinto(self.buf)
            b.write(self.buf)
        return b

    def mount(self, image="base", fresh=False):
        """Mount image `image` (fresh: first copy base over it); returns its Flash."""
        self.unmount()
        f = self.copy("base", image) if fresh else self.files[image]
        dev = Flash(f, self.n, lambda: self.copy("live", "snap"))
        vfs.mount(vfs.VfsLfs2(dev, progsize=256), MOUNT)  # as rp2's _boot.py
        self.mounted = True
        return dev

    def unmount(self):
        if self.mounted:
            self.mounted = False
            vfs.umount(MOUNT)
        gc.collect()


def _storage():
    import storage

    storage._BOOTS.clear()  # a power-up
    return storage.Storage(MOUNT)


# -- what the sessions hold: step i of session seq, fully determined -----------------------------
def step_args(seq, i):
    return (i, i % 7, i % 3, 1 + i % 2, 1 + i % 5, i % 3, 30000 + seq, 29000 + 7 * i, 31000 * i,
            2 if i % 9 == 4 else 0, i % 2)


def _step_ok(seq, d):
    a = step_args(seq, d["i"])
    return (d["kind"], d["ex"], d["set"], d["rep"], d["side"], d["planned_ms"], d["actual_ms"],
            d["offset_ms"], d["discomfort"], d["pauses"]) == (a[1], a[2], a[3], a[4], a[5], a[6], a[7],
                                                              a[8], bool(a[9] & 2), a[10])


def write_session(st, nsteps, end=True, rid="easy-hamstring"):
    w = st.new_log(rid, HASH, 1000 + nsteps, 0, nsteps)
    for i in range(nsteps):
        w.step(*step_args(w.seq, i))
    if end:
        w.end("done", nsteps * 29000, nsteps * 31000)
    return w


def _seeds():
    d = _here + "/../../routines"
    out = []
    for n in sorted(os.listdir(d)):
        if n.endswith(".json"):
            with open(d + "/" + n, "rb") as f:
                out.append((n[:-5], f.read()))
    return out


def _variant(data):
    # The same routine as other bytes, a little longer: a routine replaced by its next version.
    return data.rstrip() + b"\n" * 40


# -- the state every scenario starts from, and what must survive ---------------------------------
class World:
    """What is on flash before the operation: {seq: expectation} for logs, {id: versions} for routines.
    A log expectation: steps (allowed step counts), ends (allowed end values), names (allowed names)."""

    def __init__(self):
        self.logs = {}
        self.routines = {}

    def build(self, rig, n_logs=3, pulled=1, open_steps=5, routines=2, roll=None):
        rig.mount()
        import storage

        keep = storage.SEG_ROLL
        if roll is not None:
            storage.SEG_ROLL = roll  # e.g. 1: every session in a segment of its own
        st = _storage()
        st.boot()
        for rid, data in _seeds()[:routines]:
            st.put_routine(rid, data)
            self.routines[rid] = [data]
        for k in range(n_logs):
            n = 30 if k % 2 else 4 + k % 3  # over and under LittleFS's inline-file limit (512 bytes)
            w = write_session(st, n)
            self.logs[w.seq] = {"steps": [n], "ends": ["done"], "names": [w.name]}
        for name, _size, _p in st.logs()[:pulled]:
            st.confirm_log(name)
            seq = int(name[:-4])
            self.logs[seq]["names"] = [name[:-4] + ".pul"]
        if open_steps:
            w = write_session(st, open_steps, end=False)
            self.logs[w.seq] = {"steps": [open_steps], "ends": [None], "names": [w.name]}
        storage.SEG_ROLL = keep
        rig.unmount()
        return self

    def check(self, fails, where, extra=None):
        """The boot path, then every promise; appends failures to `fails`. `extra`: more logs to
        expect, {seq: expectation}."""
        import sessionlog
        import storage

        st = _storage()
        st.boot()
        for d in ("/routines", "/logs"):
            for n in os.listdir(MOUNT + d):
                if n.endswith(".tmp"):
                    fails.append("%s: %s/%s left over" % (where, d, n))
        rows = st.logs()
        names = {}
        for name, size, pulled in rows:
            names[storage.log_seq(name)[0]] = name
        logs = dict(self.logs)
        if extra:
            logs.update(extra)
        for seq, exp in logs.items():
            name = names.get(seq)
            if name not in exp["names"]:
                fails.append("%s: log %d is %s, expected one of %s" % (where, seq, name, exp["names"]))
                continue
            if name is None:
                continue
            d = st.session(name)
            n = len(d["steps"])
            torn = d["torn"] and not exp.get("torn_ok")
            if torn or d["seq"] != seq or n not in exp["steps"] or d["end"] not in exp["ends"]:
                fails.append("%s: log %s: %d steps, end %s, torn %s; expected %s" % (
                    where, name, n, d["end"], d["torn"], exp))
                continue
            for j, s in enumerate(d["steps"]):
                if s["i"] != j or not _step_ok(seq, s):
                    fails.append("%s: log %s step %d differs: %s" % (where, name, j, s))
                    break
        listed = {}
        for rid, h, size in st.routines():
            listed[rid] = h
        for rid, versions in self.routines.items():
            try:
                data = st.read_routine(rid)
            except OSError:
                data = None
            if data not in versions:
                fails.append("%s: routine %s is neither old nor new (%s bytes)" % (
                    where, rid, None if data is None else len(data)))
            elif data is not None and listed.get(rid) != storage._hash(data):
                fails.append("%s: routine %s listed with a wrong hash" % (where, rid))
        # The firmware carries on: resume (or start) a session, end it, and read it back.
        un = st.unfinished()
        top = max([0] + list(names))
        if un is not None:
            seq = storage.log_seq(un)[0]
            have = len(st.session(un)["steps"])
            w = st.resume_log(un)
            w.resume(st.boot(), 5, 0, have, have * 31000)
            w.step(*step_args(seq, have))
            w.end("done", 1, 1)
            d = st.session(w.name)
            if d["end"] != "done" or len(d["steps"]) != have + 1 or d["torn"] or len(d["resumed"]) != 1:
                fails.append("%s: resumed log %s reads back wrong" % (where, un))
        w = write_session(st, 2)
        if w.seq <= top:
            fails.append("%s: new session got seq %d, not above %d" % (where, w.seq, top))
        d = st.session(w.name)
        if len(d["steps"]) != 2 or d["end"] != "done":
            fails.append("%s: a new session reads back wrong" % where)
        if st.unfinished() is not None:
            fails.append("%s: still an unfinished log %s" % (where, st.unfinished()))


# -- the operations cut ----------------------------------------------------------------------------
def _open_seq(world):
    for seq, exp in world.logs.items():
        if None in exp["ends"]:
            return seq
    return None


def op_append(world):
    """A step record appended to the session in progress."""
    seq = _open_seq(world)
    exp = world.logs[seq]
    have = exp["steps"][0]
    exp["steps"] = [have, have + 1]

    def prepare(st, dev):
        w = st.resume_log("%d.log" % seq)
        return lambda: w.step(*step_args(seq, have))
    return prepare


def op_end(world):
    """The end record of the session in progress."""
    seq = _open_seq(world)
    world.logs[seq]["ends"] = [None, "done"]

    def prepare(st, dev):
        w = st.resume_log("%d.log" % seq)
        return lambda: w.end("done", 2, 3)
    return prepare


def op_start(world):
    """A new session: state file, its header appended to the newest segment."""
    def prepare(st, dev):
        return lambda: st.new_log("easy-hamstring", HASH, 1, 0, 3)
    return prepare


def op_replace(world):
    """A routine replaced by a new version (temporary, read back, rename over)."""
    rid = sorted(world.routines)[0]
    new = _variant(world.routines[rid][0])
    world.routines[rid] = [world.routines[rid][0], new]

    def prepare(st, dev):
        return lambda: st.put_routine(rid, new)
    return prepare


def op_add_routine(world):
    """A routine that was not there before."""
    have = world.routines
    rid, data = [s for s in _seeds() if s[0] not in have][0]
    have[rid] = [None, data]

    def prepare(st, dev):
        return lambda: st.put_routine(rid, data)
    return prepare


def op_confirm(world):
    """A log marked pulled (its bit in the segment's map set: map to a temporary, rename over)."""
    seq = [s for s, e in world.logs.items() if e["names"][0].endswith(".log") and e["ends"] == ["done"]][0]
    exp = world.logs[seq]
    exp["names"] = [exp["names"][0], "%d.pul" % seq]

    def prepare(st, dev):
        return lambda: st.confirm_log("%d.log" % seq)
    return prepare


def op_delete(world):
    """Flash full: make_room deletes every segment whose sessions are all pulled (never an unpulled log)."""
    for seq, exp in world.logs.items():
        if exp["names"][0].endswith(".pul"):
            exp["names"] = [exp["names"][0], None]

    def prepare(st, dev):
        return lambda: st.make_room(1 << 30)
    return prepare


def op_trim(world):
    """A session resumed after its last record was torn: the log is rewritten without the tail."""
    seq = _open_seq(world)
    world.logs[seq]["torn_ok"] = True

    def prepare(st, dev):
        segs = [int(n[:-4]) for n in os.listdir(MOUNT + "/logs") if n.endswith(".seg")]
        with open(MOUNT + "/logs/%d.seg" % max(x for x in segs if x <= seq), "ab") as f:
            f.write(b"S\x14\x07\x00\x01\x02")  # what a torn append looks like on a plain filesystem
        return lambda: st.resume_log("%d.log" % seq)
    return prepare


def op_boot(world):
    """A power-up: temporaries cleared, boot count saved."""
    def prepare(st, dev):
        import storage

        with open(MOUNT + "/routines/x.tmp", "wb") as f:
            f.write(b"half a routine")
        storage._BOOTS.clear()
        return lambda: (storage.Storage(MOUNT).boot(), None)
    return prepare


def op_crash(world):
    """A crash report appended to the bounded crash log."""
    def prepare(st, dev):
        return lambda: st.crash("Traceback: something " * 30)
    return prepare


def op_session(world, nsteps=22):
    """A whole session, from its header to its end record: at every cut, each record whose call had
    returned is there, the one in flight whole or not at all. (22 steps: the log outgrows
    LittleFS's inline limit of 512 bytes on the way and moves into a block of its own.)"""
    state = {}

    def prepare(st, dev):
        marks = state["marks"] = []  # flash operations done when each record's call returned
        state["seq"] = st._seq

        def run():
            w = st.new_log("easy-hamstring", HASH, 7, 0, nsteps)
            marks.append(dev.ops)
            for i in range(nsteps):
                w.step(*step_args(w.seq, i))
                marks.append(dev.ops)
            w.end("done", 1, 2)
            marks.append(dev.ops)
        return run

    def expect(k):
        done = len([m for m in state["marks"] if m < k])  # calls complete before op k
        seq = state["seq"]
        if done == 0:
            exp = {"names": [None, "%d.log" % seq], "steps": [0], "ends": [None]}
        else:
            have = done - 1
            exp = {"names": ["%d.log" % seq], "steps": [have, min(have + 1, nsteps)],
                   "ends": [None, "done"] if done == nsteps + 1 else [None]}
        return {seq: exp}

    prepare.expect = expect
    return prepare


def cut_everywhere(rig, world_args, op, tears=(0, 1, 2), fails=None, name="?"):
    """Build the world, count op's flash operations W, then cut at each one in each tear mode.
    Returns (W, trials)."""
    fails = [] if fails is None else fails
    world = World().build(rig, **world_args)
    prepare = op(world)
    # uncut, to count
    dev = rig.mount("live", fresh=True)
    run = prepare(_storage(), dev)
    dev.arm(0, 0)
    run()
    ops = dev.ops
    rig.erases = dev.erases
    rig.unmount()
    trials = 0
    for k in range(1, ops + 1):
        for tear in tears:
            dev = rig.mount("live", fresh=True)
            run = prepare(_storage(), dev)
            dev.arm(k, tear)
            run()
            run = None
            rig.unmount()
            where = "%s k=%d/%d tear=%d" % (name, k, ops, tear)
            if dev.snap is None:
                fails.append("%s: no cut happened (ran %d ops)" % (where, dev.ops))
                continue
            try:
                rig.mount("snap")  # power back on: the cells as the cut left them
            except Exception as e:  # noqa: BLE001
                fails.append("%s: does not mount: %r" % (where, e))
                continue
            expect = getattr(prepare, "expect", None)
            try:
                world.check(fails, where, expect(k) if expect else None)
            except Exception as e:  # noqa: BLE001
                fails.append("%s: boot path raised %r" % (where, e))
            rig.unmount()
            trials += 1
    return ops, trials


# (name, operation, changes to the starting world)
OPS = (("log append", op_append, {}), ("session end", op_end, {}),
       ("session start", op_start, {"open_steps": 0}), ("routine replace", op_replace, {}),
       ("routine add", op_add_routine, {}), ("log confirm", op_confirm, {}),
       ("log delete", op_delete, {"roll": 1}), ("torn-tail trim", op_trim, {}), ("boot", op_boot, {}),
       ("crash log", op_crash, {}), ("whole session", op_session, {"open_steps": 0}))


QUICK = {"n_logs": 3, "pulled": 2, "open_steps": 25, "routines": 2}
# A fuller flash: more logs than one LittleFS metadata block holds (the logs folder splits), longer logs.
LONG = {"n_logs": 120, "pulled": 60, "open_steps": 35, "routines": 4}


def run_op(name, world=None, tears=(0, 1, 2), fails=None):
    """Cut operation `name` of OPS everywhere on a fresh image. Returns (flash operations, trials,
    logs on flash before)."""
    for n, op, changes in OPS:
        if n == name:
            wa = dict(world or QUICK)
            wa.update(changes)
            rig = Rig()
            try:
                ops, trials = cut_everywhere(rig, wa, op, tears, fails, name)
            finally:
                rig.close()
            return ops, rig.erases, trials, wa["n_logs"] + (1 if wa["open_steps"] else 0)
    raise KeyError(name)


def run_all(long=False, out=print):
    """Every operation in OPS cut everywhere (long: also on a fuller flash, and whole sessions
    starting from eight different fillings of the logs folder, so that cuts fall inside LittleFS's
    metadata compactions too). Returns (trials, fails)."""
    plan = [(name, QUICK) for name, _op, _c in OPS]
    if long:
        plan += [(name, LONG) for name, _op, _c in OPS]
        for extra in range(1, 9):
            w = dict(QUICK)
            w["n_logs"] = 3 + 5 * extra
            plan.append(("whole session", w))
    total = 0
    fails = []
    for name, world in plan:
        ops, erases, trials, nlogs = run_op(name, world, fails=fails)
        total += trials
        out("%-16s %3d flash operations (%2d erases), %4d cuts  (%3d logs on flash before)" % (
            name, ops, erases, trials, nlogs))
    return total, fails


def main():
    if vfs is None:
        print("powercut: needs MicroPython (vfs.VfsLfs2)")
        return
    long = "--long" in sys.argv
    total, fails = run_all(long)
    for f in fails[:50]:
        print("FAIL", f)
    print("%d power cuts tried, %d failures" % (total, len(fails)))
    if fails:
        sys.exit(1)


if __name__ == "__main__":
    main()
