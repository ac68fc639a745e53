"""Storage on a plain directory (CPython, MicroPython unix port): routines replaced atomically, logs,
the flash-full policy (pulled logs go first, unpulled never), unfinished sessions resumed."""
import gc
import os

import rcheck  # noqa: F401 - the validator, compiled now while the heap is empty (192 KB under mprun)
import sessionlog
import storage
from fwtest import raises, read, seed_files

HASH = "0123456789abcdef"


def _rmtree(path):
    try:
        names = os.listdir(path)
    except OSError:
        try:
            os.remove(path)
        except OSError:
            pass
        return
    for n in names:
        p = path + "/" + n
        if os.stat(p)[0] & 0x4000:
            _rmtree(p)
        else:
            os.remove(p)
    os.rmdir(path)


class _Dir:
    """A fresh directory under /tmp standing for the device's flash."""

    def __enter__(self):
        self.path = "/tmp/ht-st-" + "".join("%02x" % b for b in os.urandom(6))
        os.mkdir(self.path)
        return self.path

    def __exit__(self, *a):
        _rmtree(self.path)
        storage._BOOTS.clear()


def _reboot(root, cls=None):
    """A new Storage as after a power-up (the boot counter is per power-up)."""
    storage._BOOTS.clear()
    return (cls or storage.Storage)(root)


def _seed(i=0):
    f = seed_files()[i]
    return f.rsplit("/", 1)[-1][:-5], read(f)


def _session(st, nsteps, end=True):
    w = st.new_log("easy-hamstring", HASH, 1000, 0, nsteps)
    for i in range(nsteps):
        w.step(i, 1, 0, 1, i + 1, 0, 30000, 30000, i * 31000)
    if end:
        w.end("done", nsteps * 30000, nsteps * 31000)
    return w


def test_a_fresh_root_gets_its_folders_and_counts_boots():
    with _Dir() as root:
        st = _reboot(root + "/flash")
        assert sorted(os.listdir(root + "/flash")) == ["logs", "routines"]
        assert st.boot() == 1 and st.boot() == 1
        assert sorted(os.listdir(root + "/flash")) == ["logs", "routines", "state.json"]
        assert storage.Storage(root + "/flash").boot() == 1  # the app restarted: same power-up
        assert _reboot(root + "/flash").boot() == 2
        assert _reboot(root + "/flash/").boot() == 3
        assert st.routines() == [] and st.logs() == [] and st.unfinished() is None
        assert st.free() > 0


def test_a_routine_is_validated_stored_and_listed_with_its_hash():
    import routine

    with _Dir() as root:
        st = _reboot(root)
        rid, data = _seed(0)
        h = st.put_routine(rid, data)
        assert h == routine.content_hash(data) and len(h) == 16
        assert st.read_routine(rid) == data
        assert st.routines() == [(rid, h, len(data))]
        assert _reboot(root).routines() == [(rid, h, len(data))]  # hashed again from flash
        rid2, data2 = _seed(1)
        st.put_routine(rid2, data2)
        assert [r[0] for r in st.routines()] == sorted([rid, rid2])
        assert st.delete_routine(rid2) and not st.delete_routine(rid2)
        assert [r[0] for r in st.routines()] == [rid]


def test_an_invalid_routine_is_refused_and_the_old_one_kept():
    with _Dir() as root:
        st = _reboot(root)
        rid, data = _seed(0)
        st.put_routine(rid, data)
        for bad in (b"", b"{", b'{"v": 1}', b"\xff\xfe", data[:len(data) // 2], _seed(1)[1]):
            e = raises(ValueError, st.put_routine, rid, bad)  # the last: valid, but another id
            assert str(e), bad
        assert st.read_routine(rid) == data
        assert os.listdir(root + "/routines") == [rid + ".json"]


def test_a_replacement_is_atomic_and_a_stale_temporary_is_cleared_at_boot():
    import routine

    with _Dir() as root:
        st = _reboot(root)
        rid, data = _seed(0)
        data2 = routine.compact(routine.parse(data, "x")[0])  # same routine, other bytes
        assert data2 != data
        st.put_routine(rid, data)
        h2 = st.put_routine(rid, data2)  # replace: same id, other content
        assert st.read_routine(rid) == data2 and st.routines() == [(rid, h2, len(data2))]
        # A power cut after the temporary was written but before the rename: the old file stands
        # and the temporary goes at the next boot.
        with open(root + "/routines/" + rid + ".tmp", "wb") as f:
            f.write(data[:10])
        with open(root + "/logs/7.tmp", "wb") as f:
            f.write(b"H")
        with open(root + "/state.tmp", "wb") as f:
            f.write(b"{")
        st = _reboot(root)
        assert sorted(os.listdir(root + "/routines")) == [rid + ".json"]
        assert os.listdir(root + "/logs") == [] and "state.tmp" not in os.listdir(root)
        assert st.read_routine(rid) == data2


def test_names_from_the_link_cannot_escape_the_root():
    with _Dir() as root:
        st = _reboot(root)
        rid, data = _seed(0)
        for bad in ("", "A", "a" * 33, "../x", "a/b", "x.json", ".", "..", "a b", "é", None, 5):
            raises(ValueError, st.put_routine, bad, data)
            raises(ValueError, st.read_routine, bad)
            raises(ValueError, st.delete_routine, bad)
        assert storage.id_ok("a" * 32) and storage.id_ok("0-9")
        for bad in ("../state.json", "1.log/..", "01.log", "a.log", "1.txt", "/etc/passwd", "1.tmp",
                    "1.LOG", "-1.log", "1 .log", ".log", "12345678901.log", "١.log", None, 3):
            raises(ValueError, st.read_log, bad, 0, 10)
            raises(ValueError, st.confirm_log, bad)
            raises(ValueError, st.resume_log, bad)
            assert storage.log_seq(bad) is None, bad
        assert storage.log_seq("0.log") == (0, False)
        assert storage.log_seq("1234567890.pul") == (1234567890, True)
        raises(OSError, st.read_log, "9.log", 0, 10)
        raises(OSError, st.confirm_log, "9.log")
        raises(OSError, st.read_routine, "nothere")


def test_a_session_log_is_written_listed_read_in_pieces_and_confirmed():
    with _Dir() as root:
        st = _reboot(root)
        w = st.new_log("easy-hamstring", HASH, 5000, 1700000000, 3)
        assert (w.name, w.seq) == ("1.log", 1)
        assert st.logs() == [("1.log", 54, False)]
        assert st.confirm_log("1.log") is False  # being written: stays unpulled
        w.step(0, 1, 0, 1, 1, 1, 30000, 30000, 0)
        w.step(1, 1, 0, 1, 1, 2, 30000, 12000, 31000, sessionlog.SKIPPED)
        w.end("ended", 42000, 43000)
        size = 54 + 24 + 24 + 13
        assert st.logs() == [("1.log", size, False)]
        data = b""
        while True:
            piece = st.read_log("1.log", len(data), 10)
            if not piece:
                break
            assert len(piece) <= 10
            data += piece
        assert len(st.read_log("1.log", 0, 10 ** 6)) == min(size, storage.READ_MAX)
        d = sessionlog.read(data)
        assert (d["seq"], d["boot"], d["wall"], d["end"], len(d["steps"])) == (1, 1, 1700000000, "ended", 2)
        assert st.confirm_log("1.log", size=size + 1) is False
        assert st.confirm_log("1.log") is True
        assert st.logs() == [("1.pul", size, True)]
        assert st.confirm_log("1.log") is True and st.confirm_log("1.pul") is True  # repeated: fine
        assert st.read_log("1.pul", 0, 4096) == data
        w2 = st.new_log("easy-hamstring", HASH, 9000, 0, 1)
        assert w2.seq == 2 and [r[0] for r in st.logs()] == ["1.pul", "2.log"]


def test_seq_numbers_continue_after_reboots_and_a_lost_state_file():
    with _Dir() as root:
        st = _reboot(root)
        for _ in range(3):
            _session(st, 1)
        assert _reboot(root).new_log("x", HASH, 0, 0, 1).seq == 4
        os.remove(root + "/state.json")
        st = _reboot(root)
        assert st.new_log("x", HASH, 0, 0, 1).seq == 5  # from the logs on flash
        assert st.boot() == 1  # the boot count restarts without its file


class _Small(storage.Storage):
    """A flash of `capacity` bytes where each file takes its size rounded up to 4 KB blocks."""

    capacity = 64 * 1024

    def free(self):
        used = 0
        for d in ("/routines", "/logs"):
            for n in os.listdir(self.root + d):
                used += (os.stat(self.root + d + "/" + n)[6] + 4095) // 4096 * 4096
        return self.capacity - used


def test_when_flash_is_full_pulled_logs_go_first_oldest_first_and_unpulled_never():
    with _Dir() as root:
        st = _reboot(root, _Small)
        # 64 KB = 16 blocks of which a new session wants 4 free; sessions share segment files.
        n = 0
        while True:
            try:
                _session(st, 150)
            except storage.Full as e:
                assert isinstance(e, OSError)
                break
            n += 1
            assert n < 100
        segs = sorted(int(x[:-4]) for x in os.listdir(root + "/logs") if x.endswith(".seg"))
        assert len(segs) >= 2 and len(st.logs()) == n and not st.make_room(storage.SESSION_ROOM + 1)
        by_seg = {}
        for name, _size, _p in st.logs():
            seq = int(name[:-4])
            by_seg.setdefault(max(f for f in segs if f <= seq), []).append(name)
        first, second = by_seg[segs[0]], by_seg[segs[1]]
        assert len(first) > 1
        # A segment with one unpulled session is never deleted.
        for name in first[:-1]:
            assert st.confirm_log(name)
        raises(storage.Full, _session, st, 150)
        assert len(st.logs()) == n
        for name in second:
            assert st.confirm_log(name)
        w = _session(st, 150)  # made room: deleted the one segment whose every session is pulled
        names = [r[0] for r in st.logs()]
        assert not set(x[:-4] + ".pul" for x in second) & set(names), names
        assert [x[:-4] + ".pul" for x in first[:-1]] == [x for x in names if x.endswith(".pul")]
        assert w.seq == n + 1
        assert st.confirm_log(first[-1])
        free = st.free()
        assert st.make_room(free + 1)  # now the oldest segment can go
        names = [r[0] for r in st.logs()]
        assert not [x for x in names if x.endswith(".pul")] and st.free() > free
        w = _session(st, 150)
        unpulled = [r[0] for r in st.logs() if not r[2]]
        assert len(unpulled) == n + 2 - len(first) - len(second)
        for name in unpulled:  # every unpulled log is whole
            assert st.session(name)["end"] == "done"
        st.capacity = 0  # now really full: a routine is refused, nothing half written
        rid, data = _seed(0)
        raises(OSError, st.put_routine, rid, data)
        assert os.listdir(root + "/routines") == []


def test_an_unfinished_session_is_found_at_boot_and_resumed():
    with _Dir() as root:
        st = _reboot(root)
        _session(st, 2)
        w = _session(st, 3, end=False)  # power cut during the fourth step
        assert w.name == "2.log"
        st = _reboot(root)
        assert st.unfinished() == "2.log"
        d = st.session("2.log")
        assert len(d["steps"]) == 3 and d["end"] is None and not d["torn"]
        w = st.resume_log("2.log")
        w.resume(st.boot(), 300, 0, 3, 93000)
        w.step(3, 1, 0, 1, 4, 0, 30000, 30000, 93000)
        assert st.unfinished() == "2.log"
        w.end("done", 120000, 123000)
        assert st.unfinished() is None and _reboot(root).unfinished() is None
        d = st.session("2.log")
        assert [s["i"] for s in d["steps"]] == [0, 1, 2, 3] and d["end"] == "done" and not d["torn"]
        assert d["resumed"][0]["boot"] == 2 and d["resumed"][0]["i"] == 3


def test_a_torn_tail_is_cut_off_before_a_session_goes_on():
    with _Dir() as root:
        st = _reboot(root)
        _session(st, 2, end=False)
        good = st.logs()[0][1]
        with open(root + "/logs/1.seg", "ab") as f:
            f.write(b"S\x14\x03\x00\x01")  # a record cut short by the power cut
        st = _reboot(root)
        assert st.unfinished() == "1.log" and not st.session("1.log")["torn"]  # the log is what is sound
        assert os.stat(root + "/logs/1.seg")[6] == good + 5
        w = st.resume_log("1.log")
        assert st.logs()[0][1] == good  # rewritten without the torn tail
        w.resume(2, 0, 0, 2, 62000)
        w.step(2, 1, 0, 1, 3, 0, 30000, 30000, 62000)
        w.end("done", 90000, 92000)
        d = st.session("1.log")
        assert not d["torn"] and len(d["steps"]) == 3 and d["end"] == "done"
        assert os.listdir(root + "/logs") == ["1.seg"]


def test_a_declined_resumption_closes_the_log_and_a_pulled_one_can_still_resume():
    with _Dir() as root:
        st = _reboot(root)
        _session(st, 2, end=False)
        st = _reboot(root)
        assert st.finish(st.unfinished()) is True
        d = st.session("1.log")
        assert (d["end"], d["total_ms"], d["end_offset_ms"]) == ("abandoned", 60000, 61000)
        assert st.unfinished() is None and st.finish("1.log") is False
        # An unfinished log the PC pulled before it was resumed: unpulled again once it grows.
        _session(st, 1, end=False)
        assert _reboot(root).confirm_log("2.log")
        st = _reboot(root)
        assert st.unfinished() is None  # pulled: not offered, but resumable by name
        w = st.resume_log("2.pul")
        w.end("done", 1, 1)
        assert ("2.log", 54 + 24 + 13, False) in st.logs()


def test_empty_or_headerless_logs_are_not_offered_for_resumption():
    with _Dir() as root:
        st = _reboot(root)
        _session(st, 1, end=False)
        with open(root + "/logs/5.log", "wb") as f:
            f.write(b"junk")
        with open(root + "/logs/6.log", "wb") as f:
            pass
        assert _reboot(root).unfinished() == "1.log"
        assert _reboot(root).new_log("x", HASH, 0, 0, 1).seq == 7


def test_the_crash_log_is_bounded_and_never_raises():
    with _Dir() as root:
        st = _reboot(root)
        st.boot()
        for i in range(60):
            assert st.crash("Traceback %d\n" % i + "x" * 200) is True
        data = read(root + "/crash.log")
        assert len(data) <= storage.CRASH_MAX and b"Traceback 59" in data and b"Traceback 0\n" not in data
        assert b"-- boot 1" in data
        gc.collect()
        assert st.crash(b"\xff" * 5000) is True and len(read(root + "/crash.log")) <= storage.CRASH_MAX
        assert storage.Storage(root + "/crash.log/x").crash("no such folder") is False


def test_a_log_longer_than_32_kb_resumes_at_its_next_step_and_its_torn_tail_is_cut():
    # Issue 9: only the first 32 KB of an unfinished log were read: a longer one resumed at the wrong
    # step and kept its torn tail. Walks read through a small buffer now, at any length.
    with _Dir() as root:
        st = _reboot(root)
        _session(st, 3)
        w = _session(st, 1500, end=False)  # 36 KB of steps, then the power is cut mid-record
        seg = root + "/logs/" + [n for n in os.listdir(root + "/logs") if n.endswith(".seg")][0]
        good = os.stat(seg)[6]
        assert good > 32768 + 100
        with open(seg, "ab") as f:
            f.write(b"S\x14\x03\x00\x01\x02")
        st = _reboot(root)
        assert st.unfinished() == w.name
        rp = st.resume_point(w.name)
        assert rp[3] == 1500 and rp[5] == 1500 and rp[4] == 1499 * 31000 + 30000, rp
        w2 = st.resume_log(w.name)
        assert os.stat(seg)[6] == good  # the torn tail is gone, every sound record kept
        w2.resume(st.boot(), 0, 0, rp[3], rp[4])
        w2.end("done", 1, rp[4])
        d = st.fold(w.name)
        assert (d["steps"], d["end"], d["resumed"]) == (1500, "done", 1)
        assert st.unfinished() is None
