"""Session log records: the one binary format the device writes and the PC reads (docs/storage.md).

A log is one file per session: a sequence of records, each

    type (1 byte) | length of payload (1 byte) | payload | check (2 bytes, little-endian)

where check = binascii.crc32(type + length + payload) & 0xFFFF. Record types:

    H header  version, seq, routine hash (8 bytes), boot, uptime ms, wall s, planned steps, id
    S step    one finished step (24 bytes in all)
    R resume  the session continues after a power cut (new boot, uptime, wall)
    E end     how the session ended

Records are appended and committed one at a time. `read` takes a log's bytes and never raises: the
first record that is cut short or fails its check ends the log there (`torn` = True).
Runs unchanged on CPython and MicroPython.
"""
import binascii
import struct

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x


VERSION = 1

HEADER = 0x48  # "H"
STEP = 0x53  # "S"
RESUME = 0x52  # "R"
END = 0x45  # "E"

# Step flags: the same bits as engine.SKIPPED, DISCOMFORT, ENDED.
SKIPPED = 1
DISCOMFORT = 2
ENDED = 4

# End reasons, stored as one byte; an unknown code reads as "unknown".
REASONS = ("done", "ended", "abandoned", "error")

_HDR = const("<BI8sIIIHB")  # version, seq, hash, boot, uptime, wall, planned steps, id length (+ id bytes)
_HDR_LEN = const(28)
_STEP = const("<HBBBBBBIII")  # i, kind, side<<4|flags, ex, set, rep, pauses, planned, actual, offset
_STEP_LEN = const(20)
_RES = const("<IIIHI")  # boot, uptime, wall, step index resumed at, offset ms
_RES_LEN = const(18)
_END = const("<BII")  # reason, total ms, offset ms
_END_LEN = const(9)
_MIN = {HEADER: _HDR_LEN + 1, STEP: _STEP_LEN, RESUME: _RES_LEN, END: _END_LEN}

_OVERHEAD = const(4)  # type, length, check
STEP_SIZE = _OVERHEAD + _STEP_LEN  # bytes of flash per logged step record
END_SIZE = _OVERHEAD + _END_LEN
MAX_RECORD = _OVERHEAD + 255

_U32 = const(0xFFFFFFFF)


def _c(v, hi):
    # Clamp to 0..hi: a record never fails to encode; a value out of range saturates (None: 0).
    try:
        v = int(v)
    except (TypeError, ValueError):
        return 0
    return 0 if v < 0 else (hi if v > hi else v)


def _id_ok(b):
    if not 0 < len(b) <= 32:
        return False
    for c in b:
        if not (97 <= c <= 122 or 48 <= c <= 57 or c == 45):
            return False
    return True


def check(buf, n):
    """The 16-bit check of the first n bytes of buf."""
    return binascii.crc32(memoryview(buf)[:n]) & 0xFFFF


def _seal(buf, typ, plen):
    buf[0] = typ
    buf[1] = plen
    n = 2 + plen
    struct.pack_into("<H", buf, n, check(buf, n))
    return n + 2


def encode_header(buf, seq, routine_id, routine_hash, boot, uptime_ms, wall, planned_steps):
    """Write a header record into bytearray buf (>= 64 bytes); return its length.
    routine_id: [a-z0-9-]{1,32}; routine_hash: 16 hex chars; wall: epoch seconds (1970) or 0."""
    rid = routine_id.encode() if isinstance(routine_id, str) else bytes(routine_id)
    if not _id_ok(rid):
        raise ValueError("bad routine id")
    try:
        h = binascii.unhexlify(routine_hash)
    except Exception:
        h = b""
    if len(h) != 8:
        raise ValueError("bad routine hash")
    struct.pack_into(_HDR, buf, 2, VERSION, _c(seq, _U32), h, _c(boot, _U32), _c(uptime_ms, _U32),
                     _c(wall, _U32), _c(planned_steps, 0xFFFF), len(rid))
    buf[2 + _HDR_LEN:2 + _HDR_LEN + len(rid)] = rid
    return _seal(buf, HEADER, _HDR_LEN + len(rid))


def encode_step(buf, i, kind, ex, set_no, rep, side, planned_ms, actual_ms, offset_ms, flags=0, pauses=0):
    """Write a step record (STEP_SIZE bytes) into buf; return its length. flags: SKIPPED|DISCOMFORT|ENDED."""
    struct.pack_into(_STEP, buf, 2, _c(i, 0xFFFF), _c(kind, 255), (_c(side, 3) << 4) | (_c(flags, 0xFF) & 7),
                     _c(ex, 255), _c(set_no, 255), _c(rep, 255), _c(pauses, 255),
                     _c(planned_ms, _U32), _c(actual_ms, _U32), _c(offset_ms, _U32))
    return _seal(buf, STEP, _STEP_LEN)


def encode_resume(buf, boot, uptime_ms, wall, i, offset_ms):
    struct.pack_into(_RES, buf, 2, _c(boot, _U32), _c(uptime_ms, _U32), _c(wall, _U32), _c(i, 0xFFFF),
                     _c(offset_ms, _U32))
    return _seal(buf, RESUME, _RES_LEN)


def encode_end(buf, reason, total_ms, offset_ms):
    code = REASONS.index(reason) if reason in REASONS else 255
    struct.pack_into(_END, buf, 2, code, _c(total_ms, _U32), _c(offset_ms, _U32))
    return _seal(buf, END, _END_LEN)


class Writer:
    """Appends records to one session log, each committed (written and the file closed) before the
    call returns. `target` is a path, or a callable returning a binary file open for appending.
    `repair`, if given, is called before the next append after a failed one (a write that failed
    half way, e.g. with the flash full, may have left part of a record: repair cuts it off)."""

    def __init__(self, target, repair=None):
        self.target = target
        self.repair = repair
        self.records = 0  # records committed through this writer
        self.bytes = 0
        self.ended = False
        self._dirty = False
        self._buf = bytearray(MAX_RECORD)

    def _commit(self, n):
        if self._dirty and self.repair is not None:
            self.repair()
        self._dirty = True
        t = self.target
        f = open(t, "ab") if isinstance(t, str) else t()
        try:
            w = f.write(memoryview(self._buf)[:n])
        finally:
            f.close()
        if w is not None and w != n:
            raise OSError(28)  # ENOSPC: a short write, the flash is full
        self._dirty = False
        self.records += 1
        self.bytes += n
        return n

    def header(self, seq, routine_id, routine_hash, boot, uptime_ms, wall, planned_steps):
        return self._commit(encode_header(self._buf, seq, routine_id, routine_hash, boot, uptime_ms, wall,
                                          planned_steps))

    def step(self, i, kind, ex, set_no, rep, side, planned_ms, actual_ms, offset_ms, flags=0, pauses=0):
        """Log finished step i (plan step fields, the planned and actual ms, its start as ms from the
        session start, engine flags, pauses). Returns the bytes written (STEP_SIZE)."""
        return self._commit(encode_step(self._buf, i, kind, ex, set_no, rep, side, planned_ms, actual_ms,
                                        offset_ms, flags, pauses))

    def resume(self, boot, uptime_ms, wall, i, offset_ms):
        """The session continues after a power cut at step i; offset_ms: session time it goes on from."""
        return self._commit(encode_resume(self._buf, boot, uptime_ms, wall, i, offset_ms))

    def end(self, reason, total_ms, offset_ms):
        """reason: one of REASONS; total_ms: time spent in steps; offset_ms: session time at the end."""
        n = self._commit(encode_end(self._buf, reason, total_ms, offset_ms))
        self.ended = True
        return n


def _empty():
    return {"version": None, "seq": None, "routine_id": None, "routine_hash": None, "boot": None,
            "uptime_ms": None, "wall": None, "planned_steps": None, "steps": [], "resumed": [],
            "end": None, "total_ms": None, "end_offset_ms": None, "torn": False, "valid_bytes": 0}


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


def read(data):
    """Parse a session log's bytes into a dict (docs/design.md). Never raises but MemoryError: a
    record cut short, failing its check or out of place ends the log there, and torn is True if
    bytes were left over."""
    out = _empty()
    try:
        if not isinstance(data, (bytes, bytearray)):
            data = bytes(data)
        _parse(memoryview(data), out)
    except MemoryError:
        raise  # not the log's fault: saying "torn" would hide steps that are there
    except Exception:  # noqa: BLE001 - a reader of untrusted bytes must not raise
        out["torn"] = True
    return out


def _header(mv, typ, p, plen):
    # The fields of a sound header record, or None.
    if typ != HEADER or plen < _HDR_LEN + 1:
        return None
    v = struct.unpack_from(_HDR, mv, p)
    if v[0] < 1 or plen < _HDR_LEN + v[7] or not _id_ok(mv[p + _HDR_LEN:p + _HDR_LEN + v[7]]):
        return None
    return v


def _sound(mv, pos):
    """(type, payload start, record end, payload length) of a sound record at pos that is long
    enough for its type, or None: the one walk read(), resume_point() and scan() share."""
    r = next_record(mv, pos)
    if r is None:
        return None
    typ, p, end = r
    plen = end - p - 2
    if plen < _MIN.get(typ, 0):
        return None
    return typ, p, end, plen


def _parse(mv, out):
    n = len(mv)
    pos = 0
    steps = out["steps"]
    while pos < n:
        r = _sound(mv, pos)
        if r is None:
            break
        typ, p, end, plen = r
        if pos == 0:
            v = _header(mv, typ, p, plen)
            if v is None:
                break
            rid = bytes(mv[p + _HDR_LEN:p + _HDR_LEN + v[7]])
            out["version"] = v[0]
            out["seq"] = v[1]
            out["routine_hash"] = binascii.hexlify(v[2]).decode()
            out["boot"] = v[3]
            out["uptime_ms"] = v[4]
            out["wall"] = v[5]
            out["planned_steps"] = v[6]
            out["routine_id"] = rid.decode()
        elif typ == HEADER or out["end"] is not None:
            break  # a second header, or anything after the end record
        elif typ == STEP:
            v = struct.unpack_from(_STEP, mv, p)
            f = v[2]
            steps.append({"i": v[0], "kind": v[1], "side": (f >> 4) & 3, "skipped": bool(f & SKIPPED),
                          "discomfort": bool(f & DISCOMFORT), "ended": bool(f & ENDED), "ex": v[3],
                          "set": v[4], "rep": v[5], "pauses": v[6], "planned_ms": v[7],
                          "actual_ms": v[8], "offset_ms": v[9]})
        elif typ == RESUME:
            v = struct.unpack_from(_RES, mv, p)
            out["resumed"].append({"boot": v[0], "uptime_ms": v[1], "wall": v[2], "i": v[3],
                                   "offset_ms": v[4], "after": len(steps)})
        elif typ == END:
            v = struct.unpack_from(_END, mv, p)
            out["end"] = REASONS[v[0]] if v[0] < len(REASONS) else "unknown"
            out["total_ms"] = v[1]
            out["end_offset_ms"] = v[2]
        # any other type with a sound check is from a newer writer: skipped
        pos = end
    out["valid_bytes"] = pos
    out["torn"] = pos < n


def resume_point(data):
    """What resuming a session needs, without read()'s dicts (a 60-step read() needs ~25 KB of a
    64-bit heap): (routine_id, routine_hash, planned_steps, next step index, session ms to go on from,
    steps logged), or None without a sound header. The same records as read() counts."""
    mv = memoryview(data)
    n = len(mv)
    pos = 0
    head = None
    at = off = steps = 0
    while pos < n:
        r = _sound(mv, pos)
        if r is None:
            break
        typ, p, end, plen = r
        if pos == 0:
            v = _header(mv, typ, p, plen)
            if v is None:
                return None
            head = (bytes(mv[p + _HDR_LEN:p + _HDR_LEN + v[7]]).decode(), binascii.hexlify(v[2]).decode(), v[6])
        elif typ == HEADER or typ == END:
            break
        elif typ == STEP:
            v = struct.unpack_from(_STEP, mv, p)
            at = v[0] + 1
            e = v[9] + v[8]
            off = e if e > off else off
            steps += 1
        pos = end
    return None if head is None else head + (at, off, steps)


def scan(data):
    """(valid_bytes, ended) of a log without building the step dicts: what storage needs at boot."""
    try:
        if not isinstance(data, (bytes, bytearray)):
            data = bytes(data)
        mv = memoryview(data)
        n = len(mv)
        pos = 0
        ended = False
        while pos < n:
            r = None if ended else _sound(mv, pos)
            if r is None:
                break
            typ, p, end, plen = r
            if pos == 0:
                if _header(mv, typ, p, plen) is None:
                    break
            elif typ == HEADER:
                break
            ended = typ == END
            pos = end
        return pos, ended
    except Exception:  # noqa: BLE001
        return 0, False


def is_end(tail):
    """True if bytes `tail` (a log's last END_SIZE bytes) are a sound end record."""
    if len(tail) != END_SIZE:
        return False
    r = next_record(memoryview(tail), 0)
    return r is not None and r[0] == END and r[2] == END_SIZE
