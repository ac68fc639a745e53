"""A pull cut at every frame boundary (and half way through a frame), then run again: the store
has every session exactly once and the device deletes nothing the store has not committed."""
import shutil

import link as fwlink
import reviewgen as g
import sessionlog
import storage as fwstorage
from holdtimer import link as hostlink
from holdtimer.commands import pull as pull_cmd
from holdtimer.errors import UserError
from holdtimer.store import Store
from test_link_host import Cut, Loop


class App:
    def __init__(self, dev):
        self.dev = dev

    def info(self):
        return {"serial": "CUTSERIAL", "boot": self.dev.boot(), "uptime": 3_000_000, "clock": 0, "session": False}

    def busy(self):
        return False

    def set_clock(self, epoch):
        pass


def make_device(path, n=3):
    dev = fwstorage.Storage(str(path))
    dev.boot()
    h = g.doc_hash(g.TWICE_DAILY)
    for k in range(n):
        log = g.make_log(g.TWICE_DAILY, 0, wall=int(g.ts(2024, 5, 1 + k, 7)), discomfort={2})
        w = dev.new_log("back-basics", h, 1000 * (k + 1), log["wall"], log["planned_steps"])
        for s in log["steps"]:
            flags = (1 if s["skipped"] else 0) | (2 if s["discomfort"] else 0)
            w.step(s["i"], s["kind"], s["ex"], s["set"], s["rep"], s["side"], s["planned_ms"], s["actual_ms"],
                   s["offset_ms"], flags, s["pauses"])
        last = log["steps"][-1]
        w.end("done", sum(s["actual_ms"] for s in log["steps"]), last["offset_ms"] + last["actual_ms"])
    return dev


def test_a_pull_cut_at_every_frame_boundary_stores_each_session_exactly_once(tmp_path):
    template = tmp_path / "template"
    make_device(template)
    # how many frames a whole pull takes
    dev = fwstorage.Storage(str(template))
    t = Loop(fwlink.DeviceLink(dev, App(dev)))
    probe = hostlink.Client(transport=t, timeout=0.05)
    shutil.copytree(template, tmp_path / "probe-flash")
    with Store(str(tmp_path / "probe.sqlite3")) as st:
        pull_cmd.pull(probe, st, sessionlog.read)
    frames = len([w for w in t.writes if w != b"\n"])
    shutil.rmtree(template)
    shutil.copytree(tmp_path / "probe-flash", template)
    assert frames > 6
    cut_outcomes = set()
    for n in range(frames + 1):
        for half in (False, True):
            flash = tmp_path / ("flash-%d-%d" % (n, half))
            shutil.copytree(template, flash)
            dev = fwstorage.Storage(str(flash))
            loop = Loop(fwlink.DeviceLink(dev, App(dev)))
            with Store(str(tmp_path / ("store-%d-%d.sqlite3" % (n, half)))) as st:
                try:
                    pull_cmd.pull(hostlink.Client(transport=Cut(loop, n, half), timeout=0.05), st, sessionlog.read)
                    cut_outcomes.add("finished")
                except UserError:
                    cut_outcomes.add("cut")
                # nothing the store lacks may be marked pulled on the device
                stored = {s["seq"] for s in st.sessions()}
                for name, _size, pulled in dev.logs():
                    if pulled:
                        assert int(name.split(".")[0]) in stored, (n, half, name)
                res = pull_cmd.pull(hostlink.Client(transport=loop, timeout=0.05), st, sessionlog.read)
                seqs = sorted(s["seq"] for s in st.sessions())
                assert seqs == [1, 2, 3], (n, half, seqs, res)
                assert all(p for _n, _s, p in dev.logs())
            shutil.rmtree(flash)
    assert cut_outcomes == {"cut", "finished"}
