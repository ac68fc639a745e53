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


def test_pull_at_96_kb_never_crashes_the_device_and_says_what_happened_in_one_line(tmp_path):
    # Pull at 96 KB works most of the time after a power-up, but not always (on the 64-bit unix port
    # the heap can be too fragmented for the link's replies: the device answers `err memory`). Not
    # done yet (issue 9): what is held here is that the device survives it, the PC says so in one
    # line, and a session runs afterwards.
    env = dict(os.environ, HOLDTIMER_HOME=str(tmp_path / "home"))
    rid = "easy-hamstring"
    fs = str(tmp_path / "flash")
    sd.flash_with(fs, [(rid, SEEDS[rid][1])])
    _session(fs, rid)  # a session on an earlier power-up
    link = str(tmp_path / "link")
    sim = sd.start(fs, link=link, speed=50, heap_kb=96)
    try:
        r = cli(env, "pull", "--port", link)
        assert "Traceback" not in r.stderr and r.stderr.count("\n") <= 1, r.stderr
        assert (r.returncode == 0 and "pulled 1 new session" in r.stdout) or (
            r.returncode == 1 and "ran out of memory" in r.stderr), r.stdout + r.stderr
        sim.press("long")  # the link made room; a session loads what it needs again
        sim.wait_for(lambda e: e.kind == "C" and e.name == "session_start", 30)
        sim.press_pending()
        end = sim.wait_for(lambda e: e.kind == "C" and e.name == "session_end", 120)
        assert end.data.split()[0] == "done"
    finally:
        sim.stop()
    names = [e.name for e in sim.cues()]
    assert "crash" not in names, [e for e in sim.cues() if e.name != "cue"]


def test_pull_works_at_128_kb_after_a_session(tmp_path):
    env = dict(os.environ, HOLDTIMER_HOME=str(tmp_path / "home"))
    rid = "easy-hamstring"
    fs = str(tmp_path / "flash")
    sd.flash_with(fs, [(rid, SEEDS[rid][1])])
    link = str(tmp_path / "link")
    sim = sd.start(fs, link=link, speed=50, heap_kb=128)
    try:
        sim.press("long")
        sim.wait_for(lambda e: e.kind == "C" and e.name == "session_start", 30)
        sim.press_pending()
        sim.wait_for(lambda e: e.kind == "C" and e.name == "session_end", 120)
        r = cli(env, "pull", "--port", link)
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
