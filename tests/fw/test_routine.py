# Firmware tests of routine.py and canon.py: run by pytest (CPython) and by mprun.py (MicroPython).
# Plain asserts only; both runtimes must give the very same bytes and messages.
import gc
import json
import sys

import canon
import routine
from fwtest import REPO, read, seed_files

MALFORMED = REPO + "/tests/malformed"
SEED_IDS = ("active-sitting-hamstring", "easy-hamstring", "hamstring-lower-back", "king-hip-hamstring",
            "lower-back-hip")
SMALL = (b'{"v":1,"id":"t","name":"T","src":"test","freq":{"n":1,"per":"day"},'
         b'"ex":[{"name":"Knee","hold":30}]}')


def _doc(**top):
    d = {"v": 1, "id": "t", "name": "T", "src": "test", "freq": {"n": 1, "per": "day"},
         "ex": [{"name": "Knee", "hold": 30}]}
    for k in top:
        d[k] = top[k]
    return d


def _errs(data, name="r.json"):
    doc, errs = routine.parse(data, name)
    assert (doc is None) == bool(errs), (doc, errs)
    for e in errs:
        assert isinstance(e, str) and e.startswith(name + ": "), e
        assert len(e.split(": ", 2)) == 3, e
    return errs


def _has(errs, place, text):
    for e in errs:
        if e.startswith("r.json: " + place + ": ") and text in e:
            return True
    raise AssertionError("no error at %s with %r in %r" % (place, text, errs))


def _ex(**kw):
    e = {"name": "Knee", "hold": 30}
    for k in kw:
        if kw[k] is None:
            del e[k]
        else:
            e[k] = kw[k]
    return canon.dumps(_doc(ex=[e]))


# --- canon ------------------------------------------------------------------------------------

CANON_IN = {"v": 1, "name": 'Caf\u00e9 "x"', "sm": "\U0001F600", "e": {}, "l": [],
            "ex": [{"hold": 30, "press": True, "why": None, "cue": "a\\b\n\t\x01\x7f"}, {"sides": "each", "reps": -3}],
            "big": 12345678901234567890}
CANON_OUT = (b'{"big":12345678901234567890,"e":{},"ex":[{"cue":"a\\\\b\\n\\t\\u0001\\u007f","hold":30,'
             b'"press":true,"why":null},{"reps":-3,"sides":"each"}],"l":[],"name":"Caf\\u00e9 \\"x\\"",'
             b'"sm":"\\ud83d\\ude00","v":1}')


def test_canon_fixed_bytes():
    assert canon.dumps(CANON_IN) == CANON_OUT
    assert canon.content_hash(CANON_OUT) == "9f737f7feb1169af"
    assert routine.content_hash(b"") == "e3b0c44298fc1c14"


def test_canon_is_json_and_matches_cpython():
    assert routine._Parser(CANON_OUT).document() == CANON_IN
    if sys.implementation.name == "cpython":
        assert json.loads(CANON_OUT) == CANON_IN
        assert json.dumps(CANON_IN, sort_keys=True, separators=(",", ":")).encode() == CANON_OUT


def test_canon_refuses_floats_and_odd_keys():
    for bad in (1.5, {"a": 2.0}, {1: 2}, object()):
        try:
            canon.dumps(bad)
        except (TypeError, ValueError):
            continue
        raise AssertionError("canon.dumps accepted %r" % (bad,))


def test_canon_order_does_not_depend_on_insertion():
    a = {}
    b = {}
    keys = ["k%d" % i for i in range(40)]
    for k in keys:
        a[k] = 1
    for k in reversed(keys):
        b[k] = 1
    assert canon.dumps(a) == canon.dumps(b)


# --- the seed routines ----------------------------------------------------------------------


def test_seeds_parse_without_errors():
    files = seed_files()
    assert [f.rsplit("/", 1)[1][:-5] for f in files] == list(SEED_IDS), files
    for f in files:
        doc, errs = routine.parse(read(f), f)
        assert errs == [], errs
        assert doc["id"] == f.rsplit("/", 1)[1][:-5]
        assert len(doc["name"]) <= 16
        for ex in doc["ex"]:
            assert len(ex["name"]) <= 16 and len(ex.get("cue", "")) <= 16


def test_seed_compact_sizes_and_round_trip():
    sizes = {}
    for f in seed_files():
        doc, errs = routine.parse(read(f), f)
        c = routine.compact(doc)
        sizes[doc["id"]] = len(c)
        assert len(c) < 1000, (f, len(c))
        assert b"why" not in c and b"notes" not in c and b" :" not in c
        for b in c:
            assert 0x20 <= b <= 0x7E
        doc2, errs = routine.parse(c, "compact")
        assert errs == [], errs
        assert routine.compact(doc2) == c  # canonical: compacting again changes nothing
        assert len(routine.content_hash(c)) == 16
    assert sizes["lower-back-hip"] == max(sizes.values())
    assert len(sizes) == 5


def test_seed_facts():
    docs = {}
    for f in seed_files():
        doc = routine.parse(read(f), f)[0]
        docs[doc["id"]] = doc
    d = docs["lower-back-hip"]
    assert d["freq"] == {"n": 2, "per": "day"} and len(d["ex"]) == 10
    names = [e["name"] for e in d["ex"]]
    assert "Bridges" in names and "Clamshell" in names
    assert sum(routine.ex_seconds(d, e) for e in d["ex"]) == 1515
    k = docs["king-hip-hamstring"]
    assert [(e["hold"], e["reps"], e["sides"]) for e in k["ex"]] == [(5, 5, "alt"), (20, 5, "alt"), (20, 5, "alt")]
    h = docs["hamstring-lower-back"]
    assert h["ex"][-1]["name"] == "Ham massage" and h["ex"][-1]["hold"] == 60
    a = docs["active-sitting-hamstring"]
    assert a["ex"][2]["press"] is True and a["ex"][2]["reps"] == 3
    for doc in docs.values():
        for ex in doc["ex"]:
            kinds = [k for k in ("hold", "tempo", "press") if k in ex]
            assert len(kinds) == 1


# --- malformed files --------------------------------------------------------------------------


def test_each_malformed_file_gives_its_error():
    import os
    gc.collect()
    with open(MALFORMED + "/expected.json") as f:
        expected = json.load(f)  # from the stream: no 13 KB buffer for the text (192 KB heap under mprun)
    files = sorted(n for n in os.listdir(MALFORMED) if n != "expected.json")
    assert files == sorted(expected), "every malformed file needs an entry in expected.json"
    assert len(files) >= 14
    for n in files:
        want = expected[n]
        errs = _errs(read(MALFORMED + "/" + n), n)
        assert errs, n
        prefix = n + ": " + want["place"] + ": "
        hit = [e for e in errs if e.startswith(prefix) and want["error"] in e]
        assert hit, (n, want, errs)
        assert len(errs) <= routine.MAX_ERRORS + 1


def test_size_limit_is_checked_before_parsing():
    base = SMALL[:-1] + b',"notes":"'
    pad = routine.MAX_BYTES - len(base) - 2
    ok = base + b"x" * pad + b'"}'
    assert len(ok) == routine.MAX_BYTES and _errs(ok) == []
    big = base + b"x" * (pad + 1) + b'"}'
    _has(_errs(big), "file", "4097 bytes, more than the 4096")
    # Not JSON at all, but too big: the size is the one error (nothing is parsed).
    gc.collect()  # a Pico-sized heap gets fragmented by the tests before this one
    errs = _errs(b"\xff" * 5000)
    assert len(errs) == 1
    _has(errs, "file", "5000 bytes")


def test_nesting_depth_is_bounded():
    def nested(k):
        return SMALL[:-1] + b',"notes":' + b"[" * k + b"]" * k + b"}"
    # 7 lists inside the routine object: 8 levels, parsed (then rejected as not text)
    _has(_errs(nested(7)), "notes", "must be text")
    errs = _errs(nested(8))
    assert errs == ["r.json: line 1:116: nested deeper than 8 levels"], errs
    errs = _errs(b"[" * 3000)
    assert len(errs) == 1 and "nested deeper than 8 levels" in errs[0]
    errs = _errs(b'{"a":' * 800)
    assert len(errs) == 1 and "nested deeper" in errs[0]


# --- messages ----------------------------------------------------------------------------------


def test_line_and_column_count_characters():
    data = '{"v":1,\n  "name": "\u00e9\u00e9\u2013", x}'.encode()
    errs = _errs(data)
    assert errs == ['r.json: line 2:18: keys must be in double quotes: write "x"'], errs
    errs = _errs('["\u00e9\u2013", x]'.encode())
    assert errs == ['r.json: line 1:8: unexpected `x`; text must be in double quotes "..."'], errs
    errs = _errs(b'{"v":1,\r\n\t"id": }')
    assert errs == ["r.json: line 2:8: unexpected `}`, expected a value"], errs


def test_utf8_errors_name_the_byte():
    errs = _errs(b'{"name": "\xe2\x80"}')
    assert errs == ["r.json: line 1:11 (byte 10): not valid UTF-8 (byte 0xE2); save the file as UTF-8"], errs
    for bad in (b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc1\x81", b"\xf8", b"\x80"):
        errs = _errs(b'"' + bad + b'"')
        assert "line 1:2 (byte 1): not valid UTF-8" in errs[0], (bad, errs)


def test_unknown_keys_suggest_the_right_one():
    _has(_errs(_ex(Hold=30, hold=None)), "ex[0].Hold", "did you mean `hold`?")
    _has(_errs(_ex(rset=5)), "ex[0].rset", "did you mean `rest`?")
    _has(_errs(_ex(sdies="each")), "ex[0].sdies", "did you mean `sides`?")
    _has(_errs(_ex(freq=1)), "ex[0].freq", "belongs at the top level")
    _has(_errs(_ex(colour=1)), "ex[0].colour", "allowed here: name, cue")
    _has(_errs(canon.dumps(_doc(frequency=1))), "frequency", "unknown key")
    _has(_errs(canon.dumps(_doc(freq={"n": 1, "per": "day", "x": 1}))), "freq.x", "unknown key")
    _has(_errs(canon.dumps(_doc(**{"a b": 1}))), '["a b"]', "unknown key")
    _has(_errs(canon.dumps(_doc(top=1, file=2))), "[\"file\"]", "unknown key")
    _has(_errs(canon.dumps(_doc(ex=[{"name": "a", "hold": 1, "top": 1}]))), "ex[0].top", "unknown key")


def test_types_bool_is_not_int():
    _has(_errs(_ex(reps=True)), "ex[0].reps", "not true")
    _has(_errs(_ex(hold=False)), "ex[0].hold", "not false")
    _has(_errs(canon.dumps(_doc(v=True))), "v", "must be the format version 1, not true")
    _has(_errs(canon.dumps(_doc(prep=None))), "prep", "not null")
    _has(_errs(_ex(sets=[3])), "ex[0].sets", "not a list")
    _has(_errs(_ex(press=1, hold=None)), "ex[0].press", "must be true")
    _has(_errs(_ex(name=7)), "ex[0].name", "must be text")
    _has(_errs(canon.dumps(_doc(freq=[1, "day"]))), "freq", "must be an object")
    _has(_errs(canon.dumps(_doc(ex={"name": "x"}))), "ex", "must be a list")


def test_ranges():
    _has(_errs(_ex(hold=601)), "ex[0].hold", "601 s is above the maximum; it must be 1..600 s")
    _has(_errs(_ex(tempo=0, hold=None)), "ex[0].tempo", "below the minimum")
    _has(_errs(_ex(switch=0)), "ex[0].switch", "0 s is below the minimum; it must be 1..60 s")
    _has(_errs(_ex(reps=101)), "ex[0].reps", "101 is above the maximum; it must be 1..100")
    _has(_errs(_ex(sets=-1)), "ex[0].sets", "-1 is negative")
    _has(_errs(canon.dumps(_doc(prep=121))), "prep", "above the maximum")
    _has(_errs(canon.dumps(_doc(freq={"n": 21, "per": "week"}))), "freq.n", "above the maximum")
    _has(_errs(_ex(hold=10 ** 30)), "ex[0].hold", "1000000000... s is above the maximum")
    for k, v in (("rest", 0), ("srest", 0), ("prep", 0), ("cue", ""), ("hold", 600), ("switch", 60)):
        assert _errs(_ex(**{k: v})) == [], (k, v)


def test_totals():
    # 600 s x 11 reps + 10 x 60 s rest + 5 s prep = 7205 s: over 2 h
    _has(_errs(_ex(hold=600, reps=11, rest=60)), "ex[0]", "planned time 2:00:05 is over the limit")
    assert _errs(_ex(hold=600, reps=11, rest=59)) == []  # 7195 s
    _has(_errs(_ex(hold=None, tempo=60, reps=100, sets=2, sides="each")), "ex[0]", "over the limit")


def test_totals_edge():
    two = canon.dumps(_doc(ex=[{"name": "a", "hold": 600, "reps": 11, "rest": 59}] * 2))
    assert _errs(two) == []
    three = canon.dumps(_doc(ex=[{"name": "a", "hold": 600, "reps": 11, "rest": 59}] * 3))
    _has(_errs(three), "ex", "over the limit: a routine must take under 4:00:00")


def test_exactly_one_kind():
    _has(_errs(_ex(hold=None)), "ex[0]", "needs one of `hold`")
    _has(_errs(_ex(tempo=3, press=True)), "ex[0]", "has both `hold` and `tempo` and `press`")
    assert _errs(_ex(hold=None, press=True, reps=5)) == []
    assert _errs(_ex(hold=None, tempo=3, reps=5, sides="alt")) == []


def test_text_rules_and_suggestions():
    _has(_errs(_ex(cue="Don\u2019t rush")), "ex[0].cue", 'write "Don\'t rush"')
    _has(_errs(_ex(cue="\u201cslow\u201d\u2026")), "ex[0].cue", 'and 2 more; write "\\"slow\\"..."')
    _has(_errs(_ex(name="Knee\u2603")), "ex[0].name", "remove it or use ASCII")
    _has(_errs(_ex(name="a\tb")), "ex[0].name", "U+0009 at position 2")
    _has(_errs(canon.dumps(_doc(name="x" * 33))), "name", "33 characters, at most 32")
    _has(_errs(_ex(name="")), "ex[0].name", "empty; give 1 to 16 characters")
    _has(_errs(canon.dumps(_doc(src="\u00a9 2009"))), "src", "cannot be drawn")
    # notes and why are for people: any text
    assert _errs(canon.dumps(_doc(notes="\u00e9\u2013\n", ex=[{"name": "a", "hold": 1, "why": "\u2019"}]))) == []


def test_ids():
    _has(_errs(canon.dumps(_doc(id="Hip_Stretch"))), "id", 'e.g. "hip-stretch"')
    _has(_errs(canon.dumps(_doc(id="a" * 33))), "id", "is not a valid id")
    _has(_errs(canon.dumps(_doc(id=""))), "id", "empty")
    _has(_errs(canon.dumps(_doc(id="../etc"))), "id", 'e.g. "etc"')
    assert _errs(canon.dumps(_doc(id="a-1" + "b" * 29))) == []


def test_missing_and_empty():
    _has(_errs(b"{}"), "top", "empty routine")
    _has(_errs(b"[]"), "top", "not a list")
    _has(_errs(b'"routine"'), "top", 'not text "routine"')
    _has(_errs(b"  \n "), "line 2:2", "empty file")
    d = _doc()
    del d["src"]
    _has(_errs(canon.dumps(d)), "src", "missing (required)")
    _has(_errs(canon.dumps(_doc(ex=[{}]))), "ex[0]", "empty exercise")


def test_errors_are_capped():
    errs = _errs(canon.dumps(_doc(ex=[{"name": "\u00e9", "hold": 0, "reps": 0}] * 30)))
    assert len(errs) == routine.MAX_ERRORS + 1
    assert errs[-1] == "r.json: top: more errors not shown (stopped after 20)"


def test_duplicate_keys_are_reported_with_the_rest():
    errs = _errs(b'{"v":1,"v":1,"id":"a","id":"b"}')
    assert errs[0] == 'r.json: line 1:8: duplicate key "v" (it is already at line 1:2); keep one', errs
    assert errs[1].startswith('r.json: line 1:23: duplicate key "id"'), errs
    _has(errs, "name", "missing")


def test_strings_and_escapes():
    data = canon.dumps(_doc(name="A\\/\"B"))
    doc = routine.parse(data, "r")[0]
    assert doc["name"] == 'A\\/"B'
    doc = routine.parse(SMALL.replace(b'"T"', b'"\\u0041\\/\\u0042"'), "r")[0]
    assert doc["name"] == "A/B"
    doc = routine.parse(SMALL.replace(b'"test"', b'"\\ud83d\\ude00"'), "r")
    assert doc[0] is None and "U+1F600" in doc[1][0]
    _has(_errs(SMALL.replace(b'"T"', b'"\\x41"')), "line 1:25", "invalid escape `\\x`")
    _has(_errs(SMALL.replace(b'"T"', b'"\\u12"')), "line 1:25", "needs 4 hex digits")
    _has(_errs(SMALL.replace(b'"T"', b'"\\udc00"')), "line 1:25", "low surrogate")


def test_numbers():
    for text, msg in ((b"-", "a digit must follow `-`"), (b"1.", "a digit must follow `.`"),
                      (b"1e", "exponent"), (b".5", "unexpected `.`"), (b"+1", "unexpected `+`"),
                      (b"-Infinity", "`-Infinity` is not a JSON value"), (b"0x10", "expected `,` or `}`")):
        errs = _errs(SMALL.replace(b'"hold":30', b'"hold":' + text))
        assert len(errs) == 1 and msg in errs[0], (text, errs)
    for text in (b"3e1", b"30.0", b"-0.0", b"1E+2", b"1e300", b"2.5"):
        _has(_errs(SMALL.replace(b'"hold":30', b'"hold":' + text)), "ex[0].hold", "not a decimal number")
    _has(_errs(SMALL.replace(b'"hold":30', b'"hold":3e1')), "ex[0].hold", "not a decimal number (write 30)")
    _has(_errs(SMALL.replace(b'"hold":30', b'"hold":1e300')), "ex[0].hold", "1..600 s, not a decimal number")
    assert _errs(SMALL.replace(b'"hold":30', b'"hold":-0, "rest":0')) != []


def test_parse_never_raises():
    data = read(seed_files()[-1])
    for cut in range(0, len(data), 37):
        routine.parse(data[:cut], "cut")
        routine.parse(data[cut:], "cut")
    odd = (None, 5, "{}", bytearray(SMALL), memoryview(SMALL), [1], b"\x00", b"{\"\x00\":1}", b"\"\\", b"{\"a\"",
           b"{\"a\":", b"[1,]", b"[,]", b"{,}", b"{\"a\" 1}", b"tru", b"nul", b"\"\\u", b"\xef\xbb", b"[" * 9 + b"]" * 9)
    for x in odd:
        doc, errs = routine.parse(x, "odd")
        assert doc is None or errs == [], x
        for e in errs:
            assert e.startswith("odd: "), e
    assert routine.parse(bytearray(SMALL), "b")[1] == []
    assert routine.parse(SMALL.decode(), "s")[1] == []


def test_field_defaults():
    doc = {"prep": 9, "ex": []}
    ex = {"name": "a", "hold": 5, "reps": 3}
    assert routine.field(doc, ex, "reps") == 3
    assert routine.field(doc, ex, "sides") == "none"
    assert routine.field(doc, ex, "srest") == 30
    assert routine.field(doc, ex, "switch") == 5
    assert routine.field(doc, ex, "prep") == 9
    assert routine.field({}, ex, "prep") == routine.ROUTINE_PREP == 5


def test_ex_seconds_follows_the_expansion_rules():
    doc = {}
    # none: 3 holds of 10 with 2 rests of 4, prep 5
    assert routine.ex_seconds(doc, {"hold": 10, "reps": 3, "rest": 4}) == 5 + 30 + 8
    # each: 2 x (3 x 10 + 2 x 4) + switch 5
    assert routine.ex_seconds(doc, {"hold": 10, "reps": 3, "rest": 4, "sides": "each"}) == 5 + 76 + 5
    # alt: 3 x (10 + 5 + 10) + 2 rests of 4
    assert routine.ex_seconds(doc, {"hold": 10, "reps": 3, "rest": 4, "sides": "alt"}) == 5 + 75 + 8
    # tempo, 2 sets each side: set = 10 x 3 x 2 + switch 5; srest 30
    assert routine.ex_seconds(doc, {"tempo": 3, "reps": 10, "sets": 2, "sides": "each", "prep": 0}) == 2 * 65 + 30
    assert routine.ex_seconds(doc, {"press": True, "reps": 10, "sets": 3}) == 5 + 60


def test_compact_strips_notes_and_why_only():
    d = _doc(notes="n", prep=3, ex=[{"name": "a", "hold": 1, "why": "w", "cue": "c"}])
    c = routine.compact(d)
    assert c == (b'{"ex":[{"cue":"c","hold":1,"name":"a"}],"freq":{"n":1,"per":"day"},"id":"t","name":"T",'
                 b'"prep":3,"src":"test","v":1}'), c
    assert "notes" in d and "why" in d["ex"][0]  # the document itself is not changed
    assert routine.content_hash(c) == canon.content_hash(c)
