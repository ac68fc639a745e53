"""The store's failures as a user meets them: each one line on stderr, exit 1, no traceback, and the
right diagnosis (locked, read-only, full disk, damaged, missing table, HOLDTIMER_HOME unusable)."""
import os
import sqlite3

import pytest

import reviewgen as g
from holdtimer import cli
from holdtimer import store as store_mod
from holdtimer.errors import UserError
from holdtimer.store import Store

SERIAL = "E6614103E7"
REAL_CONNECT = sqlite3.connect


def filled(home):
    """A store in `home` with two sessions; -> its path."""
    path = str(home / store_mod.DB_NAME)
    with Store(path) as s:
        s.add_routine(g.TWICE_DAILY, g.doc_hash(g.TWICE_DAILY))
        s.add_session(g.make_log(g.TWICE_DAILY, 1, wall=int(g.ts(2024, 5, 1, 7))), SERIAL, g.ts(2024, 5, 1, 7), "device")
        s.add_session(g.make_log(g.TWICE_DAILY, 2, wall=int(g.ts(2024, 5, 1, 19))), SERIAL, g.ts(2024, 5, 1, 19), "device")
    return path


def holdtimer(capsys, *argv):
    """Run the CLI in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(rc, err):
    assert rc == 1
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ------------------------------------------------------------------ HOLDTIMER_HOME
def test_holdtimer_home_is_a_file(tmp_path, monkeypatch, capsys):
    f = tmp_path / "afile"
    f.write_text("x")
    monkeypatch.setenv("HOLDTIMER_HOME", str(f))
    for argv in (["history"], ["report"], ["export", "--format", "csv"]):
        line = one_line_error(*holdtimer(capsys, *argv)[::2])
        assert "HOLDTIMER_HOME=%s is a file" % f in line
    with pytest.raises(UserError, match="is a file, not a directory"):
        Store()


def test_holdtimer_home_cannot_be_created(tmp_path, monkeypatch):
    f = tmp_path / "afile"
    f.write_text("x")
    monkeypatch.setenv("HOLDTIMER_HOME", str(f / "sub"))
    with pytest.raises(UserError, match="cannot create HOLDTIMER_HOME=.*writable directory"):
        Store()


def test_reading_commands_do_not_create_the_data_directory(tmp_path, monkeypatch, capsys):
    home = tmp_path / "not-yet"
    monkeypatch.setenv("HOLDTIMER_HOME", str(home))
    rc, out, err = holdtimer(capsys, "history")
    assert rc == 0 and "no sessions" in out
    assert not home.exists()


# ------------------------------------------------------------------ SQLite errors
def test_a_locked_store_says_so(tmp_path, monkeypatch):
    path = filled(tmp_path)
    monkeypatch.setattr(store_mod, "BUSY_TIMEOUT_MS", 0)
    other = REAL_CONNECT(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another command writing
    try:
        with Store(path) as s:
            assert s.count() == 2  # WAL: reading goes on
            with pytest.raises(UserError, match="is locked by another holdtimer command"):
                s.add_routine(g.THREE_A_WEEK, g.doc_hash(g.THREE_A_WEEK))
    finally:
        other.execute("ROLLBACK")
        other.close()


def _full_disk_connect(*args, **kwargs):
    db = REAL_CONNECT(*args, **kwargs)
    db.execute("PRAGMA max_page_count = 1")  # every page past the first: "database or disk is full"
    return db


def test_a_full_disk_while_creating_the_store_says_the_disk_is_full(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite3, "connect", _full_disk_connect)
    with pytest.raises(UserError) as e:
        Store(str(tmp_path / "new.sqlite3"))
    msg = str(e.value)
    assert "is full" in msg and "free some room" in msg
    assert "move it" not in msg and "not a holdtimer" not in msg


def test_a_full_disk_while_writing_says_the_disk_is_full(tmp_path, monkeypatch):
    path = filled(tmp_path)
    monkeypatch.setattr(sqlite3, "connect", _full_disk_connect)
    with Store(path) as s:
        with pytest.raises(UserError, match="is full: free some room"):
            for seq in range(10, 40):
                s.add_session(g.make_log(g.TWICE_DAILY, seq), SERIAL, g.ts(2024, 6, 1), "device")


def _readonly_connect(database, *args, **kwargs):
    """What SQLite does with a file it may not write (a read-only disk, or chmod 444 as a user)."""
    if not kwargs.get("uri"):
        from urllib.parse import quote
        database, kwargs["uri"] = "file:%s?mode=ro" % quote(os.path.abspath(database)), True
    return REAL_CONNECT(database, *args, **kwargs)


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_reading_commands_work_on_a_read_only_store(tmp_path, monkeypatch, capsys, journal):
    path = filled(tmp_path)
    db = REAL_CONNECT(path)
    db.execute("PRAGMA journal_mode = %s" % journal)  # a copied or backed-up store may not be in WAL
    db.close()
    before = open(path, "rb").read()
    monkeypatch.setenv("HOLDTIMER_HOME", str(tmp_path))
    monkeypatch.setattr(sqlite3, "connect", _readonly_connect)
    rc, out, err = holdtimer(capsys, "history")
    assert rc == 0, err
    assert "Sessions, newest first" in out
    sid = "%s:1" % SERIAL
    for argv in (["history", sid], ["report", "--until", "2024-05-02"], ["export", "--format", "json"]):
        rc, out, err = holdtimer(capsys, *argv)
        assert rc == 0, (argv, err)
    assert open(path, "rb").read() == before
    # a command that writes says the store is read-only
    with pytest.raises(UserError, match="is read-only.*writable"):
        with Store(path) as s:
            s.add_routine(g.THREE_A_WEEK, g.doc_hash(g.THREE_A_WEEK))


def test_a_read_only_store_that_needs_a_migration_says_so(tmp_path, monkeypatch, capsys):
    path = filled(tmp_path)
    # this holdtimer knows one migration more than the store has
    monkeypatch.setattr(store_mod, "MIGRATIONS", store_mod.MIGRATIONS + [lambda db: db.execute("CREATE TABLE x(a)")])
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", store_mod.SCHEMA_VERSION + 1)
    monkeypatch.setenv("HOLDTIMER_HOME", str(tmp_path))
    monkeypatch.setattr(sqlite3, "connect", _readonly_connect)
    line = one_line_error(*holdtimer(capsys, "history")[::2])
    assert "needs an upgrade" in line and "read-only" in line


def _damage(path):
    """Overwrite every page but the first (the schema) with junk."""
    size = os.path.getsize(path)
    page = 4096
    assert size > 2 * page
    with open(path, "r+b") as f:
        f.seek(page)
        f.write(b"\xa5" * (size - page))


def test_a_damaged_store_says_pull_all(tmp_path, monkeypatch, capsys):
    path = filled(tmp_path)
    _damage(path)
    monkeypatch.setenv("HOLDTIMER_HOME", str(tmp_path))
    for argv in (["history"], ["history", "abc"], ["report"], ["export", "--format", "csv"]):
        line = one_line_error(*holdtimer(capsys, *argv)[::2])
        assert "is damaged" in line and "holdtimer pull --all" in line, line
    with pytest.raises(UserError, match="damaged.*holdtimer pull --all"):
        with Store(path) as s:
            s.add_routine(g.THREE_A_WEEK, g.doc_hash(g.THREE_A_WEEK))


def test_a_missing_table_says_damaged(tmp_path, monkeypatch, capsys):
    path = filled(tmp_path)
    db = REAL_CONNECT(path)
    db.execute("DROP TABLE steps")
    db.close()
    monkeypatch.setenv("HOLDTIMER_HOME", str(tmp_path))
    sid = "%s:1" % SERIAL
    for argv in (["history", sid], ["report"], ["export", "--format", "csv"]):
        line = one_line_error(*holdtimer(capsys, *argv)[::2])
        assert "is damaged" in line and "no such table: steps" in line and "pull --all" in line, line
