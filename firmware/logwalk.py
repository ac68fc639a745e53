"""Walking session logs: the sound records of a log of any length, read through one small buffer,
and fold(), the counts of one session (what resuming, closing, listing and summarising need). The
device loads this module on demand (storage) and the app drops it before a session starts, so it
costs a running session no heap. Format: sessionlog.py. Runs on CPython and MicroPython."""
import binascii
import struct

from sessionlog import (DISCOMFORT, END, FORMATS, HEADER, MAX_RECORD, MIN_PAYLOAD, REASONS, RESUME, SKIPPED, STEP,
                        UID_LEN, _id_ok)

_HDR, _HDR_LEN, _STEP, _RES, _END = FORMATS
_OVERHEAD = 4  # type, length, check


def next_record(mv, pos):
    """(type, payload start, record end) of a sound record at pos of memoryview mv, or None."""
    n = len(mv)
    if pos + _OVERHEAD > n:
        return None
    typ = mv[pos]
    end = pos + _OVERHEAD + mv[pos + 1]
    if end > n:
        return None
    if (binascii.crc32(mv[pos:end - 2]) & 0xFFFF) != (mv[end - 2] | (mv[end - 1] << 8)):
        return None
    return typ, pos + 2, end


def _header(mv, typ, p, plen):
    # The fields of a sound header record, or None.
    if typ != HEADER or plen < _HDR_LEN + 1:
        return None
    v = struct.unpack_from(_HDR, mv, p)
    if v[0] < 1 or plen < _HDR_LEN + v[7] or not _id_ok(mv[p + _HDR_LEN:p + _HDR_LEN + v[7]]):
        return None
    if v[0] >= 2 and plen < _HDR_LEN + v[7] + UID_LEN:
        return None
    return v


def _uid(mv, p, v):
    # The uid of a sound header (16 hex digits), or None for a version 1 header (it had none).
    if v[0] < 2:
        return None
    k = p + _HDR_LEN + v[7]
    return binascii.hexlify(mv[k:k + UID_LEN]).decode()


def _sound(mv, pos):
    """(type, payload start, record end, payload length) of a sound record at pos that is long
    enough for its type, or None: the one walk read(), resume_point() and scan() share."""
    r = next_record(mv, pos)
    if r is None:
        return None
    typ, p, end = r
    plen = end - p - 2
    if plen < MIN_PAYLOAD.get(typ, 0):
        return None
    return typ, p, end, plen


class Records:
    """The sound records of bytes start..end of `src`: a bytes-like object, or a binary file open for
    reading that is read through one small buffer, so that a log of any length costs the same memory.
    next() -> (type, memoryview, payload start, payload length) of the record at .pos, advancing
    .pos past it; None at the end or at the first record that is cut short or fails its check (the
    memoryview is valid until the next call)."""

    def __init__(self, src, start=0, end=None):
        self.pos = start
        if isinstance(src, (bytes, bytearray, memoryview)):
            self.f = None
            self.mv = memoryview(src)
            self.base = 0
            self.n = len(self.mv)
            self.end = self.n if end is None or end > self.n else end
        else:
            self.f = src
            self.buf = bytearray(2 * MAX_RECORD)
            self.mv = memoryview(self.buf)
            self.base = start
            self.n = 0
            self.end = end if end is not None else 1 << 30

    def next(self):
        pos = self.pos
        if pos + _OVERHEAD > self.end:
            return None
        rel = pos - self.base
        mv = self.mv
        if self.f is not None and (rel < 0 or rel + 2 > self.n or rel + _OVERHEAD + mv[rel + 1] > self.n):
            self.f.seek(pos)
            want = self.end - pos
            if want > len(self.buf):
                want = len(self.buf)
            self.n = self.f.readinto(mv[:want]) or 0
            self.base = pos
            rel = 0
        lim = self.end - self.base
        r = _sound(mv[:lim if lim < self.n else self.n], rel)
        if r is None:
            return None
        typ, p, end, plen = r
        self.pos = self.base + end
        return typ, mv, p, plen


def fold(recs):
    """Walk one session from its header at recs.pos to its end record, the next header or the first
    unsound record, keeping only counts: what resuming, closing and summarising a session need,
    without read()'s step dicts (a 60-step read() needs ~25 KB of a 64-bit heap). Returns None
    without a sound header, else a dict: seq, uid, routine_id, routine_hash, planned_steps, boot,
    uptime_ms, wall, at (the next step index), offset_ms (session time reached), steps, skipped,
    discomfort, total_ms (time in logged steps), resumed, end (reason or None), end_offset_ms,
    stop (the position after the session's last sound record)."""
    r = recs.next()
    if r is None:
        return None
    typ, mv, p, plen = r
    v = _header(mv, typ, p, plen)
    if v is None:
        return None
    out = {"seq": v[1], "uid": _uid(mv, p, v), "routine_id": bytes(mv[p + _HDR_LEN:p + _HDR_LEN + v[7]]).decode(),
           "routine_hash": binascii.hexlify(v[2]).decode(), "boot": v[3], "uptime_ms": v[4], "wall": v[5],
           "planned_steps": v[6], "at": 0, "offset_ms": 0, "steps": 0, "skipped": 0, "discomfort": 0,
           "total_ms": 0, "resumed": 0, "end": None, "end_offset_ms": None, "stop": recs.pos}
    while True:
        here = recs.pos
        r = recs.next()
        if r is None:
            break
        typ, mv, p, plen = r
        if typ == HEADER:
            recs.pos = here  # the next session begins
            break
        if typ == STEP:
            v = struct.unpack_from(_STEP, mv, p)
            out["at"] = v[0] + 1
            e = v[9] + v[8]
            if e > out["offset_ms"]:
                out["offset_ms"] = e
            out["steps"] += 1
            out["total_ms"] += v[8]
            out["skipped"] += 1 if v[2] & SKIPPED else 0
            out["discomfort"] += 1 if v[2] & DISCOMFORT else 0
        elif typ == RESUME:
            v = struct.unpack_from(_RES, mv, p)
            out["resumed"] += 1
            if v[4] > out["offset_ms"]:
                out["offset_ms"] = v[4]
        elif typ == END:
            v = struct.unpack_from(_END, mv, p)
            out["end"] = REASONS[v[0]] if v[0] < len(REASONS) else "unknown"
            out["end_offset_ms"] = v[2]
            out["stop"] = recs.pos
            break
        out["stop"] = recs.pos
    return out
