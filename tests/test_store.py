"""The local store: schema migrations, idempotent sessions, atomic writes, concurrent readers."""
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

import reviewgen as g
import sessionlog
import sessionlog as sl
from holdtimer import store as store_mod
from holdtimer.errors import UserError
from holdtimer.store import Store

SERIAL = "E6614103E7"


@pytest.fixture
def st(tmp_path):
    s = Store(str(tmp_path / "holdtimer.sqlite3"))
    yield s
    s.close()


def test_an_empty_file_is_migrated_to_the_current_schema_with_wal_and_indexes(tmp_path):
    path = str(tmp_path / "new" / "holdtimer.sqlite3")
    s = Store(path)
    assert s.version() == store_mod.SCHEMA_VERSION == len(store_mod.MIGRATIONS)
    assert s.wal
    names = {r[0] for r in s.db.execute("SELECT name FROM sqlite_master")}
    assert {"sessions", "steps", "routines", "sessions_by_time", "sessions_by_routine", "routines_by_id"} <= names
    s.close()
    # opening again runs no migration and keeps the data
    s = Store(path)
    assert s.version() == store_mod.SCHEMA_VERSION
    s.close()


def test_migrations_run_one_by_one_from_any_version(tmp_path, monkeypatch):
    path = str(tmp_path / "h.sqlite3")
    Store(path).close()

    def m2(db):
        db.execute("ALTER TABLE sessions ADD COLUMN note TEXT")
    monkeypatch.setattr(store_mod, "MIGRATIONS", store_mod.MIGRATIONS + [m2])
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", len(store_mod.MIGRATIONS))
    s = Store(path)
    assert s.version() == len(store_mod.MIGRATIONS)
    assert "note" in [r[1] for r in s.db.execute("PRAGMA table_info(sessions)")]
    s.close()
    # A NEW store runs every step, the extra one included, and works (issue 9: a migration step
    # that broke every new store once a second step existed shipped green).
    fresh = Store(str(tmp_path / "new.sqlite3"))
    assert fresh.version() == len(store_mod.MIGRATIONS)
    assert fresh.add_session(sl.read(_v2_log(1)), SERIAL) is True
    assert fresh.count() == 1
    fresh.close()


def _v2_log(seq, uid=b"\x11" * 8, steps=2, end="done"):
    buf = bytearray(sl.MAX_RECORD)
    out = bytearray(buf[:sl.encode_header(buf, seq, "easy-hamstring", "0123456789abcdef", 3, 1000, 0, steps, uid)])
    for i in range(steps):
        out += buf[:sl.encode_step(buf, i, 1, 0, 1, 1, 0, 30000, 30000, i * 30000)]
    if end:
        out += buf[:sl.encode_end(buf, end, steps * 30000, steps * 30000)]
    return bytes(out)


def test_a_version_1_store_with_sessions_migrates_to_session_uids_keeping_everything(tmp_path, monkeypatch):
    path = str(tmp_path / "old.sqlite3")
    monkeypatch.setattr(store_mod, "MIGRATIONS", store_mod.MIGRATIONS[:1])
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", 1)
    s = Store(path)
    # a session as the version 1 store held it (by device and seq)
    s.db.execute("INSERT INTO sessions(uid, device, seq, routine_id, routine_hash, time_source, sort_at, boot,"
                 " uptime_ms, end_reason, steps_logged, pulled_at) VALUES (?, ?, 1, 'easy-hamstring',"
                 " '0123456789abcdef', 'unknown', 5.0, 3, 1000, 'done', 3, 6.0)", (store_mod.session_uid(SERIAL, 1), SERIAL))
    for i in range(3):
        s.db.execute("INSERT INTO steps(session_id, pos, i, kind, ex, set_no, rep, side, planned_ms, actual_ms,"
                     " skipped, discomfort, pauses, offset_ms, ended) VALUES (1, ?, ?, 'hold', 0, 1, 1, 'none',"
                     " 30000, 30000, 0, 0, 0, 0, 0)", (i, i))
    before = [dict(r) for r in s.db.execute("SELECT * FROM sessions")]
    nsteps = s.db.execute("SELECT COUNT(*) FROM steps").fetchone()[0]
    s.close()
    monkeypatch.undo()
    s = Store(path)
    assert s.version() == store_mod.SCHEMA_VERSION >= 2
    after = [dict(r) for r in s.db.execute("SELECT * FROM sessions")]
    assert [{k: v for k, v in a.items() if k != "log_uid"} for a in after] == before
    assert s.db.execute("SELECT COUNT(*) FROM steps").fetchone()[0] == nsteps == 3
    assert s.db.execute("PRAGMA foreign_key_check").fetchall() == []
    # the same seq from a reflashed device is now another session, not "already in the store"
    assert s.put_session(sl.read(_v2_log(1, uid=b"\x22" * 8)), SERIAL) == "new"
    assert s.put_session(sl.read(_v2_log(1, uid=b"\x22" * 8)), SERIAL) == "same"
    assert s.count() == 2
    s.close()


def test_a_failing_migration_leaves_the_old_schema(tmp_path, monkeypatch):
    path = str(tmp_path / "h.sqlite3")
    Store(path).close()

    def bad(db):
        db.execute("ALTER TABLE sessions ADD COLUMN half TEXT")
        raise RuntimeError("boom")
    monkeypatch.setattr(store_mod, "MIGRATIONS", store_mod.MIGRATIONS + [bad])
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", len(store_mod.MIGRATIONS))
    with pytest.raises(RuntimeError):
        Store(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(store_mod.MIGRATIONS) - 1
    assert "half" not in [r[1] for r in db.execute("PRAGMA table_info(sessions)")]


def test_a_store_from_a_newer_holdtimer_is_refused_in_one_line(tmp_path):
    path = str(tmp_path / "h.sqlite3")
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(UserError, match="newer holdtimer"):
        Store(path)


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UserError, match="not a holdtimer store.*pull --all"):
        Store(str(path))


def test_holdtimer_home_decides_where_the_store_is(tmp_path, monkeypatch):
    monkeypatch.setenv("HOLDTIMER_HOME", str(tmp_path / "home"))
    assert store_mod.db_path() == str(tmp_path / "home" / "holdtimer.sqlite3")
    assert store_mod.open_existing() is None
    Store().close()
    s = store_mod.open_existing()
    assert s is not None and s.path == store_mod.db_path()
    s.close()


def test_adding_a_session_twice_keeps_it_once(st):
    log = g.make_log(g.TWICE_DAILY, 5, wall=g.ts(2024, 5, 1))
    assert st.add_session(log, SERIAL, g.ts(2024, 5, 1), "device") is True
    assert st.add_session(log, SERIAL, g.ts(2024, 5, 1), "device") is False
    assert st.count() == 1
    s = st.sessions()[0]
    assert len(st.steps(s["id"])) == len(log["steps"]) == s["steps_logged"]
    # the same seq from another device is another session
    assert st.add_session(log, "OTHER", None, "unknown") is True
    assert st.count() == 2
    assert s["uid"] == store_mod.session_uid(SERIAL, 5, log["uid"]) and len(s["uid"]) == 12


def test_session_columns_summarise_the_steps(st):
    log = g.make_log(g.TWICE_DAILY, 1, wall=None, stop_after=9, end="ended", skip={3}, discomfort={4},
                     short={1: 10000}, pauses={6: 2})
    st.add_session(log, SERIAL, None, "unknown")
    s = st.sessions()[0]
    assert s["started_at"] is None and s["time_source"] == "unknown"
    assert s["end_reason"] == "ended" and s["planned_steps"] == len(list(g.plan.steps(g.TWICE_DAILY)))
    assert s["steps_logged"] == 9 and s["steps_skipped"] == 1 and s["steps_done"] == 8
    assert s["holds"] == 4 and s["holds_short"] == 1 and s["holds_skipped"] == 1
    assert s["discomfort"] == 1 and s["pauses"] == 2
    steps = st.steps(s["id"])
    assert [t["kind"] for t in steps[:3]] == ["prep", "hold", "rest"]
    assert steps[1]["side"] == "left" and steps[5]["side"] == "right"
    assert steps[-1]["ended"] == 1
    # wall duration: the offsets include the pauses
    assert s["duration_ms"] == steps[-1]["offset_ms"] + steps[-1]["actual_ms"]


def test_a_time_source_is_one_of_three_and_none_means_unknown(st):
    with pytest.raises(ValueError):
        st.add_session(g.make_log(g.TWICE_DAILY, 1), SERIAL, 1.0, "guessed")
    st.add_session(g.make_log(g.TWICE_DAILY, 1), SERIAL, None, "device")
    assert st.sessions()[0]["time_source"] == "unknown"


def test_a_session_is_written_with_all_its_steps_or_not_at_all(st, monkeypatch):
    def fail(self, session_id, steps):
        self.db.execute("INSERT INTO steps(session_id, pos, i, kind, ex, set_no, rep, side, planned_ms, "
                        "actual_ms, skipped, discomfort, pauses, ended) VALUES (?,0,0,'hold',0,1,1,'none',1,1,0,0,0,0)",
                        (session_id,))
        raise OSError("disk gone")
    monkeypatch.setattr(Store, "_insert_steps", fail)
    with pytest.raises(OSError):
        st.add_session(g.make_log(g.TWICE_DAILY, 1), SERIAL, None, "unknown")
    monkeypatch.undo()
    assert st.count() == 0
    assert st.db.execute("SELECT COUNT(*) FROM steps").fetchone()[0] == 0
    assert st.add_session(g.make_log(g.TWICE_DAILY, 1), SERIAL, None, "unknown") is True


def test_an_unfinished_session_is_completed_by_a_later_pull_of_the_resumed_log(st):
    part = g.make_log(g.TWICE_DAILY, 7, wall=None, stop_after=6, end=None)
    assert st.put_session(part, SERIAL, None, "unknown") == "new"
    assert st.put_session(part, SERIAL, None, "unknown") == "same"
    whole = g.make_log(g.TWICE_DAILY, 7, wall=None, resumed=1)
    assert st.put_session(whole, SERIAL, g.ts(2024, 5, 2), "reconstructed") == "updated"
    s = st.sessions()[0]
    assert st.count() == 1 and s["end_reason"] == "done" and s["resumed"] == 1
    assert s["time_source"] == "reconstructed"
    assert len(st.steps(s["id"])) == len(whole["steps"])
    # a finished session is never rewritten
    assert st.put_session(part, SERIAL, None, "unknown") == "same"
    assert len(st.steps(s["id"])) == len(whole["steps"])


def test_routines_known_by_id_first_get_their_document_later(st):
    st.add_session(g.make_log(g.TWICE_DAILY, 1), SERIAL, None, "unknown")
    r = st.routines()["back-basics"]
    assert r["name"] is None and r["doc"] is None and r["hash"] == g.doc_hash(g.TWICE_DAILY)
    s = st.sessions()[0]
    assert all(t["ex_name"] is None for t in st.steps(s["id"]))
    st.add_routine(g.TWICE_DAILY, g.doc_hash(g.TWICE_DAILY))
    r = st.routines()["back-basics"]
    assert r["name"] == "Back basics" and (r["freq_n"], r["freq_per"]) == (2, "day")
    assert {t["ex_name"] for t in st.steps(s["id"])} == {e["name"] for e in g.TWICE_DAILY["ex"]}
    # a session pulled after the routine is known gets the names at once
    st.add_session(g.make_log(g.TWICE_DAILY, 2), SERIAL, None, "unknown")
    s2 = st.find_session("%s:2" % SERIAL)
    assert st.steps(s2["id"])[1]["ex_name"] == "Hamstring"


def test_add_routine_takes_the_compact_bytes_sync_sends(st):
    import json
    data = json.dumps(g.THREE_A_WEEK, sort_keys=True, separators=(",", ":")).encode()
    st.add_routine(data, "0123456789abcdef")
    assert st.routines()["hips"]["freq_per"] == "week"


def test_find_session_by_prefix_or_serial_and_seq(st):
    for seq in range(1, 40):
        st.add_session(g.make_log(g.THREE_A_WEEK, seq), SERIAL, None, "unknown")
    uid = st.find_session("%s:17" % SERIAL)["uid"]
    assert st.find_session(uid[:8])["seq"] == 17
    assert st.find_session(uid.upper())["seq"] == 17
    assert st.find_session("%s:17" % SERIAL)["seq"] == 17
    with pytest.raises(UserError, match="ambiguous"):
        st.find_session(uid[:1])
    with pytest.raises(UserError, match="no session"):
        st.find_session("not-an-id")
    with pytest.raises(UserError, match="no session"):
        st.find_session("ffffffffffff")


def test_filters_and_order(st):
    st.add_session(g.make_log(g.TWICE_DAILY, 1), SERIAL, g.ts(2024, 5, 1, 7), "device")
    st.add_session(g.make_log(g.TWICE_DAILY, 2), SERIAL, g.ts(2024, 5, 2, 7), "device")
    st.add_session(g.make_log(g.THREE_A_WEEK, 3), SERIAL, g.ts(2024, 5, 3, 7), "device")
    st.add_session(g.make_log(g.THREE_A_WEEK, 4), SERIAL, None, "unknown")
    assert [s["seq"] for s in st.sessions()] == [4, 3, 2, 1]  # unknown time: by when pulled
    assert [s["seq"] for s in st.sessions(routine="back-basics")] == [2, 1]
    assert [s["seq"] for s in st.sessions(since=g.ts(2024, 5, 2, 0))] == [3, 2]
    assert [s["seq"] for s in st.sessions(until=g.ts(2024, 5, 2, 0))] == [1]
    assert [s["seq"] for s in st.sessions(limit=2)] == [4, 3]
    assert st.count_sessions(routine="hips") == 2


def test_a_real_device_log_goes_through_sessionlog_into_the_store(st):
    log = g.make_log(g.TWICE_DAILY, 12, wall=int(g.ts(2024, 5, 1)), skip={3}, discomfort={5}, short={1: 20000},
                     pauses={2: 1}, resumed=1)
    parsed = sessionlog.read(g.encode_log(log))
    assert not parsed["torn"] and parsed["seq"] == 12 and len(parsed["resumed"]) == 1
    assert st.add_session(parsed, SERIAL, parsed["wall"], "device")
    s = st.sessions()[0]
    assert (s["holds_short"], s["holds_skipped"], s["discomfort"], s["resumed"]) == (1, 1, 1, 1)
    assert s["routine_hash"] == g.doc_hash(g.TWICE_DAILY)
    assert s["duration_ms"] == parsed["end_offset_ms"]
    steps = st.steps(s["id"])
    assert steps[3]["skipped"] and steps[5]["discomfort"] and steps[2]["pauses"] == 1
    assert [(t["kind"], t["side"]) for t in steps[:6]] == [("prep", "left"), ("hold", "left"), ("rest", "left"),
                                                           ("hold", "left"), ("switch", "right"), ("hold", "right")]


def test_a_reader_sees_the_last_commit_while_a_pull_is_writing(tmp_path):
    path = str(tmp_path / "h.sqlite3")
    w = Store(path)
    w.add_session(g.make_log(g.TWICE_DAILY, 1), SERIAL, None, "unknown")
    r = Store(path)
    w.db.execute("BEGIN IMMEDIATE")
    w.db.execute("DELETE FROM steps")
    w.db.execute("UPDATE sessions SET routine_id = 'x'")
    t0 = time.monotonic()
    assert r.count() == 1 and r.sessions()[0]["routine_id"] == "back-basics"  # not blocked, old data
    assert len(r.steps(r.sessions()[0]["id"])) == r.sessions()[0]["steps_logged"]
    assert time.monotonic() - t0 < 1
    w.db.execute("ROLLBACK")
    w.add_session(g.make_log(g.TWICE_DAILY, 2), SERIAL, None, "unknown")
    assert r.count() == 2
    r.close()
    w.close()


def _add_all(path, n, out):
    s = Store(path)
    new = sum(1 for k in range(n) if s.add_session(g.make_log(g.THREE_A_WEEK, k), SERIAL, None, "unknown"))
    s.close()
    out.put(new)


def test_two_pulls_at_once_store_each_session_once(tmp_path):
    path = str(tmp_path / "h.sqlite3")
    Store(path).close()
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_add_all, args=(path, 60, q)) for _ in range(2)]
    for p in procs:
        p.start()
    news = [q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert sum(news) == 60
    s = Store(path)
    assert s.count() == 60
    assert s.db.execute("SELECT COUNT(*) FROM steps").fetchone()[0] == 60 * len(list(g.plan.steps(g.THREE_A_WEEK)))
    s.close()


WRITER = r"""
import sys
sys.path[:0] = sys.argv[3:]
import reviewgen as g
from holdtimer.store import Store
s = Store(sys.argv[1])
print("ready", flush=True)
for k in range(int(sys.argv[2])):
    s.add_session(g.make_log(g.TWICE_DAILY, k), "E6614103E7", None, "unknown")
"""


def test_a_pull_killed_mid_write_leaves_only_whole_sessions(tmp_path):
    path = str(tmp_path / "h.sqlite3")
    here = os.path.dirname(os.path.abspath(__file__))
    p = subprocess.Popen([sys.executable, "-c", WRITER, path, "100000", here, g._FW], stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(0.6)
    p.send_signal(signal.SIGKILL)
    p.wait()
    s = Store(path)
    n = s.count()
    assert 0 < n < 100000
    assert s.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    bad = s.db.execute("SELECT COUNT(*) FROM sessions s WHERE steps_logged != "
                       "(SELECT COUNT(*) FROM steps t WHERE t.session_id = s.id)").fetchone()[0]
    assert bad == 0
    # and pulling all of them again adds exactly the missing ones
    added = sum(1 for k in range(n + 5) if s.add_session(g.make_log(g.TWICE_DAILY, k), SERIAL, None, "unknown"))
    assert added == 5 and s.count() == n + 5
    s.close()
