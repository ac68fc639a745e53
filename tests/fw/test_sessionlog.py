"""Session log records: size per step, round trip, torn tails dropped, garbage never raises."""
import os

import logread
import logwalk
import sessionlog as sl
from fwtest import raises

HASH = "0123456789abcdef"


class _Rng:
    """xorshift32: the same numbers on CPython and MicroPython."""

    def __init__(self, seed):
        self.s = seed or 1

    def next(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s

    def below(self, n):
        return self.next() % n

    def bytes(self, n):
        return bytes(self.next() & 255 for _ in range(n))


def _log(nsteps=5, end="done", resume_at=None):
    """Bytes of a log, built with the encoders, and the step tuples it holds."""
    buf = bytearray(sl.MAX_RECORD)
    out = bytearray()
    out += buf[:sl.encode_header(buf, 42, "easy-hamstring", HASH, 7, 123456, 1700000000, nsteps)]
    steps = []
    for i in range(nsteps):
        if i == resume_at:
            out += buf[:sl.encode_resume(buf, 8, 2100, 0, i, i * 31000)]
        st = (i, i % 7, i % 3, 1 + i % 2, 1 + i % 4, i % 3, 30000 + i, 29000 + i, i * 31000,
              sl.DISCOMFORT if i == 1 else (sl.SKIPPED if i == 2 else 0), i % 2)
        out += buf[:sl.encode_step(buf, *st)]
        steps.append(st)
    if end:
        out += buf[:sl.encode_end(buf, end, 150000, 160000)]
    return bytes(out), steps


def test_a_step_record_takes_at_most_40_bytes_of_flash():
    buf = bytearray(sl.MAX_RECORD)
    n = sl.encode_step(buf, 65535, 6, 255, 255, 255, 2, 2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1, 7, 255)
    assert n == sl.STEP_SIZE == 24, n
    assert n <= 40
    assert sl.encode_end(buf, "ended", 1, 2) == sl.END_SIZE == 13
    assert sl.encode_resume(buf, 1, 2, 3, 4, 5) == 22
    assert sl.encode_header(buf, 1, "a" * 32, HASH, 1, 2, 3, 4) == 72  # 32 + id + 8-byte uid


def test_a_log_reads_back_exactly_what_was_written():
    data, steps = _log(6, resume_at=3)
    d = sl.read(data)
    assert d["torn"] is False and d["valid_bytes"] == len(data)
    assert (d["version"], d["seq"], d["routine_id"], d["routine_hash"]) == (2, 42, "easy-hamstring", HASH)
    assert len(d["uid"]) == 16 and int(d["uid"], 16) >= 0
    assert (d["boot"], d["uptime_ms"], d["wall"], d["planned_steps"]) == (7, 123456, 1700000000, 6)
    assert (d["end"], d["total_ms"], d["end_offset_ms"]) == ("done", 150000, 160000)
    assert len(d["steps"]) == 6
    for got, st in zip(d["steps"], steps):
        flags = st[9]
        want = {"i": st[0], "kind": st[1], "ex": st[2], "set": st[3], "rep": st[4], "side": st[5],
                "planned_ms": st[6], "actual_ms": st[7], "offset_ms": st[8], "pauses": st[10],
                "skipped": bool(flags & sl.SKIPPED), "discomfort": bool(flags & sl.DISCOMFORT),
                "ended": bool(flags & sl.ENDED)}
        for k in want:
            assert got[k] == want[k], (k, got, want)
    assert d["steps"][1]["discomfort"] and d["steps"][2]["skipped"] and not d["steps"][0]["skipped"]
    assert d["resumed"] == [{"boot": 8, "uptime_ms": 2100, "wall": 0, "i": 3, "offset_ms": 93000, "after": 3}]
    assert logread.scan(data) == (len(data), True)


def test_every_end_reason_round_trips():
    for reason in sl.REASONS:
        assert sl.read(_log(1, end=reason)[0])["end"] == reason
    d = sl.read(_log(2, end=None)[0])
    assert d["end"] is None and d["torn"] is False and len(d["steps"]) == 2


def test_out_of_range_values_saturate_instead_of_failing():
    buf = bytearray(sl.MAX_RECORD)
    head = bytes(buf[:sl.encode_header(buf, 1, "x", HASH, 1, 1, 0, 1)])
    n = sl.encode_step(buf, 70000, 300, -1, 999, 1000, 9, -5, 2 ** 40, 3, 0, 999)
    assert n == 24
    s = sl.read(head + bytes(buf[:n]))["steps"][0]
    assert (s["i"], s["kind"], s["ex"], s["set"], s["rep"], s["side"]) == (65535, 255, 0, 255, 255, 3)
    assert (s["planned_ms"], s["actual_ms"], s["pauses"]) == (0, 2 ** 32 - 1, 255)
    n = sl.encode_step(buf, None, 1, None, 1, 1, None, 1000, None, 5, None, None)
    s = sl.read(head + bytes(buf[:n]))["steps"][0]
    assert (s["i"], s["ex"], s["side"], s["actual_ms"], s["pauses"], s["skipped"]) == (0, 0, 0, 0, 0, False)


def test_a_bad_header_is_refused_when_writing():
    buf = bytearray(sl.MAX_RECORD)
    raises(ValueError, sl.encode_header, buf, 1, "Bad Id", HASH, 1, 1, 0, 1)
    raises(ValueError, sl.encode_header, buf, 1, "a" * 33, HASH, 1, 1, 0, 1)
    raises(ValueError, sl.encode_header, buf, 1, "ok", "xyz", 1, 1, 0, 1)
    raises(ValueError, sl.encode_header, buf, 1, "ok", "0123456789abcdeg", 1, 1, 0, 1)


def test_a_torn_tail_is_dropped_at_every_cut_point():
    data, steps = _log(4)
    starts = []  # offsets where records start
    pos = 0
    while pos < len(data):
        starts.append(pos)
        pos += 4 + data[pos + 1]
    for cut in range(len(data)):
        d = sl.read(data[:cut])
        whole = len([s for s in starts if s < cut and s + 4 + data[s + 1] <= cut])
        assert d["valid_bytes"] == (starts[whole] if whole < len(starts) else len(data)), cut
        assert d["torn"] == (cut != d["valid_bytes"]), cut
        assert len(d["steps"]) == max(0, min(whole - 1, 4)), (cut, whole, len(d["steps"]))
        assert d["end"] is None
        assert d["seq"] == (42 if whole else None)
        assert logread.scan(data[:cut]) == (d["valid_bytes"], False)


def test_a_half_overwritten_record_is_detected_by_its_check():
    data, _ = _log(3)
    hdr = 4 + data[1]
    for k in range(hdr + 24, hdr + 48):  # flip each byte of the second step record
        bad = bytearray(data)
        bad[k] ^= 0x5A
        d = sl.read(bytes(bad))
        assert d["torn"] and len(d["steps"]) == 1 and d["valid_bytes"] == hdr + 24, k


def test_records_out_of_place_end_the_log():
    data, _ = _log(2)
    buf = bytearray(sl.MAX_RECORD)
    step = bytes(buf[:sl.encode_step(buf, 9, 1, 0, 1, 1, 0, 1, 1, 1)])
    hdr = bytes(buf[:sl.encode_header(buf, 5, "x", HASH, 1, 1, 0, 1)])
    d = sl.read(data + step)  # a step after the end
    assert d["torn"] and len(d["steps"]) == 2 and d["end"] == "done"
    d = sl.read(step + data)  # no header first
    assert d["torn"] and d["seq"] is None and d["steps"] == []
    d = sl.read(hdr + hdr)  # a second header
    assert d["torn"] and d["seq"] == 5
    unknown = bytearray(b"Z\x03abc\x00\x00")
    unknown[5:7] = (sl.check(unknown, 5)).to_bytes(2, "little")
    d = sl.read(data[:-13] + bytes(unknown) + data[-13:])  # a newer record type: skipped
    assert not d["torn"] and d["end"] == "done" and len(d["steps"]) == 2


def test_garbage_never_raises():
    rng = _Rng(12345)
    data, _ = _log(5, resume_at=2)
    n = 0
    for trial in range(1500):
        kind = trial % 4
        if kind == 0:
            blob = rng.bytes(rng.below(200))
        elif kind == 1:  # mutate a valid log
            b = bytearray(data)
            for _ in range(1 + rng.below(4)):
                b[rng.below(len(b))] = rng.below(256)
            blob = bytes(b)
        elif kind == 2:  # splice pieces of logs
            a = rng.below(len(data))
            blob = data[:a] + data[rng.below(len(data)):]
        else:  # a plausible record head with random payload
            blob = data[:43] + bytes([0x53, rng.below(256)]) + rng.bytes(rng.below(60))
        d = sl.read(blob)
        assert isinstance(d, dict) and isinstance(d["steps"], list)
        assert d["valid_bytes"] <= len(blob) and d["torn"] == (d["valid_bytes"] < len(blob))
        v, ended = logread.scan(blob)
        assert v == d["valid_bytes"] and ended == (d["end"] is not None), (blob, v, d)
        n += 1
    for odd in (b"", None, "text", 5, bytearray(b"H\x01"), memoryview(data), [1, 2]):
        d = sl.read(odd)
        assert isinstance(d, dict)
    assert not sl.read(memoryview(data))["torn"]
    assert sl.read(b"")["torn"] is False
    assert n == 1500


def test_the_writer_commits_each_record_to_the_file():
    path = "/tmp/ht-sl-%s.log" % "".join("%02x" % b for b in os.urandom(6))
    try:
        w = sl.Writer(path)
        assert w.header(3, "easy-hamstring", HASH, 1, 10, 0, 2) == 32 + 14 + 8
        assert w.step(0, 1, 0, 1, 1, 0, 1000, 900, 0) == 24
        with open(path, "rb") as f:
            assert len(f.read()) == 54 + 24  # on disk as soon as the call returned
        w.step(1, 1, 0, 1, 2, 0, 1000, 1000, 1500, sl.DISCOMFORT | sl.ENDED, 2)
        w.end("ended", 1900, 2500)
        assert w.ended and w.records == 4 and w.bytes == 54 + 24 + 24 + 13
        with open(path, "rb") as f:
            d = sl.read(f.read())
        assert d["end"] == "ended" and d["steps"][1]["ended"] and d["steps"][1]["pauses"] == 2
    finally:
        try:
            os.remove(path)
        except OSError:
            pass


class _FailingFile:
    """A file that takes only part of what is written, then raises (the flash filled up)."""

    def __init__(self, state):
        self.state = state

    def write(self, b):
        if self.state["fail"]:
            self.state["sink"] += bytes(b)[:5]
            raise OSError(28)
        self.state["sink"] += bytes(b)
        return len(b)

    def close(self):
        pass


def test_a_failed_write_is_repaired_before_the_next_record():
    state = {"fail": False, "repairs": 0, "sink": b""}

    def opener():
        return _FailingFile(state)

    def repair():
        state["repairs"] += 1
        state["sink"] = state["sink"][:logread.scan(state["sink"])[0]]

    w = sl.Writer(opener, repair)
    w.header(1, "x", HASH, 1, 1, 0, 3)
    w.step(0, 1, 0, 1, 1, 0, 10, 10, 0)
    state["fail"] = True
    raises(OSError, w.step, 1, 1, 0, 1, 2, 0, 10, 10, 10)
    assert sl.read(state["sink"])["torn"]
    state["fail"] = False
    w.step(1, 1, 0, 1, 2, 0, 10, 10, 10)
    w.end("done", 20, 20)
    d = sl.read(state["sink"])
    assert state["repairs"] == 1 and not d["torn"] and len(d["steps"]) == 2 and d["end"] == "done", (state["repairs"], d)


def test_every_session_gets_its_own_random_uid_and_a_version_1_header_still_reads():
    buf = bytearray(sl.MAX_RECORD)
    uids = set()
    for k in range(20):
        n = sl.encode_header(buf, 1, "easy-hamstring", HASH, 1, 2, 0, 3)  # the same seq every time
        uids.add(sl.read(bytes(buf[:n]))["uid"])
    assert len(uids) == 20
    n = sl.encode_header(buf, 1, "a", HASH, 1, 2, 0, 3, uid=b"\x01" * 8)
    assert sl.read(bytes(buf[:n]))["uid"] == "01" * 8
    # A version 1 header (no uid), as firmware before issue 9 wrote it.
    payload = bytearray(29)
    import struct
    import binascii
    struct.pack_into("<BI8sIIIHB", payload, 0, 1, 5, binascii.unhexlify(HASH), 1, 2, 0, 3, 1)
    payload[28] = 97
    rec = bytearray([sl.HEADER, len(payload)]) + payload
    rec += struct.pack("<H", binascii.crc32(rec) & 0xFFFF)
    d = sl.read(bytes(rec))
    assert (d["version"], d["seq"], d["uid"], d["routine_id"], d["torn"]) == (1, 5, None, "a", False)
    # A version 2 header without room for its uid is not sound.
    rec = bytearray(rec)
    rec[2] = 2
    rec[-2:] = struct.pack("<H", binascii.crc32(rec[:-2]) & 0xFFFF)
    assert sl.read(bytes(rec))["seq"] is None


def test_records_of_a_file_walk_any_length_through_a_small_buffer():
    data, steps = _log(60, resume_at=20)
    path = "/tmp/ht-sl-%s.log" % "".join("%02x" % b for b in os.urandom(6))
    try:
        with open(path, "wb") as f:
            for k in range(12):  # ~17 KB: many times the buffer
                f.write(data)
        with open(path, "rb") as f:
            recs = logwalk.Records(f)
            sessions = []
            while True:
                d = logwalk.fold(recs)
                if d is None:
                    break
                sessions.append(d)
        assert len(sessions) == 12
        whole = logwalk.fold(logwalk.Records(data))
        for d in sessions:
            assert d == dict(whole, stop=d["stop"])
        assert whole["steps"] == 60 and whole["stop"] == len(data) and whole["resumed"] == 1
        assert sessions[-1]["stop"] == 12 * len(data)
    finally:
        os.remove(path)
