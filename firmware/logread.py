"""Reading whole session logs into dicts: what the PC (and the tests) use; the device walks its logs
with logwalk.fold() instead, so this module is never loaded there. Format: sessionlog.py,
docs/storage.md. Runs unchanged on CPython and MicroPython."""
import binascii
import struct

from logwalk import Records, _header, _sound, _uid, fold, next_record
from sessionlog import DISCOMFORT, END, END_SIZE, ENDED, FORMATS, HEADER, REASONS, RESUME, SKIPPED, STEP

_HDR, _HDR_LEN, _STEP, _RES, _END = FORMATS


def _empty():
    return {"version": None, "seq": None, "uid": None, "routine_id": None, "routine_hash": None, "boot": None,
            "uptime_ms": None, "wall": None, "planned_steps": None, "steps": [], "resumed": [],
            "end": None, "total_ms": None, "end_offset_ms": None, "torn": False, "valid_bytes": 0}


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
            out["uid"] = _uid(mv, p, v)
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
    """(routine_id, routine_hash, planned_steps, next step index, session ms to go on from, steps
    logged) of a log's first session, or None without a sound header (fold() gives more)."""
    d = fold(Records(data))
    if d is None:
        return None
    return d["routine_id"], d["routine_hash"], d["planned_steps"], d["at"], d["offset_ms"], d["steps"]


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
