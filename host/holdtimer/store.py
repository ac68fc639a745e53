"""The local store: pulled sessions, their steps and known routine documents in one SQLite file.

The file is `<data dir>/holdtimer.sqlite3`, where the data dir is $HOLDTIMER_HOME or
platformdirs' user data dir for "holdtimer". The schema is versioned (PRAGMA user_version) and
brought up to date by MIGRATIONS, each one transaction. The database runs in WAL mode with a busy
timeout, so `history` can read while `pull` writes, and `synchronous=FULL`, so a session that
`add_session` has committed survives a power cut: the device deletes a log only after that.

A session is identified by its log's random uid (written in the log header by firmware since
issue 9; a log without one by device serial, seq and its header): adding the same session twice is a
no-op, which makes `pull` idempotent, and a reflashed device's new session 1 is a new session. docs/review.md documents the schema.
"""
import functools
import hashlib
import json
import os
import sqlite3
import time

from holdtimer.errors import UserError

DB_NAME = "holdtimer.sqlite3"
TIME_SOURCES = ("device", "reconstructed", "unknown")
WORK_KINDS = ("hold", "tempo", "press")  # steps where the user works (the rest is prep/rest/switch)
SHORT_MS = 1000  # a hold is "cut short" when it ended more than this before its planned time
# Step kinds as plan.KIND_NAMES numbers them, used when the firmware's plan module is not there.
_KINDS = ("prep", "hold", "rest", "switch", "srest", "tempo", "press")
_SIDES = {0: "none", 1: "left", 2: "right"}


BUSY_TIMEOUT_MS = 10000  # how long a command waits for another one's write to end


class StoreError(UserError):
    """A SQLite error on the store, as one line that says what is wrong and what to do."""


def data_dir(create=True):
    """The directory of the store: $HOLDTIMER_HOME, else the user data dir (holdtimer.paths)."""
    from holdtimer import paths
    return os.path.abspath(os.path.expanduser(paths.data_dir(create)))


def db_path(create=True):
    return os.path.join(data_dir(create), DB_NAME)


DAMAGED = ("move it aside (keep it as a backup), then `holdtimer pull --all` re-reads the sessions "
           "still on the device into a new store")


def diagnose(e, path):
    """One line for sqlite3 error `e` on the store `path`: what is wrong and what to do."""
    name = getattr(e, "sqlite_errorname", None) or ""
    text = str(e)
    low = text.lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in low:
        return ("the store %s is locked by another holdtimer command (a pull or sync still running?): "
                "let it finish, then run this again" % path)
    if name.startswith("SQLITE_READONLY") or "readonly database" in low:
        return ("the store %s is read-only (%s): this command writes to it; make the file and its folder "
                "writable, or set HOLDTIMER_HOME to a writable directory" % (path, text))
    if name == "SQLITE_FULL" or "disk is full" in low:
        return ("the disk holding the store %s is full: free some room and run this again (nothing "
                "half-written was kept)" % path)
    if (name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in low
            or "not a database" in low or "no such table" in low or "no such column" in low):
        return "the store %s is damaged or not a holdtimer store (%s): %s" % (path, text, DAMAGED)
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in low:
        return ("cannot open the store %s (%s): set HOLDTIMER_HOME to a directory you can read and "
                "write" % (path, text))
    if name.startswith("SQLITE_IOERR") or "disk i/o error" in low:
        return ("cannot read or write the store %s (disk I/O error: %s): check the disk (is it full, "
                "removed, or failing?) and run this again" % (path, text))
    return "the store %s: %s (%s)" % (path, text, name or e.__class__.__name__)


def _connect(path, readonly=False):
    """A connection to the store file; `readonly` opens it without ever writing (no journal change)."""
    if readonly:
        from urllib.parse import quote
        db = sqlite3.connect("file:%s?mode=ro" % quote(os.path.abspath(path)), uri=True,
                             timeout=BUSY_TIMEOUT_MS / 1000.0, isolation_level=None)
    else:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000.0, isolation_level=None)
    db.execute("PRAGMA busy_timeout = %d" % BUSY_TIMEOUT_MS)
    return db


def session_uid(device_serial, seq, log_uid=None, salt=None):
    """The id a user types for a session (12 hex digits, stable across machines and pulls): from the
    device serial and the log's random uid (version 2 logs); a version 1 log has none, so its id comes
    from the serial and seq (and `salt`, the header's boot and uptime, when another session of that
    device already has that seq: a reflashed device)."""
    if log_uid:
        key = "%s/u/%s" % (device_serial, log_uid)
    elif salt is not None:
        key = "%s/%d/%s" % (device_serial, seq, salt)
    else:
        key = "%s/%d" % (device_serial, seq)
    return hashlib.sha256(key.encode()).hexdigest()[:12]


# ---------------------------------------------------------------- schema and migrations
def _m1_initial(db):
    db.execute("""CREATE TABLE routines (
        hash TEXT PRIMARY KEY,          -- content hash of the compact routine bytes
        id TEXT NOT NULL,
        name TEXT,                      -- NULL while only the id is known (seen in a log)
        freq_n INTEGER,
        freq_per TEXT,                  -- 'day' or 'week'
        json TEXT,                      -- the routine document, NULL while unknown
        added_at REAL NOT NULL)""")
    db.execute("CREATE INDEX routines_by_id ON routines(id, added_at)")
    db.execute("""CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,       -- session_uid(device, seq): what `history SESSION` takes
        device TEXT NOT NULL,           -- device serial number
        seq INTEGER NOT NULL,           -- the device's log sequence number
        routine_id TEXT NOT NULL,
        routine_hash TEXT,
        started_at REAL,                -- unix seconds (UTC); NULL when unknown
        time_source TEXT NOT NULL CHECK (time_source IN ('device', 'reconstructed', 'unknown')),
        sort_at REAL NOT NULL,          -- started_at; unknown: next to the device's previous session
        boot INTEGER,
        uptime_ms INTEGER,
        planned_steps INTEGER,
        end_reason TEXT,                -- NULL: the log has no end record (unfinished)
        torn INTEGER NOT NULL DEFAULT 0,
        resumed INTEGER NOT NULL DEFAULT 0,
        duration_ms INTEGER NOT NULL DEFAULT 0,
        steps_logged INTEGER NOT NULL DEFAULT 0,
        steps_done INTEGER NOT NULL DEFAULT 0,
        steps_skipped INTEGER NOT NULL DEFAULT 0,
        holds INTEGER NOT NULL DEFAULT 0,
        holds_short INTEGER NOT NULL DEFAULT 0,
        holds_skipped INTEGER NOT NULL DEFAULT 0,
        discomfort INTEGER NOT NULL DEFAULT 0,
        pauses INTEGER NOT NULL DEFAULT 0,
        work_planned_ms INTEGER NOT NULL DEFAULT 0,  -- timed holds and tempo sets (press reps not)
        work_ms INTEGER NOT NULL DEFAULT 0,
        pulled_at REAL NOT NULL,
        UNIQUE (device, seq))""")
    db.execute("CREATE INDEX sessions_by_time ON sessions(sort_at)")
    db.execute("CREATE INDEX sessions_by_routine ON sessions(routine_id, sort_at)")
    db.execute("CREATE INDEX sessions_by_start ON sessions(started_at)")
    db.execute("""CREATE TABLE steps (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        pos INTEGER NOT NULL,           -- position of the record in the log
        i INTEGER NOT NULL,             -- step index in the plan
        kind TEXT NOT NULL,             -- prep hold rest switch srest tempo press
        ex INTEGER NOT NULL,            -- exercise index, 0-based
        ex_name TEXT,                   -- from the routine document when known
        set_no INTEGER NOT NULL,
        rep INTEGER NOT NULL,
        side TEXT NOT NULL,             -- none left right
        planned_ms INTEGER NOT NULL,
        actual_ms INTEGER NOT NULL,
        skipped INTEGER NOT NULL,
        discomfort INTEGER NOT NULL,
        pauses INTEGER NOT NULL,
        offset_ms INTEGER,
        ended INTEGER NOT NULL,         -- the session was ended during this step
        PRIMARY KEY (session_id, pos)) WITHOUT ROWID""")


def _m2_session_identity(db):
    """Sessions are told apart by their log's random uid (log header version 2), not by (device, seq):
    seq restarts at 1 on an erased or reflashed device and every simulated device has the same serial.
    SQLite cannot drop the old UNIQUE (device, seq), so both tables are rebuilt (steps first, so that
    dropping the old sessions cascades to nothing) and renamed into place."""
    cols = [r[1] for r in db.execute("PRAGMA table_info(sessions)")]
    create = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'sessions'").fetchone()[0]
    create = create.replace(",\n        UNIQUE (device, seq))", ")").replace("UNIQUE (device, seq)", "")
    create = create.replace("CREATE TABLE sessions (", "CREATE TABLE sessions_new (\n        log_uid TEXT,"
                            "           -- the log header's random uid (NULL: a version 1 log, which has none)", 1)
    db.execute(create)
    steps = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'steps'").fetchone()[0]
    db.execute(steps.replace("CREATE TABLE steps (", "CREATE TABLE steps_new (", 1)
               .replace("REFERENCES sessions(id)", "REFERENCES sessions_new(id)"))
    db.execute("INSERT INTO sessions_new(%s) SELECT %s FROM sessions" % (", ".join(cols), ", ".join(cols)))
    db.execute("INSERT INTO steps_new SELECT * FROM steps")
    db.execute("DROP TABLE steps")
    db.execute("DROP TABLE sessions")
    db.execute("ALTER TABLE sessions_new RENAME TO sessions")
    db.execute("ALTER TABLE steps_new RENAME TO steps")
    db.execute("CREATE INDEX sessions_by_time ON sessions(sort_at)")
    db.execute("CREATE INDEX sessions_by_routine ON sessions(routine_id, sort_at)")
    db.execute("CREATE INDEX sessions_by_start ON sessions(started_at)")
    db.execute("CREATE INDEX sessions_by_device_seq ON sessions(device, seq)")
    db.execute("CREATE INDEX sessions_by_log_uid ON sessions(log_uid)")


# Each step brings a store from version i to i + 1, in one transaction. A new store runs them all in
# order, so a step must work on what the steps before it made (tests/test_store.py runs every prefix
# of this list, and an extra step, on new and old stores).
MIGRATIONS = [_m1_initial, _m2_session_identity]
SCHEMA_VERSION = len(MIGRATIONS)


def _migrate(db):
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise UserError("the store %s was written by a newer holdtimer (schema %d, this one knows %d): "
                        "upgrade holdtimer" % (db_file(db), version, SCHEMA_VERSION))
    while version < SCHEMA_VERSION:
        db.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA_VERSION:
                MIGRATIONS[version](db)
                version += 1
                db.execute("PRAGMA user_version = %d" % version)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back by itself (a full disk)
                db.execute("ROLLBACK")
            raise


def db_file(db):
    row = db.execute("PRAGMA database_list").fetchone()
    return row[2] if row else "?"


# ---------------------------------------------------------------- converting a parsed log
def kind_name(kind):
    """A step kind as text: plan.KIND_NAMES for the firmware's small ints, or the name itself."""
    if isinstance(kind, str):
        return kind.lower()
    names = None
    try:
        from holdtimer import fw
        names = getattr(fw.load("plan"), "KIND_NAMES", None)
    except Exception:  # the plan module is optional here: fall back to the documented order
        names = None
    try:
        if names is not None:
            return str(names[kind]).lower()
    except (KeyError, IndexError, TypeError):
        pass
    return _KINDS[kind] if 0 <= kind < len(_KINDS) else "kind%d" % kind


def side_name(side):
    if isinstance(side, str):
        return side.lower() or "none"
    return _SIDES.get(side, "none")


def _flag(v):
    return 1 if v else 0


def step_rows(parsed, names=None):
    """The parsed log's steps as dicts in store form (text kind and side, 0/1 flags)."""
    rows = []
    cache = {}
    for pos, s in enumerate(parsed.get("steps") or ()):
        k = s.get("kind", 1)
        if k not in cache:
            cache[k] = kind_name(k)
        ex = int(s.get("ex") or 0)
        rows.append({
            "pos": pos, "i": int(s.get("i", pos)), "kind": cache[k], "ex": ex,
            "ex_name": names[ex] if names and 0 <= ex < len(names) else None,
            "set": int(s.get("set") or 0), "rep": int(s.get("rep") or 0),
            "side": side_name(s.get("side", 0)),
            "planned_ms": int(s.get("planned_ms") or 0), "actual_ms": int(s.get("actual_ms") or 0),
            "skipped": _flag(s.get("skipped")), "discomfort": _flag(s.get("discomfort")),
            "pauses": int(s.get("pauses") or 0),
            "offset_ms": None if s.get("offset_ms") is None else int(s.get("offset_ms")),
            "ended": _flag(s.get("ended")),
        })
    return rows


def is_short(step):
    """A work step that ran more than SHORT_MS under its planned time (skipped steps are not short)."""
    return (step["kind"] in WORK_KINDS and not step["skipped"] and step["planned_ms"] > 0
            and step["actual_ms"] < step["planned_ms"] - SHORT_MS)


def summarize(parsed, steps):
    """The per-session aggregates kept in the sessions table (so `history` reads no steps)."""
    work = [s for s in steps if s["kind"] in WORK_KINDS]
    # Wall duration from the step offsets (pauses included); the sum of the steps without them.
    ends = [s["offset_ms"] + s["actual_ms"] for s in steps if s["offset_ms"] is not None]
    if parsed.get("end_offset_ms"):  # the end record's session time (pauses included)
        ends.append(int(parsed["end_offset_ms"]))
    duration = max(ends) if ends else sum(s["actual_ms"] for s in steps)
    planned = parsed.get("planned_steps")
    return {
        "planned_steps": None if planned is None else int(planned),
        "duration_ms": duration,
        "steps_logged": len(steps),
        "steps_done": sum(1 for s in steps if not s["skipped"]),
        "steps_skipped": sum(1 for s in steps if s["skipped"]),
        "holds": len(work),
        "holds_short": sum(1 for s in work if is_short(s)),
        "holds_skipped": sum(1 for s in work if s["skipped"]),
        "discomfort": sum(1 for s in steps if s["discomfort"]),
        "pauses": sum(s["pauses"] for s in steps),
        # timed work only (press reps have no planned time: held against planned would mislead)
        "work_planned_ms": sum(s["planned_ms"] for s in work if s["planned_ms"] > 0),
        "work_ms": sum(s["actual_ms"] for s in work if s["planned_ms"] > 0),
    }


def routine_fields(doc):
    freq = doc.get("freq") if isinstance(doc.get("freq"), dict) else {}
    return {"id": doc.get("id"), "name": doc.get("name"), "freq_n": freq.get("n"),
            "freq_per": freq.get("per"), "json": json.dumps(doc, sort_keys=True, separators=(",", ":"))}


def exercise_names(doc):
    return [str(e.get("name", "#%d" % (i + 1))) for i, e in enumerate(doc.get("ex") or ())]


_SESSION_COLS = ("uid", "log_uid", "device", "seq", "routine_id", "routine_hash", "started_at", "time_source",
                 "sort_at", "boot", "uptime_ms", "planned_steps", "end_reason", "torn", "resumed",
                 "duration_ms", "steps_logged", "steps_done", "steps_skipped", "holds", "holds_short",
                 "holds_skipped", "discomfort", "pauses", "work_planned_ms", "work_ms", "pulled_at")
_STEP_COLS = ("session_id", "pos", "i", "kind", "ex", "ex_name", "set_no", "rep", "side", "planned_ms",
              "actual_ms", "skipped", "discomfort", "pauses", "offset_ms", "ended")
_SOURCE_RANK = {"device": 2, "reconstructed": 1, "unknown": 0}


# ---------------------------------------------------------------- the store
class Store:
    """One open store. `Store()` opens (and creates, and migrates) the default store."""

    def __init__(self, path=None, create=True, readonly=False):
        """Open the store at `path` (default: db_path()). `readonly`: for commands that only read;
        the file is never written (a read-only store works) unless its schema must be migrated."""
        self.path = path or db_path(create=not readonly)
        if (readonly or not create) and not os.path.exists(self.path):
            raise FileNotFoundError(self.path)
        self.readonly = readonly
        self.db = None
        try:
            if readonly:
                self.db = _connect(self.path, readonly=True)
                version = self.db.execute("PRAGMA user_version").fetchone()[0]
                if version < SCHEMA_VERSION:  # an older store: migrate it once, with write access
                    self.db.close()
                    self.db = None
                    try:
                        self._open_rw()
                    except StoreError as e:
                        raise StoreError("the store %s needs an upgrade to this holdtimer's schema (%d to %d) "
                                         "and cannot be written: %s" % (self.path, version, SCHEMA_VERSION, e)) from None
                else:
                    self.wal = None
                    self._setup()
            else:
                self._open_rw()
        except sqlite3.Error as e:
            self._close_quietly()
            raise StoreError(diagnose(e, self.path)) from None
        except BaseException:
            self._close_quietly()
            raise

    def _open_rw(self):
        d = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(d, exist_ok=True)
        except OSError as e:
            raise UserError("cannot create the store's folder %s (%s): set HOLDTIMER_HOME to a writable directory"
                            % (d, e.strerror or e.__class__.__name__)) from None
        self.db = _connect(self.path)
        try:
            mode = self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            self.wal = mode.lower() == "wal"
            self._setup()
            _migrate(self.db)
        except sqlite3.Error as e:
            self._close_quietly()
            raise StoreError(diagnose(e, self.path)) from None

    def _setup(self):
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.row_factory = sqlite3.Row
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            _migrate(self.db)  # says: written by a newer holdtimer

    def _close_quietly(self):
        if self.db is not None:
            try:
                self.db.close()
            except sqlite3.Error:
                pass
            self.db = None

    def close(self):
        self.db.close()

    def rehearse(self, fn):
        """Run fn(self) in a transaction that is then rolled back: StoreError now if the store cannot
        take those writes (locked, read-only, damaged where they go), before a command acts on the
        device. A full disk may still show only when the writes are really made."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            fn(self)
        finally:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def version(self):
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    # -------------------------------------------------- writing
    def _transaction(self):
        return _Tx(self.db)

    def add_routine(self, doc, hash):
        """Record a routine document (a validated dict, or its compact JSON bytes as sent to the device)
        under its content hash; fills in the exercise names of sessions pulled while only the
        routine's id was known. Reports then know its name, exercises and prescribed frequency."""
        if isinstance(doc, (bytes, bytearray, str)):
            doc = json.loads(doc)
        f = routine_fields(doc)
        now = time.time()
        names = exercise_names(doc)
        with self._transaction():
            self.db.execute(
                "INSERT INTO routines(hash, id, name, freq_n, freq_per, json, added_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(hash) DO UPDATE SET id=excluded.id,"
                " name=excluded.name, freq_n=excluded.freq_n, freq_per=excluded.freq_per,"
                " json=excluded.json, added_at=CASE WHEN routines.json IS NULL THEN excluded.added_at"
                " ELSE routines.added_at END",
                (hash, f["id"], f["name"], f["freq_n"], f["freq_per"], f["json"], now))
            ids = [r[0] for r in self.db.execute(
                "SELECT id FROM sessions WHERE routine_hash = ? AND id IN"
                " (SELECT DISTINCT session_id FROM steps WHERE ex_name IS NULL)", (hash,))]
            for sid in ids:
                self.db.executemany(
                    "UPDATE steps SET ex_name = ? WHERE session_id = ? AND ex = ? AND ex_name IS NULL",
                    [(n, sid, i) for i, n in enumerate(names)])

    def routine_doc(self, hash):
        row = self.db.execute("SELECT json FROM routines WHERE hash = ?", (hash,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def add_session(self, parsed, device_serial, wall_start=None, wall_source="unknown"):
        """Insert a parsed session log (sessionlog.read) with its steps in one transaction.
        Returns True if the session is new, False if the store had it (same device serial and seq)."""
        return self.put_session(parsed, device_serial, wall_start, wall_source) == "new"

    def put_session(self, parsed, device_serial, wall_start=None, wall_source="unknown"):
        """Like add_session, returning "new", "same" (already stored), or "updated": the stored copy
        was unfinished (no end record) and this log has more of it (a resumed session, pulled again)."""
        if wall_source not in TIME_SOURCES:
            raise ValueError("wall_source must be one of %s" % (TIME_SOURCES,))
        if wall_start is None:
            wall_source = "unknown"
        seq = int(parsed["seq"])
        rhash = parsed.get("routine_hash")
        rid = str(parsed.get("routine_id") or "?")
        now = time.time()
        with self._transaction():
            names = None
            if rhash:
                doc = self.routine_doc(rhash)
                if doc is not None:
                    names = exercise_names(doc)
                else:  # remember the routine by id, so a later sync can fill in its document
                    self.db.execute("INSERT OR IGNORE INTO routines(hash, id, added_at) VALUES (?, ?, ?)",
                                    (rhash, rid, now))
            steps = step_rows(parsed, names)
            sort_at = float(wall_start) if wall_start is not None else self._place(str(device_serial), seq, now)
            uid = self._identity(str(device_serial), seq, parsed)
            row = {"uid": uid, "log_uid": parsed.get("uid") or None, "device": str(device_serial), "seq": seq,
                   "routine_id": rid, "routine_hash": rhash,
                   "started_at": None if wall_start is None else float(wall_start),
                   "time_source": wall_source, "sort_at": sort_at,
                   "boot": parsed.get("boot"), "uptime_ms": parsed.get("uptime_ms"),
                   "end_reason": None if parsed.get("end") is None else str(parsed.get("end")),
                   "torn": _flag(parsed.get("torn")), "resumed": len(parsed.get("resumed") or ()),
                   "pulled_at": now}
            row.update(summarize(parsed, steps))
            cur = self.db.execute(
                "INSERT OR IGNORE INTO sessions(%s) VALUES (%s)" % (
                    ", ".join(_SESSION_COLS), ", ".join("?" * len(_SESSION_COLS))),
                [row[c] for c in _SESSION_COLS])
            if cur.rowcount == 1:
                self._insert_steps(cur.lastrowid, steps)
                return "new"
            old = self.db.execute("SELECT id, end_reason, steps_logged, started_at, time_source, sort_at"
                                  " FROM sessions WHERE uid = ?", (uid,)).fetchone()
            grew = row["end_reason"] is not None or row["steps_logged"] > old["steps_logged"]
            if old["end_reason"] is not None or not grew:
                return "same"
            if _SOURCE_RANK[old["time_source"]] > _SOURCE_RANK[row["time_source"]]:
                row["started_at"], row["time_source"] = old["started_at"], old["time_source"]
                row["sort_at"] = old["sort_at"]
            if row["started_at"] is None:
                row["sort_at"] = old["sort_at"]
            row["pulled_at"] = now
            cols = [c for c in _SESSION_COLS if c not in ("uid", "log_uid", "device", "seq")]
            self.db.execute("UPDATE sessions SET %s WHERE id = ?" % ", ".join(c + " = ?" for c in cols),
                            [row[c] for c in cols] + [old["id"]])
            self.db.execute("DELETE FROM steps WHERE session_id = ?", (old["id"],))
            self._insert_steps(old["id"], steps)
            return "updated"

    def _identity(self, device, seq, parsed):
        """The uid of this log's session: from its random log uid (version 2); a version 1 log is the
        stored session of that device and seq only if its header says the same boot, uptime and
        routine, else another session that happens to have the same seq (a reflashed device)."""
        if parsed.get("uid"):
            return session_uid(device, seq, parsed["uid"])
        uid = session_uid(device, seq)
        old = self.db.execute("SELECT boot, uptime_ms, routine_hash FROM sessions WHERE uid = ?", (uid,)).fetchone()
        if old is None or (old["boot"], old["uptime_ms"], old["routine_hash"]) == (
                parsed.get("boot"), parsed.get("uptime_ms"), parsed.get("routine_hash")):
            return uid
        return session_uid(device, seq, salt="%s/%s/%s" % (parsed.get("boot"), parsed.get("uptime_ms"),
                                                           parsed.get("routine_hash")))

    def _place(self, device, seq, now):
        """Where a session of unknown time sorts: just after the device's previous session of known
        time (log numbers only grow), else just before its next one, else when pulled."""
        row = self.db.execute("SELECT started_at FROM sessions WHERE device = ? AND seq < ? AND started_at"
                              " IS NOT NULL ORDER BY seq DESC LIMIT 1", (device, seq)).fetchone()
        if row:
            return row[0] + 1.0
        row = self.db.execute("SELECT started_at FROM sessions WHERE device = ? AND seq > ? AND started_at"
                              " IS NOT NULL ORDER BY seq LIMIT 1", (device, seq)).fetchone()
        return row[0] - 1.0 if row else now

    def _insert_steps(self, session_id, steps):
        self.db.executemany(
            "INSERT INTO steps(%s) VALUES (%s)" % (", ".join(_STEP_COLS), ", ".join("?" * len(_STEP_COLS))),
            [(session_id, s["pos"], s["i"], s["kind"], s["ex"], s["ex_name"], s["set"], s["rep"], s["side"],
              s["planned_ms"], s["actual_ms"], s["skipped"], s["discomfort"], s["pauses"], s["offset_ms"],
              s["ended"]) for s in steps])

    # -------------------------------------------------- reading
    def count(self):
        return self.db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]

    def routines(self):
        """{routine id: dict(id, hash, name, freq_n, freq_per, doc, names)} for the newest known
        document of each id (or just the id when no document is known)."""
        out = {}
        for r in self.db.execute("SELECT * FROM routines ORDER BY (json IS NOT NULL), added_at"):
            doc = json.loads(r["json"]) if r["json"] else None
            out[r["id"]] = {"id": r["id"], "hash": r["hash"], "name": r["name"], "freq_n": r["freq_n"],
                            "freq_per": r["freq_per"], "doc": doc,
                            "names": exercise_names(doc) if doc else None}
        return out

    def exercise_names(self):
        """{(routine id, ex index): name} from every known routine document (newest wins)."""
        out = {}
        for r in self.db.execute("SELECT id, json FROM routines WHERE json IS NOT NULL ORDER BY added_at"):
            for i, n in enumerate(exercise_names(json.loads(r["json"]))):
                out[(r["id"], i)] = n
        return out

    @staticmethod
    def _where(routine=None, since=None, until=None, alias=""):
        """SQL filter: routine id, start time in [since, until) (unix seconds; sessions of unknown
        time are left out when either bound is given)."""
        a = alias + "." if alias else ""
        clauses, params = [], []
        if routine:
            clauses.append(a + "routine_id = ?")
            params.append(routine)
        if since is not None:
            clauses.append(a + "started_at >= ?")
            params.append(since)
        if until is not None:
            clauses.append(a + "started_at < ?")
            params.append(until)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def sessions(self, routine=None, since=None, until=None, limit=None, oldest_first=False):
        """Session rows as dicts, newest first (by start time; unknown times by when pulled)."""
        where, params = self._where(routine, since, until)
        sql = "SELECT * FROM sessions" + where + " ORDER BY sort_at %s, seq %s" % (
            ("ASC", "ASC") if oldest_first else ("DESC", "DESC"))
        if limit:
            sql += " LIMIT %d" % int(limit)
        return [dict(r) for r in self.db.execute(sql, params)]

    def count_sessions(self, routine=None, since=None, until=None):
        where, params = self._where(routine, since, until)
        return self.db.execute("SELECT COUNT(*) FROM sessions" + where, params).fetchone()[0]

    def find_session(self, key):
        """The session whose id starts with `key` (or `SERIAL:SEQ`); UserError when none or several."""
        key = key.strip()
        if ":" in key:
            serial, _, seq = key.rpartition(":")
            if seq.isdigit():
                row = self.db.execute("SELECT * FROM sessions WHERE device = ? AND seq = ?",
                                      (serial, int(seq))).fetchone()
                if row:
                    return dict(row)
        k = key.lower()
        if not k or any(c not in "0123456789abcdef" for c in k):
            raise UserError("no session %r: give a session id from `holdtimer history` (or a unique prefix)" % key)
        rows = self.db.execute("SELECT * FROM sessions WHERE uid >= ? AND uid < ? ORDER BY sort_at DESC LIMIT 6",
                               (k, k + "g")).fetchall()
        if not rows:
            raise UserError("no session %r in the store: `holdtimer history` lists the session ids" % key)
        if len(rows) > 1:
            raise UserError("session id %r is ambiguous (%s%s): give more of it" % (
                key, ", ".join(r["uid"][:8] for r in rows[:5]), ", ..." if len(rows) > 5 else ""))
        return dict(rows[0])

    def steps(self, session_id):
        return [dict(r) for r in self.db.execute(
            "SELECT * FROM steps WHERE session_id = ? ORDER BY pos", (session_id,))]

    def steps_for(self, session_ids):
        """{session id: [step dicts]} for many sessions at once."""
        out = {sid: [] for sid in session_ids}
        ids = list(session_ids)
        for k in range(0, len(ids), 500):
            chunk = ids[k:k + 500]
            for r in self.db.execute("SELECT * FROM steps WHERE session_id IN (%s) ORDER BY session_id, pos"
                                     % ",".join("?" * len(chunk)), chunk):
                out[r["session_id"]].append(dict(r))
        return out

    def step_totals(self, routine=None, since=None, until=None):
        """Steps grouped by routine, exercise and side (for `report`): n, planned_ms, actual_ms, short
        and skipped count the work steps (hold, tempo, press) only; discomfort counts the marks on
        every step (a mark during the switch to the right side belongs to the right side)."""
        where, params = self._where(routine, since, until, alias="s")
        work = "t.kind IN (%s)" % ",".join("'%s'" % k for k in WORK_KINDS)
        sql = ("SELECT s.routine_id AS routine_id, t.ex AS ex, MAX(t.ex_name) AS ex_name, t.side AS side,"
               " SUM(%(w)s) AS n,"
               " SUM(CASE WHEN %(w)s THEN t.planned_ms ELSE 0 END) AS planned_ms,"
               " SUM(CASE WHEN %(w)s THEN t.actual_ms ELSE 0 END) AS actual_ms,"
               " SUM(CASE WHEN %(w)s THEN t.skipped ELSE 0 END) AS skipped,"
               " SUM(t.discomfort) AS discomfort,"
               " SUM(CASE WHEN %(w)s AND t.skipped = 0 AND t.planned_ms > 0 AND t.actual_ms < t.planned_ms - %(s)d"
               " THEN 1 ELSE 0 END) AS short"
               " FROM sessions s JOIN steps t ON t.session_id = s.id%(where)s"
               " GROUP BY s.routine_id, t.ex, t.side ORDER BY s.routine_id, t.ex, t.side"
               ) % {"w": work, "s": SHORT_MS, "where": where}
        return [dict(r) for r in self.db.execute(sql, params)]


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception (an interrupted pull leaves nothing half)."""

    def __init__(self, db):
        self.db = db

    def __enter__(self):
        # inside an open transaction (Store.rehearse): a savepoint, undone with the transaction
        self.nested = self.db.in_transaction
        self.db.execute("SAVEPOINT tx" if self.nested else "BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.db.execute("RELEASE tx" if self.nested else "COMMIT")
        elif self.db.in_transaction:  # SQLite may have rolled back by itself (a full disk)
            self.db.execute("ROLLBACK TO tx" if self.nested else "ROLLBACK")
            if self.nested:
                self.db.execute("RELEASE tx")
        return False


def open_existing():
    """The default store for reading commands (opened read-only), or None when there is none yet."""
    path = db_path(create=False)
    if not os.path.exists(path):
        return None
    return Store(path, readonly=True)


def _guarded(fn):
    @functools.wraps(fn)
    def call(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except sqlite3.Error as e:
            raise StoreError(diagnose(e, self.path)) from None
    return call


# Every method of the store answers a SQLite error (locked, read-only, full disk, damage) as one
# StoreError line: a command never shows a traceback for a store it cannot use.
for _name, _fn in list(vars(Store).items()):
    if _name not in ("__init__", "__enter__", "__exit__") and callable(_fn) and not isinstance(
            _fn, (staticmethod, classmethod, type)):
        setattr(Store, _name, _guarded(_fn))
