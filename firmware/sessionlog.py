"""Session log records: the one binary format the device writes and the PC reads (docs/storage.md).

A session log is a sequence of records (storage keeps several sessions one after another in a file,
each beginning with its header record), each

    type (1 byte) | length of payload (1 byte) | payload | check (2 bytes, little-endian)

where check = binascii.crc32(type + length + payload) & 0xFFFF. Record types:

    H header  version, seq, routine hash (8 bytes), boot, uptime ms, wall s, planned steps, id
    S step    one finished step (24 bytes in all)
    R resume  the session continues after a power cut (new boot, uptime, wall)
    E end     how the session ended

Records are appended and committed one at a time. Reading is elsewhere, so that a running session's
heap holds only the writer: logwalk walks logs of any length through a small buffer (the device),
logread.read parses a log's bytes into a dict and never raises (the PC): the first record that is
cut short or fails its check ends the log there (`torn` = True).
Runs unchanged on CPython and MicroPython.
"""
import binascii
import struct

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x


VERSION = 2  # 2: the header ends with the session's random uid (8 bytes); 1 had none
UID_LEN = 8

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
# For logwalk and logread (const() names are private on MicroPython): formats, minimum payloads.
FORMATS = (_HDR, _HDR_LEN, _STEP, _RES, _END)
MIN_PAYLOAD = {HEADER: _HDR_LEN + 1, STEP: _STEP_LEN, RESUME: _RES_LEN, END: _END_LEN}

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


def encode_header(buf, seq, routine_id, routine_hash, boot, uptime_ms, wall, planned_steps, uid=None):
    """Write a header record into bytearray buf (>= 72 bytes); return its length.
    routine_id: [a-z0-9-]{1,32}; routine_hash: 16 hex chars; wall: epoch seconds (1970) or 0;
    uid: the session's 8 random bytes (os.urandom(8) when None): what tells two sessions apart when
    a seq repeats (a reflashed device, two simulated ones)."""
    rid = routine_id.encode() if isinstance(routine_id, str) else bytes(routine_id)
    if not _id_ok(rid):
        raise ValueError("bad routine id")
    try:
        h = binascii.unhexlify(routine_hash)
    except Exception:
        h = b""
    if len(h) != 8:
        raise ValueError("bad routine hash")
    if uid is None:
        uid = new_uid()
    if len(uid) != UID_LEN:
        raise ValueError("bad uid")
    struct.pack_into(_HDR, buf, 2, VERSION, _c(seq, _U32), h, _c(boot, _U32), _c(uptime_ms, _U32),
                     _c(wall, _U32), _c(planned_steps, 0xFFFF), len(rid))
    k = 2 + _HDR_LEN
    buf[k:k + len(rid)] = rid
    buf[k + len(rid):k + len(rid) + UID_LEN] = uid
    return _seal(buf, HEADER, _HDR_LEN + len(rid) + UID_LEN)


def new_uid():
    """8 random bytes (the hardware's random source on the Pico)."""
    import os

    try:
        b = os.urandom(UID_LEN)
        if len(b) == UID_LEN:
            return b
    except (AttributeError, NotImplementedError, OSError):
        pass
    import random  # a port without os.urandom: still random enough to tell sessions apart

    return bytes(random.getrandbits(8) for _ in range(UID_LEN))


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

    def header(self, seq, routine_id, routine_hash, boot, uptime_ms, wall, planned_steps, uid=None):
        return self._commit(encode_header(self._buf, seq, routine_id, routine_hash, boot, uptime_ms, wall,
                                          planned_steps, uid))

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


def read(data):
    """Parse a session log's bytes into a dict (logread.read: the PC's reader, not loaded on the
    device, whose firmware walks logs with fold())."""
    import logread

    return logread.read(data)
