"""Session review: history rows, adherence and streaks, side balance, discomfort, pull, and the CLI."""
import datetime as dt
import os
import subprocess
import sys

import pytest

import reviewgen as g
import sessionlog
from holdtimer import review
from holdtimer import store as store_mod
from holdtimer.commands import pull as pull_cmd
from holdtimer.commands import report as report_cmd
from holdtimer.errors import UserError
from holdtimer.store import Store

SERIAL = "E6614103E7"
D = dt.date


@pytest.fixture
def st(tmp_path):
    s = Store(str(tmp_path / "holdtimer.sqlite3"))
    yield s
    s.close()


def one(st, log, wall=None, source=None):
    st.add_session(log, SERIAL, wall, source or ("device" if wall else "unknown"))
    return st.find_session(store_mod.session_uid(SERIAL, log["seq"], log.get("uid")))


# ---------------------------------------------------------------- one session, in words
def test_history_row_of_a_complete_session(st):
    s = one(st, g.make_log(g.TWICE_DAILY, 1), g.ts(2024, 5, 1, 7, 5))
    r = review.history_row(s, st.routines())
    assert r["when"] == "2024-05-01 07:05" and r["done"] == "100%" and r["ended"] == "completed"
    assert r["short"] == r["skipped"] == r["discomfort"] == "-" and r["routine"] == "back-basics"
    st.add_routine(g.TWICE_DAILY, g.doc_hash(g.TWICE_DAILY))
    assert review.history_row(s, st.routines())["routine"] == "Back basics"


def test_unknown_and_reconstructed_times_say_so(st):
    s = one(st, g.make_log(g.TWICE_DAILY, 1))
    assert review.when(s) == "time unknown"
    s = one(st, g.make_log(g.TWICE_DAILY, 2), g.ts(2024, 5, 1, 7), "reconstructed")
    assert review.when(s) == "~2024-05-01 07:00"


def test_a_session_ended_early_shows_where_and_what_was_cut(st):
    s = one(st, g.make_log(g.TWICE_DAILY, 1, stop_after=9, end="ended", skip={3}, short={1: 12000},
                           discomfort={5}), g.ts(2024, 5, 1))
    r = review.history_row(s)
    planned = len(list(g.plan.steps(g.TWICE_DAILY)))
    assert r["ended"] == "ended at step 9/%d" % planned
    assert r["done"] == "%d%%" % round(100 * 8 / planned)
    assert (r["short"], r["skipped"], r["discomfort"]) == ("1", "1", "1")
    assert not review.counts_as_done(s)


def test_resumed_unfinished_and_torn_sessions(st):
    s = one(st, g.make_log(g.TWICE_DAILY, 1, resumed=1), g.ts(2024, 5, 1))
    assert review.outcome(s) == "completed; resumed" and review.counts_as_done(s)
    s = one(st, g.make_log(g.TWICE_DAILY, 2, stop_after=4, end=None, torn=True))
    assert review.outcome(s) == "unfinished; log tail lost"
    s = one(st, g.make_log(g.TWICE_DAILY, 3, end="abandoned", stop_after=2))
    assert review.outcome(s).startswith("abandoned")


def test_completion_without_a_planned_step_count(st):
    s = one(st, g.make_log(g.TWICE_DAILY, 1, planned_steps=False))
    assert review.completion(s) == 1.0
    s = one(st, g.make_log(g.TWICE_DAILY, 2, planned_steps=False, stop_after=3, end="ended"))
    assert review.completion(s) is None and review.pct(None) == "?" and not review.counts_as_done(s)


def test_session_detail_lists_holds_and_marked_steps_with_planned_against_actual(st):
    s = one(st, g.make_log(g.TWICE_DAILY, 1, stop_after=9, end="ended", skip={3}, short={1: 12000},
                           discomfort={4}, pauses={5: 2}))
    rows = review.session_detail(st.steps(s["id"]), [e["name"] for e in g.TWICE_DAILY["ex"]])
    by_step = {r["step"]: r for r in rows}
    assert by_step["2"]["planned"] == "30s" and by_step["2"]["actual"] == "12s" and by_step["2"]["diff"] == "-18s"
    assert by_step["2"]["marks"] == "cut short" and by_step["2"]["side"] == "left"
    assert by_step["4"]["marks"] == "skipped" and by_step["4"]["diff"] == ""
    assert by_step["5"]["kind"] == "switch" and "DISCOMFORT" in by_step["5"]["marks"]  # a marked switch shows
    assert "paused x2" in by_step["6"]["marks"] and by_step["6"]["side"] == "right"
    assert by_step["9"]["marks"] == "session ended here"
    assert "3" not in by_step  # unmarked rests are left out unless asked for
    assert len(review.session_detail(st.steps(s["id"]), all_steps=True)) == 9
    sides = review.side_summary(st.steps(s["id"]))
    assert sides[0]["sides"]["left"] == (60000, 13500) and sides[0]["sides"]["right"] == (60000, 60000)


def test_fmt_and_dates():
    assert review.fmt_ms(45000) == "45s" and review.fmt_ms(95000) == "1:35" and review.fmt_ms(3725000) == "1:02:05"
    assert review.fmt_ms(-9000, signed=True) == "-9s" and review.fmt_ms(61000, signed=True) == "+1:01"
    today = D(2024, 5, 15)
    assert review.parse_date("2024-05-01", today) == D(2024, 5, 1)
    assert review.parse_date("today", today) == today
    assert review.parse_date("yesterday", today) == D(2024, 5, 14)
    assert review.parse_date("7d", today) == D(2024, 5, 8)
    assert review.parse_date("2w", today) == D(2024, 5, 1)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        review.parse_date("last tuesday", today)
    lo, hi = review.time_bounds(D(2024, 5, 1), D(2024, 5, 1))
    assert hi - lo in (86400, 82800, 90000) and lo == g.ts(2024, 5, 1, 0)


# ---------------------------------------------------------------- adherence and streaks
def test_streaks():
    assert review.streaks([]) == (0, 0)
    assert review.streaks([True, True, False, True]) == (1, 2)
    assert review.streaks([True, True, True, False]) == (0, 3)
    assert review.streaks([True, True, False], in_progress_last=True) == (2, 2)  # today not over yet
    assert review.streaks([True, False, False], in_progress_last=True) == (0, 1)


def test_twice_daily_adherence_with_missed_days_and_a_half_day(st):
    start = D(2024, 4, 29)  # a Monday
    g.fill(st, 14, start, miss={D(2024, 5, 3), D(2024, 5, 4)})
    # one more session on May 10: a third that day, which does not make up for anything
    one(st, g.make_log(g.TWICE_DAILY, 500), g.ts(2024, 5, 10, 13))
    # May 11: only the morning; May 12: a session ended early (not counted)
    st.db.execute("DELETE FROM sessions WHERE started_at = ?", (g.ts(2024, 5, 11, 19),))
    st.db.execute("DELETE FROM sessions WHERE started_at = ?", (g.ts(2024, 5, 12, 19),))
    one(st, g.make_log(g.TWICE_DAILY, 501, stop_after=5, end="ended"), g.ts(2024, 5, 12, 19))
    sessions = st.sessions(oldest_first=True)
    a = review.adherence(sessions, 2, "day", start, D(2024, 5, 12), today=D(2024, 5, 20))
    days = {d: (p, n) for d, p, n in a["days"]}
    assert days[D(2024, 5, 3)] == (2, 0) and days[D(2024, 5, 10)] == (2, 3)
    assert days[D(2024, 5, 11)] == (2, 1) and days[D(2024, 5, 12)] == (2, 1)
    assert a["weeks"] == [(D(2024, 4, 29), 14, 10), (D(2024, 5, 6), 14, 12)]
    assert a["planned"] == 28 and a["done"] == 22 and a["rate"] == pytest.approx(22 / 28)
    # met: Apr 29..May 2 (4), May 5..10 (6), May 11 and 12 not met
    assert a["streak"] == (0, 6) and a["unit"] == "days"


def test_a_streak_runs_across_weeks_and_today_does_not_break_it(st):
    g.fill(st, 10, D(2024, 5, 3))  # Fri May 3 .. Sun May 12
    today = D(2024, 5, 13)
    sessions = st.sessions(oldest_first=True)
    a = review.adherence(sessions, 2, "day", D(2024, 5, 3), today, today=today)
    assert a["streak"] == (10, 10)  # nothing yet today: the streak stands
    one(st, g.make_log(g.TWICE_DAILY, 900), g.ts(2024, 5, 14, 7))
    a = review.adherence(st.sessions(oldest_first=True), 2, "day", D(2024, 5, 3), D(2024, 5, 15),
                         today=D(2024, 5, 15))
    assert a["streak"] == (0, 10)  # May 13 missed, May 14 half


def test_n_per_week_adherence_caps_each_week(st):
    for k, day in enumerate((D(2024, 5, 6), D(2024, 5, 7), D(2024, 5, 8), D(2024, 5, 9),  # 4 in week 19
                             D(2024, 5, 14),                                              # 1 in week 20
                             D(2024, 5, 20), D(2024, 5, 22), D(2024, 5, 24))):             # 3 in week 21
        one(st, g.make_log(g.THREE_A_WEEK, k + 1), g.ts(day.year, day.month, day.day))
    a = review.adherence(st.sessions(oldest_first=True), 3, "week", D(2024, 5, 6), D(2024, 5, 30),
                         today=D(2024, 5, 30))
    assert [(w[1], w[2]) for w in a["weeks"]] == [(3, 3), (3, 1), (3, 3), (3, 0)]
    assert a["unit"] == "weeks" and a["streak"] == (1, 1)  # this week is not over: it does not break
    assert a["planned"] == 12 and a["done"] == 7


def test_sessions_of_unknown_time_are_not_placed_on_a_day(st):
    g.fill(st, 2, D(2024, 5, 1))
    one(st, g.make_log(g.TWICE_DAILY, 99))
    a = review.adherence(st.sessions(), 2, "day", D(2024, 5, 1), D(2024, 5, 2), today=D(2024, 5, 2))
    assert a["unknown"] == 1 and a["done"] == 4


# ---------------------------------------------------------------- sides and discomfort
def test_left_right_imbalance_and_hot_spots(st):
    st.add_routine(g.TWICE_DAILY, g.doc_hash(g.TWICE_DAILY))
    steps = list(g.plan.steps(g.TWICE_DAILY))
    knee_r = [i for i, s in enumerate(steps) if s[1] == 1 and s[0] == g.plan.HOLD and s[4] == g.plan.RIGHT]
    switch_r = [i for i, s in enumerate(steps) if s[1] == 0 and s[0] == g.plan.SWITCH][0]
    for k in range(10):
        disc = {knee_r[0]} if k < 4 else set()
        if k == 0:
            disc.add(switch_r)
        one(st, g.make_log(g.TWICE_DAILY, k + 1, side_factor={"left": 0.7}, discomfort=disc),
            g.ts(2024, 5, 1 + k))
    info = st.routines()["back-basics"]
    ex = review.exercise_sides(st.step_totals(), info["names"])
    ham = ex[0]
    assert ham["exercise"] == "Hamstring"
    assert ham["left_ms"] == 10 * 2 * 21000 and ham["right_ms"] == 10 * 2 * 30000
    assert ham["balance"] == pytest.approx(-0.3) and review.balance_text(ham["balance"]) == "left 30% less"
    assert ex[2]["balance"] is None and review.balance_text(None) == ""  # no sides
    assert review.balance_text(0.05) == "even"
    spots = review.hot_spots(st.step_totals(), info["names"])
    assert [(h["exercise"], h["side"], h["marks"]) for h in spots] == [("Knee to chest", "right", 4),
                                                                         ("Hamstring", "right", 1)]
    assert spots[0]["n"] == 20 and spots[0]["rate"] == pytest.approx(0.2)


def test_routine_report_puts_it_together(st):
    g.realistic(st, D(2024, 6, 30), weeks=6)
    reps = report_cmd.build(st, today=D(2024, 6, 30))
    by = {r["id"]: r for r in reps}
    bb, hips = by["back-basics"], by["hips"]
    assert bb["freq"] == (2, "day") and bb["adherence"]["unit"] == "days"
    assert bb["adherence"]["end"] == D(2024, 6, 30) and len(bb["adherence"]["days"]) == 42
    assert hips["freq"] == (3, "week") and len(hips["adherence"]["weeks"]) == 6
    assert bb["unknown_time"] > 0 and bb["sessions"] == bb["unknown_time"] + sum(t["sessions"] for t in bb["trend"])
    ham = bb["exercises"][0]
    assert ham["balance"] < -0.05  # the generated user holds the left hamstring shorter
    assert bb["hot_spots"][0]["exercise"] == "Knee to chest" and bb["hot_spots"][0]["side"] == "right"
    tables = report_cmd.tables(bb)
    assert [t["title"].split(" (")[0].split(":")[0] for t in tables] == [
        "Adherence per week", "Adherence per day", "Hold time per exercise", "Discomfort hot spots", "Weekly trend"]
    html = report_cmd.html_page(reps, {"back-basics": [("adherence", b"\x89PNGfake")]})
    assert html.count("data:image/png;base64,") == 1 and "Knee to chest" in html and "<table>" in html


def test_a_routine_without_a_known_document_reports_without_adherence(st):
    one(st, g.make_log(g.TWICE_DAILY, 1), g.ts(2024, 5, 1))
    rep = report_cmd.build(st, today=D(2024, 5, 2))[0]
    assert rep["freq"] is None and rep["adherence"] is None
    assert any("frequency is unknown" in line for line in report_cmd.summary(rep))
    assert rep["exercises"][0]["exercise"] == "exercise 1"


def test_charts_are_pngs_for_every_routine(st, tmp_path):
    from holdtimer import charts
    g.realistic(st, D(2024, 6, 30), weeks=3)
    for rep in report_cmd.build(st, today=D(2024, 6, 30)):
        got = dict(charts.all_charts(rep))
        assert set(got) == {"adherence", "hold-time", "discomfort", "trend"}
        assert all(png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000 for png in got.values())


# ---------------------------------------------------------------- pull
class FakeClient:
    """The link client's pull surface over a dict of log bytes; records what was confirmed."""

    def __init__(self, logs, boot=3, uptime_ms=10_000_000, fail_at=None):
        self.files = dict(logs)
        self.pulled = set()
        self.confirmed = []
        self.boot, self.uptime = boot, uptime_ms
        self.fail_at = fail_at
        self.reads = 0

    def hello(self):
        return {"proto": 1, "serial": SERIAL, "boot": self.boot, "uptime_ms": self.uptime, "clock": None,
                "session": False}

    def logs(self):
        return [(n, len(d), n in self.pulled) for n, d in sorted(self.files.items())]

    def read_log(self, name, progress=None):
        self.reads += 1
        if self.fail_at is not None and self.reads > self.fail_at:
            raise UserError("lost the connection to the device")
        return self.files[name]

    def confirm(self, names):
        self.confirmed += list(names)
        self.pulled |= set(names)


def logs_of(*parsed):
    return {"%d.log" % p["seq"]: g.encode_log(p) for p in parsed}


def test_pull_stores_new_logs_then_confirms_and_a_second_pull_adds_nothing(st):
    c = FakeClient(logs_of(*[g.make_log(g.TWICE_DAILY, k, wall=int(g.ts(2024, 5, k))) for k in range(1, 6)]))
    res = pull_cmd.pull(c, st, sessionlog.read)
    assert res["new"] == 5 and sorted(c.confirmed) == sorted(c.files)
    assert pull_cmd.message(res) == "pulled 5 new sessions (0 already in the store)"
    res = pull_cmd.pull(c, st, sessionlog.read)
    assert res["new"] == 0 and c.reads == 5 and st.count() == 5
    res = pull_cmd.pull(c, st, sessionlog.read, include_pulled=True)
    assert (res["new"], res["same"]) == (0, 5)
    assert pull_cmd.message(res) == "pulled 0 new sessions (5 already in the store)"


def test_pull_cut_mid_way_loses_nothing_and_duplicates_nothing(st):
    logs = logs_of(*[g.make_log(g.TWICE_DAILY, k) for k in range(1, 8)])
    c = FakeClient(logs, fail_at=3)
    with pytest.raises(UserError):
        pull_cmd.pull(c, st, sessionlog.read)
    assert st.count() == 3 and sorted(c.confirmed) == ["1.log", "2.log", "3.log"]
    c.fail_at = None
    res = pull_cmd.pull(c, st, sessionlog.read)
    assert res["new"] == 4 and st.count() == 7 and sorted(c.confirmed) == sorted(logs)


def test_a_log_is_confirmed_only_after_the_store_committed_it(st, monkeypatch):
    c = FakeClient(logs_of(g.make_log(g.TWICE_DAILY, 1), g.make_log(g.TWICE_DAILY, 2)))

    def broken(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(st, "put_session", broken)
    with pytest.raises(OSError):
        pull_cmd.pull(c, st, sessionlog.read)
    assert c.confirmed == [] and st.count() == 0


def test_pull_reconstructs_wall_time_only_within_the_current_boot(st, monkeypatch):
    now = g.ts(2024, 5, 10, 12)
    monkeypatch.setattr(pull_cmd.time, "time", lambda: now)
    c = FakeClient(logs_of(
        g.make_log(g.TWICE_DAILY, 1, wall=int(g.ts(2024, 5, 9, 7))),               # its own clock
        g.make_log(g.TWICE_DAILY, 2, boot=3, uptime_ms=10_000_000 - 3_600_000),    # this boot, 1 h ago
        g.make_log(g.TWICE_DAILY, 3, boot=2, uptime_ms=5000)),                     # an earlier boot
        boot=3, uptime_ms=10_000_000)
    pull_cmd.pull(c, st, sessionlog.read)
    by = {s["seq"]: s for s in st.sessions()}
    assert (by[1]["time_source"], by[1]["started_at"]) == ("device", g.ts(2024, 5, 9, 7))
    assert by[2]["time_source"] == "reconstructed" and by[2]["started_at"] == pytest.approx(now - 3600)
    assert by[3]["time_source"] == "unknown" and by[3]["started_at"] is None


def test_a_reflashed_device_or_a_second_simulated_one_is_never_dropped_as_already_stored(st):
    # Issue 9: seq restarts at 1 on an erased flash, and every simulated device has the same serial:
    # session 1 of the new flash was taken for the stored session 1 and confirmed (then deleted).
    first = g.make_log(g.TWICE_DAILY, 1, wall=int(g.ts(2024, 5, 1)))
    res = pull_cmd.pull(FakeClient(logs_of(first)), st, sessionlog.read)
    assert res["new"] == 1
    again = dict(g.make_log(g.TWICE_DAILY, 1, wall=int(g.ts(2024, 5, 9))), uid="ab" * 8)  # same seq, new flash
    c = FakeClient(logs_of(again))
    res = pull_cmd.pull(c, st, sessionlog.read)
    assert res["new"] == 1 and res["same"] == 0 and st.count() == 2 and c.confirmed == ["1.log"]
    # pulled again: the same session (its uid), confirmed, not stored twice
    res = pull_cmd.pull(FakeClient(logs_of(again)), st, sessionlog.read)
    assert res["same"] == 1 and res["new"] == 0 and st.count() == 2


def test_a_log_whose_header_is_another_session_is_neither_stored_nor_confirmed(st):
    other = g.make_log(g.TWICE_DAILY, 7)
    c = FakeClient({"5.log": g.encode_log(other), "6.log": g.encode_log(g.make_log(g.TWICE_DAILY, 6))})
    warned = []
    res = pull_cmd.pull(c, st, sessionlog.read, warn=warned.append)
    assert res["mismatch"] == ["5.log"] and c.confirmed == ["6.log"] and st.count() == 1
    assert "5.log holds session 7" in warned[0]
    assert "did not hold the session its name says" in pull_cmd.message(res)


def test_the_newest_unfinished_log_stays_on_the_device_and_older_ones_go(st):
    c = FakeClient(logs_of(g.make_log(g.TWICE_DAILY, 1, stop_after=3, end=None),
                           g.make_log(g.TWICE_DAILY, 2),
                           g.make_log(g.TWICE_DAILY, 3, stop_after=4, end=None)))
    res = pull_cmd.pull(c, st, sessionlog.read)
    assert res["new"] == 3 and res["unfinished"] == ["3.log"] and sorted(c.confirmed) == ["1.log", "2.log"]
    assert "stays on the device" in pull_cmd.message(res)
    # resumed and finished on the device: the next pull completes the stored session
    c.files["3.log"] = g.encode_log(g.make_log(g.TWICE_DAILY, 3, resumed=1))
    res = pull_cmd.pull(c, st, sessionlog.read)
    assert res["updated"] == 1 and "3.log" in c.confirmed and st.count() == 3
    assert st.find_session("%s:3" % SERIAL)["end_reason"] == "done"


def test_a_damaged_log_stays_on_the_device_and_the_rest_is_pulled(st):
    logs = logs_of(g.make_log(g.TWICE_DAILY, 1), g.make_log(g.TWICE_DAILY, 2))
    logs["2.log"] = b"\x00garbage" * 10
    warned = []
    res = pull_cmd.pull(FakeClient(logs), st, sessionlog.read, warn=warned.append)
    assert res["new"] == 1 and res["bad"] == ["2.log"] and "2.log" in warned[0]
    assert "could not be read" in pull_cmd.message(res)


def test_pull_command_uses_the_link_and_the_store(tmp_path, monkeypatch, capsys):
    from holdtimer import cli, devices, link
    monkeypatch.setenv("HOLDTIMER_HOME", str(tmp_path))
    fake = FakeClient(logs_of(g.make_log(g.TWICE_DAILY, 1), g.make_log(g.TWICE_DAILY, 2)))

    class Ctx:
        def __init__(self, port):
            assert port == "/dev/fake"

        def __enter__(self):
            return fake

        def __exit__(self, *a):
            pass
    monkeypatch.setattr(devices, "resolve_port", lambda p: "/dev/fake")
    monkeypatch.setattr(link, "Client", Ctx)
    assert cli.main(["pull"]) == 0
    assert "pulled 2 new sessions (0 already in the store)" in capsys.readouterr().out
    assert cli.main(["pull", "--port", "/dev/fake"]) == 0
    assert "pulled 0 new sessions" in capsys.readouterr().out


# ---------------------------------------------------------------- the commands, as a user runs them
def run_cli(home, *args):
    env = dict(os.environ, HOLDTIMER_HOME=str(home), COLUMNS="160")
    return subprocess.run([sys.executable, "-m", "holdtimer"] + list(args), capture_output=True, text=True,
                          env=env, timeout=120)


def test_review_commands_on_an_empty_store_say_so_without_a_traceback(tmp_path):
    for args in (["history"], ["history", "abc"], ["report"], ["export", "--format", "json"]):
        r = run_cli(tmp_path, *args)
        assert r.returncode == (1 if len(args) == 2 and args[0] == "history" else 0), r.stderr  # no such session
        assert "Traceback" not in r.stderr + r.stdout
        assert "holdtimer pull" in r.stdout + r.stderr
    assert not os.path.exists(tmp_path / "holdtimer.sqlite3")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    h = tmp_path_factory.mktemp("home")
    s = Store(str(h / "holdtimer.sqlite3"))
    g.realistic(s, dt.date.today(), weeks=4)
    s.add_session(g.make_log(g.TWICE_DAILY, 10_000, stop_after=9, end="ended", skip={3}, discomfort={4}),
                  SERIAL, None, "unknown")
    s.close()
    return h


def test_history_lists_sessions_newest_first_and_shows_one(home):
    r = run_cli(home, "history", "--limit", "5")
    assert r.returncode == 0, r.stderr
    assert "Sessions, newest first" in r.stdout and "5 of" in r.stdout
    assert "time unknown" in r.stdout and "Back basics" in r.stdout
    uid = store_mod.session_uid(SERIAL, 10_000, g.make_log(g.TWICE_DAILY, 10_000)["uid"])
    r = run_cli(home, "history", uid[:6])
    assert r.returncode == 0, r.stderr
    assert "ended at step 9/" in r.stdout and "skipped" in r.stdout and "DISCOMFORT" in r.stdout
    assert "Hamstring" in r.stdout and "per side" in r.stdout
    r = run_cli(home, "history", "--routine", "hips", "--since", "7d", "--limit", "0")
    assert r.returncode == 0 and "Back basics" not in r.stdout and "Hip openers" in r.stdout


def test_history_errors_are_one_line(home):
    for args, text in ((["history", "zzz"], "no session"), (["history", "--since", "someday"], "YYYY-MM-DD"),
                       (["history", "--since", "today", "--until", "7d"], "after --until"),
                       (["history", "--limit", "-1"], "--limit")):
        r = run_cli(home, *args)
        assert r.returncode == 1 and text in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_report_prints_tables_and_writes_charts_and_one_html_page(home, tmp_path):
    r = run_cli(home, "report", "--charts", str(tmp_path / "charts"), "--html", str(tmp_path / "r.html"))
    assert r.returncode == 0, r.stderr
    for text in ("Back basics (back-basics): twice daily", "Hip openers (hips): three times a week",
                 "Adherence per week", "Hold time per exercise", "Discomfort hot spots", "Weekly trend", "streak"):
        assert text in r.stdout
    pngs = sorted(os.listdir(tmp_path / "charts"))
    assert pngs == sorted("%s-%s.png" % (rid, c) for rid in ("back-basics", "hips")
                          for c in ("adherence", "hold-time", "discomfort", "trend"))
    html = (tmp_path / "r.html").read_text()
    assert html.count("data:image/png;base64,") == 8 and "src='http" not in html
    r = run_cli(home, "report", "--routine", "nope")
    assert r.returncode == 0 and "no sessions" in r.stdout


# ---------------------------------------------------------------- pull over the real link, end to end in-process
class Loopback:
    """The host Client's transport wired straight into the firmware's DeviceLink."""
    port = "loopback"

    def __init__(self, dev):
        self.dev, self.buf = dev, bytearray()

    def write(self, data):
        self.buf += self.dev.feed(data)

    def read(self, timeout):
        out = bytes(self.buf)
        self.buf.clear()
        return out

    def close(self):
        pass


def test_pull_over_the_real_link_from_real_device_storage(st, tmp_path):
    import link as fwlink
    import storage as fwstorage
    from holdtimer import link as hostlink

    dev = fwstorage.Storage(str(tmp_path / "flash"))
    dev.boot()
    h = g.doc_hash(g.TWICE_DAILY)
    logs = [g.make_log(g.TWICE_DAILY, 0, wall=int(g.ts(2024, 5, 1, 7)), skip={3}, discomfort={5}),
            g.make_log(g.TWICE_DAILY, 0, stop_after=6, end="ended"),
            g.make_log(g.TWICE_DAILY, 0, stop_after=4, end=None)]  # the newest: unfinished
    for k, log in enumerate(logs):
        w = dev.new_log("back-basics", h, 1000 * (k + 1), log["wall"] or 0, log["planned_steps"])
        for s in log["steps"]:
            flags = (1 if s["skipped"] else 0) | (2 if s["discomfort"] else 0) | (4 if s.get("ended") else 0)
            w.step(s["i"], s["kind"], s["ex"], s["set"], s["rep"], s["side"], s["planned_ms"], s["actual_ms"],
                   s["offset_ms"], flags, s["pauses"])
        if log["end"]:
            last = log["steps"][-1]
            w.end(log["end"], sum(s["actual_ms"] for s in log["steps"]), last["offset_ms"] + last["actual_ms"])

    class App:
        def info(self):
            return {"serial": "SIMSERIAL", "boot": dev.boot(), "uptime": 3_000_000, "clock": 0, "session": False}

        def busy(self):
            return False

        def set_clock(self, epoch):
            pass

    client = hostlink.Client(transport=Loopback(fwlink.DeviceLink(dev, App())))
    res = pull_cmd.pull(client, st, sessionlog.read)
    assert (res["new"], res["unfinished"]) == (3, ["3.log"])
    assert [p for _, _, p in dev.logs()] == [True, True, False]
    by = {s["seq"]: s for s in st.sessions()}
    assert by[1]["time_source"] == "device" and by[1]["holds_skipped"] == 1 and by[1]["discomfort"] == 1
    assert by[2]["end_reason"] == "ended" and by[2]["time_source"] == "reconstructed"
    assert by[3]["end_reason"] is None
    res = pull_cmd.pull(client, st, sessionlog.read)
    assert (res["new"], res["same"]) == (0, 1) and st.count() == 3


def test_a_routine_with_only_sessions_of_unknown_time(st):
    st.add_routine(g.TWICE_DAILY, g.doc_hash(g.TWICE_DAILY))
    one(st, g.make_log(g.TWICE_DAILY, 1))
    rep = report_cmd.build(st, today=D(2024, 5, 2))[0]
    assert rep["adherence"] is None and rep["trend"] == [] and rep["unknown_time"] == 1
    assert any("no session of known time" in line for line in report_cmd.summary(rep))
    assert rep["exercises"][0]["exercise"] == "Hamstring"
