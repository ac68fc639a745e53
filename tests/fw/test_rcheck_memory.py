# Issue 9: a real out-of-memory while a routine is checked is MemoryError all the way up, never an
# "internal validator error" or an invalid routine: routine.parse and storage.put_routine raise it,
# and the link's `commit` answers `err memory` (nothing stored, the old routine kept).
# Runs under CPython (pytest) and the MicroPython unix port (tests/fw/mprun.py).
import binascii
import os

import rcheck  # the validator first: compiled from .py while the heap is empty (192 KB under mprun)
import canon  # noqa: E402
import link  # noqa: E402
import logops  # noqa: E402,F401 - compiled now, before the heap fragments
import routine  # noqa: E402
import storage  # noqa: E402
from fwtest import raises
from linkfakes import FakeApp

GOOD = (b'{"ex":[{"hold":30,"name":"Knee"}],"freq":{"n":1,"per":"day"},"id":"r1","name":"T","src":"test",'
        b'"v":1}')


class _OutOfMemory:
    """Makes one of rcheck's functions raise MemoryError while it is in place."""

    def __init__(self, obj, attr):
        self.obj, self.attr = obj, attr

    def __enter__(self):
        self.old = getattr(self.obj, self.attr)

        def boom(*a, **kw):
            raise MemoryError("memory allocation failed, allocating 4096 bytes")

        setattr(self.obj, self.attr, boom)

    def __exit__(self, *exc):
        setattr(self.obj, self.attr, self.old)
        return False


DUP = GOOD.replace(b'"v":1}', b'"v":1,"v":1}')  # an error with a line:column: _linecol is reached
# (where the heap runs out, a routine that reaches it)
PLACES = ((rcheck, "_check", GOOD), (rcheck, "_linecol", DUP), (rcheck, "_bad_utf8", GOOD),
          (rcheck._Parser, "obj", GOOD), (rcheck._Parser, "string", GOOD), (rcheck, "_text", GOOD),
          (rcheck._Parser, "member", DUP))


def test_parse_raises_memory_error_wherever_it_happens():
    for obj, attr, data in PLACES:
        with _OutOfMemory(obj, attr):
            raises(MemoryError, routine.parse, data, "r1.json")
            raises(MemoryError, rcheck.parse, data, "r1.json")
    assert routine.parse(GOOD, "r1.json")[1] == []  # and all is well again
    assert "duplicate key" in routine.parse(DUP, "r1.json")[1][0]


def test_other_failures_are_still_one_error_line():
    old = rcheck._check

    def broken(*a):
        raise KeyError("x")

    rcheck._check = broken
    try:
        doc, errs = routine.parse(GOOD, "r1.json")
    finally:
        rcheck._check = old
    assert doc is None and errs == ["r1.json: top: internal validator error (KeyError); please report it"], errs


def _root():
    return "/tmp/holdtimer-rmem-%s" % binascii.hexlify(os.urandom(4)).decode()


def _rmtree(path):
    for name in os.listdir(path):
        p = path + "/" + name
        if os.stat(p)[0] & 0x4000:
            _rmtree(p)
        else:
            os.remove(p)
    os.rmdir(path)


def _call(dev, seq, body):
    out = dev.feed(link.encode(link.REQ, seq, body))
    assert out.endswith(b"\n") and out.count(b"\n") == 1, out
    got = link.decode(out[:-1], link.REP)
    assert got[0] == seq, got
    return got[1]


def _put(dev, rid, data, seq):
    assert _call(dev, seq, "put %s %d %s" % (rid, len(data), link.crc(data))) == "ok {}"
    b64 = binascii.b2a_base64(data)[:-1].decode()
    assert _call(dev, seq + 1, "chunk 0 %s" % b64).startswith("ok ")
    return _call(dev, seq + 2, "commit")


def test_storage_and_link_answer_out_of_memory_as_memory_end_to_end():
    root = _root()
    try:
        st = storage.Storage(root)
        old = GOOD.replace(b'"name":"T"', b'"name":"Old"')
        dev = link.DeviceLink(st, FakeApp())
        assert _put(dev, "r1", old, 10) == 'ok {"id":"r1","hash":"%s"}' % canon.content_hash(old)
        for i in range(len(PLACES)):
            obj, attr, data = PLACES[i]
            with _OutOfMemory(obj, attr):
                raises(MemoryError, st.put_routine, "r1", data)
                reply = _put(dev, "r1", data, 20 + 3 * i)
            assert reply.startswith("err memory "), (attr, reply)
            assert st.read_routine("r1") == old  # nothing replaced
        # an invalid routine is still `err invalid`, and a good one goes in afterwards
        assert _put(dev, "r1", b'{"v":1,"id":"r1"}', 60).startswith("err invalid ")
        assert _put(dev, "r1", DUP, 63).startswith("err invalid ")
        assert _put(dev, "r1", GOOD, 70) == 'ok {"id":"r1","hash":"%s"}' % canon.content_hash(GOOD)
        assert st.read_routine("r1") == GOOD
    finally:
        _rmtree(root)
