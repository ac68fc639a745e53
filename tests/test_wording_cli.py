"""What a user reads: counted words agree with their number, export headers are unique, and a bad
session id is an error on an empty store too."""
import datetime as dt
import json

import reviewgen as g
from holdtimer import cli, review
from holdtimer.commands import export as export_cmd
from holdtimer.commands import history as history_cmd
from holdtimer.commands import report as report_cmd
from holdtimer.store import Store
from holdtimer.words import count

ONE_A_WEEK = {"v": 1, "id": "weekly-one", "name": "Weekly one", "src": "test", "freq": {"n": 1, "per": "week"},
              "ex": [{"name": "Bridge", "tempo": 3, "reps": 1}]}


def holdtimer(capsys, *argv):
    capsys.readouterr()
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out, err


def test_count():
    assert [count(n, "session") for n in (0, 1, 2)] == ["0 sessions", "1 session", "2 sessions"]


def test_one_of_everything_is_singular(tmp_path, capsys):
    p = tmp_path / "one.json"
    p.write_text(json.dumps(ONE_A_WEEK))
    rc, out, err = holdtimer(capsys, "validate", str(p))
    assert rc == 0 and "(1 exercise, " in out
    rc, out, err = holdtimer(capsys, "show", str(p))
    assert rc == 0 and "1 rep, one every 3 s" in out and "1 reps" not in out
    with Store(str(tmp_path / "s.sqlite3")) as st:
        st.add_routine(ONE_A_WEEK, g.doc_hash(ONE_A_WEEK))
        st.add_session(g.make_log(ONE_A_WEEK, 1, wall=g.ts(2024, 5, 1)), "X", g.ts(2024, 5, 1), "device")
        reps = report_cmd.build(st, today=dt.date(2024, 5, 2))
    text = "\n".join(report_cmd.summary(reps[0]))
    assert "1 session from" in text and "1 of 1 planned session done" in text, text
    assert "streak 1 week now, longest 1 week" in text, text
    for word in ("1 sessions", "1 weeks", "1 days", "1 marks", "1 planned sessions"):
        assert word not in text


def test_validate_says_has_for_one_bad_file(tmp_path, capsys):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(ONE_A_WEEK))
    bad.write_text("{")
    rc, out, err = holdtimer(capsys, "validate", str(good), str(bad))
    assert rc == 1 and "holdtimer validate: 1 of 2 files has errors" in err


def test_every_export_header_is_unique(tmp_path):
    import csv
    import io
    with Store(str(tmp_path / "s.sqlite3")) as st:
        st.add_routine(g.TWICE_DAILY, g.doc_hash(g.TWICE_DAILY))
        st.add_session(g.make_log(g.TWICE_DAILY, 1, wall=g.ts(2024, 5, 1), pauses={2: 1}), "X", g.ts(2024, 5, 1), "device")
        recs = export_cmd.records(st)
        f = io.StringIO()
        export_cmd.write_csv(recs, f)
        header = next(csv.reader(io.StringIO(f.getvalue())))
        assert len(header) == len(set(header)), [h for h in header if header.count(h) > 1]
        assert "pauses" in header and "step_pauses" in header
        rows = list(csv.DictReader(io.StringIO(f.getvalue())))
        assert rows[2]["step_pauses"] == "1" and rows[0]["pauses"] == "1"
        for fields in (review.SESSION_FIELDS, review.STEP_FIELDS, history_cmd.HEADERS):
            assert len(fields) == len(set(fields))
        for rep in report_cmd.build(st, today=dt.date(2024, 5, 2)):
            for tb in report_cmd.tables(rep):
                assert len(tb["columns"]) == len(set(tb["columns"])), tb["columns"]


def test_history_of_a_bad_id_on_an_empty_store_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOLDTIMER_HOME", str(tmp_path))
    rc, out, err = holdtimer(capsys, "history", "abc123")
    assert rc == 1 and "no session 'abc123'" in err and "the store is empty" in err
    Store().close()  # an empty store file
    rc, out, err = holdtimer(capsys, "history", "abc123")
    assert rc == 1 and "no session 'abc123'" in err


def test_report_and_export_follow_one_rule_for_missing_folders(tmp_path, monkeypatch, capsys):
    with Store(str(tmp_path / "holdtimer.sqlite3")) as st:
        g.fill(st, 3, dt.date(2024, 5, 1))
    monkeypatch.setenv("HOLDTIMER_HOME", str(tmp_path))
    missing = tmp_path / "no" / "such"
    for argv in (["report", "--html", str(missing / "r.html")], ["export", "--format", "csv", "-o", str(missing / "x.csv")],
                 ["report", "--charts", str(missing / "charts")]):
        rc, out, err = holdtimer(capsys, *argv)
        assert rc == 1 and "the folder %s does not exist" % missing in err, (argv, err)
        assert not (tmp_path / "no").exists()
    rc, out, err = holdtimer(capsys, "report", "--html", str(tmp_path / "r.html"), "--until", "2024-05-04")
    assert rc == 0 and (tmp_path / "r.html").exists()
    rc, out, err = holdtimer(capsys, "export", "--format", "csv", "-o", str(tmp_path / "x.csv"))
    assert rc == 0 and "exported 6 sessions" in err


def test_the_readme_example_has_its_own_id():
    import os
    import re
    from conftest import REPO, ROUTINES
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    example = json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))
    seeds = {json.load(open(os.path.join(ROUTINES, n), encoding="utf-8"))["id"]
             for n in os.listdir(ROUTINES) if n.endswith(".json")}
    assert example["id"] not in seeds
