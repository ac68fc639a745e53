"""`holdtimer export`: CSV and JSON with documented, stable columns; each session exactly once."""
import csv
import io
import json
import os
import re
import subprocess
import sys

import pytest

import reviewgen as g
from holdtimer import review
from holdtimer.commands import export as export_cmd
from holdtimer.store import Store

SERIAL = "E6614103E7"
DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "review.md")

# The column order is a promise to other tools: changing it is a new export version.
SESSION_COLUMNS = (
    "session_id device seq routine_id routine_name routine_hash started_at started_local time_source boot "
    "uptime_ms duration_s planned_steps steps_done steps_skipped completion holds holds_short holds_skipped "
    "discomfort_marks pauses hold_planned_s hold_actual_s end_reason outcome resumed torn pulled_at").split()
STEP_COLUMNS = ("step_pos step_index kind exercise_index exercise set rep side planned_s actual_s skipped "
                "cut_short discomfort pauses offset_s ended_here").split()


@pytest.fixture
def home(tmp_path):
    s = Store(str(tmp_path / "holdtimer.sqlite3"))
    s.add_routine(g.TWICE_DAILY, g.doc_hash(g.TWICE_DAILY))
    s.add_session(g.make_log(g.TWICE_DAILY, 1, wall=int(g.ts(2024, 5, 1, 7)), side_factor={"left": 0.5},
                             discomfort={5}), SERIAL, g.ts(2024, 5, 1, 7), "device")
    s.add_session(g.make_log(g.TWICE_DAILY, 2, stop_after=4, end="ended", skip={3}), SERIAL, None, "unknown")
    s.add_session(g.make_log(g.THREE_A_WEEK, 3), SERIAL, g.ts(2024, 5, 3, 12), "reconstructed")
    s.add_session(g.make_log(g.THREE_A_WEEK, 4, stop_after=0, end="abandoned"), SERIAL, g.ts(2024, 5, 4), "device")
    s.close()
    return tmp_path


def run(home, *args):
    env = dict(os.environ, HOLDTIMER_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "holdtimer", "export"] + list(args), capture_output=True,
                          text=True, env=env, timeout=60)


def test_columns_are_the_documented_stable_ones():
    assert list(review.SESSION_FIELDS) == SESSION_COLUMNS
    assert list(review.STEP_FIELDS) == STEP_COLUMNS
    doc = open(DOCS, encoding="utf-8").read()
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", doc, re.M))
    assert set(SESSION_COLUMNS + STEP_COLUMNS) <= documented, set(SESSION_COLUMNS + STEP_COLUMNS) - documented


def test_csv_has_one_row_per_step_with_the_session_repeated(home):
    r = run(home, "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == SESSION_COLUMNS + [("step_" + c if c in SESSION_COLUMNS else c) for c in STEP_COLUMNS]
    assert len(set(rows[0])) == len(rows[0]), "every CSV header is unique"
    body = [dict(zip(rows[0], row)) for row in rows[1:]]
    n1 = len(list(g.plan.steps(g.TWICE_DAILY)))
    n3 = len(list(g.plan.steps(g.THREE_A_WEEK)))
    assert len(body) == n1 + 4 + n3 + 1  # the session without steps has one row with empty step columns
    by_seq = {}
    for row in body:
        by_seq.setdefault(row["seq"], []).append(row)
    assert sorted(by_seq) == ["1", "2", "3", "4"]
    first = by_seq["1"]
    assert {row["session_id"] for row in first} == {first[0]["session_id"]}
    assert first[0]["started_at"] == "2024-05-01T%s" % first[0]["started_at"][11:] and first[0]["time_source"] == "device"
    assert first[1]["kind"] == "hold" and first[1]["side"] == "left" and first[1]["planned_s"] == "30.0"
    assert first[1]["actual_s"] == "15.0" and first[1]["cut_short"] == "1" and first[1]["exercise"] == "Hamstring"
    assert first[0]["routine_name"] == "Back basics" and first[0]["completion"] == "1.0"
    assert [row["discomfort"] for row in first].count("1") == 1
    unknown = by_seq["2"]
    assert unknown[0]["started_at"] == "" and unknown[0]["time_source"] == "unknown"
    assert unknown[0]["end_reason"] == "ended" and unknown[3]["skipped"] == "1"
    empty = by_seq["4"]
    assert len(empty) == 1 and empty[0]["step_pos"] == "" and empty[0]["outcome"].startswith("abandoned")


def test_json_has_a_sessions_list_each_with_its_steps(home, tmp_path):
    out = tmp_path / "x.json"
    r = run(home, "--format", "json", "-o", str(out))
    assert r.returncode == 0 and "exported 4 sessions" in r.stderr
    doc = json.loads(out.read_text())
    assert doc["format"] == "holdtimer-export" and doc["version"] == 1
    ss = doc["sessions"]
    assert [s["seq"] for s in ss] == [1, 2, 3, 4]  # oldest first; unknown time: after the device's previous
    assert all(list(s)[:len(SESSION_COLUMNS)] == SESSION_COLUMNS and list(s)[-1] == "steps" for s in ss)
    assert all(list(t) == STEP_COLUMNS for s in ss for t in s["steps"])
    s2 = next(s for s in ss if s["seq"] == 2)
    assert s2["started_at"] is None and s2["steps"][3]["skipped"] is True and s2["torn"] is False
    assert ss[0]["steps"][1]["side"] == "left" and ss[0]["hold_actual_s"] < ss[0]["hold_planned_s"]
    assert len({s["session_id"] for s in ss}) == 4


def test_filters_by_routine_and_date(home):
    doc = json.loads(run(home, "--format", "json", "--routine", "hips").stdout)
    assert [s["seq"] for s in doc["sessions"]] == [3, 4]
    doc = json.loads(run(home, "--format", "json", "--since", "2024-05-02").stdout)
    assert [s["seq"] for s in doc["sessions"]] == [3, 4]  # unknown time is left out when dates are given
    doc = json.loads(run(home, "--format", "json", "--until", "2024-05-01").stdout)
    assert [s["seq"] for s in doc["sessions"]] == [1]


def test_export_errors_are_one_line(home, tmp_path):
    r = run(home, "--format", "xml")
    assert r.returncode == 2 and "invalid choice" in r.stderr
    r = run(home, "--format", "csv", "-o", str(tmp_path / "no" / "such" / "dir" / "x.csv"))
    assert r.returncode == 1 and "cannot write" in r.stderr and "Traceback" not in r.stderr
    r = run(home, "--format", "csv", "--since", "yesterdayish")
    assert r.returncode == 1 and "YYYY-MM-DD" in r.stderr


def test_records_match_the_store_exactly_once(tmp_path):
    s = Store(str(tmp_path / "h.sqlite3"))
    g.fill(s, 5, __import__("datetime").date(2024, 5, 1))
    s.add_session(g.make_log(g.TWICE_DAILY, 1), SERIAL, None, "unknown")  # a repeat: ignored
    recs = export_cmd.records(s)
    assert len(recs) == 10 == s.count()
    assert sum(len(r["steps"]) for r in recs) == s.db.execute("SELECT COUNT(*) FROM steps").fetchone()[0]
    s.close()
