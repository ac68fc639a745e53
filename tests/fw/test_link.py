"""The device end of the USB link: frames, errors, bounded buffers, routine transfer, busy refusal.

Runs under CPython (pytest) and the MicroPython unix port (tests/fw/mprun.py)."""
import binascii
import json

import rcheck  # noqa: F401 - the validator, compiled now while the heap is empty (192 KB under mprun)
import canon
import link
import logops  # noqa: F401 - storage's log operations, compiled now while the heap is empty
import logwalk  # noqa: F401
import routine
import storage
from linkfakes import FakeApp, FakeStorage

routine.parse(b"{}", "warm-up")  # compile the validator now, on an unfragmented heap (from .py)


def routine_bytes(rid, name="Test", pad=0):
    doc = {"v": 1, "id": rid, "name": name, "src": "test", "freq": {"n": 1, "per": "day"},
           "ex": [{"name": "Hold", "hold": 30, "cue": "x" * min(pad, 16)}] + [
               {"name": "E%d" % i, "hold": 10 + i} for i in range(pad)]}
    return canon.dumps(doc)


def device(**kw):
    st = FakeStorage()
    app = FakeApp()
    return link.DeviceLink(st, app), st, app


def replies(data):
    """Reply frames in data -> [(seq, body)]; every one must be a valid, printable, bounded frame."""
    out = []
    for line in data.split(b"\n")[:-1]:
        assert len(line) <= link.LINE_MAX, len(line)
        assert link.printable(line), line
        out.append(link.decode(line, link.REP))
    assert data == b"" or data.endswith(b"\n")
    return out


class Host:
    """A minimal host end for the tests: numbered requests, parsed replies."""

    def __init__(self, dev):
        self.dev = dev
        self.seq = 100

    def call(self, body):
        self.seq += 1
        r = replies(self.dev.feed(link.encode(link.REQ, self.seq, body)))
        assert len(r) == 1 and r[0][0] == self.seq, r
        word, _, rest = r[0][1].partition(" ")
        if word == "ok":
            return json.loads(rest)
        assert word == "err", r
        self.error = rest
        return ("err", rest.split(" ")[0])

    def put(self, rid, data, chunk=link.CHUNK_MAX, commit=True):
        r = self.call("put %s %d %s" % (rid, len(data), link.crc(data)))
        if r != {}:
            return r
        for off in range(0, len(data), chunk):
            r = self.call("chunk %d %s" % (off, binascii.b2a_base64(data[off:off + chunk])[:-1].decode()))
            if isinstance(r, tuple):
                return r
        return self.call("commit") if commit else r


# -- codec ------------------------------------------------------------------------------------
def test_frame_round_trip_and_checksum():
    for seq, body in ((1, "hello 1"), (65535, "ls 0"), (7, 'ok {"a": [1, "x y"]}'), (0, "err crc bad checksum")):
        f = link.encode(link.REP, seq, body)
        assert f.endswith(b"\n") and link.printable(f[:-1])
        assert link.decode(f[:-1], link.REP) == (seq, body)
        assert link.decode(f[:-1] + b"\r", link.REP) == (seq, body)  # CRLF line endings are fine
    f = link.encode(link.REQ, 9, "ls 0")[:-1]
    e = raises(link.FrameError, link.decode, f[:-1] + (b"0" if f[-1:] != b"0" else b"1"), link.REQ)
    assert e.args[:2] == ("crc", 9)
    e = raises(link.FrameError, link.decode, f.replace(b"ls", b"lt"), link.REQ)
    assert e.args[:2] == ("crc", 9)
    assert raises(link.FrameError, link.decode, f, link.REP).args[0] == "frame"  # wrong direction
    for junk in (b"hello", b">x ls 00000000", b">1", b"> 1 ls 00000000", b">1234567 ls 00000000",
                 b">70000 ls " + link.crc(b">70000 ls").encode()):
        assert raises(link.FrameError, link.decode, junk, link.REQ).args[0] == "frame", junk
    assert raises(link.FrameError, link.decode, b">1 ls \x03", link.REQ).args[0] == "frame"
    assert raises(link.FrameError, link.decode, b"x" * 601, link.REQ).args[0] == "long"


def raises(exc, fn, *args):
    try:
        fn(*args)
    except exc as e:
        return e
    raise AssertionError("%s not raised" % exc.__name__)


# -- errors on the device ---------------------------------------------------------------------
def test_text_that_is_not_a_request_is_ignored_bad_requests_get_error_replies():
    dev, st, app = device()
    good = link.encode(link.REQ, 5, "ls 0")
    bad = good[:-3] + (b"0" if good[-3:-2] != b"0" else b"1") + b"\n"
    r = replies(dev.feed(b"random garbage\n" + bytes(range(256)).replace(b"\n", b"") + b"\n" + bad + b"\x03\x03\n"
                         + b">x\n" + b">" + bytes(range(1, 256)).replace(b"\n", b"") + b"\n" + good))
    assert [x[1].split(" ")[:2] for x in r] == [["err", "crc"], ["err", "frame"], ["err", "frame"], ["ok", '{"r":[],"next":null}']]
    assert r[0][0] == 5 and r[3][0] == 5
    assert dev.ignored == 3
    assert Host(dev).call("hello 1")["proto"] == link.PROTO


def test_unknown_command_and_bad_arguments():
    dev, st, app = device()
    h = Host(dev)
    assert h.call("format flash") == ("err", "unknown")
    assert h.call("import os") == ("err", "unknown")
    assert h.call("read ../../etc/passwd 0 10") == ("err", "args")
    assert h.call("read a.log x 10") == ("err", "args")
    assert h.call("read a.log 0 100000") == ("err", "args")
    assert h.call("put BAD_ID 10 00000000") == ("err", "args")
    assert h.call("put " + "a" * 33 + " 10 00000000") == ("err", "args")
    assert h.call("put ok 5000 00000000") == ("err", "args")
    assert h.call("del ../x") == ("err", "args")
    assert h.call("clock soon") == ("err", "args")
    assert h.call("clock 5") == ("err", "args")
    assert h.call("ls") == {"r": [], "next": None}


def test_empty_lines_and_echoed_replies_are_not_answered():
    dev, st, app = device()
    assert dev.feed(b"\n\r\n\n") == b""
    assert dev.feed(link.encode(link.REP, 3, "ok {}")) == b""  # our own output echoed back


def test_overlong_line_is_discarded_up_to_its_newline_and_answered_once():
    dev, st, app = device()
    r = replies(dev.feed(b">1 ls " + b"a" * 2000 + b"\n" + link.encode(link.REQ, 2, "ls 0")))
    assert r[0] == (0, "err long line longer than 600 bytes") and r[1][0] == 2 and len(r) == 2
    assert dev.feed(b"x" * 2000 + b"\n") == b""  # long text that is not a request: ignored too


def test_buffer_stays_bounded_whatever_arrives():
    dev, st, app = device()
    most = 0
    seed = 12345
    sent = 0
    while sent < 100000:  # 100 KB of junk in uneven pieces, few newlines, binary bytes included
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        n = 1 + seed % 700
        piece = bytes((seed >> (i % 23)) & 0xFF for i in range(n))
        if seed % 7:
            piece = piece.replace(b"\n", b"x")
        out = dev.feed(piece)
        replies(out)
        most = max(most, dev.pending())
        sent += n
    assert most <= link.LINE_MAX + 1, most
    dev.feed(b"\n")
    assert Host(dev).call("ls 0") == {"r": [], "next": None}
    junk = b"y" * 1000
    dev.feed(b">")
    for i in range(100):
        assert dev.feed(junk) == b"" and dev.pending() == 0  # discarding, holds nothing
    assert replies(dev.feed(b"\n"))[0][1].startswith("err long")


def test_frames_split_anywhere_are_reassembled():
    dev, st, app = device()
    data = link.encode(link.REQ, 11, "hello 1") + link.encode(link.REQ, 12, "ls 0")
    out = b""
    for i in range(len(data)):
        out += dev.feed(data[i:i + 1])
    assert [r[0] for r in replies(out)] == [11, 12]


def test_hello_reports_the_device():
    dev, st, app = device()
    app.session = True
    h = Host(dev).call("hello 1")
    assert h["proto"] == link.PROTO and h["serial"] == "E66038B713849D31" and h["session"] is True
    assert h["free"] == 1000000 and h["clock"] is None and h["boot"] == 3
    assert h["limits"] == [link.LINE_MAX, link.CHUNK_MAX, link.ROUTINE_MAX]

    class App(FakeApp):  # the app's own spelling: "uptime", clock 0 while not set
        def info(self):
            return {"fw": "1", "serial": "S", "uptime": 5000, "clock": 0, "session": False}

    h = Host(link.DeviceLink(st, App())).call("hello 1")
    assert h["uptime_ms"] == 5000 and "uptime" not in h and h["clock"] is None


# -- routines -----------------------------------------------------------------------------------
def test_put_in_chunks_then_commit_stores_the_exact_bytes():
    dev, st, app = device()
    h = Host(dev)
    data = routine_bytes("big-one", pad=40)
    assert len(data) > 2 * link.CHUNK_MAX
    r = h.put("big-one", data)
    assert r == {"id": "big-one", "hash": canon.content_hash(data)}
    assert st.mem["big-one"] == data
    assert h.call("ls 0") == {"r": [["big-one", canon.content_hash(data), len(data)]], "next": None}
    assert h.call("del big-one") == {"deleted": True} and st.mem == {}
    assert h.call("del big-one") == {"deleted": False}


def test_a_failed_or_unfinished_put_leaves_the_old_routine():
    dev, st, app = device()
    h = Host(dev)
    old, new = routine_bytes("r1", "Old"), routine_bytes("r1", "New", pad=10)
    h.put("r1", old)
    assert h.put("r1", new, commit=False)["got"] == len(new)
    assert h.call("abort") == {} and st.mem["r1"] == old
    assert h.call("commit") == ("err", "state")
    h.call("put r1 %d %s" % (len(new), link.crc(new)))
    h.call("chunk 0 " + binascii.b2a_base64(new[:100])[:-1].decode())
    assert h.call("commit") == ("err", "state") and st.mem["r1"] == old  # incomplete
    assert h.put("r1", new[:-1] + b" ") == ("err", "invalid") and st.mem["r1"] == old  # validator
    h.call("put r1 %d %s" % (len(new), link.crc(old)))
    for off in range(0, len(new), 300):
        h.call("chunk %d %s" % (off, binascii.b2a_base64(new[off:off + 300])[:-1].decode()))
    assert h.call("commit") == ("err", "mismatch") and st.mem["r1"] == old  # corrupted in transit
    assert h.put("r2", routine_bytes("r1")) == ("err", "invalid")  # id in the file differs
    st.fail_write = True
    assert h.put("r1", new) == ("err", "storage") and st.mem["r1"] == old  # flash full / failure
    st.fail_write = False
    h.call("put r1 %d %s" % (len(new), link.crc(new)))
    assert h.call("chunk 100 " + binascii.b2a_base64(new[100:200])[:-1].decode()) == ("err", "state")
    assert h.call("chunk %d %s" % (len(new) - 10, binascii.b2a_base64(new[:100])[:-1].decode())) == ("err", "args")
    assert h.call("chunk 0 !!!!") == ("err", "args")
    assert h.put("r1", new)["hash"] == canon.content_hash(new) and st.mem["r1"] == new


def test_a_repeated_request_gets_the_same_reply_without_being_done_twice():
    dev, st, app = device()
    data = routine_bytes("r1", pad=5)
    dev.feed(link.encode(link.REQ, 40, "put r1 %d %s" % (len(data), link.crc(data))))
    chunk = link.encode(link.REQ, 41, "chunk 0 " + binascii.b2a_base64(data[:200])[:-1].decode())
    first = dev.feed(chunk)
    assert dev.feed(chunk) == first  # the host did not see our reply and sent it again
    assert replies(first)[0][1] == 'ok {"got":200}'
    assert dev.frames == 2


def test_routine_changes_are_refused_during_a_session_but_clock_and_logs_work():
    dev, st, app = device()
    h = Host(dev)
    data = routine_bytes("r1")
    h.put("r1", data)
    st.log["7.log"] = bytearray(b"L" * 1000)
    h.call("put r1 %d %s" % (len(data), link.crc(data)))
    app.session = True
    assert h.call("chunk 0 " + binascii.b2a_base64(data[:10])[:-1].decode()) == ("err", "busy")
    assert h.call("commit") == ("err", "busy")
    assert h.put("r1", data) == ("err", "busy")
    assert h.call("del r1") == ("err", "busy") and "r1" in st.mem
    assert h.call("clock 1767225600") == {"clock": 1767225600} and app.clock == 1767225600
    assert h.call("logs 0") == {"l": [["7.log", 1000, False]], "next": None}
    assert len(binascii.a2b_base64(h.call("read 7.log 0 384")["d"])) == 384
    app.session = False
    assert h.call("commit") == ("err", "state")  # the busy refusal dropped the half-sent routine


def test_logs_are_listed_in_pages_read_in_chunks_and_confirmed():
    dev, st, app = device()
    h = Host(dev)
    for i in range(40):
        st.log["%d.log" % (1000 + i)] = bytearray(bytes([i]) * (50 + i))
    names, start = [], 0
    while start is not None:
        page = h.call("logs %d" % start)
        names += [row[0] for row in page["l"]]
        start = page["next"]
    assert names == sorted(st.log)
    got = b""
    while True:
        d = binascii.a2b_base64(h.call("read 1039.log %d 16" % len(got))["d"])
        if not d:
            break
        got += d
    assert got == bytes([39]) * 89
    assert h.call("confirm 1038.log 80") == {"confirmed": False} and "1038.log" not in st.pulled  # it grew
    assert h.call("confirm 1039.log") == {"confirmed": True} and "1039.log" in st.pulled
    assert h.call("confirm 5.log") == ("err", "notfound")
    assert h.call("read 5.log 0 10") == ("err", "notfound")


def test_many_routines_are_listed_in_pages():
    dev, st, app = device()
    h = Host(dev)
    for i in range(30):
        st.mem["routine-%02d-with-a-long-name-xx" % i] = routine_bytes("x")
    rows, start = [], 0
    while start is not None:
        page = h.call("ls %d" % start)
        rows += page["r"]
        start = page["next"]
    assert [r[0] for r in rows] == sorted(st.mem)


# -- with the real storage ------------------------------------------------------------------------
def _rmtree(path):
    import os

    for name in os.listdir(path):
        p = path + "/" + name
        if os.stat(p)[0] & 0x4000:
            _rmtree(p)
        else:
            os.remove(p)
    os.rmdir(path)


def test_with_the_real_storage_routines_are_validated_replaced_and_deleted():
    import os

    root = "/tmp/holdtimer-link-test-%s" % binascii.hexlify(os.urandom(4)).decode()
    try:
        st = storage.Storage(root)
        dev = link.DeviceLink(st, FakeApp())
        h = Host(dev)
        old, new = routine_bytes("r1", "Old"), routine_bytes("r1", "New", pad=25)
        r = h.put("r1", old)
        assert r == {"id": "r1", "hash": canon.content_hash(old)}, h.error
        assert h.put("r1", b'{"v":1,"id":"r1"}') == ("err", "invalid")
        r = h.put("r1", new)
        assert r == {"id": "r1", "hash": canon.content_hash(new)}, h.error
        assert st.read_routine("r1") == new
        assert h.call("ls 0") == {"r": [["r1", canon.content_hash(new), len(new)]], "next": None}
        assert h.call("del r1") == {"deleted": True} and h.call("del r1") == {"deleted": False}
        assert h.call("logs 0") == {"l": [], "next": None}
        assert h.call("read 1.log 0 10") == ("err", "notfound")
        assert h.call("hello 1")["free"] > 0
    finally:
        _rmtree(root)


def test_a_burst_of_short_text_lines_gets_no_replies_and_each_reply_is_written_as_it_is_made():
    # Issue 9: 80 lines of "x" in one read were answered with 80 error replies joined in memory,
    # which ran a 96 KB heap out of memory in the middle of a session.
    dev, st, app = device()
    writes = []
    assert dev.feed(b"x\n" * 80, writes.append) == b""
    assert writes == [] and dev.ignored == 80
    # Requests, good and bad, are answered one write each, never joined.
    burst = (b">x\n" + link.encode(link.REQ, 7, "ls 0")) * 40
    assert dev.feed(burst, writes.append) == b""
    assert len(writes) == 80 and max(len(w) for w in writes) <= link.LINE_MAX + 1
    assert [w[:1] for w in writes] == [b"<"] * 80
