"""The review commands' tables in an 80- and a 120-column terminal: no line longer than the terminal,
every header and every value whole (a word or figure is never cut), with a store of realistic
sessions (reviewgen) plus the awkward ones: ended early, resumed twice, torn, time unknown, last
year's, and a routine with a long name."""
import collections
import datetime as dt

import pytest

import reviewgen as g
from holdtimer import cli, review
from holdtimer.commands import history as history_cmd
from holdtimer.commands import report as report_cmd
from holdtimer.store import Store

SERIAL = "E6614103E7"
LONG = dict(g.THREE_A_WEEK, id="king-hip-hamstring", name="Hip and Hamstring Exercises for Back Pain Relief")
ODD_SEQ = 10_000


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    h = tmp_path_factory.mktemp("home")
    s = Store(str(h / "holdtimer.sqlite3"))
    today = dt.date.today()
    g.realistic(s, today, weeks=6)
    s.add_session(g.make_log(g.TWICE_DAILY, ODD_SEQ, stop_after=9, end="ended", skip={3}, discomfort={4},
                             resumed=2, torn=True, pauses={5: 2}), SERIAL, None, "unknown")
    s.add_routine(LONG, g.doc_hash(LONG))
    t = g.ts(today.year, today.month, today.day, 6, 10)
    s.add_session(g.make_log(LONG, ODD_SEQ + 1, wall=t, discomfort={1}), SERIAL, t, "device")
    s.close()
    return h


@pytest.fixture
def home_last_year(tmp_path):
    """A store with a session of last year too: the dates keep their year."""
    s = Store(str(tmp_path / "holdtimer.sqlite3"))
    g.realistic(s, dt.date.today(), weeks=1)
    y = dt.date.today().year - 1
    s.add_session(g.make_log(g.TWICE_DAILY, 5000, wall=g.ts(y, 12, 30, 19, 5)), SERIAL, g.ts(y, 12, 30, 19, 5),
                  "device")
    s.close()
    return tmp_path


def run(monkeypatch, capsys, home, width, *args):
    monkeypatch.setenv("HOLDTIMER_HOME", str(home))
    monkeypatch.setenv("COLUMNS", str(width))
    assert cli.main(list(args)) == 0
    out = capsys.readouterr().out
    too_long = [line for line in out.splitlines() if len(line) > width]
    assert not too_long, "%d lines longer than %d:\n%s" % (len(too_long), width, "\n".join(too_long[:5]))
    return out


def tokens(text):
    return collections.Counter(text.split())


def check_table(out, layouts, start=0):
    """One of `layouts` ([(headers, rows of cells)]) is printed (from line `start` on) with its header
    line whole and every word of every cell whole in the table's body; returns the index of the
    layout found (and with `start`, the line after its header)."""
    lines = out.splitlines()
    for k in range(start, len(lines) - 1):
        for n, (headers, rows) in enumerate(layouts):
            want = " ".join(headers).split()
            if lines[k].split() == want and set(lines[k + 1].strip()) == {"─"}:
                body = []
                for more in lines[k + 2:]:
                    if not more.strip():
                        break
                    body.append(more)
                have = tokens("\n".join(body))
                need = tokens(" ".join(c for r in rows for c in r))
                cut = {w: c for w, c in need.items() if have[w] < c}
                assert not cut, "cut in the table %s: %s" % (want, sorted(cut)[:10])
                return (n, k + 1) if start else n
    raise AssertionError("no whole header line of %s in:\n%s" % ([h for h, _ in layouts], out))


def history_layouts(st, limit, year_known=True):
    rows = st.sessions(None, None, None, limit=limit)
    routines = st.routines()
    wide = [review.history_row(s, routines) for s in rows]
    narrow = [review.history_row(s, routines, short_when=year_known) for s in rows]
    return [(history_cmd.HEADERS, [[c[k] for k in history_cmd.KEYS] for c in wide]),
            (history_cmd.NARROW_HEADERS, [[c[k] for k in history_cmd.NARROW_KEYS] for c in narrow])]


@pytest.mark.parametrize("width", [80, 120])
def test_history_list_fits_with_every_column_whole(home, monkeypatch, capsys, width):
    out = run(monkeypatch, capsys, home, width, "history", "--limit", "40")
    with Store(str(home / "holdtimer.sqlite3")) as st:
        layout = check_table(out, history_layouts(st, 40))
    assert layout == (1 if width == 80 else 0)  # the wide layout where it fits, else the narrow one
    if layout:
        assert history_cmd.NARROW_LEGEND in out and ("Sessions of %d" % dt.date.today().year) in out


def test_history_keeps_the_year_when_sessions_span_years(home_last_year, monkeypatch, capsys):
    out = run(monkeypatch, capsys, home_last_year, 80, "history", "--limit", "0")
    with Store(str(home_last_year / "holdtimer.sqlite3")) as st:
        assert check_table(out, history_layouts(st, None, year_known=False)) == 1
    assert "%d-12-30" % (dt.date.today().year - 1) in out


@pytest.mark.parametrize("width", [80, 120])
def test_history_of_many_sessions_in_plain_columns_fits(home, monkeypatch, capsys, width):
    monkeypatch.setattr(history_cmd, "PLAIN_FROM", 10)  # the plain columns of a long list
    out = run(monkeypatch, capsys, home, width, "history", "--limit", "0")
    with Store(str(home / "holdtimer.sqlite3")) as st:
        layouts = history_layouts(st, None)
    lines = out.splitlines()
    headers = layouts[1 if width == 80 else 0][0]
    assert lines[0].split() == " ".join(headers).split()
    need = tokens(" ".join(c for r in layouts[1 if width == 80 else 0][1] for c in r))
    have = tokens("\n".join(lines[2:]))
    assert not {w for w, c in need.items() if have[w] < c}


@pytest.mark.parametrize("width", [80, 120])
def test_one_session_step_by_step_fits(home, monkeypatch, capsys, width):
    with Store(str(home / "holdtimer.sqlite3")) as st:
        uid = st.find_session("%s:%d" % (SERIAL, ODD_SEQ))["uid"]
    for extra in ([], ["--all-steps"]):
        out = run(monkeypatch, capsys, home, width, "history", uid[:8], *extra)
        with Store(str(home / "holdtimer.sqlite3")) as st:
            s = st.find_session(uid)
            rows = review.session_detail(st.steps(s["id"]), st.routines()["back-basics"]["names"], bool(extra))
        keys = ("step", "exercise", "kind", "set_rep", "side", "planned", "actual", "diff", "marks")
        check_table(out, [(("#", "exercise", "kind", "set/rep", "side", "planned", "actual", "diff", "marks"),
                           [[r[k] for k in keys] for r in rows])])
        assert "DISCOMFORT" in out and "here" in out  # the marks column, wrapped or not


@pytest.mark.parametrize("width", [80, 120])
def test_report_fits_with_every_table_whole(home, monkeypatch, capsys, width):
    out = run(monkeypatch, capsys, home, width, "report")
    with Store(str(home / "holdtimer.sqlite3")) as st:
        reports = report_cmd.build(st)
    found, at = [], 1
    for rep in reports:
        wide = report_cmd.tables(rep, report_cmd.TERMINAL_WEEKS, report_cmd.TERMINAL_DAYS)
        narrow = report_cmd.tables(rep, report_cmd.TERMINAL_WEEKS, report_cmd.TERMINAL_DAYS, narrow=True)
        for a, b in zip(wide, narrow):
            if a["rows"]:
                n, at = check_table(out, [(a["columns"], a["rows"]), (b["columns"], b["rows"])], at)
                found.append((a["title"], n))
                if n and b.get("legend"):
                    assert " ".join(b["legend"].split()) in " ".join(out.split())
    assert len(found) >= 10
    by = dict(found)
    # the hold time per exercise (9 columns of times) takes the narrow layout at 80, the wide at 120
    assert by["Hold time per exercise (held / planned)"] == (1 if width == 80 else 0)
    assert "Hip and Hamstring Exercises for Back Pain Relief" in " ".join(out.split())


def test_short_balance_and_cut_cells():
    assert report_cmd.short_balance(None) == "" and report_cmd.short_balance(0.05) == "even"
    assert report_cmd.short_balance(-0.25) == "L-25%" and report_cmd.short_balance(0.2) == "R-20%"
    row = review.history_row({"uid": "ab" * 8, "routine_id": "r", "started_at": None, "holds": 5,
                              "holds_short": 2, "holds_skipped": 0, "end_reason": "ended", "planned_steps": 9,
                              "steps_logged": 4, "resumed": 2, "torn": 1})
    assert row["cut"] == "2/0" and row["ended_brief"] == "ended 4/9; resumed x2, tail lost"
    assert row["ended"] == "ended at step 4/9; resumed x2, log tail lost"
