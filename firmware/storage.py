"""Files on flash: routines (atomic replace), session logs, state counters, flash-full policy.

Layout under `root` ("" on the Pico, a directory in the simulator), docs/storage.md:
    routines/<id>.json   routine bytes as received      routines/<id>.tmp  being written
    logs/<F>.seg         sessions F, F+1, ... one after another (a "segment"; the link calls each
                         session "<seq>.log", or "<seq>.pul" once the PC has confirmed it)
    logs/<F>.got         which of segment F's sessions the PC has confirmed (a bit each)
    logs/<F>.tmp         a segment being created or trimmed, a map being replaced
    state.json           {"boot": n, "seq": n}
    crash.log            the last crashes (bounded)
Every replacement is write-temporary-then-rename: LittleFS renames atomically, so after a power cut
a file is old or new, never a mix. Log records are appended one file commit each (sessionlog.Writer).
Uses only os: runs on the Pico (LittleFS), the MicroPython unix port and CPython alike.
"""
import os

import sessionlog

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x


CRASH_MAX = 4096  # bytes kept in crash.log
_ROUTINE_MAX = const(8192)  # largest routine accepted (routine.MAX_BYTES is smaller)
READ_MAX = 4096  # largest piece read_log returns
_LOG_MAX = const(32768)  # largest log read whole (session, unfinished, repair)
SESSION_ROOM = 16384  # free bytes needed to start a session (4 LittleFS blocks)
SEG_ROLL = 12288  # a session starts a new segment file once the newest is this long
_ROUTINE_ROOM = const(8192)  # free bytes needed beyond a routine's size to replace it

_ENOSPC = const(28)  # MicroPython's errno module has no ENOSPC
_replace = getattr(os, "replace", os.rename)  # CPython on Windows: rename does not replace


_BOOTS = {}  # root -> this power-up's boot count (module state lives until the next reset)


class Full(OSError):
    """No room on flash for a new session, even after deleting every pulled log."""


def id_ok(rid):
    """A routine id: [a-z0-9-]{1,32}."""
    if not isinstance(rid, str) or not 0 < len(rid) <= 32:
        return False
    for ch in rid:
        if not ("a" <= ch <= "z" or "0" <= ch <= "9" or ch == "-"):
            return False
    return True


def log_seq(name):
    """(seq, pulled) of a log name "<seq>.log" or "<seq>.pul" (canonical digits), else None."""
    if not isinstance(name, str) or not 4 < len(name) <= 14:
        return None
    stem, ext = name[:-4], name[-4:]
    if ext not in (".log", ".pul") or not stem.isdigit() or (stem[0] == "0" and len(stem) > 1):
        return None
    for ch in stem:  # isdigit() accepts other scripts' digits on CPython
        if not "0" <= ch <= "9":
            return None
    return int(stem), ext == ".pul"


def _check_id(rid):
    if not id_ok(rid):
        raise ValueError("bad routine id")


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _remove(path):
    try:
        os.remove(path)
        return True
    except OSError:
        return False


def _read(path, limit):
    # At most `limit` bytes of the file (MicroPython's read(n) allocates n bytes up front).
    n = os.stat(path)[6]
    with open(path, "rb") as f:
        return f.read(n if n < limit else limit)


def _write(path, data):
    with open(path, "wb") as f:
        n = f.write(data)
    if n is not None and n != len(data):
        raise OSError(_ENOSPC)


def _entries(folder):
    # [(name, size)] of the files in folder ([] if there is no such folder)
    out = []
    try:
        _list(folder, out)
    except OSError:
        pass
    return out


def _list(folder, out):
    if hasattr(os, "ilistdir"):
        for e in os.ilistdir(folder):
            if len(e) > 3 and e[3] >= 0 and e[1] != 0x4000:
                out.append((e[0], e[3]))
            elif e[1] != 0x4000:
                out.append((e[0], os.stat(folder + "/" + e[0])[6]))
        return
    for n in os.listdir(folder):
        st = os.stat(folder + "/" + n)
        if not st[0] & 0x4000:
            out.append((n, st[6]))


def _file_hash(path):
    """(content hash, size) of a file, read in small pieces: no buffer the size of the file (a
    fragmented heap may not have one)."""
    import binascii
    import hashlib

    h = hashlib.sha256()
    buf = bytearray(64)
    mv = memoryview(buf)
    size = 0
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(mv[:n])
            size += n
    return binascii.hexlify(h.digest()[:8]).decode(), size


def _hash(data):
    try:
        import routine

        return routine.content_hash(data)
    except (ImportError, AttributeError):  # the validator is not on this device (yet): same definition
        import binascii
        import hashlib

        return binascii.hexlify(hashlib.sha256(data).digest()[:8]).decode()


class Storage:
    """The device's files under `root`. Making one clears the temporaries a power cut left; it does
    not count a boot (boot() does) and never raises on a missing folder."""

    def __init__(self, root=""):
        root = root or ""
        while root.endswith("/"):
            root = root[:-1]
        self.root = root
        self._rdir = root + "/routines"
        self._ldir = root + "/logs"
        self._state = root + "/state.json"
        for d in (root, self._rdir, self._ldir):
            if d:
                try:
                    os.mkdir(d)
                except OSError:
                    pass
        self._hashes = {}  # id -> (hash, size) of routines read or written since boot
        self._writer = None  # the Writer of the session being logged
        self._tabs = {}  # segment -> (table, valid, size): the tail's and the last one looked at
        self._counts = {}  # segment -> sessions in it (closed segments only: they do not change)
        self.clean()
        self._saved_boot, seq = self._load_state()
        segs = []
        other = False
        for name, _size in _entries(self._ldir):
            if name.endswith(".seg") and name[:-4].isdigit():
                segs.append(int(name[:-4]))
            elif not name.endswith(".got"):
                other = True
        segs.sort()
        # Logs of firmware before issue 9, or a map left behind: logops sorts them out (rarely).
        self._segs = self._scan_segments() if other or len(_entries(self._ldir)) > 2 * len(segs) else segs
        self._seq = seq  # raised above the newest seq on flash when the next session starts

    # -- boot and state ------------------------------------------------------------------------
    def clean(self):
        """Remove the temporary files a power cut may have left (done at every start)."""
        for d in (self._rdir, self._ldir):
            for name, _size in _entries(d):
                if name.endswith(".tmp"):
                    _remove(d + "/" + name)
        _remove(self.root + "/state.tmp")
        _remove(self.root + "/crash.tmp")

    def _load_state(self):
        try:
            import json

            st = json.loads(_read(self._state, 256))
            boot, seq = st["boot"], st["seq"]
            if isinstance(boot, int) and isinstance(seq, int) and boot >= 0 and seq >= 1:
                return boot, seq
        except Exception:  # noqa: BLE001 - missing or unreadable: start the counters again
            pass
        return 0, 1

    def _save_state(self, boot, seq):
        tmp = self.root + "/state.tmp"
        _write(tmp, ('{"boot":%d,"seq":%d}' % (boot, seq)).encode())
        _replace(tmp, self._state)

    def boot(self):
        """This power-up's boot count: incremented and saved at the first call after a reset (an app
        restarted after a crash makes a new Storage and gets the same count)."""
        n = _BOOTS.get(self.root)
        if n is None:
            n = self._saved_boot + 1
            _BOOTS[self.root] = n
            try:
                self._save_state(n, self._seq)
            except OSError:  # flash full: the count still goes up in memory
                pass
        return n

    def free(self):
        """Bytes free on the filesystem holding root."""
        if not hasattr(os, "statvfs"):
            return 1 << 30
        st = os.statvfs(self.root or "/")
        return st[1] * st[4]

    # -- routines ------------------------------------------------------------------------------
    def _rpath(self, rid, ext=".json"):
        return self._rdir + "/" + rid + ext

    def routines(self):
        """Sorted [(id, hash, size)] of the routines on flash."""
        out = []
        for name, size in _entries(self._rdir):
            rid = name[:-5]
            if not name.endswith(".json") or not id_ok(rid):
                continue
            hs = self._hashes.get(rid)
            if hs is None or hs[1] != size:
                hs = _file_hash(self._rpath(rid))
                self._hashes[rid] = hs
            out.append((rid, hs[0], hs[1]))
        out.sort()
        return out

    def routine_hash(self, rid):
        """The content hash of stored routine rid (as routines() gives it)."""
        _check_id(rid)
        return _file_hash(self._rpath(rid))[0]

    def open_routine(self, rid):
        """Stored routine rid as a binary file open for reading (for json.load: no big buffer)."""
        _check_id(rid)
        return open(self._rpath(rid), "rb")

    def read_routine(self, rid):
        """The routine's bytes; ValueError for a bad id, OSError if there is none."""
        _check_id(rid)
        return _read(self._rpath(rid), _ROUTINE_MAX + 1)

    def _spath(self, f, ext=".seg"):
        return "%s/%d%s" % (self._ldir, f, ext)

    def forget(self):
        """Drop the cached segment tables (a session is about to start: its heap is small)."""
        self._tabs = {}
        self._counts = {}

    def _tail(self):
        return self._segs[-1] if self._segs else None

    def new_log(self, routine_id, routine_hash, uptime_ms, wall, planned_steps):
        """Start the log of a new session: allocate the next seq, commit the header record, and
        return its sessionlog.Writer (attributes name, seq). wall: epoch seconds or 0 if unknown.
        Raises Full if there is no room even after deleting every pulled log."""
        if not self.make_room(SESSION_ROOM):
            raise Full(_ENOSPC, "flash full: pull the session logs")
        last = self._last()
        if last is not None and not last[2][4 * last[1] + 3]:
            self.finish("%d.log" % last[2][4 * last[1]])  # never leave one unfinished behind a new one
        boot = self.boot()
        last = self._last()
        seq = self._seq
        if last is not None and last[2][4 * last[1]] >= seq:
            seq = last[2][4 * last[1]] + 1  # the state file was lost or is behind: seq never repeats
        for f in self._segs:
            if f >= seq:
                seq = f + 1
        self._seq = seq + 1
        self._save_state(boot, self._seq)
        f = self._tail()
        if f is None or os.stat(self._spath(f))[6] >= SEG_ROLL:
            tmp = self._spath(seq, ".tmp")
            _remove(tmp)
            w = sessionlog.Writer(tmp)
            try:
                w.header(seq, routine_id, routine_hash, boot, uptime_ms, wall, planned_steps)
            except OSError:
                _remove(tmp)
                raise
            _replace(tmp, self._spath(seq))  # the segment appears with its header, or not at all
            self._segs.append(seq)
            f = seq
            return self._writer_for(f, seq)
        self._trim(f)
        w = self._writer_for(f, seq)
        w.header(seq, routine_id, routine_hash, boot, uptime_ms, wall, planned_steps)
        return w

    def _writer_for(self, f, seq):
        w = sessionlog.Writer(self._spath(f), lambda: self._trim(f))
        w.seq = seq
        w.name = "%d.log" % seq
        self._writer = w
        return w

    def __getattr__(self, name):
        # Every other method is a function of logops (see its docstring), loaded when first used.
        import logops

        fn = getattr(logops, name)
        return lambda *args, **kw: fn(self, *args, **kw)
