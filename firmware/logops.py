"""The session logs and routines on flash beyond what a running session needs: the segment tables,
listing, reading and confirming logs for the PC, making room, resuming and closing a session, the
last-session summary, storing routines and the crash log. storage.Storage reaches these as its own
methods (Storage.__getattr__ imports this module on demand) and the app drops the module before a
session starts, so a session's small heap holds only the log writer. Layout: storage.py."""
import errno
import os

import sessionlog

from storage import (_BOOTS, CRASH_MAX, READ_MAX, _check_id, _entries, _hash, _read, _remove, _replace, _write,
                     log_seq)

# storage's const() names are not module attributes on MicroPython: the ones used here
_ROUTINE_MAX = 8192
_ROUTINE_ROOM = 8192
_ENOSPC = 28
_LOG_MAX = 32768  # largest log session() reads whole


def _scan_segments(st):
    # The segments on flash, oldest first; logs of firmware before issue 9 (one per file) become
    # one-session segments (a pulled one with its bit set), each step power-cut safe.
    segs = []
    for name, _size in _entries(st._ldir):
        stem, ext = name[:-4], name[-4:]
        if not stem.isdigit() or len(stem) > 10:
            continue
        f = int(stem)
        if ext == ".log":
            os.rename(st._ldir + "/" + name, st._spath(f))
        elif ext == ".pul":
            _write(st._spath(f, ".got"), b"\x01")
            os.rename(st._ldir + "/" + name, st._spath(f))
        elif ext != ".seg":
            continue
        if f not in segs:
            segs.append(f)
    for name, _size in _entries(st._ldir):  # a map whose segment is gone (a cut delete)
        if name.endswith(".got") and name[:-4].isdigit() and int(name[:-4]) not in segs:
            _remove(st._ldir + "/" + name)
    segs.sort()
    return segs


def _table(st, f):
    """(sessions, valid bytes, size) of segment f: sessions an array of [seq, start, length, ended]
    quadruples, walked through a small buffer and cached while the file keeps its size."""
    path = st._spath(f)
    size = os.stat(path)[6]
    c = st._tabs.get(f)
    if c is not None and c[2] == size:
        return c
    import array

    import logwalk

    # The lean walk (no fold() dict per session: this runs at power-up, before the app's heap
    # settles, and every temporary here would leave a hole behind).
    tab = array.array("I")
    with open(path, "rb") as fh:
        recs = logwalk.Records(fh, 0, size)
        while True:
            here = recs.pos
            r = recs.next()
            if r is None:
                break
            typ, mv, p, plen = r
            if typ == sessionlog.HEADER:
                v = logwalk._header(mv, typ, p, plen)
                if v is None:
                    break
                tab.append(v[1])
                tab.append(here)
                tab.append(0)
                tab.append(0)
            elif not tab or tab[-1]:
                break  # no header first, or a record after an end record: not trusted
            elif typ == sessionlog.END:
                tab[-1] = 1
            tab[-2] = recs.pos - tab[-3]
        valid = tab[-3] + tab[-2] if tab else 0
    c = (tab, valid, size)
    if len(st._tabs) > 2:
        for k in list(st._tabs):
            if k != f and k != st._tail():
                del st._tabs[k]
    st._tabs[f] = c
    return c


def _got(st, f):
    try:
        return bytearray(_read(st._spath(f, ".got"), 512))
    except OSError:
        return bytearray()


def _bit(st, got, j):
    return j >> 3 < len(got) and bool(got[j >> 3] & (1 << (j & 7)))


def _find(st, name):
    """(segment, index in it, table) of log `name`; ValueError for a bad name, OSError if none."""
    s = log_seq(name)
    if s is None:
        raise ValueError("bad log name")
    seq = s[0]
    segs = st._segs
    k = len(segs) - 1
    while k >= 0 and segs[k] > seq:
        k -= 1
    if k >= 0:
        tab = _table(st, segs[k])[0]
        for j in range(len(tab) // 4):
            if tab[4 * j] == seq:
                return segs[k], j, tab
    raise OSError(errno.ENOENT, "no log " + name)


def _active(st, seq):
    w = st._writer
    return w is not None and not w.ended and w.seq == seq

# What the PC's link does with the logs and routines lives in linkstore (loaded while the PC talks, not during a
# session); the crash log in crashlog (loaded only after a crash). Small heap: code not needed
# all the time is not kept in it.


def logs(st):
    """[(name, size, pulled)] of the session logs, oldest (lowest seq) first."""
    return list(iter_logs(st))


def make_room(st, n):
    """Delete segments whose every session is pulled, oldest first; never an unpulled log.
    Returns False if there is still not enough room (the app tells the user to pull the logs)."""
    if st.free() >= n:
        return True
    for f in list(st._segs):
        if f == st._tail() and st._writer is not None and not st._writer.ended:
            continue
        try:
            tab = _table(st, f)[0]
        except OSError:
            continue
        got = _got(st, f)
        if all(_bit(st, got, j) for j in range(len(tab) // 4)):
            _remove(st._spath(f))
            _remove(st._spath(f, ".got"))
            st._segs.remove(f)
            st._tabs.pop(f, None)
            st._counts.pop(f, None)
            if st.free() >= n:
                return True
    return False


def _last(st):
    # (segment, index, table) of the newest session, or None (a segment without a sound
    # session, e.g. a file a power cut left empty, holds none)
    k = len(st._segs)
    while k > 0:
        k -= 1
        f = st._segs[k]
        try:
            tab = _table(st, f)[0]
        except OSError:
            continue
        if tab:
            return f, len(tab) // 4 - 1, tab
    return None


def _trim(st, f):
    # Cut a torn tail off segment f: LittleFS has no truncate, so copy the sound records into
    # <f>.tmp (a small buffer at a time: any length) and rename it over. Returns the bytes kept.
    tab, valid, size = _table(st, f)
    if valid < size:
        tmp = st._spath(f, ".tmp")
        buf = bytearray(512)
        mv = memoryview(buf)
        with open(st._spath(f), "rb") as src:
            with open(tmp, "wb") as dst:
                left = valid
                while left > 0:
                    k = src.readinto(mv[:left if left < 512 else 512])
                    if not k:
                        break
                    if dst.write(mv[:k]) != k:
                        raise OSError(_ENOSPC)
                    left -= k
        _replace(tmp, st._spath(f))
    return valid


def fold(st, name):
    """sessionlog.fold of log `name`, read through a small buffer."""
    f, j, tab = _find(st, name)
    start, length = tab[4 * j + 1], tab[4 * j + 2]
    with open(st._spath(f), "rb") as fh:
        import logwalk

        return logwalk.fold(logwalk.Records(fh, start, start + length))


def resume_point(st, name):
    """(routine_id, routine_hash, planned_steps, next step index, session ms to go on from,
    steps logged) of log `name`, or None without a sound header."""
    d = fold(st, name)
    if d is None:
        return None
    return d["routine_id"], d["routine_hash"], d["planned_steps"], d["at"], d["offset_ms"], d["steps"]


def unfinished(st):
    """The name of the newest session's log if it has no end record (a power cut or crash
    stopped it) and is not pulled, or None. The app offers to resume it (resume_log) or closes it
    (finish). Only the newest can be: a new session closes the one before (new_log)."""
    last = _last(st)
    if last is None:
        return None
    f, j, tab = last
    if tab[4 * j + 3] or _bit(st, _got(st, f), j):
        return None
    return "%d.log" % tab[4 * j]


def resume_log(st, name):
    """A Writer appending to log `name`, the newest session (a torn tail is cut off first). A log
    already pulled becomes unpulled again, since it will get new records. The app then writes a
    resume record. ValueError if it is not the newest session."""
    f, j, tab = _find(st, name)
    last = _last(st)
    if last is None or last[0] != f or last[1] != j:
        raise ValueError("only the newest session can go on")
    seq = tab[4 * j]
    if _bit(st, _got(st, f), j):
        _set_bit(st, f, j, False)
    _trim(st, f)
    return st._writer_for(f, seq)


def finish(st, name, reason="abandoned"):
    """Close an unfinished log (the newest) with an end record (total = the logged steps' time).
    Returns False if it already had one."""
    d = fold(st, name)
    if d is None or d["end"] is not None:
        return False
    resume_log(st, name).end(reason, d["total_ms"], d["offset_ms"])
    return True


def last_summary(st):
    """(routine, elapsed_s, steps, planned, skipped, discomfort, ended) of the newest session, or
    None: the last-session screen, at any log length."""
    last = _last(st)
    if last is None:
        return None
    d = fold(st, "%d.log" % last[2][4 * last[1]])
    if d is None:
        return None
    off = d["end_offset_ms"] if d["end_offset_ms"] is not None else d["offset_ms"]
    return (d["routine_id"], off // 1000, d["steps"], d["planned_steps"], d["skipped"], d["discomfort"],
            d["end"] != "done")

# -- crash log -----------------------------------------------------------------------------

# -- crash log -----------------------------------------------------------------------------


def iter_logs(st, start=0):
    """(name, size, pulled) of each session log from the start-th on, oldest first: one
    segment's table in memory at a time."""
    k = 0
    for f in st._segs:
        n = st._counts.get(f)
        if n is not None and k + n <= start:
            k += n
            continue
        try:
            tab = _table(st, f)[0]
        except OSError:
            continue
        n = len(tab) // 4
        if f != st._tail():
            st._counts[f] = n
        if k + n <= start:
            k += n
            continue
        got = _got(st, f)
        for j in range(n):
            if k >= start:
                pulled = _bit(st, got, j)
                yield "%d%s" % (tab[4 * j], ".pul" if pulled else ".log"), tab[4 * j + 2], pulled
            k += 1

def read_log(st, name, offset, n):
    """Up to n (at most READ_MAX) bytes of log `name` from offset; b"" past the end.
    ValueError for a bad name; OSError if there is no such log."""
    f, j, tab = _find(st, name)
    start, length = tab[4 * j + 1], tab[4 * j + 2]
    offset = max(0, int(offset))
    n = min(int(n), READ_MAX, length - offset)
    if n <= 0:
        return b""
    with open(st._spath(f), "rb") as fh:
        fh.seek(start + offset)
        return fh.read(n)

def confirm_log(st, name, size=None):
    """The PC has log `name`: mark it pulled, so the flash-full policy may delete it. Returns
    False, leaving it unpulled, for the log of the session being written (the PC gets it again
    when it has grown) or, when `size` is given, if the log is no longer that size.
    OSError if there is no such log; ValueError for a bad name."""
    f, j, tab = _find(st, name)
    if _bit(st, _got(st, f), j):
        return True
    if _active(st, tab[4 * j]):
        return False
    if size is not None and tab[4 * j + 2] != size:
        return False
    _set_bit(st, f, j)
    return True


def session(st, name):
    """sessionlog.read of log `name` (its first _LOG_MAX bytes: for tests and small logs; the
    app walks logs with fold(), which costs the same memory at any length)."""
    f, j, tab = _find(st, name)
    start, length = tab[4 * j + 1], tab[4 * j + 2]
    with open(st._spath(f), "rb") as fh:
        fh.seek(start)
        return sessionlog.read(fh.read(length if length < _LOG_MAX else _LOG_MAX))


def put_routine(st, rid, data):
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
    if not make_room(st, len(data) + _ROUTINE_ROOM):
        raise OSError(_ENOSPC, "flash full: pull the session logs")
    tmp = st._rpath(rid, ".tmp")
    try:
        _write(tmp, data)
        if _read(tmp, _ROUTINE_MAX + 1) != data:
            raise OSError(errno.EIO, "routine read back differs")
    except OSError:
        _remove(tmp)
        raise
    h = _hash(data)
    _replace(tmp, st._rpath(rid))
    st._hashes[rid] = (h, len(data))
    return h

def delete_routine(st, rid):
    """Delete routine rid; False if there was none."""
    _check_id(rid)
    st._hashes.pop(rid, None)
    return _remove(st._rpath(rid))


def _set_bit(st, f, j, on=True):
    got = _got(st, f)
    while len(got) <= j >> 3:
        got.append(0)
    if on:
        got[j >> 3] |= 1 << (j & 7)
    else:
        got[j >> 3] &= ~(1 << (j & 7)) & 0xFF
    tmp = st._spath(f, ".tmp")
    _write(tmp, got)
    _replace(tmp, st._spath(f, ".got"))


def crash(st, text):
    """Append text to crash.log, keeping its last CRASH_MAX bytes. Never raises; False on failure.
    Copies the old log through a small buffer: it runs after a crash, often on a fragmented heap."""
    try:
        if not isinstance(text, bytes):
            text = str(text).encode()
        head = ("-- boot %d\n" % _BOOTS.get(st.root, st._saved_boot)).encode()
        mv = memoryview(text)
        if len(mv) > CRASH_MAX - 64:
            mv = mv[len(mv) - (CRASH_MAX - 64):]
        keep = CRASH_MAX - len(head) - len(mv) - 1  # bytes of the old log kept: its end
        path = st.root + "/crash.log"
        tmp = st.root + "/crash.tmp"
        with open(tmp, "wb") as out:
            try:
                size = os.stat(path)[6]
            except OSError:
                size = 0
            if keep > 0 and size > 0:
                buf = bytearray(128)
                with open(path, "rb") as f:
                    if size > keep:
                        f.seek(size - keep)
                    while True:
                        n = f.readinto(buf)
                        if not n:
                            break
                        out.write(memoryview(buf)[:n])
            for part in (head, mv, b"\n"):
                if out.write(part) != len(part):
                    raise OSError(_ENOSPC)
        _replace(tmp, path)
        return True
    except Exception:  # noqa: BLE001 - called from the crash handler
        return False
