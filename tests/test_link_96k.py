"""The USB link at the 96 KB heap the firmware is held to (issue 9): `import link` failed there, so no
sync or pull was possible. The app now makes room for the link handler when the PC talks and no
session runs (the engine and the rare screens are unloaded, and loaded again before a session)."""
import glob
import os
import subprocess
import sys

import pytest

import simdevice as sd

SEEDS = sd.seeds()
EXE = os.path.join(os.path.dirname(sys.executable), "holdtimer")


def cli(env, *args):
    return subprocess.run([EXE] + list(args), capture_output=True, text=True, env=env, timeout=120)


def _session(fs, rid):
    sim = sd.start(fs, script=[(0.5, "long")], heap_kb=96, exit_when_done=True)
    try:
        assert sim.wait(120) == 0, "".join(sim.stderr)[-2000:]
    finally:
        sim.stop()


def test_pull_works_at_96_kb_after_a_power_up_and_a_session_then_runs(tmp_path):
    env = dict(os.environ, HOLDTIMER_HOME=str(tmp_path / "home"))
    rid = "easy-hamstring"
    fs = str(tmp_path / "flash")
    sd.flash_with(fs, [(rid, SEEDS[rid][1])])
    _session(fs, rid)  # a session on an earlier power-up
    link = str(tmp_path / "link")
    sim = sd.start(fs, link=link, speed=50, heap_kb=96)
    try:
        r = cli(env, "pull", "--port", link)
        assert r.returncode == 0 and "pulled 1 new session" in r.stdout, r.stdout + r.stderr
        sim.press("long")  # the link made room; a session loads what it needs again
        sim.wait_for(lambda e: e.kind == "C" and e.name == "session_start", 30)
        sim.press_pending()
        end = sim.wait_for(lambda e: e.kind == "C" and e.name == "session_end", 120)
        assert end.data.split()[0] == "done"
    finally:
        sim.stop()
    names = [e.name for e in sim.cues()]
    assert "crash" not in names and "link_fault" not in names, [e for e in sim.cues() if e.name != "cue"]


@pytest.mark.xfail(strict=True, reason="issue 9, not done: right after a session, on the 64-bit unix port's "
                   "96 KB, the heap is too fragmented for the link's log replies (~540-byte blocks): the "
                   "device answers `err memory` and pull says to replug it, which works (test above)")
def test_pull_works_at_96_kb_right_after_a_session(tmp_path):
    env = dict(os.environ, HOLDTIMER_HOME=str(tmp_path / "home"))
    rid = "easy-hamstring"
    fs = str(tmp_path / "flash")
    sd.flash_with(fs, [(rid, SEEDS[rid][1])])
    link = str(tmp_path / "link")
    sim = sd.start(fs, link=link, speed=50, heap_kb=96)
    try:
        r = cli(env, "pull", "--port", link)
        assert r.returncode == 0, r.stderr
        sim.press("long")
        sim.wait_for(lambda e: e.kind == "C" and e.name == "session_start", 30)
        sim.press_pending()
        sim.wait_for(lambda e: e.kind == "C" and e.name == "session_end", 120)
        r = cli(env, "pull", "--port", link)
        assert "Traceback" not in r.stderr and r.stderr.count("\n") <= 1, r.stderr
        assert r.returncode == 0 and "pulled 1 new session" in r.stdout, r.stdout + r.stderr
    finally:
        sim.stop()


@pytest.mark.xfail(strict=True, reason="issue 9, not done: storing a routine needs the validator (rcheck, "
                   "~30 KB of the 64-bit unix port's heap) next to the link; at 96 KB the device answers "
                   "`err memory` and sync says so in one line")
def test_sync_works_at_96_kb(tmp_path):
    env = dict(os.environ, HOLDTIMER_HOME=str(tmp_path / "home"))
    link = str(tmp_path / "link")
    sim = sd.start(str(tmp_path / "flash"), link=link, speed=50, heap_kb=96)
    try:
        r = cli(env, "sync", "--port", link, *sorted(glob.glob(os.path.join(sd.REPO, "routines", "*.json"))))
        assert "Traceback" not in r.stderr and r.stderr.count("\n") <= 1, r.stderr
        assert r.returncode == 0, r.stderr
    finally:
        sim.stop()
