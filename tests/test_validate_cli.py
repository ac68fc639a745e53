"""`holdtimer validate` end to end (subprocess), the same messages under MicroPython, and fuzzing of
routine.parse against Python's json module."""
import json
import os
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIRMWARE, REPO, ROUTINES, run_micropython

import routine

HOLDTIMER = os.path.join(os.path.dirname(sys.executable), "holdtimer")
MALFORMED = os.path.join(REPO, "tests", "malformed")
EXPECTED = json.load(open(os.path.join(MALFORMED, "expected.json"), encoding="utf-8"))
SEEDS = sorted(os.path.join("routines", n) for n in os.listdir(ROUTINES) if n.endswith(".json"))
# "<file>: <place>: <message>"; a place is top, file, line L:C [(byte N)], or a JSON path whose odd
# keys are quoted: ex[2].hold, freq.n, ex[0]["a b"]
PLACE = r'(?:top|file|line \d+:\d+(?: \(byte \d+\))?|(?:[A-Za-z0-9_-]+|\[\d+\]|\["(?:[^"\\]|\\.)*"\]|\.)+)'
LINE = re.compile(r"^(?P<file>.+?): (?P<place>" + PLACE + r"): (?P<msg>.+)$")


def validate(*files, cwd=REPO):
    return subprocess.run([HOLDTIMER, "validate", *files], capture_output=True, text=True, cwd=cwd,
                          timeout=60)


def test_seed_routines_are_valid():
    r = validate(*SEEDS)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert len(lines) == 5
    for path, line in zip(SEEDS, lines):
        m = re.match(r"^ok  (\S+)  \((\d+) exercises, (\d+) bytes, hash ([0-9a-f]{16})\)$", line)
        assert m, line
        assert m.group(1) == path
        doc, errs = routine.parse(open(os.path.join(REPO, path), "rb").read(), path)
        c = routine.compact(doc)
        assert int(m.group(2)) == len(doc["ex"]) and int(m.group(3)) == len(c) < 1000
        assert m.group(4) == routine.content_hash(c)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_malformed_file_fails_with_a_clear_line(name):
    path = os.path.join("tests", "malformed", name)
    r = validate(path)
    assert r.returncode == 1
    assert r.stdout == ""
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert lines
    for line in lines:
        m = LINE.match(line)
        assert m and m.group("file") == path, line
    want = EXPECTED[name]
    assert any(line.startswith("%s: %s: " % (path, want["place"])) and want["error"] in line for line in lines), lines


def test_mixed_files_missing_file_and_directory(tmp_path):
    r = validate(SEEDS[0], "tests/malformed/zero-hold.json", "no/such.json", "routines",
                 SEEDS[0] + "/inside")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert r.stdout.startswith("ok  " + SEEDS[0] + "  (")
    err = r.stderr.splitlines()
    assert err == [
        "tests/malformed/zero-hold.json: ex[0].hold: 0 s is below the minimum; it must be 1..600 s",
        "no/such.json: file: no such file",
        SEEDS[0] + "/inside: file: cannot read it (Not a directory)",
        "holdtimer validate: 3 of %d files have errors" % (3 + len(SEEDS)),
    ], err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path):
    p = tmp_path / "locked.json"
    p.write_bytes(open(os.path.join(ROUTINES, "easy-hamstring.json"), "rb").read())
    p.chmod(0)
    r = validate(str(p))
    assert r.returncode == 1 and r.stderr.strip() == "%s: file: permission denied" % p


def test_huge_file_is_not_read_whole(tmp_path):
    p = tmp_path / "huge.json"
    p.write_bytes(b"{" + b" " * (1 << 20) + b"}")
    r = validate(str(p))
    assert r.returncode == 1
    assert r.stderr.strip() == "%s: file: 1048578 bytes, more than the 4096 a routine may have (shorten `notes` and `why`)" % p


def test_same_id_twice(tmp_path):
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    data = open(os.path.join(ROUTINES, "easy-hamstring.json"), "rb").read()
    a.write_bytes(data)
    b.write_bytes(data)
    r = validate(str(a), str(b))
    assert r.returncode == 1
    assert "%s: id: easy-hamstring is also the id of %s" % (b, a) in r.stderr


def test_no_files_is_a_usage_error():
    r = validate()
    assert r.returncode == 2 and "Traceback" not in r.stderr and "FILE" in r.stderr


# --- the same messages under MicroPython ------------------------------------------------------

SCRIPT = r"""
import os, sys
sys.path.insert(0, %r)
import rcheck  # compiled from .py first, while the heap is empty
import routine
m = %r
r = %r
for n in sorted(os.listdir(m)):
    with open(m + "/" + n, "rb") as f:
        data = f.read()
    doc, errs = routine.parse(data, n)
    for e in errs:
        print(e)
    if doc is not None:
        print(n, routine.content_hash(routine.compact(doc)))
    for cut in range(1, len(data), 97):
        for e in routine.parse(data[:cut], "cut")[1]:
            print(e)
for n in sorted(os.listdir(r)):
    with open(r + "/" + n, "rb") as f:
        data = f.read()
    doc, errs = routine.parse(data, n)
    c = routine.compact(doc)
    print(n, errs, len(c), routine.content_hash(c))
    for cut in range(1, len(data), 41):
        for e in routine.parse(data[:cut] + b"}" + data[cut:], "ins")[1]:
            print(e)
"""


def test_micropython_gives_identical_messages(tmp_path):
    script = tmp_path / "same.py"
    script.write_text(SCRIPT % (FIRMWARE, MALFORMED, ROUTINES))
    cp = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=120)
    assert cp.returncode == 0, cp.stderr
    mp = run_micropython([str(script)], heap_kb=192, timeout=300)
    assert mp.returncode == 0, mp.stderr[-2000:]
    out = cp.stdout.decode("utf-8")
    assert out.count("\n") > 300
    assert mp.stdout == out


# --- fuzzing ----------------------------------------------------------------------------------

SEED_BYTES = [open(os.path.join(REPO, p), "rb").read() for p in SEEDS]
ALPHABET = b'{}[]",:0123456789-.eE+ \n\t\\/nultrfasNI\'' + "\u00e9\u2019".encode()


def _wellformed(errs, name):
    for e in errs:
        assert isinstance(e, str) and "\n" not in e
        m = LINE.match(e)
        assert m and m.group("file") == name, e
    assert len(errs) <= routine.MAX_ERRORS + 1


def _depth(v):
    if isinstance(v, dict):
        return 1 + max([_depth(x) for x in v.values()] + [0])
    if isinstance(v, list):
        return 1 + max([_depth(x) for x in v] + [0])
    return 0


def _strings(v):
    if isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from _strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from _strings(x)
    elif isinstance(v, str):
        yield v


NOT_JSON = object()


def _python_json(data):
    """What Python's json makes of data, restricted to the RFC 8259 subset routine.parse reads;
    NOT_JSON if it is not such JSON."""
    def no_constant(name):
        raise ValueError(name)

    def no_dups(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate")
        return dict(pairs)

    if len(data) > routine.MAX_BYTES or re.search(rb"[-0-9.eE+]{33,}", data):
        return NOT_JSON
    try:
        v = json.loads(data.decode("utf-8"), parse_constant=no_constant, object_pairs_hook=no_dups)
    except ValueError:
        return NOT_JSON
    if _depth(v) > routine.MAX_DEPTH or any(0xD800 <= ord(c) <= 0xDFFF for s in _strings(v) for c in s):
        return NOT_JSON
    return v


def _syntax(errs):
    return [e for e in errs if LINE.match(e).group("place").startswith(("line ", "file"))]


def _check_against_python(data):
    doc, errs = routine.parse(data, "fuzz.json")
    _wellformed(errs, "fuzz.json")
    py = _python_json(data)
    syntax = _syntax(errs)
    if py is NOT_JSON:
        assert syntax or data[:3] == b"\xef\xbb\xbf", (data, errs)
    else:
        assert not syntax, (data, errs)
        if doc is not None:
            assert doc == py
            assert routine.parse(routine.compact(doc), "c")[1] == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=800))
def test_fuzz_random_bytes(data):
    _check_against_python(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEED_BYTES),
       st.lists(st.tuples(st.sampled_from(["ins", "del", "set"]), st.floats(0, 1), st.sampled_from(ALPHABET)),
                min_size=1, max_size=4))
def test_fuzz_mutated_seeds(seed, edits):
    data = bytearray(seed)
    for op, where, byte in edits:
        i = min(int(where * len(data)), len(data) - 1)
        if op == "ins":
            data[i:i] = bytes([byte])
        elif op == "del":
            del data[i]
        else:
            data[i] = byte
    _check_against_python(bytes(data))


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers(-10 ** 20, 10 ** 20) | st.text(max_size=12),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
                    max_leaves=20),
       st.booleans())
def test_fuzz_any_json_value(value, ascii_only):
    data = json.dumps(value, ensure_ascii=ascii_only, indent=1 if ascii_only else None).encode("utf-8", "surrogatepass")
    _check_against_python(data)
