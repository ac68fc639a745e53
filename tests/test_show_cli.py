"""`holdtimer show FILE` prints every step of the expanded plan and the total; bad files exit 1 cleanly."""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO, ROUTINES

import plan  # firmware, on sys.path via conftest

SEEDS = sorted(n for n in os.listdir(ROUTINES) if n.endswith(".json")) if os.path.isdir(ROUTINES) else []
STEP_ROW = re.compile(r"^\s+\d+:\d\d(:\d\d)?\s+\d+\s+(\d+|-)\s+(left|right|-)\s+")

DEMO = {"v": 1, "id": "demo", "name": "Demo routine", "src": "test", "freq": {"n": 2, "per": "day"}, "prep": 4,
        "ex": [{"name": "Knee to chest", "cue": "pull gently", "hold": 20, "reps": 2, "sides": "alt",
                "rest": 5, "sets": 2, "srest": 20},
               {"name": "Bridge", "tempo": 3, "reps": 10},
               {"name": "Curl up", "press": True, "reps": 8, "sides": "each", "cue": "slow"}]}


def show(path):
    return subprocess.run([sys.executable, "-m", "holdtimer", "show", str(path)], capture_output=True,
                          text=True, timeout=60, cwd=REPO)


def clock(ms):
    s = ms // 1000
    return "%d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60) if s >= 3600 else "%d:%02d" % (s // 60, s % 60)


def test_show_prints_each_step_with_set_rep_side_time_and_cue(tmp_path):
    p = tmp_path / "demo.json"
    p.write_text(json.dumps(DEMO))
    r = show(p)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    rows = [ln.split(None, 4) for ln in lines if STEP_ROW.match(ln)]
    assert len(rows) == plan.count(DEMO) == 22
    assert rows[0] == ["0:00", "1", "1", "left", "prep                           4 s"]
    assert any(ln.split() == ["0:04", "1", "1", "left", "hold", "20", "s", "pull", "gently"] for ln in lines)
    assert any(ln.split() == ["0:24", "1", "1", "right", "switch", "side", "5", "s"] for ln in lines)
    assert any(ln.split() == ["1:39", "2", "1", "left", "set", "rest", "20", "s"] for ln in lines)
    assert any("10 reps, one every 3 s" in ln and "30 s" in ln for ln in lines)
    assert any("8 reps, press when done" in ln and "your pace" in ln and ln.endswith("slow") for ln in lines)
    assert "1. Knee to chest: hold 20 s, 2 reps, sides alternating, 2 sets" in lines
    assert "   cue: pull gently" in lines
    assert lines[-1] == "total: 4:17 for 3 exercises in 22 steps, plus 2 sets at your own pace"


@pytest.mark.parametrize("name", SEEDS)
def test_show_every_seed_routine(name):
    path = os.path.join(ROUTINES, name)
    with open(path, "rb") as f:
        doc = json.loads(f.read())
    r = show(path)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    too_long = [ln for ln in r.stdout.splitlines() if len(ln) > 80]
    assert not too_long, too_long  # fits an 80-column terminal
    rows = [ln for ln in r.stdout.splitlines() if STEP_ROW.match(ln)]
    assert len(rows) == plan.count(doc)
    for e, ex in enumerate(doc["ex"]):
        assert "\n%d. %s: " % (e + 1, ex["name"]) in r.stdout
    assert ("\ntotal: %s for %d exercise" % (clock(plan.total_ms(doc)), len(doc["ex"]))) in r.stdout


def test_a_file_with_a_syntax_error_exits_1_with_one_line_and_no_traceback(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"v": 1,\n  "id": "x"\n')
    r = show(p)
    assert r.returncode == 1
    assert r.stdout == ""
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(str(p) + ": line "), r.stderr
    assert "Traceback" not in r.stderr


def test_an_invalid_routine_names_each_problem_and_exits_1(tmp_path):
    bad = dict(DEMO, ex=[{"name": "x", "hold": 0}])
    p = tmp_path / "invalid.json"
    p.write_text(json.dumps(bad))
    r = show(p)
    assert r.returncode == 1 and r.stdout == ""
    assert "ex[0].hold" in r.stderr and "Traceback" not in r.stderr


def test_a_missing_file_exits_1_with_one_line(tmp_path):
    r = show(tmp_path / "nope.json")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "no such file" in r.stderr and "Traceback" not in r.stderr
