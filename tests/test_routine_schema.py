"""The JSON Schema for editors (host/holdtimer/schema/routine.schema.json) and the validator
(firmware/routine.py) agree: on the seed routines, on every malformed file, and on generated
documents, valid and broken.

What a schema cannot see is listed here and excluded explicitly (docs/routines.md says the same):
  - the bytes: file size (4096), UTF-8 without BOM, duplicate keys, NaN/Infinity, number literals
    over 32 characters, nesting over 8 levels (a schema sees only the parsed document); generated
    documents stay under 4096 bytes, and a number too long to write is excluded like the rest;
  - whole numbers: JSON Schema counts 30.0 as an integer, the validator asks for 30;
  - planned time: under 2 h per exercise and 4 h per routine is arithmetic over several keys.
So: whatever the validator accepts, the schema accepts; whatever the schema rejects, the validator
rejects; and where the schema accepts what the validator rejects, every error is one of the above.
"""
import json
import os

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, ROUTINES

import routine

SCHEMA_PATH = os.path.join(REPO, "host", "holdtimer", "schema", "routine.schema.json")
SCHEMA = json.load(open(SCHEMA_PATH, encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
MALFORMED = os.path.join(REPO, "tests", "malformed")
EXPECTED = json.load(open(os.path.join(MALFORMED, "expected.json"), encoding="utf-8"))
SEEDS = sorted(n for n in os.listdir(ROUTINES) if n.endswith(".json"))

# Messages of the rules the schema cannot express (see the module text)
BLIND = ("planned time", "not a decimal number", "number too long")


def schema_ok(doc):
    return not list(VALIDATOR.iter_errors(doc))


def places(errs):
    return [e.split(": ", 2)[1] for e in errs]


def has_integral_float(v):
    if isinstance(v, float):
        return v == v and v not in (float("inf"), float("-inf")) and v == int(v)
    if isinstance(v, dict):
        return any(has_integral_float(x) for x in v.values())
    if isinstance(v, list):
        return any(has_integral_float(x) for x in v)
    return False


def agree(doc, data=None, mutated=None):
    """Check validator and schema agree on doc (serialised as data); mutated: places that were broken."""
    if data is None:
        data = json.dumps(doc).encode()
    assert len(data) <= routine.MAX_BYTES
    _, errs = routine.parse(data, "gen.json")
    mine = not errs
    theirs = schema_ok(doc)
    if mine:
        assert theirs, (doc, list(VALIDATOR.iter_errors(doc))[:3])
    if not theirs:
        assert not mine, doc
        if mutated and not any(b in e for b in BLIND for e in errs):
            assert any(p.startswith(m) for p in places(errs) for m in mutated), (mutated, errs)
    if theirs and not mine:
        for e in errs:
            assert any(b in e for b in BLIND), (doc, e)
        if any("not a decimal number" in e for e in errs):
            assert has_integral_float(doc)
    return mine, theirs


def test_schema_is_a_valid_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_knows_the_same_keys():
    assert tuple(SCHEMA["properties"]) == routine.TOP_KEYS
    assert tuple(SCHEMA["$defs"]["exercise"]["properties"]) == routine.EX_KEYS
    assert tuple(SCHEMA["properties"]["freq"]["properties"]) == routine.FREQ_KEYS
    ex = SCHEMA["$defs"]["exercise"]["properties"]
    for k, (lo, hi, _) in routine.EX_INTS.items():
        assert (ex[k]["minimum"], ex[k]["maximum"]) == (lo, hi), k
    for k, v in routine.DEFAULTS.items():
        assert ex[k]["default"] == v, k
    assert SCHEMA["properties"]["prep"]["default"] == routine.ROUTINE_PREP


@pytest.mark.parametrize("name", SEEDS)
def test_seed_routines_are_valid_for_both(name):
    data = open(os.path.join(ROUTINES, name), "rb").read()
    doc = json.loads(data)
    assert agree(doc, data) == (True, True)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_files(name):
    """expected.json says per file what the schema makes of it: "rejects", "cannot parse" (Python's
    json refuses the bytes, so no schema ever sees a document) or "accepts: <why it cannot tell>"."""
    data = open(os.path.join(MALFORMED, name), "rb").read()
    want = EXPECTED[name]["schema"]
    doc, errs = routine.parse(data, name)
    assert errs
    try:
        py = json.loads(data.decode("utf-8"))
    except ValueError:
        assert want == "cannot parse", name
        return
    assert want != "cannot parse", name
    if want == "rejects":
        assert not schema_ok(py), name
    else:
        assert want.startswith("accepts: "), want
        assert schema_ok(py), (name, list(VALIDATOR.iter_errors(py))[:2])


# --- generated documents ----------------------------------------------------------------------

ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
ANY_TEXT = st.text(max_size=20)


def small_or_any(lo, hi):
    return st.one_of(st.integers(lo, min(hi, lo + 5)), st.integers(lo, hi))


@st.composite
def exercises(draw):
    ex = {"name": draw(st.text(ASCII, min_size=1, max_size=16))}
    kind = draw(st.sampled_from(routine.KINDS))
    if kind == "press":
        ex["press"] = True
    else:
        lo, hi, _ = routine.EX_INTS[kind]
        ex[kind] = draw(small_or_any(lo, hi))
    for k in ("reps", "sets", "rest", "srest", "switch", "prep"):
        if draw(st.booleans()):
            lo, hi, _ = routine.EX_INTS[k]
            ex[k] = draw(small_or_any(lo, hi))
    if draw(st.booleans()):
        ex["cue"] = draw(st.text(ASCII, max_size=16))
    if draw(st.booleans()):
        ex["sides"] = draw(st.sampled_from(routine.SIDES))
    if draw(st.booleans()):
        ex["why"] = draw(ANY_TEXT)
    return ex


@st.composite
def routines(draw):
    doc = {
        "v": 1,
        "id": draw(st.from_regex(r"\A[a-z0-9-]{1,32}\Z")),
        "name": draw(st.text(ASCII, min_size=1, max_size=32)),
        "src": draw(st.text(ASCII, min_size=1, max_size=40)),
        "freq": {"n": draw(st.integers(1, 20)), "per": draw(st.sampled_from(routine.PERS))},
        "ex": draw(st.lists(exercises(), min_size=1, max_size=6)),
    }
    if draw(st.booleans()):
        doc["prep"] = draw(st.integers(0, 120))
    if draw(st.booleans()):
        doc["notes"] = draw(ANY_TEXT)
    return doc


# Values a mutation may put anywhere: edges of every range, wrong types, undrawable text
EDGE_INTS = st.sampled_from([0, -1, 1, 2, 16, 17, 20, 21, 30, 31, 32, 33, 60, 61, 100, 101, 120, 121, 600, 601, 10 ** 12])
ANY_VALUE = st.one_of(
    EDGE_INTS, st.integers(), st.booleans(), st.none(),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1.0, 30.0, 0.5]),
    st.sampled_from(["", "none", "alt", "each", "day", "week", "x" * 17, "x" * 33, "caf\u00e9", "a\tb", "ok-id"]),
    st.text(max_size=40), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
TYPOS = ["holds", "Hold", "rep", "side", "srests", "nme", "cues", "colour", "tempo2", "notes", "freq", "v", "ex"]


@st.composite
def broken_routines(draw):
    doc = draw(routines())
    mutated = []
    for _ in range(draw(st.integers(1, 2))):
        where = draw(st.sampled_from(["top", "freq", "ex", "ex"]))
        if where == "top":
            obj, parent, keys = doc, "", list(routine.TOP_KEYS)
        elif where == "freq":
            if not isinstance(doc.get("freq"), dict):
                continue
            obj, parent, keys = doc["freq"], "freq", list(routine.FREQ_KEYS)
        else:
            exs = doc.get("ex")
            if not isinstance(exs, list) or not exs or not isinstance(exs[0], dict):
                continue
            i = draw(st.integers(0, len(exs) - 1))
            if not isinstance(exs[i], dict):
                continue
            obj, parent, keys = exs[i], "ex[%d]" % i, list(routine.EX_KEYS)
        op = draw(st.sampled_from(["set", "set", "set", "delete", "unknown"]))
        if op == "unknown":
            key = draw(st.sampled_from(TYPOS))
            if key in keys:
                continue
            obj[key] = draw(ANY_VALUE)
        else:
            key = draw(st.sampled_from(keys))
            if op == "delete":
                obj.pop(key, None)
            else:
                obj[key] = draw(ANY_VALUE)
        mutated.append(routine._path(parent, key))
        if parent:
            mutated.append(parent)
    return doc, mutated


def fits(doc):
    return len(json.dumps(doc).encode()) <= routine.MAX_BYTES


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(routines(), st.booleans())
def test_generated_valid_routines(doc, ascii_only):
    data = json.dumps(doc, ensure_ascii=ascii_only, indent=2 if ascii_only else None).encode()
    if len(data) > routine.MAX_BYTES:
        return  # excluded: the schema cannot see the file size
    mine, theirs = agree(doc, data)
    assert theirs
    if not mine:  # only the planned time can stop a document built within every range
        total = sum(routine.ex_seconds(doc, e) for e in doc["ex"])
        assert total >= routine.ROUTINE_LIMIT_S or any(
            routine.ex_seconds(doc, e) >= routine.EX_LIMIT_S for e in doc["ex"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(broken_routines())
def test_generated_broken_routines(case):
    doc, mutated = case
    if not fits(doc):
        return  # excluded: the schema cannot see the file size
    agree(doc, mutated=mutated)


def test_blind_spots_are_real():
    """Each documented difference exists (so the exclusions above are needed, and not hiding more)."""
    base = json.loads(open(os.path.join(ROUTINES, "easy-hamstring.json"), "rb").read())
    base["ex"][0]["hold"] = 30.0
    assert agree(base) == (False, True)
    base["ex"][0]["hold"] = 600
    base["ex"][0]["reps"] = 13
    assert agree(base) == (False, True)
    base["ex"][0]["reps"] = 1
    base["ex"][0]["name"] = "Seated\nstretch"  # a schema `pattern` with `$` would let this through
    assert agree(base) == (False, False)


def test_the_example_in_the_docs_is_valid():
    import re
    text = open(os.path.join(REPO, "docs", "routines.md"), encoding="utf-8").read()
    data = re.search(r"```json\n(.*?)```", text, re.S).group(1).encode()
    assert agree(json.loads(data), data) == (True, True)
