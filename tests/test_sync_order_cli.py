"""`holdtimer sync` checks everything it can before it touches the device: routine files, the port,
and that the store takes the writes made after the sync (damaged, read-only or locked store)."""
import os
import sqlite3

import pytest

from conftest import ROUTINES
from holdtimer import cli
from holdtimer import link as hostlink
from holdtimer import store as store_mod
from holdtimer.store import Store

REAL_CONNECT = sqlite3.connect


class Untouchable:
    """A device client that records being used at all."""
    used = []

    def __init__(self, *a, **k):
        Untouchable.used.append("opened")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __getattr__(self, name):
        Untouchable.used.append(name)
        raise AssertionError("the device was used: " + name)


@pytest.fixture
def setup(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOLDTIMER_HOME", str(home))
    master, slave = os.openpty()
    monkeypatch.setattr(hostlink, "Client", Untouchable)
    Untouchable.used = []
    path = str(home / store_mod.DB_NAME)
    with Store(path) as s:  # a store with something in every table
        for name in sorted(os.listdir(ROUTINES)):
            data = open(os.path.join(ROUTINES, name), "rb").read()
            s.add_routine(data, name)
    yield path, os.ttyname(slave)
    os.close(master)
    os.close(slave)


def sync(capsys, port):
    capsys.readouterr()
    rc = cli.main(["sync", ROUTINES, "--port", port])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, err


def test_a_damaged_store_stops_sync_before_the_device(setup, capsys):
    path, port = setup
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.seek(4096)
        f.write(b"\xa5" * (size - 4096))
    rc, err = sync(capsys, port)
    assert rc == 1 and "is damaged" in err and "pull --all" in err
    assert Untouchable.used == []


def test_a_read_only_store_stops_sync_before_the_device(setup, capsys, monkeypatch):
    path, port = setup

    def ro(database, *a, **k):
        return REAL_CONNECT("file:%s?mode=ro" % database, *a, uri=True, **{x: v for x, v in k.items() if x != "uri"})
    monkeypatch.setattr(sqlite3, "connect", ro)
    rc, err = sync(capsys, port)
    assert rc == 1 and "is read-only" in err
    assert Untouchable.used == []


def test_a_locked_store_stops_sync_before_the_device(setup, capsys, monkeypatch):
    path, port = setup
    monkeypatch.setattr(store_mod, "BUSY_TIMEOUT_MS", 0)
    other = REAL_CONNECT(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        rc, err = sync(capsys, port)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert rc == 1 and "is locked" in err
    assert Untouchable.used == []


def test_the_rehearsal_leaves_the_store_as_it_was(setup):
    path, _ = setup
    from holdtimer.commands import sync as sync_cmd
    items = sync_cmd.prepare(sync_cmd.collect([ROUTINES]))
    with Store(path) as s:
        before = sorted(s.routines())
        n = s.db.execute("SELECT COUNT(*) FROM routines").fetchone()[0]
        s.rehearse(lambda st: sync_cmd.remember(st, items))
        assert s.db.execute("SELECT COUNT(*) FROM routines").fetchone()[0] == n
        assert sorted(s.routines()) == before
        sync_cmd.remember(s, items)
        assert s.db.execute("SELECT COUNT(*) FROM routines").fetchone()[0] == n + len(items)


def test_pull_checks_the_store_before_the_device(setup, capsys, monkeypatch):
    path, port = setup
    monkeypatch.setattr(store_mod, "BUSY_TIMEOUT_MS", 0)
    other = REAL_CONNECT(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        capsys.readouterr()
        rc = cli.main(["pull", "--port", port])
        err = capsys.readouterr().err
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert rc == 1 and "is locked" in err and "Traceback" not in err
    assert Untouchable.used == []
