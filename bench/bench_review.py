"""Benchmark of the review commands over 10,000 sessions: `holdtimer history` (target < 300 ms), `report`.

Generates the sessions into a temporary store (HOLDTIMER_HOME), then times the commands as a user
runs them (a new process each, interpreter start included; median of several runs).
Prints one line per figure: `name value unit target`.
"""
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "tests"), os.path.join(REPO, "host")]

import reviewgen as g  # noqa: E402
from holdtimer.store import Store  # noqa: E402

SESSIONS = 10_000
RUNS = 5


def generate(path, n):
    st = Store(path)
    st.db.execute("PRAGMA synchronous = OFF")  # generation only: the commands run with the normal settings
    today = dt.date.today()
    # realistic() adds ~14 sessions a week over two routines; one pass over enough weeks
    weeks = n // 13 + 1
    added = g.realistic(st, today, weeks=weeks, seed=11)
    extra = st.count() - n
    if extra > 0:  # trim the oldest so exactly n remain
        st.db.execute("DELETE FROM sessions WHERE id IN (SELECT id FROM sessions ORDER BY sort_at LIMIT ?)", (extra,))
    count = st.count()
    steps = st.db.execute("SELECT COUNT(*) FROM steps").fetchone()[0]
    st.close()
    return count, steps, added


def cli(home, *args):
    env = dict(os.environ, HOLDTIMER_HOME=home, COLUMNS="160")
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "holdtimer"] + list(args), capture_output=True, text=True, env=env)
    dt_ms = (time.perf_counter() - t) * 1000
    if r.returncode != 0:
        raise SystemExit("holdtimer %s failed: %s" % (" ".join(args), r.stderr.strip()))
    return dt_ms


def median_ms(home, *args, runs=RUNS):
    cli(home, *args)  # warm the page cache and .pyc files
    return statistics.median(cli(home, *args) for _ in range(runs))


def line(name, value, unit, target):
    print("%s %s %s %s" % (name, ("%.1f" % value) if isinstance(value, float) else value, unit, target), flush=True)


def main():
    with tempfile.TemporaryDirectory(prefix="holdtimer-bench-") as home:
        path = os.path.join(home, "holdtimer.sqlite3")
        t = time.perf_counter()
        count, steps, _ = generate(path, SESSIONS)
        line("review_generate_sessions", count, "sessions", "-")
        line("review_generate_steps", steps, "steps", "-")
        line("review_generate_time", (time.perf_counter() - t) * 1000, "ms", "-")
        line("review_store_size", os.path.getsize(path) // 1024, "KiB", "-")
        line("review_history_10k", median_ms(home, "history"), "ms", "<300")
        line("review_history_10k_all_rows", median_ms(home, "history", "--limit", "0", runs=2), "ms", "-")
        st = Store(path)
        uid = st.sessions(limit=1)[0]["uid"]
        st.close()
        line("review_history_session", median_ms(home, "history", uid[:8]), "ms", "<300")
        line("review_report_10k", median_ms(home, "report", runs=3), "ms", "<3000")
        charts = os.path.join(home, "charts")
        line("review_report_10k_charts_html", median_ms(home, "report", "--charts", charts, "--html",
                                                        os.path.join(home, "r.html"), runs=1), "ms", "-")
        line("review_export_csv_10k", median_ms(home, "export", "--format", "csv", "-o",
                                                os.path.join(home, "x.csv"), runs=1), "ms", "-")
        # in-process (no interpreter start): the store query and table of `history`
        from holdtimer.commands import history
        import io
        import contextlib
        os.environ["HOLDTIMER_HOME"] = home
        ns = type("A", (), {"session": None, "routine": None, "since": None, "until": None, "limit": 30,
                            "all_steps": False})
        with contextlib.redirect_stdout(io.StringIO()):
            history.run(ns)  # warm imports
        times = []
        for _ in range(RUNS):
            t = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                history.run(ns)
            times.append((time.perf_counter() - t) * 1000)
        line("review_history_10k_in_process", statistics.median(times), "ms", "-")


if __name__ == "__main__":
    main()
