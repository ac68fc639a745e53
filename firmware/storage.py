"""Files on flash: routines (atomic replace), session logs, state counters, flash-full policy.

Layout under `root` ("" on the Pico, a directory in the simulator), docs/storage.md:
    routines/<id>.json   routine bytes as received      routines/<id>.tmp  being written
    logs/<seq>.log       session log, not yet pulled     logs/<seq>.pul     pulled by the PC
    logs/<seq>.tmp       a log being created or trimmed  state.json         {"boot": n, "seq": n}
    crash.log            the last crashes (bounded)
Every replacement is write-temporary-then-rename: LittleFS renames atomically, so after a power cut
a file is old or new, never a mix. Log records are appended one file commit each (sessionlog.Writer).
Uses only os: runs on the Pico (LittleFS), the MicroPython unix port and CPython alike.
"""
import errno
import gc
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
        self.clean()
        self._saved_boot, seq = self._load_state()
        top = 0
        for name, _size in _entries(self._ldir):
            s = log_seq(name)
            if s is not None and s[0] > top:
                top = s[0]
        self._seq = max(seq, top + 1)

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

    def put_routine(self, rid, data):
        """Validate with routine.parse and replace routine rid atomically; returns its hash.
        ValueError(message): bad id or invalid routine (nothing written). OSError: the flash write
        failed or the flash is full (the old routine is kept either way)."""
        _check_id(rid)
        data = bytes(data)
        if not data or len(data) > _ROUTINE_MAX:
            raise ValueError("%s: routine must be 1..%d bytes" % (rid, _ROUTINE_MAX))
        import routine

        doc, errors = routine.parse(data, rid + ".json")
        if errors or doc is None:
            raise ValueError(errors[0] if errors else rid + ": invalid routine")
        if doc.get("id") != rid:
            raise ValueError("%s.json: id: the routine's id is %s; it must be its name on the device"
                             % (rid, doc.get("id")))
        del doc, errors
        if not self.make_room(len(data) + _ROUTINE_ROOM):
            raise OSError(_ENOSPC, "flash full: pull the session logs")
        tmp = self._rpath(rid, ".tmp")
        try:
            _write(tmp, data)
            if _read(tmp, _ROUTINE_MAX + 1) != data:
                raise OSError(errno.EIO, "routine read back differs")
        except OSError:
            _remove(tmp)
            raise
        h = _hash(data)
        _replace(tmp, self._rpath(rid))
        self._hashes[rid] = (h, len(data))
        return h

    def delete_routine(self, rid):
        """Delete routine rid; False if there was none."""
        _check_id(rid)
        self._hashes.pop(rid, None)
        return _remove(self._rpath(rid))

    # -- session logs --------------------------------------------------------------------------
    def _lpath(self, seq, ext):
        return "%s/%d%s" % (self._ldir, seq, ext)

    def _active(self, seq):
        w = self._writer
        return w is not None and not w.ended and w.seq == seq

    def logs(self):
        """[(name, size, pulled)] of the session logs, oldest (lowest seq) first."""
        rows = []
        for name, size in _entries(self._ldir):
            s = log_seq(name)
            if s is not None:
                rows.append((s[0], name, size, s[1]))
        rows.sort()
        return [(r[1], r[2], r[3]) for r in rows]

    def read_log(self, name, offset, n):
        """Up to n (at most READ_MAX) bytes of log `name` from offset; b"" past the end.
        ValueError for a bad name; OSError if there is no such log."""
        if log_seq(name) is None:
            raise ValueError("bad log name")
        path = self._ldir + "/" + name
        offset = max(0, int(offset))
        n = min(int(n), READ_MAX, os.stat(path)[6] - offset)
        if n <= 0:
            return b""
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(n)

    def confirm_log(self, name, size=None):
        """The PC has log `name`: mark it pulled (<seq>.log -> <seq>.pul), so the flash-full policy may
        delete it. Returns False, leaving it unpulled, for the log of the session being written (the
        PC gets it again when it has grown) or, when `size` is given, if the log is no longer that size.
        OSError if there is no such log; ValueError for a bad name."""
        s = log_seq(name)
        if s is None:
            raise ValueError("bad log name")
        seq = s[0]
        pul = self._lpath(seq, ".pul")
        log = self._lpath(seq, ".log")
        if s[1] or not _exists(log):
            os.stat(pul)  # already pulled (a repeated confirm); OSError if neither exists
            return True
        if self._active(seq):
            return False
        if size is not None and os.stat(log)[6] != size:
            return False
        os.rename(log, pul)
        return True

    def make_room(self, n):
        """Delete pulled logs, oldest first, until n bytes are free; never an unpulled log.
        Returns False if there is still not enough room (the app tells the user to pull the logs)."""
        if self.free() >= n:
            return True
        for name, _size, pulled in self.logs():
            if pulled:
                _remove(self._ldir + "/" + name)
                if self.free() >= n:
                    return True
        return False

    def new_log(self, routine_id, routine_hash, uptime_ms, wall, planned_steps):
        """Start the log of a new session: allocate the next seq, commit the header record, and
        return its sessionlog.Writer (attributes name, seq). wall: epoch seconds or 0 if unknown.
        Raises Full if there is no room even after deleting every pulled log."""
        if not self.make_room(SESSION_ROOM):
            raise Full(_ENOSPC, "flash full: pull the session logs")
        boot = self.boot()
        seq = self._seq
        self._seq = seq + 1
        self._save_state(boot, self._seq)
        tmp = self._lpath(seq, ".tmp")
        log = self._lpath(seq, ".log")
        _remove(tmp)
        w = sessionlog.Writer(tmp)
        try:
            w.header(seq, routine_id, routine_hash, boot, uptime_ms, wall, planned_steps)
        except OSError:
            _remove(tmp)
            raise
        _replace(tmp, log)  # the log appears with its header, or not at all
        return self._writer_for(seq)

    def _writer_for(self, seq):
        w = sessionlog.Writer(self._lpath(seq, ".log"), lambda: self._trim(seq))
        w.seq = seq
        w.name = "%d.log" % seq
        self._writer = w
        return w

    def _trim(self, seq):
        # Cut a torn tail off log seq: LittleFS has no truncate, so rewrite the sound records into
        # <seq>.tmp and rename it over the log. Returns the bytes kept.
        log = self._lpath(seq, ".log")
        size = os.stat(log)[6]
        if size > _LOG_MAX:
            return size  # too long to rewrite in RAM: left as it is rather than risk cutting records
        data = _read(log, _LOG_MAX)
        valid = sessionlog.scan(data)[0]
        if valid < len(data) and valid > 0:
            tmp = self._lpath(seq, ".tmp")
            _write(tmp, memoryview(data)[:valid])
            _replace(tmp, log)
        return valid

    def session(self, name):
        """sessionlog.read of log `name` (the first _LOG_MAX bytes)."""
        if log_seq(name) is None:
            raise ValueError("bad log name")
        return sessionlog.read(_read(self._ldir + "/" + name, _LOG_MAX))

    def resume_point(self, name):
        """sessionlog.resume_point of log `name`."""
        if log_seq(name) is None:
            raise ValueError("bad log name")
        return sessionlog.resume_point(_read(self._ldir + "/" + name, _LOG_MAX))

    def unfinished(self):
        """The name of the newest unpulled log whose session has no end record (a power cut or crash
        stopped it), or None. The app offers to resume it (resume_log) or closes it (finish)."""
        rows = self.logs()
        i = len(rows)
        while i > 0:
            i -= 1
            name, size, pulled = rows[i]
            if pulled or size == 0:
                continue
            path = self._ldir + "/" + name
            if size >= sessionlog.END_SIZE:
                with open(path, "rb") as f:
                    f.seek(size - sessionlog.END_SIZE)
                    if sessionlog.is_end(f.read(sessionlog.END_SIZE)):
                        continue
            valid, ended = sessionlog.scan(_read(path, _LOG_MAX))
            if valid and not ended:
                return name
        return None

    def resume_log(self, name):
        """A Writer appending to log `name` (a torn tail is cut off first). A log already pulled
        becomes unpulled again, since it will get new records. The app then writes a resume record."""
        s = log_seq(name)
        if s is None:
            raise ValueError("bad log name")
        seq = s[0]
        log = self._lpath(seq, ".log")
        if not _exists(log):
            os.rename(self._lpath(seq, ".pul"), log)  # OSError if there is no such log
        self._trim(seq)
        return self._writer_for(seq)

    def finish(self, name, reason="abandoned"):
        """Close an unfinished log with an end record (total = the logged steps' time). Returns False
        if it already had one."""
        try:
            d = self.session(name)
        except MemoryError:  # a long log on a small heap: walk it without building the step dicts
            d = None
            gc.collect()
        if d is None:
            data = _read(self._ldir + "/" + name, _LOG_MAX)
            ended = sessionlog.scan(data)[1]
            rp = sessionlog.resume_point(data)
            del data
            if ended or rp is None:
                return False
            total = last = rp[4]  # the session time reached (pauses included)
        else:
            if d["end"] is not None or d["seq"] is None:
                return False
            total = last = 0
            for st in d["steps"]:
                total += st["actual_ms"]
                if st["offset_ms"] + st["actual_ms"] > last:
                    last = st["offset_ms"] + st["actual_ms"]
            del d
        self.resume_log(name).end(reason, total, last)
        return True

    # -- crash log -----------------------------------------------------------------------------
    def crash(self, text):
        """Append text to crash.log, keeping its last CRASH_MAX bytes. Never raises; False on failure."""
        try:
            if not isinstance(text, bytes):
                text = str(text).encode()
            text = ("-- boot %d\n" % _BOOTS.get(self.root, self._saved_boot)).encode() + \
                text[-(CRASH_MAX - 64):] + b"\n"
            path = self.root + "/crash.log"
            keep = CRASH_MAX - len(text)  # bytes of the old log kept: its end
            try:
                size = os.stat(path)[6] if keep > 0 else 0
                with open(path, "rb") as f:
                    if size > keep:
                        f.seek(size - keep)
                    text = f.read(min(size, keep)) + text
            except OSError:
                pass
            tmp = self.root + "/crash.tmp"
            _write(tmp, text)
            _replace(tmp, path)
            return True
        except Exception:  # noqa: BLE001 - called from the crash handler
            return False
