"""End to end over a real pseudo-terminal: sync the seed routines to the simulated device, run a
session on it, pull the log into the store, find it in history and in both exports."""
import csv
import glob
import io
import json
import os
import subprocess
import sys
import threading

import simdevice as sd

EXE = os.path.join(os.path.dirname(sys.executable), "holdtimer")


def cli(env, *args):
    r = subprocess.run([EXE] + list(args), capture_output=True, text=True, env=env, timeout=120)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def test_sync_run_pull_review_over_the_simulated_link(tmp_path):
    env = dict(os.environ, HOLDTIMER_HOME=str(tmp_path / "home"))
    link = str(tmp_path / "link")
    routines = sorted(glob.glob(os.path.join(sd.REPO, "routines", "*.json")))
    # The device's clock is paced (the PC talks to it in wall-clock time), so the session must not
    # be able to end before the test has tried the prune: the first routine has a press-when-done
    # set, and nobody presses it until `go` is set.
    go = threading.Event()
    sim = sd.start(str(tmp_path / "flash"), link=link, speed=100, heap_kb=192, press_on_wait=go.is_set)
    try:
        r = cli(env, "sync", "--port", link, *routines)
        assert r.returncode == 0, r.stderr
        assert "sent 5" in r.stdout and "clock set" in r.stdout
        r = cli(env, "sync", "--port", link, *routines)
        assert r.returncode == 0 and "nothing changed" in r.stdout, r.stdout + r.stderr
        r = cli(env, "pull", "--port", link)
        assert r.returncode == 0 and "0 new" in r.stdout, r.stdout + r.stderr

        sim.press("long")  # starts the first routine of the menu
        start = sim.wait_for(lambda e: e.kind == "C" and e.name == "session_start", 30)
        rid = start.data.split()[0]
        assert any(ex.get("press") for ex in sd.seeds()[rid][0]["ex"]), rid
        r = cli(env, "sync", "--port", link, "--prune", routines[0])
        assert r.returncode != 0 and "session" in r.stderr, r.stdout + r.stderr
        assert not [e for e in sim.cues() if e.name == "session_end"]
        go.set()
        sim.press_pending()
        sim.wait_for(lambda e: e.kind == "C" and e.name == "session_end", 120)

        r = cli(env, "pull", "--port", link)
        assert r.returncode == 0 and "pulled 1 new session" in r.stdout, r.stdout + r.stderr
        r = cli(env, "pull", "--port", link)
        assert r.returncode == 0 and "pulled 0 new" in r.stdout, r.stdout + r.stderr
    finally:
        sim.stop()

    r = cli(env, "history")
    assert r.returncode == 0
    doc = sd.seeds()[rid][0]
    assert doc["name"].split()[0] in r.stdout, r.stdout
    r = cli(env, "export", "--format", "json")
    sessions = json.loads(r.stdout)["sessions"]
    assert len(sessions) == 1
    assert len(sessions[0]["steps"]) == sd.plan.count(doc)
    r = cli(env, "export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == sd.plan.count(doc)
    sid = sessions[0]["session_id"]
    r = cli(env, "history", str(sid))
    assert r.returncode == 0 and doc["ex"][0]["name"] in r.stdout, r.stdout + r.stderr
